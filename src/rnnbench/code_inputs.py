"""The source files an ``rnnbench`` command executes, found from the code itself.

The workflow declares them as each rule's ``code`` input, so editing any module a job
runs reruns that job (Snakemake's mtime trigger), and no list is kept by hand. A command's
files are the command line's own (``rnnbench/cli/__init__.py``, which parses every command,
and the module of :mod:`rnnbench.cli` that wires this one, e.g. ``cli/analysis.py`` for
``compare``: the other wiring modules give only their commands' names and help) and the
import closure of what the command's options and handler import, read statically with
:mod:`ast`:

- every ``import rnnbench...`` / ``from rnnbench... import ...``, inside functions too
  (the lazy imports that keep data jobs free of torch);
- every string literal that names an rnnbench module (``"rnnbench.models.build:..."``,
  a registry builder or a PEP 562 export, imported by :mod:`importlib` later);
- each package's ``__init__.py`` on the way to a module (Python runs them first);
- the non-Python sources beside a module (``models/native/kernels.cpp``, compiled at
  run time);
- the extra architecture modules (``RNNBENCH_ARCH_MODULES``) where the closure builds models.

Imports nothing heavy: the Snakefile calls it at parse time.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# What a job may execute besides Python: sources compiled at run time.
NATIVE_SUFFIXES = {".c", ".cc", ".cpp", ".h", ".hpp", ".cu"}
MODULE_NAME = re.compile(r"^(rnnbench(?:\.\w+)*)(?::\w+)?$")


def module_file(name: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The file of module ``name`` (``pkg/__init__.py`` for a package) in the package
    at ``package_dir``; None if there is none."""
    base = package_dir.parent.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path, package_dir: Path) -> str:
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _tree(path: Path) -> ast.Module:
    """A source file's syntax tree (read once: the Snakefile asks for every rule)."""
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


@functools.cache
def imported_modules(path: Path, package_dir: Path, top_only: bool = False) -> frozenset[str]:
    """The rnnbench modules one file imports, or names as a string, anywhere in it
    (``top_only``: in its module-level statements only)."""
    tree = _tree(path)
    nodes = tree.body if top_only else list(ast.walk(tree))
    return _named_modules(nodes, _package_of(path, package_dir), package_dir)


def _package_of(path: Path, package_dir: Path) -> str:
    """The package a file's relative imports start from."""
    name = _module_name(path, package_dir)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _named_modules(nodes: list[ast.AST], package: str, package_dir: Path) -> frozenset[str]:
    """The rnnbench modules these nodes import or name as a string (nodes of a file of
    ``package``)."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from package of this file, up level - 1
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_NAME.match(node.value)
            if match:
                names.add(match.group(1))
    return frozenset(n for n in names if n.startswith("rnnbench") and module_file(n, package_dir))


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def closure(
    *modules: str,
    package_dir: Path = PACKAGE_DIR,
    dispatchers: tuple[str, ...] = (),
    leave_out: tuple[str, ...] = (),
) -> list[Path]:
    """Every file the modules execute when imported and run (see the module docstring).
    Of a ``dispatcher`` (the cli modules: their functions import what one command needs)
    only the module-level imports are followed; ``leave_out`` modules are not followed."""
    seen: set[str] = set(leave_out)
    todo = [parent for name in modules for parent in _with_parents(name)]
    while todo:
        name = todo.pop()
        path = module_file(name, package_dir)
        if name in seen or path is None:
            continue
        seen.add(name)
        for imported in imported_modules(path, package_dir, name in dispatchers):
            todo.extend(_with_parents(imported))
    files = {module_file(name, package_dir) for name in seen - set(leave_out)}
    for path in list(files):
        files.update(p for p in path.parent.iterdir() if p.suffix in NATIVE_SUFFIXES)
    return sorted(files)


CLI = "rnnbench.cli"


def wiring_modules(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """The modules of :mod:`rnnbench.cli` that wire commands (each ``Command(...)``)."""
    found = []
    for path in sorted((package_dir / "cli").glob("*.py")):
        if any(_is_command(node) for node in ast.walk(_tree(path))):
            found.append(f"{CLI}.{path.stem}")
    return found


def _is_command(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Command"
    )


def _command_call(tree: ast.Module, command: str) -> ast.Call | None:
    """The ``Command("<command>", ...)`` of a wiring module, if it wires the command."""
    for node in ast.walk(tree):
        if _is_command(node) and node.args and getattr(node.args[0], "value", None) == command:
            return node
    return None


def _functions_used(start: ast.AST, functions: dict[str, ast.FunctionDef]) -> list[ast.AST]:
    """The module's functions that ``start`` names, and those they name, and so on."""
    used: dict[str, ast.FunctionDef] = {}
    todo = [start]
    while todo:
        for node in ast.walk(todo.pop()):
            if isinstance(node, ast.Name) and node.id in functions and node.id not in used:
                used[node.id] = functions[node.id]
                todo.append(functions[node.id])
    return list(used.values())


def command_modules(command: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """The modules that carry out ``rnnbench <command>``: the wiring module of the cli
    package that declares it, and what its options and handler functions import (the
    helpers of that module they call included)."""
    for module in wiring_modules(package_dir):
        path = module_file(module, package_dir)
        tree = _tree(path)
        call = _command_call(tree, command)
        if call is None:
            continue
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        nodes = [sub for f in _functions_used(call, functions) for sub in ast.walk(f)]
        found = _named_modules(nodes, _package_of(path, package_dir), package_dir)
        return sorted({module, *found})
    raise ValueError(f"no rnnbench command {command!r} (no Command({command!r}, ...) in cli/)")


def command_files(*commands: str, package_dir: str | Path = PACKAGE_DIR) -> list[str]:
    """Every source file ``rnnbench <command>`` executes (for each command), as strings,
    read from the package at ``package_dir`` (the workflow's own copy of the sources)."""
    package_dir = Path(package_dir).resolve()
    modules = ["rnnbench.__main__", CLI]
    for command in commands:
        modules += command_modules(command, package_dir)
    wiring = wiring_modules(package_dir)
    found = closure(
        *modules,
        package_dir=package_dir,
        dispatchers=(CLI, *wiring),
        # The other wiring modules run too, but only to list their commands' names and help.
        leave_out=tuple(m for m in wiring if m not in modules),
    )
    files = [str(path) for path in found]
    if any(path.endswith("models/build.py") for path in files):
        from rnnbench.registry import extra_module_files

        files += extra_module_files()
    return files
