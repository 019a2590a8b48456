"""``rnnbench``: the command line the Snakemake rules call (and users may call directly).

Its commands are wired in this package, one module per stage: :mod:`~rnnbench.cli.data`
(the config check and the data stage), :mod:`~rnnbench.cli.train`,
:mod:`~rnnbench.cli.analysis` and :mod:`~rnnbench.cli.tools` (model summary, progress,
export). Each holds only argparse wiring and thin handlers; a handler imports the module
that does the work when it runs, so a data job never imports torch or pandas and
``rnnbench --help`` imports neither.
"""

from __future__ import annotations

import argparse
import logging
import sys

from rnnbench.cli import analysis, data, tools, train
from rnnbench.cli.command import Command
from rnnbench.errors import RnnbenchError

COMMANDS: tuple[Command, ...] = (
    *data.COMMANDS,
    *train.COMMANDS,
    *analysis.COMMANDS,
    *tools.COMMANDS,
)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; only the one ``argv`` runs gets its options (see
    :mod:`rnnbench.cli.command`)."""
    parser = argparse.ArgumentParser(prog="rnnbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    running = argv[0] if argv else None
    for command in COMMANDS:
        command.add_to(sub, full=command.name == running)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except RnnbenchError as err:
        logging.getLogger("rnnbench").error("%s", err)
        print(f"rnnbench {args.command}: error: {err}", file=sys.stderr)
        return 1
