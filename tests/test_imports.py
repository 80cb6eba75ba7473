"""The modules of the product and of the stand-ins import one another without a cycle, and the
product reaches the stand-ins through one door only.

Read from the source with `ast`, so that imports inside functions count too: a cycle held apart
by a function-level import is still a cycle, it only fails later.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("connectors", "mappings", "warehouse", "lienthong", "dags")
STAND_INS = "simulators"
# The product's one door to the stand-ins (`lienthong demo` and `lienthong simulate` use it).
DOOR = "lienthong.standins"

def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the product and the stand-ins."""
    found = {}
    for top in (*PRODUCT, STAND_INS):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path, known: dict[str, Path] = MODULES) -> Iterator[tuple[str, bool]]:
    """(imported module, at module level?) for each import of a `known` module, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    inside_functions = {
        id(node)
        for func in ast.walk(tree)
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for node in ast.walk(func)
        if node is not func
    }
    for node in ast.walk(tree):
        top_level = id(node) not in inside_functions
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, top_level
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: climb from this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(filter(None, [*anchor, base]))
            for alias in node.names:
                # `from pkg import mod` imports the submodule; `from mod import name`, the module.
                target = f"{base}.{alias.name}"
                target = target if target in known else base
                if target in known:
                    yield target, top_level


GRAPH = {name: {t for t, _ in _imports(name, path) if t != name} for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_graph_is_read_from_every_package():
    # A broken walk (a renamed folder, a resolution bug) would find no cycle by finding nothing.
    assert {name.partition(".")[0] for name in MODULES} == {*PRODUCT, STAND_INS}
    assert "lienthong.registry" in GRAPH["lienthong.pipeline"]
    assert "warehouse.schema" in GRAPH["warehouse.loader"]
    assert "lienthong.registry" in GRAPH["simulators.province"]


def test_the_cycle_finder_finds_a_cycle_held_apart_by_a_function_level_import(tmp_path):
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
    # The fee gateway stand-in's data set and generator as they were: the data set imported the
    # generator at module level, the generator imported the data set back inside a function.
    (tmp_path / "dataset.py").write_text("from pkg.payments import Generator\n")
    (tmp_path / "payments.py").write_text(
        "def wire():\n    from pkg.dataset import TransactionTruth\n    return TransactionTruth\n"
    )
    known = {"pkg.dataset": tmp_path / "dataset.py", "pkg.payments": tmp_path / "payments.py"}
    assert dict(_imports("pkg.payments", known["pkg.payments"], known)) == {"pkg.dataset": False}
    graph = {name: {t for t, _ in _imports(name, path, known)} for name, path in known.items()}
    assert _cycles(graph) == [frozenset(known)]


def test_no_import_cycles():
    cycles = sorted(sorted(c) for c in _cycles(GRAPH))
    assert cycles == [], f"import cycles: {cycles}"


def test_the_product_reaches_the_stand_ins_through_one_door_inside_a_function():
    reaching = {
        (name, top_level)
        for name, path in MODULES.items()
        if name.partition(".")[0] in PRODUCT
        for target, top_level in _imports(name, path)
        if target.partition(".")[0] == STAND_INS
    }
    assert reaching == {(DOOR, False)}
