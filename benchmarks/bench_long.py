"""Long recordings: time and peak memory of ``biotrainer analyze`` against the number of beats.

Each size is a seeded RR text file (one interval in ms per line, a week of Holter is ~1 M beats) cached under
``/tmp/biotrainer-bench-long``; each analysis runs in its own subprocess so its peak RSS (``ru_maxrss``) is its
own. Prints seconds and MB per size and the ratios against the smallest size measured in the same run: memory
must grow at worst linearly with the beats (ratio ≤ the beats ratio), time about linearly.

    python benchmarks/bench_long.py                 # 100 k and 1 M beats
    python benchmarks/bench_long.py --beats 100000 300000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path("/tmp/biotrainer-bench-long")

#: The child: analyse one file with the CLI's own code path and report its own peak RSS (KB on Linux).
CHILD = """
import json, resource, sys, time
from biotrainer.cli import main
t0 = time.perf_counter()
code = main(["analyze", sys.argv[1], "--json"])
sys.stdout.flush()
print(json.dumps({"code": code, "s": time.perf_counter() - t0,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), file=sys.stderr)
"""


def make_rr_file(n_beats: int, seed: int = 11) -> Path:
    """A seeded RR series of ``n_beats`` (ms, one per line): 65 bpm with slow drift, 0.25-Hz RSA, 0.1-Hz waves,
    and artifacts (0.2 % ectopic pairs, 0.05 % missed beats, 0.05 % extra beats). Cached by size and seed."""
    path = CACHE / f"rr-{n_beats}-{seed}.txt"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.cumsum(np.full(n_beats, 0.92))
    drift = 60.0 * np.sin(2 * np.pi * t / 5400.0)
    rr = 920.0 + drift + 35.0 * np.sin(2 * np.pi * 0.25 * t) + 20.0 * np.sin(2 * np.pi * 0.1 * t)
    rr += rng.normal(0.0, 12.0, n_beats)
    ectopic = np.flatnonzero(rng.random(n_beats - 1) < 0.002)
    rr[ectopic] *= 0.7
    rr[ectopic + 1] *= 1.3
    missed = np.flatnonzero(rng.random(n_beats) < 0.0005)
    rr[missed] *= 2.0
    extra = np.flatnonzero(rng.random(n_beats) < 0.0005)
    rr[extra] *= 0.45
    tmp = path.with_suffix(".tmp")
    np.savetxt(tmp, np.round(rr).astype(int), fmt="%d")
    tmp.replace(path)
    return path


def make_session(hours: float, seed: int = 11) -> Path:
    """A seeded simulated session of ``hours`` (strap RR, no protocol) recorded at ``--speed max`` into a cached
    library; its ``.sqlite`` path."""
    lib = CACHE / f"session-{hours:g}h-{seed}"
    found = sorted((lib / "sessions").glob("*.sqlite")) if lib.is_dir() else []
    if found:
        return found[0]
    subprocess.run([sys.executable, "-m", "biotrainer", "record", "--library", str(lib), "--device", "sim",
                    "--seed", str(seed), "--duration", str(hours * 3600), "--speed", "max", "--quiet",
                    "--no-metrics"], check=True, capture_output=True)
    return sorted((lib / "sessions").glob("*.sqlite"))[0]


def measure(path: Path) -> dict:
    """Run the child on ``path``; its exit code, seconds, peak RSS (MB) and the beats it analysed."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    beats = json.loads(proc.stdout)["beats"] if report["code"] == 0 else None
    return {"code": report["code"], "s": report["s"], "wall_s": wall, "mb": report["maxrss_kb"] / 1024.0,
            "beats": beats, "error": "" if report["code"] == 0 else proc.stderr.strip().splitlines()[0]}


def _line(what: str, path: Path, r: dict) -> None:
    status = f"{r['beats']:,} beats analysed" if r["code"] == 0 else f"exit {r['code']}: {r['error']}"
    print(f"{what:>16}  {path.stat().st_size / 1e6:6.1f} MB file  {r['s']:7.1f} s  peak RSS {r['mb']:7.0f} MB  "
          f"({status})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--session-hours", type=float, default=24.0,
                        help="also a recorded session this long (0: none; recorded once, ~3 min per day)")
    args = parser.parse_args()
    rows = []
    for n in sorted(args.beats):
        path = make_rr_file(n)
        r = measure(path)
        rows.append((n, r))
        _line(f"{n:,} beats", path, r)
    if args.session_hours > 0:
        path = make_session(args.session_hours)
        _line(f"session {args.session_hours:g} h", path, measure(path))
    base_n, base = rows[0]
    for n, r in rows[1:]:
        print(f"{n:,} / {base_n:,} beats = {n / base_n:.1f}x: time ratio {r['s'] / base['s']:.2f}x, "
              f"memory ratio {r['mb'] / base['mb']:.2f}x (linear at worst: ≤ {n / base_n:.1f}x)")


if __name__ == "__main__":
    main()
