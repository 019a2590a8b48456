"""The package's structure in numbers: modules, layers, import circles, upward imports
and the longest functions, read from the source with :mod:`ast` (nothing is imported).

    python bench/architecture.py [SRC_DIR]     # default: src/ beside this script

An import is every ``import rnnbench...`` / ``from rnnbench... import`` anywhere in a
module, lazy ones inside functions included. A *unit* is a top-level module of the
package (``config.py``) or a subpackage (``data/``); :data:`LAYERS` orders them from the
ground up, and an *upward import* is one from a unit to a unit of a higher layer. A
*circle* is a cycle of imports between units.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# The intended layers, lowest first: a unit may import its own layer's units and lower.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "io", "registry"),
    ("names", "optimizers"),
    ("experiment",),
    ("config", "results", "data", "cost", "published_names"),
    ("models", "metrics"),
    ("train",),
    ("analysis",),
    ("progress", "trackers", "terminal"),
    ("cli", "code_inputs", "report_check", "__main__"),
)


def modules(src: Path) -> dict[str, Path]:
    package = src / "rnnbench"
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The rnnbench modules a file imports (``from a import b``: a.b if b is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnnbench"):
            subs = {f"{node.module}.{a.name}" for a in node.names} & known
            found |= subs or {node.module}
    return found


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def unit_graph(src: Path) -> dict[str, set[str]]:
    mods = modules(src)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        if not unit(name):
            continue
        targets = {unit(m) for m in imports(path, set(mods))} - {unit(name), ""}
        graph.setdefault(unit(name), set()).update(targets)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(name: str) -> int | None:
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    return None


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where the imported unit sits on a higher layer, or
    either has no layer (unplaced units count, so a new one must be placed)."""
    found = []
    for a, targets in sorted(graph.items()):
        for b in sorted(targets):
            la, lb = layer_of(a), layer_of(b)
            if la is None or lb is None or lb > la:
                found.append((a, b))
    return found


def longest_functions(src: Path, top: int = 8) -> list[tuple[int, str]]:
    found = []
    for name, path in modules(src).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    return sorted(found, reverse=True)[:top]


def report(src: Path) -> str:
    graph = unit_graph(src)
    lines = [
        f"modules: {len(modules(src))}, units: {len(graph)}, layers: {len(LAYERS)}",
        f"circles: {len(circles(graph))} {circles(graph)}",
        f"upward imports: {len(upward_imports(graph))} {upward_imports(graph)}",
        "longest functions: "
        + ", ".join(f"{name} {n}" for n, name in longest_functions(src, top=5)),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    # The default is the repository's src/, wherever this is run from.
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "src"
    if not (source / "rnnbench").is_dir():
        sys.exit(f"{source}: no rnnbench package here; give the directory that holds it")
    print(report(source))
