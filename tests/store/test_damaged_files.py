"""Damaged session files: every reader path names the file and the row, `show` lists what is damaged."""

from __future__ import annotations

import json
import sqlite3

import pytest

from biotrainer.cli import main
from biotrainer.core import events as ev
from biotrainer.core.errors import RecordingError
from biotrainer.store import Library, SessionReader
from biotrainer.store.reader import DamagedSessionError


@pytest.fixture
def session(tmp_path):
    lib = Library(tmp_path / "lib")
    w = lib.new_session(participants={"self": "P1"}, anchor_unix_s=1_795_000_000.0)
    w(ev.SessionState(t_s=0.0, participant=ev.SESSION, state="start"))
    for i in range(1, 11):
        w(ev.Beat(t_s=float(i), rr_1024=1000 + i, beat_t_s=i - 0.05))
        w(ev.EcgFrame(t_s=i + 0.5, fs_hz=130.0, samples_uv=ev.np.arange(13, dtype=ev.np.int32),
                      last_sample_t_s=i + 0.49))
    w(ev.SessionState(t_s=11.0, participant=ev.SESSION, state="stop", reason="stopped"))
    w.close()
    return w.path


def edit(path, sql, *params):
    conn = sqlite3.connect(str(path))
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def beat_seq(path, n: int) -> int:
    conn = sqlite3.connect(str(path))
    seq = conn.execute("SELECT seq FROM events WHERE kind = 'beat' ORDER BY seq LIMIT 1 OFFSET ?", (n,)).fetchone()[0]
    conn.close()
    return seq


def test_intact_file_has_no_damage(session):
    with SessionReader(session) as r:
        assert r.damage() == [] and r.summary()["damaged"] == [] and len(r.beats()) == 10


def test_null_rr_is_named_with_its_row_in_events_beats_and_show(session, capsys):
    seq = beat_seq(session, 3)
    edit(session, "UPDATE events SET data = json_set(data, '$.rr_1024', json('null')) WHERE seq = ?", seq)
    with SessionReader(session) as r:
        with pytest.raises(DamagedSessionError) as err:
            list(r.events())
        assert str(err.value) == f"damaged session file {session}: beat event: rr_1024 is null (row {seq})"
        with pytest.raises(DamagedSessionError, match=rf"rr_1024 is null \(row {seq}\)"):
            r.beats()
        assert r.damage() == [f"row {seq}: beat event: rr_1024 is null"]
        assert len(r.ecg()) == 130  # the rest stays readable
    code = main(["show", str(session)])
    out, err = capsys.readouterr()
    assert code == 0 and f"  row {seq}: beat event: rr_1024 is null" in out and "damaged   " in out
    code = main(["analyze", str(session)])
    out, err = capsys.readouterr()
    assert code == 1 and err.startswith("biotrainer: error: damaged session file ") and f"(row {seq})" in err


def test_one_event_far_in_the_future_is_damage_not_a_931_gib_export(session, tmp_path, capsys):
    seq = beat_seq(session, 0) + 1  # the first ECG frame
    edit(session, "UPDATE events SET t_s = 1e12 WHERE seq = ?", seq)
    with SessionReader(session) as r:
        assert r.damage() == [f"row {seq}: ecg event: t_s = 1000000000000.0 is outside -1e+07..1e+07"]
        with pytest.raises(DamagedSessionError, match=rf"\(row {seq}\)"):
            r.ecg()
    code = main(["export", str(session), "--format", "edf", "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 1 and f"(row {seq})" in err and err.count("\n") == 1


def test_negative_sampling_rate(session):
    edit(session, "UPDATE events SET data = json_set(data, '$.fs_hz', -130.0) WHERE kind = 'ecg'")
    with SessionReader(session) as r:
        with pytest.raises(DamagedSessionError, match=r"ecg event: fs_hz = -130.0 is outside 0.001..100000 \(row \d+\)"):
            r.ecg()
        assert len(r.damage()) == 10 and len(r.damage(limit=3)) == 3


def test_bad_utf8_in_the_header_and_in_an_event(session, capsys):
    edit(session, "UPDATE meta SET value = CAST(X'2248C3A46CFF6F22' AS TEXT) WHERE key = 'title'")
    with pytest.raises(DamagedSessionError) as err:
        SessionReader(session)
    assert str(err.value) == (f"damaged session file {session}: not a readable biotrainer session header "
                              f"(header 'title' is not valid UTF-8)")
    code = main(["show", str(session)])
    out, err = capsys.readouterr()
    assert code == 1 and err == f"biotrainer: error: {err[len('biotrainer: error: '):]}" and err.count("\n") == 1
    edit(session, "UPDATE meta SET value = '\"ok\"' WHERE key = 'title'")
    seq = beat_seq(session, 2)
    edit(session, "UPDATE events SET data = CAST(X'7B22FF223A317D' AS TEXT) WHERE seq = ?", seq)
    with SessionReader(session) as r:
        assert r.damage() == [f"row {seq}: text that is not valid UTF-8"]
        with pytest.raises(DamagedSessionError, match=rf"text that is not valid UTF-8 \(row {seq}\)"):
            list(r.events())


@pytest.mark.parametrize("key, value, words", [
    ("participants", ["P1"], "header 'participants' is list"),
    ("anchor_unix_s", "soon", "header 'anchor_unix_s' is str"),
    ("completed", {"duration_s": "long"}, "header 'completed' duration_s is str"),
    ("id", "../../etc", "is not a session id"),
])
def test_header_values_of_the_wrong_type(session, key, value, words):
    edit(session, "UPDATE meta SET value = ? WHERE key = ?", json.dumps(value), key)
    with pytest.raises(RecordingError, match="damaged session file .*" + words.replace("(", r"\(")):
        SessionReader(session)
