"""The session model and the small views, fed by hand (no session runner)."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.core.events import (
    SESSION,
    Beat,
    HeartRate,
    MetricUpdate,
    PacerMarker,
    PhaseMarker,
    SessionState,
)
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


def test_model_reads_the_engine_keys_keeps_reasons_and_one_rsa_point_per_breath():
    from biotrainer.gui.model import SessionModel

    m = SessionModel()
    updates = [
        (1.0, {"hrv.ln_rmssd": None, "quality.corrected_pct": 0.0}, {"hrv.ln_rmssd": "only 12 s of clean beats"}),
        (2.0, {"hrv.ln_rmssd": 3.9, "rsa.p2t_ms": 90.0, "rsa.p2t_ms_last": 80.0, "rsa.last_breath_end_s": 1.5}, {}),
        (3.0, {"hrv.ln_rmssd": 3.8}, {}),  # a per-beat update: no RSA keys, the last RSA value stays
        (4.0, {"rsa.p2t_ms": 92.0, "rsa.p2t_ms_last": 95.0, "rsa.last_breath_end_s": 3.5}, {}),
        (5.0, {"rsa.p2t_ms": 92.0, "rsa.p2t_ms_last": 95.0, "rsa.last_breath_end_s": 3.5}, {}),
    ]
    m.apply(MetricUpdate(t_s=0.5, values={"hrv.ln_rmssd": None},
                         reasons={"hrv.ln_rmssd": "only 12 s of clean beats"}))
    assert m.metrics["ln_rmssd"].value is None
    assert m.metrics["ln_rmssd"].reason == "only 12 s of clean beats"
    for t, values, reasons in updates:
        m.apply(MetricUpdate(t_s=t, values=values, reasons=reasons))
    assert m.metrics["ln_rmssd"].value == 3.8 and m.metrics["ln_rmssd"].reason == ""
    assert m.metrics["rsa_p2t_ms"].value == 92.0
    assert m.rsa_breaths.t_s.tolist() == [1.5, 3.5]
    assert m.rsa_breaths.values().tolist() == [80.0, 95.0]
    assert "0.0 % corrected" in m.quality_text()


def _through_the_engine(events: list) -> list:
    """The events and, interleaved as on the bus, the metrics engine's updates."""
    from biotrainer.metrics.engine import MetricsEngine

    out: list = []
    engine = MetricsEngine(out.append, with_ecg=False)
    for e in events:
        out.append(e)
        engine(e)
    return out


def test_artifact_marks_come_from_the_metrics_detector():
    from biotrainer.gui.model import SessionModel

    m = SessionModel()
    rng = np.random.default_rng(1)
    t = 0.0
    rr_list = list(1000 + rng.normal(0, 15, 120))
    rr_list[60] = 600.0  # premature beat ...
    rr_list[61] = 1400.0  # ... and its compensatory pause
    beats = []
    for rr_ms in rr_list:
        t += rr_ms / 1000
        beats.append(Beat(t_s=t, rr_1024=round(rr_ms * 1.024), beat_t_s=t, device="d"))
    for e in _through_the_engine(beats):
        m.apply(e)
    beat_times = m.rr.t_s
    marked = set(m.artifact_t_s.tolist())
    assert {beat_times[60], beat_times[61]} & marked  # the ectopic pair is marked
    assert len(marked) <= 0.05 * len(beat_times)  # and little else


def test_gui_marks_are_exactly_the_beats_the_metrics_flagged():
    """A simulated session with ectopic beats: the tachogram marks the beats the engine's windows flagged (no
    second detector in the view), and those are the simulator's ectopic beats."""
    from biotrainer.gui.model import SessionModel
    from biotrainer.sources.sim.strap import Faults, SimConfig, simulate

    events, truth = simulate(SimConfig(seed=5, faults=Faults(ectopic_per_min=3.0)), 240.0)
    stream = _through_the_engine(events)
    m = SessionModel()
    for e in stream:
        m.apply(e)
    flagged = [(u.values["window.end_s"], u.values["artifacts.end_beat_flag"]) for u in stream
               if isinstance(u, MetricUpdate)]
    used = [t for t, flag in flagged if flag]
    assert len(flagged) == m.counts.beats - 2  # every beat but the two newest was some window's last beat
    assert m.artifact_t_s.tolist() == used and len(used) >= 8
    rr_at = dict(zip(m.rr.t_s.tolist(), m.rr.values().tolist(), strict=True))
    assert m.artifact_rr_ms.tolist() == [rr_at[t] for t in used]
    ectopic_s = [f.t_s for f in truth.faults if f.kind == "ectopic"]
    near = [min(abs(np.asarray(used) - t)) < 2.5 for t in ectopic_s]
    assert np.mean(near) >= 0.8  # the marks are where the ectopic beats were


def test_metric_tile_shows_a_dash_and_the_reason_for_a_poor_window(qtbot):
    from biotrainer.gui.metric_tiles import MetricTiles
    from biotrainer.gui.model import SessionModel

    m = SessionModel()
    tiles = MetricTiles(m)
    qtbot.addWidget(tiles)
    m.apply(MetricUpdate(t_s=5.0, values={"hrv.ln_rmssd": None, "hrv.hr_bpm": 64.4},
                         reasons={"hrv.ln_rmssd": "12 % of beats corrected (over 5 %)"}))
    tiles.refresh()
    assert tiles.tiles["ln_rmssd"].value.text() == "—"
    assert "corrected" in tiles.tiles["ln_rmssd"].reason.text()
    assert tiles.tiles["hr_bpm"].value.text() == "64"
    assert tiles.tiles["hr_bpm"].reason.text() == ""


def test_pacer_widget_says_inhale_hold_and_exhale_differently(qtbot):
    from biotrainer.core.pacer import Pacer
    from biotrainer.gui.pacer_widget import PacerWidget

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
