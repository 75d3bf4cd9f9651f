"""Time series of one participant's session for plots and reports: heart rate per beat with artifact flags, the
pacer's lung volume, RSA per breath, and metrics of sliding windows (each computed by the metrics engine).

Every function takes the participant's :class:`~biotrainer.metrics.streams.Streams`
(:func:`biotrainer.metrics.streams.streams_from_events`), so the numbers are the ones analysis and live metrics give.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Sliding windows for the metrics-over-time plots: 60 s, as the live lnRMSSD.
TREND_WINDOW_S = 60.0
#: At most this many windows (a long session steps by more than 10 s).
MAX_TREND_WINDOWS = 200
#: Shortest step between sliding windows (s).
MIN_TREND_STEP_S = 10.0
#: Resolution of the pacer curve (s).
PACER_STEP_S = 0.25


@dataclass
class BeatSeries:
    """Beats of a session: raw times and instantaneous heart rate, artifact flags, corrected NN and the counts."""

    beat_t_s: np.ndarray
    hr_bpm: np.ndarray
    flags: np.ndarray
    nn_t_s: np.ndarray
    nn_ms: np.ndarray
    artifacts: dict[str, int] = field(default_factory=dict)


def beat_series(streams: Any) -> BeatSeries:
    """Heart rate per beat, artifact flags and corrected NN intervals (:func:`biotrainer.metrics.artifacts.
    correct_rr`; fewer than 3 beats are left uncorrected); ``artifacts`` has the class counts and ``beats``."""
    from biotrainer.metrics import artifacts as art

    t, rr = streams.beat_t_s, streams.rr_ms
    flags = np.zeros(t.size, dtype=np.int8)
    counts: dict[str, int] = {}
    nn_t, nn = t, rr
    if t.size >= 3:
        corr = art.correct_rr(rr, t)
        flags = np.asarray(corr.flags, dtype=np.int8)
        nn_t, nn = corr.beat_t_corrected_s, corr.rr_corrected_ms
        counts = {k: int(v) for k, v in corr.counts.items()}
    counts["beats"] = int(t.size)
    return BeatSeries(beat_t_s=t, hr_bpm=60000.0 / rr if rr.size else np.zeros(0), flags=flags,
                      nn_t_s=np.asarray(nn_t, dtype=float), nn_ms=np.asarray(nn, dtype=float), artifacts=counts)


def pacer_curve(streams: Any, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, volume)`` of the pacer's lung volume (0..1, NaN where unpaced) every :data:`PACER_STEP_S` over the
    session (to its end or its last beat, whichever is later)."""
    from biotrainer.metrics.window import pacer_volume

    t = streams.beat_t_s
    segs = [(p[0], p[1], p[2]) for p in streams.pacer]
    grid = np.arange(0.0, max(duration_s, float(t[-1]) if t.size else 0.0), PACER_STEP_S)
    return grid, (pacer_volume(segs, grid) if segs else np.full(grid.size, np.nan))


def breath_rsa(streams: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(breath end s, peak-to-trough ms)`` of every breath, paced and spontaneous
    (:func:`biotrainer.metrics.offline.breath_series`)."""
    from biotrainer.metrics.offline import breath_series

    per_breath = [b for b, _src in breath_series(streams)]
    return np.array([b.breath.end_s for b in per_breath]), np.array([b.p2t_ms for b in per_breath])


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)


def window_trend(streams: Any, keys: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Metrics ``keys`` of sliding :data:`TREND_WINDOW_S` windows (:func:`biotrainer.metrics.offline.
    analyze_window`), one every :data:`MIN_TREND_STEP_S` or more (at most :data:`MAX_TREND_WINDOWS`).

    Returns
    -------
    tuple
        Window end times (s) and, per key, the values (NaN where withheld); empty for less than one window.
    """
    from biotrainer.metrics.offline import analyze_window

    t = streams.beat_t_s
    ends: list[float] = []
    values: dict[str, list[float]] = {k: [] for k in keys}
    if t.size and t[-1] - t[0] >= TREND_WINDOW_S:
        step = max(MIN_TREND_STEP_S, (t[-1] - t[0]) / MAX_TREND_WINDOWS)
        end = float(t[0]) + TREND_WINDOW_S
        while end <= t[-1] + 1e-9:
            w = analyze_window(streams, end - TREND_WINDOW_S, end)
            ends.append(end)
            for k in keys:
                values[k].append(_nan(w.values.get(k)))
            end += step
    return np.array(ends), {k: np.array(v) for k, v in values.items()}


def resonance_assessment(session: Any, streams: Any) -> Any:
    """The resonance assessment (:func:`biotrainer.metrics.resonance.assess_session`) when the session's protocol
    has assessment steps, else None (also for an old or odd protocol text: logged, never an error)."""
    toml_text = str(session.meta.get("protocol_toml") or "")
    if not toml_text:
        return None
    try:
        from biotrainer.metrics.resonance import assess_session
        from biotrainer.protocols.model import parse_protocol

        protocol = parse_protocol(toml_text, where=f"session {session.id} protocol")
        if protocol.assessment_steps:
            return assess_session(streams, protocol)
    except Exception as exc:  # noqa: BLE001 - a report must not fail on an old or odd protocol text
        log.warning("session %s: no resonance table (%s)", session.id, exc)
    return None
