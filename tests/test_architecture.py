"""The layers hold (docs/architecture.md): methods and executors never import each other,
the core never imports the study layer, and the import graph of zipkit has no circle. The
graph is read from the source (every import statement, those inside functions included)."""

import ast
from pathlib import Path

import zipkit

ROOT = Path(zipkit.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import module` depends on the module; `from module import name` on it
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def _reaches(graph: dict[str, set[str]], start: str, prefix: str) -> list[str]:
    return sorted(t for t in graph[start] if t == prefix or t.startswith(prefix + "."))


def test_methods_and_executors_never_import_each_other():
    graph = _graph()
    for name in graph:
        if name.startswith("zipkit.methods"):
            assert not _reaches(graph, name, "zipkit.executors") and not _reaches(graph, name, "zipkit.api"), name
        if name.startswith("zipkit.executors"):
            assert not _reaches(graph, name, "zipkit.methods") and not _reaches(graph, name, "zipkit.api"), name


def test_the_core_never_imports_the_study_layer():
    graph = _graph()
    for name in graph:
        if not name.startswith(("zipkit.experiments", "zipkit.cli")):
            assert not _reaches(graph, name, "zipkit.experiments"), name


def test_the_import_graph_has_no_circle():
    graph = _graph()
    # Packages re-export their modules' names: an edge into a package's __init__ from one of its
    # own modules would be a circle; from outside it is the package's API.
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(nxt) :] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
