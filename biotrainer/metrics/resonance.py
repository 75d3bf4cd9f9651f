"""Resonance-frequency assessment (SCIENCE.md §3): per-step criteria table and a ranked pick.

For each paced assessment step (phases flagged ``assessment_step`` in the protocol; by default every paced phase),
the first ``skip_s`` seconds (``analysis_skip_s``, 30 s) are dropped while breathing settles, and on the rest:

=========================  =================================================================================
``p2t_bpm``                mean per-breath HR max − min over pacer breaths aligned on the HR lag (:mod:`.rsa`; primary)
``phase_deg``              HR phase relative to the pacer's lung volume at the pacer frequency (0° best; primary)
``hr_fit_swing_bpm``       peak-to-trough of the HR sinusoid fitted at the pacer frequency (least squares; not ranked)
``lf_ms2``                 NN power 0.04-0.15 Hz (zero-padded Hann periodogram of the step; for comparing steps)
``lf_peak_ms2_hz``         the LF spectral maximum (ms²/Hz), ``lf_peak_hz`` its frequency
``smoothness``             share of 0.04-0.40 Hz power within ±0.015 Hz of the pacer frequency (sinusoidal HR)
``single_peak``            1 when the LF band has one dominant peak (no other local maximum ≥ 50 % of it)
``breathing_rate_per_min`` estimated breathing rate; ``adherence_per_min`` its difference from the pacer
``corrected_pct``          share of beats corrected by artifact handling
=========================  =================================================================================

Ranking (design choice; Lehrer 2013 compares the pattern across rates): steps whose breathing deviates from the
pacer by more than ``ADHERENCE_LIMIT_PER_MIN`` or with more than 5 % corrected beats are excluded. Each criterion
ranks the remaining steps (1 = best: largest P2T, |phase| smallest, largest LF power, largest LF peak, smoothest;
single peak before multiple). The score is the weighted mean rank (weights :data:`WEIGHTS`: P2T and phase 2,
the others 1); the pick is the lowest score, ties going to the larger P2T. A 2-min step resolves 0.0083 Hz, one
0.5/min step, which is why time-domain P2T and phase weigh most.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from biotrainer.metrics import artifacts as art
from biotrainer.metrics.streams import Streams
from biotrainer.metrics.window import ADHERENCE_LIMIT_PER_MIN

DEFAULT_SKIP_S = 30.0
MAX_CORRECTED_PCT = 5.0
SMOOTH_HALF_WIDTH_HZ = 0.015
WEIGHTS = {"p2t_bpm": 2.0, "phase_deg": 2.0, "lf_ms2": 1.0, "lf_peak_ms2_hz": 1.0, "smoothness": 1.0,
           "single_peak": 0.5}


@dataclass
class StepResult:
    """Criteria of one assessment step (None with a reason in ``reasons`` when not computable)."""

    name: str
    rate_per_min: float
    start_s: float
    end_s: float
    n_beats: int = 0
    n_breaths: int = 0
    p2t_bpm: float | None = None
    p2t_ms: float | None = None
    phase_deg: float | None = None
    #: peak-to-trough of the heart-rate sinusoid fitted at the pacer frequency (bpm): the RSA amplitude at the
    #: pacing rate (its square is the heart rate's power there, the height of the LF peak); least squares over
    #: every beat, so steadier than the per-breath swing
    hr_fit_swing_bpm: float | None = None
    lf_ms2: float | None = None
    lf_peak_ms2_hz: float | None = None
    lf_peak_hz: float | None = None
    smoothness: float | None = None
    single_peak: float | None = None
    breathing_rate_per_min: float | None = None
    adherence_per_min: float | None = None
    corrected_pct: float | None = None
    included: bool = True
    excluded_because: str = ""
    ranks: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass
class Assessment:
    """The assessment: ``pick_rate_per_min`` (None with ``reason`` when no step qualifies) and the table."""

    pick_rate_per_min: float | None
    steps: list[StepResult]
    reason: str = ""
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    #: ``stepped`` (ranked steps) or ``adaptive`` (the closed-loop pacer's dwells: :mod:`.adaptive_pacer`)
    kind: str = "stepped"
    #: adaptive: the pacer recorded its convergence; stepped: a step qualified
    converged: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        converged = self.pick_rate_per_min is not None if self.converged is None else self.converged
        return clean({"kind": self.kind, "pick_rate_per_min": self.pick_rate_per_min,
                      "pick_per_min": self.pick_rate_per_min, "converged": converged, "reason": self.reason,
                      "weights": self.weights, "steps": [asdict(s) for s in self.steps]})


def _step_spectrum(t_s: np.ndarray, nn_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import detrend

    from biotrainer.metrics.frequency import resample_rr

    fs = 4.0
    _, y = resample_rr(t_s, nn_ms, fs)
    y = detrend(y, type="linear")
    w = np.hanning(y.size)
    nfft = max(4096, y.size)
    spec = np.abs(np.fft.rfft(y * w, nfft)) ** 2 / (fs * np.sum(w * w))
    spec[1:] *= 2  # one-sided density, ms²/Hz
    return np.fft.rfftfreq(nfft, 1.0 / fs), spec


def _integral(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    m = (f >= lo) & (f < hi)
    return float(p[m].sum() * (f[1] - f[0]))


def evaluate_step(streams: Streams, name: str, rate_per_min: float, start_s: float, end_s: float,
                  skip_s: float = DEFAULT_SKIP_S) -> StepResult:
    """Criteria of one paced step ``(start_s + skip_s, end_s]``."""
    from biotrainer.metrics import breathing as br
    from biotrainer.metrics import rsa
    from biotrainer.metrics.window import pacer_volume, select

    res = StepResult(name, float(rate_per_min), start_s + skip_s, end_s)
    lo, hi = start_s + skip_s, end_s
    sl = select(streams.beat_t_s, lo, hi)
    t, rr = streams.beat_t_s[sl], streams.rr_ms[sl]
    res.n_beats = int(rr.size)
    if rr.size < 16:
        res.included, res.excluded_because = False, f"{rr.size} beats in the step"
        return res
    corr = art.correct_rr(rr, t)
    res.corrected_pct = 100.0 * np.count_nonzero(corr.flags) / rr.size
    nn, nn_t = corr.rr_corrected_ms, corr.beat_t_corrected_s
    f_p = rate_per_min / 60.0
    segments = [(p[0], p[1], p[2]) for p in streams.pacer if start_s - 1e-9 <= p[0] <= end_s]
    breaths = [b for b in rsa.breaths_from_pacer(segments) if b.inhale_start_s >= lo]
    per, _ = rsa.aligned_breath_rsa(nn_t, nn, breaths)
    res.n_breaths = len(per)
    if per:
        res.p2t_bpm = float(np.mean([b.p2t_bpm for b in per]))
        res.p2t_ms = float(np.mean([b.p2t_ms for b in per]))
    else:
        res.reasons["p2t_bpm"] = "no complete pacer breath in the step"
    tv = np.arange(lo, hi, 0.25)
    vol = pacer_volume(segments, tv)
    ok = np.isfinite(vol)
    if np.count_nonzero(ok) > 16:
        res.phase_deg = br.hr_breathing_phase_deg(nn_t, nn, tv[ok], vol[ok], f_p)
    if res.phase_deg is None:
        res.reasons["phase_deg"] = "no pacer volume or too few beats"
    mid_t = nn_t - nn / 2000.0  # an interval's heart rate belongs to its middle
    _, amp_bpm = br.sinusoid_phase_rad(mid_t, 60000.0 / nn, f_p)
    res.hr_fit_swing_bpm = 2.0 * amp_bpm
    f, p = _step_spectrum(nn_t, nn)
    res.lf_ms2 = _integral(f, p, 0.04, 0.15)
    lf = (f >= 0.04) & (f < 0.15)
    k = int(np.argmax(np.where(lf, p, -np.inf)))
    res.lf_peak_ms2_hz, res.lf_peak_hz = float(p[k]), float(f[k])
    total = _integral(f, p, 0.04, 0.40)
    near = _integral(f, p, f_p - SMOOTH_HALF_WIDTH_HZ, f_p + SMOOTH_HALF_WIDTH_HZ + 1e-12)
    res.smoothness = near / total if total > 0 else None
    band = p[lf]
    local = np.flatnonzero((band[1:-1] > band[:-2]) & (band[1:-1] >= band[2:])) + 1
    big = [i for i in local if band[i] >= 0.5 * band.max()]
    res.single_peak = 1.0 if len(big) <= 1 else 0.0
    est = br.rate_from_rr(nn_t, nn, pacer_rate_per_min=rate_per_min)
    res.breathing_rate_per_min = est.rate_per_min
    res.adherence_per_min = br.adherence(est.rate_per_min, rate_per_min)
    if res.adherence_per_min is None:
        res.reasons["adherence_per_min"] = est.reason or "breathing rate unknown"
    elif abs(res.adherence_per_min) > ADHERENCE_LIMIT_PER_MIN:
        res.included = False
        res.excluded_because = (f"breathing {est.rate_per_min:.1f}/min differs from the pacer "
                                f"{rate_per_min:g}/min by more than {ADHERENCE_LIMIT_PER_MIN:g}/min")
    if res.corrected_pct > MAX_CORRECTED_PCT:
        res.included = False
        res.excluded_because = f"{res.corrected_pct:.1f} % of beats corrected (limit {MAX_CORRECTED_PCT:g} %)"
    if res.p2t_bpm is None:
        res.included, res.excluded_because = False, res.reasons["p2t_bpm"]
    return res


def _ranks(values: list[float | None], better_high: bool) -> list[float]:
    """Average ranks (1 = best); None ranks last."""
    n = len(values)
    keyed = [(-(v if better_high else -v) if v is not None else math.inf) for v in values]
    order = sorted(range(n), key=lambda i: keyed[i])
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and keyed[order[j + 1]] == keyed[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def rank_steps(steps: list[StepResult]) -> Assessment:
    """Rank the included steps and pick one (see module docstring)."""
    pool = [s for s in steps if s.included]
    if not pool:
        why = "; ".join(f"{s.name}: {s.excluded_because}" for s in steps) or "no assessment steps in the session"
        return Assessment(None, steps, f"no step qualifies ({why})")
    columns = {
        "p2t_bpm": ([s.p2t_bpm for s in pool], True),
        "phase_deg": ([abs(s.phase_deg) if s.phase_deg is not None else None for s in pool], False),
        "lf_ms2": ([s.lf_ms2 for s in pool], True),
        "lf_peak_ms2_hz": ([s.lf_peak_ms2_hz for s in pool], True),
        "smoothness": ([s.smoothness for s in pool], True),
        "single_peak": ([s.single_peak for s in pool], True),
    }
    total_w = sum(WEIGHTS.values())
    for name, (vals, high) in columns.items():
        for s, r in zip(pool, _ranks(vals, high), strict=True):
            s.ranks[name] = r
    for s in pool:
        s.score = sum(WEIGHTS[k] * s.ranks[k] for k in WEIGHTS) / total_w
    best = min(pool, key=lambda s: (s.score, -(s.p2t_bpm or 0.0)))
    return Assessment(best.rate_per_min, steps, "")


def assess(streams: Streams, steps: list[tuple[str, float, float, float]] | None = None,
           skip_s: float | dict[str, float] = DEFAULT_SKIP_S) -> Assessment:
    """Resonance assessment of a recorded session.

    Parameters
    ----------
    streams : Streams
        The participant's session (beats, pacer markers, phases).
    steps : list of (name, rate_per_min, start_s, end_s), optional
        The assessment steps; default: every paced phase in ``streams.phases``.
    skip_s : float or dict
        Seconds dropped at each step start (a dict maps step name → seconds).

    Returns
    -------
    Assessment
        The pick and the criteria table. Store the pick with the participants register
        (``ParticipantStore.set_resonance_rate``) — :func:`store_pick` does.
    """
    if steps is None:
        steps = [(p.name, float(p.rate_per_min), p.start_s, p.end_s) for p in streams.phases
                 if p.paced and p.rate_per_min is not None and math.isfinite(p.end_s)]
    results = []
    for name, rate, start, end in steps:
        skip = skip_s.get(name, DEFAULT_SKIP_S) if isinstance(skip_s, dict) else float(skip_s)
        results.append(evaluate_step(streams, name, rate, start, end, skip))
    return rank_steps(results)


def store_pick(participants: Any, pseudonym: str, assessment: Assessment, session_id: str | None = None) -> Any:
    """Store the pick as the participant's personal resonance rate (``ParticipantStore.set_resonance_rate``).

    Raises ValueError when the assessment has no pick.
    """
    if assessment.pick_rate_per_min is None:
        raise ValueError(f"no resonance rate to store: {assessment.reason}")
    return participants.set_resonance_rate(pseudonym, assessment.pick_rate_per_min, session_id=session_id)


def assess_session(streams: Streams, protocol: Any = None) -> Assessment:
    """Assessment using the protocol's ``assessment_step`` phases and their ``analysis_skip_s``.

    ``protocol`` is a loaded :class:`~biotrainer.protocols.model.Protocol` (e.g. parsed from the session header's
    ``protocol_toml``); without one, every paced phase is a step and 30 s are skipped.
    """
    if protocol is None:
        return assess(streams)
    wanted = {p.name: float(p.analysis_skip_s) for p in protocol.assessment_steps}
    steps = [(p.name, float(p.rate_per_min), p.start_s, p.end_s) for p in streams.phases
             if p.name in wanted and p.rate_per_min is not None and math.isfinite(p.end_s)]
    if not steps:
        return Assessment(None, [], "the session has no completed assessment step")
    return assess(streams, steps, wanted)
