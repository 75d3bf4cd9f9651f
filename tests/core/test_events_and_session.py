"""Event codec round trips and the session runner wiring sources, controls and listeners over one bus."""

import threading

import numpy as np
import pytest

from biotrainer.core.bus import Bus
from biotrainer.core.clock import RealClock, VirtualClock
from biotrainer.core.events import (
    SESSION,
    AccFrame,
    Annotation,
    Battery,
    Beat,
    Connection,
    Contact,
    Cue,
    DecodeError,
    EcgFrame,
    HeartRate,
    HrPacket,
    MetricUpdate,
    PacerMarker,
    PhaseMarker,
    PmdPacket,
    SessionState,
    from_record,
    to_record,
)
from biotrainer.core.session_runner import SessionRunner
from biotrainer.core.source import PushSource, ScheduledSource

ALL_KINDS = [
    HrPacket(t_s=1.5, raw=b"\x10\x48\x00\x04", device="AA"),
    PmdPacket(t_s=1.5, raw=bytes(range(20))),
    Beat(t_s=1.5, rr_1024=853, beat_t_s=1.2, participant="client"),
    HeartRate(t_s=1.5, hr_bpm=72, contact=None, energy_kj=12),
    Contact(t_s=2.0, contact=False),
    Battery(t_s=0.1, percent=87),
    Connection(t_s=0.0, state="connected", reason="chest"),
    DecodeError(t_s=3.0, stream="hr", reason="odd length"),
    EcgFrame(t_s=4.0, fs_hz=130.0, samples_uv=np.array([-8388608, 0, 8388607], dtype=np.int32),
             last_sample_t_s=3.99, sensor_ts_ns=123),
    AccFrame(t_s=4.0, fs_hz=200.0, samples_mg=np.array([[1, -2, 1000], [-32768, 32767, 0]], dtype=np.int16),
             last_sample_t_s=3.98),
    PacerMarker(t_s=5.0, participant=SESSION, segment="inhale", rate_per_min=5.5, breath_index=3, duration_s=4.36),
    PhaseMarker(t_s=6.0, participant=SESSION, name="paced", index=1, state="start", duration_s=120.0, paced=True,
                rate_per_min=6.0),
    Cue(t_s=7.0, participant=SESSION, text="Feel the breath — rising, falling"),
    Annotation(t_s=8.0, participant=SESSION, text="client yawned", author="therapist"),
    SessionState(t_s=9.0, participant=SESSION, state="stop", reason="protocol finished"),
    MetricUpdate(t_s=9.0, values={"ln_rmssd": 3.5, "lf_ms2": None}, reasons={"lf_ms2": "too short"}),
]


@pytest.mark.parametrize("event", ALL_KINDS, ids=lambda e: e.KIND)
def test_every_event_kind_round_trips_exactly(event):
    back = from_record(*to_record(event))
    assert back == event
    assert type(back) is type(event)


def test_frame_equality_compares_samples():
    a = ALL_KINDS[8]
    b = EcgFrame(t_s=4.0, fs_hz=130.0, samples_uv=np.array([-8388608, 1, 8388607], dtype=np.int32),
                 last_sample_t_s=3.99, sensor_ts_ns=123)
    assert a != b


class Ticker(ScheduledSource):
    """Emits a Cue every second up to ``until_s``."""

    def __init__(self, until_s):
        self.until_s = until_s
        self.next_s = 0.0

    def events_until(self, t_s):
        out = []
        while self.next_s <= min(t_s, self.until_s):
            out.append(Cue(t_s=self.next_s, text=f"{self.next_s:.0f}"))
            self.next_s += 1.0
        return out

    @property
    def finished(self):
        return self.next_s > self.until_s


class Collector(list):
    def __init__(self):
        super().__init__()
        self.ticks = 0
        self.closed = False

    def __call__(self, e):
        self.append(e)

    def tick(self, t_s):
        self.ticks += 1

    def close(self):
        self.closed = True


def test_runner_ends_when_scheduled_sources_finish_and_orders_by_time():
    bus = Bus()
    got = bus.subscribe(Collector())
    result = SessionRunner(bus, sources=[Ticker(5)], clock=VirtualClock()).run()
    assert result.reason == "sources finished"
    cues = [e for e in got if isinstance(e, Cue)]
    assert [c.text for c in cues] == ["0", "1", "2", "3", "4", "5"]
    assert isinstance(got[0], SessionState) and got[0].state == "start"
    assert isinstance(got[-1], SessionState) and got[-1].state == "stop"
    times = [e.t_s for e in got]
    assert times == sorted(times)
    assert got.closed and got.ticks > 0


def test_runner_stops_at_duration():
    bus = Bus()
    got = bus.subscribe(Collector())
    result = SessionRunner(bus, sources=[Ticker(100)], clock=VirtualClock(), duration_s=10).run()
    assert result.reason == "duration reached"
    assert result.end_t_s == 10
    assert max(e.t_s for e in got) == 10


def test_a_failing_listener_never_stops_the_session(caplog):
    bus = Bus()

    def broken(event):
        raise RuntimeError("metric blew up")

    bus.subscribe(broken)
    got = bus.subscribe(Collector())
    result = SessionRunner(bus, sources=[Ticker(3)], clock=VirtualClock()).run()
    assert result.reason == "sources finished"
    assert len([e for e in got if isinstance(e, Cue)]) == 4
    assert sum(result.listener_errors.values()) == len(got)


class ThreadPush(PushSource):
    """Pushes HeartRate events from its own thread until stopped."""

    def __init__(self):
        self._stop = threading.Event()
        self.thread = None

    def start(self, emit, now_s):
        def loop():
            while not self._stop.wait(0.01):
                emit(HeartRate(t_s=now_s(), hr_bpm=60))
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def stop(self):
        self._stop.set()
        self.thread.join(2)


def test_push_sources_controls_and_stop_from_another_thread():
    bus = Bus()
    got = bus.subscribe(Collector())
    src = ThreadPush()
    runner = SessionRunner(bus, sources=[src], clock=RealClock(speed=1.0), tick_s=0.01)

    def control():
        import time
        time.sleep(0.1)
        runner.annotate("marked", author="therapist")
        runner.pause()
        time.sleep(0.05)
        runner.resume()
        time.sleep(0.05)
        runner.stop()

    t = threading.Thread(target=control)
    t.start()
    result = runner.run()
    t.join()
    assert result.reason == "stopped"
    assert not src.thread.is_alive()
    kinds = [e.KIND for e in got]
    assert kinds.count("hr") > 0
    states = [e.state for e in got if isinstance(e, SessionState)]
    assert states == ["start", "pause", "resume", "stop"]
    ann = [e for e in got if isinstance(e, Annotation)]
    assert len(ann) == 1 and ann[0].text == "marked" and ann[0].participant == SESSION
