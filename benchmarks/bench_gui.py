"""GUI benchmark: time to first paint against ``import neurokit2``, and CPU share during a live simulated session.

Each measurement runs in its own fresh subprocess, all in this one run, so the ratios compare like with like:

1. ``import neurokit2`` alone: seconds from interpreter start-up to the end of the import.
2. The app (``run_app``): seconds from interpreter start-up to the first paint of the main window.
3. A live demo session (box-breathing protocol, simulated strap, real time, metrics engine on, the normal redraw:
   pacer and labels at 25 Hz, plots at 5 Hz) for ``--seconds``: process CPU time (user + system, all threads, ``resource.getrusage``) and the GUI thread's own CPU
   time (``time.thread_time`` in the Qt thread), each divided by wall time over the measured span. The span starts
   after the analysis modules have loaded (``--settle`` seconds), so the start-up import is not counted.

4. Opening a session in the replay screen (``--replay``, the 15-min ``recordings/synthetic-resonance-assessment``
   unless ``--session``): seconds until the whole-session overview is drawn and until its metrics are in, against
   the baseline of the same run: the full-rate replay of the whole session at max speed (build_replay with the
   metrics engine, what opening did before), both into the same screen with the analysis modules imported first.

Targets (issue): first paint sooner than ``import neurokit2`` alone; CPU at most 15 % of one core.
Run: ``python benchmarks/bench_gui.py`` (uses ``QT_QPA_PLATFORM=offscreen`` unless a display is set);
``python benchmarks/bench_gui.py --replay`` for the replay opening only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

STARTUP = "import time; _T0 = time.perf_counter()\n"

NEUROKIT = STARTUP + textwrap.dedent("""
    import neurokit2
    _T1 = time.perf_counter()
    import json
    print(json.dumps({"import_s": _T1 - _T0}))
""")

FIRST_PAINT = STARTUP + textwrap.dedent("""
    import json, sys
    from biotrainer.gui.app import run_app
    from PyQt5.QtWidgets import QApplication

    out = {}
    def painted(_s):
        out["first_paint_s"] = time.perf_counter() - _T0
        QApplication.instance().quit()
    run_app(library=sys.argv[1], settings_path=sys.argv[2], on_first_paint=painted)
    print(json.dumps(out))
""")

CPU = STARTUP + textwrap.dedent("""
    import json, resource, sys
    from PyQt5.QtCore import QTimer
    from PyQt5.QtWidgets import QApplication
    from biotrainer.gui.app import run_app

    settle_s, seconds = float(sys.argv[3]), float(sys.argv[4])
    marks = {}

    def cpu_s():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def mark(name):
        marks[name] = (time.perf_counter(), cpu_s(), time.thread_time())

    def painted(_s):
        QTimer.singleShot(int(settle_s * 1000), lambda: mark("start"))
        QTimer.singleShot(int((settle_s + seconds) * 1000), lambda: (mark("end"), QApplication.instance().quit()))

    run_app(demo=True, library=sys.argv[1], settings_path=sys.argv[2], on_first_paint=painted,
            protocol=sys.argv[5])
    (w0, c0, g0), (w1, c1, g1) = marks["start"], marks["end"]
    print(json.dumps({"wall_s": w1 - w0, "process_cpu_s": c1 - c0, "gui_thread_cpu_s": g1 - g0}))
""")


REPLAY = STARTUP + textwrap.dedent("""
    import json, sys
    from PyQt5.QtWidgets import QApplication
    app = QApplication(["bench"])
    import biotrainer.metrics.offline, biotrainer.analysis.series, neurokit2  # imported before both timings
    from biotrainer.gui.replay_screen import ReplayScreen

    def wait(cond):
        while not cond():
            app.processEvents()
            time.sleep(0.002)
        app.processEvents()

    out = {}
    s = ReplayScreen(); s.resize(1400, 900); s.show()
    c = s.controller
    t0 = time.perf_counter()
    s.open_session(sys.argv[1])
    wait(lambda: not c.seeking)
    out["overview_s"] = time.perf_counter() - t0
    wait(lambda: not c.metrics_pending)
    out["overview_metrics_s"] = time.perf_counter() - t0
    out["duration_s"] = c.duration_s
    t0 = time.perf_counter()  # the baseline: the whole session through the metrics engine at max speed
    c.set_speed(None)
    c.close_run()
    c._start_run(0.0, c.duration_s)
    wait(lambda: not c.seeking and c.position_s() >= c.duration_s - 1e-6)
    s.tick()
    out["full_replay_s"] = time.perf_counter() - t0
    s.shutdown()
    print(json.dumps(out))
""")


def bench_replay(session: str, repeats: int) -> None:
    runs = [run_child(REPLAY, session) for _ in range(repeats)]

    def median(key: str) -> float:
        return sorted(r[key] for r in runs)[len(runs) // 2]

    minutes = runs[0]["duration_s"] / 60
    full, drawn, whole = median("full_replay_s"), median("overview_s"), median("overview_metrics_s")
    print(f"replay open, {minutes:.0f}-min session ({os.path.basename(session)}), median of {repeats}:")
    print(f"  full-rate replay to the end (baseline, before): {full:6.2f} s  ({full / minutes * 10:.2f} s per 10 min)")
    print(f"  overview drawn (now)                          : {drawn:6.2f} s  ratio {drawn / full:5.2f}")
    print(f"  overview with its metrics (now)               : {whole:6.2f} s  ratio {whole / full:5.2f}")


def run_child(code: str, *args: str, timeout_s: float = 300.0) -> dict:
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=timeout_s, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"benchmark child failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="start-up measurements of each kind (median reported)")
    ap.add_argument("--seconds", type=float, default=30.0, help="measured span of the live session")
    ap.add_argument("--settle", type=float, default=35.0,
                    help="seconds after first paint before measuring CPU (box-breathing: paced from 0:30)")
    ap.add_argument("--protocol", default="box-breathing",
                    help="protocol of the live session (default box-breathing: pacer with holds animates)")
    ap.add_argument("--replay", action="store_true", help="only the replay opening benchmark")
    ap.add_argument("--session", default=os.path.join(os.path.dirname(__file__), "..", "recordings",
                                                      "synthetic-resonance-assessment.sqlite"),
                    help="session file for --replay")
    args = ap.parse_args()
    if args.replay:
        bench_replay(os.path.abspath(args.session), args.repeats)
        return

    with tempfile.TemporaryDirectory(prefix="biotrainer-bench-gui-") as tmp:
        lib, ini = os.path.join(tmp, "library"), os.path.join(tmp, "settings.ini")
        nk, fp = [], []
        for _ in range(args.repeats):  # interleaved, so machine load affects both alike
            nk.append(run_child(NEUROKIT)["import_s"])
            fp.append(run_child(FIRST_PAINT, lib, ini)["first_paint_s"])
        cpu = run_child(CPU, lib, ini, str(args.settle), str(args.seconds), args.protocol,
                        timeout_s=args.settle + args.seconds + 120)

    def median(v: list[float]) -> float:
        return sorted(v)[len(v) // 2]

    nk_s, fp_s = median(nk), median(fp)
    share = cpu["process_cpu_s"] / cpu["wall_s"]
    gui_share = cpu["gui_thread_cpu_s"] / cpu["wall_s"]
    print(f"import neurokit2 alone        : {nk_s * 1000:7.0f} ms  (runs: {', '.join(f'{x * 1000:.0f}' for x in nk)})")
    print(f"app start to first paint      : {fp_s * 1000:7.0f} ms  (runs: {', '.join(f'{x * 1000:.0f}' for x in fp)})")
    print(f"first paint / neurokit2 import: {fp_s / nk_s:7.2f}   (target < 1)")
    print(f"live session ({args.protocol}, paced phase), {cpu['wall_s']:.0f} s, pacer 25 Hz, plots 5 Hz, "
          "simulated strap, metrics on:")
    print(f"  process CPU (all threads)   : {share * 100:7.1f} % of one core   (target <= 15 %)")
    print(f"  GUI thread CPU              : {gui_share * 100:7.1f} % of one core")


if __name__ == "__main__":
    main()
