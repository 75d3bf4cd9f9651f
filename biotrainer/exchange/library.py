"""Move sessions between the store and :class:`~biotrainer.exchange.model.ExchangeSession`.

- :func:`load_session` reads a stored session (header + every event) for export.
- :func:`save_session` writes imported data as a normal session through the store's
  :class:`~biotrainer.store.SessionWriter`, so it can be replayed, analysed and compared like a recorded one.
- :func:`import_path` picks the importer from the path (a BIDS ``*_events.tsv`` or its folder; another
  folder = biotrainer CSV export; ``.xdf``; ``.edf``/``.bdf``; anything else = RR file).
- :func:`import_session_file` copies a biotrainer session file (``.sqlite``, e.g. from another computer or the
  shipped ``recordings/``) into the library unchanged, under its own id (:func:`is_session_file` recognises one).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from biotrainer.core.errors import ImportFormatError, RecordingError, UsageError
from biotrainer.core.events import SESSION, Event, SessionState
from biotrainer.exchange.model import ExchangeSession

log = logging.getLogger(__name__)


def load_session(library: Any, ref: str) -> ExchangeSession:
    """Read session ``ref`` (id, id prefix or path) of ``library`` (a :class:`biotrainer.store.Library`)."""
    with library.open(ref) as reader:
        meta = reader.meta.to_dict()
        events = list(reader.events())
    return ExchangeSession(meta, events)


def import_path(path: Path, *, participant: str | None = None, column: str | None = None) -> ExchangeSession:
    """Read ``path`` with the importer its name calls for (``column``: the RR column of a text table, as
    ``import --column`` names it). Raises ImportFormatError naming the file."""
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(f"{path}: file not found")
    from biotrainer.exchange.bids import events_files, import_bids, is_bids_events_file

    if is_bids_events_file(path) or (path.is_dir() and events_files(path)):
        return import_bids(path, participant=participant)
    if path.is_dir() and (path / "dataset_description.json").is_file():  # a whole BIDS dataset
        found = sorted([*path.glob("sub-*/ses-*/beh/*_events.tsv"), *path.rglob("*_physioevents.tsv.gz")])
        sessions = sorted({p.parent.parent.name for p in found})
        if len(sessions) == 1:
            return import_bids(found[0], participant=participant)
        if not found:
            raise ImportFormatError(f"{path}: BIDS dataset without any biotrainer events file (no biotrainer "
                                    "session)")
        raise ImportFormatError(f"{path}: BIDS dataset with {len(sessions)} sessions; import one at a time, e.g. "
                                f"{found[0].parent}")
    if path.is_dir():
        from biotrainer.exchange.import_rr import import_csv_export

        return import_csv_export(path, participant=participant)
    suffix = path.suffix.lower()
    if suffix in (".xdf", ".xdfz"):
        from biotrainer.exchange.import_xdf import import_xdf

        return import_xdf(path, participant=participant)
    if suffix in (".edf", ".bdf"):
        from biotrainer.exchange.import_edf import import_edf

        return import_edf(path, participant=participant)
    from biotrainer.exchange.import_rr import import_rr

    return import_rr(path, participant=participant, column=column)


def save_session(library: Any, session: ExchangeSession) -> str:
    """Write ``session`` into ``library`` as a new, complete session; returns its id.

    Session start/stop states are added when the imported data has none, so the session is complete and
    replayable. The header records where the data came from (``imported_from``).
    """
    meta = session.meta
    participants = {k: str(v) for k, v in (meta.get("participants") or {}).items()}
    writer = library.new_session(participants=participants, devices=list(meta.get("devices") or []),
                                 protocol_name=str(meta.get("protocol_name") or ""),
                                 title=str(meta.get("title") or ""), synthetic=bool(meta.get("synthetic", False)),
                                 anchor_unix_s=float(meta.get("anchor_unix_s", 0.0)),
                                 notes=str(meta.get("notes") or ""))
    extra = {k: meta[k] for k in ("imported_from", "intention", "self_report") if meta.get(k)}
    if extra:
        writer.set_meta(**extra)
    events: list[Event] = sorted(session.events, key=lambda e: e.t_s)
    has_start = any(isinstance(e, SessionState) and e.state == "start" for e in events)
    has_stop = any(isinstance(e, SessionState) and e.state == "stop" for e in events)
    t_first = min((e.t_s for e in events), default=0.0)
    t_last = max((e.t_s for e in events), default=0.0)
    try:
        if not has_start:
            writer(SessionState(t_s=min(0.0, t_first), participant=SESSION, state="start"))
        for e in events:
            writer(e)
        if not has_stop:
            writer(SessionState(t_s=t_last, participant=SESSION, state="stop", reason="imported"))
    finally:
        writer.close()
    log.info("imported %d events as session %s", len(events), writer.meta.id)
    return str(writer.meta.id)


SQLITE_MAGIC = b"SQLite format 3\x00"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def is_session_file(path: Path) -> bool:
    """True when ``path`` is a SQLite file (by its first bytes, or a ``.sqlite`` name): a biotrainer session file
    to copy rather than data to convert. Whether it really is a session is checked when it is read."""
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() in (".sqlite", ".sqlite3", ".db"):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def import_session_file(library: Any, path: Path, *, participant: str | None = None) -> tuple[str, dict[str, Any]]:
    """Copy the biotrainer session file ``path`` into ``library`` as a normal session with the same id.

    The copy is consistent even for a file recorded in WAL mode (SQLite online backup), 0600, and written under a
    temporary name first, so an interrupted import leaves no half session. ``participant`` sets the pseudonym of
    the session's only participant role. Returns ``(id, summary)`` where summary is the reader's summary.

    Raises
    ------
    RecordingError
        ``path`` is not a readable biotrainer session (message names the file and the problem).
    UsageError
        A session with the same id is already in the library, or ``participant`` is ambiguous.
    """
    from biotrainer.store import SessionReader
    from biotrainer.store.meta import dumps
    from biotrainer.store.paths import PRIVATE_FILE_MODE, create_private_file, ensure_private_dir

    path = Path(path)
    with SessionReader(path) as reader:  # validates the header; RecordingError names the file
        sid = str(reader.meta.id)
        roles = dict(reader.meta.participants)
        counts = reader.counts()
    if not _SAFE_ID.fullmatch(sid):
        raise RecordingError(f"{path}: session id {sid!r} is not a valid file name")
    participants = roles
    if participant is not None:
        if len(roles) > 1:
            raise UsageError(f"{path}: session {sid} has several participants ({', '.join(roles)}); "
                             f"--participant cannot say whose pseudonym it is")
        participants = {next(iter(roles), "self"): participant}
    dest = library.session_path(sid)
    if dest.exists():
        same = " (that is this very file)" if dest.resolve() == path.resolve() else ""
        raise UsageError(f"{path}: session {sid} is already in the library{same}; "
                         f"not importing it twice ({dest})")
    ensure_private_dir(library.root)
    ensure_private_dir(library.sessions_dir)
    tmp = dest.with_name(f".{dest.name}.importing")
    tmp.unlink(missing_ok=True)
    create_private_file(tmp)
    try:
        try:
            src = sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True, timeout=5.0)
        except sqlite3.Error:
            src = sqlite3.connect(str(path), timeout=5.0)
        try:
            dst = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
                meta_rows = {"imported_from": {"format": "biotrainer-session", "file": path.name}}
                if participant is not None:
                    meta_rows["participants"] = participants
                dst.executemany("INSERT INTO meta (key, value) VALUES (?, ?) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                [(k, dumps(v)) for k, v in meta_rows.items()])
            finally:
                dst.close()
        finally:
            src.close()
        if os.name == "posix":
            os.chmod(tmp, PRIVATE_FILE_MODE)
        if dest.exists():  # appeared meanwhile: never overwrite a recording
            raise UsageError(f"{path}: session {sid} is already in the library; not importing it twice ({dest})")
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise RecordingError(f"{path}: cannot copy the session file ({exc})") from None
    except OSError as exc:
        raise RecordingError(f"{dest}: cannot write ({exc.strerror or exc})") from None
    finally:
        for p in (tmp, tmp.with_name(tmp.name + "-journal")):
            p.unlink(missing_ok=True)
    log.info("imported session file %s as %s", path, dest)
    return sid, {"participants": participants, "counts": counts}
