"""The breathing pacer: where in the breath cycle the pacer is, as a pure function of elapsed time.

Driven by elapsed phase time only (never by counting timer ticks), so jitter never accumulates: the GUI, the
terminal, the protocol runner's markers and the simulator's breathing all ask :meth:`Pacer.at` for the same time
and get the same answer.

A breath is ``inhale → hold_in → exhale → hold_out``. ``inhale_share`` is the share of the *moving* part
(inhale + exhale) spent inhaling; holds are fixed seconds. ``volume`` goes 0→1 over the inhale (raised cosine,
which is how a relaxed breath fills), stays 1 during hold_in, 1→0 over the exhale, stays 0 during hold_out:
:func:`breath_volume`, the one breath curve (the metrics' pacer lung volume and the simulator's breathing use it
too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SEGMENTS = ("inhale", "hold_in", "exhale", "hold_out")
#: Segment codes for :func:`breath_volume`: the position of each segment name in :data:`SEGMENTS`.
INHALE, HOLD_IN, EXHALE, HOLD_OUT = range(4)


@dataclass(frozen=True, slots=True)
class PacerPoint:
    """The pacer at one moment."""

    rate_per_min: float
    breath_index: int  # breaths completed since the pacer started
    segment: str  # one of SEGMENTS
    segment_progress: float  # 0..1 within the segment
    segment_start_s: float  # pacer-relative time the segment started
    segment_duration_s: float
    volume: float  # 0 (empty) .. 1 (full): the shape to draw and the breath to follow
    cycle_position: float  # breaths since start, fractional (breath_index + share of this breath's period)


@dataclass(frozen=True, slots=True)
class Pacer:
    rate_per_min: float
    inhale_share: float = 0.4
    hold_in_s: float = 0.0
    hold_out_s: float = 0.0

    def __post_init__(self) -> None:
        if not (0.5 <= self.rate_per_min <= 40):
            raise ValueError(f"pacer rate {self.rate_per_min}/min is outside 0.5-40/min")
        if not (0.1 <= self.inhale_share <= 0.9):
            raise ValueError(f"inhale share {self.inhale_share} is outside 0.1-0.9")
        if self.hold_in_s < 0 or self.hold_out_s < 0:
            raise ValueError("hold durations must not be negative")
        if self.hold_in_s + self.hold_out_s >= self.period_s:
            raise ValueError("holds leave no time to breathe at this rate")

    @property
    def period_s(self) -> float:
        return 60.0 / self.rate_per_min

    @property
    def segment_durations_s(self) -> tuple[float, float, float, float]:
        moving = self.period_s - self.hold_in_s - self.hold_out_s
        return (moving * self.inhale_share, self.hold_in_s, moving * (1 - self.inhale_share), self.hold_out_s)

    @property
    def frequency_hz(self) -> float:
        return self.rate_per_min / 60.0

    def at(self, elapsed_s: float) -> PacerPoint:
        """The pacer ``elapsed_s`` seconds after it started (negative times count as 0)."""
        t = max(0.0, elapsed_s)
        period = self.period_s
        breath_index = int(t // period)
        in_cycle = t - breath_index * period
        start = 0.0
        durations = self.segment_durations_s
        for name, dur in zip(SEGMENTS, durations, strict=True):  # noqa: B007 - used after the loop
            if dur > 0 and in_cycle < start + dur:
                progress = (in_cycle - start) / dur
                break
            start += dur
        else:  # floating point at the very end of the cycle
            name, dur, progress = "hold_out" if durations[3] > 0 else "exhale", durations[3] or durations[2], 1.0
            start = period - dur
        volume = segment_volume(name, progress)
        return PacerPoint(self.rate_per_min, breath_index, name, progress, breath_index * period + start, dur,
                          volume, breath_index + in_cycle / period)

    def segment_starts(self, from_s: float, to_s: float) -> list[tuple[float, str, int, float]]:
        """Every segment start in ``[from_s, to_s)``: ``(time_s, segment, breath_index, duration_s)``."""
        out = []
        period = self.period_s
        first = max(0, int(math.floor(from_s / period)) - 1)
        k = first
        while k * period < to_s:
            start = k * period
            for name, dur in zip(SEGMENTS, self.segment_durations_s, strict=True):
                if dur > 0 and from_s <= start < to_s:
                    out.append((start, name, k, dur))
                start += dur
            k += 1
        return out


def breath_volume(segment: np.ndarray | int, progress: np.ndarray | float) -> np.ndarray:
    """The breath's shape: lung volume 0..1 at ``progress`` through ``segment`` (vectorised; the one curve the
    pacer, the metrics and the simulator share).

    Parameters
    ----------
    segment : int or np.ndarray
        Segment code per value: :data:`INHALE`, :data:`HOLD_IN`, :data:`EXHALE`, :data:`HOLD_OUT` (the index of the
        segment in :data:`SEGMENTS`; any other code counts as ``hold_out``).
    progress : float or np.ndarray
        Share of the segment elapsed, clamped to 0..1 (ignored in holds).

    Returns
    -------
    np.ndarray
        Raised cosine 0→1 over the inhale, 1 in hold_in, 1→0 over the exhale, 0 in hold_out; the broadcast shape
        of the inputs.
    """
    code = np.asarray(segment)
    cos = np.cos(np.pi * np.clip(np.asarray(progress, dtype=float), 0.0, 1.0))
    return np.where(code == INHALE, 0.5 - 0.5 * cos,
                    np.where(code == HOLD_IN, 1.0, np.where(code == EXHALE, 0.5 + 0.5 * cos, 0.0)))


def segment_code(segment: str) -> int:
    """The :func:`breath_volume` code of a segment name (an unknown name counts as ``hold_out``)."""
    return SEGMENTS.index(segment) if segment in SEGMENTS else HOLD_OUT


def segment_volume(segment: str, progress: float) -> float:
    """Breath volume 0..1 at ``progress`` (clamped to 0..1) through the segment named ``segment``
    (:func:`breath_volume` for one moment)."""
    return float(breath_volume(segment_code(segment), progress))


#: The closed-loop pacer's recorded markers (:class:`~biotrainer.core.events.Annotation` authors): its changes,
#: holds and convergence (``adaptive-pacer``) and the therapist's lock (``therapist``). The protocol runner writes
#: them, the controller (``metrics.adaptive_pacer``) and the assessment read them.
ADAPTIVE_AUTHOR = "adaptive-pacer"
LOCK_AUTHOR = "therapist"
#: Text prefixes of those markers.
CHANGE_PREFIX = "pacer "  # "pacer 6 -> 5.75/min: <reason>"
CONVERGED_PREFIX = "pacer converged"
HOLD_PREFIX = "pacer held"
LOCKED_TEXT, UNLOCKED_TEXT = "pacer locked", "pacer unlocked"
