"""Breathing rate from RR (RSA), chest accelerometer and ECG (EDR: R amplitude, QRS area); pacer adherence and HR-breathing phase.

Rate: count breaths in the time domain, then fuse by agreement (SCIENCE.md §5)
----------------------------------------------------------------------------

Each source gives one respiration-bearing signal, sampled evenly:

- ``rr``: NN intervals, cubic spline at 4 Hz (respiratory sinus arrhythmia);
- ``ecg``: ECG-derived respiration, the R-wave amplitude per beat (read at the apex interpolated ×8 around the
  sampled maximum: at 130 Hz the apex falls between samples, :func:`r_apex_amplitudes`), spline at 4 Hz;
- ``qrs``: ECG-derived respiration, the QRS area per beat (Charlton et al. 2016): the ECG interpolated around the
  R apex (as for R amplitude), integrated over ± ``QRS_HALF_WIDTH_S`` above the line joining the window's ends
  (:func:`qrs_areas`), spline at 4 Hz. It follows the electrical axis's rotation with breathing (R and S move in
  opposite directions) and a wide window is less hurt by one noisy sample at the apex (electrode motion), while
  R amplitude does not depend on the local baseline: the two fail differently and are fused as two sources;
- ``acc``: the chest accelerometer, 0.7 Hz low-pass, decimated to 10 Hz, first principal component of x/y/z;
  seconds with motion (jerk far above the breathing movement) are detected and cut out, with
  ``ACC_MOTION_MARGIN_S`` either side: breaths are counted on each still stretch of at least ``ACC_MIN_STILL_S``
  (its own low-pass and principal component: a movement would otherwise turn the component towards itself), and
  the stretches' rates are averaged by their length. Less than ``ACC_MIN_STILL_SHARE`` of the window still:
  no ACC rate.

On each signal breaths are **counted** (Schäfer & Kratky 2008, "count-adv"): band-pass (zero-phase Butterworth),
all local maxima and minima, then the pair of neighbouring extrema with the smallest height difference is removed
while any difference is below ``COUNT_REL_THRESHOLD`` × the median of all differences (≈ count-adv's 0.1 × the
upper quartile on regular breathing; the median is not pulled up by a sigh's large heart-rate swing). What is left
alternates peak, trough, peak…; the rate is 60 / the mean of the peak-to-peak and trough-to-trough intervals
(whole cycles: edges do not count half breaths). A spectral maximum is not used: on real, irregular breathing it
picks Mayer waves and the heart-rate response to sighs and pauses.

- **Free breathing** (no pacer): the band is ``FREE_BAND_HZ`` (8-42 /min, and below the heart-rate Nyquist
  limit for RR and EDR): no estimate from a band that starts below ~8 /min, where Mayer waves live.
  Exception: slow breathing without a pacer (a count from 3 /min up is below 8 /min and its breaths are
  ``SLOW_HEIGHT_RATIO`` times taller than the free band's): that count stands, at reduced confidence.
- **Paced breathing**: the pacer rate is the prior. Breaths are counted in the pacer's own band (0.6-1.6 ×
  pacer); when that count is within ``PACED_FOLLOW_PER_MIN`` of the pacer and the band holds at least
  ``PACED_MIN_SHARE`` of the signal's variance in a wide band (0.6 × pacer up to 2.5 × pacer or 21 /min), the
  person follows the pacer and that count stands; otherwise breaths are counted in the wide band (someone who
  does not follow), and adherence shows it.

Each source's ``confidence`` (0..1) is the agreement of its two counts (peak-to-peak and trough-to-trough), times
the share of the window with data. :func:`fuse` then combines the sources that fail in different ways (RR vs
ECG amplitude vs QRS area vs ACC; Charlton et al. 2016 "smart fusion"): the largest group within ``AGREE_PER_MIN`` of each
other gives the mean rate, ``source`` names the group (``acc+rr``), and the confidence is the agreement: the
group's share of the sources with a rate times how tight it is. Sources that disagree give **no rate**, with the
reason naming each source's count. A single source (a strap that sends only RR) stands alone, with at most half
confidence: nothing confirmed it.

Design notes: at ~0.1 Hz Mayer waves and breathing are indistinguishable in RR, so in paced breathing the pacer
band decides. HR-breathing phase is the phase of heart rate minus the phase of lung volume at the breathing
frequency, in degrees in (-180, 180]; 0° means HR peaks at full lungs (resonance, SCIENCE.md §3); positive means
HR leads. Each interval's heart rate is placed at the middle of the interval.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np

FREE_BAND_HZ = (0.133, 0.7)
#: Paced breathing without a known pacer rate (``paced=True`` only): the resonance range 3-12 /min.
BAND_PACED_HZ = (0.05, 0.2)
#: No pacer, yet breathing slower than 8 /min (the wide band's breaths this many times taller than the free band's):
#: someone breathing slowly on their own; the wide count stands, at SLOW_CONFIDENCE_SHARE of the confidence.
SLOW_HEIGHT_RATIO = 3.0
SLOW_CONFIDENCE_SHARE = 0.6
PACED_WIDE_LOW = 0.6  # × pacer frequency: the wide band's lower edge
PACED_WIDE_TOP, PACED_WIDE_TOP_HZ = 2.5, 0.35  # its top: 2.5 × pacer, at least 21 /min (someone breathing freely)
PACED_BAND = (0.6, 1.6)  # × pacer frequency: the pacer's own band
PACED_FOLLOW_PER_MIN = 1.5
#: Following the pacer: the pacer band holds at least this share of the wide band's variance.
PACED_MIN_SHARE = 0.5
#: Breath phases for per-breath RSA at a known rate: extrema counted in this band (× the rate) — wide, because
#: real breath lengths vary by ±40 % and more.
BREATH_PHASE_BAND = (0.6, 1.8)
#: count-adv: extrema pairs smaller than this share of the COUNT_PERCENTILE-th percentile of all
#: extremum-to-extremum heights go.
COUNT_REL_THRESHOLD = 0.15
COUNT_PERCENTILE = 50
#: RR and EDR are sampled once per beat: breathing must stay below this share of half the heart rate.
HEART_NYQUIST_SHARE = 0.9
AGREE_PER_MIN = 3.0
SINGLE_SOURCE_MAX_CONFIDENCE = 0.5
MIN_CONFIDENCE = 0.2
ACC_LOWPASS_HZ = 0.7
ACC_DECIMATED_HZ = 10.0
#: Motion is cut out of the ACC count with this margin (s) either side of each moving second; still stretches
#: shorter than ACC_MIN_STILL_S are not counted; with less than ACC_MIN_STILL_SHARE of the window in counted still
#: stretches there is no ACC rate.
ACC_MOTION_MARGIN_S = 1
ACC_MIN_STILL_S = 15
ACC_MIN_STILL_SHARE = 0.5
#: A second of accelerometer data is motion when its jerk (mg/s, summed over axes) exceeds this many times the
#: window's ACC_MOTION_REFERENCE_PERCENTILE-th percentile second (a still one while the wearer moves less than
#: 80 % of the window): breathing is slow and smooth, a movement is not.
ACC_MOTION_RATIO = 4.0
ACC_MOTION_REFERENCE_PERCENTILE = 20
ACC_MOTION_FLOOR_MG_S = 150.0
#: QRS area: integrated over this many seconds either side of the interpolated R apex (Q to S at rest).
QRS_HALF_WIDTH_S = 0.05
#: The QRS-area integral's points per ECG sample.
QRS_UPSAMPLE = 4
SOURCES = ("acc", "ecg", "qrs", "rr")


@dataclass(frozen=True)
class RateEstimate:
    """A breathing rate estimate. ``rate_per_min`` is None when not estimable (``reason`` says why).

    ``breath_t_s``: times (s from the signal's first sample, or session time when the caller gave ``t0_s``) of
    the counted breaths' peaks, for display and checking.
    """

    rate_per_min: float | None
    confidence: float
    source: str
    reason: str = ""
    n_breaths: int = 0
    breath_t_s: tuple[float, ...] = field(default=(), compare=False, repr=False)


@functools.lru_cache(maxsize=256)
def _butter_sos(order: int, lo_hz: float, hi_hz: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Band-pass second-order sections and their step-response initial state (both cached)."""
    from scipy.signal import butter, sosfilt_zi

    sos = butter(order, (lo_hz, hi_hz), btype="bandpass", fs=fs_hz, output="sos")
    return sos, sosfilt_zi(sos)


def _bandpass(x: np.ndarray, fs_hz: float, band_hz: tuple[float, float], order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass: forward-backward ``sosfilt`` with odd extension, as
    ``scipy.signal.sosfiltfilt`` (same padding rule), with the filter design and initial state cached."""
    from scipy.signal import sosfilt

    x = np.asarray(x, dtype=float)
    hi = min(band_hz[1], 0.45 * fs_hz)
    sos, zi = _butter_sos(order, round(float(band_hz[0]), 6), round(float(hi), 6), float(fs_hz))
    padlen = min(x.size - 1, 3 * (2 * sos.shape[0] + 1) * 10)
    if padlen > 0:
        ext = np.concatenate((2 * x[0] - x[padlen:0:-1], x, 2 * x[-1] - x[-2:-padlen - 2:-1]))
    else:
        ext = x
    y, _ = sosfilt(sos, ext, zi=zi * ext[0])
    y = y[::-1]
    y, _ = sosfilt(sos, y, zi=zi * y[0])
    y = y[::-1]
    return y[padlen:ext.size - padlen] if padlen > 0 else y


def _detrend(x: np.ndarray) -> np.ndarray:
    """Remove the least-squares line."""
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 2:
        return x - x.mean() if n else x
    t = np.arange(n, dtype=float) - (n - 1) / 2.0
    slope = float(np.dot(t, x - x.mean()) / np.dot(t, t))
    return x - x.mean() - slope * t


# --- counting breaths ---------------------------------------------------------------------------------------------

def _extrema(y: np.ndarray) -> np.ndarray:
    """Indices of the local maxima and minima of ``y`` in time order (plateaus count once)."""
    d = np.diff(y)
    s = np.sign(d)
    nz = np.flatnonzero(s)
    if nz.size < 2:
        return np.zeros(0, dtype=int)
    s_nz = s[nz]
    change = np.flatnonzero(s_nz[1:] != s_nz[:-1])
    return nz[change + 1]  # the first sample after the turn: the extremum itself


def prune_extrema(y: np.ndarray, idx: np.ndarray, rel_threshold: float = COUNT_REL_THRESHOLD) -> np.ndarray:
    """count-adv (Schäfer & Kratky 2008): drop the neighbouring pair of extrema with the smallest height difference
    while any difference is below ``rel_threshold`` × the ``COUNT_PERCENTILE``-th percentile of all differences."""
    idx = np.asarray(idx, dtype=int)
    if idx.size < 3:
        return idx
    heights = np.abs(np.diff(y[idx]))
    limit = rel_threshold * float(np.percentile(heights, COUNT_PERCENTILE))
    keep = list(idx)
    vals = [float(y[i]) for i in keep]
    diffs = [abs(b - a) for a, b in zip(vals[:-1], vals[1:], strict=True)]
    while len(keep) > 2 and diffs:
        k = int(np.argmin(diffs))
        if diffs[k] >= limit:
            break
        # remove extrema k and k+1, recompute the one difference that now joins their neighbours
        del keep[k:k + 2]
        del vals[k:k + 2]
        lo, hi = max(k - 1, 0), min(k + 2, len(diffs))
        new = [abs(vals[k] - vals[k - 1])] if 0 < k < len(vals) else []
        diffs[lo:hi] = new
    return np.asarray(keep, dtype=int)


def _filtered_extrema(x: np.ndarray, fs_hz: float,
                      band_hz: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(y, peaks, troughs)``: ``x`` band-passed to ``band_hz`` and its counted (count-adv) peaks and troughs,
    which alternate; None when there are fewer than three extrema."""
    x = np.asarray(x, dtype=float)
    hi = min(band_hz[1], 0.45 * fs_hz)
    if x.size < 16 or hi <= band_hz[0]:
        return None
    y = _bandpass(_detrend(x), fs_hz, (band_hz[0], hi))
    ext = prune_extrema(y, _extrema(y))
    if ext.size < 3:
        return None
    is_peak = np.zeros(ext.size, dtype=bool)
    is_peak[0 if y[ext[0]] > y[ext[1]] else 1::2] = True  # after pruning the extrema alternate
    return y, ext[is_peak], ext[~is_peak]


def breath_extrema(x: np.ndarray, fs_hz: float, band_hz: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The counted breaths' peaks and troughs (sample indices) of ``x`` band-passed to ``band_hz`` (count-adv);
    they alternate. Empty arrays when there are fewer than three extrema."""
    found = _filtered_extrema(x, fs_hz, band_hz)
    if found is None:
        empty = np.zeros(0, dtype=int)
        return empty, empty
    return found[1], found[2]


def _count(x: np.ndarray, fs_hz: float, band_hz: tuple[float, float], source: str,
           coverage: float) -> tuple[RateEstimate, float]:
    """:func:`count_breaths` and the counted breaths' median extremum-to-extremum height (0 without breaths)."""
    found = _filtered_extrema(x, fs_hz, band_hz)
    if found is None:
        why = ("too little signal for a breathing rate" if np.asarray(x).size < 16
               or min(band_hz[1], 0.45 * fs_hz) <= band_hz[0] else "fewer than 2 full breaths in the window")
        return RateEstimate(None, 0.0, source, why), 0.0
    y, peak_i, trough_i = found
    ext = np.sort(np.concatenate((peak_i, trough_i)))
    height = float(np.median(np.abs(np.diff(y[ext]))))
    peaks, troughs = peak_i / fs_hz, trough_i / fs_hz
    periods = [p for p in (np.diff(peaks), np.diff(troughs)) if p.size]
    if sum(p.size for p in periods) < 3:
        return RateEstimate(None, 0.0, source, "fewer than 2 full breaths in the window"), height
    rate = 60.0 / float(np.mean(np.concatenate(periods)))
    if len(periods) == 2:
        r_peak, r_trough = 60.0 / float(np.mean(periods[0])), 60.0 / float(np.mean(periods[1]))
        consistency = max(0.0, 1.0 - abs(r_peak - r_trough) / max(0.15 * rate, 0.5))
    else:
        consistency = 0.5
    confidence = float(np.clip(consistency * coverage, 0.0, 1.0))
    est = RateEstimate(rate, confidence, source, n_breaths=int(peaks.size), breath_t_s=tuple(float(v) for v in peaks))
    return est, height


def count_breaths(x: np.ndarray, fs_hz: float, band_hz: tuple[float, float], source: str, *,
                  coverage: float = 1.0) -> RateEstimate:
    """Count breaths on an evenly sampled respiration-bearing signal in ``band_hz`` (module docstring)."""
    return _count(x, fs_hz, band_hz, source, coverage)[0]


def rate_from_signal(x: np.ndarray, fs_hz: float, source: str, *, pacer_rate_per_min: float | None = None,
                     paced: bool = False, coverage: float = 1.0, max_hz: float | None = None) -> RateEstimate:
    """Breathing rate of an evenly sampled respiration-bearing signal: free or paced (module docstring).

    ``max_hz`` caps the band (RR and EDR: below the heart-rate Nyquist limit). ``paced`` without a pacer rate
    counts in the generic slow band ``BAND_PACED_HZ``.
    """
    top = FREE_BAND_HZ[1] if max_hz is None else min(FREE_BAND_HZ[1], max_hz)
    if pacer_rate_per_min is None:
        if paced:
            return count_breaths(x, fs_hz, BAND_PACED_HZ, source, coverage=coverage)
        free, free_height = _count(x, fs_hz, (FREE_BAND_HZ[0], top), source, coverage)
        return _slow_breathing(x, fs_hz, top, free, free_height, source, coverage) or free
    f_p = pacer_rate_per_min / 60.0
    wide_band = (PACED_WIDE_LOW * f_p, min(top, max(PACED_WIDE_TOP * f_p, PACED_WIDE_TOP_HZ)))
    pacer_band = (PACED_BAND[0] * f_p, PACED_BAND[1] * f_p)
    narrow = count_breaths(x, fs_hz, pacer_band, source, coverage=coverage)
    if (narrow.rate_per_min is not None and abs(narrow.rate_per_min - pacer_rate_per_min) <= PACED_FOLLOW_PER_MIN
            and _band_share(x, fs_hz, pacer_band, wide_band) >= PACED_MIN_SHARE):
        return narrow
    return count_breaths(x, fs_hz, wide_band, source, coverage=coverage)


def _slow_breathing(x: np.ndarray, fs_hz: float, top_hz: float, free: RateEstimate, free_height: float,
                    source: str, coverage: float) -> RateEstimate | None:
    """Slow breathing without a pacer: the count from 3 /min is below 8 /min and its breaths are
    ``SLOW_HEIGHT_RATIO`` times taller than those counted in the free band (``free_height``; they are then
    ripples and harmonics of the slow breath). On real free breathing, breaths riding on Mayer waves keep the wide
    count above 8 /min (1 of 84 windows of the real recording passed this test)."""
    wide, wide_height = _count(x, fs_hz, (BAND_PACED_HZ[0], top_hz), source, coverage)
    if wide.rate_per_min is None or wide.rate_per_min >= 60.0 * FREE_BAND_HZ[0]:
        return None
    if free.rate_per_min is not None and wide_height < SLOW_HEIGHT_RATIO * free_height:
        return None
    return dataclasses.replace(wide, confidence=SLOW_CONFIDENCE_SHARE * wide.confidence)


def _band_share(x: np.ndarray, fs_hz: float, inner_hz: tuple[float, float], outer_hz: tuple[float, float]) -> float:
    """Variance of ``x`` in ``inner_hz`` relative to its variance in ``outer_hz``."""
    d = _detrend(np.asarray(x, dtype=float))
    outer = float(np.var(_bandpass(d, fs_hz, (outer_hz[0], min(outer_hz[1], 0.45 * fs_hz)))))
    return float(np.var(_bandpass(d, fs_hz, inner_hz))) / outer if outer > 0 else 0.0


def _heart_nyquist_hz(beat_t_s: np.ndarray) -> float | None:
    t = np.asarray(beat_t_s, dtype=float)
    if t.size < 2 or t[-1] <= t[0]:
        return None
    beats_per_s = (t.size - 1) / float(t[-1] - t[0])
    return HEART_NYQUIST_SHARE * beats_per_s / 2.0


def respiration_from_rr(beat_t_s: np.ndarray, nn_ms: np.ndarray, fs_hz: float = 4.0) -> tuple[np.ndarray, float]:
    """The RSA waveform: NN (ms) resampled at ``fs_hz``. Returns ``(signal, fs_hz)``."""
    from biotrainer.metrics.frequency import resample_rr

    _, y = resample_rr(beat_t_s, nn_ms, fs_hz)
    return y, fs_hz


def rate_from_rr(beat_t_s: np.ndarray, nn_ms: np.ndarray, *, pacer_rate_per_min: float | None = None,
                 paced: bool = False, coverage: float = 1.0, resampled: np.ndarray | None = None) -> RateEstimate:
    """Breathing rate from RR (respiratory sinus arrhythmia). Needs ≥ 2 beats per breath (SCIENCE.md §5).

    ``resampled``: the NN series already resampled at 4 Hz (:func:`biotrainer.metrics.frequency.resample_rr`).
    """
    if len(nn_ms) < 8:
        return RateEstimate(None, 0.0, "rr", "fewer than 8 beats")
    y, fs = (resampled, 4.0) if resampled is not None else respiration_from_rr(beat_t_s, nn_ms)
    return rate_from_signal(y, fs, "rr", pacer_rate_per_min=pacer_rate_per_min, paced=paced, coverage=coverage,
                            max_hz=_heart_nyquist_hz(beat_t_s))


def respiration_from_acc(acc_mg: np.ndarray, fs_hz: float) -> tuple[np.ndarray, float]:
    """Chest-movement respiration signal: 0.7 Hz low-pass, decimate to ~10 Hz, first principal component.

    The sign is chosen so the signal correlates positively with the axis of largest variance (arbitrary but
    stable); use a pacer or :func:`volume_polarity` to orient it as lung volume.
    """
    from scipy.signal import butter, sosfiltfilt

    a = np.asarray(acc_mg, dtype=float).reshape(-1, 3)
    a = a - a.mean(axis=0)
    if a.shape[0] > 30:
        sos = butter(2, ACC_LOWPASS_HZ, btype="lowpass", fs=fs_hz, output="sos")
        a = sosfiltfilt(sos, a, axis=0)
    step = max(1, int(round(fs_hz / ACC_DECIMATED_HZ)))
    a = a[::step]
    fs_out = fs_hz / step
    if a.shape[0] < 3:
        return np.zeros(a.shape[0]), fs_out
    _, _, vt = np.linalg.svd(a - a.mean(axis=0), full_matrices=False)
    pc = a @ vt[0]
    main_axis = int(np.argmax(np.abs(vt[0])))
    if vt[0][main_axis] < 0:
        pc = -pc
    return pc, fs_out


def acc_motion_seconds(acc_mg: np.ndarray, fs_hz: float) -> np.ndarray:
    """Per whole second of the window, True when the wearer moves: jerk (mg/s, summed over axes, of the signal
    averaged over 0.1 s so the sensor's white noise does not count) above ``ACC_MOTION_RATIO`` times the
    ``ACC_MOTION_REFERENCE_PERCENTILE``-th percentile second's, and ``ACC_MOTION_FLOOR_MG_S`` above it."""
    a = np.asarray(acc_mg, dtype=float).reshape(-1, 3)
    per_s = max(1, int(round(fs_hz)))
    n = a.shape[0] // per_s
    if n < 2:
        return np.zeros(max(n, 0), dtype=bool)
    per_block = max(1, per_s // 10)
    blocks = per_s // per_block
    a = a[: n * per_s].reshape(n, per_s, 3)[:, : blocks * per_block].reshape(n * blocks, per_block, 3).mean(axis=1)
    jerk = np.abs(np.diff(a, axis=0)).sum(axis=1) * (fs_hz / per_block)
    jerk = np.concatenate((jerk, jerk[-1:])).reshape(n, blocks).mean(axis=1)
    ref = float(np.percentile(jerk, ACC_MOTION_REFERENCE_PERCENTILE))
    return jerk > max(ACC_MOTION_RATIO * ref, ACC_MOTION_FLOOR_MG_S + ref)


def acc_motion_share(acc_mg: np.ndarray, fs_hz: float) -> float:
    """Share of the window's seconds with motion (:func:`acc_motion_seconds`)."""
    moving = acc_motion_seconds(acc_mg, fs_hz)
    return float(moving.mean()) if moving.size else 0.0


def still_stretches(moving: np.ndarray, margin_s: int = ACC_MOTION_MARGIN_S,
                    min_s: int = ACC_MIN_STILL_S) -> list[tuple[int, int]]:
    """``[(first second, end second), ...]`` of the still stretches at least ``min_s`` long, after widening each
    moving second by ``margin_s`` either side."""
    moving = np.asarray(moving, dtype=bool)
    bad = moving.copy()
    for k in range(1, margin_s + 1):
        bad[:-k] |= moving[k:]
        bad[k:] |= moving[:-k]
    edges = np.diff(np.concatenate(([0], (~bad).astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= min_s]


def rate_from_acc(acc_mg: np.ndarray, fs_hz: float, *, pacer_rate_per_min: float | None = None, paced: bool = False,
                  coverage: float = 1.0) -> RateEstimate:
    """Breathing rate from the chest accelerometer (mg, shape (n, 3)), the wearer's movements cut out (module
    docstring)."""
    if len(acc_mg) < fs_hz * 10:
        return RateEstimate(None, 0.0, "acc", "less than 10 s of accelerometer data")
    moving = acc_motion_seconds(acc_mg, fs_hz)
    kw = {"pacer_rate_per_min": pacer_rate_per_min, "paced": paced, "coverage": coverage}
    if not moving.any():
        resp, fs = respiration_from_acc(acc_mg, fs_hz)
        return rate_from_signal(resp, fs, "acc", **kw)
    stretches = still_stretches(moving)
    if sum(b - a for a, b in stretches) < ACC_MIN_STILL_SHARE * moving.size:
        return RateEstimate(None, 0.0, "acc", f"the wearer moved in {100 * moving.mean():.0f} % of the window")
    per_s = max(1, int(round(fs_hz)))
    parts: list[tuple[int, int, RateEstimate]] = []
    for a, b in stretches:
        resp, fs = respiration_from_acc(np.asarray(acc_mg)[a * per_s:b * per_s], fs_hz)
        est = rate_from_signal(resp, fs, "acc", **kw)
        if est.rate_per_min is not None:
            parts.append((a, b - a, est))
    if not parts:
        return RateEstimate(None, 0.0, "acc", "fewer than 2 full breaths between the wearer's movements")
    weight = np.array([n for _, n, _ in parts], dtype=float)
    rate = float(np.average([e.rate_per_min for _, _, e in parts], weights=weight))
    confidence = float(np.average([e.confidence for _, _, e in parts], weights=weight)) * weight.sum() / moving.size
    breaths = tuple(a * per_s / fs_hz + t for a, _, e in parts for t in e.breath_t_s)
    return RateEstimate(rate, confidence, "acc", n_breaths=sum(e.n_breaths for _, _, e in parts), breath_t_s=breaths)


def _catmull_rom(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``x`` interpolated (cubic, Catmull-Rom) at the fractional sample positions ``pos`` (any shape)."""
    i = np.clip(np.floor(pos).astype(int), 1, x.size - 3)
    u = pos - i
    p0, p1, p2, p3 = x[i - 1], x[i], x[i + 1], x[i + 2]
    return 0.5 * ((-u ** 3 + 2 * u ** 2 - u) * p0 + (3 * u ** 3 - 5 * u ** 2 + 2) * p1
                  + (-3 * u ** 3 + 4 * u ** 2 + u) * p2 + (u ** 3 - u ** 2) * p3)


def _r_apex(ecg_hp: np.ndarray, peak_t_s: np.ndarray, fs_hz: float,
            upsample: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``(apex position in samples, apex value, R polarity ±1)`` per beat: the ECG interpolated ×``upsample``
    (cubic) over the two samples either side of the sampled maximum."""
    x = np.asarray(ecg_hp, dtype=float)
    centre = np.clip(np.round(np.asarray(peak_t_s, dtype=float) * fs_hz).astype(int), 2, x.size - 3)
    sign = 1.0 if np.median(x[centre]) >= 0 else -1.0
    grid = centre[:, None] + np.linspace(-1.0, 1.0, 2 * upsample + 1)[None, :]
    values = sign * _catmull_rom(x, grid)
    k = np.argmax(values, axis=1)
    rows = np.arange(centre.size)
    return grid[rows, k], sign * values[rows, k], sign


def r_apex_amplitudes(ecg_hp: np.ndarray, peak_t_s: np.ndarray, fs_hz: float, upsample: int = 8) -> np.ndarray:
    """R-wave amplitude per beat at the apex: the ECG around each peak interpolated ×``upsample`` (cubic), then
    the maximum. At 130 Hz the sampled maximum misses a narrow R apex by up to ~10 %, more than breathing's own
    modulation of it (SCIENCE.md §5)."""
    pos = np.asarray(peak_t_s, dtype=float)
    if pos.size == 0 or np.asarray(ecg_hp).size < 5:
        return np.zeros(pos.size)
    return _r_apex(ecg_hp, pos, fs_hz, upsample)[1]


def qrs_areas(ecg_hp: np.ndarray, peak_t_s: np.ndarray, fs_hz: float, half_width_s: float = QRS_HALF_WIDTH_S,
              upsample: int = 8) -> np.ndarray:
    """QRS area per beat (µV·s, positive for an upright R): the ECG interpolated (cubic) around the R apex found
    as in :func:`r_apex_amplitudes`, integrated from ``half_width_s`` before to ``half_width_s`` after the apex
    above the straight line joining those two points (the local baseline; Charlton et al. 2016). Centred on the
    interpolated apex, not the sample: at 130 Hz a ±50-ms window is only 13 samples."""
    x = np.asarray(ecg_hp, dtype=float)
    pos = np.asarray(peak_t_s, dtype=float)
    half = half_width_s * fs_hz
    if pos.size == 0 or x.size < 2 * half + 5:
        return np.zeros(pos.size)
    apex, _, sign = _r_apex(x, pos, fs_hz, upsample)
    apex = np.clip(apex, half + 1, x.size - half - 3)
    n = int(np.ceil(2 * half * QRS_UPSAMPLE)) + 1
    offsets = np.linspace(-half, half, n)
    v = _catmull_rom(x, apex[:, None] + offsets[None, :])
    baseline = v[:, :1] + (v[:, -1:] - v[:, :1]) * (offsets[None, :] + half) / (2 * half)
    d = v - baseline
    step = (offsets[1] - offsets[0]) / fs_hz
    return sign * step * (d[:, 1:] + d[:, :-1]).sum(axis=1) / 2.0


def edr_signal(peak_t_s: np.ndarray, r_amplitude: np.ndarray, fs_hz: float = 4.0) -> tuple[np.ndarray, float]:
    """ECG-derived respiration: R amplitude per beat, resampled at ``fs_hz`` (cubic spline)."""
    from biotrainer.metrics.frequency import resample_rr

    _, y = resample_rr(peak_t_s, r_amplitude, fs_hz)
    return y, fs_hz


def rate_from_edr(peak_t_s: np.ndarray, r_amplitude: np.ndarray, *, pacer_rate_per_min: float | None = None,
                  paced: bool = False, coverage: float = 1.0, source: str = "ecg") -> RateEstimate:
    """Breathing rate from one ECG-derived respiration feature per beat: R amplitude (``ecg``, default) or QRS
    area (:func:`rate_from_qrs_area`)."""
    if len(peak_t_s) < 8:
        return RateEstimate(None, 0.0, source, "fewer than 8 R-peaks")
    amp = np.asarray(r_amplitude, dtype=float)
    med = float(np.median(amp))
    keep = np.abs(amp - med) <= 0.5 * abs(med) + 1e-9  # ectopic beats' tall, wide QRS is not breathing
    if np.count_nonzero(keep) < 8:
        what = "QRS areas" if source == "qrs" else "R amplitudes"
        return RateEstimate(None, 0.0, source, f"{what} too irregular")
    t = np.asarray(peak_t_s, dtype=float)[keep]
    y, fs = edr_signal(t, amp[keep])
    return rate_from_signal(y, fs, source, pacer_rate_per_min=pacer_rate_per_min, paced=paced, coverage=coverage,
                            max_hz=_heart_nyquist_hz(t))


def rate_from_qrs_area(peak_t_s: np.ndarray, qrs_area: np.ndarray, *, pacer_rate_per_min: float | None = None,
                       paced: bool = False, coverage: float = 1.0) -> RateEstimate:
    """Breathing rate from the QRS area per beat (:func:`qrs_areas`), source ``qrs``."""
    return rate_from_edr(peak_t_s, qrs_area, pacer_rate_per_min=pacer_rate_per_min, paced=paced, coverage=coverage,
                         source="qrs")


# --- fusion ------------------------------------------------------------------------------------------------------

def _describe(estimates: list[RateEstimate]) -> str:
    return ", ".join(f"{e.source} {e.rate_per_min:.1f}" for e in estimates if e.rate_per_min is not None)


def fuse(estimates: list[RateEstimate], agree_per_min: float = AGREE_PER_MIN,
         min_confidence: float = MIN_CONFIDENCE) -> RateEstimate:
    """The rate to show: the mean of the largest group of sources that agree (module docstring).

    Returns an estimate with ``rate_per_min=None`` and the reason when no source has a rate, when the sources
    disagree, or when the agreement is too weak.
    """
    valid = [e for e in estimates if e.rate_per_min is not None and e.confidence > 0]
    if not valid:
        why = "; ".join(f"{e.source}: {e.reason or 'no rate'}" for e in estimates)
        return RateEstimate(None, 0.0, "none", why or "no respiration source")
    if len(valid) == 1:
        e = valid[0]
        conf = SINGLE_SOURCE_MAX_CONFIDENCE * e.confidence
        if conf < min_confidence * SINGLE_SOURCE_MAX_CONFIDENCE:
            return RateEstimate(None, 0.0, "none", f"{e.source}: its two breath counts disagree")
        return RateEstimate(e.rate_per_min, conf, e.source, n_breaths=e.n_breaths, breath_t_s=e.breath_t_s)
    best: list[RateEstimate] = []
    best_spread = np.inf
    for anchor in valid:  # every group of sources within agree_per_min of each other, from its lowest rate up
        group = [e for e in valid if 0 <= e.rate_per_min - anchor.rate_per_min <= agree_per_min]
        rates = [e.rate_per_min for e in group]
        spread = max(rates) - min(rates)
        if len(group) > len(best) or (len(group) == len(best) and spread < best_spread):
            best, best_spread = group, spread
    if len(best) < 2:
        return RateEstimate(None, 0.0, "none", f"the breathing-rate sources disagree ({_describe(valid)} /min)")
    conf = len(best) / len(valid) * (1.0 - best_spread / (2 * agree_per_min)) * float(
        np.mean([e.confidence for e in best]))
    if conf < min_confidence:
        return RateEstimate(None, 0.0, "none", f"the breathing-rate sources agree too weakly ({_describe(valid)} /min)")
    best.sort(key=lambda e: SOURCES.index(e.source) if e.source in SOURCES else len(SOURCES))
    rate = float(np.mean([e.rate_per_min for e in best]))
    return RateEstimate(rate, float(conf), "+".join(e.source for e in best), n_breaths=best[0].n_breaths,
                        breath_t_s=best[0].breath_t_s)


def best_source(estimates: list[RateEstimate], min_confidence: float = MIN_CONFIDENCE) -> RateEstimate:
    """The estimate to show (:func:`fuse`; kept under its old name for callers)."""
    return fuse(estimates, min_confidence=min_confidence)


def sinusoid_phase_rad(t_s: np.ndarray, x: np.ndarray, frequency_hz: float) -> tuple[float, float]:
    """Least-squares fit ``x ≈ c + A·cos(2πf t − φ)``; returns ``(φ, A)`` (phase of the maximum)."""
    t = np.asarray(t_s, dtype=float)
    w = 2 * np.pi * frequency_hz
    design = np.column_stack((np.ones_like(t), np.cos(w * t), np.sin(w * t)))
    gram = design.T @ design
    rhs = design.T @ np.asarray(x, dtype=float)
    try:
        coef = np.linalg.solve(gram, rhs)
    except np.linalg.LinAlgError:
        coef, *_ = np.linalg.lstsq(design, np.asarray(x, dtype=float), rcond=None)
    return float(np.arctan2(coef[2], coef[1])), float(np.hypot(coef[1], coef[2]))


def hr_breathing_phase_deg(beat_t_s: np.ndarray, nn_ms: np.ndarray, volume_t_s: np.ndarray,
                           volume: np.ndarray, frequency_hz: float) -> float | None:
    """Phase of heart rate relative to lung volume at ``frequency_hz`` (degrees, (-180, 180]).

    Positive: HR reaches its maximum *before* full lungs (HR leads). 0°: in phase (resonance).
    """
    if len(nn_ms) < 8 or len(volume) < 8 or frequency_hz <= 0:
        return None
    nn = np.asarray(nn_ms, dtype=float)
    hr = 60000.0 / nn
    # An interval's heart rate belongs to the middle of the interval, not to the beat that ends it.
    mid_t_s = np.asarray(beat_t_s, dtype=float) - nn / 2000.0
    phi_hr, a_hr = sinusoid_phase_rad(mid_t_s, hr, frequency_hz)
    phi_v, a_v = sinusoid_phase_rad(volume_t_s, volume, frequency_hz)
    if a_hr <= 0 or a_v <= 0:
        return None
    d = float(np.degrees(phi_v - phi_hr))  # φ = ω × time of the maximum: earlier HR maximum = HR leads
    wrapped = (d + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 else wrapped


def adherence(rate_per_min: float | None, pacer_rate_per_min: float | None) -> float | None:
    """Breathing rate minus pacer rate (per minute), or None when either is unknown."""
    if rate_per_min is None or pacer_rate_per_min is None:
        return None
    return float(rate_per_min - pacer_rate_per_min)
