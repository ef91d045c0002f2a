"""The layout is the architecture: imports only go down the layers, and no two modules import each other.

configs -> core -> models, tools -> nodes, persistence -> graph -> web -> cli (whose `serve` starts web).
Every import counts, including the ones inside functions (a lazy import is still a dependency); imports under
`if TYPE_CHECKING:` are type hints only and are left out of the cycle check.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT

LAYERS = {
    "configs": 0,
    "core": 1,
    "models": 2,
    "tools": 2,
    "nodes": 3,
    "persistence": 3,
    "graph": 4,
    "web": 5,
    "cli": 6,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, under TYPE_CHECKING) for every import of our packages in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] in LAYERS:
                found.append((name, node.lineno, id(node) in type_only))
    return found


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for package in LAYERS for p in sorted((ROOT / package).rglob("*.py"))}


def test_imports_only_go_down_the_layers() -> None:
    wrong = []
    for module, path in _sources().items():
        own = module.split(".")[0]
        for name, line, _ in _imports(path):
            target = name.split(".")[0]
            if target != own and LAYERS[target] >= LAYERS[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({own} may not import {target})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    sources = _sources()
    graph = {
        module: sorted({name for name, _, type_only in _imports(path) if name in sources and not type_only} - {module})
        for module, path in sources.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in graph[module]:
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)
