"""Benchmark: how fast the simulated strap generates a session, as a multiple of real time.

Prints, measured in this run: seconds to generate a 60-minute session with ECG (130 Hz) and ACC (200 Hz), the same
without ECG/ACC, and events per second. Usage: ``python benchmarks/bench_simulator.py [--minutes N]``.
"""

from __future__ import annotations

import argparse
import time

from biotrainer.core.pacer import Pacer
from biotrainer.sources.sim.strap import SimConfig, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    duration_s = args.minutes * 60.0
    simulate(SimConfig(seed=0, ecg=True, acc=True), 5.0)  # warm-up: imports (scipy.signal)
    pacer = Pacer(5.5, 0.4)
    for label, cfg in (("HR/RR only", SimConfig(seed=1)), ("HR/RR + ECG + ACC", SimConfig(seed=1, ecg=True, acc=True))):
        start = time.perf_counter()
        events, truth = simulate(cfg, duration_s, pacer=pacer.at)
        elapsed = time.perf_counter() - start
        print(f"{label:<20} {args.minutes:g} min simulated in {elapsed:6.2f} s = {duration_s / elapsed:8.0f}x real time, "
              f"{len(events):7d} events ({len(events) / elapsed:8.0f}/s), {len(truth.beat_t_s)} beats")


if __name__ == "__main__":
    main()
