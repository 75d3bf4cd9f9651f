"""Coherence ratio: the McCraty et al. 2009 definition, computed by biotrainer (SCIENCE.md §4).

This is *our* implementation of the published definition, not HeartMath's product score; its thresholds and 0-16
scale are not published as calibrated, so none are used. Definition:

- the last 64 s of NN intervals, resampled at 2 Hz (cubic spline), mean and linear trend removed, Hann window,
  zero-padded to 2048 points (≈0.001 Hz bins: 64 s alone gives 0.0156 Hz bins);
- peak = frequency of the maximum PSD in 0.04-0.26 Hz;
- peak power = PSD integral over peak ± 0.015 Hz; total power = integral over 0.0033-0.4 Hz;
- ratio = peak power / (total power − peak power).

One ectopic beat collapses it: compute on artifact-corrected NN and withhold it on poor windows (the window
function does). The engine updates it every 5 s.
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 64.0
FS_HZ = 2.0
NFFT = 2048
PEAK_SEARCH_HZ = (0.04, 0.26)
PEAK_HALF_WIDTH_HZ = 0.015
TOTAL_BAND_HZ = (0.0033, 0.4)
#: The window must hold at least this much data (s) for a ratio (less one mean NN interval of tolerance: beats
#: never fill a nominal window exactly; :func:`biotrainer.metrics.frequency.reaches`).
MIN_SPAN_S = 60.0


def coherence_ratio(beat_t_s: np.ndarray, nn_ms: np.ndarray) -> tuple[float | None, float | None, str]:
    """Coherence ratio of a window of NN intervals.

    Returns
    -------
    (ratio, peak_hz, reason) : tuple
        ``ratio`` and ``peak_hz`` are None (with ``reason``) when the window spans less than 60 s (first interval
        start to last beat, with one mean interval of tolerance).
    """
    from biotrainer.metrics.breathing import _detrend
    from biotrainer.metrics.frequency import reaches, resample_rr

    t = np.asarray(beat_t_s, dtype=float)
    nn = np.asarray(nn_ms, dtype=float)
    # the span from the start of the first interval; beats fall short of a nominal 60 s by up to one interval
    span = float(t[-1] - t[0] + nn[0] / 1000.0) if t.size else 0.0
    if t.size < 8 or not reaches(span, MIN_SPAN_S, nn):
        return None, None, f"window {span:.0f} s shorter than {MIN_SPAN_S:.0f} s needed for coherence"
    _, y = resample_rr(t, nn_ms, FS_HZ)
    y = _detrend(y) * np.hanning(y.size)
    nfft = max(NFFT, y.size)
    psd = np.abs(np.fft.rfft(y, nfft)) ** 2
    f = np.fft.rfftfreq(nfft, 1.0 / FS_HZ)
    search = (f >= PEAK_SEARCH_HZ[0]) & (f <= PEAK_SEARCH_HZ[1])
    peak_hz = float(f[search][np.argmax(psd[search])])
    df = f[1] - f[0]
    total_mask = (f >= TOTAL_BAND_HZ[0]) & (f <= TOTAL_BAND_HZ[1])
    peak_mask = np.abs(f - peak_hz) <= PEAK_HALF_WIDTH_HZ
    total = float(psd[total_mask].sum() * df)
    peak = float(psd[peak_mask & total_mask].sum() * df)
    if total - peak <= 0:
        return None, peak_hz, "no power outside the peak"
    return peak / (total - peak), peak_hz, ""
