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
:func:`from_record` validates what it decodes (:func:`field_specs`: each field's type and range, finite times within
:data:`MAX_SESSION_S`), so a damaged file is refused with a :class:`ValueError` naming the field, never passed on.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

SELF = "self"
CLIENT = "client"
THERAPIST = "therapist"
SESSION = "session"
PARTICIPANT_ROLES = (SELF, CLIENT, THERAPIST)

RR_UNITS_PER_S = 1024  # Heart Rate Measurement RR resolution: 1/1024 s
MAX_SESSION_S = 1e7  # ~16 weeks: any event time beyond this (either sign) is a damaged file, not a recording
MAX_TEXT_CHARS = 100_000  # a cue, annotation, reason or name longer than this is damaged


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


@dataclass(frozen=True)
class FieldSpec:
    """What a decoded field may hold: ``kind`` is ``float``, ``int``, ``str``, ``bool``, ``dict`` or ``blob``
    (raw bytes / sample arrays, stored in the blob column); ``optional`` allows None; ``lo``/``hi`` bound numbers."""

    name: str
    kind: str
    optional: bool
    lo: float = -math.inf
    hi: float = math.inf
    required: bool = True


#: Ranges of numeric fields by name (units in the names); anything outside is a damaged file.
FIELD_RANGES: dict[str, tuple[float, float]] = {
    "rr_1024": (0, 65535), "hr_bpm": (0, 65535), "energy_kj": (0, 65535), "percent": (0, 255),
    "fs_hz": (1e-3, 1e5), "rate_per_min": (0.0, 1000.0), "duration_s": (0.0, MAX_SESSION_S),
    "beat_t_s": (-MAX_SESSION_S, MAX_SESSION_S), "last_sample_t_s": (-MAX_SESSION_S, MAX_SESSION_S),
    "breath_index": (0, 2**31), "index": (-1, 2**31), "sensor_ts_ns": (-(2**63), 2**63 - 1),
}
_BLOB_FIELDS = ("raw", "samples_uv", "samples_mg")
_SPECS: dict[type, tuple[FieldSpec, ...]] = {}


def field_specs(cls: type[Event]) -> tuple[FieldSpec, ...]:
    """The data fields of an event class (not ``t_s``/``participant``/``device``) with what each may hold."""
    found = _SPECS.get(cls)
    if found is None:
        specs = []
        for f in dataclasses.fields(cls):
            if f.name in _BASE_FIELDS:
                continue
            text = str(f.type)
            kind = "blob" if f.name in _BLOB_FIELDS else next(
                (k for k in ("dict", "float", "int", "bool", "str") if text.startswith(k)), "str")
            lo, hi = FIELD_RANGES.get(f.name, (-math.inf, math.inf))
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            specs.append(FieldSpec(f.name, kind, "None" in text, lo, hi, required))
        found = _SPECS[cls] = tuple(specs)
    return found


_SPEC_MAPS: dict[type, dict[str, FieldSpec]] = {}
_isfinite = math.isfinite


def _spec_map(cls: type[Event]) -> dict[str, FieldSpec]:
    found = _SPEC_MAPS.get(cls)
    if found is None:
        found = _SPEC_MAPS[cls] = {spec.name: spec for spec in field_specs(cls)}
    return found


def _check_number(name: str, value: Any, integer: bool, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise ValueError(f"{name} is {_shown(value)}, expected {'an integer' if integer else 'a number'}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{name} = {value!r} is outside {lo:g}..{hi:g}")


def _shown(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {str(value)[:40]!r}"


def _check_value(spec: FieldSpec, value: Any) -> None:
    if value is None:
        if not spec.optional:
            raise ValueError(f"{spec.name} is null")
        return
    if spec.kind == "float" and type(value) is float:
        if not (spec.lo <= value <= spec.hi and _isfinite(value)):  # the comparison is also false for NaN
            _check_number(spec.name, value, False, spec.lo, spec.hi)
    elif spec.kind in ("float", "int"):
        _check_number(spec.name, value, spec.kind == "int", spec.lo, spec.hi)
    elif spec.kind == "bool" and not isinstance(value, bool):
        raise ValueError(f"{spec.name} is {_shown(value)}, expected true or false")
    elif spec.kind == "dict" and not isinstance(value, dict):
        raise ValueError(f"{spec.name} is {_shown(value)}, expected an object")
    elif spec.kind == "str" and (not isinstance(value, str) or len(value) > MAX_TEXT_CHARS):
        raise ValueError(f"{spec.name} is {_shown(value)}, expected text of at most {MAX_TEXT_CHARS} characters")


def check_base(t_s: Any, participant: Any, device: Any) -> None:
    """The fields every event has: a finite ``t_s`` within :data:`MAX_SESSION_S`, text participant and device."""
    if not (type(t_s) is float and -MAX_SESSION_S <= t_s <= MAX_SESSION_S):  # (fast path for the usual float)
        _check_number("t_s", t_s, False, -MAX_SESSION_S, MAX_SESSION_S)
    for name, value in (("participant", participant), ("device", device)):
        if type(value) is not str or len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"{name} is {_shown(value)}, expected text")


def _decode_blob(cls: type[Event], blob: Any) -> tuple[str, Any] | None:
    if blob is not None and not isinstance(blob, bytes):
        raise ValueError(f"blob is {type(blob).__name__}, expected bytes")
    raw = blob or b""
    if cls is HrPacket or cls is PmdPacket:
        return "raw", bytes(raw)
    if cls is EcgFrame:
        if len(raw) % 4:
            raise ValueError(f"ECG blob of {len(raw)} bytes is not whole int32 samples")
        return "samples_uv", np.frombuffer(raw, dtype="<i4").astype(np.int32)
    if cls is AccFrame:
        if len(raw) % 6:
            raise ValueError(f"ACC blob of {len(raw)} bytes is not whole x, y, z int16 samples")
        return "samples_mg", np.frombuffer(raw, dtype="<i2").astype(np.int16).reshape(-1, 3)
    return None


def from_record(kind: str, t_s: float, participant: str, device: str, data_json: str,
                blob: bytes | None) -> Event:
    """Inverse of :func:`to_record`. Raises KeyError on an unknown kind, ValueError (naming the field) on data
    that is not what this kind of event holds (wrong type, out of range, missing or unknown field)."""
    cls = EVENT_TYPES[kind]
    check_base(t_s, participant, device)
    if data_json is not None and not isinstance(data_json, str):
        raise ValueError(f"data is {type(data_json).__name__}, expected JSON text")
    data = json.loads(data_json, parse_constant=_no_constant) if data_json else {}
    if not isinstance(data, dict):
        raise ValueError(f"data is {_shown(data)}, expected a JSON object")
    specs = _spec_map(cls)
    for name, value in data.items():
        spec = specs.get(name)
        if spec is None:
            raise ValueError(f"unknown field {name!r}")
        _check_value(spec, value)
    from_blob = _decode_blob(cls, blob)
    if from_blob is not None:
        data[from_blob[0]] = from_blob[1]
    try:
        return cls(t_s=t_s, participant=participant, device=device, **data)
    except TypeError as exc:  # a required field is missing
        raise ValueError(str(exc).replace(f"{cls.__name__}.__init__() ", "")) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} in the data (not valid JSON)")
