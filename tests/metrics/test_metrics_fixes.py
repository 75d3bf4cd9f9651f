"""Regressions of QA findings in the metrics engine (seeded; no timing assertions)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from biotrainer.core.events import Beat, EcgFrame, MetricUpdate
from biotrainer.metrics import artifacts as art
from biotrainer.metrics.coherence import coherence_ratio
from biotrainer.metrics.engine import MetricsEngine
from biotrainer.metrics.offline import analyze_ecg, analyze_rr, analyze_streams, analyze_window
from biotrainer.metrics.streams import streams_from_events
from biotrainer.metrics.time_domain import time_domain
from biotrainer.metrics.window import LOOKAHEAD_BEATS
from biotrainer.sources.sim.strap import Faults, SimConfig, simulate

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def _per_beat_ln_rmssd(ectopic_per_min: float, seed: int, duration_s: float = 300.0):
    # the regular breather: with irregular breathing lnRMSSD moves by itself (and, seed 5 at 129.8 s, by 0.3 two
    # beats after a corrected ectopic beat: an artifacts finding of its own)
    cfg = SimConfig.from_spec("sim:regular", seed=seed, faults=Faults(ectopic_per_min=ectopic_per_min))
    events, truth = simulate(cfg, duration_s)
    out: list = []
    engine = MetricsEngine(out.append, with_ecg=False)
    for e in events:
        engine(e)
    updates = [u for u in out if isinstance(u, MetricUpdate)]
    v = np.array([np.nan if u.values.get("hrv.ln_rmssd") is None else u.values["hrv.ln_rmssd"] for u in updates])
    return v, updates, events, truth


@pytest.mark.parametrize("seed", [3, 5])
def test_live_ln_rmssd_does_not_jump_at_ectopic_beats(seed: int) -> None:
    clean, _, _, _ = _per_beat_ln_rmssd(0.0, seed)
    ectopic, _, _, truth = _per_beat_ln_rmssd(3.0, seed)
    assert sum(f.kind == "ectopic" for f in truth.faults) >= 8
    clean_step = np.nanmax(np.abs(np.diff(clean)))
    ectopic_step = np.nanmax(np.abs(np.diff(ectopic)))
    # before the fix each ectopic beat made lnRMSSD jump by ~0.45 for one beat (the clean series: < 0.06)
    assert ectopic_step < clean_step + 0.05, (ectopic_step, clean_step)


def test_live_window_ends_lookahead_beats_back_and_matches_offline() -> None:
    _, updates, events, _ = _per_beat_ln_rmssd(3.0, 3, duration_s=120.0)
    beat_t = np.array([e.beat_t_s for e in events if isinstance(e, Beat)])
    ends = np.array([u.values["window.end_s"] for u in updates])
    assert LOOKAHEAD_BEATS >= 1
    assert np.isclose(ends[-1], beat_t[-1 - LOOKAHEAD_BEATS])
    assert np.all(np.isin(ends, beat_t))
    streams = streams_from_events(events)
    for u in updates[-40:]:  # every per-beat update of the last ~40 s, ectopic beats included
        w = analyze_window(streams, u.values["window.start_s"], u.values["window.end_s"])
        for k in ("hrv.ln_rmssd", "hrv.rmssd_ms", "artifacts.ectopic", "quality.n_beats"):
            assert u.values[k] == pytest.approx(w.values[k], rel=1e-9, abs=1e-9), k


# --- minimum lengths: beats span up to one interval less than the nominal window ---------------------------------


def test_a_120_s_ecg_reaches_the_lf_minimum() -> None:
    events, _ = simulate(SimConfig(seed=1, ecg=True), 125.0)
    frames = [e for e in events if isinstance(e, EcgFrame)]
    fs = frames[0].fs_hz
    ecg = np.concatenate([f.samples_uv for f in frames])[:int(120 * fs)]
    out = analyze_ecg(ecg, fs)
    assert out["quality"]["duration_s"] < 119.5  # the beats span less than the ECG
    assert out["hrv"]["lf_ms2"] is not None, out["reasons"].get("hrv.lf_ms2")  # was "window 119 s shorter than 120 s"
    assert out["hrv"]["vlf_ms2"] is None  # VLF keeps its strict "more than 300 s"


def test_a_60_s_stretch_of_beats_reaches_the_coherence_minimum() -> None:
    rr = 900.0 + 40.0 * np.sin(2 * np.pi * 0.1 * np.arange(80) * 0.9)
    t = np.cumsum(rr) / 1000.0
    keep = t <= 60.0
    ratio, _, why = coherence_ratio(t[keep], rr[keep])
    assert ratio is not None, why  # was "window 59 s shorter than 60 s needed for coherence"
    short = t <= 55.0
    assert coherence_ratio(t[short], rr[short])[0] is None


def test_a_60_s_first_phase_gets_a_coherence_ratio() -> None:
    events, _ = simulate(SimConfig(seed=2), 70.0)
    w = analyze_window(streams_from_events(events), 0.0, 60.0)
    assert w.values["coherence.ratio"] is not None, w.reasons.get("coherence.ratio")
    assert w.values["hrv.hf_ms2"] is not None, w.reasons.get("hrv.hf_ms2")


def test_whole_recording_reasons_say_recording() -> None:
    rr = 900.0 + 30.0 * np.sin(np.arange(99) * 0.7)  # 89 s
    out = analyze_rr(rr)
    assert out["reasons"]["hrv.lf_ms2"] == "recording 89 s shorter than 120 s needed for LF"


# --- whole recording with gaps -------------------------------------------------------------------------------------


def test_recording_with_gaps_gets_time_domain_from_its_valid_segments(tmp_path) -> None:
    from biotrainer.store import Library

    path = tmp_path / "faults.sqlite"
    shutil.copyfile(RECORDINGS / "synthetic-faults-baseline.sqlite", path)
    with Library(tmp_path / "library").open(str(path)) as reader:
        events = list(reader.events())
    streams = streams_from_events(events, "self")
    out = analyze_streams(streams)
    q, h = out["quality"], out["hrv"]
    # 10-s disconnect, 15 s contact loss, dropped packets: ~40 s without data, counted once (was 21 %, withheld)
    assert 10.0 < q["missing_pct"] < 16.0
    assert q["segments"] >= 3 and q["valid_s"] == pytest.approx(q["duration_s"] * (1 - q["missing_pct"] / 100), abs=2)
    assert 55.0 < h["hr_bpm"] < 75.0 and h["rmssd_ms"] is not None and h["sdnn_ms"] is not None
    assert any("has no data" in w for w in out["warnings"])
    # RMSSD leaves out the differences across gaps
    c = art.correct_rr(streams.rr_ms, streams.beat_t_s)
    nn, nn_t = c.rr_corrected_ms, c.beat_t_corrected_s
    assert h["rmssd_ms"] == pytest.approx(time_domain(nn, ~art.find_gaps(nn, nn_t))["rmssd_ms"])
    # spectral on the longest gap-free segment only, and it says so
    assert q["spectral_end_s"] - q["spectral_start_s"] < 120.0
    assert h["hf_ms2"] is not None
    assert out["reasons"]["hrv.lf_ms2"].startswith("longest gap-free segment ")
    # a short window across the 18-s gap is still withheld
    w = analyze_window(streams, 100.0, 160.0)
    assert w.values["quality.ok"] == 0.0 and w.values["hrv.hr_bpm"] is None
    assert "has no data" in w.reasons["hrv.hr_bpm"]


def test_a_30_s_window_whose_beats_span_a_little_less_gets_time_domain() -> None:
    from biotrainer.metrics.window import WindowData, compute_window

    rr = 900.0 + 30.0 * np.sin(np.arange(40) * 0.7)
    t = np.cumsum(rr) / 1000.0
    keep = t <= 30.0
    assert 29.0 < t[keep][-1] < 29.9  # the next beat would fall after the window end
    w = compute_window(WindowData(0.0, 30.0, t[keep], rr[keep]), spectral=False)
    assert w.values["hrv.rmssd_ms"] is not None, w.reasons.get("hrv.rmssd_ms")


# --- per-phase values ----------------------------------------------------------------------------------------------


def test_offline_json_has_per_phase_breathing_rates(tmp_path, capsys) -> None:
    from biotrainer.cli import main

    path = tmp_path / "assessment.sqlite"
    shutil.copyfile(RECORDINGS / "synthetic-resonance-assessment.sqlite", path)
    assert main(["analyze", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    phases = {p["name"]: p for p in out["phases"]}
    assert list(phases)[0] == "baseline" and len(phases) == 7
    assert phases["baseline"]["breathing_rate_per_min"] > 12.0  # spontaneous (~15 /min)
    assert phases["baseline"]["pacer_rate_per_min"] is None and phases["baseline"]["reasons"]["pacer_rate_per_min"]
    for name, p in phases.items():
        assert p["hr_bpm"] is not None and p["ln_rmssd"] is not None and p["rsa_p2t_ms"] is not None, name
        if p["pacer_rate_per_min"] is not None:
            assert abs(p["breathing_rate_per_min"] - p["pacer_rate_per_min"]) < 0.3, name
    # the whole-recording median mixes them (one number for a 15 /min baseline and 6.5-4.5 /min steps)
    assert out["breathing"]["rate_per_min"] < 7.0
    assert main(["analyze", str(path)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert "7 phases:" in text
    assert any(ln.lstrip().startswith("step-4.5") and "(pacer 4.5 /min)" in ln for ln in text)


def test_contact_loss_without_beats_counts_once_as_missing() -> None:
    from biotrainer.wiring.simulate import run_simulated_session

    updates: list[MetricUpdate] = []
    cfg = SimConfig(seed=8, faults=Faults(contact_loss=((100.0, 104.0),)))
    events, _ = run_simulated_session(cfg, duration_s=160.0, listeners=(MetricsEngine(updates.append),))
    during = [u for u in updates if 110.0 < u.values["window.end_s"] < 150.0]
    assert during
    # ~5.5 s without beats (the gap the loss left) of a 60-s window: 9 %, within the 10 % limit (was 17 %: the
    # loss counted once as a gap and again as contact loss, and every window was withheld)
    worst = max(u.values["quality.missing_pct"] for u in during)
    assert 6.0 < worst < 10.0
    assert all(u.values["hrv.rmssd_ms"] is not None for u in during)
    streams = streams_from_events(events)
    u = during[-1]
    w = analyze_window(streams, u.values["window.start_s"], u.values["window.end_s"])
    assert w.values["quality.missing_pct"] == pytest.approx(u.values["quality.missing_pct"])
