"""The import graph of kerazoo/: no cycles, and no library module importing the CLI.

Read from the source with `ast` (nothing is imported): every import statement at any
level, also inside functions, `from kerazoo import x` where x is a module, and relative
imports, and `importlib.import_module("...")` with a literal name. An edge goes to the
module named, or to the module the name is taken from.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kerazoo

PACKAGE = Path(kerazoo.__file__).resolve().parent


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _resolve(name: str, known: set[str]) -> str | None:
    """`name` or its longest prefix that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def _is_import_call(node) -> bool:
    """`importlib.import_module("...")` or `__import__("...")` with a literal name."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = node.args[0]
    return (
        name in ("import_module", "__import__")
        and isinstance(first, ast.Constant)
        and isinstance(first.value, str)
        and not first.value.startswith(".")
    )


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets.add(_resolve(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, up `level - 1` more
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in known else _resolve(source, known))
        elif _is_import_call(node):  # importlib.import_module("kerazoo.models")
            targets.add(_resolve(node.args[0].value, known))
    targets.discard(None)
    targets.discard(module)
    return targets


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = _modules(root)
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path) per strongly connected component of 2+ modules."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def connect(v):  # Tarjan's algorithm; the graph is small, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_cycle_in(graph, component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _cycle_in(graph, component: set[str]) -> list[str]:
    """A shortest closed path through the component's first module (breadth-first)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"no cycle in {component}")  # not reached: it is a component


def test_the_graph_reads_every_kind_of_import(tmp_path):
    root = tmp_path / "pkg"
    files = {
        "__init__.py": "from pkg import a\n",
        "a.py": "import os, numpy\nimport pkg.sub.c\n",
        "sub/__init__.py": "",
        "sub/c.py": "from . import d\nfrom .d import thing\n",
        "sub/d.py": "def f():\n    from .. import a\n    from pkg.sub import nothing\n",
        "e.py": "import importlib\nimportlib.import_module('pkg.sub.d')\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert import_graph(root) == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.sub.c"},
        "pkg.sub": set(),
        "pkg.sub.c": {"pkg.sub.d"},
        "pkg.sub.d": {"pkg.a", "pkg.sub"},  # inside a function; a name taken from a package
        "pkg.e": {"pkg.sub.d"},
    }
    assert cycles(import_graph(root)) == [["pkg.a", "pkg.sub.c", "pkg.sub.d", "pkg.a"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles_in_kerazoo():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_library_module_imports_the_cli():
    def is_cli(name):
        return name == "kerazoo.cli" or name.startswith("kerazoo.cli.")

    offenders = {
        module: sorted(filter(is_cli, targets))
        for module, targets in import_graph().items()
        # `python -m` entry points are commands, like the CLI itself.
        if not is_cli(module) and not module.endswith("__main__")
    }
    assert not {m: t for m, t in offenders.items() if t}
