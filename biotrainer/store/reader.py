"""Read a session file: header, events in order, and fast numpy accessors for beats, ECG, ACC and markers.

Works on complete and incomplete (interrupted) sessions alike: an incomplete file holds every event committed
before the interruption. Every problem with the file is a one-line :class:`~biotrainer.core.errors.RecordingError`
naming the file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biotrainer.core.errors import RecordingError, UsageError
from biotrainer.core.events import (
    EVENT_TYPES,
    PARTICIPANT_ROLES,
    SESSION,
    Annotation,
    Event,
    from_record,
    rr_1024_to_ms,
)
from biotrainer.core.phases import PhaseSpan, phase_spans
from biotrainer.store.meta import SessionMeta
from biotrainer.store.schema import FORMAT_NAME, FORMAT_VERSION

log = logging.getLogger(__name__)

_EVENT_COLUMNS = "kind, t_s, participant, device, data, blob"


@dataclass(frozen=True)
class BeatArrays:
    """Beats in publication order. ``arrival_t_s`` arrival time (the event's ``t_s``, named as in
    :class:`biotrainer.exchange.model.BeatTable` and the CSV export), ``beat_t_s`` reconstructed beat time (s),
    ``rr_1024`` interval in 1/1024 s as sent, ``rr_ms`` the same in ms (float, never rounded), ``source``
    ``strap``/``ecg``, ``participant`` and ``device`` per beat."""

    arrival_t_s: np.ndarray
    beat_t_s: np.ndarray
    rr_1024: np.ndarray
    rr_ms: np.ndarray
    source: np.ndarray
    participant: np.ndarray
    device: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_t_s)


@dataclass(frozen=True)
class HeartRateArrays:
    """Heart rate per Heart Rate Measurement packet: ``hr_bpm``; ``contact`` 1/0, or -1 if unsupported."""

    t_s: np.ndarray
    hr_bpm: np.ndarray
    contact: np.ndarray
    participant: np.ndarray
    device: np.ndarray

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass(frozen=True)
class SampleArrays:
    """Concatenated ECG (``samples`` int32 µV, shape (n,)) or ACC (int16 milli-g, shape (n, 3)) samples.

    ``t_s`` is each sample's session time (from each frame's ``last_sample_t_s`` and ``fs_hz``);
    ``frame_t_s`` the arrival time of each frame, ``frame_start`` the index of each frame's first sample,
    ``sensor_ts_ns`` the strap timestamp of each frame's last sample (-1 if none).
    """

    samples: np.ndarray
    t_s: np.ndarray
    fs_hz: float
    frame_t_s: np.ndarray
    frame_start: np.ndarray
    sensor_ts_ns: np.ndarray
    participant: str
    device: str

    def __len__(self) -> int:
        return len(self.samples)


def _open_readonly(path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True, check_same_thread=False, timeout=5.0)
    except sqlite3.Error:
        # e.g. a crashed session whose -shm file cannot be created read-only: a normal connection recovers it
        return sqlite3.connect(str(path), check_same_thread=False, timeout=5.0)


def _sqlite_problem(exc: sqlite3.Error) -> str:
    """The user's words for a SQLite error, chosen by its result code (Python ≥ 3.11 names it), not its text."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_NOTADB":
        return "not a SQLite file (corrupt, or not a biotrainer session)"
    if name == "SQLITE_CORRUPT":
        return "the SQLite file is damaged (database disk image is malformed)"
    return str(exc)


def _sample_times(last: np.ndarray, fs: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Session time of every sample of frames with ``n`` samples each, the last at ``last``, at rate ``fs``."""
    ends = np.cumsum(n)
    # sample i of a frame with n samples and last time L is at L - (n - 1 - i) / fs
    back = (np.repeat(ends, n) - 1 - np.arange(int(ends[-1]) if len(ends) else 0)).astype(np.float64)
    return np.repeat(last, n) - back / np.repeat(fs, n)


class SessionReader:
    """Read one session file.

    Parameters
    ----------
    path
        A session ``.sqlite`` file.

    Raises
    ------
    RecordingError
        The file does not exist, is not a SQLite file, is damaged, or is not a biotrainer session.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such session file")
        try:
            self._conn = _open_readonly(self.path)
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = sorted({"meta", "events"} - tables)
            if missing:
                self._close_quietly()
                raise RecordingError(f"{self.path}: not a biotrainer session (no such table: {', '.join(missing)})")
            rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
            self._conn.execute("SELECT seq, kind, t_s, participant, device, data, blob FROM events LIMIT 0")
        except sqlite3.Error as exc:
            self._close_quietly()
            raise RecordingError(f"{self.path}: {_sqlite_problem(exc)}") from None
        try:
            values = {k: json.loads(v) for k, v in rows}
            if values.get("format") != FORMAT_NAME:
                raise ValueError(f"meta 'format' is {values.get('format')!r}, expected {FORMAT_NAME!r}")
            version = int(values.get("format_version", 0))
            if version > FORMAT_VERSION:
                raise ValueError(f"format version {version} is newer than this biotrainer reads "
                                 f"({FORMAT_VERSION}); update biotrainer")
            self.meta = SessionMeta.from_rows(values)
        except (ValueError, KeyError, TypeError) as exc:
            self._close_quietly()
            raise RecordingError(f"{self.path}: not a readable biotrainer session header ({exc})") from None
        self._unknown_kinds: set[str] = set()

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._close_quietly()

    def _close_quietly(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass
            self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> SessionReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self._conn is None:
            raise RecordingError(f"{self.path}: reader is closed")
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise RecordingError(f"{self.path}: {_sqlite_problem(exc)}") from None

    # --- summary -----------------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def complete(self) -> bool:
        """True if the session ended normally; False for an interrupted (or still running) recording."""
        return self.meta.complete

    @property
    def duration_s(self) -> float:
        """Session length in seconds: from the completion mark, or up to the last committed event."""
        if self.meta.completed is not None and "duration_s" in self.meta.completed:
            return float(self.meta.completed["duration_s"])
        (t_max,) = self._query("SELECT max(t_s) FROM events")[0]  # indexed; live files keep growing
        return float(t_max or 0.0)

    def counts(self) -> dict[str, int]:
        """Number of events per kind."""
        return dict(self._query("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind"))

    def count(self, kind: str) -> int:
        return int(self._query("SELECT count(*) FROM events WHERE kind = ?", (kind,))[0][0])

    def participants(self) -> list[str]:
        """Participant roles with sensor data or markers in this session (``session`` excluded)."""
        found = {p for (p,) in self._query("SELECT DISTINCT participant FROM events")}
        found.update(self.meta.participants)
        found.discard(SESSION)
        order = {r: i for i, r in enumerate(PARTICIPANT_ROLES)}
        return sorted(found, key=lambda r: (order.get(r, len(order)), r))

    def summary(self) -> dict[str, Any]:
        """Header plus counts per kind and phases, JSON-able (``biotrainer show --json``)."""
        d = self.meta.to_dict()
        d["path"] = str(self.path)
        d["duration_s"] = self.duration_s
        d["counts"] = self.counts()
        d["phases"] = [p.to_dict() for p in self.phases()]
        d["annotations"] = [{"t_s": a.t_s, "text": a.text, "author": a.author} for a in self.annotations()]
        return d

    # --- events ------------------------------------------------------------------------------------------------

    def events(self, kinds: Iterable[str] | None = None, start_s: float | None = None,
               end_s: float | None = None, participant: str | None = None,
               batch: int = 2000) -> Iterator[Event]:
        """Events in ``seq`` (publication) order, optionally only some kinds, a participant, a time range
        (``start_s <= t_s < end_s``). Decoded with :func:`biotrainer.core.events.from_record`, so they equal what
        was published."""
        where, params = self._where(kinds, start_s, end_s, participant)
        last_seq = -1
        while True:
            rows = self._query(f"SELECT seq, {_EVENT_COLUMNS} FROM events WHERE seq > ?{where} "
                               f"ORDER BY seq LIMIT ?", (last_seq, *params, batch))
            for row in rows:
                event = self._decode(row[1:])
                if event is not None:
                    yield event
            if len(rows) < batch:
                return
            last_seq = rows[-1][0]

    def events_from(self, t_s: float, seq: int = -1, limit: int = 2000,
                     kinds: Iterable[str] | None = None) -> tuple[list[Event], tuple[float, int], bool]:
        """Read up to ``limit`` rows ordered by ``(t_s, seq)`` after the position ``(t_s, seq)`` (``seq=-1``:
        including events at ``t_s``). Used by replay.

        Returns
        -------
        events
            The decoded events (unknown kinds skipped).
        cursor
            ``(t_s, seq)`` of the last row read: pass it back to continue.
        at_end
            True when no rows are left after ``cursor``.
        """
        where, params = self._where(kinds, None, None, None)
        rows = self._query(f"SELECT seq, {_EVENT_COLUMNS} FROM events WHERE (t_s > ? OR (t_s = ? AND seq > ?))"
                           f"{where} ORDER BY t_s, seq LIMIT ?", (t_s, t_s, seq, *params, limit))
        events = [e for e in (self._decode(row[1:]) for row in rows) if e is not None]
        cursor = (rows[-1][2], rows[-1][0]) if rows else (t_s, seq)
        return events, cursor, len(rows) < limit

    def _decode(self, row: tuple) -> Event | None:
        if row[0] not in EVENT_TYPES:
            if row[0] not in self._unknown_kinds:
                self._unknown_kinds.add(row[0])
                log.warning("%s: skipping events of unknown kind %r (written by a newer biotrainer?)",
                            self.path, row[0])
            return None
        try:
            return from_record(*row)
        except (KeyError, ValueError, TypeError) as exc:
            raise RecordingError(f"{self.path}: cannot decode a {row[0]!r} event at t={row[1]} s ({exc})") from None

    @staticmethod
    def _where(kinds: Iterable[str] | None, start_s: float | None, end_s: float | None,
               participant: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if kinds is not None:
            kinds = list(kinds)
            clauses.append(f"kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        if start_s is not None:
            clauses.append("t_s >= ?")
            params.append(start_s)
        if end_s is not None:
            clauses.append("t_s < ?")
            params.append(end_s)
        if participant is not None:
            clauses.append("participant = ?")
            params.append(participant)
        return "".join(f" AND {c}" for c in clauses), params

    # --- bulk accessors ----------------------------------------------------------------------------------------

    def beats(self, participant: str | None = None, source: str | None = None) -> BeatArrays:
        """All beats (optionally of one participant and/or source) as arrays, in publication order."""
        sql = ("SELECT t_s, json_extract(data, '$.beat_t_s'), json_extract(data, '$.rr_1024'), "
               "json_extract(data, '$.source'), participant, device FROM events WHERE kind = 'beat'")
        params: list[Any] = []
        if participant is not None:
            sql += " AND participant = ?"
            params.append(participant)
        if source is not None:
            sql += " AND json_extract(data, '$.source') = ?"
            params.append(source)
        rows = self._query(sql + " ORDER BY seq", params)
        cols = list(zip(*rows, strict=True)) if rows else [()] * 6
        rr_1024 = np.array(cols[2], dtype=np.int64)
        return BeatArrays(
            arrival_t_s=np.array(cols[0], dtype=np.float64),
            beat_t_s=np.array(cols[1], dtype=np.float64),
            rr_1024=rr_1024,
            rr_ms=rr_1024_to_ms(rr_1024),
            source=np.array(cols[3], dtype=object),
            participant=np.array(cols[4], dtype=object),
            device=np.array(cols[5], dtype=object),
        )

    def hr(self, participant: str | None = None) -> HeartRateArrays:
        """Heart rate values (one per packet) as arrays."""
        sql = ("SELECT t_s, json_extract(data, '$.hr_bpm'), json_extract(data, '$.contact'), participant, device "
               "FROM events WHERE kind = 'hr'")
        params: list[Any] = []
        if participant is not None:
            sql += " AND participant = ?"
            params.append(participant)
        rows = self._query(sql + " ORDER BY seq", params)
        cols = list(zip(*rows, strict=True)) if rows else [()] * 5
        return HeartRateArrays(
            t_s=np.array(cols[0], dtype=np.float64),
            hr_bpm=np.array(cols[1], dtype=np.int64),
            contact=np.array([-1 if c is None else int(c) for c in cols[2]], dtype=np.int8),
            participant=np.array(cols[3], dtype=object),
            device=np.array(cols[4], dtype=object),
        )

    def ecg(self, participant: str | None = None, device: str | None = None) -> SampleArrays:
        """ECG samples (int32 µV) of one participant, concatenated, with per-sample session times."""
        return self._samples("ecg", participant, device, np.dtype("<i4"), 1, np.int32)

    def acc(self, participant: str | None = None, device: str | None = None) -> SampleArrays:
        """Accelerometer samples (int16 milli-g, shape (n, 3) for x, y, z) of one participant."""
        return self._samples("acc", participant, device, np.dtype("<i2"), 3, np.int16)

    def _samples(self, kind: str, participant: str | None, device: str | None, dtype: np.dtype, width: int,
                 out_type: type) -> SampleArrays:
        source = self._signal_source(kind, participant, device)
        if source is None:
            empty = np.zeros((0, width) if width > 1 else 0, dtype=out_type)
            return SampleArrays(empty, np.zeros(0), float("nan"), np.zeros(0), np.zeros(0, np.int64),
                                np.zeros(0, np.int64), participant or "", device or "")
        p, d = source
        rows = self._query(
            "SELECT t_s, json_extract(data, '$.fs_hz'), json_extract(data, '$.last_sample_t_s'), "
            "json_extract(data, '$.sensor_ts_ns'), blob FROM events "
            "WHERE kind = ? AND participant = ? AND device = ? ORDER BY seq", (kind, p, d))
        frame_t = np.array([r[0] for r in rows], dtype=np.float64)
        fs = np.array([r[1] for r in rows], dtype=np.float64)
        last = np.array([r[2] for r in rows], dtype=np.float64)
        sensor = np.array([-1 if r[3] is None else r[3] for r in rows], dtype=np.int64)
        blob = b"".join(r[4] or b"" for r in rows)
        n = np.array([len(r[4] or b"") // (dtype.itemsize * width) for r in rows], dtype=np.int64)
        samples = np.frombuffer(blob, dtype=dtype).astype(out_type)
        if width > 1:
            samples = samples.reshape(-1, width)
        fs_values = np.unique(fs)
        if len(fs_values) > 1:
            log.warning("%s: %s sampling rate changes within the session: %s", self.path, kind, fs_values)
        return SampleArrays(samples, _sample_times(last, fs, n), float(fs_values[0]) if len(fs_values) else
                            float("nan"), frame_t, np.cumsum(n) - n, sensor, p, d)

    def _signal_source(self, kind: str, participant: str | None, device: str | None) -> tuple[str, str] | None:
        """The one (participant, device) with ``kind`` frames matching the filters; None if none, an error if
        several."""
        who = self._query("SELECT DISTINCT participant, device FROM events WHERE kind = ?", (kind,))
        who = [(p, d) for p, d in who if (participant is None or p == participant) and (device is None or d == device)]
        if len(who) > 1:
            raise UsageError(f"{self.path}: {kind} from several sources {sorted(who)}; pass participant/device")
        return who[0] if who else None

    def markers(self, kinds: Sequence[str] = ("phase", "pacer", "cue", "annotation", "session")) -> list[Event]:
        """Protocol and session markers (phase, pacer, cue, annotation, session state) in publication order."""
        return list(self.events(kinds=kinds))

    def annotations(self) -> list[Annotation]:
        """Annotations in time order (post-hoc annotations are appended to the file but sorted in here)."""
        found = [e for e in self.events(kinds=["annotation"]) if isinstance(e, Annotation)]
        return sorted(found, key=lambda e: e.t_s)

    def phases(self) -> list[PhaseSpan]:
        """Protocol phases from the phase markers, in order; an unfinished phase ends at the session end
        (:func:`biotrainer.core.phases.phase_spans`)."""
        return phase_spans(self.events(kinds=["phase"]), open_end_s=self.duration_s)
