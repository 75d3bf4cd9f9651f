"""Replay for researchers: the end of a max-speed replay, the overview on open, keys, speeds, annotations, gaps,
the two people of a dyad."""

from __future__ import annotations

import numpy as np
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


def _open(qtbot, root, sid, size=(1366, 700)):
    from biotrainer.gui.replay_screen import ReplayScreen

    screen = ReplayScreen(library=root)
    qtbot.addWidget(screen)
    screen.resize(*size)
    screen.show()
    assert screen.open_session(sid)
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    screen.tick()
    return screen


@pytest.mark.slow
def test_opening_shows_the_whole_session_then_zoom_keys_and_speeds_work(qtbot, recorded):
    root, sid = recorded
    screen = _open(qtbot, root, sid)
    c = screen.controller
    duration_s = c.duration_s
    assert c.title.startswith("SIMULATED · reset · P07")  # a simulated recording says so in replay too
    # the overview: every beat of the session is loaded and the time axis spans the whole session, paused
    assert not c.playing and c.position_s() == pytest.approx(duration_s)
    x0, x1 = screen.plots.plots["hr"].getViewBox().viewRange()[0]
    assert (x0, x1) == (pytest.approx(0.0, abs=1e-6), pytest.approx(duration_s, abs=1e-6))
    assert screen.model.rr.t_s[np.isfinite(screen.model.rr.values())].max() > duration_s - 3
    # zoom in around the middle: a quarter of the span
    screen.zoom(0.25)
    z0, z1 = screen.plots.plots["hr"].getViewBox().viewRange()[0]
    assert z1 - z0 == pytest.approx(duration_s / 4, rel=1e-6) and (z0 + z1) / 2 == pytest.approx(duration_s / 2)
    # keys: Home goes to the start, Right steps 10 s, Space plays and pauses
    from PyQt5.QtCore import Qt

    screen.setFocus()
    qtbot.keyClick(screen, Qt.Key_Home)
    qtbot.waitUntil(lambda: not c.seeking, timeout=WAIT_MS)
    assert c.position_s() == pytest.approx(0.0, abs=0.06)
    qtbot.keyClick(screen, Qt.Key_Right)
    qtbot.waitUntil(lambda: not c.seeking, timeout=WAIT_MS)
    assert c.position_s() == pytest.approx(10.0, abs=0.06)
    qtbot.keyClick(screen, Qt.Key_Space)
    assert c.playing
    qtbot.keyClick(screen, Qt.Key_Space)
    assert not c.playing
    # speeds from half speed to max reach the replay clock
    for label, speed in (("0.5×", 0.5), ("16×", 16.0), ("max", None)):
        screen.speed_box.setCurrentText(label)
        assert c.clock.speed == speed
    screen.shutdown()


@pytest.mark.slow
def test_a_strap_disconnect_is_a_break_and_a_shaded_band_not_a_fall_to_zero(qtbot, recorded):
    root, sid = recorded
    screen = _open(qtbot, root, sid)
    assert screen.controller.disconnects == [(pytest.approx(60.0, abs=1.0), pytest.approx(75.0, abs=1.5))]
    assert screen.timeline.disconnects == screen.controller.disconnects
    assert "strap disconnected" in screen.timeline.tooltip_at(67.0, screen.timeline._x(67.0))
    m = screen.model
    assert len(m.disconnects) == 1
    a, b = m.disconnects[0]
    assert a == pytest.approx(60.0, abs=1.0) and b == pytest.approx(75.0, abs=1.5)
    screen.plots.redraw()
    t, hr = screen.plots.hr_curve.getData()
    inside = (t > a + 0.5) & (t < b - 1.0)  # (the simulator sends one packet 0.8 s before "connected")
    assert not np.any(np.isfinite(hr[inside]))  # no heart rate drawn in the gap (and never 0 bpm)
    assert np.nanmin(hr) > 30
    t, rr = screen.plots.rr_curve.getData()
    before = np.flatnonzero(t < a)[-1]
    assert np.isnan(rr[before + 1])  # the RR line breaks at the gap instead of crossing it
    (band,) = [items[0] for items in screen.plots._bands]
    assert band.getRegion() == (pytest.approx(a), pytest.approx(b))
    screen.shutdown()


@pytest.mark.slow
def test_an_annotation_added_in_replay_is_saved_in_the_session_file(qtbot, recorded):
    from biotrainer.store import Library

    root, sid = recorded
    screen = _open(qtbot, root, sid)
    screen.seek(42.0)
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    assert screen.annotate("client yawned")
    assert (pytest.approx(42.0, abs=0.06), "client yawned") in screen.timeline.annotations
    assert screen.model.annotations[-1][1] == "client yawned"
    with Library(root).open(sid) as reader:
        assert [(round(a.t_s), a.text) for a in reader.annotations()] == [(42, "client yawned")]
    # edit it: a double-click on its mark on the timeline asks; here the text is given
    at = screen.timeline.annotations[0][0]
    assert screen.timeline.annotation_at(screen.timeline._x(at) + 3) == (at, "client yawned")
    assert screen.edit_annotation(at, "client yawned", "client yawned twice")
    assert screen.timeline.annotations == [(at, "client yawned twice")]
    with Library(root).open(sid) as reader:
        assert [a.text for a in reader.annotations()] == ["client yawned twice"]
    assert not screen.edit_annotation(at, "no such note", "x")  # said in one line, nothing changed
    screen.shutdown()


@pytest.fixture(scope="module")
def dyad(tmp_path_factory):
    from biotrainer.wiring import SessionPlan, build_session, parse_device_specs

    root = str(tmp_path_factory.mktemp("gui-dyad"))
    plan = SessionPlan(devices=parse_device_specs(["therapist=sim:hr=60", "client=sim:hr=80"]), protocol="reset",
                       participants={"therapist": "T01", "client": "C01"}, seed=5, speed=None, library=root)
    session = build_session(plan)
    session.run()
    return root, session.session_id


@pytest.mark.slow
def test_a_two_strap_session_switches_between_the_two_people(qtbot, dyad):
    root, sid = dyad
    screen = _open(qtbot, root, sid)
    assert screen.person_box.isVisibleTo(screen)
    assert sorted(screen.person_box.itemData(i) for i in range(screen.person_box.count())) == ["both", "client",
                                                                                              "therapist"]
    first = screen.model.participant
    mean_hr = {first: float(np.nanmean(screen.model.hr.values()))}
    other = "client" if first == "therapist" else "therapist"
    screen.person_box.setCurrentIndex(screen.person_box.findData(other))
    screen.person_box.activated.emit(screen.person_box.currentIndex())
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    screen.tick()
    assert screen.model.participant == other
    mean_hr[other] = float(np.nanmean(screen.model.hr.values()))
    assert mean_hr["therapist"] == pytest.approx(60, abs=6) and mean_hr["client"] == pytest.approx(80, abs=6)
    screen.shutdown()


@pytest.mark.slow
def test_a_two_strap_session_shows_both_heart_rates_on_one_plot(qtbot, dyad):
    from PyQt5.QtCore import Qt

    root, sid = dyad
    screen = _open(qtbot, root, sid)
    screen.person_box.setCurrentIndex(screen.person_box.findData("both"))
    screen.person_box.activated.emit(screen.person_box.currentIndex())
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    screen.tick()
    assert screen.model.participant == "client" and screen.other_model.participant == "therapist"
    _t, shown = screen.plots.hr_curve.getData()
    _t, other = screen.plots.hr_other_curve.getData()
    assert float(np.nanmean(shown)) == pytest.approx(80, abs=6) and float(np.nanmean(other)) == pytest.approx(60, abs=6)
    assert screen.plots.hr_other_curve.opts["pen"].style() == Qt.DashLine
    assert "C01 (client)" in screen.plots.legend.text() and screen.plots.legend.isVisibleTo(screen)
    screen.person_box.setCurrentIndex(screen.person_box.findData("therapist"))
    screen.person_box.activated.emit(screen.person_box.currentIndex())
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    screen.tick()
    assert screen.plots.overlay is None and screen.controller.extra_models == []
    assert not screen.plots.legend.isVisibleTo(screen)
    screen.shutdown()


def test_the_overview_comes_from_the_analysis_series_without_replaying_the_metrics_engine(qtbot, recorded):
    from biotrainer.analysis import series
    from biotrainer.metrics.streams import streams_from_events
    from biotrainer.store import Library

    root, sid = recorded
    screen = _open(qtbot, root, sid)
    c = screen.controller
    assert c.runner is None and c.clock is None  # no replay run: the recording was read once
    qtbot.waitUntil(lambda: not c.metrics_pending, timeout=WAIT_MS)
    screen.tick()
    with Library(root).open(sid) as reader:
        events = list(reader.events())
        n_beats = len(reader.beats())
    streams = streams_from_events(events, "self")
    ends, values = series.window_trend(streams, ("hrv.ln_rmssd",))
    m = screen.model
    assert len(ends) > 5 and np.allclose(m.series["ln_rmssd"].t_s, ends)
    assert np.allclose(m.series["ln_rmssd"].values(), values["hrv.ln_rmssd"], equal_nan=True)
    assert np.isfinite(m.rr.values()).sum() == n_beats  # every beat, with the disconnect as a gap
    assert m.disconnects and m.disconnects[0][0] == pytest.approx(60.0, abs=2.0)
    assert m.metrics["ln_rmssd"].value == pytest.approx(values["hrv.ln_rmssd"][np.isfinite(values["hrv.ln_rmssd"])][-1])
    assert len(m.rsa_breaths) > 10 and 5 < float(np.nanmedian(m.rsa_breaths.values())) < 300
    assert c.position_s() == pytest.approx(c.duration_s) and not c.playing
    screen.shutdown()


def test_a_seek_while_the_overview_loads_wins(qtbot, recorded):
    from biotrainer.gui.replay_screen import ReplayScreen

    root, sid = recorded
    screen = ReplayScreen(library=root)
    qtbot.addWidget(screen)
    screen.show()
    assert screen.open_session(sid)
    screen.seek(120.0)  # before the overview arrived
    screen.controller.wait_overview()
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    qtbot.wait(100)
    screen.tick()
    assert screen.controller.position_s() == pytest.approx(120.0, abs=0.1)
    assert not screen.controller.at_end and screen.controller.clock is not None
    screen.shutdown()
