"""``biotrainer import``: RR files, LabRecorder XDF, EDF+, biotrainer CSV/BIDS exports as a new session."""

from __future__ import annotations

import argparse

from biotrainer.cli.common import finish_command, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import", help="import RR, XDF, EDF+ or biotrainer session files as a session",
        description="Import data from other tools as a normal session (replay, analyse, compare): plain RR lists "
                    "(one interval per line, ms; Kubios time+RR text; Elite HRV comma lists), CSV with an RR column "
                    "(HRV Logger, Polar Sensor Logger RR and ECG files, dated by their time column), LabRecorder "
                    "XDF (RR/HR/ECG/marker streams), EDF/EDF+ (ECG, accelerometer, annotations), a biotrainer CSV "
                    "export folder, or one session of a biotrainer BIDS export (a person's *_events.tsv or the "
                    "folder holding it: a therapist-client session comes back whole), or a biotrainer session "
                    "file (.sqlite, e.g. from another computer or recordings/), which is copied unchanged under "
                    "its own id (a session already in the library is not imported twice).")
    p.add_argument("path", metavar="PATH", nargs="?", help="file (or CSV export folder) to import")
    p.add_argument("--participant", metavar="P", action="append",
                   help="pseudonym of the person measured; with --role: ROLE=PSEUDONYM (repeatable)")
    p.add_argument("--column", metavar="NAME",
                   help="the RR column of a CSV/TSV file whose header does not name it (as 'analyze --column')")
    p.add_argument("--role", metavar="ROLE=FILE", action="append",
                   help="a dyad: one file per person, e.g. --role therapist=t.edf --role client=c.txt, imported as "
                        "one session (aligned by the files' start times when both have one, else both at 0 s)")
    p.add_argument("--offset-s", metavar="ROLE=SECONDS", action="append",
                   help="with --role: shift that person's data by SECONDS (positive: later)")
    p.add_argument("--started-at", metavar="ISO",
                   help="start time of a file that carries none (Elite HRV, Kubios RR text), e.g. "
                        "2026-03-02T07:30 (local time unless an offset is given); a file with its own keeps it")
    finish_command(p, run)


def _started_at(session, text: str | None) -> None:  # noqa: ANN001 - an ExchangeSession
    """``--started-at``: the start time of a session whose file carries none (a file's own start time wins)."""
    import sys
    from datetime import datetime

    from biotrainer.core.errors import UsageError

    if text is None:
        return
    try:
        anchor = datetime.fromisoformat(text).astimezone().timestamp()
    except ValueError:
        raise UsageError(f"--started-at {text!r}: expected an ISO date and time, e.g. 2026-03-02T07:30") from None
    if session.meta.get("start_known", True):
        print(f"biotrainer: note: the file carries its start time {session.started_at}; --started-at ignored",
              file=sys.stderr)
        return
    session.meta.update(anchor_unix_s=anchor, started_at=datetime.fromtimestamp(anchor).astimezone().isoformat())


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from biotrainer.core.errors import UsageError
    from biotrainer.core.events import Beat
    from biotrainer.exchange.library import import_path, import_session_file, is_session_file, save_session
    from biotrainer.store import Library

    if args.role and args.column is not None:
        raise UsageError("--column is for one RR text table, not a dyad import")
    if args.role:
        return _run_dyad(args)
    if args.path is None:
        raise UsageError("import needs a PATH, or --role ROLE=FILE twice for a dyad")
    if args.offset_s:
        raise UsageError("--offset-s is for a dyad import (--role ROLE=FILE twice)")
    if args.participant is not None and len(args.participant) > 1:
        raise UsageError("--participant: one pseudonym for one file (ROLE=PSEUDONYM is for --role)")
    args.participant = args.participant[0] if args.participant else None
    if args.participant is not None and not args.participant.strip():
        raise UsageError("--participant: empty pseudonym")
    path = Path(args.path).expanduser()
    library = Library(args.library)
    if is_session_file(path):
        sid, info = import_session_file(library, path, participant=args.participant)
        counts = info["counts"]
        _report(args, sid, "biotrainer-session", "biotrainer session", sum(counts.values()), counts.get("beat", 0))
        return 0
    if args.column is not None and (path.is_dir() or path.suffix.lower() in (".xdf", ".xdfz", ".edf", ".bdf")):
        raise UsageError(f"--column is for RR text tables (CSV/TSV), not {path.name}")
    session = import_path(path, participant=args.participant, column=args.column)
    _started_at(session, args.started_at)
    _warn(session)
    args.import_warnings = session.meta.get("imported_from", {}).get("warnings", [])
    new_id = save_session(library, session)
    n_beats = sum(isinstance(e, Beat) for e in session.events)
    fmt = session.meta.get("imported_from", {}).get("format", "")
    _report(args, new_id, fmt, fmt, len(session.events), n_beats)
    return 0


def _warn(session) -> None:  # noqa: ANN001 - an ExchangeSession
    """Print what an importer found missing (a truncated XDF…), one line each."""
    import sys

    for line in session.meta.get("imported_from", {}).get("warnings", []):
        print(f"biotrainer: warning: {line}", file=sys.stderr)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """``ROLE=VALUE`` options → role → value; a role twice, an unknown role or an empty value is a UsageError."""
    from biotrainer.core.errors import UsageError
    from biotrainer.core.events import PARTICIPANT_ROLES

    out: dict[str, str] = {}
    for raw in values or []:
        role, sep, value = raw.partition("=")
        role, value = role.strip(), value.strip()
        if not sep or role not in PARTICIPANT_ROLES or not value:
            raise UsageError(f"{option} {raw!r}: expected ROLE=VALUE with ROLE one of {', '.join(PARTICIPANT_ROLES)}")
        if role in out:
            raise UsageError(f"{option}: role {role} given twice")
        out[role] = value
    return out


def _run_dyad(args: argparse.Namespace) -> int:
    import math
    from pathlib import Path

    from biotrainer.core.errors import UsageError
    from biotrainer.core.events import Beat
    from biotrainer.exchange.dyad import combine_dyad
    from biotrainer.exchange.library import save_session
    from biotrainer.store import Library
    from biotrainer.store.participants import validate_pseudonym

    if args.started_at is not None:
        raise UsageError("--started-at is for a single file, not a dyad import")
    if args.path is not None:
        raise UsageError(f"a dyad import takes its files from --role ROLE=FILE, not {args.path!r}")
    paths = _pairs(args.role, "--role")
    pseudonyms = {r: validate_pseudonym(p) for r, p in _pairs(args.participant, "--participant").items()}
    offsets: dict[str, float] = {}
    for role, text in _pairs(args.offset_s, "--offset-s").items():
        try:
            offsets[role] = float(text)
        except ValueError:
            raise UsageError(f"--offset-s {role}={text}: expected a number of seconds") from None
        if not math.isfinite(offsets[role]) or abs(offsets[role]) > 86400:
            raise UsageError(f"--offset-s {role}={text}: expected a number of seconds within a day")
    stray = sorted(set(pseudonyms) - set(paths))
    if stray:
        raise UsageError(f"--participant {stray[0]}=...: no --role {stray[0]}=FILE")
    session = combine_dyad(paths, pseudonyms=pseudonyms, offsets_s=offsets)
    new_id = save_session(Library(args.library), session)
    n_beats = sum(isinstance(e, Beat) for e in session.events)
    how = session.meta["imported_from"]["alignment"]
    if args.json:
        print_json({"id": new_id, "format": "dyad", "events": len(session.events), "beats": n_beats,
                    "participants": session.meta["participants"], "alignment": how,
                    "offsets_s": session.meta["imported_from"]["offsets_s"],
                    "sources": {r: str(p) for r, p in paths.items()}})
    else:
        who = ", ".join(f"{r} {Path(p).name}" for r, p in paths.items())
        print(f"imported a dyad ({who}; {n_beats} beats, {len(session.events)} events; aligned {how}) "
              f"as session {new_id}")
    return 0


def _report(args: argparse.Namespace, sid: str, fmt: str, label: str, n_events: int, n_beats: int) -> None:
    """Print what was imported: JSON (``fmt``) or one line (``label``)."""
    if args.json:
        print_json({"id": sid, "format": fmt, "events": n_events, "beats": n_beats, "source": str(args.path),
                    "warnings": list(getattr(args, "import_warnings", []))})
    else:
        print(f"imported {args.path} ({label}, {n_beats} beats, {n_events} events) as session {sid}")
