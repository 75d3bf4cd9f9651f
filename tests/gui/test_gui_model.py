"""The session model and the small views, fed by hand (no session runner)."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.events import SESSION, Beat, HeartRate, MetricUpdate, PacerMarker, PhaseMarker, SessionState
from biotrainer.gui.ring import Ring


def test_ring_keeps_the_newest_points_in_order_without_growing():
    r = Ring(4)
    for i in range(10):
        r.append(float(i), i * 10.0)
    assert len(r) == 4
    assert r.t_s.tolist() == [6.0, 7.0, 8.0, 9.0]
    assert r.values().tolist() == [60.0, 70.0, 80.0, 90.0]
    t, v = r.window(7.5)
    assert t.tolist() == [8.0, 9.0] and v.tolist() == [80.0, 90.0]
    r.append(10.0, None)
    assert np.isnan(r.last())


def test_model_pacer_follows_the_protocol_runner_exactly():
    """The pacer drawn from PacerMarker events equals ProtocolRunner.pacer_at at every moment."""
    from biotrainer.gui.model import SessionModel
    from biotrainer.protocols import ProtocolRunner, load_protocol

    runner = ProtocolRunner(load_protocol("reset"))
    model = SessionModel()
    model.apply(SessionState(t_s=0.0, participant=SESSION, state="start"))
    checked = 0
    for t in np.arange(0.0, 150.0, 0.37):
        for e in runner.events_until(float(t)):
            model.apply(e)
        expected = runner.pacer_at(float(t))
        got = model.pacer_point(float(t))
        if expected is None:
            assert got is None
            continue
        assert got is not None
        assert got.segment == expected.segment
        assert got.volume == pytest.approx(expected.volume, abs=1e-6)
        checked += 1
    assert checked > 200


def test_model_freezes_the_pacer_during_a_pause_and_resumes_where_it_stopped():
    from biotrainer.gui.model import SessionModel

    m = SessionModel()
    m.apply(SessionState(t_s=0.0, participant=SESSION, state="start"))
    m.apply(PhaseMarker(t_s=0.0, participant=SESSION, name="paced", index=0, state="start", duration_s=60.0,
                        paced=True, rate_per_min=6.0))
    m.apply(PacerMarker(t_s=0.0, participant=SESSION, segment="inhale", rate_per_min=6.0, breath_index=0,
                        duration_s=4.0))
    m.apply(SessionState(t_s=1.0, participant=SESSION, state="pause"))
    frozen = m.pacer_point()
    assert frozen is not None and frozen.segment_progress == pytest.approx(0.25)
    m.apply(SessionState(t_s=11.0, participant=SESSION, state="resume"))
    # 10 s of pause later the breath continues from the same place
    assert m.pacer_point(12.0).segment_progress == pytest.approx(0.5)
    assert m.phase_time_left_s() is not None


def test_model_keeps_metric_reasons_and_one_rsa_point_per_breath():
    from biotrainer.gui.model import SessionModel

    m = SessionModel()
    for t, rsa in ((1.0, None), (2.0, 80.0), (3.0, 80.0), (4.0, 95.0)):
        values = {"rsa_p2t_ms": rsa, "ln_rmssd": None}
        m.apply(MetricUpdate(t_s=t, values=values, reasons={"ln_rmssd": "only 12 s of clean beats",
                                                            "rsa_p2t_ms": "no full breath yet"}))
    assert m.metrics["ln_rmssd"].value is None
    assert m.metrics["ln_rmssd"].reason == "only 12 s of clean beats"
    assert m.metrics["rsa_p2t_ms"].value == 95.0
    finite = m.series["rsa_p2t_ms"].values()
    assert finite[np.isfinite(finite)].tolist() == [80.0, 95.0]


def test_model_marks_an_ectopic_looking_beat_for_display():
    from biotrainer.gui.model import SessionModel

    m = SessionModel()
    t = 0.0
    for rr_ms in (1000, 1000, 1000, 1000, 600, 1000, 1000):
        t += rr_ms / 1000
        m.apply(Beat(t_s=t, rr_1024=round(rr_ms * 1.024), beat_t_s=t, device="d"))
    flags = m.rr.values(1)
    assert flags.tolist() == [0, 0, 0, 0, 1, 0, 0]


def test_metric_tile_shows_a_dash_and_the_reason_for_a_poor_window(qtbot):
    from biotrainer.gui.metric_tiles import MetricTiles
    from biotrainer.gui.model import SessionModel

    m = SessionModel()
    tiles = MetricTiles(m)
    qtbot.addWidget(tiles)
    m.apply(MetricUpdate(t_s=5.0, values={"ln_rmssd": None, "hr_bpm": 64.4},
                         reasons={"ln_rmssd": "12 % of beats corrected (over 5 %)"}))
    tiles.refresh()
    assert tiles.tiles["ln_rmssd"].value.text() == "—"
    assert "corrected" in tiles.tiles["ln_rmssd"].reason.text()
    assert tiles.tiles["hr_bpm"].value.text() == "64"
    assert tiles.tiles["hr_bpm"].reason.text() == ""


def test_pacer_widget_says_inhale_hold_and_exhale_differently(qtbot):
    from biotrainer.gui.pacer_widget import PacerWidget
    from biotrainer.pacer import Pacer

    w = PacerWidget()
    qtbot.addWidget(w)
    w.resize(300, 300)
    pacer = Pacer(6.0, inhale_share=0.4, hold_in_s=1.0, hold_out_s=1.0)
    seen = {}
    for t in np.arange(0.0, 10.0, 0.25):
        p = pacer.at(float(t))
        w.set_point(p)
        seen[p.segment] = (w.label().split("  ")[0], w.segment_colour().name())
        img = w.grab().toImage()
        assert not img.isNull()
    assert seen["inhale"][0] == "Breathe in" and seen["exhale"][0] == "Breathe out"
    assert seen["hold_in"][0] == "Hold" == seen["hold_out"][0]
    colours = {seen["inhale"][1], seen["exhale"][1], seen["hold_in"][1]}
    assert len(colours) == 3


def test_hr_and_plots_draw_only_the_visible_window(qtbot):
    from biotrainer.gui.model import SessionModel
    from biotrainer.gui.plots import SessionPlots

    m = SessionModel()
    plots = SessionPlots(m, window_s=60.0)
    qtbot.addWidget(plots)
    m.apply(SessionState(t_s=0.0, participant=SESSION, state="start"))
    for i in range(600):
        m.apply(HeartRate(t_s=float(i), hr_bpm=60 + i % 5, device="d"))
    m.apply(SessionState(t_s=600.0, participant=SESSION, state="stop"))
    plots.redraw()
    x, _ = plots.hr_curve.getOriginalDataset()
    assert x.min() >= 600 - 60 - 5 and x.max() == 599
    assert len(x) < 70
