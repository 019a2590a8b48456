"""The ``rnnbench`` command line (rnnbench.cli): every command listed from its help alone,
options added only to the command being run, and no heavy import for a data job."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnbench.cli import COMMANDS, build_parser, main
from rnnbench.code_inputs import command_modules

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "pandas", "sklearn", "matplotlib", "scipy")
NAMES = [command.name for command in COMMANDS]


def _heavy_imported(code: str) -> list[str]:
    check = f"{code}\nimport sys; print([m for m in {HEAVY!r} if m in sys.modules])"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True
    )
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_names_are_unique() -> None:
    assert len(NAMES) == len(set(NAMES))


def test_the_help_lists_every_command_without_heavy_imports() -> None:
    code = (
        "import contextlib, io; from rnnbench.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit): main(['--help'])\n"
        f"assert all(name in out.getvalue() for name in {NAMES!r}), out.getvalue()"
    )
    assert _heavy_imported(code) == []


def test_a_data_command_parses_without_heavy_imports() -> None:
    code = (
        "from rnnbench.cli import build_parser\n"
        "argv = ['tokenize', '--dataset-config', '{}', '--input', 'a', '--out', 'b']\n"
        "build_parser(argv).parse_args(argv)"
    )
    assert _heavy_imported(code) == []


@pytest.mark.parametrize("name", NAMES)
def test_each_command_gets_its_options_and_handler_only_when_it_runs(name: str) -> None:
    parser = build_parser([name])
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    full = commands[name]
    assert full.get_default("func") is not None and len(full._actions) > 1
    # every other command: its name and help only
    assert all(p.get_default("func") is None for n, p in commands.items() if n != name)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args([name, "--help"])
    assert exit_info.value.code == 0


@pytest.mark.parametrize("name", NAMES)
def test_each_command_has_its_code_inputs(name: str) -> None:
    assert any(m.startswith("rnnbench.cli.") for m in command_modules(name))


def test_an_error_the_package_names_is_a_message_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    runs = tmp_path / "missing.csv"
    argv = ["compare", "--runs", str(runs), "--dataset", "d", "--csv", "a", "--html", "b"]
    assert main(argv) == 1
    assert "rnnbench compare: error:" in capsys.readouterr().err
