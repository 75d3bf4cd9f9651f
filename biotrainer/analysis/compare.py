"""Compare sessions: within a session by protocol phase, between sessions, and as a trend over many sessions.

Phases are matched **by name**, never by clock time (a paused or shortened phase still compares with its
namesake). Every phase value comes from the metrics engine (:func:`biotrainer.metrics.offline.analyze_window` over
the whole phase, exactly what live analysis computes for a window); breathing rate is always reported beside the
vagal indices (SCIENCE.md §2: RMSSD and HF change with breathing rate at fixed RSA).

How meaningful is a difference? (design choice, not a significance test): each phase is also cut into windows of
``W`` = 60 s (phases under 2 min: half the phase, at least 30 s) every ``W/2``; the SD of a metric over those
windows is its *within-phase variability*. With ``n_eff = phase duration / W`` independent windows, the standard
error is ``SD / sqrt(n_eff)`` and ``z = difference / sqrt(SE_a² + SE_b²)``. ``|z| ≥ 2``: "beyond within-phase
variability"; ``1 ≤ |z| < 2``: "uncertain"; ``|z| < 1``: "within variability". Phases too short for two windows
(and spectral metrics in windows under 60 s) have no variability estimate.
Windows are autocorrelated and breathing may differ between phases, so read ``z`` as a guide, not a p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biotrainer.analysis.participants import role_for_comparison
from biotrainer.core.events import Beat, PhaseMarker
from biotrainer.core.phases import phase_spans as spans_from_markers
from biotrainer.exchange.model import ExchangeSession
from biotrainer.metrics.catalogue import CATALOGUE

#: The compared metrics (keys of :mod:`biotrainer.metrics.catalogue`, which gives label, unit and decimals).
#: Breathing rate first: it is shown beside the vagal indices.
METRIC_KEYS: tuple[str, ...] = (
    "breathing.rate_per_min", "hrv.hr_bpm", "hrv.rmssd_ms", "hrv.ln_rmssd", "hrv.sdnn_ms", "rsa.p2t_ms",
    "hrv.lf_ms2", "hrv.hf_ms2", "coherence.ratio",
)
WINDOW_S = 60.0
MIN_WINDOW_S = 30.0
#: The beats of a 30-s phase or window span a little less than 30 s (the first beat comes after the phase start,
#: a beat may be dropped as an artifact); the engine's 30-s minimum (give or take one mean interval) would then
#: withhold the values of such a phase. Design choice: phases, variability windows and the library's key metrics
#: accept 27 s of beats.
TOLERATED_MIN_WINDOW_S = 27.0
WHOLE = "whole session"


@dataclass
class PhaseStats:
    """Metrics of one phase of one session: value over the whole phase, SD over its 60-s windows."""

    name: str
    start_s: float
    end_s: float
    values: dict[str, float | None] = field(default_factory=dict)
    sd: dict[str, float | None] = field(default_factory=dict)
    n_windows: int = 0
    window_s: float = WINDOW_S
    reasons: dict[str, str] = field(default_factory=dict)
    artifacts_corrected: int = 0
    beats: int = 0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def se(self, key: str) -> float | None:
        sd = self.sd.get(key)
        if sd is None or self.n_windows < 2:
            return None
        return sd / math.sqrt(max(1.0, self.duration_s / self.window_s))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "start_s": self.start_s, "end_s": self.end_s, "duration_s": self.duration_s,
                "beats": self.beats, "artifacts_corrected": self.artifacts_corrected, "n_windows": self.n_windows,
                "window_s": self.window_s,
                "values": {k: _clean(v) for k, v in self.values.items()},
                "sd": {k: _clean(v) for k, v in self.sd.items()}, "reasons": dict(self.reasons)}


@dataclass
class SessionStats:
    """The phases of one session (one participant) with their metrics."""

    id: str
    started_at: str
    participant: str
    protocol: str
    title: str
    phases: list[PhaseStats]
    resonance: list[dict[str, Any]] = field(default_factory=list)
    #: The role whose beats these are (``participant`` is its pseudonym).
    role: str = ""

    def phase(self, name: str) -> PhaseStats | None:
        return next((p for p in self.phases if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "started_at": self.started_at, "participant": self.participant,
                "protocol": self.protocol, "title": self.title, "phases": [p.to_dict() for p in self.phases]}


def _clean(v: Any) -> Any:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def phase_spans(session: ExchangeSession) -> list[tuple[str, float, float]]:
    """``(name, start_s, end_s)`` of every protocol phase, in order; the whole session when there are none.

    A phase that was entered twice (a repeated name) keeps both occurrences, the second named ``name (2)``
    (:attr:`biotrainer.core.phases.PhaseSpan.label`).
    """
    beats_t = [e.beat_t_s for e in session.events if isinstance(e, Beat)]
    end_default = max([session.duration_s] + beats_t) if beats_t else session.duration_s
    markers = sorted((e for e in session.events if isinstance(e, PhaseMarker)), key=lambda e: e.t_s)
    spans = spans_from_markers(markers, open_end_s=end_default)
    if not spans:
        t0 = min(beats_t) if beats_t else 0.0
        return [(WHOLE, max(0.0, t0 - 2.0), end_default)]
    return [(s.label, s.start_s, s.end_s) for s in spans]


def variability_window_s(duration_s: float) -> float:
    """Window length for the within-phase variability: 60 s, or half of a phase shorter than 2 min (≥ 30 s)."""
    return WINDOW_S if duration_s >= 2 * WINDOW_S else max(MIN_WINDOW_S, duration_s / 2.0)


def _phase_values(streams: Any, ps: PhaseStats) -> None:
    """Value, reason and corrected beats of every compared metric over the whole phase."""
    from biotrainer.metrics.offline import analyze_window
    from biotrainer.metrics.window import Settings

    w = analyze_window(streams, ps.start_s, ps.end_s, Settings(min_window_s=TOLERATED_MIN_WINDOW_S))
    ps.values = {k: w.values.get(k) for k in METRIC_KEYS}
    ps.reasons = {k: w.reasons[k] for k in METRIC_KEYS if k in w.reasons}
    ps.artifacts_corrected = int(w.values.get("artifacts.corrected") or 0)


def _phase_variability(streams: Any, ps: PhaseStats) -> None:
    """SD of every compared metric over the phase's variability windows (every half window)."""
    from biotrainer.metrics.offline import analyze_window
    from biotrainer.metrics.window import Settings

    samples: dict[str, list[float]] = {k: [] for k in METRIC_KEYS}
    ps.window_s = win = variability_window_s(ps.duration_s)
    win_settings = Settings(window_s=win, min_window_s=TOLERATED_MIN_WINDOW_S)
    t = ps.start_s
    while t + win <= ps.end_s + 1e-9:
        ww = analyze_window(streams, t, t + win, win_settings)
        for k in samples:
            v = ww.values.get(k)
            if v is not None and math.isfinite(v):
                samples[k].append(float(v))
        ps.n_windows += 1
        t += win / 2.0
    ps.sd = {k: (float(np.std(v, ddof=1)) if len(v) >= 2 else None) for k, v in samples.items()}


def phase_stats(streams: Any, name: str, start_s: float, end_s: float) -> PhaseStats:
    """Metrics of the phase ``(start_s, end_s]`` of ``streams``: whole-phase values and within-phase SDs (a phase
    with fewer than 3 beats has none, with the beat count as the reason)."""
    ps = PhaseStats(name=name, start_s=start_s, end_s=end_s)
    sel = (streams.beat_t_s > start_s) & (streams.beat_t_s <= end_s)
    ps.beats = int(np.count_nonzero(sel))
    if ps.beats >= 3:
        _phase_values(streams, ps)
        _phase_variability(streams, ps)
    else:
        ps.values = {k: None for k in METRIC_KEYS}
        ps.reasons = {k: f"{ps.beats} beats in the phase" for k in METRIC_KEYS}
    return ps


def session_stats(session: ExchangeSession, participant: str | None = None) -> SessionStats:
    """Per-phase metrics of ``session`` for ``participant`` (role or pseudonym; the rule of
    :mod:`biotrainer.analysis.participants`)."""
    from biotrainer.metrics.streams import streams_from_events

    role = role_for_comparison(session, participant)
    streams = streams_from_events(session.events, role)
    phases = [phase_stats(streams, name, start, end) for name, start, end in phase_spans(session)]
    return SessionStats(id=session.id, started_at=session.started_at, participant=session.pseudonym(role),
                        protocol=str(session.meta.get("protocol_name") or ""),
                        title=str(session.meta.get("title") or ""), phases=phases, role=role)


def difference(a: PhaseStats, b: PhaseStats, key: str) -> dict[str, Any]:
    """Value in ``a`` (reference) and ``b``, difference b−a, percent change and the variability verdict."""
    va, vb = a.values.get(key), b.values.get(key)
    out: dict[str, Any] = {"metric": key, "a": _clean(va), "b": _clean(vb), "difference": None,
                           "percent_change": None, "z": None, "verdict": "not available"}
    if va is None or vb is None:
        missing = a if va is None else b
        out["verdict"] = f"not available ({missing.reasons.get(key, 'no value')})"
        return out
    diff = float(vb) - float(va)
    out["difference"] = diff
    out["percent_change"] = 100.0 * diff / abs(float(va)) if va else None
    se_a, se_b = a.se(key), b.se(key)
    if se_a is None or se_b is None:
        out["verdict"] = "no variability estimate (phase too short for two windows)"
        return out
    se = math.hypot(se_a, se_b)
    if se == 0:
        out["verdict"] = "no variability estimate (constant)"
        return out
    z = diff / se
    out["z"] = z
    out["verdict"] = ("beyond within-phase variability" if abs(z) >= 2 else "uncertain" if abs(z) >= 1
                      else "within variability")
    return out


def compare(sessions: Sequence[ExchangeSession], *, by: str | None = None,
            participant: str | None = None) -> dict[str, Any]:
    """Compare sessions (``by="phase"``: phases of each session against its first phase; ``by="session"``:
    phases matched by name against the first session, plus a trend when there are 3 or more sessions).

    Returns a JSON-ready dict: ``mode``, ``metrics`` (key/label/unit, breathing rate first), ``sessions`` (per-
    phase values and SDs), ``comparisons`` (one per phase pair and metric) and, for 3+ sessions, ``trend``.
    """
    if not sessions:
        raise ValueError("no sessions to compare")
    mode = by or ("phase" if len(sessions) == 1 else "session")
    if mode not in ("phase", "session"):
        raise ValueError(f"unknown comparison {mode!r}: use phase or session")
    stats = [session_stats(s, participant) for s in sessions]
    comparisons: list[dict[str, Any]] = []
    if mode == "phase":
        for st in stats:
            ref = st.phases[0]
            for ph in st.phases[1:]:
                for key in METRIC_KEYS:
                    comparisons.append({"session": st.id, "reference": ref.name, "phase": ph.name,
                                        **difference(ref, ph, key)})
    else:
        ref_st = stats[0]
        for st in stats[1:]:
            for ph in st.phases:
                ref = ref_st.phase(ph.name)
                if ref is None:
                    continue
                for key in METRIC_KEYS:
                    comparisons.append({"reference": ref_st.id, "session": st.id, "phase": ph.name,
                                        **difference(ref, ph, key)})
    out: dict[str, Any] = {
        "mode": mode,
        "metrics": [{"key": k, "label": CATALOGUE[k].label, "unit": CATALOGUE[k].unit} for k in METRIC_KEYS],
        "sessions": [s.to_dict() for s in stats],
        "comparisons": comparisons,
        "method": "phase value: metrics engine over the whole phase; variability: SD over windows of W = 60 s "
                  "(half the phase, >= 30 s, for phases under 2 min) every W/2; z = difference / "
                  "sqrt(SE_a^2 + SE_b^2), SE = SD / sqrt(duration / W)",
    }
    if mode == "session" and len(stats) >= 3:
        out["trend"] = trend(stats)
    return out


def trend(stats: Sequence[SessionStats]) -> list[dict[str, Any]]:
    """Per phase name and metric: the values over sessions and the robust slope per week with its 95 % interval
    (:func:`biotrainer.analysis.trend.robust_slope`; None with the reason when the sessions are too few or too
    close together)."""
    from biotrainer.analysis.trend import day_of, robust_slope

    names: list[str] = []
    for st in stats:
        for ph in st.phases:
            if ph.name not in names:
                names.append(ph.name)
    out = []
    for name in names:
        for key in METRIC_KEYS:
            pts = []
            for st in stats:
                ph = st.phase(name)
                v = ph.values.get(key) if ph else None
                d = day_of(st.started_at)
                if v is not None and d is not None:
                    pts.append((d, float(v), st.id))
            slope = robust_slope([p[0] for p in pts], [p[1] for p in pts])
            out.append({"phase": name, "metric": key, "sessions": [p[2] for p in pts],
                        "values": [p[1] for p in pts], **slope.to_dict()})
    return out


def compare_sessions(library: Any, ids: Sequence[str], *, by: str | None = None,
                     participant: str | None = None) -> dict[str, Any]:
    """:func:`compare` for sessions of a :class:`biotrainer.store.Library` given by id (for the GUI and CLI)."""
    from biotrainer.exchange.library import load_session

    return compare([load_session(library, i) for i in ids], by=by, participant=participant)
