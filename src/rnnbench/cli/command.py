"""One ``rnnbench`` subcommand: its name, its one-line help, how to add its options, and
the handler that runs it.

The options are added only to the command being run (:func:`rnnbench.cli.build_parser`):
an options function may import what it lists (``rnnbench summary`` lists the registry's
architectures, which may load extra architecture modules that import torch) without every
other command paying for it, and ``rnnbench --help`` lists every command from its help
alone. A handler takes the parsed arguments and returns the exit status; it imports the
module that does the work inside its body, so a data job never imports torch or pandas.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: Callable[[argparse.ArgumentParser], None]
    run: Handler
    description: str | None = None

    def add_to(self, subparsers: argparse._SubParsersAction, full: bool) -> None:
        """Add the command; ``full``: with its options and handler (the command being run)."""
        parser = subparsers.add_parser(self.name, help=self.help, description=self.description)
        if full:
            self.options(parser)
            parser.set_defaults(func=self.run)
