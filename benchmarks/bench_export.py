"""Benchmark exports: time to export a 60-minute session with ECG (130 Hz) and ACC (200 Hz) per format.

Run: ``python benchmarks/bench_export.py [--minutes 60] [--synthetic]``. Prints, measured in this run:

- the time to load the session from the store (header + every event) and build the beat table with artifact
  flags, once;
- per format (CSV, BIDS physio, EDF+) the export time and the session length divided by it: the export speed as a
  multiple of real time (how many seconds of recording are exported per second);
- the size of the files written.

Events come from the simulator with ECG and ACC (``--synthetic``: the cheaper store test strap), recorded through
the real :class:`~biotrainer.store.SessionWriter` into a temporary library.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench_common import bench_strap, minutes_and_strap_args

from biotrainer.core.bus import Bus
from biotrainer.core.clock import VirtualClock
from biotrainer.core.session_runner import SessionRunner
from biotrainer.store import Library


def record(library: Library, duration_s: float, synthetic: bool) -> str:
    source = bench_strap(duration_s, synthetic)
    clock = VirtualClock(anchor_unix_s=1_790_000_000.0)
    writer = library.new_session(participants={"self": "P01"}, clock=clock, synthetic=True, title="bench")
    bus = Bus()
    bus.subscribe(writer)
    SessionRunner(bus, sources=[source], clock=clock, duration_s=duration_s, tick_s=0.5).run()
    return writer.meta.id


def main() -> int:
    args = minutes_and_strap_args(__doc__)
    duration_s = args.minutes * 60.0

    from biotrainer.exchange.bids import export_bids
    from biotrainer.exchange.csv_export import export_csv
    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.library import load_session

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        library = Library(root / "lib")
        t0 = time.perf_counter()
        sid = record(library, duration_s, args.synthetic)
        t_record = time.perf_counter() - t0
        t0 = time.perf_counter()
        session = load_session(library, sid)
        beats = session.beats()
        t_load = time.perf_counter() - t0
        ecg = sum(s.n for s in session.segments("ecg"))
        acc = sum(s.n for s in session.segments("acc"))
        print(f"session: {args.minutes:g} min, {len(session.events)} events, {len(beats)} beats, {ecg} ECG samples, "
              f"{acc} ACC samples (recorded in {t_record:.1f} s)")
        print(f"load from store + beat table with artifact flags: {t_load:.2f} s "
              f"= {duration_s / t_load:.0f}x real time")
        print(f"{'format':8s} {'export s':>9s} {'x real time':>12s} {'files':>6s} {'MB':>8s}")
        exports = {
            "csv": lambda: export_csv(session, root / "csv"),
            "bids": lambda: export_bids([session], root / "bids"),
            "edf": lambda: [export_edf(session, root / "edf" / f"{sid}.edf")],
        }
        for name, fn in exports.items():
            t0 = time.perf_counter()
            files = fn()
            dt = time.perf_counter() - t0
            size_mb = sum(Path(f).stat().st_size for f in files) / 1e6
            print(f"{name:8s} {dt:9.2f} {duration_s / dt:11.0f}x {len(files):6d} {size_mb:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
