"""Run the ```python blocks of one documentation page, as a reader would.

``python -m tests.snippet_runner PAGE`` executes the page's unmarked blocks in
order in one namespace, in a fresh interpreter: a page that configures a
framework globally (Django's settings) or registers operation types starts
from what a reader's new process has, whatever page ran before it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from maintguard import MaintenanceService
from tests import snippets


def run(page: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_snippet"}
    try:
        for block in snippets.python_blocks(page):
            if block.skip is None:
                exec(block.compiled(), namespace)  # noqa: S102
    finally:
        # Snippets build services whose background threads start on first use.
        for value in list(namespace.values()):
            if isinstance(value, MaintenanceService):
                value.close()


if __name__ == "__main__":
    run(Path(sys.argv[1]))
