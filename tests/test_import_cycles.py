"""No import circle inside linrelu/: the import graph of its modules, read from their source, is
acyclic. Every ``import`` and ``from ... import`` counts, at module level or inside a function,
absolute or relative; imports under ``if TYPE_CHECKING:`` (never executed) do not. An edge goes
to the most specific module the statement names (``from linrelu.repro import cache`` →
``linrelu.repro.cache``; ``from linrelu import MLP`` → ``linrelu``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules(package_dir: Path) -> dict:
    """{dotted name: (path, is_package)} of every .py file under ``package_dir``."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node of ``tree``, skipping ``if TYPE_CHECKING:`` bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.If) and _is_type_checking(node):
            children = [c for c in children if c not in node.body]
        stack.extend(children)


def import_graph(package_dir: Path) -> dict:
    """{module: set of the package's modules it imports} (see the module docstring)."""
    mods = modules(package_dir)
    top = package_dir.name

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, (path, is_package) in mods.items():
        edges = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module
                           for a in node.names]
            edges |= {known(t) for t in targets if t.split(".")[0] == top}
        graph[name] = edges - {None, name}
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (each one an import circle),
    as sorted lists."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):  # Tarjan's algorithm, iteratively
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_linrelu_has_no_import_cycle():
    graph = import_graph(ROOT / "linrelu")
    assert "linrelu.repro.runner" in graph and "linrelu.repro.executor" in graph
    assert "linrelu.repro.executor" in graph["linrelu.repro.runner"]
    assert cycles(graph) == []


def test_the_walker_finds_relative_and_function_level_cycles(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import x\n    return x\n")
    (pkg / "c.py").write_text("import pkg.d\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    import pkg.c\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.a"}
    assert graph["pkg.d"] == set()  # TYPE_CHECKING imports never run
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]


#: The layers of linrelu/, lowest first: a module may import only from its own layer or a lower
#: one. ``linrelu`` itself (the public facade, re-exporting layers up to the analysis) counts as
#: the analysis layer; ``linrelu.__main__`` (the command line) sits above everything.
LAYERS = [
    {"linrelu.validation", "linrelu.precision", "linrelu.data"},
    {"linrelu.models"},
    {"linrelu.spectral"},
    {"linrelu.analysis", "linrelu.plotting"},
    {"linrelu.continual"},
    {"linrelu.experiments"},
    {"linrelu.repro"},
]


def layer_of(module: str) -> int:
    """Index in LAYERS of the part ``module`` belongs to (the facade: analysis; __main__: top)."""
    for i, parts in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in parts):
            return i
    if module == "linrelu":
        return 3
    if module == "linrelu.__main__":
        return len(LAYERS)
    raise AssertionError(f"{module} belongs to no layer of LAYERS; add it")


def upward_imports(graph: dict) -> list:
    """Edges (importer, imported) that go from a lower layer to a higher one."""
    return sorted((a, b) for a, deps in graph.items() for b in deps if layer_of(b) > layer_of(a))


def test_linrelu_imports_flow_downward_through_its_parts():
    graph = import_graph(ROOT / "linrelu")
    assert upward_imports(graph) == []
    # the folder list shows the parts
    for part in ("models", "spectral", "analysis", "continual", "experiments", "repro"):
        assert (ROOT / "linrelu" / part / "__init__.py").is_file(), part
    flat = sorted(p.stem for p in (ROOT / "linrelu").glob("*.py"))
    assert flat == ["__init__", "__main__", "data", "plotting", "precision", "validation"], flat


def test_an_upward_import_is_found():
    graph = {"linrelu.models.mlp": {"linrelu.spectral.gram"}, "linrelu.spectral.gram": set()}
    assert upward_imports(graph) == [("linrelu.models.mlp", "linrelu.spectral.gram")]
