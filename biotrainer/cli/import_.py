"""``biotrainer import``: RR files, LabRecorder XDF, EDF+, biotrainer CSV/BIDS exports as a new session."""

from __future__ import annotations

import argparse

from biotrainer.cli.common import add_json_option, add_library_option, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import", help="import RR, XDF, EDF+ or biotrainer session files as a session",
        description="Import data from other tools as a normal session (replay, analyse, compare): plain RR lists "
                    "(one interval per line, ms), CSV with an RR column, LabRecorder XDF (RR/HR/ECG/marker "
                    "streams), EDF/EDF+ (ECG, accelerometer, annotations), a biotrainer CSV export folder, or one session of a "
                    "biotrainer BIDS export (its *_physioevents.tsv.gz or the folder holding it), or a biotrainer session "
                    "file (.sqlite, e.g. from another computer or recordings/), which is copied unchanged under "
                    "its own id (a session already in the library is not imported twice).")
    p.add_argument("path", metavar="PATH", help="file (or CSV export folder) to import")
    p.add_argument("--participant", metavar="P", help="pseudonym of the person measured")
    add_library_option(p)
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from biotrainer.errors import UsageError
    from biotrainer.events import Beat
    from biotrainer.exchange.library import import_path, import_session_file, is_session_file, save_session
    from biotrainer.store import Library

    if args.participant is not None and not args.participant.strip():
        raise UsageError("--participant: empty pseudonym")
    path = Path(args.path).expanduser()
    library = Library(args.library)
    if is_session_file(path):
        sid, info = import_session_file(library, path, participant=args.participant)
        counts = info["counts"]
        _report(args, sid, "biotrainer-session", "biotrainer session", sum(counts.values()), counts.get("beat", 0))
        return 0
    session = import_path(path, participant=args.participant)
    new_id = save_session(library, session)
    n_beats = sum(isinstance(e, Beat) for e in session.events)
    fmt = session.meta.get("imported_from", {}).get("format", "")
    _report(args, new_id, fmt, fmt, len(session.events), n_beats)
    return 0


def _report(args: argparse.Namespace, sid: str, fmt: str, label: str, n_events: int, n_beats: int) -> None:
    """Print what was imported: JSON (``fmt``) or one line (``label``)."""
    if args.json:
        print_json({"id": sid, "format": fmt, "events": n_events, "beats": n_beats, "source": str(args.path)})
    else:
        print(f"imported {args.path} ({label}, {n_beats} beats, {n_events} events) as session {sid}")
