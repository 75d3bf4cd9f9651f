"""Simple inputs that used to end in tracebacks or never end, and the one pseudonym rule at every entry point."""

from __future__ import annotations

import os

import numpy as np
import pytest

from biotrainer.cli import main
from biotrainer.store import Library


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("biotrainer: error: ") and "Traceback" not in err, err
    return err[len("biotrainer: error: "):].strip()


@pytest.mark.parametrize("args, words", [
    (["--seed", "-1"], "--seed -1: expected a whole number from 0 to 4294967295"),
    (["--title", "x" * 100_000], "title 'xxxxxxxxxxxxxxxxxxxx'... is 100000 characters long; at most 200"),
    (["--title", "a\x1b[2Jb"], "contains control characters"),
    (["--protocol", "/dev/zero"], "--protocol /dev/zero: not a regular file"),
    (["--participant", "Jane Doe"], "pseudonym of self 'Jane Doe' looks like a real name"),
    (["--participant", "x" * 5000], "is longer than 64 characters"),
    (["--participant", "client=\x1b[31mP1", "--device", "client=sim"], "contains control characters"),
    (["--participant", "a/b"], "may hold only letters, digits, '-', '_' and '.'"),
])
def test_record_refuses_bad_inputs_in_one_line_and_records_nothing(tmp_path, capsys, args, words):
    lib = tmp_path / "lib"
    code, out, err = run(capsys, "record", "--duration", "5", "--speed", "max", "--quiet", "--library", str(lib),
                         *args)
    assert code == 2 and words in one_error_line(err)
    assert Library(lib).list_sessions() == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_protocol_and_rr_from_a_fifo_are_refused_instead_of_waiting_forever(tmp_path, capsys):
    fifo = tmp_path / "rr.txt"
    os.mkfifo(fifo)
    code, out, err = run(capsys, "record", "--protocol", str(fifo), "--duration", "5", "--quiet",
                         "--library", str(tmp_path / "lib"))
    assert code == 2 and "not a regular file" in one_error_line(err)
    code, out, err = run(capsys, "analyze", str(fifo))
    assert code == 1 and one_error_line(err) == (f"{fifo}: not a regular file (a pipe or a device); save the data "
                                                 f"to a file first")


def test_participants_add_uses_the_same_rule(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    code, out, err = run(capsys, "participants", "--library", lib, "add", "Jane Doe")
    assert code == 2 and one_error_line(err).startswith("pseudonym 'Jane Doe' looks like a real name")
    code, out, err = run(capsys, "participants", "--library", lib, "add", "P-07")
    assert code == 0 and out == "added P-07 (self)\n"


def test_analyze_names_files_that_must_be_imported_or_converted(tmp_path, capsys):
    edf = tmp_path / "good.edf"
    edf.write_bytes(b"0       " + b" " * 248)
    code, out, err = run(capsys, "analyze", str(edf))
    assert code == 1 and one_error_line(err) == (f"{edf}: is an EDF recording, not an RR or ECG table: import it "
                                                 f"first ('biotrainer import {edf}'), then analyze the session")
    utf16 = tmp_path / "rr.txt"
    utf16.write_text("800\n810\n820\n", encoding="utf-16")
    code, out, err = run(capsys, "analyze", str(utf16))
    assert code == 1 and one_error_line(err) == f"{utf16}: UTF-16 text; save it as UTF-8 (plain text) and try again"


def test_analyze_npy_of_strings_or_empty(tmp_path, capsys):
    strings = tmp_path / "strings.npy"
    np.save(strings, np.array(["a", "b"]))
    code, out, err = run(capsys, "analyze", str(strings), "--fs", "130")
    assert code == 1 and one_error_line(err) == f"{strings}: the array holds text values (<U1); an ECG is numbers"
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    code, out, err = run(capsys, "analyze", str(empty), "--fs", "130")
    assert code == 1 and one_error_line(err).startswith(f"{empty}: not a readable .npy array")


def test_rename_and_notes_follow_the_header_rule(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    code, out, err = run(capsys, "record", "--duration", "3", "--speed", "max", "--quiet", "--no-metrics",
                         "--library", lib)
    sid = out.strip()
    code, out, err = run(capsys, "rename", sid, "y" * 300, "--library", lib)
    assert code == 2 and "at most 200" in one_error_line(err)
    code, out, err = run(capsys, "rename", sid, "Evening practice", "--library", lib)
    assert code == 0 and Library(lib).list_sessions()[0].title == "Evening practice"


@pytest.mark.slow
def test_a_display_name_stays_in_the_register_and_never_reaches_sessions_or_exports(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    code, out, err = run(capsys, "participants", "--library", lib, "add", "P07", "--display-name", "Jane Doe")
    assert code == 0 and out == "added P07 (self)\n" and "stays in this library's register" in err
    code, out, err = run(capsys, "participants", "--library", lib, "show", "P07")
    assert "name       Jane Doe (this computer only; never exported)" in out
    code, out, err = run(capsys, "record", "--participant", "P07", "--duration", "5", "--speed", "max", "--quiet",
                         "--no-metrics", "--library", lib)
    assert code == 0
    sid = out.strip()
    session_bytes = Library(lib).session_path(sid).read_bytes()
    assert b"P07" in session_bytes and b"Jane" not in session_bytes
    code, out, err = run(capsys, "export", sid, "--format", "csv", "--out", str(tmp_path / "out"), "--library", lib)
    assert code == 0
    exported = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert exported and not any(b"Jane" in p.read_bytes() for p in exported)
    assert any(b"P07" in p.read_bytes() for p in exported)
    code, out, err = run(capsys, "participants", "--library", lib, "set", "P07", "--display-name", "")
    assert code == 0 and Library(lib).participants.get("P07").display_name == ""


def test_a_name_recorded_before_the_pseudonym_rule_never_leaves_the_library(tmp_path, capsys):
    """An old session whose participant is 'Jane Doe': export refuses with one line and writes nothing, unless
    ``--as 'Jane Doe=P07'`` gives the pseudonym to export under; the session file keeps what it holds."""
    import csv
    import json
    import sqlite3

    lib = str(tmp_path / "lib")
    code, out, _ = run(capsys, "record", "--library", lib, "--device", "sim", "--duration", "40", "--speed", "max",
                       "--quiet", "--no-metrics", "--participant", "P01")
    assert code == 0
    (path,) = (tmp_path / "lib" / "sessions").glob("*.sqlite")
    db = sqlite3.connect(path)  # as a session written before the rule held it
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'participants'", (json.dumps({"self": "Jane Doe"}),))
    db.close()
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "export", "--library", lib, "--all", "--format", "csv", "--out", str(out_dir))
    assert code != 0 and "'Jane Doe' looks like a real name" in one_error_line(err) and "--as" in err
    code, _, err = run(capsys, "report", "--library", lib, path.stem, "--out", str(tmp_path / "r.html"))
    assert code != 0 and "looks like a real name" in one_error_line(err) and not (tmp_path / "r.html").exists()
    assert not out_dir.exists()
    code, _, err = run(capsys, "export", "--library", lib, "--all", "--format", "csv", "--out", str(out_dir),
                       "--as", "Jane Doe=P07")
    assert code == 0, err
    text = "".join(p.read_text(encoding="utf-8") for p in out_dir.rglob("*") if p.is_file())
    assert "Jane" not in text
    (beats,) = out_dir.rglob("*_beats.csv")
    with beats.open(encoding="utf-8") as f:
        assert {row["participant"] for row in csv.DictReader(f)} == {"P07"}
    db = sqlite3.connect(path)  # raw data is never rewritten
    assert json.loads(db.execute("SELECT value FROM meta WHERE key = 'participants'").fetchone()[0]) == {
        "self": "Jane Doe"}
    db.close()
