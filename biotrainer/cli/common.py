"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--library", metavar="DIR",
                        help="session library folder (default: $BIOTRAINER_LIBRARY or the per-user data folder)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def finish_command(parser: argparse.ArgumentParser, func: Any, *, library: bool = True, json: bool = True) -> None:
    """The options most commands share (``--library``, ``--json``) and the function that runs the command."""
    if library:
        add_library_option(parser)
    if json:
        add_json_option(parser)
    parser.set_defaults(func=func)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_default, allow_nan=False)
    sys.stdout.write("\n")


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        v = float(o)
        return v if np.isfinite(v) else None
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
