"""Study-scale analysis: throughput of ``biotrainer study`` with 1 and 2 local worker processes, in one run.

Makes (once, cached under ``/tmp/biotrainer-bench-study``) a library of ``--sessions`` seeded simulated sessions of
``--minutes`` each, recorded with ``biotrainer record --speed max``, then analyses the whole library with
:func:`biotrainer.analysis.study.run_study` on 1 and on 2 spawned worker processes and prints sessions per second,
the ratio 2 workers / 1 worker, and the peak memory (RSS) of each worker. The two tables must be identical.

    python benchmarks/bench_study.py                      # 100 sessions of 20 min
    python benchmarks/bench_study.py --sessions 20 --minutes 5
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CACHE = Path("/tmp/biotrainer-bench-study")


def make_library(n_sessions: int, minutes: float, jobs: int = 2) -> Path:
    """A library of ``n_sessions`` simulated sessions (seeds 1..n), recorded ``jobs`` at a time; cached."""
    lib = CACHE / f"lib-{n_sessions}x{minutes:g}min"
    have = len(list((lib / "sessions").glob("*.sqlite"))) if lib.is_dir() else 0
    if have >= n_sessions:
        return lib
    lib.mkdir(parents=True, exist_ok=True)
    seeds = range(have + 1, n_sessions + 1)

    def record(seed: int) -> None:
        subprocess.run([sys.executable, "-m", "biotrainer", "record", "--library", str(lib), "--device", "sim",
                        "--seed", str(seed), "--participant", f"P{seed:03d}", "--duration", str(minutes * 60),
                        "--speed", "max", "--quiet", "--no-metrics"], check=True, capture_output=True)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(record, seeds))
    print(f"recorded {len(seeds)} sessions of {minutes:g} min in {time.perf_counter() - t0:.0f} s", flush=True)
    return lib


def run(lib: Path, workers: int) -> tuple[float, list, dict[int, float], float]:
    """Seconds for the whole library on ``workers`` processes, the results, peak MB per worker process, and the CPU
    seconds the workers used (start-up included)."""
    from biotrainer.analysis.study import find_tasks, run_study

    tasks = find_tasks(lib)
    t0 = time.perf_counter()
    results = run_study(tasks, workers=workers)
    seconds = time.perf_counter() - t0
    peaks: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for r in results:
        peaks[r.pid] = max(peaks.get(r.pid, 0.0), r.peak_mb)
        cpu[r.pid] = max(cpu.get(r.pid, 0.0), r.cpu_s)
    return seconds, results, peaks, sum(cpu.values())


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t0


def machine_ratio(n: int = 20_000_000) -> float:
    """What two processes get on this machine right now: the same pure-Python loop run twice, once after the
    other and then both at the same time (2 free cores: 2.0x; a shared machine: less)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_spin, 1).result()  # both started before timing
        pool.submit(_spin, 1).result()
        t0 = time.perf_counter()
        for _ in range(2):
            pool.submit(_spin, n).result()
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        parallel = time.perf_counter() - t0
    return serial / parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2, help="alternate 1 and 2 workers this many times")
    args = parser.parse_args()
    lib = make_library(args.sessions, args.minutes)
    rate: dict[int, list[float]] = {1: [], 2: []}
    tables = {}
    for _ in range(args.rounds):
        machine = machine_ratio()
        print(f"this machine now: two processes get {machine:.2f}x the throughput of one (2 free cores: 2.0x)",
              flush=True)
        for workers in (1, 2):
            seconds, results, peaks, cpu_s = run(lib, workers)
            failed = [r for r in results if r.error]
            rate[workers].append(len(results) / seconds)
            tables[workers] = [r.rows for r in results]
            mem = ", ".join(f"{mb:.0f}" for mb in sorted(peaks.values()))
            print(f"{workers} worker{'s' if workers > 1 else ''}: {len(results)} sessions in {seconds:6.1f} s = "
                  f"{rate[workers][-1]:5.2f} sessions/s ({len(failed)} failed); peak RSS per worker: {mem} MB; "
                  f"workers busy {cpu_s:.1f} CPU-s = {cpu_s / seconds:.2f} cores on average", flush=True)
    ratios = [b / a for a, b in zip(rate[1], rate[2], strict=True)]
    print(f"throughput ratio 2 workers / 1 worker: {', '.join(f'{r:.2f}x' for r in ratios)} (best "
          f"{max(rate[2]) / max(rate[1]):.2f}x; target >= 1.7x on 2 free cores); tables identical: "
          f"{tables[1] == tables[2]}")


if __name__ == "__main__":
    main()
