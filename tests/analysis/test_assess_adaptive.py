"""``biotrainer assess`` on a closed-loop resonance session (``resonance-adaptive``), recorded with the simulator."""

from __future__ import annotations

import json

import pytest

from biotrainer.cli import main


def _record(tmp_path, *extra: str) -> str:
    assert main(["participants", "--library", str(tmp_path), "add", "P07"]) == 0
    args = ["record", "--device", "sim:resonance=5.2", "--protocol", "resonance-adaptive", "--speed", "max",
            "--seed", "3", "--participant", "P07", "--library", str(tmp_path), *extra]
    assert main(args) == 0
    return next((tmp_path / "sessions").glob("*.sqlite")).stem


@pytest.mark.slow
def test_assess_json_gives_the_settled_rate_and_whether_it_converged(tmp_path, capsys) -> None:
    session = _record(tmp_path)
    capsys.readouterr()
    assert main(["assess", session, "--library", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "adaptive" and isinstance(out["converged"], bool)
    assert out["pick_per_min"] == out["pick_rate_per_min"]
    assert abs(out["pick_per_min"] - 5.2) <= 0.3  # the simulated person's resonance
    assert len(out["steps"]) >= 4 and all(s["name"].startswith("dwell-") for s in out["steps"])
    changes = [c for c in out["changes"] if "->" in c["text"]]
    assert changes and all(c["author"] == "adaptive-pacer" and ": " in c["text"] for c in changes)
    assert out["participant"] == {"role": "self", "pseudonym": "P07"}
    assert main(["assess", session, "--library", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "the pacer's record:" in text and "adaptive pacer settled on" in text
    assert main(["assess", session, "--library", str(tmp_path), "--save", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["saved"] is True
    assert main(["participants", "--library", str(tmp_path), "--json", "show", "P07"]) == 0
    assert str(out["pick_per_min"]) in capsys.readouterr().out  # the next session paces at the settled rate


@pytest.mark.slow
def test_a_locked_session_keeps_its_rate_and_says_so(tmp_path, capsys) -> None:
    session = _record(tmp_path, "--lock-pacer")
    capsys.readouterr()
    assert main(["assess", session, "--library", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pick_per_min"] == 6.0 and out["converged"] is False
    assert [(c["author"], c["text"]) for c in out["changes"]] == [("therapist", "pacer locked")]
    assert {s["rate_per_min"] for s in out["steps"]} == {6.0}
