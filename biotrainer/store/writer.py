"""The recorder: a bus listener that appends every event to the session file as it happens.

Crash safety comes from SQLite's WAL journal with ``synchronous=NORMAL``: a committed transaction survives a
killed process (``kill -9``); only a power cut can lose the last commits. The writer buffers events in memory and
commits them in one transaction every :data:`COMMIT_INTERVAL_S` of session time (on ``tick``), on every
``SessionState`` event and on ``close``; so a killed session loses at most the last commit interval plus one
runner tick (well under a second).

A write error (full disk, removed folder, I/O error) never reaches the session loop: the events stay in the memory
buffer, the error is logged, :attr:`SessionWriter.healthy` turns False with :attr:`SessionWriter.error` saying
why (for the UI), and the commit is retried at the next interval. When it succeeds, nothing was lost.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from biotrainer.core.errors import RecordingError
from biotrainer.core.events import Event, MetricUpdate, SessionState, to_record
from biotrainer.store.meta import SessionMeta, dumps, iso_from_unix
from biotrainer.store.paths import create_private_file
from biotrainer.store.schema import CREATE_SQL

log = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 0.5
MAX_BUFFERED_BEFORE_COMMIT = 20_000  # commit early when a fast (virtual clock) run fills the buffer
SKIPPED_KINDS = frozenset({MetricUpdate.KIND})  # derived, recomputable from the raw events

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
    """

    def __init__(self, path: str | Path, meta: SessionMeta) -> None:
        self.path = Path(path)
        self.meta = meta
        self.healthy = True
        self.error: str | None = None
        self.events_written = 0
        self.failures = 0
        self.closed = False
        self._buffer: list[tuple[str, float, str, str, str, bytes | None]] = []
        self._meta_pending: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._last_commit_t_s = float("-inf")
        self._t_max_s = 0.0
        self._start_t_s: float | None = None
        self._stop: SessionState | None = None
        create_private_file(self.path)
        self._conn: sqlite3.Connection | None = None
        try:
            rows = [(k, dumps(v)) for k, v in meta.to_rows().items()]
            self._conn = connect_for_writing(self.path)
            self._conn.executescript(CREATE_SQL)
            with self._conn:
                self._conn.execute("BEGIN")
                self._conn.executemany(_UPSERT_META, rows)
        except (sqlite3.Error, ValueError, TypeError) as exc:
            # Leave no headerless file behind: it would be listed as an unreadable session.
            if self._conn is not None:
                self._conn.close()
            for p in (self.path, self.path.with_name(self.path.name + "-wal"),
                      self.path.with_name(self.path.name + "-shm")):
                p.unlink(missing_ok=True)
            raise RecordingError(f"{self.path}: cannot create the session file ({exc})") from exc
        log.info("recording session %s to %s", meta.id, self.path)

    # --- bus listener ------------------------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if event.KIND in SKIPPED_KINDS:
            return
        record = to_record(event)
        with self._lock:
            if self.closed:
                log.warning("event %s after close of %s dropped", event.KIND, self.meta.id)
                return
            self._buffer.append(record)
            if event.t_s > self._t_max_s:
                self._t_max_s = event.t_s
            if isinstance(event, SessionState):
                if event.state == "start" and self._start_t_s is None:
                    self._start_t_s = event.t_s
                elif event.state == "stop":
                    self._stop = event
                self._commit(event.t_s)
            elif len(self._buffer) >= MAX_BUFFERED_BEFORE_COMMIT:
                self._commit(event.t_s)

    def tick(self, t_s: float) -> None:
        """Commit when at least :data:`COMMIT_INTERVAL_S` of session time passed since the last commit."""
        with self._lock:
            if not self.closed and t_s - self._last_commit_t_s >= COMMIT_INTERVAL_S:
                self._commit(t_s)

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
        """Commit everything and mark the session complete (end time, duration, end reason, counts)."""
        with self._lock:
            if self.closed:
                return
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
            else:
                log.error("session %s: %d events could not be written to %s (%s); the file is left incomplete",
                          self.meta.id, len(self._buffer), self.path, self.error)
            self.closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- health ------------------------------------------------------------------------------------------------

    @property
    def pending_events(self) -> int:
        return len(self._buffer)

    def status(self) -> dict[str, Any]:
        """A snapshot for the UI: ``healthy``, ``error``, ``pending_events``, ``events_written``, ``path``."""
        return {"healthy": self.healthy, "error": self.error, "pending_events": self.pending_events,
                "events_written": self.events_written, "path": str(self.path)}

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
        except sqlite3.Error as exc:
            self._failed(exc)
            return False
        if completing and "completed" in self._meta_pending:
            self._meta_pending["completed"] = meta["completed"]
        self.events_written += len(self._buffer)
        self._buffer.clear()
        self._meta_pending.clear()
        if not self.healthy:
            log.warning("session %s: writing to %s works again after %d failed attempts; nothing was lost",
                        self.meta.id, self.path, self.failures)
            self.healthy = True
            self.error = None
        return True

    def _failed(self, exc: sqlite3.Error) -> None:
        self.failures += 1
        self.healthy = False
        self.error = f"{self.path}: {exc}"
        if self.failures == 1 or self.failures % 100 == 0:
            log.error("session %s: cannot write to %s (%s); keeping %d events in memory and retrying",
                      self.meta.id, self.path, exc, len(self._buffer))
        code = getattr(exc, "sqlite_errorcode", None)
        if code != sqlite3.SQLITE_FULL and self._conn is not None:  # I/O errors: start over with a new connection
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
