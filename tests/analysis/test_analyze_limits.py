"""``analyze`` of inputs too large or not numbers: one line before anything big is read, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from biotrainer.analysis import analyze
from biotrainer.cli import main

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("values", "words"), [
    (np.array(["a", "b", "c"]), "holds text values (<U1); an ECG is numbers"),
    (np.array([1 + 2j] * 400), "holds complex values (complex128); an ECG is numbers"),
    (np.ones(400, dtype=bool), "holds true/false values (bool); an ECG is numbers"),
])
def test_npy_that_is_not_numbers_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], values: np.ndarray,
                                             words: str) -> None:
    path = tmp_path / "strings.npy"
    np.save(path, values)
    code, _, err = _run(capsys, "analyze", str(path), "--fs", "130")
    assert code == 1 and err == f"biotrainer: error: {path}: the array {words}\n"


def test_empty_npy_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros(0))
    zero = tmp_path / "zero.npy"
    zero.write_bytes(b"")
    assert _run(capsys, "analyze", str(empty), "--fs", "130")[2] == f"biotrainer: error: {empty}: no ECG samples in the file\n"
    code, _, err = _run(capsys, "analyze", str(zero), "--fs", "130")
    assert code == 1 and err.startswith(f"biotrainer: error: {zero}: not a readable .npy array") and err.count("\n") == 1
    code, _, err = _run(capsys, "analyze", str(empty))
    assert code == 2 and err == f"biotrainer: error: {empty}: an ECG file needs its sampling rate: --fs HZ\n"


def test_rr_file_over_the_beat_limit_is_refused_before_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze, "MAX_BEATS", 300)
    path = tmp_path / "holter.txt"
    path.write_text("812\n" * 301 + "not a number\n", encoding="utf-8")  # never parsed: the count comes first
    code, _, err = _run(capsys, "analyze", str(path))
    assert code == 2
    assert err == (f"biotrainer: error: {path}: more than 300 lines; analyze takes at most 300 beats (about 0 days "
                   "at 65 bpm): analyse the recording in parts\n")


@pytest.mark.slow
def test_rr_file_at_the_beat_limit_is_analysed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze, "MAX_BEATS", 300)
    path = tmp_path / "holter.txt"
    path.write_text("812\n" * 300, encoding="utf-8")
    code, out, _ = _run(capsys, "analyze", str(path), "--json")
    assert code == 0 and json.loads(out)["beats"] == 300


def test_ecg_over_the_sample_limit_is_refused_from_its_header(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyze, "MAX_ECG_SAMPLES", 1000)
    path = tmp_path / "ecg.npy"
    np.save(path, np.zeros(1001, dtype=np.float32))
    code, _, err = _run(capsys, "analyze", str(path), "--fs", "130")
    assert code == 2 and err.startswith(f"biotrainer: error: {path}: 1,001 ECG samples; analyze takes at most 1,000")


def test_long_session_is_analysed_without_its_signals(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    session = str(RECORDINGS / "synthetic-reset-ecg-acc.sqlite")
    full = analyze.read_session(session)
    monkeypatch.setattr(analyze, "MAX_SIGNAL_S", 60.0)
    short = analyze.read_session(session)
    assert {e.KIND for e in full.events} >= {"ecg", "acc"} and not {e.KIND for e in short.events} & {"ecg", "acc"}
    code, out, _ = _run(capsys, "analyze", session, "--json")
    result = json.loads(out)
    assert code == 0 and result["warnings"][0].startswith("ECG and ACC left out: the session is 0 h long, more than")
    assert result["breathing"]["source"] == "rr" and result["beats"] == sum(e.KIND == "beat" for e in full.events)
