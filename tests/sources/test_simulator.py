"""The simulated strap as a device: determinism, packets, faults, ECG/ACC frames, spec parsing (seeded, no timing)."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.core.bus import Bus
from biotrainer.core.clock import VirtualClock
from biotrainer.core.errors import UsageError
from biotrainer.core.events import (
    AccFrame,
    Battery,
    Beat,
    Connection,
    Contact,
    EcgFrame,
    HeartRate,
    HrPacket,
    PmdPacket,
    SessionState,
    from_record,
    to_record,
)
from biotrainer.core.pacer import Pacer
from biotrainer.core.session_runner import SessionRunner
from biotrainer.sources.codecs.hrs import parse_heart_rate_measurement
from biotrainer.sources.codecs.pmd import MEASUREMENT_ACC, MEASUREMENT_ECG, parse_pmd_frame
from biotrainer.sources.sim.strap import Faults, SimConfig, SimulatedStrap, simulate


def of(events, cls):
    return [e for e in events if isinstance(e, cls)]


def quantised(rr_ms: np.ndarray) -> np.ndarray:
    return np.rint(rr_ms * 1024.0 / 1000.0).astype(np.int64)


FAULTY = SimConfig(seed=3, ecg=True, acc=True,
                   faults=Faults(ectopic_per_min=2.0, missed_per_min=1.0, extra_per_min=1.0, drop_prob=0.05,
                                 contact_loss=((100.0, 110.0),), disconnects=((200.0, 215.0),)))


@pytest.fixture(scope="module")
def clean():
    return simulate(SimConfig(seed=1, ecg=True, acc=True), 180.0, pacer=lambda t: Pacer(6.0, 0.4).at(t))


@pytest.fixture(scope="module")
def faulty():
    return simulate(FAULTY, 300.0)


# --- determinism ---------------------------------------------------------------------------------------------------

def test_same_seed_gives_identical_events_and_other_seed_differs():
    cfg = SimConfig(seed=7, ecg=True, acc=True, faults=Faults(ectopic_per_min=1.0, drop_prob=0.05))
    a, truth_a = simulate(cfg, 40.0)
    b, truth_b = simulate(cfg, 40.0)
    assert a == b
    np.testing.assert_array_equal(truth_a.beat_t_s, truth_b.beat_t_s)
    c, _ = simulate(cfg.replace(seed=8), 40.0)
    raw = [e.raw for e in of(a, HrPacket)]
    assert raw != [e.raw for e in of(c, HrPacket)]


def test_output_does_not_depend_on_how_it_is_polled():
    cfg = SimConfig(seed=2, ecg=True, acc=True, faults=Faults(disconnects=((10.0, 12.0),)))
    whole, _ = simulate(cfg, 30.0)
    strap = SimulatedStrap(cfg)
    ticks = []
    t = 0.0
    while t < 30.0:
        t = min(30.0, t + 0.05)
        batch = strap.events_until(t)
        assert all(e.t_s <= t for e in batch)
        ticks.extend(batch)
    assert ticks == whole
    times = [e.t_s for e in whole]
    assert times == sorted(times)


def test_runs_under_the_session_runner_with_a_virtual_clock():
    cfg = SimConfig(seed=4, ecg=True)
    expected, _ = simulate(cfg, 20.0)
    bus = Bus()
    got: list = []
    bus.subscribe(got.append)
    result = SessionRunner(bus, sources=[SimulatedStrap(cfg)], clock=VirtualClock(anchor_unix_s=0.0),
                           duration_s=20.0).run()
    assert result.reason == "duration reached"
    assert [e for e in got if not isinstance(e, SessionState)] == expected


def test_ecg_and_acc_do_not_change_the_heart():
    _, with_streams = simulate(SimConfig(seed=9, ecg=True, acc=True), 60.0)
    _, without = simulate(SimConfig(seed=9), 60.0)
    np.testing.assert_array_equal(with_streams.beat_t_s, without.beat_t_s)


def test_events_survive_the_record_round_trip(clean):
    events, _ = clean
    for e in events[:400]:
        assert from_record(*to_record(e)) == e


# --- packets -------------------------------------------------------------------------------------------------------

def test_connected_and_battery_first(clean):
    events, _ = clean
    assert isinstance(events[0], Connection) and events[0].state == "connected" and events[0].t_s == 0.0
    assert isinstance(events[1], Battery) and events[1].percent == 87
    assert all(e.participant == "self" and e.device == "sim-0001" for e in events)


def test_every_hr_packet_parses_and_is_followed_by_its_decoded_events(clean):
    events, truth = clean
    packets = of(events, HrPacket)
    assert len(packets) == pytest.approx(180, abs=3)  # ~1 notification per second
    gaps = np.diff([p.t_s for p in packets])
    assert 0.4 < gaps.min() and gaps.max() < 2.2
    for i, e in enumerate(events):
        if isinstance(e, HrPacket):
            m = parse_heart_rate_measurement(e.raw)
            nxt = events[i + 1]
            assert isinstance(nxt, HeartRate) and nxt.t_s == e.t_s and nxt.hr_bpm == m.hr_bpm
            assert nxt.contact is True
            decoded = [x.rr_1024 for x in events[i + 1: i + 4 + len(m.rr_1024)]
                       if isinstance(x, Beat) and x.t_s == e.t_s]
            assert tuple(decoded) == m.rr_1024
            assert 55 <= m.hr_bpm <= 80
    np.testing.assert_array_equal(truth.packet_n_rr, [len(parse_heart_rate_measurement(p.raw).rr_1024)
                                                      for p in packets])


def test_rr_values_equal_quantised_truth_and_sum_to_beat_times(clean):
    events, truth = clean
    beats = of(events, Beat)
    rr_1024 = np.array([b.rr_1024 for b in beats])
    # no faults configured: one reported interval per true beat, quantised to 1/1024 s
    assert np.all(truth.reported_kind == "normal") and truth.reported_delivered.all()
    np.testing.assert_array_equal(rr_1024, quantised(truth.rr_ms[truth.reported_beat_index]))
    first = truth.reported_beat_index[0]
    elapsed = truth.beat_t_s[truth.reported_beat_index] - (truth.beat_t_s[first] - truth.rr_ms[first] / 1000.0)
    np.testing.assert_allclose(np.cumsum(rr_1024) / 1024.0, elapsed, atol=0.01)
    # arrival = last beat of the packet + a small latency
    for p in of(events, HrPacket)[5:40]:
        in_packet = [b for b in beats if b.t_s == p.t_s]
        if in_packet:
            true_last = truth.reported_t_s[truth.reported_packet_t_s == p.t_s][-1]
            assert 0.0 < p.t_s - true_last <= 0.031
    decoded_t = np.array([b.beat_t_s for b in beats])
    np.testing.assert_allclose(decoded_t, truth.reported_t_s, atol=0.04)


def test_contact_flag_absent_when_strap_has_no_contact_sensor():
    events, _ = simulate(SimConfig(seed=1, contact_supported=False), 10.0)
    assert all(h.contact is None for h in of(events, HeartRate))
    assert not of(events, Contact)


# --- faults --------------------------------------------------------------------------------------------------------

def test_injected_faults_are_in_the_truth(faulty):
    _, truth = faulty
    for kind in ("ectopic", "missed", "extra"):
        listed = truth.faults_of(kind)
        assert len(listed) == int(np.sum(truth.beat_fault == kind))
        assert [f.beat_index for f in listed] == list(np.flatnonzero(truth.beat_fault == kind))
    # rates: 2, 1, 1 per minute over 5 minutes (Poisson, loose bounds)
    assert 4 <= len(truth.faults_of("ectopic")) <= 18
    assert 1 <= len(truth.faults_of("missed")) <= 10
    assert 1 <= len(truth.faults_of("extra")) <= 10
    assert len(truth.faults_of("dropped")) >= 3


def test_ectopic_beats_are_premature_with_compensatory_pause(faulty):
    _, truth = faulty
    for f in truth.faults_of("ectopic"):
        k = f.beat_index
        short, long_, before = truth.rr_ms[k], truth.rr_ms[k + 1], truth.rr_ms[k - 1]
        assert short < 0.75 * before
        assert long_ > 1.2 * before
        assert short + long_ == pytest.approx(2 * before, rel=0.15)


def test_missed_and_extra_beats_change_what_the_strap_reports(faulty):
    _, truth = faulty
    rr = truth.rr_ms
    merged = np.flatnonzero(truth.reported_kind == "merged")
    assert len(merged) >= 1
    for i in merged:
        k = truth.reported_beat_index[i]
        assert truth.beat_fault[k - 1] == "missed"
        assert truth.reported_rr_ms[i] == pytest.approx(rr[k] + rr[k - 1], abs=1e-6)
    extra = np.flatnonzero(truth.reported_kind == "extra")
    assert len(extra) == len(truth.faults_of("extra"))
    for i in extra:
        assert truth.reported_kind[i + 1] == "split"
        k = truth.reported_beat_index[i + 1]
        assert truth.reported_rr_ms[i] + truth.reported_rr_ms[i + 1] == pytest.approx(rr[k], abs=1e-6)


def test_decoded_beats_are_the_reported_ones_minus_dropped_and_disconnected(faulty):
    events, truth = faulty
    rr_1024 = [b.rr_1024 for b in of(events, Beat)]
    delivered = truth.reported_delivered
    np.testing.assert_array_equal(rr_1024, truth.reported_rr_1024[delivered])
    # where nothing was injected, the values are the true intervals quantised
    normal = delivered & (truth.reported_kind == "normal")
    np.testing.assert_array_equal(truth.reported_rr_1024[normal],
                                  quantised(truth.rr_ms[truth.reported_beat_index[normal]]))
    # a dropped notification loses exactly its RR values
    lost = ~delivered
    in_disconnect = (truth.reported_packet_t_s >= 200.0) & (truth.reported_packet_t_s < 216.0)
    lost_by_drop = lost & ~in_disconnect
    dropped_rr = sum(int(f.detail.split()[0]) for f in truth.faults_of("dropped"))
    assert lost_by_drop.sum() == dropped_rr
    assert len(of(events, HrPacket)) == truth.packet_delivered.sum()


def test_disconnect_has_no_packets_and_connection_events_around_it(faulty):
    events, _ = faulty
    inside = [e for e in events if 200.0 <= e.t_s < 215.0 and isinstance(e, HrPacket | PmdPacket | Beat)]
    assert inside == []
    conn = [(e.t_s, e.state) for e in of(events, Connection)]
    assert conn == [(0.0, "connected"), (200.0, "disconnected"), (215.0, "connected")]
    assert [b.t_s for b in of(events, Battery)] == [0.0, 215.0]
    after = [e for e in of(events, HrPacket) if e.t_s >= 215.0]
    assert after and after[0].t_s < 217.5  # the strap streams again right after reconnecting


def test_contact_loss_sets_contact_false_and_sends_no_rr(faulty):
    events, _ = faulty
    during = [h for h in of(events, HeartRate) if 100.5 <= h.t_s < 110.0]
    assert during and all(h.contact is False and h.hr_bpm == 0 for h in during)
    assert not [b for b in of(events, Beat) if 100.5 <= b.t_s < 110.0]
    contact = [(round(c.t_s), c.contact) for c in of(events, Contact)]
    assert contact == [(1, True), (101, False), (111, True)]
    ecg = of(events, EcgFrame)
    noisy = np.concatenate([f.samples_uv for f in ecg if 101.0 < f.t_s < 109.0])
    clean_part = np.concatenate([f.samples_uv for f in ecg if 50.0 < f.t_s < 58.0])
    assert noisy.std() > 1.5 * clean_part.std() and noisy.max() < 3 * clean_part.max()


def test_garbage_rr_during_contact_loss_when_asked():
    cfg = SimConfig(seed=5, faults=Faults(contact_loss=((20.0, 30.0),), garbage_rr=True))
    events, truth = simulate(cfg, 40.0)
    garbage = truth.reported_kind == "garbage"
    assert garbage.sum() >= 8
    assert np.all((truth.reported_packet_t_s[garbage] > 20.0) & (truth.reported_packet_t_s[garbage] < 31.0))
    during = [b.rr_1024 for b in of(events, Beat) if 20.5 < b.t_s < 30.0]
    assert during == list(truth.reported_rr_1024[garbage & (truth.reported_packet_t_s > 20.5)
                                                  & (truth.reported_packet_t_s < 30.0)])


# --- ECG and ACC ---------------------------------------------------------------------------------------------------

def sample_clock(frames, first_sample_t_s: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate frames; true sample times from the strap timestamps (they count the true sample clock)."""
    ts0 = frames[0].sensor_ts_ns
    n0 = len(frames[0].samples_uv if isinstance(frames[0], EcgFrame) else frames[0].samples_mg)
    t_last0 = first_sample_t_s + (n0 - 1) / fs_hz
    times, values = [], []
    for f in frames:
        data = f.samples_uv if isinstance(f, EcgFrame) else f.samples_mg
        last = t_last0 + (f.sensor_ts_ns - ts0) / 1e9
        times.append(last - np.arange(len(data) - 1, -1, -1) / fs_hz)
        values.append(data)
    return np.concatenate(times), np.concatenate(values)


def test_ecg_frames_match_polar_layout_and_timing(clean):
    events, truth = clean
    frames = of(events, EcgFrame)
    packets = [p for p in of(events, PmdPacket) if p.raw[0] == MEASUREMENT_ECG]
    assert len(frames) == len(packets) == pytest.approx(180 * 130 / 73, abs=5)
    assert all(len(f.samples_uv) == 73 and f.fs_hz == 130.0 for f in frames)
    for p, f in zip(packets, frames, strict=True):
        assert p.t_s == f.t_s
        assert np.array_equal(parse_pmd_frame(p.raw).samples, f.samples_uv)
    # strap clock: ns since 2000-01-01 with the configured offset
    cfg = SimConfig()
    last_true = truth.ecg_first_sample_t_s + 72 / 130.0
    expected_ns = (cfg.start_unix_s + cfg.strap_clock_offset_s - 946684800 + last_true) * 1e9
    assert frames[0].sensor_ts_ns == pytest.approx(expected_ns, abs=1000)
    # the decoder maps the strap clock back to session time (late by at most the transmission latency)
    sample_t, _ = sample_clock(frames, truth.ecg_first_sample_t_s, 130.0)
    decoded_last = np.array([f.last_sample_t_s for f in frames])
    true_last = sample_t[72::73]
    assert np.all(decoded_last - true_last >= -1e-6) and np.all(decoded_last - true_last < 0.05)


def test_ecg_r_peaks_within_one_sample_of_true_beats(faulty):
    events, truth = faulty
    times, ecg = sample_clock(of(events, EcgFrame), truth.ecg_first_sample_t_s, 130.0)
    checked = 0
    amplitudes, volumes = [], []
    for k, t in enumerate(truth.beat_t_s):
        if not 2.0 < t < 295.0 or 99.0 < t < 111.0:
            continue
        near = np.abs(times - t) < 0.12
        if near.sum() < 25:  # samples lost in the disconnect
            continue
        i = np.flatnonzero(near)[np.argmax(ecg[near])]
        assert abs(times[i] - t) <= 1.0 / 130.0 + 1e-9
        checked += 1
        if truth.beat_fault[k] != "ectopic":
            amplitudes.append(ecg[i])
            volumes.append(np.interp(t, truth.breath_t_s, truth.breath_volume))
    assert checked > 250
    assert 700 < np.median(amplitudes) < 1300  # realistic R amplitude, µV
    assert np.corrcoef(amplitudes, volumes)[0, 1] > 0.5  # respiration modulates R amplitude (EDR)


def test_acc_shows_gravity_and_breathing_at_the_breathing_rate(clean):
    events, truth = clean
    frames = of(events, AccFrame)
    assert all(f.samples_mg.shape == (36, 3) and f.fs_hz == 200.0 for f in frames)
    assert all(parse_pmd_frame(p.raw).measurement == MEASUREMENT_ACC
               for p in of(events, PmdPacket) if p.raw[0] == MEASUREMENT_ACC)
    acc = np.concatenate([f.samples_mg for f in frames]).astype(float)
    assert np.linalg.norm(acc.mean(axis=0)) == pytest.approx(1000.0, rel=0.05)
    moving = acc[30 * 200:] - acc[30 * 200:].mean(axis=0)
    # first principal component, as SCIENCE.md §5 suggests for chest ACC
    _, _, vt = np.linalg.svd(moving[::4], full_matrices=False)
    signal = moving @ vt[0]
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    freqs = np.fft.rfftfreq(len(signal), 1 / 200.0)
    band = freqs > 0.03
    peak_hz = freqs[band][np.argmax(spectrum[band])]
    assert peak_hz * 60 == pytest.approx(6.0, abs=0.2)
    _, spont_truth = clean
    # the regular breather: a spectral peak is only a breathing rate when breathing is regular (SCIENCE.md §5)
    events_sp, truth_sp = simulate(SimConfig.from_spec("sim:regular,acc", seed=1), 120.0)
    acc_sp = np.concatenate([f.samples_mg for f in of(events_sp, AccFrame)]).astype(float)[20 * 200:]
    z = acc_sp[:, 2] - acc_sp[:, 2].mean()
    spectrum = np.abs(np.fft.rfft(z * np.hanning(len(z))))
    freqs = np.fft.rfftfreq(len(z), 1 / 200.0)
    band = freqs > 0.03
    sel = truth_sp.breath_onset_s > 20
    assert freqs[band][np.argmax(spectrum[band])] * 60 == pytest.approx(
        np.mean(truth_sp.breath_rate_per_min[sel]), abs=1.0)


# --- spec parsing --------------------------------------------------------------------------------------------------

def test_from_spec_parses_keys_flags_and_ranges():
    assert SimConfig.from_spec("sim") == SimConfig()
    cfg = SimConfig.from_spec("sim:ectopic=2,hr=70,ecg,drift=0.5,disconnect=30-40+90-95", seed=5, participant="client")
    assert cfg.faults.ectopic_per_min == 2.0 and cfg.hr_bpm == 70.0 and cfg.ecg and not cfg.acc
    assert cfg.adherence.drift_per_min == 0.5 and cfg.seed == 5 and cfg.participant == "client"
    assert cfg.faults.disconnects == ((30.0, 40.0), (90.0, 95.0))
    assert SimConfig.from_spec("sim:seed=9,acc=no").seed == 9


@pytest.mark.parametrize(("spec", "words"), [
    ("sim:bogus=1", "unknown key 'bogus'"),
    ("sim:hr=fast", "hr='fast' is not a number"),
    ("sim:hr", "needs a value"),
    ("sim:contact=5", "start-end"),
    ("sim:hr=400", "outside 25-200"),
    ("sim:drop=1.5", "drop_prob"),
    ("ble:abc", "not a simulator spec"),
])
def test_from_spec_errors_are_one_line(spec, words):
    with pytest.raises(UsageError) as info:
        SimConfig.from_spec(spec)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_motion_fault_moves_only_the_accelerometer_and_only_in_its_ranges():
    from biotrainer.metrics.streams import streams_from_events

    cfg = SimConfig.from_spec("sim:seed=2,acc=1,motion=20-30+45-50")
    assert cfg.faults.motion == ((20.0, 30.0), (45.0, 50.0))
    moved, _ = simulate(cfg, 60.0)
    still, _ = simulate(SimConfig.from_spec("sim:seed=2,acc=1"), 60.0)
    assert [e.rr_ms for e in of(moved, Beat)] == [e.rr_ms for e in of(still, Beat)]
    assert len(of(moved, AccFrame)) == len(of(still, AccFrame)) > 0
    a, b = streams_from_events(moved), streams_from_events(still)
    diff = np.abs(a.acc_mg.astype(float) - b.acc_mg.astype(float)).max(axis=1)
    t = a.acc_t_s  # the samples' times carry the strap's ~10 ms timestamp offset: 0.1 s margins
    inside = ((t >= 20.1) & (t < 29.9)) | ((t >= 45.1) & (t < 49.9))
    outside = (t < 19.9) | ((t > 30.1) & (t < 44.9)) | (t > 50.1)
    assert diff[outside].max() == 0 and np.percentile(diff[inside], 90) > 100  # mg: steps, sway, tilt
