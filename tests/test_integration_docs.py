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


def _run(program: str, directory: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTENANCE_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", program],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == result.returncode, result.stderr[-3000:]


def test_every_readme_snippet_runs(tmp_path: Path) -> None:
    """README.md's snippets, in order, in one namespace: no error."""
    blocks = python_blocks(ROOT / "README.md")
    assert blocks
    _run("\n\n".join(blocks), tmp_path)


def test_every_integrations_snippet_runs(tmp_path: Path) -> None:
    """docs/integrations.md's snippets, in page order, in one namespace: no error."""
    _run("\n\n".join(python_blocks(ROOT / "docs" / "integrations.md")), tmp_path)


@pytest.mark.parametrize(
    ("heading", "face"),
    [
        ("## Flask", "maintguard.flask"),
        ("## FastAPI and Starlette", "maintguard.starlette"),
        ("## Django", "maintguard.django"),
    ],
)
def test_each_frameworks_quickstart_runs_on_its_own(
    heading: str, face: str, tmp_path: Path
) -> None:
    """Each framework section opens with a quickstart that runs by itself, as pasted."""
    text = (ROOT / "docs" / "integrations.md").read_text()
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = [code for skip, code in _BLOCK.findall(section) if not skip]
    assert blocks and face in blocks[0]
    _run(blocks[0], tmp_path)
