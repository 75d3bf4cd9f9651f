"""Regression tests for bad input found by using every headless command as a user would.

Each test: one clear line on stderr (``biotrainer: error: ...``), a non-zero exit, no traceback, nothing recorded
lost or left half-written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biotrainer.cli import main
from biotrainer.core.errors import RecordingError
from biotrainer.store import Library

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
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
    assert main(["delete", str(outside), "--yes", "--library", str(lib)]) == 2
    assert "not in the library" in one_error(capsys)
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


TWO_STRAPS = RECORDINGS / "synthetic-two-straps-extended-exhale.sqlite"


def test_edf_export_of_a_beats_only_session_with_two_straps(tmp_path, capsys):
    """Was: ValueError (zip strict) traceback for every session without ECG/ACC."""
    root = tmp_path / "lib"
    assert main(["import", str(TWO_STRAPS), "--library", str(root)]) == 0
    capsys.readouterr()
    out = tmp_path / "edf"
    assert main(["export", "--all", "--format", "edf", "--out", str(out), "--library", str(root), "--json"]) == 0
    [f] = json.loads(capsys.readouterr().out)["files"]
    assert main(["import", f, "--library", str(root), "--json"]) == 0
    new_id = json.loads(capsys.readouterr().out)["id"]
    with Library(root).open(new_id) as reader, Library(root).open(str(TWO_STRAPS)) as original:
        assert reader.count("beat") == original.count("beat")


def test_export_out_is_a_file_or_below_a_file(lib, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("keep")
    for out, why in ((f, "is a file"), (f / "sub", "part of that path is a file")):
        for fmt in ("csv", "edf", "bids"):
            assert main(["export", "--all", "--format", fmt, "--out", str(out), "--library", str(lib)]) == 1
            assert why in one_error(capsys)
    assert f.read_text() == "keep"


def test_export_progress_is_not_written_to_a_pipe(lib, tmp_path, capsys):
    assert main(["import", str(TWO_STRAPS), "--library", str(lib)]) == 0
    capsys.readouterr()
    assert main(["export", "--all", "--format", "bids", "--out", str(tmp_path / "b"), "--library", str(lib)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("exported 2 session(s)")


def test_export_participant_with_ids_counts_only_theirs(lib, tmp_path, capsys):
    assert main(["import", str(TWO_STRAPS), "--library", str(lib)]) == 0
    capsys.readouterr()
    ids = [s.id for s in Library(lib).list_sessions()]
    assert main(["export", *ids, "--participant", "C01", "--format", "csv", "--out", str(tmp_path / "c"),
                 "--library", str(lib), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["sessions"]) == 1
    assert main(["export", ids[0] if "120150" in ids[0] else ids[1], "--participant", "C01", "--format", "csv",
                 "--out", str(tmp_path / "d"), "--library", str(lib)]) == 2
    assert "C01" in one_error(capsys)


def test_report_out_is_a_folder_or_below_a_file(lib, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("keep")
    assert main(["report", "20", "--out", str(tmp_path), "--format", "html", "--library", str(lib)]) == 1
    assert "is a folder" in one_error(capsys)
    assert main(["report", "20", "--out", str(f / "r.pdf"), "--library", str(lib)]) == 1
    assert "is a file" in one_error(capsys)
    assert f.read_text() == "keep"


def test_compare_unknown_participant_in_a_two_strap_session_is_an_error(tmp_path, capsys):
    root = tmp_path / "lib"
    assert main(["import", str(TWO_STRAPS), "--library", str(root)]) == 0
    capsys.readouterr()
    assert main(["compare", "20", "--participant", "nobody", "--library", str(root)]) == 2
    err = one_error(capsys)
    assert "nobody" in err and "C01" in err and "T01" in err


def test_compare_defaults_to_the_client_and_accepts_pseudonym_or_role(tmp_path):
    from biotrainer.analysis.participants import role_for_comparison
    from biotrainer.exchange.library import load_session

    session = load_session(Library(tmp_path / "lib"), str(TWO_STRAPS))
    roles = list(session.roles)
    assert set(roles) == {"client", "therapist"}
    assert role_for_comparison(session, None) == "client"
    assert role_for_comparison(session, "T01") == "therapist"
    assert role_for_comparison(session, "therapist") == "therapist"


def test_participants_edit_is_an_alias_of_set(tmp_path, capsys):
    root = str(tmp_path / "lib")
    assert main(["participants", "--library", root, "add", "P01"]) == 0
    assert main(["participants", "--library", root, "edit", "P01", "--notes", "weekly"]) == 0
    capsys.readouterr()
    assert main(["participants", "--library", root, "show", "P01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == "weekly"


@pytest.mark.parametrize(("values", "why"), [
    ("800\n-5\n800\n", "RR value -5 ms (interval 2) is not a positive number"),
    ("800\nnan\n800\n", "RR value nan ms (interval 2) is not a positive number"),
    ("800\n1e300\n800\n", "RR value 1e+300 ms (interval 2) is longer than 60 s"),
])
def test_import_rr_bad_values_are_one_clean_line(tmp_path, capsys, values, why):
    """Was: numpy reprs (np.float64(-5.0)) in the message; 1e300 ms gave an OverflowError traceback."""
    f = tmp_path / "rr.txt"
    f.write_text(values)
    assert main(["import", str(f), "--library", str(tmp_path / "lib")]) == 1
    assert one_error(capsys).strip() == f"biotrainer: error: {f}: {why}" + (
        ": not a heartbeat interval" if "longer" in why else "")
    assert not (tmp_path / "lib" / "sessions").exists() or not any((tmp_path / "lib" / "sessions").iterdir())


def test_import_bids_dataset_root_and_session_start_time(lib, tmp_path, capsys):
    """Was: the dataset root said 'no *_beats.csv file (not a biotrainer CSV export)'; an imported BIDS session
    started at the file's mtime instead of acq_time and lost its protocol."""
    [original] = Library(lib).list_sessions()
    out = tmp_path / "bids"
    assert main(["export", "--all", "--format", "bids", "--out", str(out), "--library", str(lib)]) == 0
    capsys.readouterr()
    root2 = tmp_path / "lib2"
    assert main(["import", str(out), "--library", str(root2), "--json"]) == 0  # one session: imported
    new_id = json.loads(capsys.readouterr().out)["id"]
    [copy] = Library(root2).list_sessions()
    assert copy.id == new_id
    assert copy.started_at[:19] == original.started_at[:19]
    assert copy.protocol == original.protocol
    assert main(["import", str(TWO_STRAPS), "--library", str(lib)]) == 0
    assert main(["export", "--all", "--format", "bids", "--out", str(tmp_path / "b2"), "--library", str(lib)]) == 0
    capsys.readouterr()
    assert main(["import", str(tmp_path / "b2"), "--library", str(root2)]) == 1
    err = one_error(capsys)
    assert "BIDS dataset with 2 sessions; import one at a time" in err  # the two-strap session is one


def test_editing_or_deleting_a_session_file_outside_the_library_is_refused(lib, tmp_path, capsys):
    """Was: 'rename recordings/x.sqlite' edited the shipped example in place; delete would remove it."""
    import shutil

    example = tmp_path / "example.sqlite"
    shutil.copyfile(EXAMPLE, example)
    before = example.read_bytes()
    for argv in (["rename", str(example), "new"], ["annotate", str(example), "--at", "3", "hi"],
                 ["annotate", str(example), "--notes", "n"], ["delete", str(example), "--yes"]):
        assert main([*argv, "--library", str(lib)]) == 2
        assert "not in the library" in one_error(capsys)
    assert example.read_bytes() == before
    assert main(["show", str(example), "--library", str(lib)]) == 0  # reading it is fine


def test_annotate_messages_name_the_missing_part(lib, capsys):
    assert main(["annotate", "20", "hello", "--library", str(lib)]) == 2
    assert "needs --at S" in one_error(capsys)
    assert main(["annotate", "20", "--at", "10", "--library", str(lib)]) == 2
    assert "needs the annotation text" in one_error(capsys)
    with Library(lib).open("20") as reader:
        assert reader.annotations() == []


def test_show_a_folder_says_so(tmp_path, capsys):
    assert main(["show", str(tmp_path), "--library", str(tmp_path / "lib")]) == 1
    assert "is a folder, not a session file" in one_error(capsys)


@pytest.mark.parametrize(("argv", "why"), [
    (["--device", "sim", "--device", "therapist=sim", "--participant", "client=C1"], "no --device for role 'client'"),
    (["--participant", "therapist=T1"], "no --device for role 'therapist'"),
    (["--participant", "P1", "--participant", "P2"], "two pseudonyms for role self"),
])
def test_record_participant_that_matches_no_strap_is_an_error(tmp_path, capsys, argv, why):
    """Was: silently dropped; the session was recorded under the default pseudonym 'me'."""
    root = tmp_path / "lib"
    assert main(["record", *argv, "--speed", "max", "--duration", "5", "--quiet", "--library", str(root)]) == 2
    assert why in one_error(capsys)
    assert not (root / "sessions").exists()


def test_edf_round_trip_keeps_the_pseudonym_and_the_roles(lib, tmp_path, capsys):
    """Was: every EDF import was 'self: self' (pseudonym lost; two-strap beats under roles not in the header)."""
    assert main(["import", str(TWO_STRAPS), "--library", str(lib)]) == 0
    out = tmp_path / "edf"
    assert main(["export", "--all", "--format", "edf", "--out", str(out), "--library", str(lib)]) == 0
    capsys.readouterr()
    root2 = tmp_path / "lib2"
    for f in sorted(out.iterdir()):
        assert main(["import", str(f), "--library", str(root2)]) == 0
    people = sorted(tuple(sorted(s.participants.items())) for s in Library(root2).list_sessions())
    assert people == [(("client", "C01"), ("therapist", "T01")), (("self", "P02"),)]  # both pseudonyms now


def test_damaged_xdf_is_one_line_without_pyxdf_tracebacks(tmp_path, capsys, caplog):
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(b"XDF:garbage\x01\x02\x03")
    assert main(["import", str(bad), "--library", str(tmp_path / "lib")]) == 1
    assert str(bad) in one_error(capsys)
    assert not [r for r in caplog.records if r.name.startswith("pyxdf")]


def test_import_empty_participant_is_an_error(tmp_path, capsys):
    f = tmp_path / "rr.txt"
    f.write_text("800\n810\n790\n")
    assert main(["import", str(f), "--participant", " ", "--library", str(tmp_path / "lib")]) == 2
    assert "empty pseudonym" in one_error(capsys)


def test_record_speed_max_without_an_end_is_refused(tmp_path, capsys):
    """Was: ran until Ctrl-C, writing ~3 simulated hours per real minute (a 45 MB session in 10 minutes)."""
    root = tmp_path / "lib"
    assert main(["record", "--speed", "max", "--quiet", "--library", str(root)]) == 2
    assert "--speed max needs --duration" in one_error(capsys)
    assert not (root / "sessions").exists()


@pytest.mark.parametrize("argv", [["record", "--duration", "abc"], ["participants", "add", "P1", "--role", "x"],
                                  ["nosuch"], ["export", "--format", "csv"]])
def test_argument_errors_are_one_line(capsys, argv):
    """Was: argparse's multi-line usage block before the error."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ": error: " in err and "--help" in err


def test_show_without_end_reason_prints_no_empty_parentheses(lib, tmp_path, capsys):
    out = tmp_path / "edf"
    assert main(["export", "--all", "--format", "edf", "--out", str(out), "--library", str(lib)]) == 0
    root2 = tmp_path / "lib2"
    assert main(["import", str(next(out.iterdir())), "--library", str(root2)]) == 0
    capsys.readouterr()
    assert main(["show", "20", "--library", str(root2)]) == 0
    [ended] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("ended")]
    assert not ended.endswith("()")


def test_export_all_names_the_unreadable_files_it_skips(lib, tmp_path, capsys):
    broken = lib / "sessions" / "20200101-000000-dead.sqlite"
    broken.write_bytes(b"junk" * 100)
    assert main(["export", "--all", "--format", "csv", "--out", str(tmp_path / "o"), "--library", str(lib)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("exported 1 session(s)")
    assert err.count("\n") == 1 and "not exported" in err and str(broken) in err


def test_ctrl_c_while_the_commands_load_is_one_line_and_exit_130(monkeypatch, capsys):
    import biotrainer.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    with pytest.raises(SystemExit) as info:
        cli.entry()
    assert info.value.code == 130
    assert capsys.readouterr().err == "biotrainer: interrupted\n"
