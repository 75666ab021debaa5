"""The package's shape, as rules: parts depend downward only (no import cycle,
not even a type-only one), modules stay short, ``import maintguard`` does no
work, and the request-path core depends on nothing above it and does no I/O.

Each failure names the offending modules (and the import line) to fix.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.import_graph import (
    Edge,
    describe,
    discover,
    find_cycles,
    import_graph,
    imports_in,
    is_within,
)

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "maintguard"
MAX_LINES = 400


# -- the rules ----------------------------------------------------------------


def test_no_import_cycle_among_the_modules() -> None:
    """No module of maintguard depends on itself through others.

    Every ``import`` and ``from … import`` counts, wherever it stands: at
    module level, inside a function, under ``if TYPE_CHECKING:`` (a type-only
    back-reference is still an upward dependency: pass a Protocol instead).
    Relative imports are resolved. ``from a.b import c`` depends on ``a.b.c``
    when that is a submodule, else on ``a.b`` (whose namespace it reads).

    Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``, so
    those count as dependencies too, except the importer's own ancestor
    packages: Python initialised them before the importer's body ran, so
    importing through them starts nothing new. (Counting them would make
    ``maintguard/__init__`` → ``service`` → ``core.state`` → ``maintguard``
    a cycle, which it is not.) An explicit ``import maintguard`` or ``from
    maintguard import Name`` in a submodule does count: it reads the package
    namespace, which may not be filled in yet.
    """
    graph, lines = import_graph(SRC, PACKAGE)
    cycles = [describe(cycle, lines) for cycle in find_cycles(graph)]
    assert [] == cycles, "import cycles:\n  " + "\n  ".join(cycles)


def test_no_module_is_over_400_lines() -> None:
    """Every module of maintguard has at most 400 lines, counting everything."""
    over = []
    for path in discover(SRC, PACKAGE).values():
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_LINES:
            over.append(f"{path.relative_to(SRC)} ({count} lines)")
    assert [] == over, f"modules over {MAX_LINES} lines: " + ", ".join(over)


#: The core sits below every other part: what uses it, the service, the
#: configuration (built with the core's parsers), and the package root,
#: public faces and helpers that re-export them.
ABOVE_CORE = tuple(
    f"{PACKAGE}.{name}"
    for name in (
        "control", "stores", "effects", "adapters", "service", "config", "testing", "__main__",
        "wsgi", "asgi", "flask", "starlette", "django", "sessions", "jobs", "notify",
    )
)  # fmt: skip
#: Modules that do I/O or start threads; the request path uses none of them.
# ``threading`` is not here: the core's registries guard their adds with a
# lock, which is no I/O; that nothing *starts* a thread at import is checked
# by test_import_starts_no_thread below.
IO_MODULES = (
    "socket", "urllib.request", "sqlite3", "smtplib", "http.client", "subprocess", "asyncio",
)  # fmt: skip


def _above_core(module: str) -> bool:
    return module == PACKAGE or any(is_within(module, part) for part in ABOVE_CORE)


def _chain_up(graph: Mapping[str, set[str]], start: str) -> list[str] | None:
    """The shortest chain of imports from ``start`` to a module above the core."""
    came_from = {start: start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if _above_core(node):
            chain = [node]
            while chain[-1] != start:
                chain.append(came_from[chain[-1]])
            return chain[::-1]
        for successor in sorted(graph[node] - came_from.keys()):
            came_from[successor] = node
            queue.append(successor)
    return None


def test_the_core_imports_nothing_above_it() -> None:
    """``maintguard.core`` depends downward only, directly or through the
    modules it imports: not on the control plane, the stores, the side
    effects, the adapters, the service, the configuration or the package
    root (which imports the service). Each import leaving the core that
    leads up is shown with the chain it leads through."""
    graph, lines = import_graph(SRC, PACKAGE)
    core = f"{PACKAGE}.core"
    upward = [
        describe([name, *chain], lines)
        for name in sorted(graph)
        if is_within(name, core)
        for leaving in sorted(graph[name])
        if not is_within(leaving, core) and (chain := _chain_up(graph, leaving)) is not None
    ]
    assert [] == upward, "the core depends upward:\n  " + "\n  ".join(upward)


def test_the_core_imports_no_io_module() -> None:
    """``maintguard.core`` imports no module that does I/O or starts threads
    (socket, threading, urllib.request, sqlite3, smtplib, http.client,
    subprocess), anywhere in its source."""
    offenders = []
    for name, path in discover(SRC, PACKAGE).items():
        if not is_within(name, f"{PACKAGE}.core"):
            continue
        for node, where in imports_in(path):
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            elif node.level == 0 and node.module:
                named = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue  # relative: inside maintguard, checked above
            shown = Edge(name, "", str(path.relative_to(SRC)), node.lineno, where)
            offenders += [
                f"{name} imports {io} ({shown})"
                for io in IO_MODULES
                if any(is_within(n, io) for n in named)
            ]
    assert [] == offenders, "the core imports I/O modules:\n  " + "\n  ".join(offenders)


# -- what `import maintguard` does ------------------------------------------

IMPORT_ONLY = """
import json, sys, threading
before = {thread.ident for thread in threading.enumerate()}
import maintguard
print(json.dumps({
    "modules": sorted(sys.modules),
    "threads": [t.name for t in threading.enumerate() if t.ident not in before],
}))
"""

#: The control plane's HTTP layer: the API, its OpenAPI description and the
#: request bodies and endpoints split out of the API (as modules of their own
#: or inside an ``api`` package). Adapters import it when they are built.
HTTP_LAYER = re.compile(rf"{PACKAGE}\.control\.(api|openapi|bodies|endpoints)(?:[._]|$)")
STORE_CLIENTS = ("redis", "sqlalchemy", "psycopg", "psycopg2", "pymysql")


@pytest.fixture(scope="module")
def bare_import() -> dict[str, Any]:
    """What a fresh interpreter holds after ``import maintguard`` alone."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"import maintguard failed:\n{result.stderr}")
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_import_loads_no_http_layer(bare_import: dict[str, Any]) -> None:
    """The control API, its OpenAPI document and its endpoints load only
    when an adapter is built, not for ``import maintguard``."""
    assert [] == [m for m in bare_import["modules"] if HTTP_LAYER.match(m)]


def test_import_loads_no_store_client(bare_import: dict[str, Any]) -> None:
    """No store client library (redis, SQLAlchemy, psycopg, PyMySQL) is
    imported until a store of its kind is built."""
    loaded = [m for m in bare_import["modules"] if m.split(".")[0] in STORE_CLIENTS]
    assert [] == loaded


def test_import_starts_no_thread(bare_import: dict[str, Any]) -> None:
    """``import maintguard`` starts no thread (safe before a fork)."""
    assert [] == bare_import["threads"]


# -- the cycle finder itself --------------------------------------------------


def test_cycle_finder_reports_each_cycle_as_a_path() -> None:
    """A cycle is shown from its first node back to it; a node that only
    leads into a cycle (d) is not part of it; a self-loop is a cycle."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert [["a", "b", "c", "a"], ["e", "e"]] == find_cycles(graph)


def test_cycle_finder_shows_the_shortest_way_round() -> None:
    """Of the ways round a tangle, the shortest through its first node."""
    graph = {"a": {"b", "x"}, "b": {"c"}, "c": {"a"}, "x": {"a"}}
    assert [["a", "x", "a"]] == find_cycles(graph)


def test_cycle_finder_passes_a_graph_without_cycle() -> None:
    """A diamond (a → b → d, a → c → d) has no cycle."""
    assert [] == find_cycles({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()})


def _write_package(root: Path, core_x: str) -> None:
    """pkg/__init__ imports pkg.service, which imports pkg.core.x."""
    for name, text in {
        "pkg/__init__.py": "from pkg.service import Service\n",
        "pkg/service.py": "from pkg.core.x import X\n\nclass Service: ...\n",
        "pkg/core/__init__.py": "",
        "pkg/core/x.py": core_x,
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_parent_packages_do_not_make_a_cycle(tmp_path: Path) -> None:
    """Importing pkg.core.x starts from pkg/__init__, already running: no cycle."""
    _write_package(tmp_path, "from pkg.core import y\nimport enum\n\nX = 1\n")
    graph, _ = import_graph(tmp_path, "pkg")
    assert [] == find_cycles(graph)


@pytest.mark.parametrize(
    "core_x",
    [
        "from pkg.service import Service\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.service import Service\n",
        "def f():\n    from pkg import service\n",
        "from .. import service\n",
        "from ..service import Service\n",
    ],
    ids=["module-level", "type-checking", "in-a-function", "relative", "relative-name"],
)
def test_a_back_reference_is_a_cycle(tmp_path: Path, core_x: str) -> None:
    """pkg.core.x importing pkg.service back, in any form, closes a cycle."""
    _write_package(tmp_path, core_x)
    graph, _ = import_graph(tmp_path, "pkg")
    assert [["pkg.core.x", "pkg.service", "pkg.core.x"]] == find_cycles(graph)


def test_reading_the_package_root_is_a_cycle(tmp_path: Path) -> None:
    """``from pkg import Service`` reads pkg/__init__, which is still running."""
    _write_package(tmp_path, "def f():\n    from pkg import Service\n")
    graph, lines = import_graph(tmp_path, "pkg")
    assert ["pkg → pkg.service (pkg/__init__.py:1) → pkg.core.x (pkg/service.py:1) → pkg "
            "(pkg/core/x.py:2, in a function)"] == [describe(c, lines) for c in find_cycles(graph)]  # fmt: skip
