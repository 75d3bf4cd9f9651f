"""Benchmark the recording store: write and replay throughput of a 60-minute session with ECG and ACC.

Run: ``python benchmarks/bench_replay.py [--minutes 60]``. Prints ratios measured in this run:

- write throughput: session seconds recorded per wall second (× real time), feeding pre-built events to the
  :class:`~biotrainer.store.SessionWriter` with runner-like ticks every 50 ms of session time;
- replay throughput: :func:`biotrainer.wiring.build_replay` (a ``SessionRunner`` with a
  :class:`~biotrainer.sources.replay.ReplaySource`) on a ``VirtualClock`` into a recorder-free bus (target ≥ 500×
  real time);
- bulk reads (beats, ECG, ACC as numpy arrays), peak memory (tracemalloc during replay; process max RSS),
  and the file size.

Events come from the simulator (:class:`biotrainer.sources.sim.strap.SimulatedStrap` with ECG and ACC: about one
HrPacket/s with its RR values, ECG frames of 73 samples at 130 Hz and ACC frames of 36 samples at 200 Hz, each as
raw PmdPacket + decoded frame); ``--synthetic`` uses the cheaper :class:`biotrainer.sources.sim.synthetic.SyntheticStrap`
with the same counts instead.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from bench_common import bench_strap, minutes_and_strap_args

from biotrainer.core.clock import VirtualClock
from biotrainer.store import Library
from biotrainer.wiring import build_replay

TICK_S = 0.05


def build_events(duration_s: float, synthetic: bool) -> list:
    strap = bench_strap(duration_s, synthetic)
    events = []
    t = 0.0
    step = 1.0 if synthetic else 10.0  # the synthetic strap ends by itself; the simulator at duration_s
    while not (strap.finished if synthetic else t >= duration_s):
        t = t + step if synthetic else min(t + step, duration_s)
        events.extend(strap.events_until(t))
    return events


def bench_write(lib: Library, events: list, duration_s: float) -> tuple[str, float]:
    from biotrainer.core.events import SESSION, SessionState

    writer = lib.new_session(participants={"self": "BENCH"}, synthetic=True, title="benchmark")
    t0 = time.perf_counter()
    writer(SessionState(t_s=0.0, participant=SESSION, state="start"))
    next_tick = TICK_S
    for e in events:
        while e.t_s > next_tick:
            writer.tick(next_tick)
            next_tick += TICK_S
        writer(e)
    writer(SessionState(t_s=duration_s, participant=SESSION, state="stop", reason="duration reached"))
    writer.close()
    return writer.meta.id, time.perf_counter() - t0


def bench_replay(lib: Library, sid: str) -> tuple[float, Counter, float]:
    counts: Counter = Counter()

    def count(e) -> None:
        counts[e.KIND] += 1

    with lib.open(sid) as reader:
        replay = build_replay(reader, clock=VirtualClock(), listeners=[count])
        t0 = time.perf_counter()
        result = replay.run()
        wall = time.perf_counter() - t0
    return wall, counts, result.end_t_s


def main() -> int:
    args = minutes_and_strap_args(__doc__)
    duration_s = args.minutes * 60
    t0 = time.perf_counter()
    events = build_events(duration_s, args.synthetic)
    gen_s = time.perf_counter() - t0
    kinds = Counter(e.KIND for e in events)
    source = "SyntheticStrap" if args.synthetic else "simulator"
    print(f"session: {args.minutes:g} min from the {source}, {len(events)} events "
          f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); generated in {gen_s:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(Path(tmp) / "lib")
        sid, write_s = bench_write(lib, events, duration_s)
        size = lib.session_path(sid).stat().st_size
        print(f"write:  {write_s:.2f} s wall -> {duration_s / write_s:.0f}x real time "
              f"({len(events) / write_s:.0f} events/s)")
        print(f"file:   {size / 1e6:.1f} MB ({size / args.minutes / 1e6:.2f} MB per minute)")
        del events
        replay_s, counts, end_t_s = bench_replay(lib, sid)
        n = sum(counts.values())
        factor = end_t_s / replay_s
        verdict = "OK" if factor >= 500 else "BELOW TARGET"
        print(f"replay: {replay_s:.2f} s wall -> {factor:.0f}x real time ({n / replay_s:.0f} events/s) "
              f"[target >= 500x: {verdict}]")
        with lib.open(sid) as reader:
            t0 = time.perf_counter()
            beats = reader.beats()
            ecg = reader.ecg()
            acc = reader.acc()
            bulk_s = time.perf_counter() - t0
        print(f"bulk:   beats ({len(beats)}) + ECG ({len(ecg)} samples) + ACC ({len(acc)} samples) "
              f"as numpy arrays in {bulk_s:.2f} s")
        tracemalloc.start()
        bench_replay(lib, sid)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss_mb = rss / 1e6 if sys.platform == "darwin" else rss / 1e3
        print(f"memory: replay peak {peak / 1e6:.1f} MB (tracemalloc); process max RSS {rss_mb:.0f} MB "
              f"(includes the in-memory event list used for the write test)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
