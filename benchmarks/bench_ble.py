"""BLE benchmark in the emulated setup (bumble straps, real bleak front-end, BleStrapSource, SessionRunner).

Prints, measured in one run:

- notification → source event latency (the strap's notify call to the HrPacket leaving BleStrapSource), p50/p99;
- notification → bus event latency through a SessionRunner (adds the runner's tick), p50/p99;
- CPU per notification: in the source's thread (decode + emit), and for the whole process (incl. the emulated
  radio, which a real system runs in the OS Bluetooth stack), and as a share of one core at 1 Hz;
- PMD ECG frame latency, discovery and connect times, and how long stop() takes with a stalled strap.

Run: ``python -m benchmarks.bench_ble [--packets N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the emulated strap lives in tests/emulated

from biotrainer.core.bus import Bus  # noqa: E402
from biotrainer.core.session_runner import SessionRunner  # noqa: E402
from biotrainer.sources.ble import BleStrapSource, ReconnectPolicy, find_strap, scan  # noqa: E402
from biotrainer.sources.codecs.hrs import encode_heart_rate_measurement  # noqa: E402
from tests.emulated.harness import Collector, emulated_radio, wait_until  # noqa: E402


def percentiles_ms(values_s: list[float]) -> str:
    a = np.asarray(values_s) * 1e3
    return f"p50 {np.percentile(a, 50):.3f} ms  p99 {np.percentile(a, 99):.3f} ms  max {a.max():.3f} ms  (n={a.size})"


def unique_packets(n: int) -> list[bytes]:
    return [encode_heart_rate_measurement(60 + k % 100, [700 + k % 30000 + 1, 800 + k % 200]) for k in range(n)]


def send_all(strap, packets: list[bytes], interval_s: float) -> dict[bytes, float]:
    sent: dict[bytes, float] = {}
    for raw in packets:
        t = time.perf_counter()
        strap.send_hr(raw)
        sent[raw] = t
        time.sleep(interval_s)
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=1500)
    parser.add_argument("--interval", type=float, default=0.004, help="seconds between notifications")
    args = parser.parse_args()

    with emulated_radio() as (radio, backends):
        strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=True, speed=1.0)

        assert scan(0.3, backends, read_battery=False), "emulated strap not found"
        t = time.perf_counter()
        find_strap("auto", 5.0, backends)
        discover_s = time.perf_counter() - t

        # --- source-level latency and CPU ---
        arrivals: dict[bytes, float] = {}
        thread_cpu_s: list[float] = []
        sink = Collector()

        def emit(event) -> None:
            if event.KIND == "hr_packet":
                arrivals[event.raw] = time.perf_counter()
            sink(event)

        class TimedSource(BleStrapSource):
            def on_heart_rate_measurement(self, char, data) -> None:
                c0 = time.thread_time()
                super().on_heart_rate_measurement(char, data)
                thread_cpu_s.append(time.thread_time() - c0)

        src = TimedSource("auto", backends=backends, reconnect=ReconnectPolicy(initial_delay_s=0.05),
                          stall_timeout_s=60.0, streams=())
        t = time.perf_counter()
        src.start(emit, sink.now_s)
        wait_until(lambda: "connected" in sink.states(), "connected")
        connect_s = time.perf_counter() - t
        packets = unique_packets(args.packets)
        p0, w0 = time.process_time(), time.perf_counter()
        sent = send_all(strap, packets, args.interval)
        wait_until(lambda: len(arrivals) == len(packets), "all notifications")
        process_cpu_s = time.process_time() - p0
        wall_s = time.perf_counter() - w0
        src.stop()
        latency = [arrivals[r] - sent[r] for r in packets]

        # --- through a session runner to the bus ---
        published: dict[bytes, float] = {}
        bus = Bus()
        bus.subscribe(lambda e: published.__setitem__(e.raw, time.perf_counter()), kinds=["hr_packet"])
        src2 = BleStrapSource("auto", backends=backends, reconnect=ReconnectPolicy(initial_delay_s=0.05),
                              stall_timeout_s=60.0, streams=())
        runner = SessionRunner(bus, sources=[src2])
        thread = threading.Thread(target=runner.run)
        thread.start()
        wait_until(lambda: strap.connected and src2.connections >= 1, "runner source connected")
        time.sleep(0.2)
        bus_packets = [encode_heart_rate_measurement(61, [1000 + k]) for k in range(300)]
        sent_bus = send_all(strap, bus_packets, 0.02)
        wait_until(lambda: all(r in published for r in bus_packets), "all published")
        runner.stop()
        thread.join(10)
        bus_latency = [published[r] - sent_bus[r] for r in bus_packets]

        # --- PMD ECG frames ---
        ecg_arrivals: dict[int, float] = {}
        sink3 = Collector()

        def emit3(event) -> None:
            if event.KIND == "ecg":
                ecg_arrivals[event.sensor_ts_ns] = time.perf_counter()
            sink3(event)

        src3 = BleStrapSource("auto", backends=backends, reconnect=ReconnectPolicy(initial_delay_s=0.05),
                              stall_timeout_s=60.0, streams=("ecg",))
        src3.start(emit3, sink3.now_s)
        wait_until(lambda: len(sink3.of("ecg")) >= 12, "ECG frames")
        src3.stop()
        from biotrainer.sources.codecs.pmd import parse_pmd_frame

        ecg_latency = [ecg_arrivals[parse_pmd_frame(s.raw).sensor_ts_ns] - s.t_perf_s for s in strap.log.pmd
                       if parse_pmd_frame(s.raw).sensor_ts_ns in ecg_arrivals]

        # --- stop() with a stalled strap ---
        sink4 = Collector()
        src4 = BleStrapSource("auto", backends=backends, reconnect=ReconnectPolicy(initial_delay_s=0.05),
                              stall_timeout_s=60.0, streams=("ecg", "acc"))
        src4.start(sink4, sink4.now_s)
        wait_until(lambda: "connected" in sink4.states(), "connected for stall")
        strap.stall()
        time.sleep(0.2)
        t = time.perf_counter()
        src4.stop()
        stop_stalled_s = time.perf_counter() - t
        strap.unstall()

    per_src_us = np.mean(thread_cpu_s) * 1e6
    per_proc_us = process_cpu_s / len(packets) * 1e6
    print("biotrainer BLE benchmark (emulated bumble strap, real bleak front-end)")
    print(f"  discovery (scan start to first advertisement, interval 20 ms): {discover_s * 1e3:.1f} ms; "
          f"source start to connected (scan, connect, GATT discovery, reads, subscribe): {connect_s * 1e3:.1f} ms")
    print(f"  notification -> source event : {percentiles_ms(latency)}")
    print(f"  notification -> bus event    : {percentiles_ms(bus_latency)}  (runner tick 50 ms)")
    print(f"  ECG frame -> source event    : {percentiles_ms(ecg_latency)}")
    print(f"  CPU per notification, source thread (decode+emit): {per_src_us:.1f} us")
    print(f"  CPU per notification, whole process incl. emulated radio: {per_proc_us:.1f} us "
          f"({process_cpu_s / wall_s * 100:.1f} % of one core at {len(packets) / wall_s:.0f} notifications/s)")
    print(f"  share of one core for a strap sending HR at 1 Hz: source thread {per_src_us / 1e6 * 100:.4f} %, "
          f"whole process {per_proc_us / 1e6 * 100:.4f} %")
    print(f"  stop() with a stalled strap: {stop_stalled_s:.3f} s (budget 2 s)")
    print(f"  ratio process CPU / source CPU per notification: {per_proc_us / per_src_us:.1f}")


if __name__ == "__main__":
    main()
