"""Read a session file: header, events in order, and fast numpy accessors for beats, ECG, ACC and markers.

Works on complete and incomplete (interrupted) sessions alike: an incomplete file holds every event committed
before the interruption. Every problem with the file is a one-line :class:`~biotrainer.core.errors.RecordingError`
naming the file.

Everything read is validated (types, ranges, UTF-8, finite times within
:data:`~biotrainer.core.events.MAX_SESSION_S`): a damaged header or event is a :class:`DamagedSessionError`,
``damaged session file FILE: … (row N)`` with N the event's ``seq``. :meth:`SessionReader.damage` lists the damaged
rows without stopping at the first (``biotrainer show``), so the readable rest stays readable.
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
    MAX_SESSION_S,
    PARTICIPANT_ROLES,
    SESSION,
    Annotation,
    Event,
    field_specs,
    from_record,
    rr_1024_to_ms,
)
from biotrainer.core.phases import PhaseSpan, phase_spans
from biotrainer.store.meta import SessionMeta
from biotrainer.store.schema import FORMAT_NAME, FORMAT_VERSION

log = logging.getLogger(__name__)

_EVENT_COLUMNS = "kind, t_s, participant, device, data, blob"
MAX_DAMAGE_LISTED = 20


class DamagedSessionError(RecordingError):
    """A session file whose header or events are not what biotrainer writes (damaged or edited)."""


class _NotUtf8(ValueError):
    """Text in the file that is not valid UTF-8 (raised by the connection's text factory)."""


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotUtf8("text that is not valid UTF-8") from None


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
        conn = sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True, check_same_thread=False, timeout=5.0)
    except sqlite3.Error:
        # e.g. a crashed session whose -shm file cannot be created read-only: a normal connection recovers it
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=5.0)
    conn.text_factory = _utf8
    return conn


def _sqlite_problem(exc: sqlite3.Error) -> str:
    """The user's words for a SQLite error, chosen by its result code (Python ≥ 3.11 names it), not its text."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_NOTADB":
        return "not a SQLite file (corrupt, or not a biotrainer session)"
    if name == "SQLITE_CORRUPT":
        return "the SQLite file is damaged (database disk image is malformed)"
    return str(exc)


def _header_value(key: str, raw: bytes | None) -> Any:
    """One header value: UTF-8 JSON (NaN and Infinity refused)."""
    if raw is None:
        raise ValueError(f"header {key!r} is null")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"header {key!r} is not valid UTF-8") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise ValueError(f"header {key!r} is not valid JSON ({exc})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_JSON_KIND = {"float": "('integer', 'real')", "int": "('integer')", "bool": "('true', 'false')",
              "str": "('text')", "dict": "('object')"}


def _damage_condition(kind: str) -> str:
    """SQL that is true for a row of ``kind`` that :func:`~biotrainer.core.events.from_record` would refuse
    (the same field specs; unknown fields and UTF-8 are checked when such a row is decoded)."""
    cls = EVENT_TYPES[kind]
    parts = [f"typeof(t_s) NOT IN ('integer', 'real') OR abs(t_s) > {MAX_SESSION_S!r}",
             "typeof(participant) != 'text' OR typeof(device) != 'text'",
             "typeof(data) != 'text' OR NOT json_valid(data) OR json_type(data) != 'object'"]
    for spec in field_specs(cls):
        if spec.kind == "blob":
            continue
        path = f"'$.{spec.name}'"
        allowed = _JSON_KIND[spec.kind]
        if spec.optional:
            allowed = allowed[:-1] + ", 'null')"
        missing = "0" if not spec.required else f"json_type(data, {path}) IS NULL"
        cond = f"{missing} OR (json_type(data, {path}) IS NOT NULL AND json_type(data, {path}) NOT IN {allowed})"
        if spec.kind in ("float", "int") and (spec.lo > -1e300 or spec.hi < 1e300):
            cond += (f" OR (json_type(data, {path}) IN ('integer', 'real') AND "
                     f"(json_extract(data, {path}) < {spec.lo!r} OR json_extract(data, {path}) > {spec.hi!r}))")
        parts.append(cond)
    if kind in ("ecg", "acc", "hr_packet", "pmd_packet"):
        parts.append("typeof(blob) NOT IN ('blob', 'null')")
    if kind == "ecg":
        parts.append("length(blob) % 4 != 0")
    if kind == "acc":
        parts.append("length(blob) % 6 != 0")
    # every part in brackets: a row is damaged when any holds (evaluated only for well-formed JSON)
    base, rest = parts[:3], parts[3:]
    checks = " OR ".join(f"({c})" for c in base)
    if rest:
        checks += " OR (json_valid(data) AND (" + " OR ".join(f"({c})" for c in rest) + "))"
    return f"(kind = '{kind}' AND ({checks}))"


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
            rows = self._conn.execute("SELECT key, CAST(value AS BLOB) FROM meta").fetchall()
            self._conn.execute("SELECT seq, kind, t_s, participant, device, data, blob FROM events LIMIT 0")
        except sqlite3.Error as exc:
            self._close_quietly()
            raise RecordingError(f"{self.path}: {_sqlite_problem(exc)}") from None
        except _NotUtf8:
            self._close_quietly()
            raise DamagedSessionError(f"damaged session file {self.path}: a header key is not valid UTF-8") from None
        try:
            values = {k: _header_value(k, v) for k, v in rows}
            if values.get("format") != FORMAT_NAME:
                raise ValueError(f"meta 'format' is {values.get('format')!r}, expected {FORMAT_NAME!r}")
            version = int(values.get("format_version", 0))
            if version > FORMAT_VERSION:
                raise ValueError(f"format version {version} is newer than this biotrainer reads "
                                 f"({FORMAT_VERSION}); update biotrainer")
            self.meta = SessionMeta.from_rows(values)
        except (ValueError, KeyError, TypeError) as exc:
            self._close_quietly()
            raise DamagedSessionError(f"damaged session file {self.path}: not a readable biotrainer session header "
                                      f"({exc})") from None
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
        except (_NotUtf8, OverflowError) as exc:
            try:
                found = self._damaged_rows(None, 1)
            except RecordingError:
                found = []
            what = f"{found[0][1]} (row {found[0][0]})" if found else str(exc)
            raise DamagedSessionError(f"damaged session file {self.path}: {what}") from None

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
        (t_max,) = self._query("SELECT max(t_s) FROM events WHERE t_s BETWEEN ? AND ?",  # indexed
                               (-MAX_SESSION_S, MAX_SESSION_S))[0]  # (a damaged time is not the duration)
        return float(t_max) if isinstance(t_max, (int, float)) else 0.0

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
        """Header plus counts per kind and phases, JSON-able (``biotrainer show --json``); ``damaged`` lists
        damaged rows (at most :data:`MAX_DAMAGE_LISTED`), and phases or annotations that cannot be read because
        of them are left out."""
        d = self.meta.to_dict()
        d["path"] = str(self.path)
        d["duration_s"] = self.duration_s
        d["counts"] = self.counts()
        damaged = self.damage()
        try:
            d["phases"] = [p.to_dict() for p in self.phases()]
        except RecordingError as exc:
            d["phases"] = []
            damaged = damaged or [str(exc)]
        try:
            d["annotations"] = [{"t_s": a.t_s, "text": a.text, "author": a.author} for a in self.annotations()]
        except RecordingError as exc:
            d["annotations"] = []
            damaged = damaged or [str(exc)]
        d["damaged"] = damaged
        return d

    def damage(self, limit: int = MAX_DAMAGE_LISTED) -> list[str]:
        """Damaged event rows, ``row N: KIND event: what`` (at most ``limit``); empty for an intact file."""
        return [f"row {seq}: {what}" for seq, what in self._damaged_rows(None, limit)]

    def _damaged_rows(self, kind: str | None, limit: int) -> list[tuple[int, str]]:
        """``(seq, what)`` of the first ``limit`` damaged rows (of one kind, or of any)."""
        if kind is None:
            condition = "typeof(kind) != 'text' OR " + " OR ".join(_damage_condition(k) for k in EVENT_TYPES)
        else:
            condition = _damage_condition(kind)
        try:
            rows = self._conn.execute(
                f"SELECT seq, CAST(kind AS BLOB), t_s, CAST(participant AS BLOB), CAST(device AS BLOB), "
                f"CAST(data AS BLOB), blob FROM events WHERE {condition} ORDER BY seq LIMIT ?", (limit,)).fetchall()
        except sqlite3.Error as exc:
            raise RecordingError(f"{self.path}: {_sqlite_problem(exc)}") from None
        return [(row[0], self._damage_line(row)) for row in rows]

    @staticmethod
    def _damage_line(row: tuple) -> str:
        """What is wrong with one damaged row (the decoder's own words)."""
        seq, *fields = row
        try:
            kind, participant, device, data = (None if v is None else bytes(v).decode("utf-8")
                                               for v in (fields[0], fields[2], fields[3], fields[4]))
        except UnicodeDecodeError:
            return "text that is not valid UTF-8"
        try:
            from_record(kind, fields[1], participant, device, data, fields[5])  # type: ignore[arg-type]
        except (KeyError, ValueError, TypeError) as exc:
            return f"{kind} event: {exc}"
        return f"{kind} event is damaged"

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
                event = self._decode(row[1:], row[0])
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
        events = [e for e in (self._decode(row[1:], row[0]) for row in rows) if e is not None]
        cursor = (rows[-1][2], rows[-1][0]) if rows else (t_s, seq)
        return events, cursor, len(rows) < limit

    def _decode(self, row: tuple, seq: int) -> Event | None:
        if not isinstance(row[0], str):
            raise DamagedSessionError(f"damaged session file {self.path}: event kind {row[0]!r} is not text "
                                      f"(row {seq})")
        if row[0] not in EVENT_TYPES:
            if row[0] not in self._unknown_kinds:
                self._unknown_kinds.add(row[0])
                log.warning("%s: skipping events of unknown kind %r (written by a newer biotrainer?)",
                            self.path, row[0])
            return None
        try:
            return from_record(*row)
        except (KeyError, ValueError, TypeError) as exc:
            raise DamagedSessionError(f"damaged session file {self.path}: {row[0]} event: {exc} (row {seq})") from None

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
        arrival, beat_t, rr = self._numbers("beat", cols[:3], ((-MAX_SESSION_S, MAX_SESSION_S),
                                                               (-MAX_SESSION_S, MAX_SESSION_S), (0, 65535)))
        self._texts("beat", cols[3:])
        rr_1024 = rr.astype(np.int64)
        return BeatArrays(
            arrival_t_s=arrival,
            beat_t_s=beat_t,
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
        t_s, hr_bpm = self._numbers("hr", cols[:2], ((-MAX_SESSION_S, MAX_SESSION_S), (0, 65535)))
        if any(c not in (None, 0, 1) for c in cols[2]):
            self._raise_damage("hr")
        self._texts("hr", cols[3:])
        return HeartRateArrays(
            t_s=t_s,
            hr_bpm=hr_bpm.astype(np.int64),
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
        cols = list(zip(*rows, strict=True)) if rows else [()] * 5
        frame_t, fs, last = self._numbers(kind, cols[:3], ((-MAX_SESSION_S, MAX_SESSION_S), (1e-3, 1e5),
                                                           (-MAX_SESSION_S, MAX_SESSION_S)))
        if any(not (r[3] is None or (isinstance(r[3], int) and -(2**63) <= r[3] < 2**63)) for r in rows) \
                or any(not isinstance(r[4], (bytes, type(None))) or len(r[4] or b"") % (dtype.itemsize * width)
                       for r in rows):
            self._raise_damage(kind)
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

    def _numbers(self, kind: str, cols: Sequence[tuple], ranges: Sequence[tuple[float, float]]) -> list[np.ndarray]:
        """Columns of ``kind`` rows as float arrays, each finite and within its range, else the damaged row."""
        out = []
        for col, (lo, hi) in zip(cols, ranges, strict=True):
            try:
                arr = np.array(col, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                self._raise_damage(kind)
            with np.errstate(invalid="ignore"):
                if arr.ndim != 1 or not bool(np.all(np.isfinite(arr) & (arr >= lo) & (arr <= hi))):
                    self._raise_damage(kind)
            out.append(arr)
        return out

    def _texts(self, kind: str, cols: Sequence[tuple]) -> None:
        if any(not isinstance(v, str) for col in cols for v in set(col)):
            self._raise_damage(kind)

    def _raise_damage(self, kind: str) -> None:
        """Raise the :class:`DamagedSessionError` naming the first damaged row of ``kind``."""
        found = self._damaged_rows(kind, 1)
        what = f"{found[0][1]} (row {found[0][0]})" if found else f"{kind} values out of range"
        raise DamagedSessionError(f"damaged session file {self.path}: {what}")

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
