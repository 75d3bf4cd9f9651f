"""The feedback signal: one smoothed value in 0..1 per full update, shown to the person breathing.

It is a *physiological proxy* for how strongly heart rate follows the breath (or how regular the rhythm is), for
practice; it never says that a "safe", "calm" or any other state was detected (SCIENCE.md §9). Which signal is
chosen per protocol (``feedback_signal`` in the protocol file):

``rsa_vs_baseline``
    Per-breath heart-rate swing (``rsa.p2t_bpm_last``, HR max − min of the last complete breath) relative to this
    participant's own median per-breath swing during the protocol's baseline phase(s). The ratio r is mapped by
    ``0.5 + 0.5·log(r)/log(RSA_RATIO_FULL)``, clipped to 0..1: 0.5 = as in the baseline, 1 = three times the
    baseline swing, 0 = a third of it. Before a baseline exists the participant's first minute of swings serves
    as baseline (``labels['feedback.baseline']`` says which).
``coherence``
    Coherence ratio mapped by ``log(1 + CR) / log(1 + COHERENCE_FULL)`` (display scaling only; not calibrated).
``ln_rmssd``
    lnRMSSD relative to the baseline median: 0.5 at baseline, ±0.5 at ±``LN_RMSSD_SPAN`` (ln units).
``hr``
    Heart rate relative to baseline, inverted (lower HR → higher value): 0.5 at baseline, ±0.5 at ∓10 bpm.

Smoothing: exponential, time constant ``SMOOTHING_TAU_S`` (10 s) in session time, so update spacing does not
change the dynamics. When the raw value is unavailable the smoothed value is held and ``feedback.value`` is None
with a reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SIGNALS = ("rsa_vs_baseline", "coherence", "ln_rmssd", "hr", "none")
RSA_RATIO_FULL = 3.0
COHERENCE_FULL = 10.0
LN_RMSSD_SPAN = 0.7
HR_SPAN_BPM = 10.0
SMOOTHING_TAU_S = 10.0
PROVISIONAL_BASELINE_S = 60.0

_SOURCE_KEY = {"rsa_vs_baseline": "rsa.p2t_bpm_last", "coherence": "coherence.ratio", "ln_rmssd": "hrv.ln_rmssd",
               "hr": "hrv.hr_bpm"}


@dataclass
class FeedbackState:
    """Per-participant feedback state: baseline samples and the smoothed value."""

    signal: str = "rsa_vs_baseline"
    baseline_values: list[float] = field(default_factory=list)
    provisional_values: list[float] = field(default_factory=list)
    provisional_start_s: float | None = None
    smoothed: float | None = None
    last_t_s: float | None = None
    baseline_fixed: bool = False
    last_breath_end_s: float | None = None

    def baseline(self) -> tuple[float | None, str]:
        if self.baseline_values:
            return float(np.median(self.baseline_values)), "baseline phase"
        if self.provisional_values:
            return float(np.median(self.provisional_values)), "first minute (no baseline phase yet)"
        return None, ""


def observe(state: FeedbackState, values: dict[str, float | None], t_s: float, in_baseline: bool,
            breath_end_s: float | None = None) -> None:
    """Feed a full update's values into the baseline collection (baseline phase or provisional first minute).

    For ``rsa_vs_baseline`` each breath is counted once (``breath_end_s`` identifies it).
    """
    if state.signal in ("none", "coherence"):
        return
    v = values.get(_SOURCE_KEY[state.signal])
    if v is None:
        return
    if state.signal == "rsa_vs_baseline":
        if breath_end_s is None or breath_end_s == state.last_breath_end_s:
            return
        state.last_breath_end_s = breath_end_s
    if in_baseline:
        state.baseline_values.append(float(v))
        return
    if not state.baseline_values:
        if state.provisional_start_s is None:
            state.provisional_start_s = t_s
        if t_s - state.provisional_start_s <= PROVISIONAL_BASELINE_S:
            state.provisional_values.append(float(v))


def raw_value(state: FeedbackState, values: dict[str, float | None]) -> tuple[float | None, str]:
    """The unsmoothed 0..1 value, or ``(None, reason)``."""
    sig = state.signal
    if sig == "none":
        return None, "this protocol shows no feedback signal"
    v = values.get(_SOURCE_KEY[sig])
    if v is None:
        return None, f"{_SOURCE_KEY[sig]} unavailable"
    if sig == "coherence":
        return float(np.clip(math.log1p(max(v, 0.0)) / math.log1p(COHERENCE_FULL), 0.0, 1.0)), ""
    base, _ = state.baseline()
    if base is None:
        return None, "no baseline yet"
    if sig == "rsa_vs_baseline":
        if base <= 0 or v <= 0:
            return (0.0, "") if v <= 0 else (1.0, "")
        x = 0.5 + 0.5 * math.log(v / base) / math.log(RSA_RATIO_FULL)
    elif sig == "ln_rmssd":
        x = 0.5 + 0.5 * (v - base) / LN_RMSSD_SPAN
    else:  # hr
        x = 0.5 - 0.5 * (v - base) / HR_SPAN_BPM
    return float(np.clip(x, 0.0, 1.0)), ""


def update(state: FeedbackState, values: dict[str, float | None], t_s: float) -> tuple[float | None, str]:
    """Smoothed feedback value at ``t_s`` (exponential smoothing with time constant ``SMOOTHING_TAU_S``)."""
    x, why = raw_value(state, values)
    if x is None:
        return None, why
    if state.smoothed is None or state.last_t_s is None:
        state.smoothed = x
    else:
        a = 1.0 - math.exp(-max(0.0, t_s - state.last_t_s) / SMOOTHING_TAU_S)
        state.smoothed += a * (x - state.smoothed)
    state.last_t_s = t_s
    return float(state.smoothed), ""
