"""The export and import commands end to end, through ``biotrainer.cli.main``."""

from __future__ import annotations

import json

import numpy as np

from biotrainer.cli import main
from tests.helpers import synthetic_session, tmp_library


def test_export_all_formats_then_import_each_back(tmp_path, capsys):
    lib = tmp_library(tmp_path)
    sid = synthetic_session(lib, 40.0, seed=2)
    sid2 = synthetic_session(lib, 30.0, seed=4, participants={"self": "P07"}, anchor=1_790_100_000.0)
    libarg = ["--library", str(lib.root)]
    for fmt in ("csv", "bids", "edf"):
        assert main(["export", "--all", "--format", fmt, "--out", str(tmp_path / fmt), "--json", *libarg]) == 0
        out = json.loads(capsys.readouterr().out)
        assert sorted(out["sessions"]) == sorted([sid, sid2]) and out["files"]
    assert main(["export", "--participant", "P07", "--format", "edf", "--out", str(tmp_path / "p7"), *libarg]) == 0
    assert [p.name for p in (tmp_path / "p7").iterdir()] == [f"{sid2}.edf"]
    capsys.readouterr()

    original = lib.open(sid).beats().rr_1024
    for src in (tmp_path / "csv" / sid, tmp_path / "edf" / f"{sid}.edf"):
        assert main(["import", str(src), "--json", *libarg]) == 0
        new_id = json.loads(capsys.readouterr().out)["id"]
        with lib.open(new_id) as reader:
            assert reader.complete
            assert np.array_equal(np.sort(reader.beats().rr_1024), np.sort(original))


def test_errors_are_one_line_and_name_the_problem(tmp_path, capsys):
    lib = tmp_library(tmp_path)
    rc = main(["export", "nosuchsession", "--format", "csv", "--out", str(tmp_path / "o"),
               "--library", str(lib.root)])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "nosuchsession" in err
    bad = tmp_path / "rr.txt"
    bad.write_text("800\nabc\n")
    rc = main(["import", str(bad), "--library", str(lib.root)])
    err = capsys.readouterr().err
    assert rc != 0 and err.strip() == f"biotrainer: error: {bad}: line 2 is not an RR interval: 'abc'"


def test_import_file_for_the_gui_returns_the_new_session_id(tmp_path):
    from biotrainer import exchange

    lib = tmp_library(tmp_path)
    p = tmp_path / "rr.txt"
    p.write_text("\n".join(str(800 + 40 * ((i // 3) % 2)) for i in range(120)))
    sid = exchange.import_file(p, library=lib, participant="P3")
    with lib.open(sid) as reader:
        assert len(reader.beats()) == 120 and reader.meta.participants == {"self": "P3"}
        assert reader.meta.extra["imported_from"] == {"file": "rr.txt", "format": "rr-text"}


def test_export_folders_are_private_to_the_user(tmp_path, capsys):
    import stat

    lib = tmp_library(tmp_path)
    synthetic_session(lib, 30.0, seed=3)
    for fmt in ("csv", "bids", "edf"):
        out = tmp_path / f"out-{fmt}"
        assert main(["export", "--all", "--format", fmt, "--out", str(out), "--library", str(lib.root)]) == 0
        for path in [out, *out.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    capsys.readouterr()
