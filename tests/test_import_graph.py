"""No import cycles in ``payi_async`` or ``payi_sync``.

Every import is counted, wherever it stands: module level, inside a function, or under
``if TYPE_CHECKING:``. The only edges left out of the cycle check are the
annotation-only ones in ``ANNOTATION_ONLY``, each with its reason; the test also holds
that each of those still exists and is still guarded, so the list cannot rot.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("payi_async", "payi_sync")

#: (importer, imported) -> why the edge may close a loop. Each is an import under
#: ``if TYPE_CHECKING:`` used in annotations only (``from __future__ import
#: annotations`` everywhere), so it never runs.
ANNOTATION_ONLY: Mapping[tuple[str, str], str] = {
    ("payi_async._resources", "payi_async._client"): (
        "a resource holds the client that made it (httpx-style back-reference)"
    ),
    ("payi_async._response", "payi_async._client"): (
        "the raw/streaming modes are handed the client whose _stream they call"
    ),
    ("payi_async._catalog", "payi_async._resources"): (
        "plan/apply/cost are engines handed the AsyncResources whose methods they call"
    ),
    ("payi_async._views", "payi_async"): (
        "the generated typed views name the public classes, from the package, in annotations"
    ),
}


@attrs.frozen
class Edge:
    """One import of one module of the packages by another."""

    importer: str
    imported: str
    line: int
    guarded: bool  # under ``if TYPE_CHECKING:``


def _modules(root: Path, packages: Iterable[str]) -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            found[".".join(parts)] = (path, is_package)
    return found


def _guarded_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes that stand under ``if TYPE_CHECKING:``."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                guarded.update(id(n) for n in ast.walk(inner))
    return guarded


def import_edges(root: Path, packages: Iterable[str]) -> list[Edge]:
    """Every import between the packages' modules, function-level ones included.

    ``from pkg import name`` is an edge to ``pkg.name`` where that is a module, else to
    ``pkg`` (whose ``__init__`` defines the name).
    """
    modules = _modules(root, packages)
    edges: list[Edge] = []
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = _guarded_nodes(tree)
        base = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parent = base[: len(base) - (node.level - 1)]
                    module = ".".join([*parent, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in modules else module)
            for target in targets:
                if target in modules and target != name:
                    edges.append(Edge(name, target, node.lineno, id(node) in guarded))  # type: ignore[attr-defined]
    return edges


def cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.imported)
        graph.setdefault(edge.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _describe(component: list[str], edges: list[Edge]) -> str:
    inside = set(component)
    return "\n".join(
        f"  {e.importer} -> {e.imported} (line {e.line}{', TYPE_CHECKING' if e.guarded else ''})"
        for e in edges
        if e.importer in inside and e.imported in inside
    )


def test_no_import_cycle() -> None:
    edges = [
        e
        for e in import_edges(ROOT, PACKAGES)
        if not (e.guarded and (e.importer, e.imported) in ANNOTATION_ONLY)
    ]
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n\n".join(_describe(c, edges) for c in found)


def test_each_annotation_only_edge_exists_and_is_guarded() -> None:
    edges = import_edges(ROOT, PACKAGES)
    for pair in ANNOTATION_ONLY:
        matching = [e for e in edges if (e.importer, e.imported) == pair]
        assert matching, f"{pair} no longer imports: drop it from ANNOTATION_ONLY"
        assert all(e.guarded for e in matching), f"{pair} is imported at run time"


def test_function_level_and_guarded_imports_are_seen(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .a import A\n")
    (package / "a.py").write_text("class A:\n    def f(self):\n        from .b import B\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n"
    )
    (package / "c.py").write_text("from pkg import a\n")
    edges = import_edges(tmp_path, ["pkg"])
    assert {(e.importer, e.imported, e.guarded) for e in edges} == {
        ("pkg", "pkg.a", False),
        ("pkg.a", "pkg.b", False),
        ("pkg.b", "pkg.c", True),
        ("pkg.c", "pkg.a", False),
    }
    assert cycles(edges) == [["pkg.a", "pkg.b", "pkg.c"]]


@pytest.mark.parametrize("package", PACKAGES)
def test_the_graph_covers_the_package(package: str) -> None:
    importers = {e.importer for e in import_edges(ROOT, PACKAGES)}
    assert f"{package}._client" in importers
