"""Reading a package's imports with ``ast`` and finding cycles among them.

``tests/test_architecture.py`` states the rules; this module holds the
mechanics, so that the rules read as specifications. The dependency rule is
documented on ``test_no_import_cycle_among_the_modules``.
"""

from __future__ import annotations

import ast
import itertools
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# -- reading the imports ------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """One module depending on another, and the import line that says so."""

    importer: str
    target: str
    path: str
    line: int
    #: "" at module level, else "in a function" or "under TYPE_CHECKING".
    where: str

    def __str__(self) -> str:
        where = f", {self.where}" if self.where else ""
        return f"{self.path}:{self.line}{where}"


def discover(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (found under ``root``), by dotted name."""
    modules: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every import statement of a module, wherever it is, with its context."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, str]] = []
        self._where: list[str] = []

    def _inside(self, where: str, body: Iterable[ast.stmt]) -> None:
        self._where.append(where)
        for statement in body:
            self.visit(statement)
        self._where.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._inside("in a function", node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self._inside("under TYPE_CHECKING", node.body)
        for statement in node.orelse:
            self.visit(statement)

    def _found(self, node: ast.Import | ast.ImportFrom) -> None:
        self.found.append((node, self._where[-1] if self._where else ""))

    def visit_Import(self, node: ast.Import) -> None:
        self._found(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._found(node)


def imports_in(path: Path) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    collector = _Imports()
    collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return collector.found


def _absolute(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module a ``from … import`` names, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    parts = importer.split(".") if is_package else importer.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def _existing(name: str, modules: Collection[str]) -> str | None:
    """``name``, or the longest prefix of it that is a module (``a.b.Name``)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) or None


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def dependencies(
    importer: str, path: Path, modules: Collection[str], relative_to: Path
) -> Iterator[Edge]:
    """What ``importer`` depends on, by the rule of ``test_no_import_cycle``."""
    is_package = path.name == "__init__.py"
    shown = str(path.relative_to(relative_to))
    for node, where in imports_in(path):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = _absolute(importer, is_package, node)
            # A submodule is imported; any other name is read from base itself.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for named in targets:
            target = _existing(named, modules)
            if target is None:
                continue
            parents = target.split(".")
            implicit = [".".join(parents[:n]) for n in range(1, len(parents))]
            for module in [*implicit, target]:
                # The named module always counts; a package on the way only
                # if the import may run its __init__: not the importer's own
                # ancestors, which Python initialised before the importer.
                if module == importer or (module != target and is_within(importer, module)):
                    continue
                yield Edge(importer, module, shown, node.lineno, where)


def import_graph(
    root: Path, package: str
) -> tuple[dict[str, set[str]], dict[tuple[str, str], Edge]]:
    """The dependency graph of ``package`` and the first line behind each edge."""
    modules = discover(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    lines: dict[tuple[str, str], Edge] = {}
    for name, path in modules.items():
        for edge in dependencies(name, path, modules, root):
            graph[name].add(edge.target)
            lines.setdefault((name, edge.target), edge)
    return graph, lines


# -- finding cycles -----------------------------------------------------------


def _components(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One shortest cycle per tangle of mutually dependent nodes, as a path
    ``[a, b, …, a]`` starting from the tangle's first node; sorted."""
    cycles: list[list[str]] = []
    for component in _components(graph):
        start = component[0]
        if len(component) == 1 and start not in graph.get(start, ()):
            continue
        members = set(component)
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:  # breadth first: the first way back to start is shortest
            node = queue.popleft()
            if start in graph.get(node, ()):
                path = [start]
                while node != start:
                    path.append(node)
                    node = came_from[node]
                cycles.append([start, *reversed(path[1:]), start])
                break
            for successor in sorted(graph.get(node, ())):
                if successor in members and successor not in came_from and successor != start:
                    came_from[successor] = node
                    queue.append(successor)
    return sorted(cycles)


def describe(cycle: list[str], lines: Mapping[tuple[str, str], Edge]) -> str:
    steps = [cycle[0]]
    for importer, target in itertools.pairwise(cycle):
        steps.append(f"{target} ({lines[importer, target]})")
    return " → ".join(steps)
