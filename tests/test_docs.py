"""The documentation runs: every snippet works as written.

Every ```python block of README.md and docs/**/*.md runs, in page order, the
blocks of one page sharing one namespace, in a temporary working directory
and with no maintguard variable from the environment. A block preceded by
``<!-- snippet: skip (reason) -->`` is not run; the reason is required. The
README's shell blocks run too, and those of other pages marked
``<!-- snippet: run -->``, with the real ``curl`` and the installed
``maintguard`` command, against the example Flask app on a real Redis.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from examples.flask_app.app import create_app as create_flask_app
from werkzeug.serving import make_server

from maintguard import MaintenanceService
from maintguard.config import VARIABLES
from maintguard.stores import store_from_url
from tests import snippets
from tests.servers import free_port

PAGES = snippets.pages()
#: The token the README's curl lines read from $ADMIN_TOKEN.
TOKEN = "docs-admin-token-8f3b2c61"


def _page_id(page: Path) -> str:
    return str(page.relative_to(snippets.ROOT))


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working directory and no maintguard variable set."""
    names = {variable for variable, _field, _meaning in VARIABLES}
    names |= {name for name in os.environ if name.startswith("MAINTENANCE_")}
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_skip_marker_gives_a_reason_and_precedes_a_block() -> None:
    """A skip marker without a reason, malformed, or before no block is an error."""
    problems = [problem for page in PAGES for problem in snippets.parse(page)[1]]
    assert [] == [f"{problem.where}: {problem.what}" for problem in problems]


MARKED = """\
<!-- snippet: skip (needs a server) -->
```python
serve_forever()
```

<!-- snippet: skip () -->
```python
no_reason()
```

<!-- snippet: skip (before prose) -->
Some prose.

<!-- snippet: skip because -->
```python
malformed()
```

```python
runs()
```
"""


def test_markers_are_read_and_misuse_is_reported(tmp_path: Path) -> None:
    """A reasoned marker skips its block; an empty reason, a marker before
    prose and a malformed marker are each reported, with their line."""
    page = tmp_path / "page.md"
    page.write_text(MARKED, encoding="utf-8")
    blocks, problems = snippets.parse(page)
    assert (
        [("needs a server", 2), ("", 7), (None, 15), (None, 19)],
        [
            (6, "skip marker without a reason"),
            (11, "skip marker before no block"),
            (14, "malformed marker; write: snippet: skip (reason) or snippet: run"),
        ],
    ) == (
        [(block.skip, block.line) for block in blocks],
        [(int(problem.where.rsplit(":", 1)[1]), problem.what) for problem in problems],
    )


@pytest.mark.parametrize(
    "page", [page for page in PAGES if snippets.python_blocks(page)], ids=_page_id
)
def test_python_snippets_of_the_page_run(page: Path, clean_env: Path) -> None:
    """Every unmarked ```python block of the page runs, in order, in one
    namespace, in a fresh interpreter (tests/snippet_runner.py)."""
    env = {**os.environ, "PYTHONPATH": str(snippets.ROOT)}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "tests.snippet_runner", str(page)],
        cwd=clean_env,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == result.returncode, result.stderr[-4000:]


# ------------------------------------------------------ the README's shell lines


@contextlib.contextmanager
def _flask_site(store_url: str) -> Iterator[str]:
    service = MaintenanceService(store_from_url(store_url), admin_tokens=f"ops:{TOKEN}")
    port = free_port()
    server = make_server("127.0.0.1", port, create_flask_app(service), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="werkzeug-docs", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        service.close()


SHELLS = ("bash", "sh", "shell")


def _shell_blocks() -> list[snippets.Block]:
    """The README's shell blocks and those marked to run on other pages."""
    return [
        block
        for page in PAGES
        for block in snippets.parse(page)[0]
        if block.lang in SHELLS
        and block.skip is None
        and (page == snippets.ROOT / "README.md" or block.run)
    ]


#: curl exits non-zero on an HTTP error and keeps quiet otherwise.
_CURL = re.compile(r"(?m)^(\s*)curl ")


def _script(block: snippets.Block, base: str, store_url: str) -> str:
    """The block as a bash script against the test's site and store."""
    code = block.code
    for documented in ("http://localhost:5000", "http://127.0.0.1:8000", "http://localhost:8000"):
        code = code.replace(documented, base)
    code = code.replace("redis://localhost:6379/0", store_url)
    code = _CURL.sub(r"\1curl -sS --fail -o /dev/null ", code)
    return "set -euo pipefail\nset -x\n" + code


def test_shell_snippets_succeed(redis_url: str, clean_env: Path) -> None:
    """Each shell block of the README (and each marked one elsewhere) runs to
    the end with every curl answered 2xx and every maintguard command exiting
    0, against the Flask example and the command sharing one Redis store."""
    bash = shutil.which("bash")
    if shutil.which("curl") is None or bash is None:
        pytest.skip("the curl binary (and bash) are not installed")
    env = {
        **os.environ,
        "ADMIN_TOKEN": TOKEN,
        # The console script installed next to this interpreter.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    failures: list[str] = []
    blocks = _shell_blocks()
    for block in blocks:
        with _flask_site(redis_url) as base:
            done = subprocess.run(
                [bash, "-c", _script(block, base, redis_url)],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )
        if done.returncode != 0:
            failures.append(f"{block.where}: exit {done.returncode}: {done.stderr[-600:]}")
    assert (True, []) == (len(blocks) > 1, failures)
