"""The source files an ``rnnbench`` command executes, found from the code itself.

The workflow declares them as each rule's ``code`` input, so editing any module a job
runs reruns that job (Snakemake's mtime trigger), and no list is kept by hand. A command's
files are ``cli.py`` (which parses every command) and the import closure of the module
that carries the command out, read statically with :mod:`ast`:

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
def imported_modules(path: Path, package_dir: Path, top_only: bool = False) -> frozenset[str]:
    """The rnnbench modules one file imports, or names as a string, anywhere in it
    (``top_only``: in its module-level statements only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _module_name(path, package_dir)
    package = package if path.name == "__init__.py" else package.rpartition(".")[0]
    names: set[str] = set()
    nodes = tree.body if top_only else ast.walk(tree)
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
    *modules: str, package_dir: Path = PACKAGE_DIR, dispatchers: tuple[str, ...] = ()
) -> list[Path]:
    """Every file the modules execute when imported and run (see the module docstring).
    Of a ``dispatcher`` (cli.py: its functions import what one command needs) only the
    module-level imports are followed."""
    seen: set[str] = set()
    todo = [parent for name in modules for parent in _with_parents(name)]
    while todo:
        name = todo.pop()
        path = module_file(name, package_dir)
        if name in seen or path is None:
            continue
        seen.add(name)
        for imported in imported_modules(path, package_dir, name in dispatchers):
            todo.extend(_with_parents(imported))
    files = {module_file(name, package_dir) for name in seen}
    for path in list(files):
        files.update(p for p in path.parent.iterdir() if p.suffix in NATIVE_SUFFIXES)
    return sorted(files)


def command_modules(command: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """The modules that carry out ``rnnbench <command>``: the one registering it (a
    heavy command), else those that the command's function in cli.py imports."""
    from rnnbench.cli import HEAVY_COMMANDS

    for module, commands in HEAVY_COMMANDS.items():
        if command in commands:
            return [module]
    function = f"_cmd_{command.replace('-', '_')}"
    tree = ast.parse((package_dir / "cli.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            found = {
                sub.module
                for sub in ast.walk(node)
                if isinstance(sub, ast.ImportFrom) and (sub.module or "").startswith("rnnbench")
            }
            found |= {
                f"{sub.module}.{alias.name}"
                for sub in ast.walk(node)
                if isinstance(sub, ast.ImportFrom) and (sub.module or "").startswith("rnnbench")
                for alias in sub.names
                if module_file(f"{sub.module}.{alias.name}", package_dir)
            }
            return sorted(found)
    raise ValueError(f"no rnnbench command {command!r} (no {function} in cli.py)")


def command_files(*commands: str, package_dir: str | Path = PACKAGE_DIR) -> list[str]:
    """Every source file ``rnnbench <command>`` executes (for each command), as strings,
    read from the package at ``package_dir`` (the workflow's own copy of the sources)."""
    package_dir = Path(package_dir).resolve()
    modules = ["rnnbench.__main__", "rnnbench.cli"]
    for command in commands:
        modules += command_modules(command, package_dir)
    found = closure(*modules, package_dir=package_dir, dispatchers=("rnnbench.cli",))
    files = [str(path) for path in found]
    if any(path.endswith("models/build.py") for path in files):
        from rnnbench.registry import extra_module_files

        files += extra_module_files()
    return files
