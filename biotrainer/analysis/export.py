"""Exporting sessions for researchers: the one use case ``biotrainer export`` and the window's Tools menu call.

One export is all or nothing: every file goes to a temporary name first and is renamed when all are complete
(:class:`biotrainer.exchange.atomic.AtomicWrites`); a failure (a full disk…) leaves no file, and an output folder
the export created is removed again. Dyad sessions carry their therapist–client synchrony (CSV, BIDS derivatives).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from biotrainer.core.errors import ExportError, UsageError

#: ``progress(done, total, what)``; ``warn(line)``.
Progress = Callable[[int, int, str], None]
Warn = Callable[[str], None]


def _quiet(*_args: Any) -> None:
    return None


def dyad_synchrony(session: Any) -> tuple[dict[str, Any] | None, str]:
    """The synchrony JSON of a session with beats of a therapist and a client (``biotrainer synchrony --json``
    with its defaults), and why not when it has none: ``(None, "")`` for one person, ``(None, reason)`` when it
    cannot be computed (e.g. shorter than three windows)."""
    from biotrainer.analysis.participants import roles_with_beats
    from biotrainer.analysis.synchrony import (
        FOLLOWER_ROLE,
        LEADER_ROLE,
        SynchronyOptions,
        synchrony_of_events,
    )

    roles = roles_with_beats(session.events)
    if LEADER_ROLE not in roles or FOLLOWER_ROLE not in roles:
        return None, ""
    people = dict(session.meta.get("participants") or {})
    try:
        return synchrony_of_events(session.id, session.events, people, SynchronyOptions()), ""
    except UsageError as exc:
        return None, str(exc)


def pseudonymised(session: Any, rename: dict[str, str] | None = None) -> Any:
    """``session`` as it may leave the library: every participant under a pseudonym (the one rule,
    :func:`biotrainer.store.participants.validate_pseudonym`). A name recorded before that rule (``Jane Doe``) is
    exported only under the pseudonym ``rename`` gives it; the session file itself is never changed."""
    from biotrainer.store.participants import validate_pseudonym

    rename = rename or {}
    people = dict(session.meta.get("participants") or {})
    for role, name in people.items():
        name = str(name)
        if name in rename:
            people[role] = validate_pseudonym(rename[name], f"--as {name}=…")
            continue
        try:
            validate_pseudonym(name, f"session {session.id}: the {role}'s name")
        except UsageError as exc:
            raise ExportError(f"{exc}; nothing written. Give it a pseudonym with --as '{name}=CODE'") from None
    session.meta["participants"] = people
    return session


def _prepare_out(out: Path) -> None:
    from biotrainer.store.paths import make_private_dirs

    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: is a file; the export target must be a folder")
    try:
        make_private_dirs(out)
    except (FileExistsError, NotADirectoryError):
        raise ExportError(f"{out}: cannot create the folder: part of that path is a file, not a folder") from None
    except OSError as exc:
        raise ExportError(f"{out}: cannot create the folder ({exc.strerror or exc})") from None


def _synchrony(session: Any, warn: Warn) -> dict[str, Any] | None:
    result, reason = dyad_synchrony(session)
    if reason:
        warn(f"no synchrony exported for {session.id}: {reason}")
    return result


def _write(library: Any, refs: list[str], fmt: str, out: Path, edf_plus_d: bool, progress: Progress,
           warn: Warn, rename: dict[str, str]) -> list[Path]:
    from biotrainer.exchange.atomic import AtomicWrites
    from biotrainer.exchange.library import load_session as load

    def load_session(library: Any, ref: str) -> Any:
        return pseudonymised(load(library, ref), rename)

    with AtomicWrites() as writes:
        if fmt == "bids":
            from biotrainer.exchange.bids import export_bids

            sessions = []
            for i, ref in enumerate(refs, 1):
                sessions.append(load_session(library, ref))
                progress(i, len(refs), "sessions read")
            dyads = {s.id: r for s in sessions if (r := _synchrony(s, warn)) is not None}
            return list(export_bids(sessions, out, progress=lambda d, n: progress(d, n, "sessions written"),
                                    synchrony=dyads, writes=writes))
        written: list[Path] = []
        for i, ref in enumerate(refs, 1):
            session = load_session(library, ref)
            if fmt == "csv":
                from biotrainer.exchange.csv_export import export_csv

                written.extend(export_csv(session, out / session.id, synchrony=_synchrony(session, warn),
                                          writes=writes))
            else:
                from biotrainer.exchange.edf import export_edf

                written.append(export_edf(session, out / f"{session.id}.edf", discontinuous=edf_plus_d,
                                          writes=writes))
            progress(i, len(refs), "sessions")
        return written


def export_sessions(library: Any, refs: list[str], fmt: str, out: str | Path, *, edf_plus_d: bool = False,
                    progress: Progress = _quiet, warn: Warn = _quiet,
                    rename: dict[str, str] | None = None) -> list[Path]:
    """Export the sessions ``refs`` of ``library`` as ``fmt`` (``csv``: one folder per session, ``edf``: one file
    per session, ``bids``: one dataset) into the folder ``out``; returns the files written. Participants leave
    under their pseudonyms only: a recorded name that is not one (sessions from before the pseudonym rule) stops
    the export unless ``rename`` maps it to a pseudonym (``{"Jane Doe": "P07"}``).

    Raises :class:`~biotrainer.core.errors.ExportError` (one line) when the folder cannot be made or a file cannot
    be written; nothing is left behind then.
    """
    from biotrainer.exchange import EXPORT_FORMATS

    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (choose from {', '.join(EXPORT_FORMATS)})")
    out = Path(out).expanduser()
    existed = out.exists()
    _prepare_out(out)
    try:
        return _write(library, refs, fmt, out, edf_plus_d, progress, warn, dict(rename or {}))
    except OSError as exc:
        _remove_if_new_and_empty(out, existed)
        raise ExportError(f"{exc.filename or out}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        _remove_if_new_and_empty(out, existed)  # a failed export leaves nothing behind, its folder neither
        raise


def _remove_if_new_and_empty(out: Path, existed: bool) -> None:
    if not existed:
        try:
            out.rmdir()
        except OSError:
            pass
