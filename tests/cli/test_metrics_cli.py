"""``biotrainer analyze`` and ``biotrainer assess`` end to end (files and a recorded simulated session)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biotrainer.cli import main

REQUIRED = {
    "artifacts": {"ectopic", "missed", "extra", "long_short", "corrected"},
    "hrv": {"mean_nn_ms", "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct", "hr_bpm", "vlf_ms2", "lf_ms2", "hf_ms2",
            "lf_hf", "total_power_ms2"},
    "breathing": {"rate_per_min", "source"},
    "rsa": {"p2t_ms_mean"},
    "coherence": {"ratio_mean"},
}


def _strict_json(text: str) -> dict:
    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    return json.loads(text, parse_constant=no_constants)


def _check_shape(out: dict) -> None:
    assert isinstance(out["beats"], int)
    for group, keys in REQUIRED.items():
        assert keys <= set(out[group]), group
    for group in ("hrv", "breathing", "rsa", "coherence"):
        for k, v in out[group].items():
            if v is None:
                assert out["reasons"].get(f"{group}.{k}"), f"{group}.{k} null without a reason"


def test_analyze_rr_file_json(rr_file, capsys) -> None:
    assert main(["analyze", str(rr_file), "--json", "--window-s", "120"]) == 0
    out = _strict_json(capsys.readouterr().out)
    _check_shape(out)
    assert out["kind"] == "rr" and out["beats"] > 400
    assert out["artifacts"]["ectopic"] + out["artifacts"]["long_short"] >= 1
    assert out["breathing"]["rate_per_min"] == pytest.approx(15.0, abs=0.5)
    assert out["breathing"]["source"] == "rr"
    assert out["hrv"]["hf_ms2"] > 5 * out["hrv"]["lf_ms2"]
    assert out["hrv"]["vlf_ms2"] is not None  # 400 s > 300 s
    windows = out["windows"]
    assert len(windows) == 3
    assert windows[0]["start_s"] == pytest.approx(0.0, abs=1.0)
    assert windows[1]["start_s"] == pytest.approx(windows[0]["end_s"])
    for w in windows:
        assert {"hrv", "breathing", "rsa", "coherence", "quality", "artifacts"} <= set(w)
        assert w["hrv"]["lf_ms2"] is not None  # 120-s windows resolve LF
        assert w["hrv"]["vlf_ms2"] is None and w["reasons"]["hrv.vlf_ms2"]


def test_analyze_no_correction_and_text_output(rr_file, capsys) -> None:
    assert main(["analyze", str(rr_file), "--json", "--no-correction"]) == 0
    raw = _strict_json(capsys.readouterr().out)
    assert main(["analyze", str(rr_file), "--json"]) == 0
    corrected = _strict_json(capsys.readouterr().out)
    assert raw["hrv"]["rmssd_ms"] > corrected["hrv"]["rmssd_ms"]  # the premature beat inflates raw RMSSD
    assert main(["analyze", str(rr_file)]) == 0
    text = capsys.readouterr().out
    assert "RMSSD" in text and "breathing" in text


def test_analyze_ecg_file(tmp_path, capsys) -> None:
    from biotrainer.metrics.streams import streams_from_events
    from biotrainer.sources.sim.strap import SimConfig, simulate

    events, truth = simulate(SimConfig(seed=2, ecg=True), 90.0)
    streams = streams_from_events(events)
    path = tmp_path / "h10.npy"
    np.save(path, streams.ecg_uv)
    assert main(["analyze", str(path), "--fs", "130", "--json"]) == 0
    out = _strict_json(capsys.readouterr().out)
    _check_shape(out)
    assert out["kind"] == "ecg"
    n_true = np.count_nonzero((truth.beat_t_s > streams.ecg_t_s[0]) & (truth.beat_t_s < streams.ecg_t_s[-1]))
    assert abs(out["rpeaks"] - n_true) <= 2
    assert out["hrv"]["hr_bpm"] == pytest.approx(65.0, abs=5.0)
    assert set(out["breathing"]["source"].split("+")) <= {"ecg", "qrs", "rr"}  # one source, or those that agree


def test_analyze_errors_are_one_line(tmp_path, capsys) -> None:
    assert main(["analyze", str(tmp_path / "nothing.txt")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("biotrainer: error:") and "nothing.txt" in err and "\n" not in err
    np.save(tmp_path / "e.npy", np.zeros(100))
    assert main(["analyze", str(tmp_path / "e.npy")]) == 2
    assert "--fs" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["analyze", str(bad)]) == 1
    assert "--column" in capsys.readouterr().err


@pytest.fixture(scope="module")
def assessment_library(tmp_path_factory):
    from biotrainer.protocols.loader import load_protocol
    from biotrainer.sources.sim.strap import SimConfig
    from biotrainer.store import Library
    from biotrainer.wiring.simulate import run_simulated_session

    lib = Library(tmp_path_factory.mktemp("assess") / "lib")
    lib.participants.add("P1")
    proto = load_protocol("resonance-assessment")
    writer = lib.new_session(participants={"self": "P1"}, protocol_name=proto.name, protocol_toml=proto.text,
                             anchor_unix_s=1_800_000_000.0)
    run_simulated_session(SimConfig(seed=21, resonance_rate_per_min=5.0), protocol=proto, listeners=(writer,))
    return lib, writer.meta.id


def test_assess_session_and_save_personal_rate(assessment_library, capsys) -> None:
    lib, sid = assessment_library
    assert main(["assess", sid, "--library", str(lib.root), "--json"]) == 0
    out = _strict_json(capsys.readouterr().out)
    assert [s["name"] for s in out["steps"]] == ["step-6.5", "step-6.0", "step-5.5", "step-5.0", "step-4.5"]
    assert all(s["start_s"] - s["end_s"] == pytest.approx(-90.0) for s in out["steps"])  # 30 s skipped
    assert out["pick_rate_per_min"] == pytest.approx(5.0, abs=0.5)
    assert lib.participants.get("P1").resonance_rate_per_min is None
    assert main(["assess", sid, "--library", str(lib.root), "--save"]) == 0
    text = capsys.readouterr().out
    assert "resonance rate pick" in text and "(saved)" in text
    assert lib.participants.get("P1").resonance_rate_per_min == out["pick_rate_per_min"]


def test_analyze_recorded_session(assessment_library, capsys) -> None:
    lib, sid = assessment_library
    assert main(["analyze", sid, "--library", str(lib.root), "--json", "--window-s", "60"]) == 0
    out = _strict_json(capsys.readouterr().out)
    _check_shape(out)
    assert out["kind"] == "session" and out["session"] == sid
    paced = [w for w in out["windows"] if w["breathing"]["pacer_rate_per_min"] is not None]
    assert len(paced) >= 8
    for w in paced:
        assert abs(w["breathing"]["adherence_per_min"]) <= 1.0
        assert w["rsa"]["breath_source"] == "pacer"
    assert main(["analyze", "no-such-session", "--library", str(lib.root)]) == 1
    assert "no-such-session" in capsys.readouterr().err


def test_analyze_rr_csv_uses_exact_rr_1024_beat_times_and_participant(tmp_path, capsys) -> None:
    # the import's reader serves analyze: rr_1024 exactly, the file's beat times, one participant at a time
    rng = np.random.default_rng(5)
    rr = np.round(1024 * (0.8 + 0.05 * rng.standard_normal(200))).astype(int)
    t = np.cumsum(rr) / 1024.0
    lines = ["participant,beat_t_s,rr_1024"] + [f"{'client' if i % 2 else 'therapist'},{t[i]:.6f},{rr[i]}"
                                                for i in range(rr.size)]
    f = tmp_path / "two.csv"
    f.write_text("\n".join(lines) + "\n")
    assert main(["analyze", str(f)]) == 2
    assert "--participant" in capsys.readouterr().err
    assert main(["analyze", str(f), "--participant", "client", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["beats"] == 100
    assert out["quality"]["duration_s"] == pytest.approx(t[-1] - t[1] + rr[1] / 1024.0, abs=1e-6)
