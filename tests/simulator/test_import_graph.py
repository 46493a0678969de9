"""The simulator's modules import one way: the charge point (station) binds the CS→CP handlers to
its parts, the handlers build on the parts, the parts on their shared state, and maintenance on
none of them (the import-linter contracts in pyproject.toml hold those layers, see
tests/unit/test_layers.py). Here: no simulator module imports one that imports it back, counting
every import, also those only for type checking or inside a function."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import voltline.simulator

PACKAGE = "voltline.simulator"
ROOT = Path(voltline.simulator.__file__).parent


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _imports() -> dict[str, set[str]]:
    """Module → the simulator modules it imports (the package's own __init__, which Python runs
    before any of its modules, is left out: it only re-exports)."""
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name == PACKAGE:
            continue
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets.add(node.module)
                # `from voltline.simulator import meter` imports the module meter.
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t not in (PACKAGE, name)}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return visiting[visiting.index(node):] + [node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            found = visit(target)
            if found:
                return found
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        found = visit(node)
        if found:
            return found
    return None


def test_no_simulator_module_imports_one_that_imports_it_back() -> None:
    assert _cycle(_imports()) is None


def test_the_modules_import_in_any_order() -> None:
    modules = [f"{PACKAGE}.{m}" for m in ("station", "handlers", "maintenance")]
    for order in itertools.permutations(modules):
        code = "; ".join(f"import {m}" for m in order)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, (order, run.stderr)
