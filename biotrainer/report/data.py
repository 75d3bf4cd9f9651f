"""What a report shows, gathered from the analysis layer (no computing and no plotting here).

Time series for the plots (:mod:`biotrainer.analysis.series`): instantaneous HR per beat with artifact flags; the
pacer's lung volume in paced phases; peak-to-trough RSA per breath (Grossman, from corrected NN); lnRMSSD, coherence
ratio and breathing rate of sliding 60-s windows (the live engine's window function); the phase table
(:func:`biotrainer.analysis.compare.session_stats`); artifact counts; and the resonance assessment table
(:func:`biotrainer.metrics.resonance.assess_session`) when the protocol has assessment steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biotrainer.analysis.compare import SessionStats, session_stats
from biotrainer.exchange.model import ExchangeSession

#: The metrics plotted over time (sliding windows).
TREND_KEYS = ("hrv.ln_rmssd", "coherence.ratio", "breathing.rate_per_min")


@dataclass
class ReportData:
    """Everything one session's report shows."""

    session: ExchangeSession
    role: str
    stats: SessionStats
    beat_t_s: np.ndarray
    hr_bpm: np.ndarray
    flags: np.ndarray
    nn_t_s: np.ndarray
    nn_ms: np.ndarray
    pacer_t_s: np.ndarray
    pacer_volume: np.ndarray
    breath_t_s: np.ndarray
    breath_p2t_ms: np.ndarray
    trend_t_s: np.ndarray
    ln_rmssd: np.ndarray
    coherence: np.ndarray
    breathing_rate: np.ndarray
    artifacts: dict[str, int] = field(default_factory=dict)
    resonance: Any = None  # biotrainer.metrics.resonance.Assessment or None

    @property
    def duration_s(self) -> float:
        return float(self.session.duration_s)

    @property
    def participant(self) -> str:
        return self.session.pseudonym(self.role)


def build_report_data(session: ExchangeSession, participant: str | None = None) -> ReportData:
    """The plots' series and the tables of ``session`` for ``participant`` (role or pseudonym; the rule of
    :mod:`biotrainer.analysis.participants`)."""
    from biotrainer.analysis import series
    from biotrainer.metrics.streams import streams_from_events

    stats = session_stats(session, participant)
    streams = streams_from_events(session.events, stats.role)
    beats = series.beat_series(streams)
    grid, volume = series.pacer_curve(streams, float(session.duration_s))
    breath_t, breath_p2t = series.breath_rsa(streams)
    trend_t, trend = series.window_trend(streams, TREND_KEYS)
    return ReportData(
        session=session, role=stats.role, stats=stats, beat_t_s=beats.beat_t_s, hr_bpm=beats.hr_bpm,
        flags=beats.flags, nn_t_s=beats.nn_t_s, nn_ms=beats.nn_ms, pacer_t_s=grid, pacer_volume=volume,
        breath_t_s=breath_t, breath_p2t_ms=breath_p2t, trend_t_s=trend_t, ln_rmssd=trend["hrv.ln_rmssd"],
        coherence=trend["coherence.ratio"], breathing_rate=trend["breathing.rate_per_min"],
        artifacts=beats.artifacts, resonance=series.resonance_assessment(session, streams))


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"
