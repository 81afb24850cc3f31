"""The shape of the code: `index/` is a library that knows nothing of its adapters, and no
two modules of `index/` and `bot/` import each other, even through others. The tests and the
benchmarks share helpers only through the `tests.support` package, imported by name: never from
`conftest.py` or another test module, and never by changing `sys.path`."""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import REPO

PACKAGES = ("index", "bot")
ADAPTER_LIBRARIES = ("click", "discord", "starlette", "jinja2", "uvicorn")


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
        yield from names_imported_by(node)


def names_imported_by(node: ast.AST) -> Iterator[str]:
    """The module names one statement imports, as `imported_names` gives them (none when
    `node` is not an import)."""
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


def test_the_web_adapter_never_reaches_discord() -> None:
    """`citebot serve` runs without loading discord.py: no module it imports, even through
    others, imports it."""
    graph = import_graph()
    known = modules()
    reached = {name for name in graph if in_package(name, "bot.web")}
    pending = list(reached)
    while pending:
        for imported in graph[pending.pop()] - reached:
            reached.add(imported)
            pending.append(imported)
    assert {"bot.web.app", "bot.text", "index.engine"} <= reached
    discord_users = {
        name
        for name in reached
        if any(imported.split(".")[0] == "discord" for imported in imported_names(known[name]))
    }
    assert discord_users == set()


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


# The two stores and the seam between them: `index.seam` picks one, importing it only when
# chosen; neither store imports the other, and what they share lives outside both.

STORES = ("index.local", "index.milvus")
# The seam (the factory and the protocols) and the modules both stores share.
NEUTRAL = ("index.seam", "index.interfaces", "index.manifest", "index.vector_policy")
# SQL that makes a table, a full-text table, an index, a view or a trigger.
CREATE_STATEMENT = re.compile(
    r"\bCREATE\s+(?:(?:TEMP|TEMPORARY|VIRTUAL|UNIQUE)\s+)*(?:TABLE|INDEX|VIEW|TRIGGER)\b",
    re.IGNORECASE,
)


def in_package(name: str, package: str) -> bool:
    """Whether the dotted `name` is `package` or inside it."""
    return name == package or name.startswith(f"{package}.")


def module_level_imports(path: Path) -> Iterator[str]:
    """Every module name `path` imports when it is itself imported (see
    `imports_outside_functions`)."""
    return imports_outside_functions(ast.parse(path.read_text("utf-8")))


def imports_outside_functions(tree: ast.AST) -> Iterator[str]:
    """The module names of the import statements of `tree` outside function bodies (at the
    top, under `if TYPE_CHECKING`, in class bodies), as `imported_names` gives them."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        yield from names_imported_by(node)
        pending.extend(ast.iter_child_nodes(node))


def test_the_store_checks_read_what_they_should() -> None:
    known = modules()
    assert {*STORES, *NEUTRAL, "index.local.schema", "index.milvus.reader"} <= known.keys()
    seam = known["index.seam"]
    lazily = set(imported_names(seam)) - set(module_level_imports(seam))
    assert {"index.local.reader", "index.milvus.reader"} <= lazily
    assert "index.config" in set(module_level_imports(seam))
    top = ast.parse("import a\nif b:\n    from c import d\ndef e():\n    import f\n")
    assert set(imports_outside_functions(top)) == {"a", "c", "c.d"}
    assert CREATE_STATEMENT.search("CREATE VIRTUAL TABLE t USING fts5(x)")
    assert CREATE_STATEMENT.search("create temp table kept (id)")
    assert not CREATE_STATEMENT.search("the one module that creates tables in it")


def test_neither_store_imports_the_other() -> None:
    crossing = {
        (module, imported)
        for module, path in modules().items()
        for own, other in (STORES, STORES[::-1])
        if in_package(module, own)
        for imported in imported_names(path)
        if in_package(imported, other)
    }
    assert crossing == set()


def test_the_seam_and_what_the_stores_share_import_no_store_at_module_level() -> None:
    known = modules()
    eager = {
        (module, imported)
        for module in NEUTRAL
        for imported in module_level_imports(known[module])
        if any(in_package(imported, store) for store in STORES)
    }
    assert eager == set()


def test_only_the_schema_module_creates_the_local_store_tables() -> None:
    creating = {
        path.relative_to(REPO).as_posix()
        for path in sorted((REPO / "index" / "local").rglob("*.py"))
        if CREATE_STATEMENT.search(path.read_text("utf-8"))
    }
    assert creating == {"index/local/schema.py"}


# The tests and the benchmarks: where they import their helpers from.

SCRIPT_FOLDERS = ("tests", "bench")
BORROWED = ("conftest", "test_", "tests.conftest", "tests.test_")


def script_files() -> list[Path]:
    """Every Python file of the tests (support package included) and the benchmarks."""
    return sorted(path for folder in SCRIPT_FOLDERS for path in (REPO / folder).rglob("*.py"))


def code_of(path: Path) -> Iterator[ast.AST]:
    """The syntax tree of `path`, and of each string in it that is Python code importing
    something (the scripts tests run in processes of their own)."""
    tree = ast.parse(path.read_text("utf-8"))
    yield tree
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "import " not in node.value:
                continue
            try:
                yield ast.parse(textwrap.dedent(node.value))
            except SyntaxError:
                continue


def imports_in(tree: ast.AST, path: Path) -> Iterator[str]:
    """Every module name the code in `tree` (found in `path`) imports, relative imports
    resolved from `path`'s package; for `from a import b`, `a.b` as well as `a`."""
    package = path.relative_to(REPO).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *filter(None, (node.module or "").split("."))])
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def touches_sys_path(tree: ast.AST) -> bool:
    """Whether the code in `tree` names `sys.path` or `site` (to import by a path)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "path"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "sys"
            and any(alias.name == "path" for alias in node.names)
        ):
            return True
        if isinstance(node, ast.Import) and any(a.name == "site" for a in node.names):
            return True
    return False


def test_the_script_imports_are_read_whole() -> None:
    files = {str(path.relative_to(REPO)) for path in script_files()}
    assert {"tests/conftest.py", "tests/support/botkit.py", "bench/cold_start.py"} <= files
    incremental = REPO / "tests" / "test_build_incremental.py"
    in_strings = {
        name for tree in list(code_of(incremental))[1:] for name in imports_in(tree, incremental)
    }
    assert "tests.support.embedder.FakeEmbedder" in in_strings
    fake = REPO / "tests" / "support" / "discord_fake" / "__init__.py"
    relative = ast.parse("from .driver import FakeDiscord\nfrom .. import botkit")
    assert set(imports_in(relative, fake)) >= {
        "tests.support.discord_fake.driver.FakeDiscord",
        "tests.support.botkit",
    }
    # Built so that this file's own strings are not code that touches sys.path.
    assert touches_sys_path(ast.parse("sys.path.insert(0, '.')"))
    from_sys = ast.ImportFrom(module="sys", names=[ast.alias(name="path")], level=0)
    assert touches_sys_path(ast.Module(body=[from_sys], type_ignores=[]))
    assert not touches_sys_path(ast.parse("import os\nos.path.join('a', 'b')"))


def test_tests_and_benchmarks_share_helpers_only_through_the_support_package() -> None:
    borrowed = {
        (str(path.relative_to(REPO)), name)
        for path in script_files()
        for tree in code_of(path)
        for name in imports_in(tree, path)
        if name.startswith(BORROWED) or name == "conftest"
    }
    assert borrowed == set(), "import helpers from tests.support, not conftest or a test module"


def test_no_test_or_benchmark_changes_sys_path() -> None:
    patched = {
        str(path.relative_to(REPO))
        for path in script_files()
        if any(touches_sys_path(tree) for tree in code_of(path))
    }
    assert patched == set(), "import tests.support by name (benchmarks: python -m bench.NAME)"


def test_only_the_engine_reads_questions() -> None:
    """The engine reads a question once (`index.question.read_question`) and hands the
    `Question` record down: nothing below it parses the question again."""
    readers = {name for name, imported in import_graph().items() if "index.question" in imported}
    assert readers == {"index.engine"}


def test_one_word_pattern() -> None:
    """Words are split by one pattern, `index.words.WORD`: no other module of the library
    defines a word pattern of its own."""
    defining = {
        name
        for name, path in modules().items()
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.lstrip("_") == "WORD"
    }
    assert defining == {"index.words"}
