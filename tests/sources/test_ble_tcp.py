"""The emulated strap server in another process, linked over loopback TCP (what --ble-backend
tests.emulated.backend:factory uses to run the whole app without hardware)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from biotrainer.sources.ble import BleStrapSource, ReconnectPolicy, scan
from tests.emulated.backend import make_backend
from tests.emulated.harness import Collector, wait_until
from tests.emulated.radio import Radio

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulated.server", "--port", str(port),
                             "--straps", "polar_h10,tickr", "--speed", "10"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline()
        assert "ready" in line, f"server did not start: {line!r}"
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_scan_and_stream_from_a_strap_in_another_process(server):
    radio = Radio(hci_transport=f"tcp-client:127.0.0.1:{server}")
    try:
        backends = make_backend(radio)
        found = {f.address: f for f in scan(0.5, backends)}
        assert {f.profile_id for f in found.values()} == {"polar_h10", "wahoo_tickr"}
        assert found["F0:00:00:00:00:02"].battery_percent == 64
        src = BleStrapSource("F0:00:00:00:00:01", backends=backends, reconnect=ReconnectPolicy(0.05))
        sink = Collector()
        src.start(sink, sink.now_s)
        wait_until(lambda: len(sink.of("beat")) >= 5 and len(sink.of("ecg")) >= 2, "beats and ECG over TCP")
        src.stop()
        assert not sink.of("decode_error")
        assert [e.state for e in sink.of("connection")][-1] == "disconnected"
    finally:
        radio.close()
