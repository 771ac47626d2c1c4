"""The package's layout rules (ARCHITECTURE.md): no import cycle, modules of a readable size."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nlica"
# datasets.py holds every generator and the shipped data; any other module above this
# many lines should be split (ARCHITECTURE.md).
MAX_LINES = 700


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path):
    """The nlica modules imported when ``path`` is imported (not those inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("nlica"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("nlica"):
                found.add(module)
                # "from . import x" imports the submodule x.
                found.update(f"{module}.{a.name}" for a in node.names)
    return found


def _graph():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _top_level_imports(path) & set(modules) for name, path in modules.items()}


def _cycle(graph):
    """Return one import cycle as a list of modules, or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt, stack + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_nlica():
    graph = _graph()
    # A module's own packages are imported before it whatever it says ("from . import
    # _runner" needs nlica.experiments._runner, not a second nlica.experiments).
    for name in graph:
        parts = name.split(".")
        graph[name] -= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    assert "nlica._neural" in graph and "nlica._rows" in graph["nlica._neural"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.name != "datasets.py"),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_module_size(path):
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    assert n_lines <= MAX_LINES, f"{path.name} has {n_lines} lines; split it"
