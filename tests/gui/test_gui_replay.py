"""Replay for researchers: the end of a max-speed replay, the overview on open, keys, speeds, annotations, gaps,
the two people of a dyad."""

from __future__ import annotations

import pytest

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A library with one short reset session with a strap disconnect (simulated, virtual clock)."""
    from biotrainer.wiring import SessionPlan, build_session, parse_device_specs

    root = str(tmp_path_factory.mktemp("gui-replay"))
    plan = SessionPlan(devices=parse_device_specs(["sim:disconnect=60-75"]), protocol="reset",
                       participants={"self": "P07"}, seed=3, speed=None, library=root, title="gap")
    session = build_session(plan)
    session.run()
    return root, session.session_id


@pytest.mark.slow
def test_a_max_speed_replay_ends_with_the_plots_inside_the_session(qtbot, recorded):
    """The bug: at max speed the replay clock ran on past the last event, so the plots showed a window past the
    end of the session."""
    from biotrainer.gui.replay_screen import ReplayScreen

    root, sid = recorded
    screen = ReplayScreen(library=root)
    qtbot.addWidget(screen)
    screen.resize(1366, 700)
    screen.show()
    assert screen.open_session(sid)
    duration_s = screen.controller.duration_s
    screen.speed_box.setCurrentText("max")
    screen.seek(0.0)
    screen.toggle_play()
    qtbot.waitUntil(lambda: not screen.controller.playing, timeout=WAIT_MS)
    qtbot.wait(1500)  # the clock of a stay-open run keeps going at max speed
    screen.tick()
    x0, x1 = screen.plots.plots["hr"].getViewBox().viewRange()[0]
    assert x1 <= duration_s + 0.5
    assert screen.model.now() <= duration_s
    assert screen.controller.position_s() == pytest.approx(duration_s)
    screen.shutdown()
