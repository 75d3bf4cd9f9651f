"""The in-memory shape every exporter reads and every importer produces.

:class:`ExchangeSession` is a session header (a plain dict with the keys of
:class:`biotrainer.store.meta.SessionMeta`: ``id``, ``started_at``, ``anchor_unix_s``, ``participants`` role →
pseudonym, ``devices``, ``protocol_name``…) plus the session's events in publish order. From the events it derives
the arrays the formats need: a beat table, contiguous ECG/ACC segments (split at gaps), and markers.

Design choice (gaps and clock drift): consecutive frames of one sensor belong to one segment when the first sample
of the next frame is within ``gap_s`` (default 0.25 s) of where the segment's nominal rate predicts it; samples
inside a segment are timed at the nominal rate from the segment's ``t0_s``, the median over its frames of where
each frame puts the segment's first sample (not the first frame's time alone: a strap's first frames are timed
before its clock offset has settled, which left whole channels 1–2 samples late). A larger difference starts a new
segment at the frame's own (sensor-clock) time: after lost frames (a real gap: EDF zero fill + ``gap``
annotation or EDF+D, ``n/a`` rows in BIDS) or when a strap's true rate differs from the nominal one (a 130.2 Hz
"130 Hz" ECG drifts 0.25 s in about 3 minutes). Exported sample times therefore stay within ``gap_s`` of the
strap's clock, and the fixed-rate formats (EDF, BIDS) place a re-anchored segment that would overlap the previous
one right after it, so no sample is ever dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biotrainer import __version__
from biotrainer.core.events import (
    AccFrame,
    Annotation,
    Beat,
    Connection,
    Cue,
    EcgFrame,
    Event,
    HeartRate,
    PacerMarker,
    PhaseMarker,
    SessionState,
    rr_1024_to_ms,
)

MARKER_TYPES = (PhaseMarker, PacerMarker, Cue, Annotation, SessionState)
DEFAULT_GAP_S = 0.25


@dataclass
class BeatTable:
    """All beats of a session as columns (one row per :class:`~biotrainer.core.events.Beat`, in time order).

    ``flags`` are :mod:`biotrainer.metrics.artifacts` classes of the raw beat (0 normal); ``rr_corrected_ms`` is the
    corrected interval ending at the same beat, NaN where correction removed the beat or was not run.
    """

    arrival_t_s: np.ndarray
    beat_t_s: np.ndarray
    rr_1024: np.ndarray
    participant: np.ndarray
    device: np.ndarray
    source: np.ndarray
    flags: np.ndarray
    rr_corrected_ms: np.ndarray

    @property
    def rr_ms(self) -> np.ndarray:
        return rr_1024_to_ms(self.rr_1024)

    def __len__(self) -> int:
        return len(self.beat_t_s)

    def select(self, mask: np.ndarray) -> BeatTable:
        return BeatTable(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))


@dataclass
class Segment:
    """A gap-free run of ECG (``samples`` int32 µV, shape (n,)) or ACC (int16 mg, shape (n, 3)) of one sensor."""

    kind: str  # "ecg" or "acc"
    participant: str
    device: str
    fs_hz: float
    t0_s: float  # session time of the first sample
    samples: np.ndarray

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def duration_s(self) -> float:
        return self.n / self.fs_hz

    @property
    def end_s(self) -> float:
        return self.t0_s + self.duration_s

    def times_s(self) -> np.ndarray:
        return self.t0_s + np.arange(self.n) / self.fs_hz


@dataclass
class ExchangeSession:
    """A session ready for export, or just imported."""

    meta: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    gap_s: float = DEFAULT_GAP_S

    # --- header ------------------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return str(self.meta.get("id", "session"))

    @property
    def anchor_unix_s(self) -> float:
        return float(self.meta.get("anchor_unix_s", 0.0))

    @property
    def started_at(self) -> str:
        return str(self.meta.get("started_at", ""))

    def pseudonym(self, role: str) -> str:
        """The pseudonym exported for ``role`` (the store holds pseudonyms only), else the role itself."""
        return str((self.meta.get("participants") or {}).get(role) or role)

    @property
    def roles(self) -> list[str]:
        seen: dict[str, None] = {}
        for e in self.events:
            if isinstance(e, (Beat, EcgFrame, AccFrame, HeartRate)):
                seen.setdefault(e.participant, None)
        return list(seen) or list((self.meta.get("participants") or {}).keys())

    @property
    def duration_s(self) -> float:
        completed = self.meta.get("completed") or {}
        if completed.get("end_t_s") is not None:
            return float(completed["end_t_s"])
        return max((e.t_s for e in self.events), default=0.0)

    def header_line(self) -> str:
        """One line stating the software, version and session, for the top of every exported text file."""
        return (f"biotrainer {__version__} export; session {self.id}; started_at {self.started_at}; "
                f"times in s since session start")

    # --- derived tables ------------------------------------------------------------------------------------------

    def beats(self, *, correct: bool = True) -> BeatTable:
        """The beat table, with artifact flags and corrected values per participant/device when ``correct``."""
        beats = sorted((e for e in self.events if isinstance(e, Beat)), key=lambda b: b.beat_t_s)
        n = len(beats)
        table = BeatTable(
            arrival_t_s=np.array([b.t_s for b in beats], dtype=float),
            beat_t_s=np.array([b.beat_t_s for b in beats], dtype=float),
            rr_1024=np.array([b.rr_1024 for b in beats], dtype=np.int64),
            participant=np.array([b.participant for b in beats], dtype=object),
            device=np.array([b.device for b in beats], dtype=object),
            source=np.array([b.source for b in beats], dtype=object),
            flags=np.zeros(n, dtype=np.int8),
            rr_corrected_ms=np.full(n, np.nan),
        )
        if correct and n:
            _add_corrections(table)
        return table

    def segments(self, kind: str) -> list[Segment]:
        """Gap-free ECG (``kind="ecg"``) or ACC (``"acc"``) segments, ordered by sensor then time."""
        cls = EcgFrame if kind == "ecg" else AccFrame
        frames: dict[tuple[str, str], list[Any]] = {}
        for e in self.events:
            if isinstance(e, cls):
                frames.setdefault((e.participant, e.device), []).append(e)
        out: list[Segment] = []
        for (participant, device), fl in frames.items():
            fl.sort(key=lambda f: f.last_sample_t_s)
            out.extend(_segments_of(kind, participant, device, fl, self.gap_s))
        return out

    def markers(self) -> list[Event]:
        """Phase, pacer, cue, annotation and session-state events in time order."""
        return sorted((e for e in self.events if isinstance(e, MARKER_TYPES)), key=lambda e: e.t_s)

    def heart_rates(self) -> list[HeartRate]:
        return [e for e in self.events if isinstance(e, HeartRate)]

    def connections(self) -> list[Connection]:
        """Sensor connection events (connecting, connected, disconnected, reconnecting, failed) in time order."""
        return sorted((e for e in self.events if isinstance(e, Connection)), key=lambda e: e.t_s)

    def gaps(self) -> list[Gap]:
        """Stretches without data, per participant, device and stream (``beats``, ``ecg``, ``acc``), in time order.

        A signal gap lies between two segments of one sensor (the first sample of the next one is more than
        ``gap_s`` later than the previous one predicts); a beat gap lies before a beat whose interval starts more
        than :data:`BEAT_GAP_S` after the previous beat (beats were lost, e.g. while the strap was disconnected).
        """
        out: list[Gap] = []
        for kind in ("ecg", "acc"):
            segs = self.segments(kind)
            for prev, cur in zip(segs[:-1], segs[1:], strict=True):
                if (prev.participant, prev.device) == (cur.participant, cur.device) and \
                        cur.t0_s - prev.end_s > self.gap_s:
                    out.append(Gap(prev.participant, prev.device, kind, prev.end_s, cur.t0_s))
        beats = self.beats(correct=False)
        for p, d in dict.fromkeys(zip(beats.participant.tolist(), beats.device.tolist(), strict=True)):
            idx = np.flatnonzero((beats.participant == p) & (beats.device == d))
            t = beats.beat_t_s[idx]
            starts = t[1:] - beats.rr_ms[idx][1:] / 1000.0
            for i in np.flatnonzero(starts - t[:-1] > BEAT_GAP_S).tolist():
                out.append(Gap(p, d, "beats", float(t[i]), float(starts[i])))
        out.sort(key=lambda g: (g.start_s, g.stream))
        return out

    def beat_gap_before_s(self, beats: BeatTable) -> np.ndarray:
        """For each row of ``beats``: the seconds of lost beats before it (0 where the beats are contiguous)."""
        out = np.zeros(len(beats))
        for g in self.gaps():
            if g.stream == "beats":
                hit = (beats.participant == g.participant) & (beats.device == g.device) & \
                    (np.abs(beats.beat_t_s - beats.rr_ms / 1000.0 - g.end_s) < 1e-9)
                out[hit] = g.end_s - g.start_s
        return out


BEAT_GAP_S = 1.0  # more than this between a beat and the start of the next interval: beats were lost


@dataclass(frozen=True)
class Gap:
    """A stretch without data of one sensor stream (``beats``, ``ecg`` or ``acc``), session times in s."""

    participant: str
    device: str
    stream: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _samples_of(frame: Any) -> np.ndarray:
    return frame.samples_uv if isinstance(frame, EcgFrame) else frame.samples_mg


def _segments_of(kind: str, participant: str, device: str, frames: Sequence[Any], gap_s: float) -> list[Segment]:
    out: list[Segment] = []
    parts: list[np.ndarray] = []
    starts: list[float] = []  # each frame's first-sample time minus the samples before it: its view of t0
    fs = t0 = 0.0
    n = 0

    def close() -> None:
        # the segment's t0 is the median of its frames' views (the first frames' times are the least settled:
        # a strap's clock offset is still being learnt; a rate error spreads evenly instead of accumulating)
        out.append(Segment(kind, participant, device, fs, float(np.median(starts)), np.concatenate(parts)))

    for f in frames:
        samples = _samples_of(f)
        if len(samples) == 0:
            continue
        first_t = f.last_sample_t_s - (len(samples) - 1) / f.fs_hz
        if parts and f.fs_hz == fs and abs(first_t - (t0 + n / fs)) <= gap_s:
            parts.append(samples)
            starts.append(first_t - n / fs)
            n += len(samples)
            continue
        if parts:
            close()
        parts, starts, fs, t0, n = [samples], [float(first_t)], float(f.fs_hz), float(first_t), len(samples)
    if parts:
        close()
    return out


def _add_corrections(table: BeatTable) -> None:
    """Fill flags and corrected RR per (participant, device) with the metrics engine's artifact correction."""
    try:
        from biotrainer.metrics.artifacts import correct_rr
    except ImportError:  # metrics engine not available: leave flags 0 and corrected NaN
        return
    keys = sorted({(p, d) for p, d in zip(table.participant, table.device, strict=True)})
    for p, d in keys:
        idx = np.flatnonzero((table.participant == p) & (table.device == d))
        if len(idx) < 3:
            continue
        corr = correct_rr(table.rr_ms[idx], table.beat_t_s[idx])
        table.flags[idx] = np.asarray(corr.flags, dtype=np.int8)
        # corrected interval ending at the same beat (within 1 ms), NaN where correction moved or removed it
        ct = np.asarray(corr.beat_t_corrected_s)
        if len(ct) == 0:
            continue
        raw_t = table.beat_t_s[idx]
        pos = np.clip(np.searchsorted(ct, raw_t), 0, len(ct) - 1)
        prev = np.clip(pos - 1, 0, len(ct) - 1)
        best = np.where(np.abs(ct[prev] - raw_t) < np.abs(ct[pos] - raw_t), prev, pos)
        ok = np.abs(ct[best] - raw_t) < 1e-3
        vals = np.full(len(idx), np.nan)
        vals[ok] = np.asarray(corr.rr_corrected_ms)[best[ok]]
        table.rr_corrected_ms[idx] = vals


def frames_from_samples(kind: str, *, participant: str, device: str, fs_hz: float, t0_s: float,
                        samples: np.ndarray, frame_s: float = 0.5) -> list[Event]:
    """Cut a gap-free run of samples into ECG/ACC frames of about ``frame_s`` seconds (imports), each stamped
    with the time of its last sample, as a live strap would deliver them."""
    n = len(samples)
    step = max(1, int(round(frame_s * fs_hz)))
    out: list[Event] = []
    for start in range(0, n, step):
        chunk = samples[start:start + step]
        last_t = t0_s + (start + len(chunk) - 1) / fs_hz
        if kind == "ecg":
            out.append(EcgFrame(t_s=last_t, participant=participant, device=device, fs_hz=fs_hz,
                                samples_uv=np.ascontiguousarray(chunk, dtype=np.int32), last_sample_t_s=last_t))
        else:
            out.append(AccFrame(t_s=last_t, participant=participant, device=device, fs_hz=fs_hz,
                                samples_mg=np.ascontiguousarray(chunk, dtype=np.int16).reshape(-1, 3),
                                last_sample_t_s=last_t))
    return out
