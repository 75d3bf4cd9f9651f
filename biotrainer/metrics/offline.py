"""Offline analysis: a whole session or file, and the same metrics per window.

Whole-recording summary (:func:`summarize_recording`, the ``analyze`` command's top-level numbers):

- artifacts: one Lipponen-Tarvainen pass over the whole series (flags), iterative correction;
- time and frequency domain on the whole corrected series. Gaps (lost beats, contact or connection loss) split it
  into gap-free segments: time domain over all of them without differencing across a gap, frequency domain on the
  longest one (the whole recording without gaps). Missing data is reported (``quality.missing_pct``, gaps and
  contact loss counted once, and ``warnings`` above 10 %) instead of withholding; too little data or too many
  corrected beats still withhold, with a reason;
- breathing, RSA and coherence are time-varying, so the summary aggregates *windows* (:func:`window_grid`,
  :func:`aggregate_windows`): breathing rate = median of the 60-s windows (step 30 s) that have one, source = the
  source most of them used; RSA ``p2t_ms_mean`` = mean over those windows of their mean per-breath P2T; coherence
  ``ratio_mean`` = mean coherence ratio of the 64-s windows every 5 s (on the whole-series corrected NN, windows
  above the spectral artifact limit skipped).

Per phase (``phases``, sessions with a protocol): breathing rate and RSA from the phase's own 60-s windows (the
same grid and aggregation, the last window ending at the phase end), HR and lnRMSSD from its beats
(:func:`phase_summaries`), so a spontaneous baseline and paced steps are not mixed.

Long recordings: every window is cut from the whole-recording arrays by index (:func:`~biotrainer.metrics.window.
select`, sorted times), never by a whole-series mask, and the summary keeps of each window only what it aggregates
(:func:`aggregate_input`), so time and memory grow linearly with the beats (a week of Holter, ~1 M beats: ~0.4 GB).

Windowed analysis (``window_s``): consecutive windows ``(start, start + window_s]`` from the first beat, each
computed exactly as the live engine computes a window (:func:`analyze_window`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from biotrainer.core.phases import PhaseSpan
from biotrainer.metrics import artifacts as art
from biotrainer.metrics.streams import Streams, build_window
from biotrainer.metrics.window import (
    Settings,
    WindowResult,
    compute_window,
    corrected_reason,
    select,
    too_short_reason,
)

#: Summary windows (whole recording and per phase): breathing rate and RSA are aggregated over windows of this
#: length every step, as the live engine computes them.
SUMMARY_WINDOW_S = 60.0
SUMMARY_STEP_S = 30.0
COHERENCE_STEP_S = 5.0
#: A phase shorter than this has no summary windows; between this and the settings' minimum it is one window
#: accepted at this minimum (per-breath RSA needs two breaths, not 30 s).
BREATH_MIN_WINDOW_S = 20.0


def analyze_window(streams: Streams, start_s: float, end_s: float, settings: Settings | None = None) -> WindowResult:
    """All metrics of the window ``(start_s, end_s]``: what the live engine publishes for that window."""
    return compute_window(build_window(streams, start_s, end_s), settings or Settings(), spectral=True)


def window_grid(a: float, b: float, window_s: float, step_s: float, *,
                last_at_end: bool = True) -> list[tuple[float, float]]:
    """The windows ``(start_s, end_s]`` of ``window_s`` every ``step_s`` covering ``a``..``b``.

    ``last_at_end`` True (phases): windows end at ``a + window_s``, then every ``step_s`` before ``b``, and the last
    one at ``b``; none starts before ``a`` (a span shorter than a window is one window). False (the whole
    recording): windows start at ``a``, then every ``step_s`` while a whole window fits (the last stretch shorter
    than a step is left out; a span shorter than a window is one window ``(a, b]``).
    """
    if last_at_end:
        return [(max(a, float(end) - window_s), float(end)) for end in [*np.arange(a + window_s, b, step_s), b]]
    if b - a < window_s:
        return [(a, b)] if b > a else []
    k = int(math.floor((b - a - window_s) / step_s + 1e-9))
    return [(st, min(st + window_s, b)) for st in (a + i * step_s for i in range(k + 1))]


@dataclass
class WindowAggregate:
    """What a summary takes from its windows (:func:`aggregate_windows`).

    ``rates``: ``(breathing rate, source)`` of the windows that have one; ``rate_per_min`` their median and
    ``rate_source`` the source most of them used (``none`` without); ``p2t_ms``/``p2t_bpm`` the mean of the
    windows' mean per-breath RSA, ``rsa_windows`` how many windows had it, ``rsa_source`` the breath source most
    windows with breaths used; ``rate_reason``/``rsa_reason`` the first window's reason for a missing value ('').
    """

    rates: list[tuple[float, str]]
    rate_per_min: float | None
    rate_source: str
    rate_reason: str
    rsa_windows: int
    p2t_ms: float | None
    p2t_bpm: float | None
    rsa_source: str
    rsa_reason: str


def aggregate_windows(results: list[WindowResult]) -> WindowAggregate:
    """Breathing rate (median) and per-breath RSA (mean) over a series of windows."""
    rates = [(float(w.values["breathing.rate_per_min"]), w.labels.get("breathing.source", "")) for w in results
             if w.values.get("breathing.rate_per_min") is not None]
    p2t = [float(w.values["rsa.p2t_ms"]) for w in results if w.values.get("rsa.p2t_ms") is not None]
    p2t_bpm = [float(w.values["rsa.p2t_bpm"]) for w in results if w.values.get("rsa.p2t_bpm") is not None]
    rsa_sources = Counter(w.labels.get("rsa.breath_source", "") for w in results if w.values.get("rsa.n_breaths"))
    return WindowAggregate(
        rates=rates,
        rate_per_min=float(np.median([r for r, _ in rates])) if rates else None,
        rate_source=Counter(src for _, src in rates).most_common(1)[0][0] if rates else "none",
        rate_reason=_first_reason(results, "breathing.rate_per_min"),
        rsa_windows=len(p2t),
        p2t_ms=float(np.mean(p2t)) if p2t else None,
        p2t_bpm=float(np.mean(p2t_bpm)) if p2t and p2t_bpm else None,
        rsa_source=rsa_sources.most_common(1)[0][0] if p2t and rsa_sources else "none",
        rsa_reason=_first_reason(results, "rsa.p2t_ms"))


#: What :func:`aggregate_windows` reads of a window's values and reasons.
AGGREGATED_KEYS = ("breathing.rate_per_min", "rsa.p2t_ms", "rsa.p2t_bpm", "rsa.n_breaths")
_NO_BEATS = np.zeros(0)


def aggregate_input(w: WindowResult) -> WindowResult:
    """The part of a window :func:`aggregate_windows` reads (its values, reasons and labels; no arrays, no
    breaths): a week-long recording has ~20,000 summary windows, so the summary keeps only this of each."""
    return WindowResult({k: w.values[k] for k in AGGREGATED_KEYS if k in w.values},
                        {k: w.reasons[k] for k in AGGREGATED_KEYS if k in w.reasons}, dict(w.labels),
                        np.zeros(0, dtype=np.int8), _NO_BEATS, _NO_BEATS)


def _first_reason(results: list[WindowResult], key: str) -> str:
    return next((w.reasons[key] for w in results if w.reasons.get(key)), "")


def _span_settings(s: Settings, a: float, b: float) -> Settings | None:
    """Settings for the summary windows of a phase ``a``..``b``: None when it is too short for any (under
    ``BREATH_MIN_WINDOW_S``); shorter than the settings' minimum, the minimum becomes ``BREATH_MIN_WINDOW_S``."""
    if b - a < min(s.min_window_s, BREATH_MIN_WINDOW_S):
        return None
    return s if b - a >= s.min_window_s else replace(s, min_window_s=BREATH_MIN_WINDOW_S)


def _data_span(streams: Streams) -> tuple[float, float]:
    """From the start of the first interval to the last beat."""
    t, rr = streams.beat_t_s, streams.rr_ms
    return float(t[0] - rr[0] / 1000.0), float(t[-1])


def breath_series(streams: Streams, settings: Settings | None = None, window_s: float = SUMMARY_WINDOW_S,
                  step_s: float = SUMMARY_STEP_S) -> list[tuple[Any, str]]:
    """Per-breath RSA over a whole session: ``[(BreathRsa, breath_source)]`` in time order.

    Every protocol phase (the whole recording when there are none) is covered by windows of ``window_s`` every
    ``step_s``, the last ending at the phase end (:func:`window_grid`; a phase shorter than a window is one window
    when it reaches ``BREATH_MIN_WINDOW_S``); each window is computed as the live engine computes it (breath phases
    and alignment: :mod:`.rsa`), so paced phases use the pacer (or a respiration signal) and spontaneous phases
    respiration or RR-derived cycles. A breath seen by several windows is kept once (the first window that had it
    complete).
    """
    s = settings or Settings()
    if streams.rr_ms.size < 3:
        return []
    first, last = _data_span(streams)
    spans = [(max(p.start_s, first), min(p.end_s, last)) for p in streams.phases] or [(first, last)]
    found: list[tuple[Any, str]] = []
    for a, b in spans:
        ws = _span_settings(s, a, b)
        if ws is None:
            continue
        for start, end in window_grid(a, b, window_s, step_s):
            w = compute_window(build_window(streams, start, end), ws, spectral=True)
            src = w.labels.get("rsa.breath_source", "none")
            found.extend((br, src) for br in w.breaths)
    found.sort(key=lambda x: x[0].breath.end_s)
    out: list[tuple[Any, str]] = []
    for item in found:
        if not out or not _same_breath(item[0].breath, out[-1][0].breath):
            out.append(item)
    return out


def _same_breath(b: Any, prev: Any) -> bool:
    """Whether breath ``b`` (ending after ``prev``) is ``prev`` again as another window segmented it."""
    return (b.end_s - prev.end_s < 0.5 * (b.end_s - b.inhale_start_s)
            or b.inhale_start_s < prev.end_s - 0.5 * (prev.end_s - prev.inhale_start_s))


def streams_from_rr(rr_ms: np.ndarray, beat_t_s: np.ndarray | None = None) -> Streams:
    """Streams for a bare RR series (beat times = cumulative sum unless given)."""
    rr = np.asarray(rr_ms, dtype=float)
    t = np.cumsum(rr) / 1000.0 if beat_t_s is None else np.asarray(beat_t_s, dtype=float)
    return Streams(beat_t_s=t, rr_ms=rr)


#: Keys that are counts: reported as JSON integers.
COUNT_KEYS = frozenset({"artifacts.ectopic", "artifacts.missed", "artifacts.extra", "artifacts.long_short",
                        "artifacts.corrected", "quality.n_beats", "quality.segments", "rsa.n_breaths", "breathing.windows",
                        "rsa.windows", "coherence.windows"})


def _nest(values: dict[str, float | None], labels: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, v in values.items():
        group, _, name = key.partition(".")
        v = _clean(v)
        if key in COUNT_KEYS and v is not None:
            v = int(round(v))
        out.setdefault(group, {})[name] = v
    for key, v in (labels or {}).items():
        group, _, name = key.partition(".")
        out.setdefault(group, {})[name] = v
    return out


def _clean(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


@dataclass
class _Summary:
    values: dict[str, float | None]
    reasons: dict[str, str]
    labels: dict[str, str]
    warnings: list[str] = field(default_factory=list)


def _missing_spans(rr: np.ndarray, t: np.ndarray, no_contact: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Merged spans without data inside the recording: gaps between beats and contact/connection loss (counted once
    where they overlap: a contact loss usually is also a gap in the beats)."""
    lo, hi = float(t[0] - rr[0] / 1000.0), float(t[-1])
    spans = [(float(t[i - 1]), float(t[i] - rr[i] / 1000.0)) for i in np.flatnonzero(art.find_gaps(rr, t))]
    spans += [(max(a, lo), min(b, hi)) for a, b in no_contact if min(b, hi) > max(a, lo)]
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _segments(nn: np.ndarray, nn_t: np.ndarray) -> list[tuple[int, int]]:
    """Gap-free stretches of the NN series as index ranges ``[a, b)``."""
    cuts = np.flatnonzero(art.find_gaps(nn, nn_t)).tolist()
    return list(zip([0, *cuts], [*cuts, nn.size], strict=True))


def _whole_series(streams: Streams, s: Settings) -> tuple[_Summary, art.Correction]:
    """Whole-recording artifacts, quality, time and frequency domain.

    Gaps (lost beats, contact or connection loss) split the series into gap-free segments. Time domain runs over
    the segments together without differencing across a gap; frequency domain on the longest segment when it is
    long enough (the whole recording when it has no gaps). A large share of missing data is reported
    (``quality.missing_pct``, ``warnings``) rather than withholding everything: unlike a short live window, a
    recording with a disconnect still has minutes of good data. Too little valid data or too many corrected beats
    still withhold (the window's rules: :func:`~biotrainer.metrics.window.too_short_reason`,
    :func:`~biotrainer.metrics.window.corrected_reason`).
    """
    t, rr = streams.beat_t_s, streams.rr_ms
    n = rr.size
    out = _Summary({}, {}, {})
    corr = art.correct_rr(rr, t) if n >= 3 else art.Correction(np.zeros(n, np.int8), rr.copy(), t.copy(),
                                                                  {"corrected": 0})
    share = _artifact_values(out.values, corr, n)
    nn, nn_t = (corr.rr_corrected_ms, corr.beat_t_corrected_s) if s.correction else (rr, t)
    segments = _segments(nn, nn_t) if nn.size else []
    seg_s = [float(nn_t[b - 1] - nn_t[a] + nn[a] / 1000.0) for a, b in segments]
    span, missing = _quality_values(out.values, streams, len(segments), float(sum(seg_s)))
    valid_s = out.values["quality.valid_s"]
    poor = too_short_reason(n, valid_s, s.min_window_s, nn)
    poor = f"recording has {poor}" if poor else corrected_reason(share, s.max_corrected_time, s.correction)
    if not poor and span > 0 and missing / span > s.max_missing:
        out.warnings.append(f"{100 * missing / span:.0f} % of the recording has no data (more than "
                            f"{100 * s.max_missing:.0f} %): time domain from {valid_s:.0f} s of data in "
                            f"{len(segments)} gap-free segments, without differences across gaps")
    _whole_time_domain(out, nn, nn_t, poor)
    spectral_poor = poor or corrected_reason(share, s.max_corrected_spectral, s.correction,
                                             limit_note=" for spectral")
    _whole_frequency_domain(out, streams, nn, nn_t, segments, seg_s, span, spectral_poor)
    out.values["quality.ok"] = 0.0 if poor else 1.0
    return out, corr


def _artifact_values(values: dict[str, float | None], corr: art.Correction, n: int) -> float:
    """``artifacts.*`` of the whole series; returns the share of raw beats corrected."""
    n_flagged = int(np.count_nonzero(corr.flags))
    share = n_flagged / n if n else 0.0
    for k in art.ARTIFACT_CLASSES:
        values[f"artifacts.{k}"] = float(corr.counts.get(k, 0))
    values["artifacts.corrected"] = float(n_flagged)
    values["artifacts.corrected_pct"] = 100.0 * share
    return share


def _quality_values(values: dict[str, float | None], streams: Streams, n_segments: int,
                    valid_s: float) -> tuple[float, float]:
    """``quality.duration_s``/``missing_pct``/``segments``/``valid_s``; returns ``(duration_s, missing_s)``."""
    t, rr = streams.beat_t_s, streams.rr_ms
    span = float(t[-1] - t[0] + rr[0] / 1000.0) if rr.size else 0.0
    missing = sum(b - a for a, b in _missing_spans(rr, t, streams.no_contact)) if rr.size else 0.0
    values["quality.duration_s"] = span
    values["quality.missing_pct"] = 100.0 * missing / span if span > 0 else None
    values["quality.segments"] = float(n_segments)
    values["quality.valid_s"] = valid_s
    return span, missing


def _whole_time_domain(out: _Summary, nn: np.ndarray, nn_t: np.ndarray, poor: str) -> None:
    """Time domain over the gap-free segments together (no difference across a gap)."""
    from biotrainer.metrics.time_domain import time_domain

    for k, v in time_domain(nn, ~art.find_gaps(nn, nn_t)).items():
        if poor or v is None:
            out.values[f"hrv.{k}"] = None
            out.reasons[f"hrv.{k}"] = poor or "too few intervals"
        else:
            out.values[f"hrv.{k}"] = v


def _whole_frequency_domain(out: _Summary, streams: Streams, nn: np.ndarray, nn_t: np.ndarray,
                            segments: list[tuple[int, int]], seg_s: list[float], span: float,
                            spectral_poor: str) -> None:
    """Frequency domain on the whole recording without gaps, else on its longest gap-free segment."""
    from biotrainer.metrics.frequency import FREQUENCY_KEYS, frequency_domain

    values, reasons = out.values, out.reasons
    values["quality.spectral_start_s"] = values["quality.spectral_end_s"] = None
    if spectral_poor or nn.size < 8:
        for k in FREQUENCY_KEYS:
            values[f"hrv.{k}"] = None
            reasons[f"hrv.{k}"] = spectral_poor or "too few intervals"
        return
    if len(segments) == 1:
        a, b = segments[0]
        # an ECG's length is the recording's (its beats start and end up to an interval inside it)
        seg_span = max(span, _ecg_duration_s(streams))
        what = "recording"
    else:
        i = int(np.argmax(seg_s))
        a, b = segments[i]
        seg_span = seg_s[i]
        what = "longest gap-free segment"
    fv, fr = frequency_domain(nn_t[a:b], nn[a:b], seg_span, what=what)
    for k in FREQUENCY_KEYS:
        values[f"hrv.{k}"] = fv.get(k)
        if fv.get(k) is None:
            reasons[f"hrv.{k}"] = fr.get(k, "could not be computed")
    values["quality.spectral_start_s"] = float(nn_t[a] - nn[a] / 1000.0)
    values["quality.spectral_end_s"] = float(nn_t[b - 1])
    if len(segments) > 1 and any(v is not None for v in fv.values()):
        out.warnings.append(f"frequency domain from the longest gap-free segment only, "
                            f"{round(values['quality.spectral_start_s']) + 0} to "
                            f"{round(values['quality.spectral_end_s'])} s ({seg_span:.0f} s)")


def _ecg_duration_s(streams: Streams) -> float:
    if streams.ecg_t_s is None or not streams.ecg_t_s.size:
        return 0.0
    return float(streams.ecg_t_s[-1] - streams.ecg_t_s[0]) + 1.0 / float(streams.ecg_fs_hz or 130.0)


def summarize_recording(streams: Streams, settings: Settings | None = None) -> dict[str, Any]:
    """The whole recording's summary as a nested dict (JSON-ready: no NaN; ``reasons`` for every null): artifacts,
    quality, time and frequency domain of the whole series, breathing rate and RSA aggregated over its 60-s
    windows every 30 s, mean coherence ratio of its 64-s windows every 5 s (see the module docstring)."""
    s = settings or Settings()
    summary, corr = _whole_series(streams, s)
    values, reasons = summary.values, summary.reasons
    labels: dict[str, str] = {}
    results: list[WindowResult] = []
    if streams.rr_ms.size:
        ws = replace(s, window_s=SUMMARY_WINDOW_S, min_window_s=min(s.min_window_s, SUMMARY_WINDOW_S))
        results = [aggregate_input(compute_window(build_window(streams, start, end), ws, spectral=True))
                   for start, end in window_grid(*_data_span(streams), SUMMARY_WINDOW_S, SUMMARY_STEP_S,
                                                 last_at_end=False)]
    agg = aggregate_windows(results)
    shorter = "recording shorter than one window"
    values["breathing.rate_per_min"] = agg.rate_per_min
    labels["breathing.source"] = agg.rate_source
    if agg.rates:
        values["breathing.windows"] = float(len(agg.rates))
    else:
        reasons["breathing.rate_per_min"] = f"no window with a breathing rate ({agg.rate_reason or shorter})"
    values["rsa.p2t_ms_mean"] = agg.p2t_ms
    values["rsa.p2t_bpm_mean"] = agg.p2t_bpm
    labels["rsa.breath_source"] = agg.rsa_source
    if agg.p2t_ms is None:
        reasons["rsa.p2t_ms_mean"] = reasons["rsa.p2t_bpm_mean"] = (f"no window with per-breath RSA "
                                                                    f"({agg.rsa_reason or shorter})")
    values["rsa.windows"] = float(agg.rsa_windows)
    _coherence_values(values, reasons, coherence_series(streams, corr, s))
    out = {"beats": int(streams.rr_ms.size)}
    out.update(_nest(values, labels))
    out["reasons"] = dict(sorted(reasons.items()))
    out["warnings"] = list(summary.warnings)
    return out


def _coherence_values(values: dict[str, float | None], reasons: dict[str, str],
                      ratios: list[tuple[float, float | None]]) -> None:
    """``coherence.ratio_mean`` and ``coherence.windows`` from :func:`coherence_series`."""
    vals = [r for _, r in ratios if r is not None]
    if vals:
        values["coherence.ratio_mean"] = float(np.mean(vals))
        values["coherence.windows"] = float(len(vals))
    else:
        values["coherence.ratio_mean"] = None
        values["coherence.windows"] = 0.0
        reasons["coherence.ratio_mean"] = ("no 64-s window of acceptable quality" if ratios
                                           else "recording shorter than the 64-s coherence window")


def coherence_series(streams: Streams, corr: art.Correction, s: Settings) -> list[tuple[float, float | None]]:
    """Coherence ratio of each 64-s window (every 5 s) of the corrected series: ``[(end_s, ratio or None)]``."""
    from biotrainer.metrics.coherence import WINDOW_S, coherence_ratio

    t_raw = streams.beat_t_s
    if t_raw.size < 8 or t_raw[-1] - t_raw[0] < WINDOW_S:
        return []
    nn, nn_t = (corr.rr_corrected_ms, corr.beat_t_corrected_s) if s.correction else (streams.rr_ms, t_raw)
    # the window (end − 64 s, end] of each series as an index slice (sorted times): no whole-series mask per window
    n_flagged_upto = np.concatenate(([0], np.cumsum(corr.flags != 0)))
    out = []
    end = float(t_raw[0] + WINDOW_S)
    while end <= t_raw[-1] + 1e-9:
        lo = end - WINDOW_S
        sel = select(nn_t, lo, end)
        raw = select(t_raw, lo, end)
        n_raw = raw.stop - raw.start
        n_bad = int(n_flagged_upto[raw.stop] - n_flagged_upto[raw.start])
        if s.correction and n_raw and n_bad / n_raw > s.max_corrected_spectral:
            out.append((end, None))
        else:
            ratio, _, _ = coherence_ratio(nn_t[sel], nn[sel])
            out.append((end, ratio))
        end += COHERENCE_STEP_S
    return out


def windows(streams: Streams, window_s: float, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Consecutive windows of ``window_s`` from the first beat, each as a nested dict with ``start_s``/``end_s``.

    Only complete windows are reported (a final stretch shorter than ``window_s`` is left out); a recording
    shorter than one window gives one window over all of it when it reaches the minimum length.
    """
    s = settings or Settings()
    t, rr = streams.beat_t_s, streams.rr_ms
    if rr.size == 0:
        return []
    t0 = float(t[0] - rr[0] / 1000.0)
    out = []
    start = t0
    last = float(t[-1])
    if last - t0 < window_s:
        window_s = last - t0
        if window_s < s.min_window_s:
            return []
    while start < last:
        end = start + window_s
        if end > last + 1e-6:
            break
        w = analyze_window(streams, start, end, s)
        d: dict[str, Any] = {"start_s": start, "end_s": end}
        nested = _nest({k: v for k, v in w.values.items() if not k.startswith("window.")}, w.labels)
        d.update(nested)
        d["reasons"] = dict(sorted(w.reasons.items()))
        out.append(d)
        start = end
    return out


PHASE_KEYS = (("breathing_rate_per_min", "breathing.rate_per_min"), ("pacer_rate_per_min",
              "breathing.pacer_rate_per_min"), ("hr_bpm", "hrv.hr_bpm"), ("ln_rmssd", "hrv.ln_rmssd"),
              ("rsa_p2t_ms", "rsa.p2t_ms"))


def phase_summaries(streams: Streams, settings: Settings | None = None) -> list[dict[str, Any]]:
    """Per protocol phase: ``name``, ``start_s``, ``end_s``, ``breathing_rate_per_min`` (median of the phase's 60-s
    windows every 30 s, the last ending at the phase end, as the whole-recording summary but within the phase, so a
    15 /min baseline and 6 /min paced steps are not mixed), ``breathing_source``, ``pacer_rate_per_min``, and
    ``hr_bpm`` and ``ln_rmssd`` of the phase's beats computed as the whole-recording summary (gaps split them),
    ``rsa_p2t_ms`` the mean over the same windows of their mean per-breath peak-to-trough; ``reasons`` for every
    null. Empty without phases.
    """
    s = settings or Settings()
    if streams.rr_ms.size < 3 or not streams.phases:
        return []
    first, last = _data_span(streams)
    return [_phase_summary(streams, ph, s, first, last) for ph in streams.phases]


def _phase_summary(streams: Streams, ph: PhaseSpan, s: Settings, first: float, last: float) -> dict[str, Any]:
    """One row of :func:`phase_summaries`."""
    a, b = max(ph.start_s, first), min(ph.end_s, last)
    d: dict[str, Any] = {"name": ph.name, "start_s": float(ph.start_s),
                         "end_s": float(ph.end_s) if math.isfinite(ph.end_s) else last}
    d.update(dict.fromkeys(k for k, _ in PHASE_KEYS))
    d["breathing_source"] = "none"
    reasons: dict[str, str] = {}
    if b - a < BREATH_MIN_WINDOW_S:
        for k, _ in PHASE_KEYS:
            reasons[k] = f"phase has {max(0.0, b - a):.0f} s of beats, fewer than {BREATH_MIN_WINDOW_S:.0f} s"
        d["reasons"] = reasons
        return d
    ws = _span_settings(s, a, b)
    # HR and lnRMSSD as the whole-recording summary computes them, on the phase's beats (gaps split it)
    t, rr = streams.beat_t_s, streams.rr_ms
    sel = (t > a) & (t <= b)
    whole, _ = _whole_series(Streams(beat_t_s=t[sel], rr_ms=rr[sel], no_contact=streams.no_contact), ws)
    for k, key in (("hr_bpm", "hrv.hr_bpm"), ("ln_rmssd", "hrv.ln_rmssd")):
        d[k] = _clean(whole.values.get(key))
        if d[k] is None:
            reasons[k] = whole.reasons.get(key, "could not be computed")
    d["pacer_rate_per_min"] = ph.rate_per_min if ph.paced else None
    if d["pacer_rate_per_min"] is None:
        reasons["pacer_rate_per_min"] = "unpaced phase" if not ph.paced else "pacer rate not recorded"
    # breathing rate and RSA from the phase's 60-s windows, as the whole-recording summary aggregates them
    agg = aggregate_windows([aggregate_input(compute_window(build_window(streams, start, end), ws))
                             for start, end in window_grid(a, b, SUMMARY_WINDOW_S, SUMMARY_STEP_S)])
    if agg.rates:
        d["breathing_rate_per_min"] = agg.rate_per_min
        d["breathing_source"] = agg.rate_source
    else:
        reasons["breathing_rate_per_min"] = f"no window of the phase with a breathing rate ({agg.rate_reason})"
    if agg.p2t_ms is not None:
        d["rsa_p2t_ms"] = agg.p2t_ms
    else:
        reasons["rsa_p2t_ms"] = f"no window of the phase with per-breath RSA ({agg.rsa_reason})"
    d["reasons"] = dict(sorted(reasons.items()))
    return d


def analyze_streams(streams: Streams, settings: Settings | None = None,
                    window_s: float | None = None) -> dict[str, Any]:
    """Summary, per-phase values when the session has phases (``phases``, :func:`phase_summaries`) and, with
    ``window_s``, the per-window list (the ``analyze --json`` object)."""
    out = summarize_recording(streams, settings)
    if streams.phases:
        out["phases"] = phase_summaries(streams, settings)
    if window_s:
        out["windows"] = windows(streams, window_s, settings)
    return out


def analyze_rr(rr_ms: np.ndarray, settings: Settings | None = None, window_s: float | None = None,
               beat_t_s: np.ndarray | None = None) -> dict[str, Any]:
    """Analyse a bare RR series (ms)."""
    return analyze_streams(streams_from_rr(rr_ms, beat_t_s), settings, window_s)


#: An ECG interval longer than this multiple of the median is signal loss (no R-peaks found), not a heartbeat.
SIGNAL_LOSS_FACTOR = 2.5


def rr_from_peaks(peak_t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beat times and RR (ms) from R-peak times, leaving out intervals that span signal loss.

    An interval longer than ``SIGNAL_LOSS_FACTOR`` × the median is dropped: the beat after it keeps its time, so
    the series shows a gap (its successive difference is excluded) instead of a giant interval. A single missed
    beat (≈ 2× the median) stays for the artifact correction to split.
    """
    peaks = np.asarray(peak_t_s, dtype=float)
    rr = np.diff(peaks) * 1000.0
    t = peaks[1:]
    if rr.size:
        keep = rr <= SIGNAL_LOSS_FACTOR * np.median(rr)
        t, rr = t[keep], rr[keep]
    return t, rr


#: R-peaks of an ECG longer than this are detected block by block (each block with ``ECG_OVERLAP_S`` of the
#: neighbouring blocks, its peaks kept inside the block), so the detector's whole-signal copies stay the size of one
#: block: 24 h at 130 Hz would otherwise need several copies of 11 M samples. Shorter ECGs are one block (as before).
ECG_BLOCK_S = 3600.0
ECG_OVERLAP_S = 10.0
#: Two peaks closer than this (found at a block edge by both blocks) are one.
MIN_PEAK_DISTANCE_S = 0.25


def ecg_peaks_s(x: np.ndarray, fs_hz: float) -> np.ndarray:
    """R-peak times (s from the first sample) of a whole ECG (:func:`~biotrainer.metrics.rpeaks.rpeaks_s`), in
    blocks of ``ECG_BLOCK_S`` when it is longer."""
    from biotrainer.metrics.rpeaks import rpeaks_s

    block, overlap = int(ECG_BLOCK_S * fs_hz), int(ECG_OVERLAP_S * fs_hz)
    if x.size <= block + overlap:
        return rpeaks_s(x, fs_hz)
    parts = []
    for a in range(0, x.size, block):
        lo, b = max(0, a - overlap), min(x.size, a + block)
        p = rpeaks_s(x[lo:min(x.size, b + overlap)], fs_hz) + lo / fs_hz
        parts.append(p[(p >= a / fs_hz) & (p < b / fs_hz)])
    peaks = np.concatenate(parts)
    if peaks.size > 1:
        peaks = peaks[np.concatenate(([True], np.diff(peaks) >= MIN_PEAK_DISTANCE_S))]
    return peaks


def analyze_ecg(ecg: np.ndarray, fs_hz: float, settings: Settings | None = None,
                window_s: float | None = None) -> dict[str, Any]:
    """Analyse an ECG: R-peaks (:func:`ecg_peaks_s`) → RR, plus EDR breathing from the same ECG."""
    x = np.asarray(ecg, dtype=float)
    peaks = ecg_peaks_s(x, fs_hz)
    if peaks.size < 3:
        from biotrainer.core.errors import ImportFormatError

        raise ImportFormatError(f"found {peaks.size} R-peaks in {x.size / fs_hz:.0f} s of ECG at {fs_hz:g} Hz; "
                                "check --fs and the column")
    beat_t, rr = rr_from_peaks(peaks)
    streams = Streams(beat_t_s=beat_t, rr_ms=rr, ecg_t_s=np.arange(x.size) / fs_hz, ecg_uv=x, ecg_fs_hz=fs_hz)
    out = analyze_streams(streams, settings, window_s)
    out["rpeaks"] = int(peaks.size)
    return out
