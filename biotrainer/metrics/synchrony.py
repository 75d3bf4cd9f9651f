"""Interpersonal physiological synchrony between two people (SCIENCE.md §11): pure functions over numpy arrays.

The core measure is the windowed, lagged cross-correlation (WCC; Boker et al. 2002) of the two heart-rate series
on a common 4 Hz grid, each window detrended, with Fisher's r → z, and a test against chance by segment-shuffle
surrogates within the dyad (SUSY; Ramseyer & Tschacher 2010).

**Sign convention** (everywhere in biotrainer): ``x`` is the therapist, ``y`` the client, and the correlation at lag
τ pairs ``x(t)`` with ``y(t + τ)``. **A positive lag means the client follows the therapist**; a negative lag means
the therapist follows the client.

Definitions
-----------
- *Window correlation* ``r(w, τ)``: Pearson correlation of ``x`` over ``[s_w, s_w + window)`` and ``y`` over
  ``[s_w + τ, s_w + τ + window)`` after removing from each its least-squares line in time (linear detrend), using
  only samples where both are present. Windows start every ``step_s`` from ``lag_s`` (so every lag stays inside the
  recording). This is the partial correlation of ``x`` and ``y`` given time within the window.
- *Peak* (per window): the lag with the largest in-phase correlation, ``peak_r = max_τ r(w, τ)`` and its lag.
  Boker et al. pick the local maximum nearest lag 0 after smoothing; with lags of at most a few seconds and heart
  rate sampled at 4 Hz the lag curve is smooth and has one maximum, and the global maximum is the more stable
  choice (a flat curve gives no spurious near-zero peak). ``z = artanh(peak_r)``.
- *Absolute peak*: ``max_τ |r(w, τ)|`` (anti-phase counts too); its mean is reported as ``mean_abs_z`` and has a
  higher chance level (SCIENCE.md §11).
- *Missing data*: a window in which either person has more than ``max_missing`` (default half) of the samples
  missing gives no value; the reason says so.
- *Chance test* (SUSY-style): the series are cut into non-overlapping segments of ``window_s`` (from ``lag_s``);
  the real statistic is the mean peak z of the co-occurring segment pairs; a surrogate pairs every therapist segment
  with a client segment from elsewhere in the session (at least two segments away, so the lagged windows never
  overlap), drawn at random with the given seed; ``n_surrogates`` such means form the null distribution.
  ``effect_size = (real − mean(surrogates)) / SD(surrogates)``; ``p_value = (1 + #{surrogate ≥ real}) /
  (1 + n_surrogates)`` (one-sided: in-phase synchrony above chance). A window is *above chance* when its z exceeds
  the 95th percentile of all non-co-occurring segment pairs' peak z.
- *Shared pacer*: when both people follow one pacer, any two segments at the same pacer phase correlate, so the
  ordinary surrogates understate chance. With ``pacer_phase`` given (cycle position 0..1 of the pacer on the grid,
  NaN where there is none), surrogate partners of a paced phase's segments come from the same phase (the same pacer
  rate and pattern) and start at the same pacer phase (within 0.1 cycle), and the test runs on both heart rates with
  the pacer's rhythm (its first three harmonics, :func:`remove_pacer_rhythm`) removed: what remains above those
  surrogates is synchrony beyond the pacer. Unpaced phases draw their partners from unpaced segments only.
- *Slope concordance* (SUCO-style; Tschacher & Meier 2020): the same windowed lagged correlation and chance test on
  each person's local heart-rate slope (least-squares slope over ``slope_s``), which is insensitive to level
  differences and slow drifts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Resampling rate of the heart-rate series (SCIENCE.md §11).
FS_HZ = 4.0
#: Defaults (issue 10; SCIENCE.md §11: windows 15-60 s, lags ±3-5 s; SUSY: 500 surrogates).
WINDOW_S = 30.0
STEP_S = 5.0
LAG_S = 5.0
N_SURROGATES = 500
MIN_SURROGATES = 100  # fewer cannot place p < 0.01 or estimate the surrogates' SD reliably
MAX_MISSING = 0.5  # a window with more than this share missing in either person gives no value
MIN_WINDOWS = 3  # fewer segments than this cannot be tested against chance
#: Gaps between valid beats longer than this are missing heart rate (not interpolated).
MAX_GAP_S = 3.0
#: Lead/lag: a median peak lag within ±this is "none" (one 4 Hz sample is 0.25 s).
LEAD_DEADBAND_S = 0.5
#: Surrogate segments for paced parts must start within this share of a pacer cycle of each other.
PACER_PHASE_TOLERANCE = 0.1
#: Window for the local slopes of the slope-concordance measure.
SLOPE_S = 5.0
#: A paced phase whose segments' mean in-phase peak r reaches this, without beating pacer-kept surrogates, is
#: reported as driven by the shared pacer (with lags up to ±5 s and a 10-s breath, any two paced segments align).
HIGH_RAW_R = 0.5
#: Fewest distinct (segment, surrogate partner) pairs a chance test draws from: with fewer, every surrogate mean is
#: nearly the same and the test would call anything above chance (short paced phases, very short recordings).
MIN_SURROGATE_PAIRS = 20
#: Fewest pseudo-dyads (the therapist with other sessions' clients) for that test.
MIN_PSEUDO_DYADS = 5
_R_CLIP = 1.0 - 1e-12


class SynchronyInputError(ValueError):
    """Inputs the synchrony functions cannot use (the message is one line)."""


# --- the heart-rate series -----------------------------------------------------------------------------------------


def hr_on_grid(beat_t_s: np.ndarray, nn_ms: np.ndarray, valid: np.ndarray | None, start_s: float, end_s: float,
               fs_hz: float = FS_HZ, max_gap_s: float = MAX_GAP_S) -> np.ndarray:
    """Instantaneous heart rate (bpm) on the grid ``start_s + k / fs_hz``, NaN where there is no data.

    Parameters
    ----------
    beat_t_s : ndarray
        Time of each beat (s, session time), increasing.
    nn_ms : ndarray
        The interval ending at each beat (ms), artifact-corrected (NN).
    valid : ndarray of bool, optional
        False for beats not to use (e.g. after a gap, or uncorrectable); default all valid.
    start_s, end_s : float
        Grid span; the grid has ``floor((end_s - start_s) * fs_hz)`` samples.
    fs_hz : float
        Grid rate (default 4 Hz).
    max_gap_s : float
        Grid samples farther than this from a valid beat on either side (a gap between valid beats longer than
        this) are NaN.

    Returns
    -------
    hr_bpm : ndarray
        ``60000 / nn_ms`` linearly interpolated between beats, NaN in gaps and outside the beats.
    """
    t = np.asarray(beat_t_s, dtype=float)
    nn = np.asarray(nn_ms, dtype=float)
    ok = np.isfinite(t) & np.isfinite(nn) & (nn > 0)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    t, hr = t[ok], 60000.0 / nn[ok]
    n = max(0, int(np.floor((end_s - start_s) * fs_hz + 1e-9)))
    grid = start_s + np.arange(n) / fs_hz
    out = np.full(n, np.nan)
    if t.size < 2 or n == 0:
        return out
    inside = (grid >= t[0]) & (grid <= t[-1])
    out[inside] = np.interp(grid[inside], t, hr)
    k = np.searchsorted(t, grid[inside], side="right")
    k = np.clip(k, 1, t.size - 1)
    gap = (t[k] - t[k - 1]) > max_gap_s
    idx = np.flatnonzero(inside)
    out[idx[gap]] = np.nan
    return out


def corrected_nn(beat_t_s: np.ndarray, rr_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One person's beats in time order, artifact-corrected (:func:`biotrainer.metrics.artifacts.correct_rr`, the
    correction every analysis uses): ``(beat_t_s, nn_ms)``; fewer than three beats are returned as they are."""
    from biotrainer.metrics.artifacts import correct_rr

    t, rr = np.asarray(beat_t_s, dtype=float), np.asarray(rr_ms, dtype=float)
    if t.size < 3:
        return t, rr
    order = np.argsort(t, kind="stable")
    corr = correct_rr(rr[order], t[order])
    return np.asarray(corr.beat_t_corrected_s, dtype=float), np.asarray(corr.rr_corrected_ms, dtype=float)


def local_slopes(x: np.ndarray, fs_hz: float = FS_HZ, slope_s: float = SLOPE_S) -> np.ndarray:
    """Least-squares slope of ``x`` (units per second) over a centred window of ``slope_s``; NaN where incomplete."""
    x = np.asarray(x, dtype=float)
    m = max(3, int(round(slope_s * fs_hz)) | 1)  # odd, centred
    out = np.full(x.size, np.nan)
    if x.size < m:
        return out
    win = np.lib.stride_tricks.sliding_window_view(x, m)
    t = (np.arange(m) - (m - 1) / 2) / fs_hz
    slope = win @ t / float(t @ t)  # NaN propagates: a window with a missing sample has no slope
    half = m // 2
    out[half:half + slope.size] = slope
    return out


# --- windowed lagged correlation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaggedCorrelation:
    """Windowed lagged cross-correlation of two series.

    Attributes
    ----------
    start_s : ndarray
        Start of each window, seconds from the first grid sample.
    lags_s : ndarray
        The lags (s); positive: ``y`` (the client) follows ``x`` (the therapist).
    r : ndarray, shape (n_windows, n_lags)
        Detrended Pearson correlation per window and lag; NaN where the window has no value.
    usable : ndarray of bool
        Windows with at most ``max_missing`` missing in both series.
    """

    start_s: np.ndarray
    lags_s: np.ndarray
    r: np.ndarray
    usable: np.ndarray
    window_s: float
    step_s: float
    fs_hz: float


def _check(fs_hz: float, window_s: float, step_s: float, lag_s: float) -> tuple[int, int, int]:
    if not (np.isfinite(fs_hz) and fs_hz > 0):
        raise SynchronyInputError(f"sampling rate {fs_hz!r} Hz must be a positive number")
    if not (np.isfinite(window_s) and window_s > 0) or not (np.isfinite(step_s) and step_s > 0):
        raise SynchronyInputError(f"window {window_s!r} s and step {step_s!r} s must be positive numbers")
    if not (np.isfinite(lag_s) and lag_s >= 0):
        raise SynchronyInputError(f"lag {lag_s!r} s must be a number ≥ 0")
    if lag_s >= window_s:
        raise SynchronyInputError(f"the lag ({lag_s:g} s) must be shorter than the window ({window_s:g} s)")
    w, step, lag = int(round(window_s * fs_hz)), int(round(step_s * fs_hz)), int(round(lag_s * fs_hz))
    if w < 8:
        raise SynchronyInputError(f"a {window_s:g}-s window holds only {w} samples at {fs_hz:g} Hz (need ≥ 8)")
    return w, max(step, 1), lag


def _detrended_r(n, sx, sy, sxx, syy, sxy, st, stt, sxt, syt):
    """Correlation of x and y after removing each one's line in t, from the (masked) sums; NaN where undefined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cxx = sxx - sx * sx / n
        cyy = syy - sy * sy / n
        cxy = sxy - sx * sy / n
        ctt = stt - st * st / n
        cxt = sxt - sx * st / n
        cyt = syt - sy * st / n
        rxx = cxx - cxt * cxt / ctt
        ryy = cyy - cyt * cyt / ctt
        rxy = cxy - cxt * cyt / ctt
        r = rxy / np.sqrt(rxx * ryy)
    return np.where((rxx > 0) & (ryy > 0), np.clip(r, -1.0, 1.0), np.nan)


def _windows(a: np.ndarray, starts: np.ndarray, w: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(a, w)[starts]


def lagged_correlation(x: np.ndarray, y: np.ndarray, *, fs_hz: float = FS_HZ, window_s: float = WINDOW_S,
                       step_s: float = STEP_S, lag_s: float = LAG_S,
                       max_missing: float = MAX_MISSING) -> LaggedCorrelation:
    """Windowed, lagged, detrended cross-correlation of ``x`` (therapist) and ``y`` (client) on one grid.

    Parameters
    ----------
    x, y : ndarray
        The two series on the same grid (NaN = missing), same length.
    fs_hz, window_s, step_s, lag_s : float
        Grid rate, window length, window step and the largest lag (both directions).
    max_missing : float
        Share of missing samples above which a window gives no value.

    Returns
    -------
    LaggedCorrelation
        See its attributes; ``r[w, j]`` pairs ``x`` in window ``w`` with ``y`` shifted by ``lags_s[j]``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise SynchronyInputError(f"the two series must be 1-D and of one length (got {x.shape} and {y.shape})")
    w, step, lag = _check(fs_hz, window_s, step_s, lag_s)
    lags = np.arange(-lag, lag + 1)
    last = x.size - w - lag
    starts = np.arange(lag, last + 1, step) if last >= lag else np.empty(0, dtype=int)
    r = np.full((starts.size, lags.size), np.nan)
    if starts.size == 0:
        return LaggedCorrelation(starts / fs_hz, lags / fs_hz, r, np.zeros(0, dtype=bool), window_s, step_s, fs_hz)
    vx, vy = np.isfinite(x), np.isfinite(y)
    x0 = np.where(vx, x - np.nanmean(x) if vx.any() else 0.0, 0.0)  # centred: sums keep their precision
    y0 = np.where(vy, y - np.nanmean(y) if vy.any() else 0.0, 0.0)
    t = np.arange(w, dtype=float)
    X, MX = _windows(x0, starts, w), _windows(vx.astype(float), starts, w)
    usable = (MX.mean(axis=1) >= 1 - max_missing) & (_windows(vy.astype(float), starts, w).mean(axis=1)
                                                     >= 1 - max_missing)
    min_n = max(3, int(np.ceil((1 - max_missing) * w)))
    for j, tau in enumerate(lags):
        Y, MY = _windows(y0, starts + tau, w), _windows(vy.astype(float), starts + tau, w)
        m = MX * MY
        n = m.sum(axis=1)
        xm, ym, tm = X * m, Y * m, t * m
        rr = _detrended_r(n, xm.sum(1), ym.sum(1), (xm * X).sum(1), (ym * Y).sum(1), (xm * Y).sum(1),
                          tm.sum(1), (tm * t).sum(1), (xm * t).sum(1), (ym * t).sum(1))
        r[:, j] = np.where(n >= min_n, rr, np.nan)
    r[~usable] = np.nan
    return LaggedCorrelation(starts / fs_hz, lags / fs_hz, r, usable, window_s, step_s, fs_hz)


def peak_pick(r: np.ndarray, lags_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``r`` (windows × lags): the in-phase peak r, its lag (s), and the largest |r|; NaN for empty rows.

    Ties go to the lag nearest zero.
    """
    r = np.asarray(r, dtype=float)
    n = r.shape[0]
    peak_r, peak_lag, peak_abs = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    has = np.isfinite(r).any(axis=1)
    if not has.any():
        return peak_r, peak_lag, peak_abs
    order = np.argsort(np.abs(lags_s), kind="stable")  # nearest-zero lags first: argmax takes the first maximum
    rs = np.where(np.isfinite(r[has][:, order]), r[has][:, order], -np.inf)
    k = np.argmax(rs, axis=1)
    peak_r[has] = rs[np.arange(k.size), k]
    peak_lag[has] = np.asarray(lags_s, dtype=float)[order][k]
    peak_abs[has] = np.nanmax(np.abs(r[has]), axis=1)
    return peak_r, peak_lag, peak_abs


def fisher_z(r: np.ndarray) -> np.ndarray:
    """Fisher's r → z (``artanh``), with |r| clipped just below 1 so a perfect correlation stays finite."""
    return np.arctanh(np.clip(np.asarray(r, dtype=float), -_R_CLIP, _R_CLIP))


# --- the chance test -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChanceTest:
    """Segment-shuffle surrogate test of the mean peak z (see the module docstring).

    Attributes
    ----------
    real : float
        Mean peak z of the co-occurring segments (NaN when untestable).
    surrogate_mean, surrogate_sd : float
        Mean and SD (ddof 1) of the surrogate means.
    effect_size : float
        ``(real − surrogate_mean) / surrogate_sd``.
    p_value : float
        ``(1 + #{surrogates ≥ real}) / (1 + n_surrogates)``.
    n_surrogates : int
        Surrogates drawn.
    n_segments : int
        Segments that entered the test.
    z_threshold : float
        95th percentile of the non-co-occurring pairs' peak z: a window above it is above chance.
    pacer_kept : bool
        Whether the surrogates were restricted to segments at the same pacer phase.
    reason : str
        Why the test has no value ("" when it has one).
    """

    real: float
    surrogate_mean: float
    surrogate_sd: float
    effect_size: float
    p_value: float
    n_surrogates: int
    n_segments: int
    z_threshold: float
    pacer_kept: bool = False
    reason: str = ""


def _untestable(reason: str, n_segments: int = 0, pacer_kept: bool = False) -> ChanceTest:
    nan = float("nan")
    return ChanceTest(nan, nan, nan, nan, nan, 0, n_segments, nan, pacer_kept, reason)


def segment_pair_peaks(x: np.ndarray, y: np.ndarray, *, fs_hz: float = FS_HZ, window_s: float = WINDOW_S,
                       lag_s: float = LAG_S, max_missing: float = MAX_MISSING) -> tuple[np.ndarray, np.ndarray]:
    """Peak z for every pair (therapist segment i, client segment j) of non-overlapping segments.

    Returns
    -------
    z : ndarray, shape (n_segments, n_segments)
        ``z[i, j]``: Fisher z of the in-phase peak over lags of ``x`` in segment i and ``y`` in segment j shifted by
        each lag (same definitions as :func:`lagged_correlation`); NaN where either has too much missing.
    start_s : ndarray
        Segment starts (s from the first grid sample).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w, _, lag = _check(fs_hz, window_s, window_s, lag_s)
    n_seg = max(0, (x.size - 2 * lag) // w)
    starts = lag + w * np.arange(n_seg)
    if n_seg == 0:
        return np.full((0, 0), np.nan), starts / fs_hz
    vx, vy = np.isfinite(x), np.isfinite(y)
    x0 = np.where(vx, x - np.nanmean(x) if vx.any() else 0.0, 0.0)
    y0 = np.where(vy, y - np.nanmean(y) if vy.any() else 0.0, 0.0)
    t = np.arange(w, dtype=float)
    X, MX = _windows(x0, starts, w), _windows(vx.astype(float), starts, w)
    ok_x = MX.mean(axis=1) >= 1 - max_missing
    ok_y = _windows(vy.astype(float), starts, w).mean(axis=1) >= 1 - max_missing
    min_n = max(3, int(np.ceil((1 - max_missing) * w)))
    XM, XXM, TM, TTM, XTM = X * MX, X * X * MX, t * MX, t * t * MX, X * t * MX
    best = np.full((n_seg, n_seg), -np.inf)
    for tau in sorted(range(-lag, lag + 1), key=abs):  # nearest-zero lag first, as peak_pick
        Y, MY = _windows(y0, starts + tau, w), _windows(vy.astype(float), starts + tau, w)
        YM = Y * MY
        n = MX @ MY.T
        rr = _detrended_r(n, XM @ MY.T, MX @ YM.T, XXM @ MY.T, MX @ (YM * Y).T, XM @ YM.T,
                          TM @ MY.T, TTM @ MY.T, XTM @ MY.T, TM @ YM.T)
        rr = np.where((n >= min_n) & np.isfinite(rr), rr, -np.inf)
        np.maximum(best, rr, out=best)
    z = np.where(np.isfinite(best), fisher_z(np.where(np.isfinite(best), best, 0.0)), np.nan)
    z[~ok_x, :] = np.nan
    z[:, ~ok_y] = np.nan
    return z, starts / fs_hz


def chance_test(pair_z: np.ndarray, *, n_surrogates: int = N_SURROGATES, seed: int = 0,
                segments: np.ndarray | None = None, pacer_phase: np.ndarray | None = None,
                partners: np.ndarray | None = None, min_distance: int = 2) -> ChanceTest:
    """Test the mean co-occurring peak z against segment-shuffle surrogates.

    Parameters
    ----------
    pair_z : ndarray, shape (n, n)
        From :func:`segment_pair_peaks`.
    n_surrogates : int
        Surrogate means to draw (≥ :data:`MIN_SURROGATES`).
    seed : int
        Seed of the surrogate draw (the same seed gives the same p-value).
    segments : ndarray of bool, optional
        The segments to test (e.g. one phase); default all. Surrogate partners come from the whole session.
    pacer_phase : ndarray, optional
        Pacer cycle position (0..1) at each segment's start, NaN where unpaced: paced segments then only pair with
        segments at the same pacer phase (the pacer is kept in the surrogates).
    partners : ndarray of bool, optional
        The segments surrogate partners may come from (default all): one mask for every segment, or a matrix
        ``[i, j]`` (segment i may pair with j). A paced phase takes its own segments, so partners follow the same
        pacer pattern and rate.
    min_distance : int
        Surrogate partners are at least this many segments away (2: lagged windows never overlap).

    Returns
    -------
    ChanceTest
    """
    if n_surrogates < MIN_SURROGATES:
        raise SynchronyInputError(f"{n_surrogates} surrogates are too few for a chance test (use at least "
                                  f"{MIN_SURROGATES}; 500 is usual)")
    z = np.asarray(pair_z, dtype=float)
    n = z.shape[0]
    idx = np.arange(n)
    chosen = np.ones(n, dtype=bool) if segments is None else np.asarray(segments, dtype=bool)
    diag = np.diag(z) if n else np.empty(0)
    test = chosen & np.isfinite(diag)
    far = np.abs(idx[:, None] - idx[None, :]) >= min_distance
    allowed = far & np.isfinite(z)
    if partners is not None:
        pm = np.asarray(partners, dtype=bool)
        allowed &= pm if pm.ndim == 2 else pm[None, :]
    kept = pacer_phase is not None and bool(np.isfinite(np.asarray(pacer_phase, dtype=float)[test]).any())
    if kept:
        ph = np.asarray(pacer_phase, dtype=float)
        d = np.abs(ph[:, None] - ph[None, :])
        same = np.minimum(d, 1.0 - d) <= PACER_PHASE_TOLERANCE
        paced = np.isfinite(ph)
        allowed &= np.where(paced[:, None], same & paced[None, :], True)
    test &= allowed.any(axis=1)
    if test.sum() < MIN_WINDOWS:
        return _untestable(f"only {int(test.sum())} segments with data and a surrogate partner (need "
                           f"{MIN_WINDOWS})", int(test.sum()), kept)
    n_pairs = int(allowed[test].sum())
    if n_pairs < MIN_SURROGATE_PAIRS:
        what = "pacer-matched " if kept else ""
        return _untestable(f"only {n_pairs} {what}segment pairs to draw surrogates from (need "
                           f"{MIN_SURROGATE_PAIRS})", int(test.sum()), kept)
    null_pairs = z[allowed & chosen[:, None]]
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(test)
    draws = np.empty((n_surrogates, rows.size))
    for k, i in enumerate(rows):
        partners = np.flatnonzero(allowed[i])
        draws[:, k] = z[i, partners[rng.integers(0, partners.size, n_surrogates)]]
    sur = draws.mean(axis=1)
    real = float(diag[rows].mean())
    sd = float(sur.std(ddof=1))
    es = (real - float(sur.mean())) / sd if sd > 0 else float("nan")
    p = (1 + int(np.sum(sur >= real))) / (1 + n_surrogates)
    return ChanceTest(real, float(sur.mean()), sd, es, p, n_surrogates, int(rows.size),
                      float(np.percentile(null_pairs, 95)), kept)


def pseudo_dyad_test(x: np.ndarray, y: np.ndarray, others: list[np.ndarray], *, fs_hz: float = FS_HZ,
                     window_s: float = WINDOW_S, lag_s: float = LAG_S,
                     max_missing: float = MAX_MISSING) -> ChanceTest:
    """Test the dyad against pseudo-dyads: the therapist (``x``) with clients of *other* sessions (``others``).

    The more conservative test (rMEA; SCIENCE.md §11): a pseudo-dyad shares everything a therapist brings to every
    session (their own rhythms, the room, the time of day) but not the meeting. Each pseudo-dyad's statistic is the
    mean co-occurring segment peak z over the time both series cover (from their starts); the real one is the same
    over the dyad. ``effect_size = (real − mean) / SD`` over the pseudo-dyads, ``p_value = (1 + #{pseudo ≥ real}) /
    (1 + n)``; with fewer than :data:`MIN_PSEUDO_DYADS` the test has no value and says why.
    """
    def statistic(a: np.ndarray, b: np.ndarray) -> float:
        n = min(a.size, b.size)
        z, _ = segment_pair_peaks(a[:n], b[:n], fs_hz=fs_hz, window_s=window_s, lag_s=lag_s,
                                  max_missing=max_missing)
        d = np.diag(z) if z.size else np.empty(0)
        d = d[np.isfinite(d)]
        return float(d.mean()) if d.size >= MIN_WINDOWS else float("nan")

    real = statistic(np.asarray(x, float), np.asarray(y, float))
    pseudo = np.array([statistic(np.asarray(x, float), np.asarray(o, float)) for o in others])
    pseudo = pseudo[np.isfinite(pseudo)]
    if pseudo.size < MIN_PSEUDO_DYADS or not np.isfinite(real):
        why = (f"only {pseudo.size} other sessions of this therapist with a client long enough to pair (need "
               f"{MIN_PSEUDO_DYADS})") if np.isfinite(real) else "the dyad has fewer than three segments with data"
        return _untestable(why, int(pseudo.size))
    sd = float(pseudo.std(ddof=1))
    es = (real - float(pseudo.mean())) / sd if sd > 0 else float("nan")
    p = (1 + int(np.sum(pseudo >= real))) / (1 + pseudo.size)
    return ChanceTest(real, float(pseudo.mean()), sd, es, p, int(pseudo.size), int(pseudo.size),
                      float(np.percentile(pseudo, 95)))


#: Fewest windows both people have a value in for a concordance of window metrics (RSA, breathing rate).
MIN_CONCORDANCE_WINDOWS = 6
N_PERMUTATIONS = 2000


def _within_groups(a: np.ndarray, b: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each series minus its mean within each group; windows alone in their group (nothing left) are dropped."""
    keep = np.zeros(a.size, dtype=bool)
    a, b = a.copy(), b.copy()
    for g in np.unique(groups):
        m = groups == g
        if m.sum() >= 2:
            a[m] -= a[m].mean()
            b[m] -= b[m].mean()
            keep |= m
    return a[keep], b[keep], groups[keep]


def _permuted(b: np.ndarray, groups: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    if groups is None:
        return rng.permutation(b)
    out = b.copy()
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out[idx] = b[rng.permutation(idx)]
    return out


def series_concordance(a: np.ndarray, b: np.ndarray, *, n_permutations: int = N_PERMUTATIONS,
                       seed: int = 0, groups: np.ndarray | None = None) -> dict:
    """Concordance of two people's per-window values (e.g. RSA or breathing rate per 60 s): Pearson r over the
    windows both have, and a one-sided permutation p (one person's windows shuffled ``n_permutations`` times).

    ``groups`` (one label per window, e.g. the pacer rate both followed; NaN-free) keeps what both share by
    design: each series is centred within its group and windows are shuffled only within their group, so two
    people following the same pacer steps are not concordant for that alone (the shared-pacer confound).

    Returns
    -------
    dict
        ``r``, ``p_value`` (``(1 + #{r_perm ≥ r}) / (1 + n)``), ``n_windows``, ``n_permutations``, ``pacer_kept``
        (whether ``groups`` was used) and ``reason`` ("" when there is a value); r and p are None with fewer than
        :data:`MIN_CONCORDANCE_WINDOWS` windows or when a series does not vary.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if groups is not None:
        a, b, groups = _within_groups(a, b, np.asarray(groups)[ok])
    out = {"r": None, "p_value": None, "n_windows": int(a.size), "n_permutations": 0, "reason": "",
           "pacer_kept": groups is not None}
    if a.size < MIN_CONCORDANCE_WINDOWS:
        out["reason"] = f"only {a.size} windows with a value for both (need {MIN_CONCORDANCE_WINDOWS})"
        return out
    if np.std(a) == 0 or np.std(b) == 0:
        out["reason"] = "one person's values do not vary"
        return out
    r = float(np.corrcoef(a, b)[0, 1])
    rng = np.random.default_rng(seed)
    perm = np.array([np.corrcoef(a, _permuted(b, groups, rng))[0, 1] for _ in range(n_permutations)])
    out.update(r=r, p_value=(1 + int(np.sum(perm >= r))) / (1 + n_permutations), n_permutations=n_permutations)
    return out


# --- the whole analysis --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSpanInput:
    """A phase to test on its own: name, span (s from the first grid sample) and whether a pacer ran in it."""

    name: str
    start_s: float
    end_s: float
    paced: bool = False


@dataclass
class SynchronyResult:
    """Everything :func:`dyad_synchrony` computes; :meth:`to_dict` gives the documented JSON.

    Attributes
    ----------
    windows : LaggedCorrelation
        The timeline (window step ``step_s``).
    peak_r, peak_lag_s, z : ndarray
        Per window: in-phase peak r, its lag (s; positive: the client follows), Fisher z. NaN without a value.
    above_chance : ndarray of bool
        Per window: z above the chance test's threshold; in a paced phase the z after the pacer's rhythm was
        removed (the shared pacer alone never makes a window above chance).
    session : ChanceTest
        The whole session's test.
    mean_z, mean_abs_z : float
        Mean z of the windows' in-phase peak and of their absolute peak.
    median_lag_s : float
        Median peak lag of the above-chance windows (of all windows with a value when fewer than three are).
    curve_lag_s : float
        The lag where the mean Fisher z over all windows with a value peaks (the dyad's typical delay).
    leader : str
        "therapist" (positive ``curve_lag_s``), "client" (negative) or "none" (within ±0.5 s, no windows, or a
        session not above chance).
    phases : list of dict
        Per phase: name, mean_z, effect_size, p_value, paced, verdict.
    slope : ChanceTest or None
        The slope-concordance test.
    reasons : list of str
        Why values are missing.
    """

    windows: LaggedCorrelation
    peak_r: np.ndarray
    peak_lag_s: np.ndarray
    z: np.ndarray
    above_chance: np.ndarray
    session: ChanceTest
    mean_z: float
    mean_abs_z: float
    median_lag_s: float
    curve_lag_s: float
    leader: str
    lag_basis: str
    phases: list[dict] = field(default_factory=list)
    slope: ChanceTest | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self, offset_s: float = 0.0) -> dict:
        """JSON-ready dict (NaN → None); window and phase times shifted by ``offset_s`` (e.g. the grid start)."""
        w = self.windows
        return {
            "window_s": w.window_s, "step_s": w.step_s, "lag_s": float(w.lags_s[-1]) if w.lags_s.size else 0.0,
            "fs_hz": w.fs_hz, "n_windows": int(np.isfinite(self.z).sum()),
            "sign_convention": "positive lag: the client follows the therapist",
            "session": {"mean_z": _num(self.mean_z), "mean_abs_z": _num(self.mean_abs_z),
                        **chance_test_dict(self.session),
                        "method": "windowed lagged cross-correlation of heart rate (4 Hz, detrended windows, "
                                  "Fisher z of the in-phase peak), segment-shuffle surrogates within the dyad"},
            "lead_lag": {"median_lag_s": _num(self.median_lag_s), "curve_lag_s": _num(self.curve_lag_s),
                         "leader": self.leader, "basis": self.lag_basis},
            "slope_concordance": chance_test_dict(self.slope) if self.slope is not None else None,
            "phases": [{**p, "start_s": p["start_s"] + offset_s, "end_s": p["end_s"] + offset_s,
                        **{k: _num(p[k]) for k in ("mean_z", "effect_size", "p_value")}} for p in self.phases],
            "windows": [{"start_s": float(s + offset_s), "end_s": float(s + offset_s + w.window_s),
                         "peak_r": _num(r), "peak_lag_s": _num(lg), "z": _num(z), "above_chance": bool(a)}
                        for s, r, lg, z, a in zip(w.start_s, self.peak_r, self.peak_lag_s, self.z,
                                                  self.above_chance, strict=True)],
            "reasons": list(self.reasons),
        }


def _num(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def chance_test_dict(t: ChanceTest) -> dict:
    """A chance test as JSON-ready numbers (NaN → None)."""
    return {"effect_size": _num(t.effect_size), "p_value": _num(t.p_value), "n_surrogates": t.n_surrogates,
            "n_segments": t.n_segments, "real_z": _num(t.real), "surrogate_mean_z": _num(t.surrogate_mean),
            "surrogate_sd_z": _num(t.surrogate_sd), "z_threshold": _num(t.z_threshold), "pacer_kept": t.pacer_kept,
            "reason": t.reason}


def _lead(r: np.ndarray, lags_s: np.ndarray, peak_lag_s: np.ndarray, z: np.ndarray, above: np.ndarray,
          session_p: float) -> tuple[float, float, str, str]:
    """``(median_lag_s, curve_lag_s, leader, basis)``; nobody leads a session that is not above chance.

    ``curve_lag_s`` is the lag where the mean Fisher z of all windows with a value peaks. It decides who leads: each window's own peak
    lag is pulled about by the two people's unrelated breathing waves (uniformly over ±lag), which drags the median
    of the per-window lags toward zero, while averaging the lag curves first cancels them.
    """
    have = np.isfinite(z)
    basis = "above-chance windows"
    use = have & above
    if use.sum() < MIN_WINDOWS:
        use, basis = have, "all windows (fewer than three above chance)"
    if not use.any():
        return float("nan"), float("nan"), "none", "no windows"
    med = float(np.median(peak_lag_s[use]))
    curve = np.nanmean(fisher_z(r[have]), axis=0)  # all windows: choosing the high ones would choose noise too
    order = np.argsort(np.abs(lags_s), kind="stable")
    curve_lag = float(lags_s[order][np.argmax(curve[order])])
    if not (np.isfinite(session_p) and session_p < 0.05):
        return med, curve_lag, "none", basis + "; the session is not above chance, so nobody is said to lead"
    leader = "therapist" if curve_lag > LEAD_DEADBAND_S else "client" if curve_lag < -LEAD_DEADBAND_S else "none"
    return med, curve_lag, leader, basis


def remove_pacer_rhythm(x: np.ndarray, pacer_phase: np.ndarray, spans: list[tuple[int, int]],
                        harmonics: int = 3) -> np.ndarray:
    """``x`` with, inside each span (grid indices), its least-squares fit on the pacer's rhythm removed.

    The regressors are cos and sin of 2πkφ (k = 1..``harmonics``; φ the pacer's cycle position) plus a constant:
    what heart rate does because the person breathes with the pacer. Two people on one pacer share that part by
    construction; what remains (slower waves, breath-to-breath deviations) is what they could share by attunement.
    """
    out = np.array(x, dtype=float)
    for a, b in spans:
        ph = pacer_phase[a:b]
        ok = np.isfinite(out[a:b]) & np.isfinite(ph)
        if ok.sum() < 4 * harmonics + 2:
            continue
        cols = [np.ones(int(ok.sum()))]
        for k in range(1, harmonics + 1):
            cols += [np.cos(2 * np.pi * k * ph[ok]), np.sin(2 * np.pi * k * ph[ok])]
        design = np.column_stack(cols)
        coef, *_ = np.linalg.lstsq(design, out[a:b][ok], rcond=None)
        seg = out[a:b]
        seg[ok] = seg[ok] - design @ coef + coef[0]  # keep the level, remove the rhythm
    return out


def _phase_results(pair_z: np.ndarray, seg_start_s: np.ndarray, window_s: float, z: np.ndarray,
                   win_start_s: np.ndarray, phases: list[PhaseSpanInput], seg_pacer: np.ndarray | None,
                   n_surrogates: int, seed: int, paced_pair_z: np.ndarray | None = None) -> list[dict]:
    """Per phase: its own chance test. Unpaced phases draw surrogate partners from the unpaced segments (a paced
    segment's heart rate is another condition); paced ones test ``paced_pair_z`` (the series with the pacer's
    rhythm removed) against partners from the same phase at the same pacer phase."""
    paced_seg = np.zeros(seg_start_s.size, dtype=bool)
    for ph in phases:
        if ph.paced:
            paced_seg |= (seg_start_s + window_s > ph.start_s) & (seg_start_s < ph.end_s)
    out = []
    for k, ph in enumerate(phases):
        inside = (seg_start_s >= ph.start_s) & (seg_start_s + window_s <= ph.end_s)
        if ph.paced:
            tested = paced_pair_z if paced_pair_z is not None else pair_z
            test = chance_test(tested, n_surrogates=n_surrogates, seed=seed + 1 + k, segments=inside,
                               pacer_phase=seg_pacer, partners=inside)
            verdict = _verdict(test, pair_z, inside, n_surrogates, seed + 1 + k)
        else:
            test = chance_test(pair_z, n_surrogates=n_surrogates, seed=seed + 1 + k, segments=inside,
                               partners=~paced_seg)
            verdict = _plain_verdict(test)
        wins = (win_start_s >= ph.start_s) & (win_start_s + window_s <= ph.end_s) & np.isfinite(z)
        out.append({"name": ph.name, "start_s": ph.start_s, "end_s": ph.end_s, "paced": ph.paced,
                    "mean_z": float(z[wins].mean()) if wins.any() else float("nan"),
                    "effect_size": test.effect_size, "p_value": test.p_value, "verdict": verdict,
                    "reason": test.reason})
    return out


def _session_test(pair_z: np.ndarray, paced_pair_z: np.ndarray | None, seg_start_s: np.ndarray, window_s: float,
                  phases: list[PhaseSpanInput], seg_pacer: np.ndarray | None, n_surrogates: int,
                  seed: int) -> ChanceTest:
    """The whole session's test, by the phases' rules when a pacer ran: a paced phase's segments are tested with
    the pacer's rhythm removed and pair only within their phase at the same pacer phase; the other segments pair
    only with unpaced ones; a segment straddling a paced phase's edge is left out. Without a pacer: every segment
    pairs with every other."""
    if paced_pair_z is None:
        return chance_test(pair_z, n_surrogates=n_surrogates, seed=seed)
    group = np.full(seg_start_s.size, -1)  # -1 unpaced, k paced phase k, -2 straddling
    for k, ph in enumerate(phases):
        if not ph.paced:
            continue
        inside = (seg_start_s >= ph.start_s) & (seg_start_s + window_s <= ph.end_s)
        touches = (seg_start_s + window_s > ph.start_s) & (seg_start_s < ph.end_s)
        group[inside] = k
        group[touches & ~inside] = -2
    paced = group >= 0
    z = np.where(paced[:, None], paced_pair_z, pair_z)
    partners = (group[:, None] == group[None, :]) & (group[:, None] != -2)
    return chance_test(z, n_surrogates=n_surrogates, seed=seed, segments=group != -2,
                       pacer_phase=np.where(paced, seg_pacer, np.nan), partners=partners)


def _plain_verdict(test: ChanceTest) -> str:
    if not np.isfinite(test.p_value):
        return "not testable"
    return "above chance" if test.p_value < 0.05 else "not above chance"


def _verdict(kept: ChanceTest, pair_z: np.ndarray, inside: np.ndarray, n_surrogates: int, seed: int) -> str:
    """For a paced phase: above chance only if it beats surrogates that keep the pacer.

    Otherwise (including when too few pacer-matched segments exist to test it) the phase is "driven by the shared
    pacer" when its raw correlation is high (mean in-phase peak r of its segments ≥ :data:`HIGH_RAW_R`) or the
    ordinary surrogates call it above chance; else "not above chance" (or "not testable").
    """
    if np.isfinite(kept.p_value) and kept.p_value < 0.05:
        return "above chance beyond the shared pacer"
    naive = chance_test(pair_z, n_surrogates=n_surrogates, seed=seed, segments=inside)
    raw = naive.real if np.isfinite(naive.real) else float(np.nanmean(np.diag(pair_z)[inside])) if inside.any() \
        else float("nan")
    if (np.isfinite(raw) and np.tanh(raw) >= HIGH_RAW_R) or (np.isfinite(naive.p_value) and naive.p_value < 0.05):
        return "driven by the shared pacer"  # high, and not shown to be beyond what the pacer alone gives
    return "not above chance" if np.isfinite(kept.p_value) else "not testable"


def _pacer_free_z(z: np.ndarray, start_s: np.ndarray, window_s: float, spans: list[tuple[int, int]], fs_hz: float,
                  kept: LaggedCorrelation) -> np.ndarray:
    """``z`` with the windows that overlap a paced span replaced by their z after the pacer's rhythm was removed:
    two people on one pacer correlate through it, so only what remains can make such a window above chance (the
    session test's threshold for paced segments is made the same way)."""
    out = z.copy()
    kz = fisher_z(peak_pick(kept.r, kept.lags_s)[0])
    for a, b in spans:
        touch = (start_s + window_s > a / fs_hz) & (start_s < b / fs_hz)
        out[touch] = kz[touch]
    return out


def dyad_synchrony(x: np.ndarray, y: np.ndarray, *, fs_hz: float = FS_HZ, window_s: float = WINDOW_S,
                   step_s: float = STEP_S, lag_s: float = LAG_S, n_surrogates: int = N_SURROGATES, seed: int = 0,
                   phases: list[PhaseSpanInput] | None = None, pacer_phase: np.ndarray | None = None,
                   max_missing: float = MAX_MISSING, slope_s: float | None = SLOPE_S) -> SynchronyResult:
    """Heart-rate synchrony of a dyad: timeline, whole-session and per-phase chance tests, lead/lag.

    Parameters
    ----------
    x, y : ndarray
        Therapist's and client's heart rate on one grid (:func:`hr_on_grid`), NaN where missing.
    fs_hz, window_s, step_s, lag_s : float
        Grid rate (4 Hz), window (30 s), step (5 s), largest lag (±5 s).
    n_surrogates : int
        Surrogates for each chance test (500; at least 100).
    seed : int
        Seed of the surrogate draws.
    phases : list of PhaseSpanInput, optional
        Phases to test on their own (times in seconds from the first grid sample).
    pacer_phase : ndarray, optional
        Pacer cycle position (0..1) on the grid, NaN where no pacer ran; used for paced phases.
    max_missing : float
        Share of missing samples above which a window has no value.
    slope_s : float or None
        Window of the local slopes for slope concordance; None skips it.

    Returns
    -------
    SynchronyResult

    Raises
    ------
    SynchronyInputError
        Inconsistent settings, too few surrogates, or a recording shorter than three windows.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if n_surrogates < MIN_SURROGATES:
        raise SynchronyInputError(f"{n_surrogates} surrogates are too few for a chance test (use at least "
                                  f"{MIN_SURROGATES}; 500 is usual)")
    w, _, lag = _check(fs_hz, window_s, step_s, lag_s)
    if x.size < MIN_WINDOWS * w + 2 * lag:
        raise SynchronyInputError(f"the recording ({x.size / fs_hz:.0f} s together) is shorter than three "
                                  f"{window_s:g}-s windows plus the ±{lag_s:g}-s lags")
    wcc = lagged_correlation(x, y, fs_hz=fs_hz, window_s=window_s, step_s=step_s, lag_s=lag_s,
                             max_missing=max_missing)
    peak_r, peak_lag, peak_abs = peak_pick(wcc.r, wcc.lags_s)
    z = fisher_z(peak_r)
    pair_z, seg_start = segment_pair_peaks(x, y, fs_hz=fs_hz, window_s=window_s, lag_s=lag_s,
                                           max_missing=max_missing)
    seg_pacer = None
    if pacer_phase is not None:
        seg_pacer = np.asarray(pacer_phase, dtype=float)[np.round(seg_start * fs_hz).astype(int)]
    paced_pair_z = None
    z_tested = z  # what a window's "above chance" compares with the threshold
    if pacer_phase is not None and any(p.paced for p in phases or []):
        spans = [(max(0, int(p.start_s * fs_hz)), min(x.size, int(p.end_s * fs_hz))) for p in phases if p.paced]
        pp = np.asarray(pacer_phase, dtype=float)
        xk, yk = remove_pacer_rhythm(x, pp, spans), remove_pacer_rhythm(y, pp, spans)
        paced_pair_z, _ = segment_pair_peaks(xk, yk, fs_hz=fs_hz, window_s=window_s, lag_s=lag_s,
                                             max_missing=max_missing)
        z_tested = _pacer_free_z(z, wcc.start_s, window_s, spans, fs_hz,
                                 lagged_correlation(xk, yk, fs_hz=fs_hz, window_s=window_s, step_s=step_s,
                                                    lag_s=lag_s, max_missing=max_missing))
    session = _session_test(pair_z, paced_pair_z, seg_start, window_s, phases or [], seg_pacer, n_surrogates, seed)
    above = np.isfinite(z_tested) & (z_tested > session.z_threshold) if np.isfinite(session.z_threshold) else \
        np.zeros(z.size, dtype=bool)
    reasons = []
    n_none = int((~wcc.usable).sum())
    if n_none:
        reasons.append(f"{n_none} of {wcc.usable.size} windows have no value: more than "
                       f"{max_missing:.0%} of one person's heart rate missing")
    if session.reason:
        reasons.append(f"session chance test: {session.reason}")
    med, curve_lag, leader, basis = _lead(wcc.r, wcc.lags_s, peak_lag, z, above, session.p_value)
    phase_rows = _phase_results(pair_z, seg_start, window_s, z, wcc.start_s, phases or [], seg_pacer,
                                n_surrogates, seed, paced_pair_z)
    slope = None
    if slope_s is not None:
        sz, _ = segment_pair_peaks(local_slopes(x, fs_hz, slope_s), local_slopes(y, fs_hz, slope_s), fs_hz=fs_hz,
                                   window_s=window_s, lag_s=lag_s, max_missing=max_missing)
        slope = chance_test(sz, n_surrogates=n_surrogates, seed=seed + 10_000)
    have = np.isfinite(z)
    return SynchronyResult(wcc, peak_r, peak_lag, z, above, session,
                           float(z[have].mean()) if have.any() else float("nan"),
                           float(fisher_z(peak_abs[have]).mean()) if have.any() else float("nan"),
                           med, curve_lag, leader, basis, phase_rows, slope, reasons)
