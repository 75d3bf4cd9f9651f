"""``biotrainer study DIR|--all --out results.csv|.parquet``: every session of a library or BIDS dataset, one table.

- ``DIR``: a library folder, a folder of ``.sqlite`` session files, or a BIDS dataset; ``--all``: every session of
  the library (``--library DIR`` or the default one).
- ``--workers N``: local processes (default: one per CPU core); ``--scheduler tcp://HOST:PORT``: an existing Dask
  cluster instead (needs the ``study`` extra; its workers must see the files at the same paths).
- A progress bar on stderr when it is a terminal, otherwise a line per tenth of the sessions. Sessions that fail are
  listed with their one-line error; the others are still written; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from biotrainer.cli.common import finish_command, print_json
from biotrainer.core.errors import UsageError

BAR_WIDTH = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "study", help="analyse every session of a library or BIDS dataset into one table (CSV or Parquet)",
        description="Analyse every session of a library folder or a BIDS dataset, as 'biotrainer analyze' analyses "
                    "each participant, into one tidy table: one row per session x participant x phase (phase "
                    "'whole' = the whole recording), metric columns named by their catalogue key, the settings in "
                    "columns and in a sidecar OUT.json with units and the failed sessions.",
        epilog="Exit status: 0 when every session was analysed; 1 when some failed (they are listed, the others are "
               "in the table); 2 for a usage error. Parquet needs pyarrow and --scheduler needs dask.distributed: "
               "pip install 'biotrainer[study]'.")
    p.add_argument("dir", metavar="DIR", nargs="?", help="library folder, folder of .sqlite files, or BIDS dataset")
    p.add_argument("--all", action="store_true", help="every session of the library (--library or the default)")
    p.add_argument("--out", required=True, metavar="FILE", help="results.csv or results.parquet")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes (default: one per CPU core; 0 = in this process)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster instead")
    p.add_argument("--no-correction", action="store_true", help="analyse raw RR (no artifact correction)")
    p.add_argument("--max-corrected-pct", type=float, metavar="PCT", default=5.0,
                   help="withhold metrics with more corrected beats than this (default 5)")
    finish_command(p, run)


def _source(args: argparse.Namespace) -> str:
    if args.all == bool(args.dir):
        raise UsageError("study: give a folder (DIR) or --all, not both" if args.all else
                         "study: give a folder (DIR) or --all for the whole library")
    if args.all:
        from biotrainer.store.paths import library_dir

        return str(library_dir(getattr(args, "library", None)))
    return str(args.dir)


def _workers(args: argparse.Namespace) -> int:
    if args.workers is None:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if args.workers < 0:
        raise UsageError(f"--workers {args.workers}: expected 0 (this process) or more worker processes")
    return args.workers


class ProgressBar:
    """Progress on stderr: a bar redrawn in place on a terminal, else a plain line per tenth of the sessions."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.failed = 0
        self._last_tenth = 0

    def __call__(self, result: Any, done: int, total: int) -> None:
        self.failed += bool(result.error)
        failed = f", {self.failed} failed" if self.failed else ""
        if self.tty:
            filled = BAR_WIDTH * done // total
            self.stream.write(f"\rstudy [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} sessions"
                              f"{failed}" + ("\n" if done == total else ""))
        else:
            tenth = 10 * done // total
            if tenth > self._last_tenth or done == total:
                self._last_tenth = tenth
                self.stream.write(f"study: {done}/{total} sessions analysed{failed}\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from biotrainer.analysis import study

    if args.scheduler and args.workers is not None:
        raise UsageError("study: --workers is for local processes; with --scheduler the cluster's workers run it")
    if not 0 <= args.max_corrected_pct <= 100:
        raise UsageError(f"--max-corrected-pct {args.max_corrected_pct:g}: expected a percentage from 0 to 100")
    out = study.check_output(args.out)
    tasks = study.find_tasks(_source(args), correction=not args.no_correction,
                             max_corrected_pct=args.max_corrected_pct)
    settings = {"correction": not args.no_correction, "max_corrected_pct": args.max_corrected_pct}
    results = study.run_study(tasks, workers=0 if args.scheduler else _workers(args), scheduler=args.scheduler,
                              progress=ProgressBar())
    table, sidecar = study.write_table(results, out, settings)
    failed = [r for r in results if r.error]
    n_rows = sum(len(r.rows) for r in results)
    if args.json:
        print_json({"out": str(table), "sidecar": str(sidecar), "sessions": len(results), "rows": n_rows,
                    "failed": [{"path": r.task.path, "error": r.error} for r in failed]})
    else:
        print(f"{len(results) - len(failed)} of {len(results)} sessions analysed: {n_rows} rows in {table} "
              f"(settings and units in {sidecar.name})")
    for r in failed:
        print(f"failed: {r.error}", file=sys.stderr)
    return 1 if failed else 0
