"""Long recordings in bounded memory: the whole-series pieces of offline analysis give the same numbers as before
while their memory no longer grows with (beats × window)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from biotrainer.metrics import artifacts as art
from biotrainer.metrics import offline
from biotrainer.metrics.window import Settings


def _rr(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.9
    rr = 900 + 40 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 15, n)
    bad = rng.choice(n - 1, n // 300, replace=False)
    rr[bad] *= 0.7  # ectopic pairs
    rr[bad + 1] *= 1.3
    return rr


def _cached_quantiles(x: np.ndarray, window: int, qs: tuple[float, ...]) -> list[np.ndarray]:
    """The cached-layout path of the rolling quantiles, whatever the length (the reference)."""
    n = x.size
    index, _count, _rows, pad_left, width = art._window_layout(n, window)
    padded = np.full(n + width - 1, np.inf)
    padded[pad_left:pad_left + n] = x
    ordered = np.sort(padded[index], axis=1).ravel()
    out = []
    for q in qs:
        lo, hi, frac = art._quantile_layout(n, window, q)
        a = ordered[lo]
        out.append(a + (ordered[hi] - a) * frac)
    return out


@pytest.mark.parametrize("n", [art.ROLLING_BLOCK_ROWS + 1, 4_000, 70_001])
def test_blocked_rolling_quantiles_equal_the_cached_ones(n: int) -> None:
    x = _rr(n, n) - 900
    for window, qs in ((art.THRESHOLD_WINDOW_BEATS, (0.25, 0.75)), (art.MEDIAN_WINDOW_BEATS, (0.5,))):
        got = art._rolling_quantiles(x, window, qs)
        want = _cached_quantiles(x, window, qs)
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    art._window_layout.cache_clear()
    art._quantile_layout.cache_clear()


def test_shift_keeps_its_sequential_meaning() -> None:
    # each deletion shifts the positions after it, including positions moved by the deletions before it
    assert art._shift([2, 3], [1, 3, 4, 6], -1) == [1, 2, 3, 4]  # 4 moves once: to 3, no longer after 3
    assert art._shift([5], [5, 6, 9], 1) == [5, 7, 10]
    assert art._shift([1], [], 1) == []


@pytest.mark.slow
def test_whole_series_correction_memory_is_linear() -> None:
    rr = _rr(40_000, 1)
    t = np.cumsum(rr) / 1000.0
    tracemalloc.start()
    corr = art.correct_rr(rr, t)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the (n, 91) layouts of the whole series were 3 x 29 MB at 40 k beats (and stayed cached); in blocks of
    # 32,768 rows the sort needs 24 MB at most, whatever the length
    assert peak < 50e6
    assert corr.counts["ectopic"] >= 120 and corr.rr_corrected_ms.size == rr.size


def _coherence_by_masks(streams, corr, s):  # the previous implementation: a whole-series mask per window
    from biotrainer.metrics.coherence import WINDOW_S, coherence_ratio

    t_raw = streams.beat_t_s
    nn, nn_t = corr.rr_corrected_ms, corr.beat_t_corrected_s
    flagged_t = t_raw[corr.flags != 0]
    out = []
    end = float(t_raw[0] + WINDOW_S)
    while end <= t_raw[-1] + 1e-9:
        lo = end - WINDOW_S
        sel = (nn_t > lo) & (nn_t <= end)
        n_raw = np.count_nonzero((t_raw > lo) & (t_raw <= end))
        n_bad = np.count_nonzero((flagged_t > lo) & (flagged_t <= end))
        if n_raw and n_bad / n_raw > s.max_corrected_spectral:
            out.append((end, None))
        else:
            out.append((end, coherence_ratio(nn_t[sel], nn[sel])[0]))
        end += offline.COHERENCE_STEP_S
    return out


def test_coherence_windows_by_index_equal_the_masks() -> None:
    rr = _rr(900, 4)
    t = np.cumsum(rr) / 1000.0
    t[500:] += 20.0  # a 20-s gap
    streams = offline.streams_from_rr(rr, t)
    corr = art.correct_rr(rr, t)
    s = Settings()
    got = offline.coherence_series(streams, corr, s)
    assert got == _coherence_by_masks(streams, corr, s)
    assert len(got) > 100 and any(r is None for _, r in got) and any(r is not None for _, r in got)


def test_summary_keeps_only_what_it_aggregates() -> None:
    from biotrainer.metrics.streams import build_window
    from biotrainer.metrics.window import compute_window

    rr = _rr(200, 5)
    streams = offline.streams_from_rr(rr)
    w = compute_window(build_window(streams, 0.0, 60.0), Settings())
    light = offline.aggregate_input(w)
    assert set(light.values) <= set(offline.AGGREGATED_KEYS) and light.nn_ms.size == 0 and not light.breaths
    assert offline.aggregate_windows([light]) == offline.aggregate_windows([w])


def _ecg(minutes: float, fs: float = 130.0, seed: int = 3) -> np.ndarray:
    """A seeded synthetic ECG (µV): QRS spikes at RR ~0.9 s with RSA, breathing baseline, noise."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * fs)
    m = int(minutes * 60 / 0.8)
    beats = np.cumsum(0.9 + 0.05 * np.sin(2 * np.pi * 0.25 * np.arange(m) * 0.9) + rng.normal(0, 0.01, m))
    idx = np.round(beats[beats < (n - 200) / fs] * fs).astype(int)
    x = rng.normal(0, 10, n) + 50 * np.sin(2 * np.pi * 0.25 * np.arange(n) / fs)
    for k, w in ((0, 1000.0), (1, 600.0), (-1, 600.0), (2, -200.0), (-2, -200.0)):
        np.add.at(x, np.clip(idx + k, 0, n - 1), w)
    return x


@pytest.mark.slow
def test_long_ecg_peaks_in_blocks_equal_the_whole_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    from biotrainer.metrics.rpeaks import rpeaks_s

    x = _ecg(25.0)
    whole = rpeaks_s(x, 130.0)
    monkeypatch.setattr(offline, "ECG_BLOCK_S", 300.0)  # five blocks and their edges
    blocked = offline.ecg_peaks_s(x, 130.0)
    assert whole.size == blocked.size > 1500
    assert np.max(np.abs(whole - blocked)) < 1e-9  # the same beats: none lost or found twice at a block edge
