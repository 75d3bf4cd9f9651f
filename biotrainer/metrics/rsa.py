"""Respiratory sinus arrhythmia during (paced) breathing (SCIENCE.md §2).

- **Peak-to-trough (Grossman)** per breath: longest RR during exhalation minus shortest RR during inhalation (ms,
  negative → 0), and the heart-rate swing of the whole breath, max HR − min HR (bpm, Lehrer's resonance criterion).
  A beat belongs to a segment when the beat that *ends* its interval falls inside the segment.

  **Which breath phases** (design choice; :func:`biotrainer.metrics.window.window_breath_rsa` picks them in this
  order):

  1. a respiration signal when present with a usable rate (its own estimate's confidence ≥ 0.2): the chest
     accelerometer (``acc``), else ECG-derived respiration (``ecg``): the breaths counted on it
     (:func:`breaths_from_extrema`, the same count as the rate; the signal's sign does not matter, see the
     alignment);
  2. else the pacer (:func:`breaths_from_pacer`) while breathing follows it (adherence within 1 /min);
  3. else cycles of the RSA waveform itself (:func:`breaths_from_rr`, ``rr``: spontaneous breathing with no
     respiration signal).

  **Alignment.** The breaths are then shifted by the measured HR-breathing lag (:func:`hr_lag_s`) before
  Grossman's windows are applied (:func:`aligned_breath_rsa`): the shift puts the heart-rate maximum (fitted at
  the breathing rate) in the middle of the inhalation window, so the RR minimum and maximum, half a breath
  apart, fall inside the inhale and exhale windows. Why: heart rate is not in phase with lung volume (in the
  resonance model it lags by 25-50° at 6-7 /min and ~50-90° at 15 /min, leads below the resonance rate), the
  person follows the pacer a few hundred ms late, and an RR value is attributed to the beat that ends it, about
  half a beat after the heart rate it reflects. Unshifted, the RR minimum fell in the exhalation window and the
  maximum in the next inhalation, so P2T collapsed (28 ms instead of ≈ 160 ms at 6.5 /min in the simulator,
  near 0 at 15 /min); RR-derived cycles put both extremes exactly on the window edges. Aligned, P2T tracks the
  simulator's true per-breath RR swing within ≈ 10 % for every source and is stable across rates for a fixed
  amplitude (110/116/120 ms at 15/9/6 /min for a true 120 ms with beats sampled every 0.9 s). The lag is
  reported as ``rsa.hr_lag_s``.
- **Pacer-band power**: NN power in ``pacer frequency ± 0.03 Hz`` (ms², Welch PSD of :mod:`.frequency`). Design
  choice replacing adult-band HF during slow breathing, where HF misses RSA entirely.
- **Porges-Bohrer**: heart period at 2 Hz → 21-point cubic moving-polynomial detrend → band-pass 0.12-0.40 Hz →
  ln(variance) per 30-s epoch → mean, in ln(ms²). Only returned when breathing is inside 0.12-0.40 Hz
  (7.2-24 /min); otherwise None with the reason.

neurokit2's ``RSA_Gates`` is never used: it tracks mean RR, not RSA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PACER_BAND_HALF_WIDTH_HZ = 0.03
PB_BAND_HZ = (0.12, 0.40)
PB_EPOCH_S = 30.0
PB_FS_HZ = 2.0


@dataclass(frozen=True, slots=True)
class Breath:
    """One breath: inhale from ``inhale_start_s`` to ``exhale_start_s``, exhale until ``end_s``."""

    inhale_start_s: float
    exhale_start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class BreathRsa:
    """RSA of one breath: ``p2t_ms`` (Grossman) and ``p2t_bpm`` (HR max − min over the breath).

    ``breath`` is the breath as segmented (it identifies the breath across windows); the windows used were
    ``breath`` shifted by ``lag_s`` (:func:`aligned_breath_rsa`).
    """

    breath: Breath
    p2t_ms: float
    p2t_bpm: float
    n_beats: int
    lag_s: float = 0.0


def breath_rsa(beat_t_s: np.ndarray, nn_ms: np.ndarray, breaths: list[Breath],
               min_beats_per_segment: int = 1) -> list[BreathRsa]:
    """Per-breath peak-to-trough RSA for the breaths fully covered by beats.

    Parameters
    ----------
    beat_t_s, nn_ms : np.ndarray
        Beat times (s) and NN intervals (ms).
    breaths : list of Breath
        Breath segmentation.
    min_beats_per_segment : int
        Breaths with fewer beats in the inhale or the exhale are skipped.
    """
    t = np.asarray(beat_t_s, dtype=float)
    nn = np.asarray(nn_ms, dtype=float)
    out: list[BreathRsa] = []
    if t.size == 0:
        return out
    for b in breaths:
        if b.inhale_start_s < t[0] or b.end_s > t[-1]:
            continue
        i0, i1, i2 = np.searchsorted(t, (b.inhale_start_s, b.exhale_start_s, b.end_s))
        inhale, exhale = nn[i0:i1], nn[i1:i2]
        if inhale.size < min_beats_per_segment or exhale.size < min_beats_per_segment:
            continue
        whole = nn[i0:i2]
        out.append(BreathRsa(b, max(0.0, float(exhale.max() - inhale.min())),
                             float(60000.0 / whole.min() - 60000.0 / whole.max()), int(whole.size)))
    return out


def _inhale_centre_wave(breaths: list[Breath], t_s: np.ndarray) -> np.ndarray:
    """cos(2π·(t − inhale centre)/breath length) within each breath (continuous across breaths), NaN outside:
    its maxima are the middles of the inhalations, its minima (half a breath later) the middles of the
    exhalations, whatever the inhale:exhale ratio."""
    t = np.asarray(t_s, dtype=float)
    v = np.full(t.size, np.nan)
    if not breaths:
        return v
    a = np.array([b.inhale_start_s for b in breaths])
    c = np.array([(b.inhale_start_s + b.exhale_start_s) / 2.0 for b in breaths])
    e = np.array([b.end_s for b in breaths])
    k = np.searchsorted(a, t, side="right") - 1
    ok = (k >= 0) & (t < e[np.clip(k, 0, None)])
    k = k[ok]
    v[ok] = np.cos(2 * np.pi * (t[ok] - c[k]) / np.maximum(e[k] - a[k], 1e-9))
    return v


def hr_lag_s(beat_t_s: np.ndarray, nn_ms: np.ndarray, breaths: list[Breath]) -> float | None:
    """How long after the middle of inhalation the heart rate peaks (s; negative: before), at the breathing rate.

    Least-squares sinusoids at the breaths' median rate, fitted to −NN at the beat times (the attribution
    :func:`breath_rsa` uses) and to a wave peaking at every inhale's middle and troughing at every exhale's
    middle; the lag is their phase difference, wrapped into half a breath either way. Shifting the breaths by it
    centres the shortest RR in the inhale window and the longest in the exhale window. None with fewer than
    8 beats or no breath.
    """
    from biotrainer.metrics.breathing import sinusoid_phase_rad

    t = np.asarray(beat_t_s, dtype=float)
    nn = np.asarray(nn_ms, dtype=float)
    if t.size < 8 or not breaths:
        return None
    period = float(np.median([b.end_s - b.inhale_start_s for b in breaths]))
    lo, hi = max(t[0], breaths[0].inhale_start_s), min(t[-1], breaths[-1].end_s)
    if period <= 0 or hi - lo < period:
        return None
    grid = np.arange(lo, hi, 0.1)
    ref = _inhale_centre_wave(breaths, grid)
    ok = np.isfinite(ref)
    sel = (t >= lo) & (t <= hi)
    if np.count_nonzero(ok) < 16 or np.count_nonzero(sel) < 8:
        return None
    f = 1.0 / period
    phi_hr, a_hr = sinusoid_phase_rad(t[sel], -nn[sel], f)
    phi_ref, a_ref = sinusoid_phase_rad(grid[ok], ref[ok], f)
    if a_hr <= 0 or a_ref <= 0:
        return None
    d = (phi_hr - phi_ref + np.pi) % (2 * np.pi) - np.pi  # φ = ω × time of the maximum
    return float(d / (2 * np.pi * f))


def shift_breaths(breaths: list[Breath], lag_s: float) -> list[Breath]:
    """The breaths moved ``lag_s`` later."""
    return [Breath(b.inhale_start_s + lag_s, b.exhale_start_s + lag_s, b.end_s + lag_s) for b in breaths]


def aligned_breath_rsa(beat_t_s: np.ndarray, nn_ms: np.ndarray,
                       breaths: list[Breath]) -> tuple[list[BreathRsa], float]:
    """Grossman P2T per breath after shifting the breaths by the measured HR lag (:func:`hr_lag_s`).

    Returns ``(per_breath, lag_s)``; each result carries the breath as given and the lag. Without a measurable lag
    the breaths are used as they are (lag 0).
    """
    lag = hr_lag_s(beat_t_s, nn_ms, breaths)
    lag = 0.0 if lag is None else lag
    if not lag:
        return breath_rsa(beat_t_s, nn_ms, breaths), 0.0
    by_start = {round(b.inhale_start_s + lag, 9): b for b in breaths}
    out = [BreathRsa(by_start.get(round(r.breath.inhale_start_s, 9), r.breath), r.p2t_ms, r.p2t_bpm, r.n_beats, lag)
           for r in breath_rsa(beat_t_s, nn_ms, shift_breaths(breaths, lag))]
    return out, lag


def breaths_from_pacer(segments: list[tuple[float, str, float]]) -> list[Breath]:
    """Breaths from pacer segment starts ``(t_s, segment, duration_s)`` in time order.

    Inhale (+ hold_in) counts as inhalation, exhale (+ hold_out) as exhalation; a breath ends at the next inhale.
    """
    breaths: list[Breath] = []
    inhale_t: float | None = None
    exhale_t: float | None = None
    for t_s, seg, _dur in segments:
        if seg == "inhale":
            if inhale_t is not None and exhale_t is not None and exhale_t > inhale_t:
                breaths.append(Breath(inhale_t, exhale_t, t_s))
            inhale_t, exhale_t = t_s, None
        elif seg == "exhale":
            exhale_t = t_s
    return breaths


def breaths_from_extrema(x: np.ndarray, fs_hz: float, rate_per_min: float, t0_s: float = 0.0) -> list[Breath]:
    """Breaths of a volume-like respiration signal at about ``rate_per_min``: the breaths counted by
    :func:`biotrainer.metrics.breathing.breath_extrema` (the same count as the rate) in
    ``BREATH_PHASE_BAND`` × the rate. A trough starts an inhale, the next peak the exhale, the next trough ends it."""
    from biotrainer.metrics import breathing as br

    f0 = rate_per_min / 60.0
    peaks, troughs = br.breath_extrema(x, fs_hz, (br.BREATH_PHASE_BAND[0] * f0, br.BREATH_PHASE_BAND[1] * f0))
    breaths: list[Breath] = []
    for a, b in zip(troughs[:-1], troughs[1:], strict=True):
        inside = peaks[(peaks > a) & (peaks < b)]
        if inside.size:
            breaths.append(Breath(t0_s + a / fs_hz, t0_s + float(inside[0]) / fs_hz, t0_s + b / fs_hz))
    return breaths


def breaths_from_rr(beat_t_s: np.ndarray, nn_ms: np.ndarray, rate_per_min: float,
                    resampled: tuple[np.ndarray, np.ndarray] | None = None) -> list[Breath]:
    """Breaths of the RSA waveform (:func:`breaths_from_extrema` on −NN).

    RR falls during inhalation: a cycle runs from one RR maximum (start of 'inhale') through the RR minimum
    ('exhale' start) to the next maximum.
    """
    from biotrainer.metrics.frequency import resample_rr

    if len(nn_ms) < 8 or rate_per_min <= 0:
        return []
    fs = 4.0
    t_even, y = resampled if resampled is not None else resample_rr(beat_t_s, nn_ms, fs)
    return breaths_from_extrema(-(y - y.mean()), fs, rate_per_min, float(t_even[0]))


def pacer_band_power_ms2(beat_t_s: np.ndarray, nn_ms: np.ndarray, pacer_hz: float,
                         half_width_hz: float = PACER_BAND_HALF_WIDTH_HZ,
                         psd: tuple[np.ndarray, np.ndarray] | None = None) -> float | None:
    """NN power (ms²) within ``pacer_hz ± half_width_hz`` (Welch PSD as in :mod:`.frequency`; ``psd`` reuses
    one already computed)."""
    from biotrainer.metrics.frequency import band_power, rr_psd

    if len(nn_ms) < 8:
        return None
    f, p = psd if psd is not None else rr_psd(beat_t_s, nn_ms)
    return band_power(f, p, (pacer_hz - half_width_hz, pacer_hz + half_width_hz))


def porges_bohrer(beat_t_s: np.ndarray, nn_ms: np.ndarray,
                  breathing_rate_per_min: float | None) -> tuple[float | None, str]:
    """Porges-Bohrer RSA, ln(ms²), or ``(None, reason)`` (breathing outside 0.12-0.40 Hz, too short).

    Returns
    -------
    (value, reason) : tuple
        ``reason`` is empty when the value is present.
    """
    from scipy.signal import savgol_filter

    from biotrainer.metrics.breathing import _bandpass
    from biotrainer.metrics.frequency import resample_rr

    if breathing_rate_per_min is None:
        return None, "breathing rate unknown: Porges-Bohrer needs breathing inside 7.2-24 /min"
    f_b = breathing_rate_per_min / 60.0
    if not (PB_BAND_HZ[0] <= f_b <= PB_BAND_HZ[1]):
        return None, (f"breathing {breathing_rate_per_min:.1f}/min is outside the Porges-Bohrer band "
                      f"7.2-24 /min (the band would miss the RSA)")
    t = np.asarray(beat_t_s, dtype=float)
    if t.size < 8 or t[-1] - t[0] < PB_EPOCH_S:
        return None, f"needs at least one {PB_EPOCH_S:.0f}-s epoch"
    _, hp = resample_rr(t, nn_ms, PB_FS_HZ)
    if hp.size < 21:
        return None, "too few samples"
    detrended = hp - savgol_filter(hp, 21, 3)
    filtered = _bandpass(detrended, PB_FS_HZ, PB_BAND_HZ, order=3)
    n_epoch = int(PB_EPOCH_S * PB_FS_HZ)
    epochs = [filtered[i:i + n_epoch] for i in range(0, filtered.size - n_epoch + 1, n_epoch)]
    lnvars = [float(np.log(np.var(e, ddof=1))) for e in epochs if np.var(e) > 0]
    if not lnvars:
        return None, "no variance in the band"
    return float(np.mean(lnvars)), ""
