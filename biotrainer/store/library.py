"""The session library: a folder of session files plus the participants register.

Layout::

    <library>/                      0700
        sessions/<id>.sqlite        0600, one file per session (docs/recording-format.md)
        participants.sqlite         0600, the participants register

A session is opened by id, by a unique id prefix, or by a path to a session file anywhere (shipped examples).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from biotrainer import __version__
from biotrainer.core.clock import Clock
from biotrainer.core.errors import RecordingError, SessionNotFoundError, UsageError
from biotrainer.core.events import SESSION, Annotation, to_record
from biotrainer.store.meta import (
    SessionMeta,
    dumps,
    iso_from_unix,
    new_session_id,
    validate_notes,
    validate_title,
    writer_identity,
)
from biotrainer.store.participants import ParticipantStore
from biotrainer.store.paths import ensure_private_dir, library_dir
from biotrainer.store.reader import SessionReader
from biotrainer.store.schema import SESSION_SUFFIX
from biotrainer.store.writer import SessionWriter

log = logging.getLogger(__name__)

LOW_SPACE_BYTES = 200 * 1024 * 1024  # warn below this much free space when a recording starts


@dataclass(frozen=True)
class SessionSummary:
    """One row of the session list. ``state`` is ``complete``, ``recording`` (the writing process is alive on
    this host) or ``interrupted``; ``error`` is set (and the rest mostly empty) for an unreadable file."""

    id: str
    path: str
    participants: dict[str, str]
    protocol: str
    started_at: str
    duration_s: float
    complete: bool
    state: str
    synthetic: bool
    title: str
    n_beats: int
    error: str | None = None

    @property
    def participant(self) -> str:
        """Pseudonyms (or roles when no pseudonym) joined with ``, ``."""
        return ", ".join(p or r for r, p in self.participants.items())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["participant"] = self.participant
        return d


STALE_HEARTBEAT_S = 60.0  # a recording whose heartbeat is older than this is no longer being recorded


def _process_alive(writer: dict[str, Any]) -> bool:
    pid = writer.get("pid")
    if not isinstance(pid, int) or writer.get("host") != socket.gethostname():
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _last_sign_of_life(meta: SessionMeta, path: Path) -> float | None:
    """When the recording process last wrote: its heartbeat, else (older files) the file's modification time."""
    if meta.heartbeat_unix_s is not None:
        return meta.heartbeat_unix_s
    times = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            times.append(p.stat().st_mtime)
        except OSError:
            pass
    return max(times) if times else None


def recording_state(meta: SessionMeta, path: Path, now_unix_s: float | None = None) -> str:
    """``complete``; ``recording`` while the writing process is alive on this host *and* its heartbeat is fresh
    (a PID alone can be reused after a reboot); else ``interrupted`` (also after the recorder gave up on a full
    disk)."""
    if meta.complete:
        return "complete"
    if meta.write_failure is not None or not _process_alive(meta.writer):
        return "interrupted"
    last = _last_sign_of_life(meta, path)
    now = time.time() if now_unix_s is None else now_unix_s
    if last is not None and now - last > STALE_HEARTBEAT_S:
        return "interrupted"
    return "recording"


class Library:
    """A session library folder.

    Parameters
    ----------
    root
        The library folder; None resolves ``$BIOTRAINER_LIBRARY`` or the per-user default
        (:func:`biotrainer.store.paths.library_dir`). Folders are created on first write, owner-only.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = library_dir(root)
        if self.root.exists() and not self.root.is_dir():
            raise RecordingError(f"{self.root}: the library must be a folder, but this is a file")
        self.sessions_dir = self.root / "sessions"
        self._participants: ParticipantStore | None = None

    def __repr__(self) -> str:
        return f"Library({str(self.root)!r})"

    @property
    def participants(self) -> ParticipantStore:
        """The participants register (``participants.sqlite``)."""
        if self._participants is None:
            self._participants = ParticipantStore(self.root / "participants.sqlite")
        return self._participants

    # --- creating ----------------------------------------------------------------------------------------------

    def new_session(self, *, participants: dict[str, str] | None = None,
                    devices: list[dict[str, Any]] | None = None, protocol_name: str = "",
                    protocol_toml: str = "", settings: dict[str, Any] | None = None, notes: str = "",
                    title: str = "", synthetic: bool = False, clock: Clock | None = None,
                    anchor_unix_s: float | None = None, session_id: str | None = None) -> SessionWriter:
        """Create a new session file and return its writer (subscribe it to the bus before running).

        Parameters
        ----------
        participants
            Role → pseudonym, e.g. ``{"client": "P07", "therapist": "T1"}``.
        devices
            ``[{"id": address, "name": ..., "model": ..., "participant": role}]``; can be completed later with
            ``writer.set_meta(devices=...)``.
        protocol_name, protocol_toml
            The protocol as run (the full TOML text, so the session is self-describing).
        clock
            The session clock; its ``anchor_unix_s`` is the wall time of session time 0. Without it, now.
        """
        if anchor_unix_s is None:
            anchor_unix_s = clock.anchor_unix_s if clock is not None else time.time()
        sid = session_id or new_session_id(anchor_unix_s)
        validate_title(title)
        validate_notes(notes)
        ensure_private_dir(self.root)
        ensure_private_dir(self.sessions_dir)
        meta = SessionMeta(
            id=sid, started_at=iso_from_unix(anchor_unix_s), anchor_unix_s=anchor_unix_s, title=title, notes=notes,
            participants=dict(participants or {}), devices=list(devices or []), protocol_name=protocol_name,
            protocol_toml=protocol_toml, app_version=__version__, settings=dict(settings or {}),
            synthetic=synthetic, writer=writer_identity(),
        )
        low = free_space_warning(self.sessions_dir)
        writer = SessionWriter(self.session_path(sid), meta)
        if low:
            log.warning("%s", low)
            writer.warnings.append(low)
        return writer

    def session_path(self, session_id: str) -> Path:
        return self.sessions_dir / f"{session_id}{SESSION_SUFFIX}"

    # --- finding -----------------------------------------------------------------------------------------------

    def session_paths(self) -> list[Path]:
        """Session files in the library, oldest first (ids sort by start time)."""
        if not self.sessions_dir.is_dir():
            return []
        return sorted(p for p in self.sessions_dir.iterdir() if p.suffix == SESSION_SUFFIX and p.is_file())

    def resolve(self, ref: str | os.PathLike[str]) -> Path:
        """The file of a session given by id, unique id prefix, or path to a session file.

        Raises
        ------
        SessionNotFoundError
            Nothing matches.
        UsageError
            The prefix matches several sessions.
        """
        ref_str = os.fspath(ref)
        if not ref_str:
            raise SessionNotFoundError("empty session id")
        as_path = Path(ref_str).expanduser()
        looks_like_path = os.sep in ref_str or "/" in ref_str or ref_str.endswith(SESSION_SUFFIX)
        if as_path.is_file() and (looks_like_path or not self.session_path(ref_str).is_file()):
            return as_path
        exact = self.session_path(ref_str)
        if exact.is_file():
            return exact
        matches = [p for p in self.session_paths() if p.stem.startswith(ref_str)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(p.stem for p in matches[:5]) + (", ..." if len(matches) > 5 else "")
            raise UsageError(f"session id prefix {ref_str!r} matches {len(matches)} sessions: {names}")
        if as_path.is_dir():
            raise SessionNotFoundError(f"{ref_str}: is a folder, not a session file (give a session id or a "
                                       f"{SESSION_SUFFIX} file)")
        if looks_like_path:
            raise SessionNotFoundError(f"{ref_str}: no such session file")
        raise SessionNotFoundError(f"no session {ref_str!r} in library {self.root}")

    def resolve_own(self, ref: str | os.PathLike[str]) -> Path:
        """Like :meth:`resolve`, for the commands that change or delete: a session file outside the library (e.g. a
        shipped example in ``recordings/``) is refused with a UsageError rather than edited or deleted in place.
        (The editing methods themselves accept any path, for programs that mean it.)"""
        path = self.resolve(ref)
        if path.resolve().parent != self.sessions_dir.resolve():
            raise UsageError(f"{os.fspath(ref)}: this session file is not in the library {self.root}; import it "
                             f"first ('biotrainer import {os.fspath(ref)}') to change or delete it")
        return path

    def open(self, ref: str | os.PathLike[str]) -> SessionReader:
        """Open a session (id, unique id prefix, or path) for reading."""
        return SessionReader(self.resolve(ref))

    # --- listing -----------------------------------------------------------------------------------------------

    def list_sessions(self, participant: str | None = None) -> list[SessionSummary]:
        """Summaries of all sessions, oldest first; ``participant`` filters by pseudonym or role.

        An unreadable file is listed with ``error`` set rather than hiding it or failing the whole list.
        """
        out = []
        for path in self.session_paths():
            s = summarize(path)
            if participant is not None and participant not in s.participants.values() \
                    and participant not in s.participants:
                continue
            out.append(s)
        return out

    # --- editing -----------------------------------------------------------------------------------------------

    def rename(self, ref: str, title: str) -> SessionSummary:
        """Set a session's title."""
        path = self.resolve(ref)
        self._set_meta(path, {"title": validate_title(title)})
        return summarize(path)

    def set_notes(self, ref: str, notes: str) -> SessionSummary:
        """Replace a session's notes."""
        path = self.resolve(ref)
        self._set_meta(path, {"notes": validate_notes(notes)})
        return summarize(path)

    def set_reflection(self, ref: str, *, intention: str | None = None, calm: int | None = None,
                       present: int | None = None, note: str | None = None) -> None:
        """Store the person's one-line intention and/or their self-report (``calm``, ``present``: whole numbers
        0-10; a ``note``) with a session; None leaves a value as it is.

        Raises
        ------
        UsageError
            A rating outside 0-10, an intention longer than one line, a session file outside the library.
        """
        path = self.resolve_own(ref)
        values: dict[str, Any] = {}
        if intention is not None:
            if "\n" in intention.strip() or len(intention) > 200:
                raise UsageError("intention: one line of at most 200 characters")
            values["intention"] = intention.strip()
        if calm is not None or present is not None or note is not None:
            with SessionReader(path) as reader:
                report = dict(reader.meta.self_report)
            for name, v in (("calm", calm), ("present", present)):
                if v is not None:
                    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10:
                        raise UsageError(f"self-report {name}={v!r}: expected a whole number 0-10")
                    report[name] = v
            if note is not None:
                report["note"] = note
            values["self_report"] = report
        if values:
            self._set_meta(path, values)

    def annotate(self, ref: str, at_s: float, text: str, author: str = "") -> Annotation:
        """Append an annotation at session time ``at_s`` to a recorded session (post-hoc)."""
        path = self.resolve(ref)
        with SessionReader(path) as reader:
            duration_s = reader.duration_s
        if not (0.0 <= at_s <= duration_s + 1e-9):
            raise UsageError(f"annotation time {at_s} s is outside the session (0-{duration_s:.1f} s)")
        event = Annotation(t_s=float(at_s), participant=SESSION, text=text, author=author)
        self._write(path, lambda conn: conn.execute(
            "INSERT INTO events (kind, t_s, participant, device, data, blob) VALUES (?, ?, ?, ?, ?, ?)",
            to_record(event)))
        return event

    def edit_annotation(self, ref: str, at_s: float, text: str, new_text: str) -> Annotation:
        """Change the text of the annotation ``text`` at session time ``at_s`` (the replay screen's notes)."""
        import json

        path = self.resolve(ref)
        with SessionReader(path) as reader:
            found = [a for a in reader.annotations() if abs(a.t_s - at_s) < 1e-6 and (a.text or "") == text]
        if not found:
            raise UsageError(f"{path.name}: no annotation {text!r} at {at_s:.3f} s to edit")
        old = found[0]
        event = Annotation(t_s=old.t_s, participant=old.participant, device=old.device, text=new_text,
                           author=old.author)
        old_data, new_data = to_record(old)[4], to_record(event)[4]

        def update(conn: sqlite3.Connection) -> None:
            rows = conn.execute("SELECT seq, data FROM events WHERE kind = 'annotation' AND t_s = ?",
                                (old.t_s,)).fetchall()
            seq = next(s for s, d in rows if json.loads(d) == json.loads(old_data))
            conn.execute("UPDATE events SET data = ? WHERE seq = ?", (new_data, seq))

        self._write(path, update)
        return event

    def delete(self, ref: str, *, force: bool = False) -> Path:
        """Delete a session file (and its journal files). Returns the deleted path.

        Refuses a session that a live process on this computer is still recording (its heartbeat is fresh), unless
        ``force``.
        """
        path = self.resolve(ref)
        summary = summarize(path)
        # Refuse to delete something that is not a session, unless it sits in the library's sessions folder
        # (e.g. a file left unreadable by a crash): the user must be able to clean up their library.
        if summary.error and path.resolve().parent != self.sessions_dir.resolve():
            raise RecordingError(summary.error)
        if summary.state == "recording" and not force:
            with SessionReader(path) as reader:
                pid = reader.meta.writer.get("pid")
            raise RecordingError(f"{path}: session {summary.id} is still being recorded (process {pid}); "
                                 f"stop that session first, or delete it anyway with --force")
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                  path.with_name(path.name + "-journal")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise RecordingError(f"{p}: cannot delete ({exc.strerror or exc})") from exc
        log.info("deleted session %s", path)
        return path

    def _set_meta(self, path: Path, values: dict[str, Any]) -> None:
        SessionReader(path).close()
        self._write(path, lambda conn: conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, dumps(v)) for k, v in values.items()]))

    @staticmethod
    def _write(path: Path, fn: Any) -> None:
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=5.0)
            try:
                conn.execute("BEGIN IMMEDIATE")
                fn(conn)
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise RecordingError(f"{path}: cannot write ({exc})") from None


def free_space_warning(folder: Path, low_bytes: int | None = None) -> str | None:
    """A one-line warning when ``folder``'s disk has less than :data:`LOW_SPACE_BYTES` free, else None."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    limit = LOW_SPACE_BYTES if low_bytes is None else low_bytes
    if free >= limit:
        return None
    return (f"only {free / 1e6:.1f} MB free on the disk of {folder}: the recording stops when the disk is full "
            f"(an hour with ECG takes about 7 MB)")


def summarize(path: Path) -> SessionSummary:
    """The list row of one session file; never raises for a bad file (``error`` is set instead)."""
    try:
        with SessionReader(path) as r:
            m = r.meta
            counts = (m.completed or {}).get("counts")
            n_beats = int(counts.get("beat", 0)) if isinstance(counts, dict) else r.count("beat")
            state = recording_state(m, path)
            return SessionSummary(id=m.id, path=str(path), participants=dict(m.participants),
                                  protocol=m.protocol_name, started_at=m.started_at, duration_s=r.duration_s,
                                  complete=m.complete, state=state, synthetic=m.synthetic, title=m.title,
                                  n_beats=n_beats)
    except RecordingError as exc:
        log.debug("%s", exc)  # shown by the caller (list row, error line); a warning too would say it twice
        return SessionSummary(id=path.stem, path=str(path), participants={}, protocol="", started_at="",
                              duration_s=0.0, complete=False, state="unreadable", synthetic=False, title="",
                              n_beats=0, error=str(exc))
