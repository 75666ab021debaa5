"""The code blocks of README.md and docs/**/*.md, as tests/test_docs.py runs them.

A fenced block is run unless the line before it (blank lines aside) is
``<!-- snippet: skip (reason) -->``: every Python block, the README's shell
blocks, and shell blocks elsewhere marked ``<!-- snippet: run -->``. Blocks keep their page and line, and
their code is padded with blank lines so that a traceback points at the line
of the page.
"""

from __future__ import annotations

import linecache
import re
from pathlib import Path
from types import CodeType

import attrs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
#: Any comment that talks to this runner, well-formed or not.
_DIRECTIVE = re.compile(r"^\s*<!--\s*snippet\s*:")
_SKIP = re.compile(r"^\s*<!--\s*snippet:\s*skip\s*\((?P<reason>[^)]*)\)\s*-->\s*$")
_RUN = re.compile(r"^\s*<!--\s*snippet:\s*run\s*-->\s*$")
_MALFORMED = "malformed marker; write: snippet: skip (reason) or snippet: run"


@attrs.frozen
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    #: None: run it; otherwise the reason given for not running it.
    skip: str | None = None
    #: Marked ``<!-- snippet: run -->``: a shell block outside the README that runs.
    run: bool = False

    @property
    def where(self) -> str:
        return f"{_shown(self.page)}:{self.line}"

    def compiled(self) -> CodeType:
        """The code compiled as the page's own lines (tracebacks show them),
        without the caller's ``from __future__`` flags: a snippet runs as a
        reader's module would."""
        source = "\n" * self.line + self.code
        linecache.cache[self.where] = (len(source), None, source.splitlines(True), self.where)
        return compile(source, self.where, "exec", dont_inherit=True)


@attrs.frozen
class Problem:
    where: str
    what: str


def _shown(page: Path) -> Path:
    # Pages of the checkout by their path in it; others (tests' own) by theirs.
    return page.relative_to(ROOT) if page.is_relative_to(ROOT) else page


def pages() -> list[Path]:
    """README.md, then every page under docs/, in path order."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _dedent(lines: list[str], indent: str) -> str:
    # A block inside a list item is indented like the item; its code is not.
    return "".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def parse(page: Path) -> tuple[list[Block], list[Problem]]:
    """The fenced blocks of ``page`` and any misuse of the skip marker."""
    blocks: list[Block] = []
    problems: list[Problem] = []
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    # (line, skip reason or None, run) of the marker waiting for its block
    pending: tuple[int, str | None, bool] | None = None
    index = 0
    rel = _shown(page)
    while index < len(lines):
        text = lines[index]
        fence = _FENCE.match(text)
        if _DIRECTIVE.match(text):
            skip, run = _SKIP.match(text), _RUN.match(text)
            if pending is not None:
                problems.append(Problem(f"{rel}:{pending[0]}", "skip marker before no block"))
            pending = None
            if run is not None:
                pending = (index + 1, None, True)
            elif skip is None:
                problems.append(Problem(f"{rel}:{index + 1}", _MALFORMED))
            elif not skip["reason"].strip():
                problems.append(Problem(f"{rel}:{index + 1}", "skip marker without a reason"))
                pending = (index + 1, "", False)
            else:
                pending = (index + 1, skip["reason"].strip(), False)
        elif fence is not None:
            indent, ticks = fence["indent"], fence["ticks"]
            start = index
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(ticks):
                body.append(lines[index])
                index += 1
            blocks.append(
                Block(
                    page,
                    start + 1,
                    fence["lang"].lower(),
                    _dedent(body, indent),
                    None if pending is None else pending[1],
                    pending is not None and pending[2],
                )
            )
            pending = None
        elif text.strip() and pending is not None:
            problems.append(Problem(f"{rel}:{pending[0]}", "skip marker before no block"))
            pending = None
        index += 1
    if pending is not None:
        problems.append(Problem(f"{rel}:{pending[0]}", "skip marker before no block"))
    return blocks, problems


def python_blocks(page: Path) -> list[Block]:
    return [block for block in parse(page)[0] if block.lang in ("python", "py")]
