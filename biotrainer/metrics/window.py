"""All metrics of one window: the single function the live engine and offline analysis share.

Live and offline give the same numbers for the same window because both call :func:`compute_window` with the
beats whose time lies in ``(start_s, end_s]`` and the same settings.

Output keys (``values``; a None value has its reason in ``reasons`` under the same key):

=============================  ==========================================================================
``window.start_s``/``end_s``   the window (session seconds); beats with start < beat time <= end
``quality.n_beats``            raw beats (intervals) in the window
``quality.corrected_pct``      % of raw beats flagged and corrected (Lipponen-Tarvainen)
``quality.missing_pct``        % of the window without data (gaps between beats, contact loss)
``quality.ok``                 1 when the window is good enough for time-domain metrics, else 0
``artifacts.ectopic`` …        raw beats per class: ``ectopic``, ``missed``, ``extra``, ``long_short``;
                               ``artifacts.corrected``: raw beats flagged and corrected. The correction
                               runs on the window's context (the last max(window, 64 s) of beats and
                               ``LOOKAHEAD_BEATS`` beats after the window, when they exist) and is
                               restricted to the window
``hrv.hr_bpm`` … ``pnn50_pct`` time domain (:mod:`.time_domain`) on corrected NN
``hrv.vlf_ms2`` … ``hf_peak_hz`` frequency domain (:mod:`.frequency`); LF needs 120 s, HF 60 s, VLF > 300 s
``breathing.rate_per_min``     breathing rate from the best source (``labels['breathing.source']``:
                               ``acc``, ``ecg`` or ``rr``) with ``breathing.confidence`` 0..1;
                               per-source ``breathing.rr_rate_per_min``, ``acc_…``, ``ecg_…``
``breathing.pacer_rate_per_min`` the pacer's rate (last pacer marker in the window)
``breathing.adherence_per_min``  breathing rate minus pacer rate
``breathing.hr_phase_deg``     HR phase relative to pacer lung volume at the pacer frequency (0 = in phase)
``rsa.p2t_ms``                 mean per-breath peak-to-trough RSA (Grossman), ms; ``rsa.p2t_bpm`` HR swing;
                               ``rsa.p2t_ms_last``/``p2t_bpm_last`` the last complete breath;
                               ``rsa.n_breaths``; ``rsa.last_breath_end_s`` when the last one ended;
                               ``labels['rsa.breath_source']``: ``acc``, ``ecg``, ``pacer``, ``rr`` or
                               ``none``; ``rsa.hr_lag_s`` the shift applied to the breaths so HR's
                               extremes fall inside Grossman's windows (:mod:`.rsa`)
``rsa.pacer_band_ms2``         NN power within pacer frequency ± 0.03 Hz (paced windows only)
``rsa.porges_bohrer_ln_ms2``   Porges-Bohrer, only when breathing is inside 7.2-24 /min
``coherence.ratio``            coherence ratio (McCraty 2009 definition, ours) over the last 64 s;
                               ``coherence.peak_hz`` its peak frequency
``ecg.rr_median_abs_diff_ms``  with ECG: median |RR from R-peaks − strap RR| (ms) after aligning clocks;
                               ``ecg.rr_within_10ms_pct`` share of intervals agreeing within 10 ms
=============================  ==========================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from biotrainer.core.pacer import breath_volume, segment_code
from biotrainer.metrics import artifacts as art
from biotrainer.metrics.frequency import reaches
from biotrainer.metrics.time_domain import MIN_WINDOW_S, time_domain

DEFAULT_WINDOW_S = 60.0
#: Beats after the window end that the artifact correction may see. A premature (ectopic) beat is only recognisable
#: once the beats after it (the compensatory pause) exist: classified as the newest beat it passes raw, and one
#: ectopic beat doubles RMSSD for that one update. With these beats as look-ahead the window's last beats are
#: classified like every other beat; the live engine therefore computes each update on the window ending
#: ``LOOKAHEAD_BEATS`` beats before the newest beat (latency: this many beats, ~2 s at 65 bpm). One beat of
#: look-ahead is not enough: Lipponen-Tarvainen's subspaces use the two following dRR values (see SCIENCE.md §6).
LOOKAHEAD_BEATS = 2
#: Paced breathing: pacer-derived breaths are used for RSA when breathing is within this of the pacer rate.
ADHERENCE_LIMIT_PER_MIN = 1.0
#: A respiration signal (ACC, EDR) gives the breath phases for RSA when its own rate estimate is this confident.
RESPIRATION_MIN_CONFIDENCE = 0.2


@dataclass(frozen=True)
class Settings:
    """Analysis settings (the same object drives live and offline analysis).

    ``max_corrected_time`` / ``max_corrected_spectral``: share of corrected beats above which time-domain /
    spectral+coherence metrics are withheld. ``correction=False`` analyses raw RR (flags still reported).
    """

    window_s: float = DEFAULT_WINDOW_S
    min_window_s: float = MIN_WINDOW_S
    correction: bool = True
    max_corrected_time: float = art.MAX_CORRECTED_SHARE_TIME_DOMAIN
    max_corrected_spectral: float = art.MAX_CORRECTED_SHARE_SPECTRAL
    max_missing: float = art.MAX_MISSING_SHARE


@dataclass
class WindowData:
    """Raw inputs of one window. Only ``beat_t_s``/``rr_ms`` are required.

    ``pacer``: pacer segment starts ``(t_s, segment, duration_s, rate_per_min)`` from shortly before the window
    start to its end. ``acc_mg``/``acc_fs_hz``: accelerometer samples covering the window (first sample at
    ``acc_t0_s``). ``ecg_peak_t_s``/``ecg_r_amplitude``/``ecg_qrs_area``: R-peaks (session time), R amplitudes and QRS
    areas, for EDR.
    ``contact_lost_s``: seconds of the window without skin contact or connection that are not already a gap
    between beats (:func:`~biotrainer.metrics.streams.build_window` leaves those out: counted once). ``context_beat_t_s``/
    ``context_rr_ms``: raw beats of ``(end_s − max(window, 64 s), end_s]`` plus up to :data:`LOOKAHEAD_BEATS` beats
    after ``end_s``: the artifact correction runs on this context, so one correction serves the time-domain window
    and the 64-s coherence window, and the window's last beats are classified with the beats that follow them (the
    beats after ``end_s`` are then dropped; default: the window's own beats).
    """

    start_s: float
    end_s: float
    beat_t_s: np.ndarray
    rr_ms: np.ndarray
    pacer: list[tuple[float, str, float, float]] = field(default_factory=list)
    acc_mg: np.ndarray | None = None
    acc_fs_hz: float | None = None
    acc_t0_s: float | None = None
    ecg_peak_t_s: np.ndarray | None = None
    ecg_r_amplitude: np.ndarray | None = None
    ecg_qrs_area: np.ndarray | None = None
    contact_lost_s: float = 0.0
    context_beat_t_s: np.ndarray | None = None
    context_rr_ms: np.ndarray | None = None


@dataclass
class WindowResult:
    values: dict[str, float | None]
    reasons: dict[str, str]
    labels: dict[str, str]
    flags: np.ndarray  # per raw beat in the window
    nn_ms: np.ndarray
    nn_t_s: np.ndarray
    #: per-breath RSA of the window (full computations only; :func:`window_breath_rsa`)
    breaths: list = field(default_factory=list)


def select(beat_t_s: np.ndarray, start_s: float, end_s: float) -> slice:
    """Slice of sorted ``beat_t_s`` with ``start_s < t <= end_s``."""
    i0 = int(np.searchsorted(beat_t_s, start_s, side="right"))
    i1 = int(np.searchsorted(beat_t_s, end_s, side="right"))
    return slice(i0, i1)


def _put(values: dict, reasons: dict, key: str, value: float | None, reason: str = "") -> None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        values[key] = None
        reasons[key] = reason or "could not be computed"
    else:
        values[key] = float(value)


def compute_window(data: WindowData, settings: Settings | None = None, *, spectral: bool = True) -> WindowResult:
    """Compute every metric of one window (see the module docstring for keys).

    Parameters
    ----------
    data : WindowData
        The window's raw inputs.
    settings : Settings, optional
        Analysis settings.
    spectral : bool
        False computes only quality and time-domain keys (the live engine's per-beat update).
    """
    s = settings or Settings()
    values: dict[str, float | None] = {"window.start_s": float(data.start_s), "window.end_s": float(data.end_s)}
    reasons: dict[str, str] = {}
    labels: dict[str, str] = {}
    t = np.asarray(data.beat_t_s, dtype=float)
    rr = np.asarray(data.rr_ms, dtype=float)
    n = rr.size
    span = max(0.0, float(data.end_s - data.start_s))

    ctx = _context_correction(data, t, rr)
    in_window = ctx.beat_t_corrected_s > data.start_s
    corr = art.Correction(ctx.flags[ctx.raw_t_s > data.start_s], ctx.rr_corrected_ms[in_window],
                          ctx.beat_t_corrected_s[in_window])
    flags = corr.flags
    n_flagged = int(np.count_nonzero(flags))
    per_flag = np.bincount(flags, minlength=5).tolist()  # raw beats per FLAG_* code (codes 0..4)
    corr.counts = {k: int(per_flag[code]) for k, code in zip(
        art.ARTIFACT_CLASSES, (art.FLAG_ECTOPIC, art.FLAG_MISSED, art.FLAG_EXTRA, art.FLAG_LONG_SHORT), strict=True)}
    corr.counts["corrected"] = n_flagged
    corrected_share = (n_flagged / n) if n else 0.0
    missing_s = art.missing_time_s(rr, t) + float(data.contact_lost_s)
    if n:
        missing_s += max(0.0, float(t[0] - rr[0] / 1000.0 - data.start_s) - art.GAP_TOLERANCE_S)
        missing_s += max(0.0, float(data.end_s - t[-1]) - 2.0)
    missing_share = min(1.0, missing_s / span) if span > 0 else 1.0
    values["quality.n_beats"] = float(n)
    values["quality.corrected_pct"] = 100.0 * corrected_share
    values["quality.missing_pct"] = 100.0 * missing_share
    for k in art.ARTIFACT_CLASSES:
        values[f"artifacts.{k}"] = float(corr.counts.get(k, 0))
    values["artifacts.corrected"] = float(corr.counts.get("corrected", 0))

    if s.correction:
        nn, nn_t = corr.rr_corrected_ms, corr.beat_t_corrected_s
        valid = art.find_gaps(nn, nn_t)
        valid = ~valid
    else:
        nn, nn_t, valid = rr, t, ~art.find_gaps(rr, t)

    data_span = float(t[-1] - t[0] + rr[0] / 1000.0) if n else 0.0
    poor = too_short_reason(n, data_span, s.min_window_s, rr)
    if not poor and missing_share > s.max_missing:
        poor = f"{100 * missing_share:.0f} % of the window has no data (limit {100 * s.max_missing:.0f} %)"
    poor = poor or corrected_reason(corrected_share, s.max_corrected_time, s.correction)
    values["quality.ok"] = 0.0 if poor else 1.0
    td = time_domain(nn, valid) if not poor else dict.fromkeys(("hr_bpm", "mean_nn_ms", "sdnn_ms", "rmssd_ms",
                                                                 "ln_rmssd", "pnn50_pct"))
    for k, v in td.items():
        _put(values, reasons, f"hrv.{k}", v, poor or "too few intervals")
    result = WindowResult(values, reasons, labels, flags, nn, nn_t)
    if spectral:
        result.breaths = _spectral(result, data, s, poor, corrected_share, ctx)
    return result


@dataclass
class _Context:
    raw_t_s: np.ndarray
    raw_rr_ms: np.ndarray
    flags: np.ndarray
    rr_corrected_ms: np.ndarray
    beat_t_corrected_s: np.ndarray


def _context_correction(data: WindowData, t: np.ndarray, rr: np.ndarray) -> _Context:
    """Correct the window's context (see :class:`WindowData`); falls back to the window's own beats when the
    context does not end with exactly the window's beats."""
    ct, crr = t, rr
    if data.context_beat_t_s is not None and data.context_rr_ms is not None:
        c_t = np.asarray(data.context_beat_t_s, dtype=float)
        c_rr = np.asarray(data.context_rr_ms, dtype=float)
        tail = (c_t > data.start_s) & (c_t <= data.end_s)
        after = int(np.count_nonzero(c_t > data.end_s))
        if (np.count_nonzero(tail) == t.size and np.array_equal(c_t[tail], t) and after <= LOOKAHEAD_BEATS
                and np.all(c_t[c_t.size - after:] > data.end_s)):
            ct, crr = c_t, c_rr
    if crr.size >= 3:
        c = art.correct_rr(crr, ct)
        # the beats after the window served only to classify its last beats: cut everything back to the window end
        raw_in, nn_in = ct <= data.end_s, c.beat_t_corrected_s <= data.end_s
        return _Context(ct[raw_in], crr[raw_in], c.flags[raw_in], c.rr_corrected_ms[nn_in],
                        c.beat_t_corrected_s[nn_in])
    keep = ct <= data.end_s
    return _Context(ct[keep], crr[keep], np.zeros(int(np.count_nonzero(keep)), dtype=np.int8), crr[keep].copy(),
                    ct[keep].copy())


def _pacer_state(data: WindowData) -> tuple[float | None, list[tuple[float, str, float]]]:
    inside = [(t, seg, dur) for t, seg, dur, _r in data.pacer if t <= data.end_s]
    rate = None
    for t, _seg, _dur, r in data.pacer:
        if data.start_s < t <= data.end_s:
            rate = r
    return rate, inside


def pacer_volume(segments: list[tuple[float, str, float]], t_s: np.ndarray) -> np.ndarray:
    """Lung volume the pacer asks for (0 empty .. 1 full) at times ``t_s`` (:func:`biotrainer.core.pacer.breath_volume`);
    NaN outside the segments."""
    t_s = np.asarray(t_s, dtype=float)
    v = np.full(t_s.size, np.nan)
    if not segments:
        return v
    starts = np.array([seg[0] for seg in segments])
    durs = np.array([seg[2] for seg in segments])
    kinds = np.array([segment_code(seg[1]) for seg in segments])
    ends = np.append(starts[1:], starts[-1] + durs[-1])
    k = np.searchsorted(starts, t_s, side="right") - 1
    inside = (k >= 0) & (t_s < ends[np.clip(k, 0, None)])
    k = k[inside]
    prog = np.clip((t_s[inside] - starts[k]) / np.where(durs[k] > 0, durs[k], 1.0), 0.0, 1.0)
    v[inside] = breath_volume(kinds[k], prog)
    return v


def corrected_reason(share: float, limit: float, correction: bool, *, where: str = "", limit_note: str = "") -> str:
    """Why metrics are withheld when more than ``limit`` of the beats were corrected ('' when they are not, or when
    the analysis runs on raw RR); ``where``/``limit_note`` say which beats and which limit."""
    if not correction or share <= limit:
        return ""
    return f"{100 * share:.1f} % of beats corrected{where} (limit {100 * limit:.0f} %{limit_note})"


def too_short_reason(n_beats: int, span_s: float, min_window_s: float, rr_ms: np.ndarray) -> str:
    """Why metrics are withheld when the beats span less than ``min_window_s`` (within one mean interval,
    :func:`~biotrainer.metrics.frequency.reaches`) or are fewer than 3 ('' when they are enough)."""
    if n_beats < 3 or not reaches(span_s, min_window_s, rr_ms):
        return f"{span_s:.0f} s of beats, fewer than the {min_window_s:.0f} s minimum"
    return ""


def _spectral(r: WindowResult, data: WindowData, s: Settings, poor: str, corrected_share: float,
              ctx: _Context) -> list:
    """The keys of a full update beyond time domain (see the module docstring); returns the per-breath RSA."""
    from biotrainer.metrics.frequency import RESAMPLE_HZ, resample_rr, welch_psd

    spectral_poor = poor or corrected_reason(corrected_share, s.max_corrected_spectral, s.correction,
                                             limit_note=" for spectral metrics")
    # one 4-Hz resampling and one Welch PSD serve every spectral and RR-breathing computation of the window
    resampled = resample_rr(r.nn_t_s, r.nn_ms, RESAMPLE_HZ) if r.nn_ms.size >= 8 else None
    psd = welch_psd(resampled[1], RESAMPLE_HZ) if resampled is not None else None
    _frequency_keys(r, data, spectral_poor, psd)
    _coherence_keys(r, data, s, ctx, spectral_poor)
    _ecg_keys(r, data)
    pacer_rate, segments = _pacer_state(data)
    estimates, best, adh = _breathing_keys(r, data, poor, pacer_rate, resampled)
    _hr_phase_key(r, data, poor, pacer_rate, segments)
    per_breath, source, lag = window_breath_rsa(data, r.nn_ms, r.nn_t_s, estimates, best, pacer_rate is not None,
                                                adh, segments, resampled, poor=bool(poor))
    _rsa_keys(r, per_breath, source, lag, poor)
    _rsa_band_keys(r, poor, spectral_poor, pacer_rate, best.rate_per_min, psd)
    return per_breath


def _frequency_keys(r: WindowResult, data: WindowData, spectral_poor: str,
                    psd: tuple[np.ndarray, np.ndarray] | None) -> None:
    """``hrv.vlf_ms2`` … ``hf_peak_hz``."""
    from biotrainer.metrics.frequency import FREQUENCY_KEYS, frequency_domain

    nn, nn_t = r.nn_ms, r.nn_t_s
    if spectral_poor or nn.size < 8:
        why = spectral_poor or "too few intervals"
        for k in FREQUENCY_KEYS:
            _put(r.values, r.reasons, f"hrv.{k}", None, why)
        return
    # the window's length counts for the band minimums when beats fill it (up to a beat at each edge)
    data_span = float(nn_t[-1] - nn_t[0] + nn[0] / 1000.0)
    fv, fr = frequency_domain(nn_t, nn, span_s=min(data.end_s - data.start_s, data_span + 2.0), psd=psd)
    for k in FREQUENCY_KEYS:
        _put(r.values, r.reasons, f"hrv.{k}", fv.get(k), fr.get(k, ""))


def _coherence_keys(r: WindowResult, data: WindowData, s: Settings, ctx: _Context, spectral_poor: str) -> None:
    """Coherence: the last 64 s of the corrected context (its own window, whatever the analysis window)."""
    from biotrainer.metrics.coherence import WINDOW_S as COH_WINDOW_S
    from biotrainer.metrics.coherence import coherence_ratio

    ratio = peak = None
    why = spectral_poor
    if not why:
        lo = data.end_s - COH_WINDOW_S
        raw_in = ctx.raw_t_s > lo
        n_raw = int(np.count_nonzero(raw_in))
        if n_raw < 8:
            why = "too few intervals for coherence"
        else:
            why = corrected_reason(np.count_nonzero(ctx.flags[raw_in]) / n_raw, s.max_corrected_spectral,
                                   s.correction, where=" in the 64-s coherence window")
            if not why and s.correction:
                sel = ctx.beat_t_corrected_s > lo
                ratio, peak, why = coherence_ratio(ctx.beat_t_corrected_s[sel], ctx.rr_corrected_ms[sel])
            elif not why:
                ratio, peak, why = coherence_ratio(ctx.raw_t_s[raw_in], ctx.raw_rr_ms[raw_in])
    _put(r.values, r.reasons, "coherence.ratio", ratio, why)
    _put(r.values, r.reasons, "coherence.peak_hz", peak, why)


def _ecg_keys(r: WindowResult, data: WindowData) -> None:
    """RR from ECG against the strap's RR (when both streams exist)."""
    if data.ecg_peak_t_s is None or len(data.ecg_peak_t_s) < 6:
        return
    from biotrainer.metrics.rpeaks import rr_agreement

    med, share, _ = rr_agreement(data.ecg_peak_t_s, data.beat_t_s, data.rr_ms)
    why = "too few ECG intervals matched strap beats"
    _put(r.values, r.reasons, "ecg.rr_median_abs_diff_ms", med, why)
    _put(r.values, r.reasons, "ecg.rr_within_10ms_pct", None if share is None else 100.0 * share, why)


def _breathing_keys(r: WindowResult, data: WindowData, poor: str, pacer_rate: float | None,
                    resampled: tuple[np.ndarray, np.ndarray] | None) -> tuple[list, object, float | None]:
    """Breathing rate per source and the best one, pacer rate and adherence; returns ``(estimates, best,
    adherence_per_min)``."""
    from biotrainer.metrics import breathing as br

    values, reasons = r.values, r.reasons
    nn, nn_t = r.nn_ms, r.nn_t_s
    span = max(1e-9, data.end_s - data.start_s)
    coverage = 1.0 - min(1.0, float(values.get("quality.missing_pct") or 0.0) / 100.0)
    estimates: list[br.RateEstimate] = []
    if nn.size >= 8 and not poor:
        estimates.append(br.rate_from_rr(nn_t, nn, pacer_rate_per_min=pacer_rate, coverage=coverage,
                                          resampled=resampled[1]))
    else:
        estimates.append(br.RateEstimate(None, 0.0, "rr", poor or "too few intervals"))
    if data.acc_mg is not None and data.acc_fs_hz:
        estimates.append(br.rate_from_acc(data.acc_mg, data.acc_fs_hz, pacer_rate_per_min=pacer_rate,
                                          coverage=min(1.0, len(data.acc_mg) / data.acc_fs_hz / span)))
    if data.ecg_peak_t_s is not None and data.ecg_r_amplitude is not None and len(data.ecg_peak_t_s) >= 8:
        estimates.append(br.rate_from_edr(data.ecg_peak_t_s, data.ecg_r_amplitude, pacer_rate_per_min=pacer_rate,
                                          coverage=coverage))
    if data.ecg_peak_t_s is not None and data.ecg_qrs_area is not None and len(data.ecg_peak_t_s) >= 8:
        estimates.append(br.rate_from_qrs_area(data.ecg_peak_t_s, data.ecg_qrs_area, pacer_rate_per_min=pacer_rate,
                                               coverage=coverage))
    for e in estimates:
        _put(values, reasons, f"breathing.{e.source}_rate_per_min", e.rate_per_min, e.reason)
    best = br.fuse(estimates)
    _put(values, reasons, "breathing.rate_per_min", best.rate_per_min, best.reason)
    values["breathing.confidence"] = float(best.confidence)
    r.labels["breathing.source"] = best.source
    _put(values, reasons, "breathing.pacer_rate_per_min", pacer_rate, "no pacer in this window")
    adh = br.adherence(best.rate_per_min, pacer_rate)
    _put(values, reasons, "breathing.adherence_per_min", adh,
         "no pacer in this window" if pacer_rate is None else "breathing rate unknown")
    return estimates, best, adh


def _hr_phase_key(r: WindowResult, data: WindowData, poor: str, pacer_rate: float | None,
                  segments: list[tuple[float, str, float]]) -> None:
    """HR-breathing phase against the pacer's lung volume."""
    from biotrainer.metrics.breathing import hr_breathing_phase_deg

    phase = None
    why = "no pacer in this window: phase needs the pacer as lung-volume reference"
    if pacer_rate is not None and r.nn_ms.size >= 8 and not poor:
        tv = np.arange(data.start_s, data.end_s, 0.25)
        vol = pacer_volume(segments, tv)
        ok = np.isfinite(vol)
        if np.count_nonzero(ok) > 16:
            phase = hr_breathing_phase_deg(r.nn_t_s, r.nn_ms, tv[ok], vol[ok], pacer_rate / 60.0)
        why = "pacer does not cover the window"
    elif poor:
        why = poor
    _put(r.values, r.reasons, "breathing.hr_phase_deg", phase, why)


def _rsa_keys(r: WindowResult, per_breath: list, source: str, lag: float, poor: str) -> None:
    """Per-breath RSA of the window: ``rsa.p2t_*``, ``rsa.n_breaths``, ``rsa.hr_lag_s``, the breath source."""
    values, reasons = r.values, r.reasons
    r.labels["rsa.breath_source"] = source or "none"
    why = poor or ("no complete breath in the window" if source else "no breath phases available")
    _put(values, reasons, "rsa.hr_lag_s", lag if source else None, why)
    values["rsa.n_breaths"] = float(len(per_breath))
    if per_breath:
        _put(values, reasons, "rsa.p2t_ms", float(np.mean([b.p2t_ms for b in per_breath])))
        _put(values, reasons, "rsa.p2t_bpm", float(np.mean([b.p2t_bpm for b in per_breath])))
        _put(values, reasons, "rsa.p2t_ms_last", per_breath[-1].p2t_ms)
        _put(values, reasons, "rsa.p2t_bpm_last", per_breath[-1].p2t_bpm)
        _put(values, reasons, "rsa.last_breath_end_s", per_breath[-1].breath.end_s)
    else:
        for k in ("rsa.p2t_ms", "rsa.p2t_bpm", "rsa.p2t_ms_last", "rsa.p2t_bpm_last", "rsa.last_breath_end_s"):
            _put(values, reasons, k, None, why)


def _rsa_band_keys(r: WindowResult, poor: str, spectral_poor: str, pacer_rate: float | None,
                   breathing_rate: float | None, psd: tuple[np.ndarray, np.ndarray] | None) -> None:
    """``rsa.pacer_band_ms2`` and ``rsa.porges_bohrer_ln_ms2``."""
    from biotrainer.metrics import rsa

    nn, nn_t = r.nn_ms, r.nn_t_s
    if pacer_rate is not None and not spectral_poor and nn.size >= 8:
        _put(r.values, r.reasons, "rsa.pacer_band_ms2", rsa.pacer_band_power_ms2(nn_t, nn, pacer_rate / 60.0, psd=psd),
             "too few intervals")
    else:
        _put(r.values, r.reasons, "rsa.pacer_band_ms2", None, spectral_poor or "no pacer in this window")
    if poor:
        _put(r.values, r.reasons, "rsa.porges_bohrer_ln_ms2", None, poor)
    else:
        pb, pb_why = rsa.porges_bohrer(nn_t, nn, breathing_rate)
        _put(r.values, r.reasons, "rsa.porges_bohrer_ln_ms2", pb, pb_why)


def window_breath_rsa(data: WindowData, nn: np.ndarray, nn_t: np.ndarray, estimates: list, best: object,
                      paced: bool, adherence_per_min: float | None, segments: list[tuple[float, str, float]],
                      resampled: tuple[np.ndarray, np.ndarray] | None, *,
                      poor: bool = False) -> tuple[list, str, float]:
    """Per-breath RSA of a window from the best available breath phases (order and alignment: :mod:`.rsa`).

    ``estimates`` are the window's per-source :class:`~biotrainer.metrics.breathing.RateEstimate` (a respiration
    signal serves when its own estimate has a rate with confidence ≥ ``RESPIRATION_MIN_CONFIDENCE``; the
    accelerometer before ECG-derived respiration), ``best`` the one shown. Returns ``(per_breath, source,
    lag_s)``; ``source`` is ``acc``, ``ecg``, ``pacer``, ``rr`` or ``""`` (no breath phases).
    """
    from biotrainer.metrics import rsa

    if poor or nn.size < 8:
        return [], "", 0.0
    rate = getattr(best, "rate_per_min", None)
    breaths, source = _respiration_breaths(data, estimates)
    if not breaths and paced and (adherence_per_min is None or abs(adherence_per_min) <= ADHERENCE_LIMIT_PER_MIN):
        breaths, source = rsa.breaths_from_pacer(segments), "pacer"
    if not breaths and rate:
        breaths, source = rsa.breaths_from_rr(nn_t, nn, rate, resampled), "rr"
    if not breaths:
        return [], source, 0.0
    per_breath, lag = rsa.aligned_breath_rsa(nn_t, nn, breaths)
    return per_breath, source, lag


def _respiration_breaths(data: WindowData, estimates: list) -> tuple[list, str]:
    """Breaths from a respiration signal with a usable rate estimate (the accelerometer before ECG-derived
    respiration), band-passed around that rate: ``(breaths, source)``, ``([], "")`` when there is none."""
    from biotrainer.metrics import breathing as br
    from biotrainer.metrics import rsa

    usable = {e.source: e for e in estimates
              if e.source in ("acc", "ecg") and e.rate_per_min and e.confidence >= RESPIRATION_MIN_CONFIDENCE}
    src = "acc" if "acc" in usable else ("ecg" if "ecg" in usable else "")
    if not src:
        return [], ""
    resp: np.ndarray | None = None
    if src == "acc" and data.acc_mg is not None and data.acc_fs_hz:
        resp, fs = br.respiration_from_acc(data.acc_mg, float(data.acc_fs_hz))
        t0 = float(data.acc_t0_s if data.acc_t0_s is not None else data.start_s)
    elif src == "ecg" and data.ecg_peak_t_s is not None and data.ecg_r_amplitude is not None:
        from biotrainer.metrics.frequency import resample_rr

        fs = 4.0
        t_even, resp = resample_rr(np.asarray(data.ecg_peak_t_s, float), np.asarray(data.ecg_r_amplitude, float), fs)
        t0 = float(t_even[0]) if len(t_even) else data.start_s
    if resp is None or resp.size < 16:
        return [], ""
    return rsa.breaths_from_extrema(resp - resp.mean(), fs, usable[src].rate_per_min, t0), src
