"""The shape of the code: `index/` is a library that knows nothing of its adapters, and no
two modules of `index/` and `bot/` import each other, even through others."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("index", "bot")
ADAPTER_LIBRARIES = ("click", "discord")


def modules() -> dict[str, Path]:
    """Every module of the two packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imported_names(path: Path) -> Iterator[str]:
    """Every module name `path` imports, at the top or inside functions, as written; for
    `from a import b`, `a.b` as well as `a` (b may be a module)."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    known = modules()
    return {
        name: {imported for imported in imported_names(path) if imported in known} - {name}
        for name, path in known.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_whole() -> None:
    graph = import_graph()
    assert {"index.engine", "index.embed.onnx", "bot.cli", "bot.format"} <= graph.keys()
    assert "index.embed.base" in graph["index.embed.onnx"]
    assert "index.engine" in graph["bot.app"]


def test_no_import_circle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_library_never_names_an_adapter_library() -> None:
    named = {
        (module, imported)
        for module, path in modules().items()
        if module.startswith("index")
        for imported in imported_names(path)
        if imported.split(".")[0] in (*ADAPTER_LIBRARIES, "bot")
    }
    assert named == set()


def test_every_library_module_imports_with_click_and_discord_blocked() -> None:
    library = sorted(
        ["index", *(m.name for m in pkgutil.walk_packages([str(REPO / "index")], "index."))]
    )
    assert "index.embed.onnx" in library
    probe = (
        "import importlib, sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in ADAPTER_LIBRARIES)
        + f"for name in {library!r}:\n    importlib.import_module(name)\n"
        + "print('imported', len(sys.modules) > 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported True"
