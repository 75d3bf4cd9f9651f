"""LSL outlets received by pylsl inlets in the same process, and the LSL inlet source."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from biotrainer.core.events import (
    SESSION,
    AccFrame,
    Annotation,
    Beat,
    EcgFrame,
    HeartRate,
    PhaseMarker,
    rr_ms_to_1024,
)

pylsl = pytest.importorskip("pylsl")

OFFSET_S = 5000.0  # LSL time of session time 0, fixed so timestamps are known exactly


def _unique(tag: str) -> str:
    return f"bt-test-{tag}-{os.getpid()}-{time.monotonic_ns() % 10**9}"


def _inlet(source_id: str, stype: str):
    infos = pylsl.resolve_bypred(f"source_id='{source_id}' and type='{stype}'", 1, 10.0)
    assert infos, f"stream {stype} of {source_id} not found"
    inlet = pylsl.StreamInlet(infos[0], max_buflen=60)
    inlet.open_stream(timeout=10.0)
    return inlet, inlet.info(timeout=10.0)


def _pull(inlet, n: int, deadline_s: float = 15.0):
    samples, stamps = [], []
    end = time.monotonic() + deadline_s
    while len(stamps) < n and time.monotonic() < end:
        s, t = inlet.pull_chunk(timeout=0.2)
        samples.extend(s)
        stamps.extend(t)
    return samples, stamps


def _channels(info):
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append((ch.child_value("label"), ch.child_value("unit")))
        ch = ch.next_sibling()
    return out


def test_outlets_received_by_pylsl_inlets_with_values_timestamps_and_metadata():
    from biotrainer.exchange.lsl_outlet import LslOutlets

    serial = _unique("serial")
    session = _unique("sess")
    outlets = LslOutlets(lsl_offset_s=OFFSET_S, session_id=session)
    outlets.declare("AA:BB", "self", ("hr", "rr", "ecg", "acc"), ecg_fs_hz=130.0, acc_fs_hz=200.0, serial=serial)
    rr_inlet, rr_info = _inlet(serial, "RR")
    hr_inlet, _ = _inlet(serial, "HR")
    ecg_inlet, ecg_info = _inlet(serial, "ECG")
    acc_inlet, acc_info = _inlet(serial, "ACC")
    mk_inlet, _ = _inlet(f"biotrainer-markers-{session}", "Markers")

    assert rr_info.nominal_srate() == pylsl.IRREGULAR_RATE
    assert ecg_info.nominal_srate() == 130.0
    assert _channels(rr_info) == [("RR", "ms")]
    assert _channels(ecg_info) == [("ECG", "microvolts")]
    assert [c[0] for c in _channels(acc_info)] == ["ACC_X", "ACC_Y", "ACC_Z"]
    assert ecg_info.desc().child("acquisition").child_value("manufacturer") == "biotrainer"

    rng = np.random.default_rng(7)
    rr_1024 = rng.integers(700, 1100, size=10)
    beat_times = 1.0 + np.cumsum(rr_1024 / 1024.0)
    ecg = rng.integers(-2000, 2000, size=73).astype(np.int32)
    acc = rng.integers(-1000, 1000, size=(20, 3)).astype(np.int16)
    events = [Beat(t_s=float(bt) + 0.1, rr_1024=int(r), beat_t_s=float(bt), device="AA:BB")
              for r, bt in zip(rr_1024, beat_times, strict=True)]
    events += [HeartRate(t_s=3.0, hr_bpm=61, device="AA:BB"),
               EcgFrame(t_s=4.0, fs_hz=130.0, samples_uv=ecg, last_sample_t_s=3.9, device="AA:BB"),
               AccFrame(t_s=4.0, fs_hz=200.0, samples_mg=acc, last_sample_t_s=3.95, device="AA:BB"),
               PhaseMarker(t_s=2.5, participant=SESSION, name="baseline", index=0, state="start",
                           duration_s=120.0),
               Annotation(t_s=3.25, participant=SESSION, text="cough", author="R")]
    for e in events:
        outlets(e)

    s, t = _pull(rr_inlet, 10)
    np.testing.assert_allclose(np.array(s)[:, 0], rr_1024 * 1000.0 / 1024.0, rtol=1e-6)
    np.testing.assert_allclose(t, beat_times + OFFSET_S, atol=1e-6)
    # the values received are exact 1/1024 s units after conversion back
    assert np.array_equal(rr_ms_to_1024(np.array(s)[:, 0].astype(float)), rr_1024)

    s, t = _pull(hr_inlet, 1)
    assert s[0][0] == 61.0 and t[0] == pytest.approx(OFFSET_S + 3.0)

    s, t = _pull(ecg_inlet, len(ecg))
    assert np.array_equal(np.array(s)[:, 0], ecg)
    expected = OFFSET_S + 3.9 - np.arange(len(ecg) - 1, -1, -1) / 130.0
    np.testing.assert_allclose(t, expected, atol=1e-6)

    s, t = _pull(acc_inlet, len(acc))
    assert np.array_equal(np.array(s), acc)
    assert t[-1] == pytest.approx(OFFSET_S + 3.95)

    s, t = _pull(mk_inlet, 2)
    first = json.loads(s[0][0])
    assert first["kind"] == "phase" and first["name"] == "baseline" and first["state"] == "start"
    assert json.loads(s[1][0])["text"] == "cough"
    np.testing.assert_allclose(t, [OFFSET_S + 2.5, OFFSET_S + 3.25], atol=1e-6)
    outlets.close()


def test_inlet_source_turns_an_rr_stream_into_beats_and_markers_back_into_events():
    from biotrainer.exchange.lsl_outlet import LslOutlets
    from biotrainer.sources.lsl_inlet import LslInletSource

    serial = _unique("strap")
    outlets = LslOutlets(lsl_offset_s=OFFSET_S, serials={"dev": serial}, session_id=serial)
    outlets.declare("dev", "self", ("rr",))
    source = LslInletSource(serial, resolve_timeout_s=10.0, lsl_offset_s=OFFSET_S)
    assert source.connect() == ["rr"]  # markers stream has another source id

    received: list = []
    source.start(received.append, lambda: 10.0)
    rr_1024 = [800, 845, 910, 1001]
    beat_times = np.cumsum(rr_1024) / 1024.0 + 2.0
    for r, bt in zip(rr_1024, beat_times, strict=True):
        outlets(Beat(t_s=float(bt), rr_1024=r, beat_t_s=float(bt), device="dev"))
    end = time.monotonic() + 15.0
    while sum(isinstance(e, Beat) for e in received) < 4 and time.monotonic() < end:
        time.sleep(0.05)
    source.stop()
    outlets.close()
    beats = [e for e in received if isinstance(e, Beat)]
    assert [b.rr_1024 for b in beats] == rr_1024
    # same machine: clock correction is ~0, so beat times come back within a millisecond
    np.testing.assert_allclose([b.beat_t_s for b in beats], beat_times, atol=1e-3)
    assert all(b.device == f"lsl:{serial}" and b.source == "lsl" for b in beats)
    assert received[0].KIND == "connection" and received[0].state == "connected"


def test_inlet_conversion_scales_units_and_parses_markers():
    from biotrainer.exchange.lsl_outlet import marker_text
    from biotrainer.sources.lsl_inlet import LslInletSource, parse_marker

    src = LslInletSource("x", lsl_offset_s=100.0)
    beats = src.convert("ibi", {"units": ["s"]}, [[0.8], [float("nan")], [1.0]], [101.0, 101.5, 102.0], 3.0)
    assert [b.rr_1024 for b in beats] == [819, 1024]  # 0.8 s = 819.2 units, nan dropped
    assert [b.beat_t_s for b in beats] == [1.0, 2.0]
    ecg = src.convert("ecg", {"units": ["mv"], "fs_hz": 250.0}, [[0.5], [-1.25]], [100.5, 100.504], 1.0)[0]
    assert list(ecg.samples_uv) == [500, -1250] and ecg.fs_hz == 250.0
    phase = PhaseMarker(t_s=7.0, participant=SESSION, name="paced", index=1, state="end", duration_s=60.0,
                        paced=True, rate_per_min=6.0)
    assert parse_marker(marker_text(phase), 7.0) == phase
    assert parse_marker("stimulus 3", 2.0) == Annotation(t_s=2.0, participant=SESSION, text="stimulus 3")


def test_inlet_missing_stream_is_a_one_line_device_error():
    from biotrainer.core.errors import DeviceError
    from biotrainer.sources.lsl_inlet import LslInletSource

    with pytest.raises(DeviceError, match="no Lab Streaming Layer stream named 'nope-.*' found"):
        LslInletSource(_unique("nope").replace("bt-test-", ""), resolve_timeout_s=0.5).connect()
