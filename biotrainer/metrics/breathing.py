"""Breathing rate from RR (RSA), chest accelerometer and ECG (EDR); pacer adherence and HR-breathing phase.

One rate estimator serves all three sources (SCIENCE.md §5):

1. the respiration-bearing signal is resampled evenly (RR and EDR: cubic spline at 4 Hz; ACC: decimated after a
   0.7 Hz low-pass, first principal component of x/y/z);
2. mean and linear trend removed, band-pass (zero-phase Butterworth) 0.05-0.5 Hz, or 0.05-0.2 Hz when paced
   (``paced=True``; the lower edge 0.05 Hz = 3/min keeps 4.5/min breathing, unlike ``nk.ecg_rsp``'s default
   0.1-0.4 Hz band);
3. the dominant frequency is the maximum of a Hann-windowed periodogram zero-padded to 0.001 Hz bins (RR in
   spontaneous breathing: a peak above 7.2/min is preferred over a larger Mayer-wave peak when it holds ≥ 20 % of
   its power);
4. the rate is then refined in the time domain: mean period between the first and last upward zero crossing of
   the signal band-passed again to ±40 % around the dominant frequency (counts whole cycles; more precise than a
   periodogram bin on 60-s windows).

``confidence`` (0..1) is the share of the band's power within ±0.03 Hz of the dominant frequency, times the share
of the window covered by data; a window with fewer than 2 full cycles gets confidence 0 and no rate.

Design notes: at ~0.1 Hz Mayer waves and breathing overlap in RR; ACC is preferred when its confidence is
comparable (:func:`best_source`). HR-breathing phase is the phase of heart rate minus the phase of lung volume at
the breathing frequency, in degrees in (-180, 180]; 0° means HR peaks at full lungs (resonance, SCIENCE.md §3);
positive means HR leads. Each interval's heart rate is placed at the middle of the interval.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

BAND_SPONTANEOUS_HZ = (0.05, 0.5)
BAND_PACED_HZ = (0.05, 0.2)
CONCENTRATION_HALF_WIDTH_HZ = 0.03
ZERO_PAD_RESOLUTION_HZ = 0.001
ACC_LOWPASS_HZ = 0.7
ACC_DECIMATED_HZ = 10.0
SOURCES = ("acc", "ecg", "rr")
#: Spontaneous breathing from RR: a peak above 7.2/min wins over a larger Mayer-wave peak below it when it holds at
#: least this share of that peak's power (slow spontaneous breathing still wins when it dominates clearly).
RR_SPONTANEOUS_PREFER_HZ = 0.12
PREFERRED_PEAK_SHARE = 0.2


@dataclass(frozen=True)
class RateEstimate:
    """A breathing rate estimate. ``rate_per_min`` is None when not estimable (``reason`` says why)."""

    rate_per_min: float | None
    confidence: float
    source: str
    reason: str = ""


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


def dominant_frequency_hz(x: np.ndarray, fs_hz: float, band_hz: tuple[float, float],
                          prefer_above_hz: float | None = None) -> tuple[float | None, float]:
    """Frequency of the periodogram maximum inside ``band_hz`` and the share of in-band power near it.

    With ``prefer_above_hz``, the largest peak above that frequency wins when it holds at least
    ``PREFERRED_PEAK_SHARE`` of the overall maximum (RR in spontaneous breathing: Mayer waves ~0.1 Hz).

    Returns ``(frequency_hz or None, concentration 0..1)``.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    nfft = max(n, int(2 ** np.ceil(np.log2(fs_hz / ZERO_PAD_RESOLUTION_HZ))))
    spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(n), nfft)) ** 2
    f = np.fft.rfftfreq(nfft, 1.0 / fs_hz)
    inband = (f >= band_hz[0]) & (f <= band_hz[1])
    if not np.any(inband) or spec[inband].sum() <= 0:
        return None, 0.0
    k = np.flatnonzero(inband)[np.argmax(spec[inband])]
    if prefer_above_hz is not None and f[k] < prefer_above_hz:
        upper = inband & (f >= prefer_above_hz)
        if np.any(upper):
            k_up = np.flatnonzero(upper)[np.argmax(spec[upper])]
            if spec[k_up] >= PREFERRED_PEAK_SHARE * spec[k]:
                k = k_up
    f0 = float(f[k])
    near = inband & (np.abs(f - f0) <= CONCENTRATION_HALF_WIDTH_HZ)
    return f0, float(spec[near].sum() / spec[inband].sum())


def _zero_crossing_rate_hz(x: np.ndarray, fs_hz: float) -> tuple[float | None, int]:
    """Mean frequency from upward zero crossings (linear interpolation between samples)."""
    s = np.signbit(x)
    up = np.flatnonzero(s[:-1] & ~s[1:])
    if up.size < 3:
        return None, max(0, up.size - 1)
    frac = x[up] / (x[up] - x[up + 1])
    t = (up + frac) / fs_hz
    cycles = up.size - 1
    return cycles / float(t[-1] - t[0]), cycles


def rate_from_signal(x: np.ndarray, fs_hz: float, source: str, *, paced: bool = False,
                     coverage: float = 1.0) -> RateEstimate:
    """Breathing rate of an evenly sampled respiration-bearing signal (see module docstring)."""
    x = np.asarray(x, dtype=float)
    band = BAND_PACED_HZ if paced else BAND_SPONTANEOUS_HZ
    duration_s = x.size / fs_hz
    if duration_s < 2.0 / band[0] * 0.5 or x.size < 16:
        return RateEstimate(None, 0.0, source, f"{duration_s:.0f} s of signal is too short for a breathing rate")
    y = _bandpass(_detrend(x), fs_hz, band)
    prefer = RR_SPONTANEOUS_PREFER_HZ if (source == "rr" and not paced) else None
    f0, concentration = dominant_frequency_hz(y, fs_hz, band, prefer)
    if f0 is None:
        return RateEstimate(None, 0.0, source, "no power in the breathing band")
    narrow = (max(band[0] * 0.8, f0 * 0.6), min(0.45 * fs_hz, f0 * 1.4))
    z = _bandpass(y, fs_hz, narrow)
    trim = int(min(0.1 * z.size, fs_hz / f0 * 0.25))  # edges of a filtfilt output are less reliable
    f_zc, cycles = _zero_crossing_rate_hz(z[trim: z.size - trim] if trim else z, fs_hz)
    if f_zc is None or cycles < 2:
        return RateEstimate(None, 0.0, source, "fewer than 2 full breaths in the window")
    rate_hz = f_zc if abs(f_zc - f0) <= 0.3 * f0 else f0
    return RateEstimate(60.0 * rate_hz, float(np.clip(concentration * coverage, 0.0, 1.0)), source)


def respiration_from_rr(beat_t_s: np.ndarray, nn_ms: np.ndarray, fs_hz: float = 4.0) -> tuple[np.ndarray, float]:
    """The RSA waveform: NN (ms) resampled at ``fs_hz``. Returns ``(signal, fs_hz)``."""
    from biotrainer.metrics.frequency import resample_rr

    _, y = resample_rr(beat_t_s, nn_ms, fs_hz)
    return y, fs_hz


def rate_from_rr(beat_t_s: np.ndarray, nn_ms: np.ndarray, *, paced: bool = False, coverage: float = 1.0,
                 resampled: np.ndarray | None = None) -> RateEstimate:
    """Breathing rate from RR (respiratory sinus arrhythmia). Needs ≥ 2 beats per breath (SCIENCE.md §5).

    ``resampled``: the NN series already resampled at 4 Hz (:func:`biotrainer.metrics.frequency.resample_rr`).
    """
    if len(nn_ms) < 8:
        return RateEstimate(None, 0.0, "rr", "fewer than 8 beats")
    y, fs = (resampled, 4.0) if resampled is not None else respiration_from_rr(beat_t_s, nn_ms)
    return rate_from_signal(y, fs, "rr", paced=paced, coverage=coverage)


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


def rate_from_acc(acc_mg: np.ndarray, fs_hz: float, *, paced: bool = False, coverage: float = 1.0) -> RateEstimate:
    """Breathing rate from the chest accelerometer (mg, shape (n, 3)). Motion lowers confidence."""
    if len(acc_mg) < fs_hz * 10:
        return RateEstimate(None, 0.0, "acc", "less than 10 s of accelerometer data")
    resp, fs = respiration_from_acc(acc_mg, fs_hz)
    est = rate_from_signal(resp, fs, "acc", paced=paced, coverage=coverage)
    # Motion: accelerometer energy above the breathing band relative to the breathing component.
    raw = np.asarray(acc_mg, dtype=float).reshape(-1, 3)
    jerk = np.diff(raw, axis=0).std(axis=0).sum() * fs_hz / 50.0
    breath = float(resp.std()) + 1e-9
    motion_penalty = 1.0 / (1.0 + (jerk / breath) ** 2 / 100.0)
    if est.rate_per_min is None:
        return est
    return RateEstimate(est.rate_per_min, est.confidence * motion_penalty, "acc")


def edr_signal(peak_t_s: np.ndarray, r_amplitude: np.ndarray, fs_hz: float = 4.0) -> tuple[np.ndarray, float]:
    """ECG-derived respiration: R amplitude per beat, resampled at ``fs_hz`` (cubic spline)."""
    from biotrainer.metrics.frequency import resample_rr

    _, y = resample_rr(peak_t_s, r_amplitude, fs_hz)
    return y, fs_hz


def rate_from_edr(peak_t_s: np.ndarray, r_amplitude: np.ndarray, *, paced: bool = False,
                  coverage: float = 1.0) -> RateEstimate:
    """Breathing rate from ECG R-amplitude modulation (EDR)."""
    if len(peak_t_s) < 8:
        return RateEstimate(None, 0.0, "ecg", "fewer than 8 R-peaks")
    y, fs = edr_signal(peak_t_s, r_amplitude)
    return rate_from_signal(y, fs, "ecg", paced=paced, coverage=coverage)


def best_source(estimates: list[RateEstimate], min_confidence: float = 0.2) -> RateEstimate:
    """The estimate to show: highest confidence, ties (within 0.1) going to acc, then ecg, then rr.

    Returns an estimate with ``rate_per_min=None`` (reason listing why) when none reaches ``min_confidence``.
    """
    usable = [e for e in estimates if e.rate_per_min is not None and e.confidence >= min_confidence]
    if not usable:
        why = "; ".join(f"{e.source}: {e.reason or f'confidence {e.confidence:.2f} too low'}" for e in estimates)
        return RateEstimate(None, 0.0, "none", why or "no respiration source")
    top = max(e.confidence for e in usable)
    close = [e for e in usable if e.confidence >= top - 0.1]
    close.sort(key=lambda e: SOURCES.index(e.source) if e.source in SOURCES else len(SOURCES))
    return close[0]


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
