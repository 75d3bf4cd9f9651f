"""End-to-end: the real bleak front-end and BleStrapSource against emulated straps (bumble), no adapter needed."""

from __future__ import annotations

import argparse
import itertools
import json
import threading

import numpy as np
import pytest
from bleak.exc import BleakBluetoothNotAvailableReason

from biotrainer.core.bus import Bus
from biotrainer.core.errors import DeviceError, DeviceErrorReason
from biotrainer.core.events import CLIENT, THERAPIST
from biotrainer.core.session_runner import SessionRunner
from biotrainer.sources.ble import BleStrapSource, ReconnectPolicy, find_strap, open_device_source, scan
from biotrainer.sources.codecs.hrs import parse_heart_rate_measurement
from biotrainer.sources.codecs.pmd import ECG_FS_HZ, parse_pmd_frame
from tests.emulated.backend import use_local_radio
from tests.emulated.harness import Collector, emulated_radio, wait_until
from tests.emulated.strap import ACC_SAMPLES_PER_FRAME, ECG_SAMPLES_PER_FRAME, StrapConfig

FAST = ReconnectPolicy(initial_delay_s=0.05, max_delay_s=0.2)


@pytest.fixture
def world():
    with emulated_radio() as (radio, backends):
        yield radio, backends


def seeded_rr_1024(n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    rr_ms = 850.0 + 80.0 * np.sin(2 * np.pi * i / 5.0) + rng.normal(0.0, 20.0, n)
    return [int(v) for v in np.rint(rr_ms * 1.024)]


def start_source(backends, target="auto", participant="self", **kwargs) -> tuple[BleStrapSource, Collector]:
    kwargs.setdefault("reconnect", FAST)
    kwargs.setdefault("scan_timeout_s", 3.0)
    src = BleStrapSource(target, participant, backends=backends, **kwargs)
    sink = Collector()
    src.start(sink, sink.now_s)
    return src, sink


def connected(sink: Collector, n: int = 1) -> bool:
    return sink.states().count("connected") >= n


def reason_fields(event) -> dict[str, str]:
    return dict(part.split("=", 1) for part in event.reason.split("; "))


# --- discovery -------------------------------------------------------------------------------------------------

def test_scan_finds_straps_by_heart_rate_service_not_by_name(world):
    radio, backends = world
    radio.add_strap(name="Polar H10 0A1B2C3D", address="F0:00:00:00:00:01", battery_percent=64)
    radio.add_strap(name="Gadget 7", address="F0:00:00:00:00:02", pmd=False, battery_percent=12)
    radio.add_strap(name="Polar H10 FAKE", address="F0:00:00:00:00:03", hrs=False)  # a name is not a service
    found = {f.address: f for f in scan(0.3, backends)}
    assert set(found) == {"F0:00:00:00:00:01", "F0:00:00:00:00:02"}
    assert found["F0:00:00:00:00:01"].profile_id == "polar_h10"
    assert found["F0:00:00:00:00:02"].profile_id == "generic"  # unknown name, offers 0x180D: generic
    assert found["F0:00:00:00:00:01"].battery_percent == 64
    assert found["F0:00:00:00:00:02"].battery_percent == 12
    assert found["F0:00:00:00:00:01"].name == "Polar H10 0A1B2C3D"
    assert all(f.rssi_dbm is not None for f in found.values())


def test_scan_cli_json_through_ble_backend_option(world, capsys):
    from biotrainer.cli import scan as scan_cli

    radio, _ = world
    radio.add_strap(name="TICKR 1234", address="F0:00:00:00:00:05", pmd=False, battery_percent=55)
    use_local_radio(radio)
    try:
        rc = scan_cli.run(argparse.Namespace(timeout=0.3, json=True, no_battery=False,
                                             ble_backend="tests.emulated.backend:local_factory"))
    finally:
        use_local_radio(None)
    assert rc == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["address"], d["profile_id"], d["battery_percent"]) for d in listed] == \
        [("F0:00:00:00:00:05", "wahoo_tickr", 55)]


@pytest.mark.parametrize("reason, words, ours", [
    (BleakBluetoothNotAvailableReason.POWERED_OFF, "Bluetooth is turned off", DeviceErrorReason.ADAPTER_OFF),
    (BleakBluetoothNotAvailableReason.NO_BLUETOOTH, "no Bluetooth adapter", DeviceErrorReason.NO_ADAPTER),
    (BleakBluetoothNotAvailableReason.DENIED_BY_USER, "permission to use Bluetooth was denied",
     DeviceErrorReason.PERMISSION),
])
def test_unavailable_bluetooth_gives_specific_one_line_errors(world, reason, words, ours):
    radio, backends = world
    radio.unavailable = reason
    with pytest.raises(DeviceError) as err:
        scan(0.2, backends)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert err.value.reason is ours
    src, sink = start_source(backends, "F0:00:00:00:00:01")
    wait_until(lambda: src.finished, "source gives up")
    src.stop()
    failed = sink.of("connection")[-1]
    assert failed.state == "failed" and words in failed.reason
    assert src.error is not None and src.error.reason is ours


def test_absent_strap_fails_cleanly(world):
    radio, backends = world
    radio.add_strap(name="Polar H10 0A1B2C3D", address="F0:00:00:00:00:01")
    with pytest.raises(DeviceError, match="address F0:00:00:00:00:99 advertising the Heart Rate Service"):
        find_strap("F0:00:00:00:00:99", 0.3, backends)
    with pytest.raises(DeviceError, match="named 'Nope'"):
        find_strap("Nope", 0.3, backends)
    src, sink = start_source(backends, "F0:00:00:00:00:98", scan_timeout_s=0.3)
    wait_until(lambda: src.finished, "source gives up on an absent strap")
    src.stop()
    assert sink.states() == ["connecting", "failed"]
    assert "F0:00:00:00:00:98" in sink.of("connection")[-1].reason
    assert src.error is not None and src.error.reason is DeviceErrorReason.NOT_FOUND
    assert not src.thread_alive


def test_open_device_source_by_name_picks_the_profile(world):
    radio, backends = world
    radio.add_strap(name="Polar H10 0A1B2C3D", address="F0:00:00:00:00:01")
    radio.add_strap(name="TICKR 9", address="F0:00:00:00:00:02", pmd=False)
    use_local_radio(radio)
    try:
        src = open_device_source("tickr", CLIENT, "tests.emulated.backend:local_factory", scan_timeout_s=2.0)
    finally:
        use_local_radio(None)
    assert src.address == "F0:00:00:00:00:02" and src.profile.id == "wahoo_tickr"
    assert src.participant == CLIENT


# --- streaming -------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_stream_over_30_s_of_beats_rr_exact(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", speed=20.0, pmd=False)
    rr = seeded_rr_1024(42, seed=7)
    assert sum(rr) / 1024.0 > 30.0
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    strap.start_beats(rr)
    wait_until(strap.beats_done, "strap sent all beats")
    wait_until(lambda: len(sink.of("beat")) >= len(strap.log.rr_1024()), "all beats arrived")
    src.stop()
    beats = sink.of("beat")
    assert [b.rr_1024 for b in beats] == strap.log.rr_1024() == rr  # to the 1/1024 s unit, none lost
    assert [p.raw for p in sink.of("hr_packet")] == [s.raw for s in strap.log.hr]  # raw bytes kept
    assert all(b.device == "F0:00:00:00:00:01" and b.participant == "self" for b in beats)
    assert all(b.beat_t_s <= b.t_s + 1e-9 for b in beats)  # a beat is never placed after its packet arrived
    assert sink.states() == ["connecting", "connecting", "connected", "disconnected"]
    info = reason_fields(sink.of("connection")[2])
    assert info["location"] == "chest" and info["profile"] == "polar_h10" and "streams" not in info


def hr_flag_combinations() -> list[tuple[bytes, int]]:
    """Every flag combination of a Heart Rate Measurement with 0, 1, 2 and 9 RR values."""
    packets = []
    for hr16, contact_bits, energy, n_rr in itertools.product((0, 1), (0, 1, 2, 3), (0, 1), (0, 1, 2, 9)):
        flags = hr16 | (contact_bits << 1) | (energy << 3) | ((n_rr > 0) << 4)
        body = bytearray([flags])
        body += (300 + n_rr).to_bytes(2, "little") if hr16 else bytes([70 + n_rr])
        if energy:
            body += (1000 + contact_bits).to_bytes(2, "little")
        rr = [900 + 7 * k for k in range(n_rr)]
        for v in rr:
            body += v.to_bytes(2, "little")
        packets.append((bytes(body), n_rr))
    return packets


def test_every_heart_rate_flag_combination(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False)
    src, sink = start_source(backends, stall_timeout_s=30.0)
    wait_until(lambda: connected(sink), "connected")
    packets = hr_flag_combinations()
    for raw, _ in packets:
        assert strap.send_hr(raw)
    wait_until(lambda: len(sink.of("hr_packet")) == len(packets), "all packets arrived")
    src.stop()
    assert [p.raw for p in sink.of("hr_packet")] == [raw for raw, _ in packets]
    hrs = sink.of("hr")
    assert len(hrs) == len(packets) and not sink.of("decode_error")
    for (raw, _), hr in zip(packets, hrs, strict=True):
        m = parse_heart_rate_measurement(raw)
        assert (hr.hr_bpm, hr.contact, hr.energy_kj) == (m.hr_bpm, m.contact, m.energy_kj)
    assert [b.rr_1024 for b in sink.of("beat")] == [v for raw, _ in packets
                                                      for v in parse_heart_rate_measurement(raw).rr_1024]
    contact_changes = [c.contact for c in sink.of("contact")]
    assert contact_changes and all(a != b for a, b in itertools.pairwise(contact_changes))


def test_battery_read_on_connect_and_followed(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False, battery_percent=81)
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    strap.set_battery(79)
    wait_until(lambda: [b.percent for b in sink.of("battery")] == [81, 79], "battery update")
    src.stop()


def test_contact_loss_is_recorded_and_rr_stops(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False, speed=20.0)
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    strap.start_beats([1000] * 400)
    wait_until(lambda: len(sink.of("beat")) >= 5, "beats")
    strap.set_contact(False)
    wait_until(lambda: [c.contact for c in sink.of("contact")] == [True, False], "contact lost")
    n_hr = len(sink.of("hr"))
    wait_until(lambda: len(sink.of("hr")) >= n_hr + 5, "HR goes on without contact")
    strap.set_contact(True)
    wait_until(lambda: [c.contact for c in sink.of("contact")] == [True, False, True], "contact back")
    src.stop()
    lost_t = sink.of("contact")[1].t_s
    back_t = sink.of("contact")[2].t_s
    assert not [b for b in sink.of("beat") if lost_t < b.t_s < back_t]  # no RR while the strap had no contact
    assert [h.contact for h in sink.of("hr") if lost_t <= h.t_s < back_t] and \
        not any(h.contact for h in sink.of("hr") if lost_t <= h.t_s < back_t)


# --- drops and faults -------------------------------------------------------------------------------------------

def test_strap_initiated_disconnect_then_reconnect_with_gap_recorded(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False, speed=20.0)
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    strap.start_beats(seeded_rr_1024(2000, seed=3))
    wait_until(lambda: len(sink.of("beat")) >= 5, "beats before the drop")
    strap.disconnect()
    wait_until(lambda: connected(sink, 2), "reconnected")
    n = len(sink.of("beat"))
    wait_until(lambda: len(sink.of("beat")) >= n + 5, "beats after the reconnect")
    src.stop()
    conn = sink.of("connection")
    states = [c.state for c in conn]
    assert states[:4] == ["connecting", "connecting", "connected", "disconnected"]
    assert states[4] == "reconnecting" and "connected" in states[5:]
    dropped = conn[3]
    back = next(c for c in conn[4:] if c.state == "connected")
    assert dropped.reason == "link lost"
    assert float(reason_fields(back)["gap_s"]) == pytest.approx(back.t_s - dropped.t_s, abs=0.01)
    assert [b.rr_1024 for b in sink.of("beat")] == strap.log.rr_1024()  # every delivered beat, nothing invented


def test_vanished_strap_is_noticed_and_the_gap_spans_its_absence(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False, speed=20.0)
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    strap.start_beats([1000] * 3000)
    wait_until(lambda: len(sink.of("beat")) >= 3, "beats")
    strap.vanish(0.4)  # link supervision timeout, then silent (no advertising) for 0.4 s
    wait_until(lambda: connected(sink, 2), "back after vanishing")
    src.stop()
    back = [c for c in sink.of("connection") if c.state == "connected"][1]
    assert float(reason_fields(back)["gap_s"]) >= 0.4  # it cannot come back while it is not advertising
    assert "reconnecting" in sink.states()


def test_stalled_strap_is_dropped_and_stop_never_hangs(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False, speed=20.0)
    src, sink = start_source(backends, stall_timeout_s=0.5, gatt_timeout_s=0.3)
    wait_until(lambda: connected(sink), "connected")
    strap.start_beats([1000] * 3000)
    wait_until(lambda: len(sink.of("beat")) >= 3, "beats")
    strap.stall()  # link up, strap silent and unresponsive
    wait_until(lambda: "disconnected" in sink.states(), "stall noticed")
    dropped = next(c for c in sink.of("connection") if c.state == "disconnected")
    assert dropped.reason == "no data for 0.5 s"
    wait_until(lambda: sink.states().count("reconnecting") >= 2, "reconnect attempts against a hung strap")
    src.stop()
    assert not src.thread_alive
    assert not src.finished  # a hung strap is retried until the user stops, never given up silently


# --- several straps, sessions ------------------------------------------------------------------------------------

def test_two_straps_at_once_through_a_session(world):
    radio, backends = world
    a = radio.add_strap(name="Polar H10 AAAA", address="F0:00:00:00:00:0A", pmd=False, speed=20.0)
    b = radio.add_strap(name="TICKR BBBB", address="F0:00:00:00:00:0B", pmd=False, speed=20.0)
    bus = Bus()
    got: list = []
    bus.subscribe(got.append)
    src_a = BleStrapSource("F0:00:00:00:00:0A", CLIENT, backends=backends, reconnect=FAST)
    src_b = BleStrapSource("auto", THERAPIST, backends=backends, reconnect=FAST)  # auto skips the claimed strap
    runner = SessionRunner(bus, sources=[src_a, src_b], tick_s=0.02)
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        def beats(who):
            return [e for e in list(got) if e.KIND == "beat" and e.participant == who]

        wait_until(lambda: sum(e.KIND == "connection" and e.state == "connected" for e in list(got)) == 2,
                   "both connected")
        a.start_beats(seeded_rr_1024(30, seed=1))
        b.start_beats(seeded_rr_1024(30, seed=2))
        wait_until(lambda: a.beats_done() and b.beats_done(), "both straps done")
        wait_until(lambda: len(beats(CLIENT)) == len(a.log.rr_1024()) and
                   len(beats(THERAPIST)) == len(b.log.rr_1024()), "all beats published")
    finally:
        runner.stop()
        thread.join(10)
    assert [e.rr_1024 for e in beats(CLIENT)] == a.log.rr_1024() == seeded_rr_1024(30, seed=1)
    assert [e.rr_1024 for e in beats(THERAPIST)] == b.log.rr_1024() == seeded_rr_1024(30, seed=2)
    assert {e.device for e in beats(CLIENT)} == {"F0:00:00:00:00:0A"}
    assert {e.device for e in beats(THERAPIST)} == {"F0:00:00:00:00:0B"}
    for who in (CLIENT, THERAPIST):  # each strap's own events are published in arrival order
        own_t = [e.t_s for e in got if e.participant == who]
        assert own_t == sorted(own_t)


# --- Polar PMD --------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_pmd_ecg_and_acc_decoded_with_strap_time_mapped_to_session_time(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=True)
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    wait_until(lambda: len(sink.of("ecg")) >= 4 and len(sink.of("acc")) >= 4, "ECG and ACC frames")
    src.stop()
    assert reason_fields([c for c in sink.of("connection") if c.state == "connected"][0])["streams"] == "ecg,acc"
    assert strap.log.control[:2] == [bytes.fromhex("02000001820001010E00"),
                                     bytes.fromhex("0202" "0001C800" "01011000" "02010800")]
    assert strap.log.control[-2:] == [bytes([3, 0]), bytes([3, 2])]  # streams stopped on stop()
    sent = {s.raw: parse_pmd_frame(s.raw) for s in strap.log.pmd}
    ecg, acc = sink.of("ecg"), sink.of("acc")
    assert not sink.of("decode_error")
    packets = [p.raw for p in sink.of("pmd_packet")]
    assert packets == [s.raw for s in strap.log.pmd][: len(packets)]
    for frame in ecg + acc:
        assert frame.last_sample_t_s <= frame.t_s + 1e-9  # never sampled after it arrived
    for raw, frame in zip(packets, sorted(ecg + acc, key=lambda f: f.t_s), strict=False):
        ref = sent[raw]
        assert frame.sensor_ts_ns == ref.sensor_ts_ns
        assert np.array_equal(frame.samples_uv if frame.KIND == "ecg" else frame.samples_mg, ref.samples)
    assert all(len(f.samples_uv) == ECG_SAMPLES_PER_FRAME and f.fs_hz == ECG_FS_HZ for f in ecg)
    assert all(f.samples_mg.shape == (ACC_SAMPLES_PER_FRAME, 3) for f in acc)
    # consecutive frames: session-time spacing equals the strap's own timestamp spacing once the offset settles
    d_session = np.diff([f.last_sample_t_s for f in ecg[-3:]])
    d_strap = np.diff([f.sensor_ts_ns for f in ecg[-3:]]) / 1e9
    assert d_session == pytest.approx(d_strap, abs=0.02)


def test_strap_without_pmd_streams_hr_alone(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False, speed=20.0)
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    strap.start_beats([1000] * 20)
    wait_until(lambda: len(sink.of("beat")) >= 10, "beats")
    src.stop()
    assert not sink.of("ecg") and not sink.of("pmd_packet") and not sink.of("decode_error")


def test_pmd_refused_when_mtu_too_small_keeps_hr(world):
    radio, backends = world
    strap = radio.add_strap(StrapConfig(name="Polar H10 0A1B2C3D", pmd_min_mtu=400, speed=20.0))
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    strap.start_beats([1000] * 20)
    wait_until(lambda: len(sink.of("beat")) >= 5, "beats")
    src.stop()
    assert "streams" not in reason_fields([c for c in sink.of("connection") if c.state == "connected"][0])
    assert not sink.of("ecg")


def test_auto_twice_gives_two_straps_and_unstarted_sources_release_them(world):
    radio, _ = world
    radio.add_strap(name="Polar H10 AAAA", address="F0:00:00:00:00:0A", pmd=False)
    radio.add_strap(name="TICKR BBBB", address="F0:00:00:00:00:0B", pmd=False)
    use_local_radio(radio)
    try:
        spec = "tests.emulated.backend:local_factory"
        first = open_device_source("auto", CLIENT, spec, scan_timeout_s=2.0)
        second = open_device_source("auto", THERAPIST, spec, scan_timeout_s=2.0)
        assert {first.address, second.address} == {"F0:00:00:00:00:0A", "F0:00:00:00:00:0B"}
        with pytest.raises(DeviceError, match="already used by another source") as in_use:
            open_device_source("auto", "self", spec, scan_timeout_s=0.3)
        assert in_use.value.reason is DeviceErrorReason.IN_USE
        first.stop()  # never started: gives its strap back
        third = open_device_source("auto", "self", spec, scan_timeout_s=2.0)
        assert third.address == first.address
        second.stop()
        third.stop()
    finally:
        use_local_radio(None)


@pytest.mark.slow
def test_pmd_streams_restart_after_a_drop(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=True)
    src, sink = start_source(backends, streams=("ecg",))
    wait_until(lambda: len(sink.of("ecg")) >= 2, "ECG before the drop")
    strap.disconnect()
    wait_until(lambda: connected(sink, 2), "reconnected")
    n = len(sink.of("ecg"))
    wait_until(lambda: len(sink.of("ecg")) >= n + 2, "ECG after the reconnect")
    src.stop()
    assert strap.log.control.count(bytes.fromhex("02000001820001010E00")) == 2  # started on each connection
    assert not sink.of("acc")  # only the requested stream
    ts = [f.sensor_ts_ns for f in sink.of("ecg")]
    assert ts == sorted(ts) and not sink.of("decode_error")


def test_bluetooth_turned_off_mid_session_is_retried_until_back(world):
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False, speed=20.0)
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    radio.unavailable = BleakBluetoothNotAvailableReason.POWERED_OFF
    strap.disconnect()
    wait_until(lambda: any("turned off" in c.reason for c in sink.of("connection")), "told why")
    radio.unavailable = None
    wait_until(lambda: connected(sink, 2), "back when Bluetooth is on again")
    src.stop()
    assert "failed" not in sink.states() and not src.finished


@pytest.mark.slow
def test_real_time_beats_are_chained_by_rr_from_arrival_anchors(world):
    """At the strap's real pace, beat times follow cumulative RR exactly, except where the timeline re-anchors."""
    radio, backends = world
    strap = radio.add_strap(name="Polar H10 0A1B2C3D", pmd=False, speed=1.0, notify_interval_s=1.0)
    rr = seeded_rr_1024(7, seed=11)
    src, sink = start_source(backends)
    wait_until(lambda: connected(sink), "connected")
    strap.start_beats(rr)
    wait_until(strap.beats_done, "strap sent all beats")
    wait_until(lambda: len(sink.of("beat")) == len(strap.log.rr_1024()), "all beats arrived")
    src.stop()
    beats = sink.of("beat")
    assert [b.rr_1024 for b in beats] == rr
    gaps = np.diff([b.beat_t_s for b in beats])
    chained = np.isclose(gaps, np.asarray(rr[1:]) / 1024.0, rtol=0, atol=1e-9)
    assert int((~chained).sum()) == src.beat_timeline.reanchors <= 2  # chained except at the rare re-anchor
    assert all(b.beat_t_s <= b.t_s + 0.05 for b in beats)
