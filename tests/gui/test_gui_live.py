"""The live screen runs real sessions (simulated strap, sped-up clock) end to end, headless."""

from __future__ import annotations

import pytest

from biotrainer.gui.controller import LiveConfig

SPEED = 60.0  # the 3-minute reset protocol takes 3 s
WAIT_MS = 60_000


def _run(live, qtbot, speed=SPEED, **config):
    cfg = LiveConfig(protocol="reset", participant="P01", source="sim:seed=3", library=live.library, speed=speed,
                     **config)
    assert live.start(cfg)
    return cfg


def _wait_end(live, qtbot):
    qtbot.waitUntil(lambda: not live.controller.running, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: live.model.state == "stopped", timeout=WAIT_MS)


@pytest.mark.slow
def test_a_protocol_runs_start_to_end_and_lands_in_the_library(live, qtbot):
    from biotrainer.protocols import load_protocol
    from biotrainer.store import Library

    phases = []
    live.model.phase_changed.connect(lambda name: name and phases.append(name))
    finished = []
    live.controller.finished.connect(lambda reason, saved: finished.append((reason, saved)))
    _run(live, qtbot)
    assert not live.start_button.isEnabled() and live.stop_button.isEnabled()
    _wait_end(live, qtbot)
    qtbot.waitUntil(lambda: bool(finished), timeout=WAIT_MS)
    reason, saved = finished[0]
    assert reason == "protocol finished"
    assert live.model.stop_reason == "protocol finished"
    assert phases == [p.name for p in load_protocol("reset").phases]
    sessions = Library(live.library).list_sessions()
    assert [s.id for s in sessions] == [saved]
    s = sessions[0]
    assert s.complete and s.protocol == "reset" and s.participant == "P01"
    # every beat the screen drew is in the recording (and the other way round)
    assert s.n_beats == live.model.counts.beats > 150
    assert live.start_button.isEnabled() and not live.stop_button.isEnabled()
    assert live.phase_label.text() == "Session ended"


@pytest.mark.slow
def test_annotations_are_recorded_with_their_text(live, qtbot):
    from biotrainer.store import Library

    _run(live, qtbot)
    qtbot.waitUntil(lambda: live.model.counts.beats > 20, timeout=WAIT_MS)
    live.annotate("client yawned")
    qtbot.waitUntil(lambda: len(live.model.annotations) == 1, timeout=WAIT_MS)
    live.annotate("")
    qtbot.waitUntil(lambda: len(live.model.annotations) == 2, timeout=WAIT_MS)
    _wait_end(live, qtbot)
    lib = Library(live.library)
    (summary,) = lib.list_sessions()
    with lib.open(summary.id) as reader:
        recorded = [(a.t_s, a.text) for a in reader.annotations()]
    assert [text for _, text in recorded] == ["client yawned", ""]
    assert [t for t, _ in recorded] == [t for t, _ in live.model.annotations]
    assert 0 < recorded[0][0] <= recorded[1][0]


@pytest.mark.slow
def test_pause_freezes_the_pacer_and_resume_continues(live, qtbot):
    _run(live, qtbot, speed=20.0)
    qtbot.waitUntil(lambda: live.model.pacer_point() is not None, timeout=WAIT_MS)
    live.toggle_pause()
    qtbot.waitUntil(lambda: live.model.state == "paused", timeout=WAIT_MS)
    qtbot.wait(100)  # markers due by the pause time may still arrive just after the pause event
    live.tick()
    first = live.model.pacer_point()
    qtbot.wait(300)  # 18 s of session time at this speed
    live.tick()
    assert live.model.pacer_point() == first
    assert live.pause_button.text() == "Resume"
    live.toggle_pause()
    qtbot.waitUntil(lambda: live.model.state == "running", timeout=WAIT_MS)
    live.stop()
    _wait_end(live, qtbot)
    assert live.model.stop_reason == "stopped"


def test_client_view_follows_the_pacer(live, qtbot):
    live.toggle_client_view()
    client = live.client_window
    qtbot.addWidget(client)
    assert client.isVisible()
    _run(live, qtbot)
    segments = set()
    volumes = set()

    def follows() -> bool:
        live.tick()
        p, q = client.pacer.point, live.pacer.point
        assert (p is None) == (q is None)
        if p is not None:
            assert (p.segment, p.breath_index, p.volume) == (q.segment, q.breath_index, q.volume)
            segments.add(p.segment)
            volumes.add(round(p.volume, 2))
        return {"inhale", "exhale"} <= segments and len(volumes) > 5

    qtbot.waitUntil(follows, timeout=WAIT_MS)
    assert client.cue.text() == live.model.cue
    live.stop()
    _wait_end(live, qtbot)


@pytest.mark.slow
def test_the_app_survives_a_strap_disconnect_mid_session(live, qtbot):
    from biotrainer.store import Library

    states = []
    live.model.devices_changed.connect(
        lambda: states.extend(d.state for d in live.model.devices.values()))
    cfg = LiveConfig(protocol="reset", participant="P01", source="sim:seed=4,disconnect=40-70",
                     library=live.library, speed=SPEED)
    assert live.start(cfg)
    qtbot.waitUntil(lambda: "disconnected" in states, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: live.banner.isVisible(), timeout=WAIT_MS)
    assert "safe" in live.banner.text()
    _wait_end(live, qtbot)
    assert live.model.stop_reason == "protocol finished"
    assert states.index("disconnected") < len(states) - 1 and states[-1] == "connected"
    (summary,) = Library(live.library).list_sessions()
    assert summary.complete and summary.n_beats == live.model.counts.beats > 100
    t = live.model.rr.t_s
    assert not ((t > 45) & (t < 65)).any()  # no beats while the link was down, beats on both sides
    assert (t < 40).any() and (t > 75).any()


def test_a_session_that_cannot_start_says_why_and_keeps_the_window(live, qtbot):
    live.start(LiveConfig(protocol="no-such-protocol", library=live.library, speed=SPEED))
    qtbot.waitUntil(lambda: not live.controller.running, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: live.banner.isVisible(), timeout=WAIT_MS)
    assert "no-such-protocol" in live.banner.text()
    live.tick()
    assert live.start_button.isEnabled() and live.phase_label.text() == "Ready"
