"""The package's layers: every import goes down or sideways, never up, and no module cycle.

``utils``/``compat`` (0) < ``filterbanks``/``nn``/``losses`` (1) < ``models``/``data`` (2) <
``engine``/``eval``/``inference``/``metrics``/``recipe_utils`` (3) < ``cli`` (4). Read from the
source with ``ast``, so the test needs nothing imported.
"""

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(__file__), "..", "phalar_asteroid")
LAYERS = {
    "utils": 0,
    "compat": 0,
    "filterbanks": 1,
    "nn": 1,
    "losses": 1,
    "models": 2,
    "data": 2,
    "pretrained": 2,
    "engine": 3,
    "eval": 3,
    "inference": 3,
    "metrics": 3,
    "recipe_utils": 3,
    "cli": 4,
}


def _modules():
    for root, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, PACKAGE)[:-3].split(os.sep)
                yield path, ["phalar_asteroid"] + [p for p in rel if p != "__init__"], name


def _imports(path, module, filename):
    """Absolute names of the package modules that ``path`` imports (at any depth in the file)."""
    package = module if filename == "__init__.py" else module[:-1]
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = base + (node.module.split(".") if node.module else [])
            if target[:1] == ["phalar_asteroid"]:
                found.add(".".join(target))
                found.update(".".join(target + [a.name]) for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("phalar_asteroid."))
    return found


def _layer(name):
    parts = name.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_every_subpackage_has_a_layer():
    tops = {m[1] for _, m, _ in _modules() if len(m) > 1}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))


@pytest.mark.parametrize(
    "path, module, filename",
    [pytest.param(*m, id=os.path.relpath(m[0], PACKAGE)) for m in _modules()],
)
def test_imports_never_climb(path, module, filename):
    own = _layer(".".join(module))
    if own is None:
        return
    up = sorted(n for n in _imports(path, module, filename) if (_layer(n) or 0) > own)
    assert not up, f"{'.'.join(module)} (layer {own}) imports higher layers: {up}"


def test_no_import_cycle():
    modules = {".".join(m): (p, m, f) for p, m, f in _modules()}
    graph = {
        name: {n for n in _imports(*modules[name]) if n in modules and n != name}
        for name in modules
    }
    # A package's __init__ re-exporting its own submodules is not a cycle of logic.
    graph = {
        name: {n for n in deps if not name.startswith(n + ".") and not n.startswith(name + ".")}
        for name, deps in graph.items()
    }
    state, stack = {}, []

    def visit(name):
        state[name] = "open"
        stack.append(name)
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                raise AssertionError(" -> ".join(stack[stack.index(dep) :] + [dep]))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
