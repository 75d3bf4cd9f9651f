"""Respiratory sinus arrhythmia during (paced) breathing (SCIENCE.md §2).

- **Peak-to-trough (Grossman)** per breath: longest RR during exhalation minus shortest RR during inhalation (ms,
  negative → 0), and the heart-rate swing of the whole breath, max HR − min HR (bpm, Lehrer's resonance criterion).
  A beat belongs to a segment when the beat that *ends* its interval falls inside the segment. Breaths come from
  :class:`Breath` lists: from the pacer (with adherence checked by the caller), from a respiration signal
  (:func:`breaths_from_signal`: accelerometer or EDR, inhale = rising volume), or, when nothing else exists, from
  the RSA waveform itself (:func:`breaths_from_rr`; then the exhale/inhale split is the RR maximum/minimum, which
  makes P2T the max − min of NN per cycle: a weaker estimate, named ``rr`` in the output).
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
    """RSA of one breath: ``p2t_ms`` (Grossman) and ``p2t_bpm`` (HR max − min over the breath)."""

    breath: Breath
    p2t_ms: float
    p2t_bpm: float
    n_beats: int


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


def breaths_from_signal(x: np.ndarray, fs_hz: float, t0_s: float = 0.0) -> list[Breath]:
    """Breaths from a respiration (volume-like) signal: troughs start inhales, peaks start exhales.

    ``x`` should already be band-passed around the breathing rate (see :mod:`.breathing`).
    """
    x = np.asarray(x, dtype=float)
    if x.size < 5:
        return []
    dx = np.diff(x)
    s = np.sign(dx)
    s[s == 0] = 1
    turns = np.flatnonzero(s[1:] != s[:-1]) + 1
    troughs = [int(i) for i in turns if s[i - 1] < 0]
    peaks = [int(i) for i in turns if s[i - 1] > 0]
    breaths: list[Breath] = []
    for a, b in zip(troughs[:-1], troughs[1:], strict=True):
        inside = [p for p in peaks if a < p < b]
        if inside:
            p = max(inside, key=lambda i: x[i])
            breaths.append(Breath(t0_s + a / fs_hz, t0_s + p / fs_hz, t0_s + b / fs_hz))
    return breaths


def breaths_from_rr(beat_t_s: np.ndarray, nn_ms: np.ndarray, rate_per_min: float,
                    resampled: tuple[np.ndarray, np.ndarray] | None = None) -> list[Breath]:
    """Cycles of the RSA waveform (NN band-passed ±40 % around the breathing rate).

    RR falls during inhalation: a cycle runs from one RR maximum (start of 'inhale') through the RR minimum
    ('exhale' start) to the next maximum.
    """
    from biotrainer.metrics.breathing import _bandpass
    from biotrainer.metrics.frequency import resample_rr

    if len(nn_ms) < 8 or rate_per_min <= 0:
        return []
    fs = 4.0
    t_even, y = resampled if resampled is not None else resample_rr(beat_t_s, nn_ms, fs)
    f0 = rate_per_min / 60.0
    z = _bandpass(y - y.mean(), fs, (f0 * 0.6, min(f0 * 1.4, 0.45 * fs)))
    return breaths_from_signal(-z, fs, float(t_even[0]))


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
