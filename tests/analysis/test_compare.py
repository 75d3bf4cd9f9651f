"""Compare: phases within a session, sessions matched by phase name, trends, and the compare command."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from biotrainer.exchange.model import ExchangeSession

DAY_S = 86400.0


def _session(sid: str, day: float, seed: int, *, rsa_swing_bpm: float = 6.0, gain_bpm: float = 9.0,
             shift_s: float = 0.0, protocol: str = "reset") -> ExchangeSession:
    from biotrainer.sources.sim.strap import SimConfig
    from biotrainer.wiring.simulate import run_simulated_session

    events, _ = run_simulated_session(SimConfig(seed=seed, rsa_swing_bpm=rsa_swing_bpm, resonance_gain_bpm=gain_bpm, acc=True), protocol=protocol)
    if shift_s:
        events = [_shift(e, shift_s) for e in events]
    anchor = 1_790_000_000.0 + day * DAY_S
    from biotrainer.store.meta import iso_from_unix

    return ExchangeSession({"id": sid, "started_at": iso_from_unix(anchor), "anchor_unix_s": anchor,
                            "participants": {"self": "P01"}, "protocol_name": protocol}, events)


def _shift(e, dt):
    changes = {"t_s": e.t_s + dt}
    for name in ("beat_t_s", "last_sample_t_s"):
        if hasattr(e, name):
            changes[name] = getattr(e, name) + dt
    return dataclasses.replace(e, **changes)


@pytest.fixture(scope="module")
def sessions():
    # growing RSA over the weeks (spontaneous swing and resonance gain of the simulated heart)
    return {"week1": _session("week1", 0, seed=21, rsa_swing_bpm=4.0, gain_bpm=4.0),
            "week1_late": _session("week1_late", 1, seed=21, rsa_swing_bpm=4.0, gain_bpm=4.0, shift_s=37.0),
            "week4": _session("week4", 21, seed=22, rsa_swing_bpm=6.0, gain_bpm=9.0),
            "week8": _session("week8", 49, seed=23, rsa_swing_bpm=9.0, gain_bpm=14.0)}


def _cmp(result, phase, metric, session=None):
    return next(c for c in result["comparisons"]
                if c["phase"] == phase and c["metric"] == metric and (session is None or c["session"] == session))


def test_within_session_phases_show_paced_breathing_beside_vagal_indices(sessions):
    from biotrainer.analysis.compare import compare
    from biotrainer.cli.compare import format_text

    result = compare([sessions["week1"]])
    assert result["mode"] == "phase"
    assert [p["name"] for p in result["sessions"][0]["phases"]] == ["settle", "paced", "door"]
    assert result["metrics"][0]["key"] == "breathing.rate_per_min"  # always beside vagal indices
    paced = result["sessions"][0]["phases"][1]["values"]["breathing.rate_per_min"]
    settle = result["sessions"][0]["phases"][0]["values"]["breathing.rate_per_min"]
    assert paced == pytest.approx(6.0, abs=0.7) and settle > 10
    rate = _cmp(result, "paced", "breathing.rate_per_min")
    assert rate["difference"] == pytest.approx(paced - settle)
    assert rate["percent_change"] == pytest.approx(100 * (paced - settle) / settle)
    assert rate["verdict"] == "beyond within-phase variability" and rate["z"] < -2
    keys = [c["metric"] for c in result["comparisons"] if c["phase"] == "paced"]
    assert keys.index("breathing.rate_per_min") < keys.index("hrv.rmssd_ms")
    text = format_text(result)
    assert "Breathing rate (/min)" in text and "paced vs settle" in text
    json.dumps(result, allow_nan=False)


def test_phases_are_matched_by_name_not_clock_time(sessions):
    from biotrainer.analysis.compare import compare

    result = compare([sessions["week1"], sessions["week1_late"]], by="session")
    # the same physiology 37 s later: every phase compares with its namesake and nothing changes
    for phase in ("settle", "paced", "door"):
        for metric in ("hrv.hr_bpm", "hrv.rmssd_ms", "breathing.rate_per_min"):
            c = _cmp(result, phase, metric)
            assert c["a"] is not None, (phase, metric, c)
            assert c["difference"] == pytest.approx(0.0, abs=0.02 * abs(c["a"]) + 0.1), (phase, metric, c)
    starts = [p["start_s"] for p in result["sessions"][1]["phases"]]
    assert starts[0] == pytest.approx(37.0)


def test_between_sessions_larger_rsa_is_beyond_variability_and_trend_rises(sessions):
    from biotrainer.analysis.compare import compare
    from biotrainer.cli.compare import format_text

    ordered = [sessions["week1"], sessions["week4"], sessions["week8"]]
    result = compare(ordered)
    assert result["mode"] == "session"
    p2t = _cmp(result, "paced", "rsa.p2t_ms", session="week8")
    assert p2t["b"] > p2t["a"] and p2t["verdict"] == "beyond within-phase variability"
    trend = next(t for t in result["trend"] if t["phase"] == "paced" and t["metric"] == "rsa.p2t_ms")
    assert trend["sessions"] == ["week1", "week4", "week8"]
    assert trend["values"] == sorted(trend["values"]) and trend["slope_per_week"] > 0
    assert "per week" in format_text(result)


def test_session_without_phases_is_one_whole_session_phase(tmp_path):
    from biotrainer.analysis.compare import WHOLE, compare
    from biotrainer.exchange.import_rr import import_rr

    rng = np.random.default_rng(4)
    t = np.arange(300)
    rr = 900 + 60 * np.sin(2 * np.pi * t * 0.9 / 10) + rng.normal(0, 10, t.size)
    p = tmp_path / "rr.txt"
    p.write_text("\n".join(f"{v:.1f}" for v in rr))
    result = compare([import_rr(p)])
    phases = result["sessions"][0]["phases"]
    assert [ph["name"] for ph in phases] == [WHOLE]
    assert phases[0]["values"]["hrv.hr_bpm"] == pytest.approx(60000 / 900, rel=0.03)
    assert result["comparisons"] == []


@pytest.mark.slow
def test_compare_command_reads_the_library_and_prints_json(tmp_path, capsys):
    from biotrainer.cli import main
    from tests.helpers import synthetic_session, tmp_library

    lib = tmp_library(tmp_path)
    a = synthetic_session(lib, 150.0, seed=1)
    b = synthetic_session(lib, 150.0, seed=2, anchor=1_790_600_000.0)
    assert main(["compare", a, b, "--json", "--library", str(lib.root)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in out["sessions"]] == [a, b]
    assert {c["phase"] for c in out["comparisons"]} == {"paced"}
    assert main(["compare", "--participant", "P01", "--library", str(lib.root)]) == 0
    assert "paced" in capsys.readouterr().out
    assert main(["compare", "nope", "--library", str(lib.root)]) != 0
    assert "nope" in capsys.readouterr().err
