"""The one event model for everything that flows through a session.

Every event carries:

- ``t_s``: monotonic session time in seconds, stamped when the event *arrived* (or was created, for markers).
  Session time 0 is the session's start; the session header holds the wall-clock anchor (``started_at``, ISO-8601
  with offset, and the matching ``time.time()``), so ``wall = anchor_unix_s + t_s`` for every event.
- ``participant``: whose body or whose session it concerns: ``self``, ``client``, ``therapist``; protocol markers,
  cues and annotations that concern the whole session use ``session``.
- ``device``: which sensor produced it (address or simulator id); empty for markers.

Events are immutable. Each kind has a stable ``KIND`` string used by the recorder, replay, exports and LSL.
:func:`to_record` / :func:`from_record` are the only (de)serialisation, so replay returns exactly what was recorded.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

SELF = "self"
CLIENT = "client"
THERAPIST = "therapist"
SESSION = "session"
PARTICIPANT_ROLES = (SELF, CLIENT, THERAPIST)

RR_UNITS_PER_S = 1024  # Heart Rate Measurement RR resolution: 1/1024 s


def rr_1024_to_ms(rr_1024: int | np.ndarray) -> float | np.ndarray:
    """Convert RR in 1/1024 s units to milliseconds (float, never rounded)."""
    return rr_1024 * 1000.0 / RR_UNITS_PER_S


def rr_ms_to_1024(rr_ms: float | np.ndarray) -> int | np.ndarray:
    """Convert RR in ms to the nearest 1/1024 s unit."""
    if isinstance(rr_ms, np.ndarray):
        return np.rint(rr_ms * RR_UNITS_PER_S / 1000.0).astype(np.int64)
    return int(round(rr_ms * RR_UNITS_PER_S / 1000.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events. Not published itself."""

    KIND: ClassVar[str] = "event"
    t_s: float
    participant: str = SELF
    device: str = ""


# --- raw sensor data -------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class HrPacket(Event):
    """A Heart Rate Measurement (0x2A37) notification exactly as received."""

    KIND: ClassVar[str] = "hr_packet"
    raw: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdPacket(Event):
    """A Polar PMD data (…5C82…) notification exactly as received."""

    KIND: ClassVar[str] = "pmd_packet"
    raw: bytes


# --- decoded sensor data ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Beat(Event):
    """One heartbeat interval decoded from a strap (or derived from ECG).

    ``rr_1024`` is the interval in 1/1024 s as sent; ``beat_t_s`` the reconstructed session time of the beat that
    *ends* the interval (strap packets carry no beat times; see :class:`biotrainer.sources.codecs.hrs.BeatTimeline`).
    ``source`` is ``strap`` for intervals sent by the strap, ``ecg`` for intervals from R-peaks.
    """

    KIND: ClassVar[str] = "beat"
    rr_1024: int
    beat_t_s: float
    source: str = "strap"

    @property
    def rr_ms(self) -> float:
        return rr_1024_to_ms(self.rr_1024)


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartRate(Event):
    """The heart rate value of one Heart Rate Measurement packet.

    ``contact`` is None when the strap does not support contact detection.
    """

    KIND: ClassVar[str] = "hr"
    hr_bpm: int
    contact: bool | None = None
    energy_kj: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact(Event):
    """Skin contact changed (emitted on change only)."""

    KIND: ClassVar[str] = "contact"
    contact: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Battery(Event):
    KIND: ClassVar[str] = "battery"
    percent: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection(Event):
    """Connection state of a sensor: ``connecting``, ``connected``, ``disconnected``, ``reconnecting``, ``failed``."""

    KIND: ClassVar[str] = "connection"
    state: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodeError(Event):
    """A packet that could not be decoded. The raw packet itself is recorded separately; this says why it was skipped."""

    KIND: ClassVar[str] = "decode_error"
    stream: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EcgFrame(Event):
    """ECG samples in µV at ``fs_hz``; ``last_sample_t_s`` is the session time of the last sample.

    ``sensor_ts_ns`` is the strap's own timestamp of the last sample (ns since 2000-01-01 for Polar), if any.
    """

    KIND: ClassVar[str] = "ecg"
    fs_hz: float
    samples_uv: np.ndarray  # int32, shape (n,)
    last_sample_t_s: float
    sensor_ts_ns: int | None = None

    def sample_times_s(self) -> np.ndarray:
        n = len(self.samples_uv)
        return self.last_sample_t_s - (np.arange(n - 1, -1, -1) / self.fs_hz)

    def __eq__(self, other: object) -> bool:
        return _frame_eq(self, other, "samples_uv")

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AccFrame(Event):
    """Accelerometer samples in milli-g, shape (n, 3) for x, y, z, at ``fs_hz``."""

    KIND: ClassVar[str] = "acc"
    fs_hz: float
    samples_mg: np.ndarray  # int16, shape (n, 3)
    last_sample_t_s: float
    sensor_ts_ns: int | None = None

    def sample_times_s(self) -> np.ndarray:
        n = len(self.samples_mg)
        return self.last_sample_t_s - (np.arange(n - 1, -1, -1) / self.fs_hz)

    def __eq__(self, other: object) -> bool:
        return _frame_eq(self, other, "samples_mg")

    __hash__ = None  # type: ignore[assignment]


def _frame_eq(a: Event, b: object, array_field: str) -> bool:
    if type(a) is not type(b):
        return NotImplemented  # type: ignore[return-value]
    for f in dataclasses.fields(a):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if f.name == array_field:
            if va.shape != vb.shape or not np.array_equal(va, vb):
                return False
        elif va != vb:
            return False
    return True


# --- protocol and session markers ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class PacerMarker(Event):
    """The pacer entered a breath segment: ``inhale``, ``hold_in``, ``exhale`` or ``hold_out``.

    ``duration_s`` is the planned length of the segment, ``rate_per_min`` the pacer rate, ``breath_index`` counts
    breaths from 0 within the phase.
    """

    KIND: ClassVar[str] = "pacer"
    segment: str
    rate_per_min: float
    breath_index: int
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseMarker(Event):
    """A protocol phase started or ended (``state`` is ``start`` or ``end``)."""

    KIND: ClassVar[str] = "phase"
    name: str
    index: int
    state: str
    duration_s: float
    paced: bool = False
    rate_per_min: float | None = None
    feedback: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Cue(Event):
    """An on-screen (and optionally spoken) cue text from the protocol."""

    KIND: ClassVar[str] = "cue"
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Annotation(Event):
    """A moment marked by the therapist or researcher, with optional text."""

    KIND: ClassVar[str] = "annotation"
    text: str = ""
    author: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionState(Event):
    """Session lifecycle: ``start``, ``pause``, ``resume``, ``stop``."""

    KIND: ClassVar[str] = "session"
    state: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricUpdate(Event):
    """Derived metrics for one participant (not recorded: recomputable from raw data).

    ``values`` maps metric names with units (``ln_rmssd``, ``hr_bpm``, ``rsa_p2t_ms``…) to a number or None;
    ``reasons`` maps a metric that is None to why it could not be computed; ``labels`` holds text-valued outputs
    (e.g. ``breathing.source``: which stream the breathing rate came from).
    """

    KIND: ClassVar[str] = "metrics"
    values: dict[str, float | None] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (HrPacket, PmdPacket, Beat, HeartRate, Contact, Battery, Connection, DecodeError, EcgFrame,
                AccFrame, PacerMarker, PhaseMarker, Cue, Annotation, SessionState, MetricUpdate)
}

_BASE_FIELDS = ("t_s", "participant", "device")


def to_record(event: Event) -> tuple[str, float, str, str, str, bytes | None]:
    """Serialise an event to ``(kind, t_s, participant, device, data_json, blob)``.

    Bytes go to ``blob`` unchanged (raw packets) or as little-endian arrays (ECG int32 µV, ACC int16 mg n×3).
    """
    kind = event.KIND
    data: dict[str, Any] = {}
    blob: bytes | None = None
    for f in dataclasses.fields(event):
        if f.name in _BASE_FIELDS:
            continue
        value = getattr(event, f.name)
        if f.name == "raw":
            blob = bytes(value)
        elif f.name == "samples_uv":
            blob = np.asarray(value, dtype="<i4").tobytes()
        elif f.name == "samples_mg":
            blob = np.asarray(value, dtype="<i2").reshape(-1, 3).tobytes()
        else:
            data[f.name] = value
    return kind, float(event.t_s), event.participant, event.device, json.dumps(data, separators=(",", ":")), blob


def from_record(kind: str, t_s: float, participant: str, device: str, data_json: str,
                blob: bytes | None) -> Event:
    """Inverse of :func:`to_record`. Raises KeyError/ValueError on an unknown kind or bad data."""
    cls = EVENT_TYPES[kind]
    data = json.loads(data_json) if data_json else {}
    if cls is HrPacket or cls is PmdPacket:
        data["raw"] = bytes(blob or b"")
    elif cls is EcgFrame:
        data["samples_uv"] = np.frombuffer(blob or b"", dtype="<i4").astype(np.int32)
    elif cls is AccFrame:
        data["samples_mg"] = np.frombuffer(blob or b"", dtype="<i2").astype(np.int16).reshape(-1, 3)
    return cls(t_s=t_s, participant=participant, device=device, **data)
