"""``biotrainer export``: sessions to CSV, BIDS physio or EDF+ files for researchers (pseudonyms only).

One export is all or nothing: every file goes to a temporary name first and is renamed when all are complete
(:class:`biotrainer.exchange.atomic.AtomicWrites`); a failure (a full disk…) leaves no file and exits non-zero
with one line."""

from __future__ import annotations

import argparse
import sys

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
    finish_command(p, run)


def _progress(done: int, total: int, what: str = "sessions") -> None:
    if total < 2 or not sys.stderr.isatty():
        return
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\rexporting [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _prepare_out(out) -> None:
    from biotrainer.core.errors import ExportError
    from biotrainer.store.paths import make_private_dirs

    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: is a file; --out must be a folder")
    try:
        make_private_dirs(out)
    except (FileExistsError, NotADirectoryError):
        raise ExportError(f"{out}: cannot create the folder: part of that path is a file, not a folder") from None
    except OSError as exc:
        raise ExportError(f"{out}: cannot create the folder ({exc.strerror or exc})") from None


def _remove_if_new_and_empty(out, existed: bool) -> None:  # noqa: ANN001
    if not existed:
        try:
            out.rmdir()
        except OSError:
            pass


def _synchrony(session) -> dict | None:  # noqa: ANN001
    """The therapist–client synchrony JSON of a dyad session for the CSV and BIDS exports (None otherwise)."""
    from biotrainer.report.data import attunement_of

    att = attunement_of(session)
    if att is not None and att.result is None:
        sys.stderr.write(f"biotrainer: warning: no synchrony exported: {att.reason}\n")
    return att.result if att is not None else None


def _write(library, refs: list[str], fmt: str, out, edf_plus_d: bool) -> list:  # noqa: ANN001
    """Export ``refs`` as ``fmt`` into ``out``, all sessions or none (one atomic batch); the files written."""
    from biotrainer.exchange.atomic import AtomicWrites
    from biotrainer.exchange.library import load_session

    with AtomicWrites() as writes:
        if fmt == "bids":
            from biotrainer.exchange.bids import export_bids

            sessions = []
            for i, ref in enumerate(refs, 1):
                sessions.append(load_session(library, ref))
                _progress(i, len(refs), "sessions read")
            dyads = {s.id: r for s in sessions if (r := _synchrony(s)) is not None}
            return export_bids(sessions, out, progress=lambda d, n: _progress(d, n, "sessions written"),
                               synchrony=dyads, writes=writes)
        written = []
        for i, ref in enumerate(refs, 1):
            session = load_session(library, ref)
            if fmt == "csv":
                from biotrainer.exchange.csv_export import export_csv

                written.extend(export_csv(session, out / session.id, synchrony=_synchrony(session), writes=writes))
            else:
                from biotrainer.exchange.edf import export_edf

                written.append(export_edf(session, out / f"{session.id}.edf", discontinuous=edf_plus_d,
                                          writes=writes))
            _progress(i, len(refs))
        return written


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from biotrainer.analysis.selection import sessions_to_export
    from biotrainer.core.errors import ExportError
    from biotrainer.store import Library

    library = Library(args.library)
    refs = sessions_to_export(library, list(args.sessions), args.participant, args.all,
                              skipped=lambda why: sys.stderr.write(f"biotrainer: warning: not exported: {why}\n"))
    out = Path(args.out).expanduser()
    existed = out.exists()
    _prepare_out(out)
    try:
        written = _write(library, refs, args.format, out, args.edf_plus_d)
    except OSError as exc:
        _remove_if_new_and_empty(out, existed)
        where = exc.filename or out
        raise ExportError(f"{where}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        _remove_if_new_and_empty(out, existed)  # a failed export leaves nothing behind, its folder neither
        raise
    if args.json:
        print_json({"format": args.format, "sessions": refs, "files": [str(p) for p in written]})
    else:
        print(f"exported {len(refs)} session(s) as {args.format} to {out} ({len(written)} files)")
    return 0
