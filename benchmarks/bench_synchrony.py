"""Benchmark the synchrony engine on a 50-minute simulated dyad with 500 surrogates, against the naive loop.

Both sides compute the same things from the same two 4 Hz heart-rate series: the windowed lagged correlation
timeline (30-s windows every 5 s, lags ±5 s) and the lagged peak correlation of every pair of non-overlapping
30-s segments that the segment-shuffle surrogates draw from. The naive side does it per window, per lag (and per
segment pair) with ``np.polyfit`` detrending and ``np.corrcoef``; the engine (:mod:`biotrainer.metrics.synchrony`)
with masked sums and matrix products. The engine's time is its whole analysis (timeline, 500 surrogates for the
session, the phases, slope concordance); the naive side stops before drawing surrogates, which it would do alike.
The two timelines are checked equal to 1e-9.

Speed ratios use process CPU time (robust to other load on a shared machine). Targets (issue 10): ≥ 20× the naive
loop and under 2 s of CPU for the whole analysis.

Run: ``python benchmarks/bench_synchrony.py [--minutes 50]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def dyad(minutes: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Therapist and client heart rate on the 4 Hz grid from the simulator's dyad mode (coupling 0.5, lag 3 s)."""
    from biotrainer.analysis.synchrony import _nn_of
    from biotrainer.metrics.synchrony import hr_on_grid
    from biotrainer.sources.sim.config import SimConfig
    from biotrainer.wiring.simulate import run_simulated_session

    therapist = SimConfig(seed=seed, participant="therapist", device="a", hr_bpm=62.0)
    client = SimConfig(seed=seed + 1, participant="client", device="b", hr_bpm=76.0, follow="therapist",
                       coupling=0.5, follow_lag_s=3.0)
    events, _ = run_simulated_session([therapist, client], duration_s=minutes * 60)
    tx, nx = _nn_of(events, "therapist")
    ty, ny = _nn_of(events, "client")
    start, end = max(tx[0], ty[0]), min(tx[-1], ty[-1])
    return hr_on_grid(tx, nx, None, start, end), hr_on_grid(ty, ny, None, start, end)


def _detrended(a: np.ndarray) -> np.ndarray:
    t = np.arange(a.size, dtype=float)
    return a - np.polyval(np.polyfit(t, a, 1), t)


def naive(x: np.ndarray, y: np.ndarray, fs: float = 4.0, window_s: float = 30.0, step_s: float = 5.0,
          lag_s: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    w, step, lag = int(window_s * fs), int(step_s * fs), int(lag_s * fs)
    starts = range(lag, x.size - w - lag + 1, step)
    timeline = np.array([[np.corrcoef(_detrended(x[s:s + w]), _detrended(y[s + tau:s + tau + w]))[0, 1]
                          for tau in range(-lag, lag + 1)] for s in starts])
    seg = [lag + w * i for i in range((x.size - 2 * lag) // w)]
    pairs = np.array([[max(np.corrcoef(_detrended(x[a:a + w]), _detrended(y[b + tau:b + tau + w]))[0, 1]
                           for tau in range(-lag, lag + 1)) for b in seg] for a in seg])
    return timeline, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=50.0)
    parser.add_argument("--surrogates", type=int, default=500)
    args = parser.parse_args()
    from biotrainer.metrics import synchrony as sy

    x, y = dyad(args.minutes)
    sy.dyad_synchrony(x[: 4 * 600], y[: 4 * 600], n_surrogates=100)  # warm-up
    t0 = time.process_time()
    result = sy.dyad_synchrony(x, y, n_surrogates=args.surrogates, seed=0,
                               phases=[sy.PhaseSpanInput("first half", 0.0, x.size / 8.0),
                                       sy.PhaseSpanInput("second half", x.size / 8.0, x.size / 4.0)])
    engine_s = time.process_time() - t0
    t0 = time.process_time()
    timeline, _pairs = naive(x, y)
    naive_s = time.process_time() - t0
    assert np.allclose(result.windows.r, timeline, atol=1e-9, equal_nan=True), "the two timelines differ"
    print(f"{args.minutes:g}-min dyad at 4 Hz ({x.size} samples), {result.windows.r.shape[0]} windows x "
          f"{result.windows.r.shape[1]} lags, {result.session.n_segments} segments, {args.surrogates} surrogates")
    print(f"engine (whole analysis incl. surrogates, 2 phases, slope concordance): {engine_s:.2f} s CPU "
          f"[target < 2 s: {'OK' if engine_s < 2 else 'MISSED'}]")
    print(f"naive per-window per-lag np.corrcoef loop (timeline + segment pairs): {naive_s:.2f} s CPU")
    ratio = naive_s / engine_s
    print(f"speed ratio naive/engine: {ratio:.0f}x [target >= 20x: {'OK' if ratio >= 20 else 'MISSED'}]")
    print(f"result: p = {result.session.p_value:.3f}, effect size {result.session.effect_size:+.2f}, "
          f"leader {result.leader}, lag {result.curve_lag_s:+.2f} s")


if __name__ == "__main__":
    main()
