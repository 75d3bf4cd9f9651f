"""``biotrainer export``: sessions to CSV, BIDS physio or EDF+ files for researchers (pseudonyms only).

One export is all or nothing: every file goes to a temporary name first and is renamed when all are complete
(:func:`biotrainer.analysis.export.export_sessions`, also behind the window's Tools menu); a failure (a full disk…) leaves no file and exits non-zero
with one line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from biotrainer.cli.common import finish_command, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="export sessions as CSV, BIDS physio or EDF+",
        description="Export sessions losslessly where the format allows: CSV (one folder per session), BIDS "
                    "physio (one dataset for all sessions) or EDF+ (one file per session). Files are private "
                    "(0600), state units and the biotrainer version, and name participants by pseudonym only.")
    p.add_argument("sessions", nargs="*", metavar="ID", help="session ids (or unique prefixes, or paths)")
    p.add_argument("--all", action="store_true", help="export every session of the library")
    p.add_argument("--participant", metavar="P", help="only sessions of this participant (pseudonym or role)")
    p.add_argument("--format", required=True, choices=("csv", "bids", "edf"), help="output format")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--edf-plus-d", action="store_true",
                   help="write recordings with gaps as EDF+D (pyedflib and MNE cannot read EDF+D correctly; by "
                        "default gaps are zero-filled and marked with 'gap' annotations)")
    p.add_argument("--as", dest="rename", action="append", default=[], metavar="NAME=PSEUDONYM",
                   help="export a participant recorded under a name (before pseudonyms were enforced) as "
                        "PSEUDONYM; the session file is not changed (repeatable)")
    finish_command(p, run)


def _renames(items: list[str]) -> dict[str, str]:
    from biotrainer.core.errors import UsageError

    out = {}
    for item in items:
        name, sep, new = item.partition("=")
        if not sep or not name.strip() or not new.strip():
            raise UsageError(f"--as {item!r}: expected NAME=PSEUDONYM")
        out[name.strip()] = new.strip()
    return out


def _progress(done: int, total: int, what: str = "sessions") -> None:
    if total < 2 or not sys.stderr.isatty():
        return
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\rexporting [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from biotrainer.analysis.export import export_sessions
    from biotrainer.analysis.selection import sessions_to_export
    from biotrainer.store import Library

    library = Library(args.library)
    refs = sessions_to_export(library, list(args.sessions), args.participant, args.all,
                              skipped=lambda why: sys.stderr.write(f"biotrainer: warning: not exported: {why}\n"))
    written = export_sessions(library, refs, args.format, args.out, edf_plus_d=args.edf_plus_d, progress=_progress,
                              warn=lambda line: sys.stderr.write(f"biotrainer: warning: {line}\n"),
                              rename=_renames(args.rename))
    if args.json:
        print_json({"format": args.format, "sessions": refs, "files": [str(p) for p in written]})
    else:
        print(f"exported {len(refs)} session(s) as {args.format} to {Path(args.out).expanduser()} "
              f"({len(written)} files)")
    return 0
