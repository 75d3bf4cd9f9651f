"""Frequency-domain HRV in ms² (SCIENCE.md §1), Kubios-comparable.

Pipeline (the same as neurokit2 0.3.0 ``hrv_frequency(normalize=False, interpolation_rate=4)`` with a cubic
instead of its default quadratic interpolation; tests check equality with neurokit2's own primitives):

1. NN intervals placed at the time of the beat ending them, interpolated by a cubic spline at 4 Hz
   (values past the last beat hold the last value).
2. Mean removed (constant detrend; design choice shared with neurokit2: no smoothness-priors detrend).
3. Welch: Hann window of half the series (``nperseg = N/2``), 50 % overlap, FFT of twice the segment length,
   density scaling → ms²/Hz. Frequencies below ``4/T`` Hz (two cycles per segment) are discarded.
4. Band power = trapezoidal integral over ``lo <= f < hi``: VLF 0.0033-0.04, LF 0.04-0.15, HF 0.15-0.40 Hz.

Validity (design choice, SCIENCE.md §1): HF needs a window of at least 60 s, LF at least 120 s, VLF more than
300 s (VLF from ≤ 5 min is not interpretable). ``total_power_ms2`` is the resolvable power in 0.0033-0.40 Hz and
needs the LF minimum. ``lf_hf`` is reported as a ratio only (not as "sympathovagal balance", SCIENCE.md §9).
Beats never fill a nominal window exactly (the first interval starts and the last beat falls up to one interval
inside it), so the HF and LF minimums are met by a span short of them by less than one mean NN interval
(:func:`reaches`): a 120-s recording or window counts as 120 s. VLF keeps its strict "more than 300 s".
"""

from __future__ import annotations

import functools

import numpy as np

RESAMPLE_HZ = 4.0
VLF_BAND_HZ = (0.0033, 0.04)
LF_BAND_HZ = (0.04, 0.15)
HF_BAND_HZ = (0.15, 0.40)
MAX_FREQUENCY_HZ = 0.5
MIN_WINDOW_HF_S = 60.0
MIN_WINDOW_LF_S = 120.0
MIN_WINDOW_VLF_S = 300.0
def reaches(span_s: float, minimum_s: float, nn_ms: np.ndarray) -> bool:
    """Whether ``span_s`` of beats meets the nominal ``minimum_s``, with a tolerance of one mean NN interval."""
    nn_ms = np.asarray(nn_ms, dtype=float)
    tolerance_s = float(np.mean(nn_ms)) / 1000.0 if nn_ms.size else 0.0
    return span_s + tolerance_s >= minimum_s


FREQUENCY_KEYS = ("vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf", "total_power_ms2", "lf_peak_hz", "hf_peak_hz")


def resample_rr(beat_t_s: np.ndarray, nn_ms: np.ndarray, fs_hz: float = RESAMPLE_HZ) -> tuple[np.ndarray, np.ndarray]:
    """Evenly resample NN intervals by a cubic spline through (beat time, interval).

    Returns
    -------
    (t_s, rr_ms) : tuple of np.ndarray
        Sample times from the first beat in steps of ``1/fs_hz`` and the interpolated intervals (ms).
    """
    from scipy.interpolate import make_interp_spline

    beat_t_s = np.asarray(beat_t_s, dtype=float)
    nn_ms = np.asarray(nn_ms, dtype=float)
    t_new = np.arange(beat_t_s[0], beat_t_s[-1] + 1.0 / fs_hz, 1.0 / fs_hz)
    if beat_t_s.size < 4:
        return t_new, np.interp(t_new, beat_t_s, nn_ms)
    spline = make_interp_spline(beat_t_s, nn_ms, k=3)
    y = spline(t_new)
    y[t_new > beat_t_s[-1]] = nn_ms[-1]
    return t_new, y


def welch_psd(signal: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD with neurokit2's segment rule (``nperseg = N/2``, ``nfft = 2·nperseg``), mean removed.

    Returns frequencies (Hz) and density (signal unit²/Hz) for ``4/T <= f <= 0.5 Hz``.
    """
    x = np.asarray(signal, dtype=float)
    x = x - x.mean()
    n = x.size
    min_f = (2 * fs_hz) / (n / 2)
    nperseg = int((2 / min_f) * fs_hz)
    if nperseg > n / 2:
        nperseg = int(n / 2)
    f, p = _welch_hann(x, fs_hz, nperseg, 2 * nperseg)
    keep = (f >= min_f) & (f <= MAX_FREQUENCY_HZ)
    return f[keep], p[keep]


@functools.lru_cache(maxsize=64)
def _hann_periodic(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # scipy.signal.get_window("hann", n): periodic


def _welch_hann(x: np.ndarray, fs_hz: float, nperseg: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.welch(x, fs, window="hann", nperseg, noverlap=nperseg//2, nfft, detrend=False,
    scaling="density", average="mean")`` for a real signal, in plain numpy (no per-call setup cost)."""
    from numpy.lib.stride_tricks import sliding_window_view

    step = nperseg - nperseg // 2
    segments = sliding_window_view(x, nperseg)[::step]
    win = _hann_periodic(nperseg)
    spec = np.abs(np.fft.rfft(segments * win, nfft, axis=1)) ** 2
    spec /= fs_hz * float(np.sum(win * win))
    if nfft % 2:
        spec[:, 1:] *= 2
    else:
        spec[:, 1:-1] *= 2
    return np.fft.rfftfreq(nfft, 1.0 / fs_hz), spec.mean(axis=0)


def band_power(freq_hz: np.ndarray, psd: np.ndarray, band_hz: tuple[float, float]) -> float:
    """Trapezoidal integral of ``psd`` over ``band_hz[0] <= f < band_hz[1]`` (0.0 when no bin falls inside)."""
    where = (freq_hz >= band_hz[0]) & (freq_hz < band_hz[1])
    if np.count_nonzero(where) < 2:
        return 0.0
    return float(np.trapezoid(psd[where], freq_hz[where]))


def peak_frequency_hz(freq_hz: np.ndarray, psd: np.ndarray, band_hz: tuple[float, float]) -> float | None:
    """Frequency of the largest PSD value inside the band, or None when no bin falls inside."""
    where = (freq_hz >= band_hz[0]) & (freq_hz < band_hz[1])
    if not np.any(where):
        return None
    return float(freq_hz[where][np.argmax(psd[where])])


def rr_psd(beat_t_s: np.ndarray, nn_ms: np.ndarray, fs_hz: float = RESAMPLE_HZ) -> tuple[np.ndarray, np.ndarray]:
    """PSD (ms²/Hz) of NN intervals: :func:`resample_rr` then :func:`welch_psd`."""
    _, y = resample_rr(beat_t_s, nn_ms, fs_hz)
    return welch_psd(y, fs_hz)


def frequency_domain(beat_t_s: np.ndarray, nn_ms: np.ndarray, span_s: float | None = None,
                     psd: tuple[np.ndarray, np.ndarray] | None = None,
                     what: str = "window") -> tuple[dict[str, float | None], dict[str, str]]:
    """VLF/LF/HF power (ms²), LF/HF, total power and band peaks of one window.

    Parameters
    ----------
    beat_t_s : np.ndarray
        Time (s) of the beat ending each interval.
    nn_ms : np.ndarray
        NN intervals (ms), artifact-corrected.
    span_s : float, optional
        Duration the intervals cover, for the minimum-length rules; default: first interval start to last beat.
    psd : (freq_hz, psd), optional
        :func:`rr_psd` of the same intervals, when the caller has it already.
    what : str
        What ``span_s`` is, for the reasons ("window", "recording", "longest gap-free segment").

    Returns
    -------
    (values, reasons) : tuple of dict
        ``values`` has :data:`FREQUENCY_KEYS`; a None value has its reason in ``reasons``.
    """
    values: dict[str, float | None] = dict.fromkeys(FREQUENCY_KEYS)
    reasons: dict[str, str] = {}
    beat_t_s = np.asarray(beat_t_s, dtype=float)
    nn_ms = np.asarray(nn_ms, dtype=float)
    if span_s is None:
        span_s = float(beat_t_s[-1] - beat_t_s[0] + nn_ms[0] / 1000.0) if beat_t_s.size else 0.0
    if not reaches(span_s, MIN_WINDOW_HF_S, nn_ms) or beat_t_s.size < 8:
        for k in FREQUENCY_KEYS:
            reasons[k] = f"{what} {span_s:.0f} s shorter than {MIN_WINDOW_HF_S:.0f} s needed for spectral power"
        return values, reasons
    f, p = psd if psd is not None else rr_psd(beat_t_s, nn_ms)
    vlf, lf, hf = (band_power(f, p, b) for b in (VLF_BAND_HZ, LF_BAND_HZ, HF_BAND_HZ))
    values["hf_ms2"] = hf
    values["hf_peak_hz"] = peak_frequency_hz(f, p, HF_BAND_HZ)
    if reaches(span_s, MIN_WINDOW_LF_S, nn_ms):
        values["lf_ms2"] = lf
        values["lf_peak_hz"] = peak_frequency_hz(f, p, LF_BAND_HZ)
        values["total_power_ms2"] = vlf + lf + hf
        if hf > 0:
            values["lf_hf"] = lf / hf
        else:
            reasons["lf_hf"] = "no HF power"
    else:
        for k in ("lf_ms2", "lf_peak_hz", "total_power_ms2", "lf_hf"):
            reasons[k] = f"{what} {span_s:.0f} s shorter than {MIN_WINDOW_LF_S:.0f} s needed for LF"
    if span_s > MIN_WINDOW_VLF_S:
        values["vlf_ms2"] = vlf
    else:
        reasons["vlf_ms2"] = f"{what} {span_s:.0f} s not longer than {MIN_WINDOW_VLF_S:.0f} s needed for VLF"
    if values["hf_peak_hz"] is None:
        reasons["hf_peak_hz"] = "no spectral bin inside HF"
    if values["lf_peak_hz"] is None and "lf_peak_hz" not in reasons:
        reasons["lf_peak_hz"] = "no spectral bin inside LF"
    return values, reasons
