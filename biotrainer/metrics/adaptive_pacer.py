"""The closed-loop resonance pacer: move the pacer in small steps toward the rate with the largest heart-rate swing.

A bus listener for sessions whose protocol has a phase with ``pacer.adaptive`` (SCIENCE.md §3; the limits are the
protocol's :class:`~biotrainer.protocols.model.AdaptiveSpec`). It sees the guided participant's beats and the
session's pacer markers, and changes the rate through the protocol runner (``runner.change_rate``), which records
every change as an annotation with its reason (:mod:`biotrainer.protocols.runner`).

How it decides
--------------
- The time at one rate is a **dwell**. It is evaluated like a step of the stepped assessment
  (:func:`biotrainer.metrics.resonance.evaluate_step`, the first ``DWELL_SKIP_S`` dropped while breathing adjusts;
  the phase's first dwell drops ``FIRST_SKIP_S``): per-breath HR swing (RSA amplitude, Grossman/Lehrer), the LF
  peak height, the HR-breathing phase and the measured breathing rate.
- **Only while breathing follows the pacer**: a dwell whose breathing rate differs from the pacer by more than
  ``FOLLOW_LIMIT_PER_MIN`` (or cannot be measured, or has too many corrected beats) moves nothing; the pacer is held
  and that is recorded once ("pacer held: ..."), and the evidence starts again.
- **Where to go**: each rate's score is the mean of its RSA amplitude (per-breath HR swing) and its LF peak
  height (the heart rate's power at the pacing rate: the fitted sinusoid's swing squared), each relative to the
  largest seen. With three or more rates, the damped-resonance curve that fits the scores best gives the
  estimated best rate (:func:`best_rate_estimate`), probed a step below or above first until rates a step to
  either side of it have been seen; with one rate the pacer explores a slower one, with two it goes on past the
  better. The HR-breathing phase is not used: measured against the pacer it includes the
  person's reaction lag (in the simulator ≈ −20° at resonance), which would bias the rate.
- **How**: at most ``step_per_min`` per change, at least 0.1 /min, never more often than ``interval_s``, within
  the spec's limits, and from the next inhale on. When the estimate has stayed within 0.1 /min over three
  decisions in a row (three rates or more seen), the pacer has **converged** (recorded once, with the estimate);
  it goes on probing around it, which keeps adding evidence where it matters (stopping there locked in the
  noise of a few dwells: 23 instead of 26 of 30 simulated people within ±0.3 /min).
- **Therapist lock** (``runner.set_locked``): no change while locked.

:func:`assess_adaptive` reads a recorded session the same way: the dwells from the pacer markers, the pick (the
rate the pacer settled on) and whether it converged (its recorded marker).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biotrainer.core.events import SESSION, Annotation, Beat, Event, PacerMarker
from biotrainer.core.pacer import ADAPTIVE_AUTHOR, CONVERGED_PREFIX, HOLD_PREFIX

log = logging.getLogger(__name__)

DWELL_SKIP_S = 10.0  # the baroreflex resonance settles in ~1/(ζω₀) ≈ 9 s
FIRST_SKIP_S = 30.0
FOLLOW_LIMIT_PER_MIN = 0.5
MIN_STEP_PER_MIN = 0.1
RATE_GRID_PER_MIN = 0.05
STABLE_DECISIONS = 3
MIN_RATES_FOR_FIT = 3
FIT_QUALITIES = (0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
BRACKET_SHARE = 0.9


@dataclass
class Evidence:
    """What one rate showed: the dwells' results, pooled by duration."""

    rate_per_min: float
    p2t_bpm: list[tuple[float, float]] = field(default_factory=list)  # (value, weight)
    lf_peak: list[tuple[float, float]] = field(default_factory=list)  # fitted HR swing² at the pacer rate

    def mean(self, which: str) -> float | None:
        vals = getattr(self, which)
        w = sum(x[1] for x in vals)
        return sum(x[0] * x[1] for x in vals) / w if w > 0 else None


def scores(evidence: dict[float, Evidence]) -> dict[float, float]:
    """Score per rate: mean of RSA amplitude and LF peak height, each relative to its largest (0..1)."""
    p2t = {r: e.mean("p2t_bpm") for r, e in evidence.items()}
    lf = {r: e.mean("lf_peak") for r, e in evidence.items()}
    top_p = max((v for v in p2t.values() if v), default=0.0)
    top_l = max((v for v in lf.values() if v), default=0.0)
    out = {}
    for r in evidence:
        parts = [v / top for v, top in ((p2t[r], top_p), (lf[r], top_l)) if v is not None and top > 0]
        if parts:
            out[r] = float(np.mean(parts))
    return out


def resonance_shape(rates: np.ndarray, f0: float, q: float) -> np.ndarray:
    """Relative amplitude of a damped resonance at ``f0`` with quality ``q`` (1 at ``f0``; Lehrer & Vaschillo's
    baroreflex model, :mod:`biotrainer.sources.sim.body`)."""
    x = rates / f0 - f0 / rates
    return 1.0 / np.sqrt(1.0 + (q * x) ** 2)


def best_rate_estimate(evidence: dict[float, Evidence], lo: float, hi: float, step: float) -> tuple[float, str]:
    """The estimated best rate from three or more rates: the resonance curve (gain, centre, quality; least squares
    over a grid, weighted by each rate's time) that fits the scores best, its centre limited to one step beyond the
    rates seen and to ``lo``-``hi``."""
    sc = scores(evidence)
    rates = np.array(sorted(sc))
    y = np.array([sc[r] for r in rates])
    w = np.array([sum(x[1] for x in evidence[r].p2t_bpm) or 1.0 for r in rates])
    best_err, best_f0 = math.inf, float(rates[int(np.argmax(y))])
    for f0 in np.arange(max(lo, rates[0] - step), min(hi, rates[-1] + step) + 1e-9, 0.01):
        for q in FIT_QUALITIES:
            shape = resonance_shape(rates, f0, q)
            gain = float(np.sum(w * shape * y) / np.sum(w * shape * shape))
            err = float(np.sum(w * (y - gain * shape) ** 2))
            if err < best_err:
                best_err, best_f0 = err, float(f0)
    return best_f0, f"resonance curve through {rates.size} rates peaks at {best_f0:.2f}/min"


class AdaptivePacer:
    """Bus listener that drives ``runner``'s adaptive phases (module docstring).

    ``participant``: whose beats count (default: the first participant whose beat arrives).
    """

    def __init__(self, runner: Any, participant: str | None = None) -> None:
        self.runner = runner
        self.participant = participant
        self._beat_t: list[float] = []
        self._rr: list[float] = []
        self._pacer: list[tuple[float, str, float, float]] = []
        self._phase_index: int | None = None
        self._dwell_start_s = 0.0
        self._first_dwell = True
        self._continuing = False  # the dwell goes on at the same rate: nothing to skip
        self._next_decision_s = math.inf
        self._estimates: list[float] = []
        self._holding = False
        self.converged = False
        self.evidence: dict[float, Evidence] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, PacerMarker):
            self._pacer.append((float(event.t_s), event.segment, float(event.duration_s), float(event.rate_per_min)))
            return
        if not isinstance(event, Beat) or event.participant == SESSION:
            return
        if self.participant is None:
            self.participant = event.participant
        if event.participant != self.participant:
            return
        self._beat_t.append(float(event.beat_t_s))
        self._rr.append(float(event.rr_ms))
        self._maybe_decide(float(event.t_s))

    def close(self) -> None:
        """Nothing to release; kept for the bus contract."""

    # --- decisions ----------------------------------------------------------------------------------------------

    def _maybe_decide(self, t_s: float) -> None:
        found = self.runner.adaptive_at(t_s)
        if found is None:
            return
        state, spec = found
        if state.index != self._phase_index:  # a new adaptive phase: settle first
            self._phase_index = state.index
            self._dwell_start_s = t_s - state.elapsed_s
            self._first_dwell = True
            self._next_decision_s = self._dwell_start_s + spec.settle_s
            self.evidence, self.converged, self._holding = {}, False, False
            self._estimates = []
        if t_s < self._next_decision_s:
            return
        self._next_decision_s = t_s + spec.interval_s
        if self.runner.locked:
            return
        self._decide(t_s, state, spec)

    def _evaluate(self, t_s: float, rate: float) -> Any:
        from biotrainer.metrics.resonance import evaluate_step
        from biotrainer.metrics.streams import Streams

        streams = Streams(beat_t_s=np.asarray(self._beat_t), rr_ms=np.asarray(self._rr), pacer=list(self._pacer))
        skip = 0.0 if self._continuing else (FIRST_SKIP_S if self._first_dwell else DWELL_SKIP_S)
        return evaluate_step(streams, f"{rate:g}/min", rate, self._dwell_start_s, t_s, skip)

    def _decide(self, t_s: float, state: Any, spec: Any) -> None:
        rate = float(state.rate_per_min)
        res = self._evaluate(t_s, rate)
        adh = res.adherence_per_min
        if not res.included or adh is None or abs(adh) > FOLLOW_LIMIT_PER_MIN:
            self._hold(t_s, rate, res)
            return
        self._holding = False
        self._add_evidence(rate, res, t_s)
        target, why = self._target(rate, res, spec)
        if not self.converged and self._settled():  # recorded once; the pacer keeps probing around it
            self.converged = True
            est = round(round(self._estimates[-1] / RATE_GRID_PER_MIN) * RATE_GRID_PER_MIN, 4)
            self.runner.note(t_s, f"{CONVERGED_PREFIX} at {est:g}/min: estimate steady over "
                                  f"{STABLE_DECISIONS} decisions ({why})")
        delta = float(np.clip(target - rate, -spec.step_per_min, spec.step_per_min))
        new = round(round((rate + delta) / RATE_GRID_PER_MIN) * RATE_GRID_PER_MIN, 4)
        new = float(np.clip(new, spec.min_rate_per_min, spec.max_rate_per_min))
        if abs(new - rate) < MIN_STEP_PER_MIN - 1e-9:
            return
        boundary = self.runner.change_rate(t_s, new, self._reason(rate, res, why))
        if boundary is not None:
            self._dwell_start_s = boundary
            self._first_dwell = self._continuing = False
            self._next_decision_s = boundary + spec.interval_s

    def _settled(self) -> bool:
        """The last ``STABLE_DECISIONS`` estimates (three rates or more seen) lie within ``MIN_STEP_PER_MIN``."""
        last = self._estimates[-STABLE_DECISIONS:]
        return len(last) == STABLE_DECISIONS and max(last) - min(last) < MIN_STEP_PER_MIN

    def _hold(self, t_s: float, rate: float, res: Any) -> None:
        """Breathing does not follow the pacer (or the dwell is unusable): no change; evidence starts again."""
        if not self._holding:
            got = res.breathing_rate_per_min
            what = (f"breathing {got:.1f}/min does not follow the pacer {rate:g}/min" if got is not None
                    else (res.excluded_because or "breathing rate unknown"))
            self.runner.note(t_s, f"{HOLD_PREFIX} at {rate:g}/min: {what}")
        self._holding = True
        self._dwell_start_s = t_s
        self._first_dwell = self._continuing = False

    def _add_evidence(self, rate: float, res: Any, t_s: float) -> None:
        ev = self.evidence.setdefault(rate, Evidence(rate))
        weight = max(1.0, t_s - res.start_s)
        if res.p2t_bpm is not None:
            ev.p2t_bpm.append((float(res.p2t_bpm), weight))
        if res.hr_fit_swing_bpm is not None:
            ev.lf_peak.append((float(res.hr_fit_swing_bpm) ** 2, weight))
        self._dwell_start_s = t_s  # the next decision at this rate adds only new data
        self._first_dwell, self._continuing = False, True

    def _target(self, rate: float, res: Any, spec: Any) -> tuple[float, str]:
        lo, hi, step = spec.min_rate_per_min, spec.max_rate_per_min, spec.step_per_min
        if len(self.evidence) >= MIN_RATES_FOR_FIT:
            est, why = best_rate_estimate(self.evidence, lo, hi, step)
            self._estimates.append(est)
            seen = sorted(self.evidence)
            # the estimate needs rates seen on both sides of it (a step away): probe the side that has none
            if est - seen[0] < BRACKET_SHARE * step and est - step >= lo - 1e-9:
                return est - step, f"{why}; probing below it"
            if seen[-1] - est < BRACKET_SHARE * step and est + step <= hi + 1e-9:
                return est + step, f"{why}; probing above it"
            return est, why
        sc = scores(self.evidence)
        if len(sc) == 2:
            (r1, _), (r2, _) = sorted(sc.items(), key=lambda kv: -kv[1])
            return r1 + math.copysign(step, r1 - r2), f"larger swing at {r1:g} than at {r2:g}/min"
        return rate - step, "exploring a slower rate"

    @staticmethod
    def _reason(rate: float, res: Any, why: str) -> str:
        parts = [why]
        if res.p2t_bpm is not None:
            parts.append(f"HR swing {res.p2t_bpm:.1f} bpm at {rate:g}/min")
        if res.hr_fit_swing_bpm is not None:
            parts.append(f"fitted HR swing {res.hr_fit_swing_bpm:.1f} bpm")
        if res.breathing_rate_per_min is not None:
            parts.append(f"breathing {res.breathing_rate_per_min:.2f}/min")
        return "; ".join(parts)


# --- a recorded session ---------------------------------------------------------------------------------------------

def adaptive_dwells(streams: Any, phase: Any) -> list[tuple[float, float, float]]:
    """The constant-rate spans ``(rate_per_min, start_s, end_s)`` of a recorded adaptive phase (from its pacer
    markers)."""
    marks = [(t, r) for t, _seg, _d, r in streams.pacer if phase.start_s - 1e-9 <= t < phase.end_s]
    spans: list[tuple[float, float, float]] = []
    for t, r in marks:
        if not spans or abs(spans[-1][0] - r) > 1e-9:
            if spans:
                spans[-1] = (spans[-1][0], spans[-1][1], t)
            spans.append((r, t, phase.end_s))
    return spans


def assess_adaptive(streams: Any, phase: Any, annotations: list[Annotation]) -> Any:
    """The assessment of a recorded adaptive phase: each dwell evaluated as a step; ``converged`` = the pacer
    recorded its convergence, and the pick is then the rate it recorded, else the pacer's last rate."""
    from biotrainer.metrics.resonance import Assessment, evaluate_step

    steps = []
    for i, (rate, start, end) in enumerate(adaptive_dwells(streams, phase)):
        if math.isfinite(end) and end - start > DWELL_SKIP_S + 10.0:
            skip = FIRST_SKIP_S if i == 0 else DWELL_SKIP_S
            steps.append(evaluate_step(streams, f"dwell-{i + 1}", rate, start, end, skip))
    marks = [a for a in annotations if a.author == ADAPTIVE_AUTHOR and a.text.startswith(CONVERGED_PREFIX)
             and phase.start_s <= a.t_s <= phase.end_s]
    spans = adaptive_dwells(streams, phase)
    pick = spans[-1][0] if spans else None
    if marks:  # "pacer converged at 5.45/min: ..."
        pick = float(marks[-1].text[len(CONVERGED_PREFIX):].split("/min")[0].replace("at", "").strip())
    converged = bool(marks)
    reason = "" if pick is not None else "no pacer markers in the adaptive phase"
    return Assessment(pick, steps, reason, converged=converged, kind="adaptive")
