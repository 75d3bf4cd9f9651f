"""Command line: ``biotrainer COMMAND``. Each command lives in its own module with ``register(subparsers)``.

Heavy modules (neurokit2, Qt) are imported inside the commands that need them, so ``--help`` stays fast.
Any :class:`~biotrainer.core.errors.BiotrainerError` becomes one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from biotrainer import __version__
from biotrainer.core.errors import BiotrainerError

# Command modules under biotrainer.cli, in the order --help lists them. Adding a command = adding a module here.
COMMAND_MODULES: tuple[str, ...] = (
    "record",
    "demo",
    "sessions",
    "replay",
    "protocols",
    "participants",
    "gui",
    "scan",
    "devices",
    "compare",
    "report",
    "export",
    "import_",
    "analyze",
    "assess",
    "synchrony",
    "study",
    "trend",
    "reset",
)

__all__ = ["COMMAND_MODULES", "build_parser", "entry", "main"]

log = logging.getLogger("biotrainer")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (with where to look), like every other biotrainer error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="biotrainer",
        description="Breath practice with physiological feedback. Run without a command to open the app.",
        epilog="A practice and research tool, not a medical device.",
    )
    parser.add_argument("--version", action="version", version=f"biotrainer {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"biotrainer.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        if "gui" in COMMAND_MODULES:
            args = parser.parse_args(["gui", *(argv or [])])
        else:
            parser.print_help()
            return 0
    try:
        return int(args.func(args) or 0)
    except BiotrainerError as exc:
        print(f"biotrainer: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("biotrainer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def entry() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C before a command runs (while the command modules load): no traceback
        print("biotrainer: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
