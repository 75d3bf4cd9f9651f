"""The headless CLI as users run it: record, demo, sessions; one-line errors; clean Ctrl-C; light --help."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from biotrainer.cli import main
from biotrainer.store import Library


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_record_sim_with_protocol_json_and_listed(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    code, out, err = run_cli(capsys, "record", "--device", "sim:ecg", "--protocol", "reset", "--speed", "max",
                             "--seed", "5", "--participant", "P07", "--library", lib, "--json", "--quiet")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["end_reason"] == "protocol finished"
    assert summary["duration_s"] == pytest.approx(180.0, abs=0.1)
    assert 150 < summary["beats"] < 260  # ~65 bpm for 3 min
    assert summary["events"]["ecg"] > 0
    code, out, err = run_cli(capsys, "sessions", "--library", lib, "--json")
    listed = json.loads(out)
    assert [s["id"] for s in listed] == [summary["id"]]
    row = listed[0]
    assert row["participant"] == "P07" and row["protocol"] == "reset" and row["complete"] is True
    with Library(lib).open(summary["id"]) as reader:
        assert reader.meta.settings["seed"] == 5
        assert "[[phases]]" in reader.meta.protocol_toml
        assert reader.meta.synthetic is True


def test_same_seed_gives_the_same_recorded_beats(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    ids = []
    for _ in range(2):
        code, out, _ = run_cli(capsys, "record", "--device", "sim", "--duration", "60", "--speed", "max",
                               "--seed", "11", "--library", lib, "--json", "--quiet")
        assert code == 0
        ids.append(json.loads(out)["id"])
    with Library(lib).open(ids[0]) as a, Library(lib).open(ids[1]) as b:
        assert list(a.beats().rr_1024) == list(b.beats().rr_1024)
        assert len(a.beats()) > 50


def test_two_straps_are_tagged_with_their_participants(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    code, out, err = run_cli(capsys, "record", "--device", "client=sim:hr=80", "--device", "therapist=sim:hr=60",
                             "--participant", "client=C1", "--participant", "therapist=T1", "--duration", "120",
                             "--speed", "max", "--library", lib, "--json", "--quiet")
    assert code == 0, err
    sid = json.loads(out)["id"]
    with Library(lib).open(sid) as reader:
        assert reader.meta.participants == {"client": "C1", "therapist": "T1"}
        client, therapist = reader.beats(participant="client"), reader.beats(participant="therapist")
        assert client.rr_ms.mean() < therapist.rr_ms.mean()  # 80 bpm vs 60 bpm


@pytest.mark.slow
def test_demo_runs_in_the_terminal_without_a_display(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    code, out, err = run_cli(capsys, "demo", "--speed", "max", "--library", str(tmp_path), "--json")
    assert code == 0
    assert "No display found" in err
    assert "phase: paced" in err and "open the door" in err
    assert json.loads(out)["end_reason"] == "protocol finished"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["record", "--device", "sim", "--device", "sim"], "its own participant role"),
        (["record", "--device", "sim:nonsense=1"], "nonsense"),
        (["record", "--speed", "fast-ish"], "--speed"),
        (["record", "--duration", "-3"], "--duration"),
        (["record", "--protocol", "no-such-protocol"], "no-such-protocol"),
        (["record", "--device", "AA:BB:CC:DD:EE:FF", "--speed", "max"], "real strap"),
        (["show", "20000101-000000-dead"], "20000101-000000-dead"),
    ],
)
def test_bad_input_gives_one_line_error_and_nonzero_exit(tmp_path, capsys, argv, message):
    code, out, err = run_cli(capsys, *argv, "--library", str(tmp_path))
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("biotrainer: error:") and message in lines[0]
    assert "Traceback" not in err


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from biotrainer.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('neurokit2', 'PyQt5', 'bleak', 'scipy', 'pandas', 'pylsl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_ctrl_c_stops_and_saves_a_real_time_session(tmp_path):
    lib = tmp_path / "lib"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "biotrainer.cli", "record", "--device", "sim", "--library",
                             str(lib), "--no-metrics", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        # wait (by data, not by a timing assertion) until the session has committed some beats
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sessions = Library(lib).list_sessions() if lib.exists() else []
            if sessions and sessions[0].n_beats > 3:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["end_reason"] == "stopped by user"
    with Library(lib).open(summary["id"]) as reader:
        assert reader.complete
        assert len(reader.beats()) > 3


def test_gui_without_a_display_is_one_line_not_a_crash(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "biotrainer"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no display" in proc.stderr
