"""Beat classification and correction (Lipponen & Tarvainen 2019, the Kubios method), and window quality.

This is a numpy port of neurokit2 0.3.0 ``signal_fixpeaks(method="Kubios")`` (``_find_artifacts`` and
``_correct_artifacts``), working on RR intervals in ms instead of integer peak samples so nothing is rounded. Own
code because the live engine runs it on every beat, and because neurokit2 misplaces ectopic beats: the paper
defines dRR as a forward difference, neurokit2 uses a backward one but keeps the paper's index, so it flags (and
"corrects") the normal beat *after* a premature beat. Here the premature beat itself is flagged and moved. The
other classes are identical to neurokit2's, and ectopic indices are neurokit2's minus one (tested on real
recordings in tests/test_metrics_real.py).

Raw RR is never modified: :func:`correct_rr` returns a new corrected series plus per-beat flags for the raw series.

Method (SCIENCE.md §6): dRR and mRR (RR minus its 11-beat median) are normalised by α·QD (α = 5.2, quartile
deviation over a 91-beat window); subspaces s12/s22 with c1 = 0.13, c2 = 0.17 separate ectopic beats, long/short
beats, missed beats and extra beats. Correction: extra beats are deleted (two intervals merge), missed beats are
split (one interval becomes two halves), ectopic and long/short beats are moved to the midpoint of their neighbours.
With ``iterative=True`` the detection is repeated on the corrected series until the number of artifacts stops
falling (as neurokit2). Flags describe the first pass, which sees the raw series.

Own addition (design choice): runs of ectopic beats (bigeminy, as in MIT-BIH record 208) widen the quartile
deviation the method normalises by, so some pass unflagged. A residual pass then treats intervals still deviating
from their 11-beat median by more than 25 % (Kubios' "medium" threshold correction) *and* from the mean of their two
neighbours by more than 20 % as long/short beats, and flags the raw beat nearest each moved peak. The neighbour
condition spares the large but smooth swings of sinus arrhythmia (on the NSRDB 5-min series a median-only 25 %
rule flagged 7 such beats; this rule flags 3).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

FLAG_NORMAL = 0
FLAG_ECTOPIC = 1
FLAG_MISSED = 2
FLAG_EXTRA = 3
FLAG_LONG_SHORT = 4
ARTIFACT_CLASSES = ("ectopic", "missed", "extra", "long_short")

#: A window is too poor for time-domain metrics above this share of corrected beats (common convention, §6).
MAX_CORRECTED_SHARE_TIME_DOMAIN = 0.05
#: Stricter limit for spectral metrics and the coherence ratio (one ectopic beat collapses a spectrum).
MAX_CORRECTED_SHARE_SPECTRAL = 0.05
#: Share of a window that may be missing (gaps, contact loss) before its metrics are withheld.
MAX_MISSING_SHARE = 0.10
#: A gap: the time between two beats exceeds the interval they bound by more than this (lost data).
GAP_TOLERANCE_S = 0.5

#: Residual pass after Lipponen-Tarvainen: deviation from the 11-beat median treated as long/short (Kubios'
#: "medium" threshold correction is 0.25 s at 60 bpm).
RESIDUAL_THRESHOLD = 0.25
#: ... and only when the interval also jumps from the mean of its neighbours by more than this share.
NEIGHBOUR_THRESHOLD = 0.20
C1 = 0.13
C2 = 0.17
ALPHA = 5.2
THRESHOLD_WINDOW_BEATS = 91
MEDIAN_WINDOW_BEATS = 11


@dataclass
class Correction:
    """Result of :func:`correct_rr`.

    Attributes
    ----------
    flags : np.ndarray
        int8, one per *raw* interval: ``FLAG_*`` class found for the beat ending that interval (first pass).
    rr_corrected_ms : np.ndarray
        The corrected (NN) intervals, ms. Its length differs from the raw one when beats were added or deleted.
    beat_t_corrected_s : np.ndarray
        Time of the beat ending each corrected interval (s), on the raw series' time base.
    counts : dict
        Raw beats per class (``ectopic``, ``missed``, ``extra``, ``long_short``) and ``corrected``: all corrections
        applied, over every pass.
    """

    flags: np.ndarray
    rr_corrected_ms: np.ndarray
    beat_t_corrected_s: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_corrected(self) -> int:
        return int(self.counts.get("corrected", 0))


@functools.lru_cache(maxsize=1024)
def _window_layout(n: int, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Gather indices (n, width) into a padded copy, per-row value counts, row numbers, left pad, width."""
    left = (window - 1) // 2
    width = min(window, 2 * n - 1)  # a row never holds more than n values: drop all-padding columns
    pad_left = min(left, n - 1)
    rows = np.arange(n)
    index = rows[:, None] + np.arange(width)[None, :]
    count = np.minimum(n, rows + (window - left)) - np.maximum(0, rows - left)
    return index, count, rows, pad_left, width


#: Series longer than this are computed in blocks of this many rows without cached layouts (bounded memory for a
#: whole week of beats: a cached (n, 91) layout of 1 M beats alone is 728 MB); shorter ones (every live window)
#: use the cached layouts. Both give the same numbers.
ROLLING_BLOCK_ROWS = 512


def _rolling_quantiles(values: np.ndarray, window: int, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Centred rolling quantiles with ``min_periods=1`` and linear interpolation, like pandas' ``rolling(window,
    center=True, min_periods=1).quantile(q)`` (and ``.median()`` for q = 0.5), in numpy."""
    x = np.asarray(values, dtype=float)
    n = x.size
    if n > ROLLING_BLOCK_ROWS:
        return _rolling_quantiles_blocked(x, window, qs)
    index, _count, _rows, pad_left, width = _window_layout(n, window)
    padded = np.full(n + width - 1, np.inf)  # padding sorts last
    padded[pad_left:pad_left + n] = x
    ordered = np.sort(padded[index], axis=1).ravel()
    out = []
    for q in qs:
        flat_lo, flat_hi, frac = _quantile_layout(n, window, q)
        a = ordered[flat_lo]
        out.append(a + (ordered[flat_hi] - a) * frac)
    return out


def _rolling_quantiles_blocked(x: np.ndarray, window: int, qs: tuple[float, ...]) -> list[np.ndarray]:
    """:func:`_rolling_quantiles` of a long series, ``ROLLING_BLOCK_ROWS`` rows at a time (same arithmetic)."""
    n = x.size
    left = (window - 1) // 2
    width = min(window, 2 * n - 1)
    pad_left = min(left, n - 1)
    padded = np.full(n + width - 1, np.inf)
    padded[pad_left:pad_left + n] = x
    rows_view = np.lib.stride_tricks.sliding_window_view(padded, width)
    out = [np.empty(n) for _ in qs]
    step = 64 * ROLLING_BLOCK_ROWS
    for r0 in range(0, n, step):
        rows = np.arange(r0, min(n, r0 + step))
        ordered = np.sort(rows_view[r0:r0 + rows.size], axis=1)
        count = np.minimum(n, rows + (window - left)) - np.maximum(0, rows - left)
        local = rows - r0
        for q, dest in zip(qs, out, strict=True):
            pos = q * (count - 1)
            lo = pos.astype(int)
            hi = np.minimum(lo + 1, count - 1)
            a = ordered[local, lo]
            dest[r0:r0 + rows.size] = a + (ordered[local, hi] - a) * (pos - lo)
    return out


@functools.lru_cache(maxsize=1024)
def _quantile_layout(n: int, window: int, q: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For :func:`_rolling_quantiles`: flat positions (in the row-sorted (n, width) matrix) of each row's lower and
    upper order statistic around quantile ``q``, and the interpolation fraction between them."""
    _index, count, rows, _pad_left, width = _window_layout(n, window)
    pos = q * (count - 1)
    lo = pos.astype(int)
    hi = np.minimum(lo + 1, count - 1)
    return rows * width + lo, rows * width + hi, pos - lo


def _rolling_quartile_threshold(values: np.ndarray, alpha: float, window: int) -> np.ndarray:
    q1, q3 = _rolling_quantiles(np.abs(values), window, (0.25, 0.75))
    return alpha * ((q3 - q1) / 2)


def _rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    return _rolling_quantiles(values, window, (0.5,))[0]


def find_artifacts(rr_ms: np.ndarray) -> dict[str, list[int]]:
    """Classify beats (one Lipponen-Tarvainen pass).

    Parameters
    ----------
    rr_ms : np.ndarray
        RR intervals in ms, in order.

    Returns
    -------
    dict
        ``ectopic``, ``missed``, ``extra``, ``long_short``: sorted lists of indices into ``rr_ms`` (the interval
        ending at the flagged beat).
    """
    rr_ms = np.asarray(rr_ms, dtype=float)
    if rr_ms.size < 3:
        return {k: [] for k in ARTIFACT_CLASSES}
    # neurokit2 works on peaks: position 0 is the first peak (no interval), filled with the mean interval.
    rr = np.concatenate(([rr_ms.mean()], rr_ms))
    found = _classify_peaks(rr, *_normalised_differences(rr))
    # back from peak positions to interval indices (peak 0 has no interval)
    return {k: [j - 1 for j in found[k] if j >= 1] for k in ARTIFACT_CLASSES}


def _normalised_differences(rr: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per peak: dRR and mRR normalised by their thresholds, the subspaces s12 and s22, the 11-beat median RR and
    the mRR threshold (the paper's quantities, in neurokit2's layout)."""
    drrs = np.empty_like(rr)  # np.diff(rr, prepend=rr[0]) without its concatenation; drrs[0] is set below
    np.subtract(rr[1:], rr[:-1], out=drrs[1:])
    drrs[0] = drrs[1:].mean()
    th1 = _rolling_quartile_threshold(drrs, ALPHA, THRESHOLD_WINDOW_BEATS)
    medrr = _rolling_median(rr, MEDIAN_WINDOW_BEATS)
    mrrs = rr - medrr
    mrrs = np.where(mrrs < 0, mrrs * 2, mrrs)
    th2 = _rolling_quartile_threshold(mrrs, ALPHA, THRESHOLD_WINDOW_BEATS)
    with np.errstate(divide="ignore", invalid="ignore"):
        drrs = np.where(th1 != 0, drrs / np.where(th1 != 0, th1, 1.0), np.nan)
        mrrs = np.where(th2 != 0, mrrs / np.where(th2 != 0, th2, 1.0), np.nan)
    pad = np.concatenate((drrs[2:0:-1], drrs, drrs[-2:-4:-1]))  # np.pad(drrs, 2, mode="reflect")
    prev_, next_, next2 = pad[1:-3], pad[3:-1], pad[4:]
    s12 = np.where(drrs > 0, np.fmax(prev_, next_), np.where(drrs < 0, np.fmin(prev_, next_), 0.0))
    s22 = np.where(drrs >= 0, np.fmin(next_, next2), np.where(drrs < 0, np.fmax(next_, next2), 0.0))
    return drrs, mrrs, s12, s22, medrr, th2


def _classify_peaks(rr: np.ndarray, drrs: np.ndarray, mrrs: np.ndarray, s12: np.ndarray, s22: np.ndarray,
                    medrr: np.ndarray, th2: np.ndarray) -> dict[str, list[int]]:
    """The decision rules over the peaks (peak positions per class)."""
    # Python floats: the loop is faster on lists than on numpy scalars. NaN comparisons are False, as in numpy.
    d, m, a12 = drrs.tolist(), mrrs.tolist(), s12.tolist()
    rows = (d, m, s22.tolist(), rr.tolist(), medrr.tolist(), th2.tolist())
    found: dict[str, list[int]] = {k: [] for k in ARTIFACT_CLASSES}
    # Only beats with |dRR| > 1 (or NaN) can be flagged: the loop visits just those (every other beat would only
    # advance i by one), in order, from the current i.
    visit = np.flatnonzero(~(np.abs(drrs[:max(rr.size - 2, 0)]) <= 1)).tolist()
    k = 0
    n_visit = len(visit)
    i = 0
    while True:
        while k < n_visit and visit[k] < i:
            k += 1
        if k == n_visit:
            break
        i = visit[k]
        di = d[i]
        if (di > 1 and a12[i] < -C1 * di - C2) or (di < -1 and a12[i] > -C1 * di + C2):
            # The NPN (or PNP) pattern is centred on the interval *after* the displaced beat: with backward
            # differences (dRR[i] = RR[i] − RR[i−1]) the ectopic beat is peak i − 1 (neurokit2 0.3.0 flags i).
            found["ectopic"].append(i - 1)
            i += 1
            continue
        if not (abs(di) > 1 or abs(m[i]) > 3):  # NaN-safe like neurokit2's ~np.any
            i += 1
            continue
        candidates = [i, i + 1] if abs(d[i + 1]) < abs(d[i + 2]) else [i]
        for j in candidates:
            kind = _candidate_class(j, *rows)
            if kind:
                found[kind].append(j)
        i += len(candidates)
    return found


def _candidate_class(j: int, d: list[float], m: list[float], a22: list[float], r: list[float], med: list[float],
                     t2: list[float]) -> str:
    """The class of a candidate peak ``j`` (missed, extra or long/short; '' when it is normal)."""
    eq3 = d[j] > 1 and a22[j] < -1
    eq4 = abs(m[j]) > 3
    eq5 = d[j] < -1 and a22[j] > 1
    if not (eq3 or eq4 or eq5):
        return ""
    if eq5 and abs(r[j] + r[j + 1] - med[j]) < t2[j]:  # eq7
        return "extra"
    if eq3 and abs(r[j] / 2 - med[j]) < t2[j]:  # eq6
        return "missed"
    return "long_short"


def _shift(source: list[int], targets: list[int], step: int) -> list[int]:
    if not targets:
        return []
    t = np.asarray(targets, dtype=np.int64)
    for s in source:  # in order: each shift sees the positions the previous ones moved (numpy, not a list per source)
        t[t > s] += step
    return sorted(set(t.tolist()))


def _correct_peaks(peaks_ms: np.ndarray, found: dict[str, list[int]]) -> np.ndarray:
    """Apply one pass of corrections on peak times (ms); ``found`` holds peak positions."""
    extra, missed = list(found["extra"]), list(found["missed"])
    ectopic, longshort = list(found["ectopic"]), list(found["long_short"])
    peaks = peaks_ms.copy()
    if extra:
        peaks = np.delete(peaks, extra)
        missed, ectopic, longshort = (_shift(extra, x, -1) for x in (missed, ectopic, longshort))
    if missed:
        idx = np.asarray(missed)
        idx = idx[(idx > 1) & (idx < len(peaks))]
        added = peaks[idx - 1] + (peaks[idx] - peaks[idx - 1]) / 2
        peaks = np.insert(peaks, idx, added)
        ectopic, longshort = (_shift(list(idx), x, 1) for x in (ectopic, longshort))
    for group in (ectopic, longshort):
        if group:
            idx = np.asarray(group)
            idx = idx[(idx > 1) & (idx < len(peaks) - 1)]
            moved = peaks[idx - 1] + (peaks[idx + 1] - peaks[idx - 1]) / 2
            peaks = np.sort(np.concatenate((np.delete(peaks, idx), moved)), kind="mergesort")
    return peaks


def _residual_outliers(rr_ms: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of intervals deviating by more than ``threshold`` (a share) both from their 11-beat median and
    from the mean of their two neighbours (an abrupt jump, not the smooth swing of sinus arrhythmia)."""
    med = _rolling_median(rr_ms, MEDIAN_WINDOW_BEATS)
    out = np.abs(rr_ms - med) > threshold * med
    if rr_ms.size >= 3:
        nb = (rr_ms[:-2] + rr_ms[2:]) / 2
        abrupt = np.zeros(rr_ms.size, dtype=bool)
        abrupt[1:-1] = np.abs(rr_ms[1:-1] - nb) > NEIGHBOUR_THRESHOLD * nb
        out &= abrupt
    return np.flatnonzero(out)


def correct_rr(rr_ms: np.ndarray, beat_t_s: np.ndarray | None = None, *, iterative: bool = True,
               max_passes: int = 10, residual_threshold: float | None = RESIDUAL_THRESHOLD) -> Correction:
    """Classify and correct RR intervals (Lipponen & Tarvainen 2019).

    Parameters
    ----------
    rr_ms : np.ndarray
        Raw RR intervals, ms.
    beat_t_s : np.ndarray, optional
        Time (s) of the beat ending each interval; default: cumulative sum of ``rr_ms``. The correction works on
        these beat times (peaks), so they must follow the intervals (as strap beat times and R-peaks do). Where beat times jump
        by more than the interval (lost data, :func:`find_gaps`), each contiguous stretch is corrected on its own.
    iterative : bool
        Repeat detection on the corrected series until the artifact count stops falling.
    max_passes : int
        Safety bound on iterations.
    residual_threshold : float or None
        After the Lipponen-Tarvainen passes, intervals still deviating from their 11-beat median by more than this
        share are treated as long/short beats (peak moved to its neighbours' midpoint), up to 3 passes. None
        disables this step.

    Returns
    -------
    Correction
        Flags per raw interval, corrected intervals and their beat times, counts.
    """
    rr_ms = np.asarray(rr_ms, dtype=float)
    n = rr_ms.size
    if beat_t_s is None:
        beat_t_s = np.cumsum(rr_ms) / 1000.0
    beat_t_s = np.asarray(beat_t_s, dtype=float)
    gaps = np.flatnonzero(find_gaps(rr_ms, beat_t_s))
    if gaps.size:  # lost data: correct each stretch of contiguous beats on its own
        parts = [_correct_contiguous(rr_ms[a:b], beat_t_s[a:b], iterative, max_passes, residual_threshold)
                 for a, b in zip(np.concatenate(([0], gaps)), np.concatenate((gaps, [n])), strict=True)]
        counts = {k: sum(p.counts.get(k, 0) for p in parts) for k in (*ARTIFACT_CLASSES, "corrected")}
        return Correction(np.concatenate([p.flags for p in parts]),
                          np.concatenate([p.rr_corrected_ms for p in parts]),
                          np.concatenate([p.beat_t_corrected_s for p in parts]), counts)
    return _correct_contiguous(rr_ms, beat_t_s, iterative, max_passes, residual_threshold)


def _correct_contiguous(rr_ms: np.ndarray, beat_t_s: np.ndarray, iterative: bool, max_passes: int,
                        residual_threshold: float | None) -> Correction:
    n = rr_ms.size
    flags = np.zeros(n, dtype=np.int8)
    found = find_artifacts(rr_ms)
    counts = {k: len(v) for k, v in found.items()}
    for name, code in (("ectopic", FLAG_ECTOPIC), ("missed", FLAG_MISSED), ("extra", FLAG_EXTRA),
                       ("long_short", FLAG_LONG_SHORT)):
        if found[name]:
            idx = np.asarray(found[name], dtype=int)
            flags[idx[flags[idx] == FLAG_NORMAL]] = code
    n_found = sum(counts.values())
    if n < 3:
        counts["corrected"] = 0
        return Correction(flags, rr_ms.copy(), beat_t_s.copy(), counts)
    t0_ms = beat_t_s[0] * 1000.0 - rr_ms[0]
    peaks = np.concatenate(([t0_ms], beat_t_s * 1000.0))
    corrected_total = 0
    if n_found:
        corrected_total = n_found
        peaks = _correct_peaks(peaks, {k: [j + 1 for j in v] for k, v in found.items()})
        passes = 1
        while iterative and passes < max_passes:
            again = find_artifacts(np.diff(peaks))
            n_again = sum(len(v) for v in again.values())
            if n_again >= n_found or n_again == 0:
                break
            peaks = _correct_peaks(peaks, {k: [j + 1 for j in v] for k, v in again.items()})
            corrected_total += n_again
            n_found = n_again
            passes += 1
    if residual_threshold is not None:
        for _ in range(3):
            nn = np.diff(peaks)
            if nn.max() < (1 + residual_threshold) * nn.min():
                break  # every interval lies within ±threshold of every median: nothing to find
            idx = _residual_outliers(nn, residual_threshold)
            idx = idx[(idx >= 1) & (idx < peaks.size - 2)]  # interval i ends at peak i + 1
            if idx.size == 0:
                break
            peaks = _correct_peaks(peaks, {"extra": [], "missed": [], "ectopic": [],
                                           "long_short": [int(i) + 1 for i in idx]})
            corrected_total += int(idx.size)
            # flag the raw beats nearest to the moved peaks, if not flagged already
            raw_idx = np.clip(np.searchsorted(beat_t_s * 1000.0, peaks[idx + 1]), 0, n - 1)
            fresh = raw_idx[flags[raw_idx] == FLAG_NORMAL]
            flags[fresh] = FLAG_LONG_SHORT
            counts["long_short"] = counts.get("long_short", 0) + int(fresh.size)
    counts["corrected"] = corrected_total
    return Correction(flags, np.diff(peaks), peaks[1:] / 1000.0, counts)


def find_gaps(rr_ms: np.ndarray, beat_t_s: np.ndarray, tolerance_s: float = GAP_TOLERANCE_S) -> np.ndarray:
    """Boolean per interval: True where data is missing before the beat (its time step exceeds its RR).

    The interval at a gap is still a measured interval, but its successive difference with the previous interval
    is not (beats in between were lost).
    """
    rr_ms = np.asarray(rr_ms, dtype=float)
    beat_t_s = np.asarray(beat_t_s, dtype=float)
    out = np.zeros(rr_ms.size, dtype=bool)
    if rr_ms.size > 1:
        out[1:] = (np.diff(beat_t_s) - rr_ms[1:] / 1000.0) > tolerance_s
    return out


def missing_time_s(rr_ms: np.ndarray, beat_t_s: np.ndarray, tolerance_s: float = GAP_TOLERANCE_S) -> float:
    """Seconds not covered by intervals inside the span of ``beat_t_s`` (sum of gap excesses)."""
    if len(rr_ms) < 2:
        return 0.0
    excess = np.diff(np.asarray(beat_t_s, dtype=float)) - np.asarray(rr_ms, dtype=float)[1:] / 1000.0
    return float(excess[excess > tolerance_s].sum())
