"""Regression tests for the QA pass on ``biotrainer analyze`` and ``biotrainer assess``: bad option values are one
line and a non-zero exit, never a traceback; the text output says what it means."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biotrainer.cli import main


def _strict_json(text: str) -> dict:
    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    return json.loads(text, parse_constant=no_constants)


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err
    assert captured.out == ""
    assert err.count("\n") == 1 and err.startswith("biotrainer: error: "), err
    assert "Traceback" not in err
    return err.strip()[len("biotrainer: error: "):]


pytestmark = pytest.mark.usefixtures("private_library")


# --- 1, 2: --fs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fs", ["nan", "0", "-250", "inf"])
def test_fs_not_a_positive_rate_is_one_line(tmp_path, capsys, fs) -> None:
    ecg = tmp_path / "ecg.npy"
    np.save(ecg, np.zeros(1000))
    assert main(["analyze", str(ecg), "--fs", fs]) == 2
    assert _one_error_line(capsys) == f"--fs {fs}: expected a positive sampling rate in Hz"


@pytest.mark.parametrize("fs", ["10", "1e6"])
def test_fs_outside_ecg_rates_is_one_line(tmp_path, capsys, fs) -> None:
    ecg = tmp_path / "ecg.npy"
    np.save(ecg, np.zeros(1000))
    assert main(["analyze", str(ecg), "--fs", fs]) == 2
    msg = _one_error_line(capsys)
    assert msg.startswith(f"--fs {float(fs):g}: expected an ECG sampling rate") and "50" in msg and "10000" in msg


def test_fs_missing_still_asks_for_it(tmp_path, capsys) -> None:
    ecg = tmp_path / "ecg.npy"
    np.save(ecg, np.zeros(1000))
    assert main(["analyze", str(ecg)]) == 2
    assert "needs its sampling rate: --fs HZ" in _one_error_line(capsys)


def test_fs_with_a_session_is_refused_not_ignored(recording, capsys) -> None:
    assert main(["analyze", recording("synthetic-faults-baseline.sqlite"), "--fs", "130"]) == 2
    assert "--fs is the sampling rate of an ECG file" in _one_error_line(capsys)


# --- 3: --window-s ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-60"])
def test_window_not_a_positive_length_is_one_line(rr_file, capsys, value) -> None:
    assert main(["analyze", str(rr_file), "--window-s", value]) == 2
    assert _one_error_line(capsys) == f"--window-s {value}: expected a window length in seconds (at least 30)"


def test_window_longer_than_the_recording_names_its_length(rr_file, capsys) -> None:
    assert main(["analyze", str(rr_file), "--window-s", "1e9"]) == 2
    msg = _one_error_line(capsys)
    assert msg.startswith("--window-s 1e+09: longer than the recording (400 s of beats)"), msg


def test_window_counts_are_grammatical(rr_file, capsys) -> None:
    assert main(["analyze", str(rr_file), "--window-s", "400"]) == 0
    text = capsys.readouterr().out
    assert "1 window of 400 s:" in text and "1 windows" not in text
    assert main(["analyze", str(rr_file), "--window-s", "60"]) == 0
    text = capsys.readouterr().out
    assert "6 windows of 60 s (the last 40 s do not fill a window):" in text
    rows = [ln for ln in text.splitlines() if " to " in ln and ln.rstrip().endswith("%")]
    assert len(rows) == 6 and all("bpm" in r and "ms" in r for r in rows)


def test_max_corrected_pct_nan_is_one_line(rr_file, capsys) -> None:
    assert main(["analyze", str(rr_file), "--max-corrected-pct", "nan"]) == 2
    assert _one_error_line(capsys) == "--max-corrected-pct nan: expected a percentage from 0 to 100"


# --- 4: --no-correction ----------------------------------------------------------------------------------------


def test_no_correction_says_flagged_not_corrected(rr_file, capsys) -> None:
    assert main(["analyze", str(rr_file), "--no-correction", "--window-s", "120"]) == 0
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert first.endswith("% of beats flagged as artifacts, not corrected: --no-correction)"), first
    assert "corrected 0" not in text and "flagged 0.0 %" in text  # the window column too
    assert main(["analyze", str(rr_file)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("% of beats corrected)")


# --- other analyze output --------------------------------------------------------------------------------------


def test_csv_rr_column_text_and_json(tmp_path, capsys) -> None:
    rng = np.random.default_rng(3)
    rr = 850 + 40 * rng.standard_normal(300)
    f = tmp_path / "hrv.csv"
    f.write_text("time,RR (ms),hr\n" + "\n".join(f"{i},{x:.0f},{60000 / x:.1f}" for i, x in enumerate(rr)) + "\n")
    assert main(["analyze", str(f), "--column", "RR (ms)", "--window-s", "60"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("300 beats") and "windows of 60 s" in text
    assert main(["analyze", str(f), "--column", "RR (ms)", "--json"]) == 0
    out = _strict_json(capsys.readouterr().out)
    assert out["beats"] == 300 and out["kind"] == "rr"


def test_session_json_has_no_nan_and_every_null_a_reason(recording, capsys) -> None:
    assert main(["analyze", recording("synthetic-faults-baseline.sqlite"), "--json", "--window-s", "60"]) == 0
    out = _strict_json(capsys.readouterr().out)
    assert out["participant"] == {"role": "self", "pseudonym": "P02", "others": []}
    for obj in [out, *out["windows"]]:
        for group in ("hrv", "breathing", "rsa", "coherence"):
            for k, v in obj[group].items():
                if v is None:
                    assert obj["reasons"].get(f"{group}.{k}"), f"{group}.{k} null without a reason"


def test_session_text_groups_reasons_and_explains_empty_windows(recording, capsys) -> None:
    assert main(["analyze", recording("synthetic-faults-baseline.sqlite"), "--window-s", "60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("session ") and "participant P02 (self)" in lines[0]
    # gaps and contact loss counted once (they overlap); the summary is computed on the valid data, with a warning
    assert "14 % of it without data" in lines[1]
    same = [ln for ln in lines if "of the recording has no data" in ln]
    assert len(same) == 1 and same[0].startswith("warning: ")
    grouped = [ln for ln in lines if "needed for LF" in ln]
    assert len(grouped) == 1 and grouped[0].lstrip().startswith("LF, LF/HF, total power, LF peak")
    empty = [ln for ln in lines if "HR —" in ln and " to " in ln]
    assert empty and all("(—: " in ln for ln in empty)
    assert not any("-0.0 " in ln for ln in lines)


def test_analyze_session_participant_by_role_or_pseudonym(recording, capsys) -> None:
    path = recording("synthetic-two-straps-extended-exhale.sqlite")
    assert main(["analyze", path, "--participant", "T01"]) == 0
    assert "participant T01 (therapist); also with beats: client C01" in capsys.readouterr().out
    assert main(["analyze", path]) == 0  # default: the client, the person practising
    assert "participant C01 (client)" in capsys.readouterr().out
    assert main(["analyze", path, "--participant", "nobody"]) == 2
    msg = _one_error_line(capsys)
    assert "'nobody'" in msg and "therapist T01" in msg and "client C01" in msg


# --- 5, 6, 7: assess --------------------------------------------------------------------------------------------


def test_assess_of_a_session_that_is_no_assessment_is_an_error(recording, capsys) -> None:
    path = recording("synthetic-faults-baseline.sqlite")
    assert main(["assess", path]) == 2
    msg = _one_error_line(capsys)
    assert msg.endswith("is not a resonance assessment (protocol resting-baseline); record one with --protocol "
                        "resonance-assessment"), msg
    assert msg.startswith("session 20261126-120150-c71a")


def test_assess_unknown_participant_is_named_with_those_available(recording, capsys) -> None:
    path = recording("synthetic-two-straps-extended-exhale.sqlite")
    assert main(["assess", path, "--participant", "nobody"]) == 2
    msg = _one_error_line(capsys)
    assert "'nobody'" in msg and "therapist T01" in msg and "client C01" in msg
    assert "no beats recorded" not in msg


def test_assess_table_labels_the_rank_marks_the_pick_and_explains_the_criteria(recording, capsys) -> None:
    path = recording("synthetic-resonance-assessment.sqlite")
    assert main(["assess", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[1]
    assert "rank (lower = better)" in header and "score" not in header and "HR swing bpm" in header
    rows = [ln for ln in lines if ln.startswith("step-")]
    assert len(rows) == 5
    ranks = {ln.split()[0]: float(ln.split()[7]) for ln in rows}
    picked = [ln for ln in rows if ln.endswith("◀ pick")]
    assert len(picked) == 1 and ranks[picked[0].split()[0]] == min(ranks.values())
    legend = "\n".join(lines[lines.index(rows[-1]) + 1:])
    for words in ("HR swing", "0°", "LF", "smooth", "adh/min", "lower is better"):
        assert words in legend, words
    assert lines[-1] == "resonance rate pick: 5.5 breaths/min (use --save to store it)"
    assert f"{float(picked[0].split()[1]):g}" == "5.5"


def test_assess_json_explains_the_score(recording, capsys) -> None:
    path = recording("synthetic-resonance-assessment.sqlite")
    assert main(["assess", path, "--json", "--participant", "P01"]) == 0
    out = _strict_json(capsys.readouterr().out)
    assert "lower is better" in out["score_meaning"]
    assert out["participant"] == {"role": "self", "pseudonym": "P01"}
    best = min((s for s in out["steps"] if s["included"]), key=lambda s: s["score"])
    assert best["rate_per_min"] == out["pick_rate_per_min"]


def test_options_that_do_not_apply_are_refused_not_ignored(rr_file, recording, capsys) -> None:
    assert main(["analyze", str(rr_file), "--participant", "client"]) == 2
    assert "has no participant column" in _one_error_line(capsys)
    assert main(["analyze", recording("synthetic-faults-baseline.sqlite"), "--column", "rr"]) == 2
    assert "--column is for CSV files" in _one_error_line(capsys)
