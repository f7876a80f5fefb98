"""The import cycles among the appeal package's modules (any import, at the top or in a function).

    .venv/bin/python scripts/import_cycles.py

Prints each cycle found; exit 0 when there is none.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, known: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {name for name in names if name in known}
    return found


def cycles() -> list[list[str]]:
    paths = {module_name(p): p for p in sorted((ROOT / "appeal").rglob("*.py"))}
    graph = {name: imports(path, set(paths)) - {name} for name, path in paths.items()}
    # A package's __init__ is imported with any of its modules: not a cycle of the code's.
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}
    found, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                found.append([*trail[trail.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


if __name__ == "__main__":
    found = cycles()
    for cycle in found:
        print(" -> ".join(cycle))
    print("no import cycle" if not found else f"{len(found)} cycles")
    sys.exit(1 if found else 0)
