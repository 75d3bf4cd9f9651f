"""``biotrainer import --role therapist=FILE --role client=FILE``: one session with both people, aligned."""

from __future__ import annotations

import json

import pytest

from biotrainer.cli import main
from biotrainer.sources.sim.config import SimConfig
from biotrainer.store import Library
from biotrainer.wiring.simulate import run_simulated_session


@pytest.fixture(scope="module")
def rr_pair(tmp_path_factory):
    """Two RR text files (no start times) of a coupled simulated dyad."""
    folder = tmp_path_factory.mktemp("dyad")
    therapist = SimConfig(seed=4, participant="therapist", device="a", hr_bpm=62.0)
    client = SimConfig(seed=504, participant="client", device="b", hr_bpm=76.0, follow="therapist", coupling=0.6)
    events, _ = run_simulated_session([therapist, client], duration_s=600)
    paths = {}
    for role in ("therapist", "client"):
        rr = [e.rr_ms for e in events if e.KIND == "beat" and e.participant == role]
        paths[role] = folder / f"{role}.txt"
        paths[role].write_text("\n".join(f"{x:.3f}" for x in rr) + "\n")
    return paths


def _import(tmp_path, capsys, *args):
    capsys.readouterr()
    code = main(["import", "--library", str(tmp_path), "--json", *args])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err.strip()


def test_two_rr_files_become_one_session_with_both_people(tmp_path, capsys, rr_pair):
    code, out, _ = _import(tmp_path, capsys, "--role", f"therapist={rr_pair['therapist']}", "--role",
                           f"client={rr_pair['client']}", "--participant", "therapist=T01", "--participant",
                           "client=C07")
    assert code == 0
    assert out["participants"] == {"therapist": "T01", "client": "C07"}
    assert out["alignment"] == "both at 0 s (a file carries no start time)"
    with Library(tmp_path).open(out["id"]) as reader:
        beats = reader.beats()
        assert dict(reader.meta.participants) == {"therapist": "T01", "client": "C07"}
    roles = set(beats.participant.tolist())
    assert roles == {"therapist", "client"}
    for role, path in rr_pair.items():
        want = [float(v) for v in path.read_text().split()]
        got = beats.rr_ms[beats.participant == role]
        assert got.size == len(want) and abs(got - want).max() <= 0.5 * 1000 / 1024
    capsys.readouterr()
    assert main(["synchrony", out["id"], "--library", str(tmp_path), "--json", "--surrogates", "200"]) == 0
    sync = json.loads(capsys.readouterr().out)
    assert sync["session"]["p_value"] < 0.05 and sync["lead_lag"]["leader"] == "therapist"


def test_an_offset_shifts_one_person_and_is_recorded(tmp_path, capsys, rr_pair):
    code, out, _ = _import(tmp_path, capsys, "--role", f"therapist={rr_pair['therapist']}", "--role",
                           f"client={rr_pair['client']}", "--offset-s", "client=2.5")
    assert code == 0 and out["offsets_s"] == {"therapist": 0.0, "client": 2.5}
    with Library(tmp_path).open(out["id"]) as reader:
        beats = reader.beats()
    t = beats.beat_t_s[beats.participant == "therapist"]
    c = beats.beat_t_s[beats.participant == "client"]
    first = [float(v) for v in rr_pair["client"].read_text().split()][0] / 1000
    assert c[0] == pytest.approx(first + 2.5, abs=1e-3) and t[0] < c[0]


def test_sessions_with_start_times_are_aligned_by_them(tmp_path, capsys):
    """Two single-person biotrainer sessions recorded 30 s apart land 30 s apart in one session."""
    ids = []
    for role, seed in (("therapist", "1"), ("client", "2")):
        assert main(["record", "--library", str(tmp_path / role), "--speed", "max", "--quiet", "--no-metrics",
                     "--device", f"{role}=sim", "--duration", "60", "--seed", seed]) == 0
        ids.append(next((tmp_path / role / "sessions").glob("*.sqlite")))
    # the simulator's clock starts every session at the same instant: move the client's start 30 s later
    import sqlite3

    with Library(tmp_path / "therapist").open(ids[0]) as reader:
        therapist_anchor = reader.meta.anchor_unix_s
    con = sqlite3.connect(ids[1])
    con.execute("UPDATE meta SET value = ? WHERE key = 'anchor_unix_s'", (json.dumps(therapist_anchor + 30.0),))
    con.commit()
    con.close()
    code, out, _ = _import(tmp_path / "lib", capsys, "--role", f"therapist={ids[0]}", "--role", f"client={ids[1]}")
    assert code == 0 and out["alignment"] == "by the files' start times"
    assert out["offsets_s"] == {"therapist": 0.0, "client": 30.0}
    with Library(tmp_path / "lib").open(out["id"]) as reader:
        beats = reader.beats()
        assert reader.meta.synthetic  # simulated data stays labelled as such
    assert beats.beat_t_s[beats.participant == "client"].min() > 30.0


@pytest.mark.parametrize(("args", "words"), [
    (["--role", "therapist=T"], "needs two files"),
    (["--role", "boss=T", "--role", "client=C"], "expected ROLE=VALUE"),
    (["--role", "client=T", "--role", "client=C"], "role client given twice"),
    (["--role", "therapist=T", "--role", "client=C", "--offset-s", "client=soon"], "expected a number of seconds"),
    (["--role", "therapist=T", "--role", "client=C", "--participant", "self=P1"], "no --role self=FILE"),
    (["--role", "therapist=T", "--role", "client=C", "--participant", "client=\x1b[31m"], "control characters"),
    (["--offset-s", "client=1", "x.txt"], "--offset-s is for a dyad import"),
])
def test_bad_dyad_imports_are_one_line_errors(tmp_path, capsys, rr_pair, args, words):
    args = [a.replace("=T", f"={rr_pair['therapist']}").replace("=C", f"={rr_pair['client']}") for a in args]
    code, _, err = _import(tmp_path, capsys, *args)
    assert code != 0 and words in err and len(err.splitlines()) == 1
    assert not (tmp_path / "sessions").exists() or not list((tmp_path / "sessions").glob("*.sqlite"))
