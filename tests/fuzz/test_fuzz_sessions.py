"""Fuzz: mutated session files through show, sessions, analyze, export and import.

Every case must end with an exit code and at most a few lines of text: no traceback (an exception escaping
``biotrainer.cli.main``), no hang (each case runs under a timeout). The cases are seeded; a failing case is
reproduced by its number (``-k "case_017"``).
"""

from __future__ import annotations

import json
import shutil

import pytest

from biotrainer.cli import main
from tests.fuzz.mutations import mutate

N_CASES = 240
COMMANDS = ("analyze", "export-csv", "export-edf", "import", "sessions", "replay")


@pytest.fixture(scope="module")
def base_session(tmp_path_factory):
    """A short recording with every stream and markers: sim ECG + ACC, a protocol, an annotation."""
    lib = tmp_path_factory.mktemp("fuzzbase") / "lib"
    code = main(["record", "--device", "sim:ecg,acc", "--protocol", "reset", "--duration", "40", "--speed", "max",
                 "--seed", "9", "--no-metrics", "--library", str(lib), "--quiet", "--json"])
    assert code == 0
    (path,) = (lib / "sessions").glob("*.sqlite")
    assert main(["annotate", str(path), "--at", "3", "coughed", "--library", str(lib)]) == 0
    return path


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    assert isinstance(code, int) and code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err and "Traceback" not in out
    if code != 0:
        lines = [line for line in err.splitlines() if line.startswith("biotrainer: error: ")]
        assert len(lines) == 1 and "\n" not in lines[0], err
    return code, out, err


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", range(N_CASES), ids=lambda n: f"case_{n:03d}")
def test_mutated_session_file_gives_an_answer_not_a_traceback(case, base_session, tmp_path, capsys):
    capsys.readouterr()
    target = tmp_path / "lib" / "sessions" / base_session.name
    target.parent.mkdir(parents=True)
    what = mutate(base_session, target, case)
    lib = str(tmp_path / "lib")
    code, out, err = _run(capsys, ["show", str(target), "--library", lib])
    if code == 0:
        assert out.startswith("session "), what
    _run(capsys, ["show", str(target), "--json", "--library", lib])
    if code == 0:
        pass
    command = COMMANDS[case % len(COMMANDS)]
    out_dir = tmp_path / "out"
    argv = {
        "analyze": ["analyze", str(target), "--library", lib, "--json"],
        "export-csv": ["export", str(target), "--format", "csv", "--out", str(out_dir), "--library", lib],
        "export-edf": ["export", str(target), "--format", "edf", "--out", str(out_dir), "--library", lib],
        "import": ["import", str(target), "--library", str(tmp_path / "other"), "--json"],
        "sessions": ["sessions", "--library", lib, "--json"],
        "replay": ["replay", str(target), "--speed", "max", "--library", lib, "--json"],
    }[command]
    code, out, err = _run(capsys, argv)
    if command == "sessions":
        assert len(json.loads(out)) == 1, what
    shutil.rmtree(tmp_path, ignore_errors=True)
