"""What a report shows, gathered from the analysis layer (no computing and no plotting here).

Time series for the plots (:mod:`biotrainer.analysis.series`): instantaneous HR per beat with artifact flags; the
pacer's lung volume in paced phases; peak-to-trough RSA per breath (Grossman, from corrected NN); lnRMSSD, coherence
ratio and breathing rate of sliding 60-s windows (the live engine's window function); the phase table
(:func:`biotrainer.analysis.compare.session_stats`); artifact counts; and the resonance assessment table
(:func:`biotrainer.metrics.resonance.assess_session`) when the protocol has assessment steps. For a session with
beats of a therapist and a client: their heart-rate synchrony (:func:`attunement_of`, the numbers of
``biotrainer synchrony --json`` with its defaults).
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


@dataclass(frozen=True)
class Attunement:
    """Therapist–client heart-rate synchrony of a dyad session.

    Attributes
    ----------
    result : dict or None
        The documented synchrony JSON (:func:`biotrainer.analysis.synchrony.synchrony_of_events`, default options
        and seed: the numbers of ``biotrainer synchrony ID --json``); None when it could not be computed.
    reason : str
        Why not (e.g. a session shorter than three windows); empty with a result.
    """

    result: dict[str, Any] | None
    reason: str = ""


def attunement_of(session: ExchangeSession) -> Attunement | None:
    """The synchrony of ``session`` when it has beats of a therapist and a client, else None (one person)."""
    from biotrainer.analysis.export import dyad_synchrony

    result, reason = dyad_synchrony(session)
    return None if result is None and not reason else Attunement(result, reason)


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
    attunement: Attunement | None = None  # dyad sessions only

    @property
    def duration_s(self) -> float:
        return float(self.session.duration_s)

    @property
    def participant(self) -> str:
        return self.session.pseudonym(self.role)


def build_report_data(session: ExchangeSession, participant: str | None = None,
                      attunement: bool = True) -> ReportData:
    """The plots' series and the tables of ``session`` for ``participant`` (role or pseudonym; the rule of
    :mod:`biotrainer.analysis.participants`), and the dyad's synchrony when ``attunement``."""
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
        artifacts=beats.artifacts, resonance=series.resonance_assessment(session, streams),
        attunement=attunement_of(session) if attunement else None)


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"
