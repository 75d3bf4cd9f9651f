"""Benchmark of the metrics engine. Prints ratios measured in this run (no thresholds assumed for other machines).

(a) Incremental engine vs recomputing the same windows from scratch with neurokit2 at each update
    (``signal_fixpeaks`` Kubios + ``hrv_time``; on full updates also ``intervals_process`` + ``signal_power``
    for HF), as a speed ratio; the values are asserted equal where both sides analyse the same NN series
    (windows where neither artifact correction changed anything). The engine's full updates also compute
    breathing rate, RSA, coherence, HR-breathing phase and feedback, which the neurokit2 side does not.
(b) p50/p99 time per live update (one beat event through the engine, full updates included).
(c) Whole-session analysis of a 60-minute session (summary + 60-s windows), as a multiple of real time, for a
    strap sending RR only and for one with ECG and ACC.

Speed ratios use process CPU time (robust to other load on a shared machine); latencies use wall time.

Run: ``python benchmarks/bench_metrics.py`` (about a minute).
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def _simulated(duration_s: float, *, ecg: bool = False, acc: bool = False, protocol: str | None = None,
               seed: int = 7):
    from biotrainer.sources.sim.strap import SimConfig
    from biotrainer.wiring.simulate import run_simulated_session

    return run_simulated_session(SimConfig(seed=seed, ecg=ecg, acc=acc), protocol=protocol, duration_s=duration_s)


def _nk_window(nk, rr_ms: np.ndarray, t_s: np.ndarray, full: bool) -> dict[str, float]:
    """neurokit2 from scratch on one window's raw beats."""
    fs = 1_000_000  # peaks as integer microseconds (rounding ≤ 0.5 µs: relative differences ~1e-6)
    peaks_us = np.concatenate(([t_s[0] * 1e6 - rr_ms[0] * 1000.0], t_s * 1e6))
    peaks = np.round(peaks_us - peaks_us[0]).astype(np.int64)
    _, clean = nk.signal_fixpeaks(peaks, sampling_rate=fs, iterative=True, method="Kubios")
    td = nk.hrv_time(clean, sampling_rate=fs).iloc[0]
    out = {"rmssd_ms": float(td["HRV_RMSSD"]), "sdnn_ms": float(td["HRV_SDNN"]),
           "mean_nn_ms": float(td["HRV_MeanNN"]), "changed": float(not np.array_equal(clean, peaks))}
    if full:
        nn = np.diff(clean).astype(float) / 1000.0
        nn_t = (clean[1:] + peaks_us[0]) / 1e6
        ri, _, fs = nk.intervals_process(nn, intervals_time=nn_t, interpolate=True, interpolation_rate=4,
                                         method="cubic")
        pw = nk.signal_power(ri, frequency_band=[(0.04, 0.15), (0.15, 0.4)], sampling_rate=fs, method="welch",
                             max_frequency=0.5, normalize=False).iloc[0].to_numpy()
        out["hf_ms2"] = float(pw[1])
    return out


def bench_engine(duration_s: float = 1200.0) -> None:
    import neurokit2 as nk

    from biotrainer.core.events import Beat, MetricUpdate
    from biotrainer.metrics.engine import MetricsEngine

    events, _ = _simulated(duration_s, protocol="resonance-training")
    updates: list[MetricUpdate] = []
    engine = MetricsEngine(updates.append, with_ecg=False)
    per_event_s: list[float] = []
    for e in events:  # warm-up imports outside the timing
        if isinstance(e, Beat):
            break
    t_engine = 0.0
    engine_by_kind = {True: 0.0, False: 0.0}  # full update?
    for e in events:
        n_before = len(updates)
        c0, t0 = time.process_time(), time.perf_counter()
        engine(e)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        t_engine += dc
        if isinstance(e, Beat):
            per_event_s.append(dt)
        if len(updates) > n_before:
            engine_by_kind[updates[-1].values["update.full"] == 1.0] += dc
    beats_t = np.array([e.beat_t_s for e in events if isinstance(e, Beat)])
    beats_rr = np.array([e.rr_ms for e in events if isinstance(e, Beat)])
    t_nk = 0.0
    nk_by_kind = {True: 0.0, False: 0.0}
    compared = 0
    max_rel = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for u in updates:
            lo, hi = u.values["window.start_s"], u.values["window.end_s"]
            m = (beats_t > lo) & (beats_t <= hi)
            full = u.values["update.full"] == 1.0
            if m.sum() < 10:
                continue
            c0 = time.process_time()
            ref = _nk_window(nk, beats_rr[m], beats_t[m], full and hi - lo >= 60)
            dc = time.process_time() - c0
            t_nk += dc
            nk_by_kind[full] += dc
            if ref["changed"] or u.values.get("hrv.rmssd_ms") is None:
                continue
            raw_rmssd = float(np.sqrt(np.mean(np.diff(beats_rr[m]) ** 2)))
            if abs(raw_rmssd - u.values["hrv.rmssd_ms"]) > 1e-9 * raw_rmssd:
                continue  # our correction changed something in this window (its context reaches 64 s back)
            compared += 1
            for k, tol in (("rmssd_ms", 1e-5), ("sdnn_ms", 1e-5), ("mean_nn_ms", 1e-5)):
                ours = u.values[f"hrv.{k}"]
                rel = abs(ours - ref[k]) / max(abs(ref[k]), 1e-9)
                max_rel = max(max_rel, rel)
                assert rel < tol, (k, ours, ref[k])
            if "hf_ms2" in ref and u.values.get("hrv.hf_ms2") is not None:
                rel = abs(u.values["hrv.hf_ms2"] - ref["hf_ms2"]) / ref["hf_ms2"]
                max_rel = max(max_rel, rel)
                assert rel < 1e-4, ("hf_ms2", u.values["hrv.hf_ms2"], ref["hf_ms2"])
    n_full = sum(1 for u in updates if u.values["update.full"] == 1.0)
    p = np.percentile(np.array(per_event_s) * 1000.0, [50, 99])
    print(f"(a) {len(updates)} updates ({n_full} full) over {duration_s / 60:.0f} min: engine {t_engine:.2f} s CPU, "
          f"neurokit2 from scratch {t_nk:.2f} s CPU -> speed ratio {t_nk / t_engine:.1f}x "
          f"(values equal on {compared} clean windows, max relative difference {max_rel:.2e})")
    n_beat = len(updates) - n_full
    print(f"    mean time per update: per-beat engine {engine_by_kind[False] / n_beat * 1000:.2f} ms vs neurokit2 "
          f"{nk_by_kind[False] / n_beat * 1000:.2f} ms; full engine {engine_by_kind[True] / n_full * 1000:.2f} ms vs "
          f"neurokit2 {nk_by_kind[True] / n_full * 1000:.2f} ms")
    print(f"    per-beat updates (time domain): ratio {nk_by_kind[False] / engine_by_kind[False]:.1f}x; full updates "
          f"(neurokit2: time + frequency domain; engine: also breathing x3 sources, RSA, coherence, phase, "
          f"feedback): ratio {nk_by_kind[True] / engine_by_kind[True]:.1f}x")
    print(f"(b) time per live update (beat event): p50 {p[0]:.2f} ms, p99 {p[1]:.2f} ms, max "
          f"{max(per_event_s) * 1000:.2f} ms")


def bench_offline() -> None:
    from biotrainer.metrics.offline import analyze_streams
    from biotrainer.metrics.streams import streams_from_events

    for label, kw in (("RR only", {}), ("RR + ECG 130 Hz + ACC 200 Hz", {"ecg": True, "acc": True})):
        events, _ = _simulated(3600.0, **kw)
        t0 = time.perf_counter()
        streams = streams_from_events(events)
        out = analyze_streams(streams, window_s=60.0)
        dt = time.perf_counter() - t0
        print(f"(c) 60-min session, {label}: {len(events)} events, {out['beats']} beats, "
              f"{len(out['windows'])} windows analysed in {dt:.2f} s -> {3600.0 / dt:.0f}x real time")


def main() -> None:
    import neurokit2  # noqa: F401 - import cost kept out of the timings

    from biotrainer.metrics.offline import analyze_rr

    analyze_rr(np.full(100, 900.0) + np.random.default_rng(0).normal(0, 20, 100))  # warm imports
    bench_engine()
    bench_offline()


if __name__ == "__main__":
    main()
