"""Time-domain HRV (Task Force 1996; SCIENCE.md §1) on NN intervals in ms.

Definitions (the same as neurokit2 ``hrv_time`` and pyhrv, checked on the NSRDB series they ship):

- ``hr_bpm``: 60000 / MeanNN (the rate of the mean interval, not the mean of instantaneous rates).
- ``mean_nn_ms``: mean NN interval.
- ``sdnn_ms``: sample standard deviation (ddof = 1) of NN.
- ``rmssd_ms``: square root of the mean of squared successive differences.
- ``ln_rmssd``: natural log of RMSSD in ms (ln(ms)).
- ``pnn50_pct``: percentage of successive differences whose magnitude exceeds 50 ms, of all differences (as pyhrv;
  neurokit2 0.3.0 divides by the number of intervals instead, which is n/(n−1) times smaller).

Successive differences across a gap in the data (``valid_diff`` False) are left out of RMSSD and pNN50.
"""

from __future__ import annotations

import math

import numpy as np

#: SDNN needs at least this much data (SCIENCE.md §1: SDNN ≥ 30 s; design choice: live minimum 30 s).
MIN_WINDOW_S = 30.0
TIME_DOMAIN_KEYS = ("hr_bpm", "mean_nn_ms", "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct")


def successive_differences_ms(nn_ms: np.ndarray, valid_diff: np.ndarray | None = None) -> np.ndarray:
    """ΔNN (ms) between consecutive intervals, dropping those marked invalid.

    ``valid_diff`` has one entry per interval: False for an interval whose difference with the previous one is
    not a true successive difference (data gap before it). Entry 0 is ignored.
    """
    nn_ms = np.asarray(nn_ms, dtype=float)
    d = np.diff(nn_ms)
    if valid_diff is not None and d.size:
        d = d[np.asarray(valid_diff, dtype=bool)[1:]]
    return d


def rmssd_ms(nn_ms: np.ndarray, valid_diff: np.ndarray | None = None) -> float | None:
    """Root mean square of successive differences (ms); None with fewer than 2 usable differences."""
    d = successive_differences_ms(nn_ms, valid_diff)
    if d.size < 2:
        return None
    return float(math.sqrt(float(np.mean(d * d))))


def sdnn_ms(nn_ms: np.ndarray) -> float | None:
    """Sample SD (ddof=1) of NN (ms); None with fewer than 3 intervals."""
    nn_ms = np.asarray(nn_ms, dtype=float)
    if nn_ms.size < 3:
        return None
    return float(np.std(nn_ms, ddof=1))


def pnn50_pct(nn_ms: np.ndarray, valid_diff: np.ndarray | None = None) -> float | None:
    """Percentage of |ΔNN| > 50 ms among successive differences; None with fewer than 2 differences."""
    d = successive_differences_ms(nn_ms, valid_diff)
    if d.size < 2:
        return None
    return float(100.0 * np.count_nonzero(np.abs(d) > 50.0) / d.size)


def time_domain(nn_ms: np.ndarray, valid_diff: np.ndarray | None = None) -> dict[str, float | None]:
    """All time-domain metrics of one series of NN intervals (ms).

    Parameters
    ----------
    nn_ms : np.ndarray
        NN intervals (artifact-corrected RR), ms.
    valid_diff : np.ndarray, optional
        Per-interval booleans, False where the successive difference crosses a data gap.

    Returns
    -------
    dict
        Keys :data:`TIME_DOMAIN_KEYS`; a value is None when the series is too short.

    Examples
    --------
    >>> round(time_domain(np.array([800.0, 850.0, 790.0, 820.0]))["rmssd_ms"], 2)
    48.3
    """
    nn_ms = np.asarray(nn_ms, dtype=float)
    out: dict[str, float | None] = dict.fromkeys(TIME_DOMAIN_KEYS)
    if nn_ms.size == 0:
        return out
    mean = float(nn_ms.mean())
    out["mean_nn_ms"] = mean
    out["hr_bpm"] = 60000.0 / mean if mean > 0 else None
    out["sdnn_ms"] = sdnn_ms(nn_ms)
    d = successive_differences_ms(nn_ms, valid_diff)  # once for RMSSD and pNN50 (as rmssd_ms / pnn50_pct)
    r = float(math.sqrt(float(np.mean(d * d)))) if d.size >= 2 else None
    out["rmssd_ms"] = r
    out["ln_rmssd"] = math.log(r) if r is not None and r > 0 else None
    out["pnn50_pct"] = float(100.0 * np.count_nonzero(np.abs(d) > 50.0) / d.size) if d.size >= 2 else None
    return out
