"""Regression tests for bad input found by using every headless command as a user would.

Each test: one clear line on stderr (``biotrainer: error: ...``), a non-zero exit, no traceback, nothing recorded
lost or left half-written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biotrainer.cli import main
from biotrainer.errors import RecordingError
from biotrainer.store import Library

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"
EXAMPLE = RECORDINGS / "synthetic-faults-baseline.sqlite"


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("biotrainer: error: "), err
    assert "Traceback" not in err
    return err


@pytest.fixture
def lib(tmp_path) -> Path:
    """A library holding a copy of a shipped example session."""
    root = tmp_path / "lib"
    assert main(["import", str(EXAMPLE), "--library", str(root)]) == 0
    return root


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_record_duration_not_finite_is_a_usage_error(tmp_path, capsys, value):
    root = tmp_path / "lib"
    rc = main(["record", "--speed", "max", "--quiet", f"--duration={value}", "--library", str(root)])
    assert rc == 2
    assert "--duration" in one_error(capsys)
    assert not (root / "sessions").exists() or not any((root / "sessions").iterdir())


def test_a_header_that_cannot_be_written_leaves_no_unreadable_session(tmp_path):
    library = Library(tmp_path / "lib")
    with pytest.raises(RecordingError, match="cannot create the session file"):
        library.new_session(settings={"duration_s": float("nan")})
    assert list((tmp_path / "lib" / "sessions").iterdir()) == []


def test_library_that_is_a_file_is_an_error(tmp_path, capsys, monkeypatch):
    f = tmp_path / "notafolder"
    f.write_text("x")
    assert main(["sessions", "--library", str(f)]) == 1
    assert "must be a folder" in one_error(capsys)
    monkeypatch.setenv("BIOTRAINER_LIBRARY", str(f))
    assert main(["sessions"]) == 1
    assert str(f) in one_error(capsys)
    assert f.read_text() == "x"


def test_unreadable_file_in_the_library_can_be_deleted_but_not_outside_it(lib, tmp_path, capsys):
    broken = lib / "sessions" / "20200101-000000-dead.sqlite"
    broken.write_bytes(b"not a database at all, just junk" * 10)
    assert main(["sessions", "--library", str(lib)]) == 0
    out, err = capsys.readouterr()
    assert "unreadable" in out and err == ""  # the list says it once, no extra warning line
    assert main(["delete", "20200101", "--yes", "--library", str(lib)]) == 0
    assert not broken.exists()
    capsys.readouterr()
    outside = tmp_path / "precious.sqlite"
    outside.write_bytes(b"junk" * 100)
    assert main(["delete", str(outside), "--yes", "--library", str(lib)]) == 1
    assert "not a SQLite file" in one_error(capsys)
    assert outside.exists()
    assert len(Library(lib).list_sessions()) == 1


def test_protocols_validate_a_folder_names_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["protocols", "validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"{tmp_path}: is a folder, not a protocol file"


def test_json_outputs_are_valid_json(lib, capsys):
    for argv in (["sessions", "--json"], ["show", "20", "--json"]):
        assert main([*argv, "--library", str(lib)]) == 0
        json.loads(capsys.readouterr().out)
