"""``biotrainer report``: a session or comparison report as self-contained HTML or PDF."""

from __future__ import annotations

import argparse

from biotrainer.cli.common import finish_command


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="write a session (one ID) or comparison (several IDs) report as HTML or PDF",
        description="Plots of heart rate with the pacer, RSA per breath, lnRMSSD/coherence/breathing rate over "
                    "time, the phase table, artifacts and the resonance assessment table when present. With "
                    "several sessions: a comparison report with phases matched by name. The format follows the "
                    "file name (.html, .pdf) unless --format is given.")
    p.add_argument("sessions", nargs="+", metavar="ID", help="session ids (first = reference)")
    p.add_argument("--out", required=True, metavar="FILE", help="report file (.html or .pdf)")
    p.add_argument("--format", choices=("html", "pdf"), help="override the format given by the file name")
    p.add_argument("--participant", metavar="P", help="whose data, in sessions with several participants")
    p.add_argument("--style", choices=("research", "handout"), default="research",
                   help="research (default): every plot and table, parameters, why values are missing; handout: "
                        "one page in plain words for the person themselves (one session, no ids)")
    finish_command(p, run, json=False)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from biotrainer.analysis.export import pseudonymised
    from biotrainer.exchange.library import load_session
    from biotrainer.report import write_report
    from biotrainer.store import Library

    library = Library(args.library)
    sessions = [pseudonymised(load_session(library, ref)) for ref in args.sessions]  # names never leave
    out = write_report(sessions, Path(args.out).expanduser(), args.format,
                       participant=args.participant, style=args.style)
    print(f"wrote {out}")
    return 0
