"""Exports and reports are atomic: a full disk (an injected ``OSError(ENOSPC)``) at any point leaves no file behind
(not even a 0-byte one, nor the new output folder), an existing file untouched, and the CLI exits non-zero with one
line. Was: EDF exited 0 with a 0-byte file; CSV, BIDS and report left 0-byte files."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from tests.helpers import synthetic_session, tmp_library


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    lib = tmp_library(tmp_path_factory.mktemp("atomic"))
    synthetic_session(lib, 30.0, seed=1, participants={"self": "P1"})
    synthetic_session(lib, 30.0, seed=2, participants={"self": "P2"}, gap=(10.0, 15.0))
    return lib


def _run(capsys, *argv) -> tuple[int, str]:
    from biotrainer.cli import main

    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().err


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("fmt", ["csv", "bids", "edf"])
def test_a_full_disk_at_flush_leaves_nothing_and_exits_with_one_line(lib, tmp_path, capsys, monkeypatch, fmt):
    from biotrainer.exchange import atomic

    monkeypatch.setattr(atomic, "_fsync", _enospc)
    out = tmp_path / "out"
    code, err = _run(capsys, "export", "--all", "--format", fmt, "--out", str(out), "--library", str(lib.root))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("biotrainer: error: ") and "disk full" in err, err
    assert "nothing was written" in err and ".part-" not in err  # names the real file, not the temporary one
    assert not out.exists()  # not a file, not the new folder


@pytest.mark.parametrize("fmt", ["csv", "bids", "edf"])
def test_a_full_disk_while_writing_keeps_an_earlier_export_untouched(lib, tmp_path, capsys, monkeypatch, fmt):
    out = tmp_path / "out"
    code, _ = _run(capsys, "export", "--all", "--format", fmt, "--out", str(out), "--library", str(lib.root))
    assert code == 0
    before = {p: (out / p).read_bytes() for p in _files(out) if (out / p).is_file()}
    assert before and all(stat.S_IMODE(os.stat(out / p).st_mode) == 0o600 for p in before)
    if fmt == "edf":
        import pyedflib

        monkeypatch.setattr(pyedflib.EdfWriter, "writeSamples", _enospc)
    else:
        import gzip

        from biotrainer.exchange import csv_export

        # the second file of each session (CSV markers) / the first gzip stream (BIDS physio) hits the full disk
        monkeypatch.setattr(csv_export, "_write_markers", _enospc)
        monkeypatch.setattr(gzip.GzipFile, "write", _enospc)
    code, err = _run(capsys, "export", "--all", "--format", fmt, "--out", str(out), "--library", str(lib.root))
    assert code == 1 and err.count("\n") == 1 and "disk full" in err, err
    assert {p: (out / p).read_bytes() for p in _files(out) if (out / p).is_file()} == before  # no temp, no change


def test_an_edf_that_pyedflib_writes_short_is_refused(lib, tmp_path, monkeypatch):
    """pyedflib does not report a failed write (full disk): the length check against the header catches it."""
    import pyedflib

    from biotrainer.core.errors import ExportError
    from biotrainer.exchange.edf import export_edf
    from biotrainer.exchange.library import load_session

    session = load_session(lib, lib.list_sessions()[0].id)
    monkeypatch.setattr(pyedflib.EdfWriter, "writeSamples", lambda *_a, **_k: None)  # records silently missing
    with pytest.raises(ExportError, match="incomplete"):
        export_edf(session, tmp_path / "s.edf")
    assert _files(tmp_path) == []


@pytest.mark.parametrize("suffix", ["html", "pdf"])
def test_a_report_on_a_full_disk_leaves_the_old_report_and_no_new_file(lib, tmp_path, capsys, monkeypatch, suffix):
    from biotrainer.exchange import atomic

    sid = lib.list_sessions()[0].id
    target = tmp_path / f"r.{suffix}"
    target.write_bytes(b"old report")
    monkeypatch.setattr(atomic, "_fsync", _enospc)
    code, err = _run(capsys, "report", sid, "--out", str(target), "--library", str(lib.root))
    assert code == 1 and err.count("\n") == 1 and "disk full" in err, err
    assert target.read_bytes() == b"old report"
    assert _files(tmp_path) == [target.relative_to(tmp_path)]
    monkeypatch.undo()
    code, _ = _run(capsys, "report", sid, "--out", str(target), "--library", str(lib.root))
    assert code == 0 and target.read_bytes()[:5] in (b"<!DOC", b"%PDF-")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_atomic_writes_commit_together_and_abort_removes_created_folders(tmp_path):
    from biotrainer.core.errors import ExportError
    from biotrainer.exchange.atomic import AtomicWrites

    with AtomicWrites() as out:
        with out.open(tmp_path / "a" / "b" / "x.txt", "w") as fh:
            fh.write("x")
        assert not (tmp_path / "a" / "b" / "x.txt").exists()  # not before the end
    assert (tmp_path / "a" / "b" / "x.txt").read_text() == "x"
    with pytest.raises(ExportError, match="disk full"), AtomicWrites() as out:
        with out.open(tmp_path / "n" / "y.txt", "w") as fh:
            fh.write("y")
        _enospc()
    assert not (tmp_path / "n").exists()
