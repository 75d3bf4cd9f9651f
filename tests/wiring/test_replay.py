"""Replay: a recorded session comes back event for event, seeks to the right events, runs at any speed."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import biotrainer.cli as cli
from biotrainer.core.bus import Bus
from biotrainer.core.clock import RealClock, VirtualClock
from biotrainer.core.events import Annotation, EcgFrame, PmdPacket, SessionState
from biotrainer.core.session_runner import SessionRunner
from biotrainer.sources.replay import ReplayClock, ReplaySource
from biotrainer.sources.sim.synthetic import SyntheticStrap
from biotrainer.store import Library


def _is_lifecycle(e) -> bool:
    return isinstance(e, SessionState) and e.state in ("start", "stop")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A 30-s synthetic session with ECG, ACC, markers and a mid-session pause; returns (library, id, events)."""
    lib = Library(tmp_path_factory.mktemp("replay") / "lib")
    clock = VirtualClock(anchor_unix_s=1_795_000_000.0)
    bus = Bus()
    published: list = []
    bus.subscribe(published.append)
    writer = lib.new_session(clock=clock, participants={"self": "P1"})
    bus.subscribe(writer)
    runner = SessionRunner(bus, sources=[SyntheticStrap(30.0, seed=3)], clock=clock)

    def pause_once(event) -> None:
        if event.t_s >= 12.0 and not getattr(pause_once, "done", False):
            pause_once.done = True
            runner.annotate("marked live", author="T1")
            runner.pause()
            runner.resume()

    bus.subscribe(pause_once)
    runner.run()
    assert {"pause", "resume"} <= {e.state for e in published if isinstance(e, SessionState)}
    return lib, writer.meta.id, published


def replay_all(reader, clock, **kw) -> list:
    bus = Bus()
    got: list = []
    bus.subscribe(got.append)
    result = SessionRunner(bus, sources=[ReplaySource(reader, **kw)], clock=clock).run()
    assert result.reason == "sources finished" and result.listener_errors == {}
    return got


def test_replay_equals_the_recording_event_for_event(recording):
    lib, sid, published = recording
    with lib.open(sid) as reader:
        got = replay_all(reader, VirtualClock())
    # the replaying runner publishes its own start and stop around the recorded events
    assert _is_lifecycle(got[0]) and got[0].state == "start" and got[-1].state == "stop"
    expected = [e for e in published if not _is_lifecycle(e)]
    assert got[1:-1] == expected
    assert sum(isinstance(e, Annotation) for e in got) == 1
    raw_a = [e.raw for e in got if isinstance(e, PmdPacket)]
    assert raw_a == [e.raw for e in published if isinstance(e, PmdPacket)] and len(raw_a) > 100
    ecg_a = [e.samples_uv for e in got if isinstance(e, EcgFrame)]
    ecg_b = [e.samples_uv for e in published if isinstance(e, EcgFrame)]
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(ecg_a, ecg_b, strict=True))


def test_build_replay_equals_the_recording_event_for_event(recording):
    """The one replay wiring (CLI and GUI): same events, and with metrics the engine only adds its updates."""
    from biotrainer.wiring import build_replay

    lib, sid, published = recording
    expected = [e for e in published if not _is_lifecycle(e)]
    with lib.open(sid) as reader:
        for metrics in (False, True):
            got: list = []
            replay = build_replay(reader, clock=VirtualClock(), listeners=[got.append], metrics=metrics)
            assert replay.run().reason == "sources finished"
            assert [e for e in got if e.KIND != "metrics"][1:-1] == expected
            assert (replay.metrics_engine is not None) == metrics == any(e.KIND == "metrics" for e in got)


def test_fast_forward_stops_exactly_at_the_target_then_keeps_the_chosen_state():
    clock = ReplayClock(1.0, start_s=10.0)
    clock.pause()
    clock.fast_forward_to(40.0)
    assert clock.forwarding_to_s == 40.0
    clock.sleep_until(25.0)  # paused, yet forwarding runs as fast as possible
    assert clock.now_s() == 25.0
    clock.sleep_until(55.0)  # never past the target
    assert clock.now_s() == 40.0 and clock.forwarding_to_s is None
    clock.sleep_until(41.0)  # from there on the chosen state: paused
    assert clock.now_s() == 40.0 and clock.paused
    clock.set_speed(None)
    clock.fast_forward_to(45.0)
    clock.seek(5.0)  # a seek ends the fast-forward
    assert clock.forwarding_to_s is None and clock.now_s() == 5.0


def test_replay_source_alone_returns_exactly_the_file_in_order(recording):
    lib, sid, published = recording
    with lib.open(sid) as reader:
        src = ReplaySource(reader, include_lifecycle=True, batch=97)  # small batches cross many boundaries
        out: list = []
        t = 0.0
        while not src.finished:
            out.extend(src.events_until(t))
            t += 0.37
        assert out == published == list(reader.events())
        assert src.emitted == len(published)


def test_seek_forward_and_back_gives_the_recorded_events_from_there(recording):
    lib, sid, published = recording
    body = [e for e in published if not _is_lifecycle(e)]
    with lib.open(sid) as reader:
        src = ReplaySource(reader)
        first = src.events_until(5.0)
        assert first == [e for e in body if e.t_s <= 5.0]
        src.seek(20.0)
        assert src.events_until(25.0) == [e for e in body if 20.0 <= e.t_s <= 25.0]
        src.seek(7.5)
        after = src.events_until(8.0)
        assert after == [e for e in body if 7.5 <= e.t_s <= 8.0] and after
        assert src.seeks == 2 and src.position_s == after[-1].t_s
        assert src.events_until(1e9) == [e for e in body if e.t_s > 8.0]
        assert src.finished


def test_post_hoc_annotation_is_replayed_at_its_time(recording, tmp_path):
    lib, sid, published = recording
    import shutil

    copy = tmp_path / "copy.sqlite"
    shutil.copy(lib.session_path(sid), copy)
    note = lib.annotate(str(copy), 3.0, "later note")
    with lib.open(str(copy)) as reader:
        out = ReplaySource(reader, include_lifecycle=True).events_until(1e9)
    i = out.index(note)
    assert out[i - 1].t_s <= 3.0 <= out[i + 1].t_s
    assert [e for e in out if e is not out[i]] == published


def test_real_clock_speed_and_replay_clock_max_give_the_same_events(recording):
    lib, sid, published = recording
    with lib.open(sid) as reader:
        src_short = dict(kinds=["hr", "beat", "phase", "session", "annotation"])
        fast = replay_all(reader, RealClock(speed=200.0), **src_short)
        virtual = replay_all(reader, VirtualClock(), **src_short)
        rc = replay_all(reader, ReplayClock(None, anchor_unix_s=reader.meta.anchor_unix_s), **src_short)
    strip = virtual[1:-1]
    assert fast[1:-1] == strip == rc[1:-1]
    assert strip == [e for e in published if e.KIND in src_short["kinds"] and not _is_lifecycle(e)]


def test_replay_clock_pause_seek_speed():
    clock = ReplayClock(None)
    assert clock.now_s() == 0.0
    clock.sleep_until(4.0)
    assert clock.now_s() == 4.0
    clock.pause()
    clock.sleep_until(9.0)  # paused: time does not move
    assert clock.now_s() == 4.0 and clock.paused
    clock.seek(1.5)
    assert clock.now_s() == 1.5
    clock.resume()
    clock.set_speed(2.0)
    t = clock.now_s()
    assert t >= 1.5
    clock.pause()
    frozen = clock.now_s()
    assert clock.now_s() == frozen >= t
    with pytest.raises(ValueError):
        clock.set_speed(0)


def test_seeking_the_clock_seeks_attached_sources_during_a_run(recording):
    lib, sid, published = recording
    body = [e for e in published if not _is_lifecycle(e)]
    with lib.open(sid) as reader:
        clock = ReplayClock(None)
        src = ReplaySource(reader, clock=clock)
        bus = Bus()
        got: list = []
        bus.subscribe(got.append)

        def seek_back(event) -> None:
            if event.t_s >= 10.0 and src.seeks == 0 and not getattr(seek_back, "asked", False):
                seek_back.asked = True
                clock.seek(4.0)

        bus.subscribe(seek_back)
        SessionRunner(bus, sources=[src], clock=clock).run()
    got = got[1:-1]
    jump = next(i for i in range(1, len(got)) if got[i].t_s < got[i - 1].t_s)
    assert got[:jump] == body[:jump]  # played up to the seek
    assert got[jump:] == [e for e in body if e.t_s >= 4.0]  # and from 4 s to the end after it


def test_stop_while_paused_ends_the_run(recording):
    lib, sid, _ = recording
    with lib.open(sid) as reader:
        clock = ReplayClock(1.0)
        clock.pause()
        runner = SessionRunner(Bus(), sources=[ReplaySource(reader, clock=clock)], clock=clock)
        result: list = []
        th = threading.Thread(target=lambda: result.append(runner.run()))
        th.start()
        runner.stop("user")
        th.join(timeout=30)
        assert not th.is_alive() and result[0].reason == "user"


def test_cli_replay_max_speed_summary(recording, monkeypatch, capsys):
    lib, sid, published = recording
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("sessions", "replay", "participants"))
    code = cli.main(["replay", sid[:12], "--speed", "max", "--json", "--library", str(lib.root)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["id"] == sid and out["end_reason"] == "sources finished"
    expected: dict[str, int] = {}
    for e in published:
        expected[e.KIND] = expected.get(e.KIND, 0) + 1
    assert out["counts"] == expected  # recorded start/stop replaced by the replaying runner's own
    assert out["events"] == len(published)
    assert out["replayed_s"] == pytest.approx(published[-1].t_s, abs=0.1)
    code = cli.main(["replay", sid, "--speed", "fast-ish", "--library", str(lib.root)])
    assert code == 2 and "--speed 'fast-ish'" in capsys.readouterr().err
    code = cli.main(["replay", sid, "--speed", "max", "--library", str(lib.root)])
    text = capsys.readouterr().out
    assert code == 0 and "real time" in text and "ecg" in text
