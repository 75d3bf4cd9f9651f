"""The end-of-session summary in plain words: before → after by phase with the uncertainty, breathing beside every
vagal index, what was withheld and why."""

from __future__ import annotations

import re

import pytest

from biotrainer.analysis.summary import summarize_session
from tests.analysis.journey_helpers import rr_session


def test_heart_rate_change_beyond_its_variation_is_said_in_words():
    s = rr_session("a", 0.0, 60.0, paced_hr_bpm=70.0, seed=1, intention="stay with the out-breath")
    out = summarize_session(s)
    hr = next(c for c in out["changes"] if c["metric"] == "hrv.hr_bpm")
    assert hr["a"] == pytest.approx(60.0, abs=0.3) and hr["b"] == pytest.approx(70.0, abs=0.3)
    assert hr["words"] == ("Your heart rate rose from your settle phase to the paced phase, more than its "
                           f"minute-to-minute variation ({hr['a']:.1f} bpm → {hr['b']:.1f} bpm).")
    assert out["lines"][0] == "Your intention: “stay with the out-breath”."
    assert out["lines"][1].startswith("In your settle phase you breathed at 6.0 /min with a heart rate of 60.")
    # breathing beside every vagal index
    for c in out["changes"]:
        if c["metric"] in ("hrv.ln_rmssd", "rsa.p2t_ms"):
            assert re.search(r"; breathing [56]\.\d /min → [56]\.\d /min\)", c["words"]), c["words"]
    assert out["lines"][-1].startswith("These are within-person practice signals")


def test_same_physiology_stays_about_the_same_and_short_phases_are_withheld():
    s = rr_session("b", 0.0, 62.0, seed=2)
    out = summarize_session(s)
    hr = next(c for c in out["changes"] if c["metric"] == "hrv.hr_bpm")
    assert hr["verdict"] in ("within variability", "uncertain")
    assert " rose " not in hr["words"] or "could be chance" in hr["words"]
    short = rr_session("c", 0.0, 62.0, seed=3, settle_s=1.5, paced_s=60.0)
    out = summarize_session(short)
    assert out["withheld"][0] == {"phase": "settle", "metric": "breathing.rate_per_min",
                                  "reason": "1 beats in the phase"}
    assert "Not shown: Breathing rate in the settle phase (1 beats in the phase)." in out["lines"]
    assert out["changes"] == []


@pytest.mark.slow
def test_simulated_reset_slower_breathing_is_named_beside_rsa():
    from biotrainer.exchange.model import ExchangeSession
    from biotrainer.sources.sim.strap import SimConfig
    from biotrainer.wiring.simulate import run_simulated_session

    events, _ = run_simulated_session(SimConfig(seed=3, acc=True), protocol="reset")
    s = ExchangeSession({"id": "r", "started_at": "2026-03-02T07:30:00+00:00", "anchor_unix_s": 0.0,
                         "participants": {"self": "P01"}, "protocol_name": "reset"}, events)
    out = summarize_session(s)
    rsa = next(c for c in out["changes"] if c["metric"] == "rsa.p2t_ms" and c["phase"] == "paced")
    assert rsa["b"] > rsa["a"] and rsa["words"].startswith(
        "The heart-rate swing with each breath (RSA) rose from your settle phase to the paced phase, more than")
    assert rsa["words"].endswith("Breathing was slower, which by itself raises this index.")
    rate = next(c for c in out["changes"] if c["metric"] == "breathing.rate_per_min" and c["phase"] == "paced")
    assert rate["b"] == pytest.approx(6.0, abs=0.7)
