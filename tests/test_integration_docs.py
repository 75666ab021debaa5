"""Every ```python block of README.md and docs/integrations.md runs.

Blocks of one page run in order in one namespace, in a fresh interpreter
(the Django quickstart configures Django's settings, which a process does
only once), with a temporary directory as the working directory. A block
preceded by ``<!-- snippet: skip (reason) -->`` is not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"(<!-- snippet: skip[^>]*-->\s*)?```python\n(.*?)```", re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    return [code for skip, code in _BLOCK.findall(page.read_text()) if not skip]


@pytest.mark.parametrize("page", ["README.md", "docs/integrations.md"])
def test_every_python_snippet_runs(page: str, tmp_path: Path) -> None:
    """The page's snippets, in order, in one namespace: no error."""
    blocks = python_blocks(ROOT / page)
    assert blocks, f"{page} has no python snippet"
    program = "\n\n".join(blocks)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTENANCE_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", program],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == result.returncode, result.stderr[-3000:]


def test_each_framework_has_a_runnable_quickstart() -> None:
    """docs/integrations.md opens the Flask, FastAPI and Django sections with a snippet that runs."""
    text = (ROOT / "docs" / "integrations.md").read_text()
    for heading, marker in (
        ("## Flask", "maintguard.flask"),
        ("## FastAPI and Starlette", "maintguard.starlette"),
        ("## Django", "maintguard.django"),
    ):
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        blocks = python_blocks_of(section)
        assert blocks and marker in blocks[0], heading


def python_blocks_of(text: str) -> list[str]:
    return [code for skip, code in _BLOCK.findall(text) if not skip]
