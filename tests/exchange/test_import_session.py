"""``biotrainer import SESSION.sqlite``: a biotrainer session file is copied into the library under its own id."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from biotrainer.cli import main
from biotrainer.store import Library

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
EXAMPLE = RECORDINGS / "synthetic-faults-baseline.sqlite"


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("biotrainer: error: "), err
    return err


def test_session_file_is_copied_as_a_normal_session(tmp_path, capsys):
    lib = tmp_path / "lib"
    assert main(["import", str(EXAMPLE), "--library", str(lib), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "biotrainer-session" and out["beats"] > 0
    library = Library(lib)
    [summary] = library.list_sessions()
    assert summary.id == out["id"] and summary.error is None and summary.complete
    copy = Path(summary.path)
    if os.name == "posix":
        assert copy.stat().st_mode & 0o777 == 0o600
    with library.open(out["id"]) as reader, library.open(str(EXAMPLE)) as original:
        assert reader.counts() == original.counts()
        assert reader.meta.title == original.meta.title
        assert reader.meta.extra.get("imported_from", {}).get("format") == "biotrainer-session"
    # the source file is untouched and nothing but the session is left in the library
    assert sorted(p.name for p in (lib / "sessions").iterdir()) == [copy.name]


def test_importing_the_same_session_twice_is_refused(tmp_path, capsys):
    lib = tmp_path / "lib"
    assert main(["import", str(EXAMPLE), "--library", str(lib)]) == 0
    capsys.readouterr()
    before = sorted((lib / "sessions").iterdir())
    assert main(["import", str(EXAMPLE), "--library", str(lib)]) == 2
    err = _one_error_line(capsys)
    assert "already in the library" in err
    # also from its copy inside the library
    assert main(["import", str(before[0]), "--library", str(lib)]) == 2
    assert "already in the library" in _one_error_line(capsys)
    assert sorted((lib / "sessions").iterdir()) == before


def test_participant_option_sets_the_pseudonym_of_the_copy(tmp_path, capsys):
    lib = tmp_path / "lib"
    assert main(["import", str(EXAMPLE), "--participant", "P42", "--library", str(lib), "--json"]) == 0
    sid = json.loads(capsys.readouterr().out)["id"]
    assert list(Library(lib).open(sid).meta.participants.values()) == ["P42"]
    two = RECORDINGS / "synthetic-two-straps-extended-exhale.sqlite"
    assert main(["import", str(two), "--participant", "P42", "--library", str(lib)]) == 2
    assert "several participants" in _one_error_line(capsys)


def test_bad_session_files_are_one_line_errors_and_leave_no_trace(tmp_path, capsys):
    lib = tmp_path / "lib"
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"\x00\x01garbage")
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(EXAMPLE.read_bytes()[:20000])
    for bad, why in ((garbage, "not a SQLite file"), (empty, "not a biotrainer session"),
                     (truncated, "damaged")):
        assert main(["import", str(bad), "--library", str(lib)]) == 1
        err = _one_error_line(capsys)
        assert str(bad) in err and why in err
    assert not (lib / "sessions").exists() or not any((lib / "sessions").iterdir())


def test_session_file_without_sqlite_suffix_is_recognised(tmp_path, capsys):
    renamed = tmp_path / "session.bin"
    shutil.copyfile(EXAMPLE, renamed)
    assert main(["import", str(renamed), "--library", str(tmp_path / "lib"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "biotrainer-session"
