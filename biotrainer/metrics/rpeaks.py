"""R-peaks from ECG, usable at the Polar H10's 130 Hz, with sub-sample refinement (SCIENCE.md §7, §10).

Detection: neurokit2's ``ecg_clean`` + ``ecg_peaks(method="neurokit")`` (QRS gradient method; among neurokit2's
detectors it is one of the few that keep working at 130 Hz on real ECG, see tests/test_metrics_real.py).
Refinement (own code): each detected QRS is moved to the extremum of the baseline-free ECG (0.5 Hz zero-phase
high-pass) of the recording's dominant R polarity within ±``search_ms``, then refined between samples by fitting
a parabola through the extremum and its two neighbours. At 130 Hz a sample is 7.7 ms; the parabola brings the
fiducial point to ~1 ms of the same point found at 360 Hz.

Outputs are peak *times* in seconds (float, sub-sample) relative to the first sample, plus RR in ms.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

SEARCH_MS = 40.0
HIGHPASS_HZ = 0.5


def highpass(ecg: np.ndarray, fs_hz: float, cutoff_hz: float = HIGHPASS_HZ) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth high-pass (baseline wander removal)."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, cutoff_hz, btype="highpass", fs=fs_hz, output="sos")
    x = np.asarray(ecg, dtype=float)
    if x.size <= 3 * 2 * 2:
        return x - x.mean()
    return sosfiltfilt(sos, x)


def detect_qrs(ecg: np.ndarray, fs_hz: float) -> np.ndarray:
    """Coarse QRS sample indices (neurokit2 ``ecg_clean`` + ``ecg_peaks``, method ``neurokit``)."""
    import warnings

    import neurokit2 as nk

    x = np.asarray(ecg, dtype=float)
    if x.size < int(2 * fs_hz):
        return np.zeros(0, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(x, sampling_rate=int(round(fs_hz)), method="neurokit")
        _, info = nk.ecg_peaks(cleaned, sampling_rate=int(round(fs_hz)), method="neurokit", correct_artifacts=False)
    return np.asarray(info["ECG_R_Peaks"], dtype=int)


def refine_peaks(ecg_hp: np.ndarray, peaks: np.ndarray, fs_hz: float, search_ms: float = SEARCH_MS,
                 polarity: float | None = None) -> np.ndarray:
    """Move each peak to the local extremum (of ``polarity``) and refine it by parabolic interpolation.

    Parameters
    ----------
    ecg_hp : np.ndarray
        Baseline-free ECG.
    peaks : np.ndarray
        Coarse peak sample indices.
    fs_hz : float
        Sampling rate.
    search_ms : float
        Half-width of the search window.
    polarity : float, optional
        +1 for upright R waves, -1 for inverted; default: sign of the median ECG value at the coarse peaks.

    Returns
    -------
    np.ndarray
        Refined peak positions in (fractional) samples, sorted and de-duplicated.
    """
    x = np.asarray(ecg_hp, dtype=float)
    peaks = np.asarray(peaks, dtype=int)
    if peaks.size == 0:
        return np.zeros(0)
    if polarity is None:
        polarity = 1.0 if np.median(x[peaks]) >= 0 else -1.0
    y = polarity * x
    half = max(1, int(round(search_ms / 1000.0 * fs_hz)))
    n = y.size
    offsets = np.arange(-half, half + 1)
    idx = np.clip(peaks[:, None] + offsets[None, :], 0, n - 1)
    best = idx[np.arange(peaks.size), np.argmax(y[idx], axis=1)]
    inner = (best > 0) & (best < n - 1)
    frac = np.zeros(best.size)
    b = best[inner]
    y0, y1, y2 = y[b - 1], y[b], y[b + 1]
    denom = y0 - 2 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(denom < 0, 0.5 * (y0 - y2) / denom, 0.0)
    frac[inner] = np.clip(delta, -0.5, 0.5)
    refined = np.unique(best.astype(float) + frac)
    if refined.size > 1:  # two coarse peaks that converged to one extremum
        keep = np.concatenate(([True], np.diff(refined) > 0.5))
        refined = refined[keep]
    return refined


def rpeaks_s(ecg: np.ndarray, fs_hz: float, search_ms: float = SEARCH_MS) -> np.ndarray:
    """R-peak times (s, sub-sample) of an ECG sampled at ``fs_hz``, relative to its first sample.

    Examples
    --------
    Typical use on a Polar H10 ECG (µV at 130 Hz)::

        t_s = rpeaks_s(ecg_uv, 130.0)
        rr_ms = np.diff(t_s) * 1000
    """
    x = np.asarray(ecg, dtype=float)
    coarse = detect_qrs(x, fs_hz)
    if coarse.size == 0:
        return np.zeros(0)
    refined = refine_peaks(highpass(x, fs_hz), coarse, fs_hz, search_ms)
    return refined / fs_hz


def r_amplitudes(ecg_hp: np.ndarray, peak_t_s: np.ndarray, fs_hz: float) -> np.ndarray:
    """ECG amplitude at each (fractional) peak time, by linear interpolation (for EDR)."""
    x = np.asarray(ecg_hp, dtype=float)
    pos = np.asarray(peak_t_s, dtype=float) * fs_hz
    return np.interp(pos, np.arange(x.size), x)


def rr_agreement(peak_t_s: np.ndarray, beat_t_s: np.ndarray, rr_ms: np.ndarray,
                 tolerance_ms: float = 10.0) -> tuple[float | None, float | None, int]:
    """How well RR from R-peaks agrees with the strap's RR.

    The two time bases differ (strap beat times are rebuilt from RR and arrival times), so the ECG peaks are
    shifted by the median offset to their nearest strap beats first; an ECG interval is matched to the strap
    interval whose beat lies within 100 ms of its (shifted) end.

    Returns
    -------
    (median_abs_diff_ms, share_within_tolerance, n_matched)
        None values when fewer than 5 intervals match.
    """
    p = np.asarray(peak_t_s, dtype=float)
    t = np.asarray(beat_t_s, dtype=float)
    rr = np.asarray(rr_ms, dtype=float)
    if p.size < 6 or t.size < 5:
        return None, None, 0
    ecg_t, ecg_rr = p[1:], np.diff(p) * 1000.0
    j = np.clip(np.searchsorted(t, ecg_t), 1, t.size - 1)
    nearest = np.where(np.abs(t[j] - ecg_t) < np.abs(t[j - 1] - ecg_t), j, j - 1)
    offset = float(np.median(t[nearest] - ecg_t))
    shifted = ecg_t + offset
    j = np.clip(np.searchsorted(t, shifted), 1, t.size - 1)
    nearest = np.where(np.abs(t[j] - shifted) < np.abs(t[j - 1] - shifted), j, j - 1)
    matched = np.abs(t[nearest] - shifted) < 0.1
    if np.count_nonzero(matched) < 5:
        return None, None, int(np.count_nonzero(matched))
    diff = np.abs(ecg_rr[matched] - rr[nearest[matched]])
    return float(np.median(diff)), float(np.mean(diff <= tolerance_ms)), int(diff.size)
