"""What a report shows, computed from a session with the metrics engine (no plotting here).

Time series for the plots: instantaneous HR per beat with artifact flags; the pacer's lung volume in paced phases;
peak-to-trough RSA per pacer breath (Grossman, from corrected NN); lnRMSSD, coherence ratio and breathing rate of
sliding 60-s windows (:func:`biotrainer.metrics.offline.analyze_window`, the live engine's window function);
the phase table (:func:`biotrainer.analysis.compare.session_stats`); artifact counts; and the resonance assessment table
(:func:`biotrainer.metrics.resonance.assess_session`) when the protocol has assessment steps.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biotrainer.analysis.compare import SessionStats, session_stats
from biotrainer.exchange.model import ExchangeSession

log = logging.getLogger(__name__)

TREND_WINDOW_S = 60.0
MAX_TREND_WINDOWS = 200


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


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)


def build_report_data(session: ExchangeSession, participant: str | None = None) -> ReportData:
    """Compute the plots' series and the tables of ``session`` for ``participant`` (role; default first)."""
    from biotrainer.metrics import artifacts as art
    from biotrainer.metrics.offline import analyze_window, breath_series
    from biotrainer.metrics.streams import streams_from_events
    from biotrainer.metrics.window import pacer_volume

    stats = session_stats(session, participant)
    roles = [r for r in session.roles if session.pseudonym(r) == stats.participant] or session.roles or ["self"]
    role = roles[0]
    streams = streams_from_events(session.events, role)
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
    # pacer volume; per-breath RSA in every phase (paced and spontaneous: the metrics engine's breath phases)
    segs = [(p[0], p[1], p[2]) for p in streams.pacer]
    grid = np.arange(0.0, max(session.duration_s, float(t[-1]) if t.size else 0.0), 0.25)
    volume = pacer_volume(segs, grid) if segs else np.full(grid.size, np.nan)
    per_breath = [b for b, _src in breath_series(streams)]
    # sliding windows
    trend_t: list[float] = []
    ln_rmssd: list[float] = []
    coh: list[float] = []
    rate: list[float] = []
    if t.size and t[-1] - t[0] >= TREND_WINDOW_S:
        step = max(10.0, (t[-1] - t[0]) / MAX_TREND_WINDOWS)
        end = float(t[0]) + TREND_WINDOW_S
        while end <= t[-1] + 1e-9:
            w = analyze_window(streams, end - TREND_WINDOW_S, end)
            trend_t.append(end)
            ln_rmssd.append(_nan(w.values.get("hrv.ln_rmssd")))
            coh.append(_nan(w.values.get("coherence.ratio")))
            rate.append(_nan(w.values.get("breathing.rate_per_min")))
            end += step
    resonance = None
    toml_text = str(session.meta.get("protocol_toml") or "")
    if toml_text:
        try:
            from biotrainer.metrics.resonance import assess_session
            from biotrainer.protocols.model import parse_protocol

            protocol = parse_protocol(toml_text, where=f"session {session.id} protocol")
            if protocol.assessment_steps:
                resonance = assess_session(streams, protocol)
        except Exception as exc:  # noqa: BLE001 - a report must not fail on an old or odd protocol text
            log.warning("session %s: no resonance table (%s)", session.id, exc)
    return ReportData(
        session=session, role=role, stats=stats, beat_t_s=t,
        hr_bpm=60000.0 / rr if rr.size else np.zeros(0), flags=flags,
        nn_t_s=np.asarray(nn_t, dtype=float), nn_ms=np.asarray(nn, dtype=float),
        pacer_t_s=grid, pacer_volume=volume,
        breath_t_s=np.array([b.breath.end_s for b in per_breath]),
        breath_p2t_ms=np.array([b.p2t_ms for b in per_breath]),
        trend_t_s=np.array(trend_t), ln_rmssd=np.array(ln_rmssd), coherence=np.array(coh),
        breathing_rate=np.array(rate), artifacts=counts, resonance=resonance)


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"
