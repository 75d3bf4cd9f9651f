"""The recorder: a bus listener that appends every event to the session file as it happens.

Crash safety comes from SQLite's WAL journal with ``synchronous=NORMAL``: a committed transaction survives a
killed process (``kill -9``); only a power cut can lose the last commits. The writer buffers events in memory and
commits them in one transaction every :data:`COMMIT_INTERVAL_S` of session time (on ``tick``), on every
``SessionState`` event and on ``close``; so a killed session loses at most the last commit interval plus one
runner tick (well under a second).

A write error (full disk, removed folder, I/O error) never reaches the session loop: the events stay in the memory
buffer, the error is logged, :attr:`SessionWriter.healthy` turns False with :attr:`SessionWriter.error` saying
why (for the UI), and the commit is retried at the next interval. When it succeeds, nothing was lost.

The retry is bounded: when writes keep failing for :data:`WRITE_RETRY_S` of wall time (a transient failure, e.g.
space freed by the user, recovers in real seconds whatever the session's speed), or the buffer grows past
:data:`MAX_BUFFERED_BYTES_ON_FAILURE`, the writer gives up. It drops the buffer (memory stays bounded), counts every
event it could not write (:attr:`SessionWriter.events_lost`), calls ``on_failure(message)`` (the live wiring stops
the session there) and :attr:`SessionWriter.failure` says what happened in one line, e.g. ``disk full: session saved
up to 00:39, 24 766 events could not be written``. The file keeps everything committed before and stays
*incomplete* (no ``completed`` key; a ``write_failure`` key when there is room for it).

The writer also refreshes the header key ``heartbeat_unix_s`` every :data:`HEARTBEAT_S` of wall time, so a
recording whose process died (a reboot, a reused PID) is told from a live one (:mod:`biotrainer.store.library`).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from biotrainer.core.errors import RecordingError
from biotrainer.core.events import Event, MetricUpdate, SessionState, check_base, to_record
from biotrainer.store.meta import SessionMeta, dumps, iso_from_unix
from biotrainer.store.paths import create_private_file
from biotrainer.store.schema import CREATE_SQL

log = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 0.5
MAX_BUFFERED_BEFORE_COMMIT = 20_000  # commit early when a fast (virtual clock) run fills the buffer
SKIPPED_KINDS = frozenset({MetricUpdate.KIND})  # derived, recomputable from the raw events
WRITE_RETRY_S = 10.0  # wall seconds of failing writes before the writer gives up and the session ends
MAX_BUFFERED_BYTES_ON_FAILURE = 64 * 1024 * 1024  # memory kept for retries; past it the writer gives up at once
HEARTBEAT_S = 5.0  # wall seconds between refreshes of the header's heartbeat_unix_s
_RECORD_OVERHEAD_BYTES = 120  # per buffered event besides its JSON and blob (tuple, floats, strings)

_INSERT_EVENT = "INSERT INTO events (kind, t_s, participant, device, data, blob) VALUES (?, ?, ?, ?, ?, ?)"
_UPSERT_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"


def connect_for_writing(path: Path) -> sqlite3.Connection:
    """Open a session file for appending: WAL journal, ``synchronous=NORMAL``, explicit transactions."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=5.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class SessionWriter:
    """Record one session to ``path`` (a new file, created 0600).

    Use as a bus listener: ``bus.subscribe(writer)``; the runner then calls ``writer(event)`` for each event,
    ``writer.tick(t_s)`` every loop and ``writer.close()`` at the end.

    Parameters
    ----------
    path
        The session file to create; it must not exist.
    meta
        The session header, written (and committed) before the first event, so even a session killed in its
        first second is listed with its participants and protocol.

    Attributes
    ----------
    healthy : bool
        False while writes fail; the events are kept in memory and retried.
    error : str or None
        The last write error, for the UI.
    pending_events : int
        Events received but not yet committed.
    events_written : int
        Events committed so far.
    failure_reason : str or None
        ``disk full`` or ``write failed`` once the writer gave up (the session's end reason).
    failure : str or None
        Set when the writer gave up (bounded retry exhausted): the one-line message for the user. Events after
        that are counted in ``events_lost`` and dropped.
    events_lost : int
        Events that could not be written (only after giving up).
    saved_up_to_s : float
        Session time of the last event committed to the file.
    on_failure : callable or None
        Called once with :attr:`failure` when the writer gives up (the live wiring stops the session).
    """

    def __init__(self, path: str | Path, meta: SessionMeta) -> None:
        self.path = Path(path)
        self.meta = meta
        self.healthy = True
        self.error: str | None = None
        self.events_written = 0
        self.failures = 0
        self.closed = False
        self.failure: str | None = None
        self.failure_reason: str | None = None
        self.warnings: list[str] = []
        self.events_lost = 0
        self.saved_up_to_s = 0.0
        self.on_failure: Callable[[str], None] | None = None
        self._failing_since_wall_s: float | None = None
        self._buffered_bytes = 0
        self._buffer_t_max_s = float("-inf")
        self._full = False
        self._last_heartbeat = time.time()
        self._buffer: list[tuple[str, float, str, str, str, bytes | None]] = []
        self._meta_pending: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._last_commit_t_s = float("-inf")
        self._t_max_s = 0.0
        self._start_t_s: float | None = None
        self._stop: SessionState | None = None
        self._conn: sqlite3.Connection | None = None
        created = False
        try:
            create_private_file(self.path)
            created = True
            rows = [(k, dumps(v)) for k, v in meta.to_rows().items()]
            rows.append(("heartbeat_unix_s", dumps(self._last_heartbeat)))
            self._conn = connect_for_writing(self.path)
            self._conn.executescript(CREATE_SQL)
            with self._conn:
                self._conn.execute("BEGIN")
                self._conn.executemany(_UPSERT_META, rows)
        except BaseException as exc:
            # Leave no headerless file behind (a failure, or Ctrl-C / SIGTERM right now): it would be listed as an
            # unreadable session.
            if self._conn is not None:
                self._conn.close()
            if created:
                for p in (self.path, self.path.with_name(self.path.name + "-wal"),
                          self.path.with_name(self.path.name + "-shm")):
                    p.unlink(missing_ok=True)
            if isinstance(exc, (sqlite3.Error, OSError, ValueError, TypeError)):
                raise RecordingError(f"{self.path}: cannot create the session file ({exc})") from exc
            raise
        log.info("recording session %s to %s", meta.id, self.path)

    # --- bus listener ------------------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if event.KIND in SKIPPED_KINDS:
            return
        try:
            check_base(event.t_s, event.participant, event.device)  # what the reader would call damaged
        except ValueError as exc:
            raise RecordingError(f"{self.path}: cannot record a {event.KIND} event: {exc}") from None
        record = to_record(event)
        with self._lock:
            if self.closed:
                log.warning("event %s after close of %s dropped", event.KIND, self.meta.id)
                return
            if event.t_s > self._t_max_s:
                self._t_max_s = event.t_s
            if isinstance(event, SessionState):
                if event.state == "start" and self._start_t_s is None:
                    self._start_t_s = event.t_s
                elif event.state == "stop":
                    self._stop = event
            if self.failure is not None:
                self.events_lost += 1
                return
            self._buffer.append(record)
            self._buffered_bytes += len(record[4]) + len(record[5] or b"") + _RECORD_OVERHEAD_BYTES
            if event.t_s > self._buffer_t_max_s:
                self._buffer_t_max_s = event.t_s
            if isinstance(event, SessionState):
                self._commit(event.t_s)
            elif self._buffered_bytes > MAX_BUFFERED_BYTES_ON_FAILURE:  # bounded memory, healthy or not
                if not self.healthy or not self._commit(event.t_s):
                    self._give_up()
            elif self.healthy and len(self._buffer) >= MAX_BUFFERED_BEFORE_COMMIT:
                self._commit(event.t_s)

    def tick(self, t_s: float) -> None:
        """Commit when at least :data:`COMMIT_INTERVAL_S` of session time passed since the last commit."""
        with self._lock:
            if self.closed or self.failure is not None:
                return
            if time.time() - self._last_heartbeat >= HEARTBEAT_S:
                self._last_heartbeat = time.time()
                self._meta_pending["heartbeat_unix_s"] = self._last_heartbeat
            if t_s - self._last_commit_t_s >= COMMIT_INTERVAL_S:
                self._commit(t_s)
                if not self.healthy and self.failure is None and self._failing_since_wall_s is not None \
                        and _wall_s() - self._failing_since_wall_s >= WRITE_RETRY_S:
                    self._give_up()

    def set_meta(self, **values: Any) -> None:
        """Update header keys (e.g. ``devices`` once a strap connected, ``notes``); written with the next commit."""
        with self._lock:
            for key, value in values.items():
                if key == "protocol_name" or key == "protocol_toml":
                    setattr(self.meta, key, value)
                    self._meta_pending["protocol"] = {"name": self.meta.protocol_name,
                                                      "toml": self.meta.protocol_toml}
                    continue
                if hasattr(self.meta, key) and key not in ("extra", "completed", "id"):
                    setattr(self.meta, key, value)
                else:
                    self.meta.extra[key] = value
                self._meta_pending[key] = value

    def close(self) -> None:
        """Commit everything and mark the session complete (end time, duration, end reason, counts).

        After a write failure (:attr:`failure`) nothing more is committed: the file stays incomplete, with a
        ``write_failure`` header key if there is room for it."""
        with self._lock:
            if self.closed:
                return
            if self.failure is not None or not self._close_complete():
                self._close_failed()
            self.closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def discard(self) -> None:
        """Close and delete the session file: for a session that never started (start-up failed or interrupted)."""
        with self._lock:
            self.closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error:
                    pass
                self._conn = None
            for p in (self.path, self.path.with_name(self.path.name + "-wal"),
                      self.path.with_name(self.path.name + "-shm")):
                p.unlink(missing_ok=True)
            log.info("session %s discarded (never started)", self.meta.id)

    def _close_complete(self) -> bool:
        """The normal end: commit the rest with the completion mark. False if that could not be written."""
        end_t_s = self._stop.t_s if self._stop is not None else self._t_max_s
        start_t_s = self._start_t_s if self._start_t_s is not None else 0.0
        completed = {
            "ended_at": iso_from_unix(self.meta.anchor_unix_s + end_t_s),
            "end_t_s": end_t_s,
            "duration_s": max(0.0, end_t_s - start_t_s),
            "end_reason": self._stop.reason if self._stop is not None else "closed",
        }
        self._meta_pending["completed"] = completed
        ok = self._commit(end_t_s, completing=True)
        if not ok:  # one more try (a transient error); a full disk will fail again
            ok = self._commit(end_t_s, completing=True)
        if ok:
            self.meta.completed = completed
            self._finalize()
            return True
        self._meta_pending.pop("completed", None)
        self._give_up(notify=False)
        return False

    def _close_failed(self) -> None:
        """Leave the file incomplete and say so in the header if there is room (a small write may still fit)."""
        # the final count: events that arrived after giving up were lost too
        self.failure = failure_message(self._full, self.saved_up_to_s, self.events_lost, self.error)
        log.info("session %s: %s", self.meta.id, self.failure)
        note = {"reason": self.failure_reason, "error": self.error,
                "saved_up_to_s": self.saved_up_to_s, "events_lost": self.events_lost}
        try:
            if self._conn is None:
                self._conn = connect_for_writing(self.path)
            self._conn.execute(_UPSERT_META, ("write_failure", dumps(note)))  # autocommit: one statement
        except (sqlite3.Error, OSError) as exc:
            log.debug("session %s: no room for the write_failure note (%s)", self.meta.id, exc)

    # --- health ------------------------------------------------------------------------------------------------

    @property
    def pending_events(self) -> int:
        return len(self._buffer)

    def status(self) -> dict[str, Any]:
        """A snapshot for the UI: ``healthy``, ``error``, ``pending_events``, ``events_written``, ``path``,
        ``failure``, ``events_lost``."""
        return {"healthy": self.healthy, "error": self.error, "pending_events": self.pending_events,
                "events_written": self.events_written, "path": str(self.path), "failure": self.failure,
                "events_lost": self.events_lost, "warnings": list(self.warnings)}

    # --- internals ---------------------------------------------------------------------------------------------

    def _commit(self, t_s: float, completing: bool = False) -> bool:
        self._last_commit_t_s = t_s
        if not self._buffer and not self._meta_pending:
            return True
        try:
            if self._conn is None:
                self._conn = connect_for_writing(self.path)
            conn = self._conn
            conn.execute("BEGIN")
            try:
                conn.executemany(_INSERT_EVENT, self._buffer)
                meta = dict(self._meta_pending)
                if completing and "completed" in meta:
                    counts = dict(conn.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
                    meta["completed"] = {**meta["completed"], "counts": counts}
                if meta:
                    conn.executemany(_UPSERT_META, [(k, dumps(v)) for k, v in meta.items()])
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return False
        if completing and "completed" in self._meta_pending:
            self._meta_pending["completed"] = meta["completed"]
        self.events_written += len(self._buffer)
        self.saved_up_to_s = max(self.saved_up_to_s, self._buffer_t_max_s)
        self._buffer.clear()
        self._buffered_bytes = 0
        self._meta_pending.clear()
        if not self.healthy:
            log.warning("session %s: writing to %s works again after %d failed attempts; nothing was lost",
                        self.meta.id, self.path, self.failures)
            self.healthy = True
            self.error = None
            self._failing_since_wall_s = None
        return True

    def _give_up(self, notify: bool = True) -> None:
        """Stop retrying: drop the buffer (counted as lost), set :attr:`failure`, tell ``on_failure``."""
        if self.failure is None:
            self.events_lost += len(self._buffer)
        else:
            return
        self._buffer.clear()
        self._buffered_bytes = 0
        self.failure = failure_message(self._full, self.saved_up_to_s, self.events_lost, self.error)
        self.failure_reason = "disk full" if self._full else "write failed"
        log.error("session %s: giving up writing to %s after %d failed attempts (%s)", self.meta.id, self.path,
                  self.failures, self.error)
        if notify and self.on_failure is not None:
            try:
                self.on_failure(self.failure)
            except Exception:  # noqa: BLE001 - telling the session must not lose the file
                log.exception("session %s: on_failure callback failed", self.meta.id)

    def _failed(self, exc: sqlite3.Error | OSError) -> None:
        self.failures += 1
        self.healthy = False
        if self._failing_since_wall_s is None:
            self._failing_since_wall_s = _wall_s()
        self.error = f"{self.path}: {getattr(exc, 'strerror', None) or exc}"
        code = getattr(exc, "sqlite_errorcode", None)
        self._full = code == sqlite3.SQLITE_FULL or getattr(exc, "errno", None) == errno.ENOSPC
        if self.failures == 1 or self.failures % 100 == 0:
            log.error("session %s: cannot write to %s (%s); keeping %d events in memory and retrying for up to "
                      "%g s", self.meta.id, self.path, exc, len(self._buffer), WRITE_RETRY_S)
        if not self._full and self._conn is not None:  # I/O errors: start over with a new connection
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def _finalize(self) -> None:
        """Fold the WAL into the main file so a finished session is one self-contained file."""
        assert self._conn is not None
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error as exc:  # a reader holds it open: the WAL stays, which is equally valid
            log.debug("session %s: WAL kept (%s)", self.meta.id, exc)


def _wall_s() -> float:
    """Monotonic wall time for the retry window (a function, so tests can move it)."""
    return time.monotonic()


def format_clock(t_s: float) -> str:
    """``mm:ss`` (``h:mm:ss`` from an hour) of a session time, for messages."""
    t = max(0, int(t_s))
    h, rest = divmod(t, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def failure_message(full: bool, saved_up_to_s: float, events_lost: int, error: str | None) -> str:
    """``disk full: session saved up to 00:39, 24 766 events could not be written`` (or ``write failed (...)``)."""
    what = "disk full" if full else f"write failed ({error})"
    lost = f"{events_lost:,}".replace(",", " ")
    return f"{what}: session saved up to {format_clock(saved_up_to_s)}, {lost} events could not be written"
