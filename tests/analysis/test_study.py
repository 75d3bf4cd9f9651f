"""``biotrainer study``: every session of a library or BIDS dataset into one table, checked against ``analyze``."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import stat
from pathlib import Path

import pytest

from biotrainer.analysis import study
from biotrainer.analysis.analyze import AnalyzeOptions, analyze_path
from biotrainer.cli import main

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
FAULTS = "synthetic-faults-baseline.sqlite"  # one person, one phase, artifacts and a disconnect
DYAD = "synthetic-two-straps-extended-exhale.sqlite"  # client and therapist, four phases


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library folder with two shipped sessions and one damaged file."""
    root = tmp_path_factory.mktemp("study-lib")
    (root / "sessions").mkdir()
    for name in (FAULTS, DYAD):
        shutil.copy(RECORDINGS / name, root / "sessions" / name)
    (root / "sessions" / "broken.sqlite").write_bytes(b"not a session at all" * 50)
    return root


@pytest.fixture(scope="module")
def results(library: Path) -> list[study.TaskResult]:
    return study.run_study(study.find_tasks(library), workers=0)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


@pytest.mark.slow  # analyses two shipped sessions (three people)
def test_rows_are_what_analyze_json_says(results: list[study.TaskResult]) -> None:
    ok = [r for r in results if not r.error]
    assert [Path(r.task.path).name for r in ok] == sorted([FAULTS, DYAD])
    checked = 0
    for r in ok:
        for row in r.rows:
            expected = analyze_path(AnalyzeOptions(path=r.task.path, participant=row["role"]))
            if row["phase"] == study.WHOLE:
                assert row["beats"] == expected["beats"]
                for key in study.metric_columns():
                    group, _, name = key.partition(".")
                    assert _same(row[key], expected[group].get(name)), key
            else:
                ph = next(p for p in expected["phases"] if p["name"] == row["phase"])
                assert (row["phase_start_s"], row["phase_end_s"]) == (ph["start_s"], ph["end_s"])
                for name, key in study.PHASE_COLUMNS.items():
                    assert _same(row[key], ph[name]), key
            checked += 1
    # faults: whole + 1 phase; dyad: (whole + 4 phases) x 2 people
    assert checked == 2 + 10
    dyad = next(r for r in ok if r.task.path.endswith(DYAD))
    assert {(row["role"], row["participant"]) for row in dyad.rows} == {("client", "C01"), ("therapist", "T01")}
    assert [row["phase"] for row in dyad.rows if row["role"] == "client"] == [
        "whole", "settle", "four-six", "four-six-rest", "return"]
    # physiology: the simulated client (hr=78) is faster than the therapist (hr=62); paced phases near 6 /min
    hr = {row["role"]: row["hrv.hr_bpm"] for row in dyad.rows if row["phase"] == "whole"}
    assert hr["client"] > hr["therapist"] + 10
    paced = [row for row in dyad.rows if row["phase"] == "four-six"]
    assert all(abs(row["breathing.rate_per_min"] - 6.0) < 0.5 for row in paced)


@pytest.mark.slow  # analyses two shipped sessions (three people)
def test_a_damaged_session_is_listed_and_the_rest_finish(results: list[study.TaskResult]) -> None:
    bad = [r for r in results if r.error]
    assert len(bad) == 1 and bad[0].task.path.endswith("broken.sqlite")
    assert "broken.sqlite" in bad[0].error and "\n" not in bad[0].error and not bad[0].rows
    assert sum(len(r.rows) for r in results) == 12


@pytest.mark.slow  # analyses two shipped sessions (three people)
def test_cli_writes_csv_and_sidecar_and_exits_1_on_failures(library: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.csv"
    assert main(["study", str(library), "--out", str(out), "--workers", "0"]) == 1
    captured = capsys.readouterr()
    assert "2 of 3 sessions analysed: 12 rows" in captured.out
    failed = [ln for ln in captured.err.splitlines() if ln.startswith("failed:")]
    assert len(failed) == 1 and "broken.sqlite" in failed[0]
    assert "study: 3/3 sessions analysed, 1 failed" in captured.err  # plain lines: stderr is no terminal here
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    import pandas as pd

    table = pd.read_csv(out)  # plain read_csv: a header row, no comment lines
    assert list(table.columns) == study.columns()
    assert len(table) == 12
    whole = table[(table.phase == "whole") & (table.role == "self")].iloc[0]
    expected = analyze_path(AnalyzeOptions(path=str(library / "sessions" / FAULTS)))
    assert whole["hrv.rmssd_ms"] == pytest.approx(expected["hrv"]["rmssd_ms"], rel=1e-12)
    assert whole["participant"] == "P02" and bool(whole["correction"]) and whole["max_corrected_pct"] == 5.0
    side = json.loads((tmp_path / "results.csv.json").read_text(encoding="utf-8"))
    assert side["settings"] == {"correction": True, "max_corrected_pct": 5.0}
    assert side["columns"]["hrv.rmssd_ms"] == {"label": "RMSSD", "unit": "ms"}
    assert [Path(f["path"]).name for f in side["failed"]] == ["broken.sqlite"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.slow  # analyses two shipped sessions (three people)
def test_parquet_holds_the_same_table(results: list[study.TaskResult], tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path, _ = study.write_table(results, tmp_path / "r.parquet")
    table = pq.read_table(path).to_pylist()
    rows = [row for r in results for row in r.rows]
    assert len(table) == len(rows) == 12
    for got, want in zip(table, rows, strict=True):
        for c in study.columns():
            assert _same(got[c], want.get(c)), c


@pytest.mark.slow  # analyses two shipped sessions (three people)
def test_csv_cells_round_trip(results: list[study.TaskResult], tmp_path: Path) -> None:
    path, _ = study.write_table(results, tmp_path / "r.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    want = [row for r in results for row in r.rows]
    for got, w in zip(rows, want, strict=True):
        assert float(got["hrv.hr_bpm"]) == w["hrv.hr_bpm"]  # repr: every digit kept
        assert got["synthetic"] == "true" and (got["beats"] == "" if w["beats"] is None else int(got["beats"]))


def test_progress_plain_lines() -> None:
    from biotrainer.cli.study import ProgressBar

    buf = io.StringIO()
    bar = ProgressBar(buf)
    task = study.StudyTask("session", "x.sqlite")
    for n in range(1, 21):
        bar(study.TaskResult(task, error="x: bad" if n == 5 else ""), n, 20)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1] == "study: 20/20 sessions analysed, 1 failed"


def test_usage_errors(library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", str(library), "--out", str(tmp_path / "r.xlsx")]) == 2
    assert main(["study", str(library), "--all", "--out", str(tmp_path / "r.csv")]) == 2
    assert main(["study", str(tmp_path), "--out", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"biotrainer: error: --out {tmp_path / 'r.xlsx'}: expected a .csv or .parquet file name",
                   "biotrainer: error: study: give a folder (DIR) or --all, not both",
                   f"biotrainer: error: {tmp_path}: no session files (*.sqlite) in it or in its sessions/ folder"]


@pytest.mark.slow
def test_bids_dataset(library: Path, tmp_path: Path) -> None:
    from biotrainer.exchange.bids import export_bids
    from biotrainer.exchange.library import load_session
    from biotrainer.store import Library

    export_bids([load_session(Library(library), str(library / "sessions" / DYAD))], tmp_path / "bids")
    tasks = study.find_tasks(tmp_path / "bids")
    assert {t.kind for t in tasks} == {"bids"} and len(tasks) == 1  # the dyad is one BIDS session of two people
    res = study.run_study(tasks, workers=0)
    assert not [r.error for r in res if r.error]
    whole = {row["participant"]: row for r in res for row in r.rows if row["phase"] == "whole"}
    lib = {row["participant"]: row for r in study.run_study([study.StudyTask("session", str(
        library / "sessions" / DYAD))]) for row in r.rows if row["phase"] == "whole"}
    assert set(whole) == {"C01", "T01"}
    for who, row in whole.items():  # the exported beats are exact (rr_1024): the same RR metrics
        assert row["beats"] == lib[who]["beats"]
        assert row["hrv.rmssd_ms"] == pytest.approx(lib[who]["hrv.rmssd_ms"], rel=1e-9)
        assert row["session"] == lib[who]["session"]  # the dataset records the biotrainer session id
    assert {row["phase"] for r in res for row in r.rows} == {"whole", "settle", "four-six", "four-six-rest", "return"}


@pytest.mark.slow
def test_local_dask_cluster_over_loopback(library: Path, results: list[study.TaskResult]) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, host="127.0.0.1", protocol="tcp://",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        on_dask = study.run_study(study.find_tasks(library), scheduler=cluster.scheduler_address)
    assert [r.error != "" for r in on_dask] == [r.error != "" for r in results]
    assert [r.rows for r in on_dask if not r.error] == [r.rows for r in results if not r.error]


@pytest.mark.slow
def test_local_processes(library: Path, results: list[study.TaskResult]) -> None:
    on_pool = study.run_study(study.find_tasks(library), workers=2)
    assert [r.rows for r in on_pool] == [r.rows for r in results]
    assert all(r.pid != os.getpid() and r.peak_mb > 0 for r in on_pool if not r.error)  # run in worker processes


def test_missing_optional_packages_are_one_line(library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    assert main(["study", str(library), "--out", str(tmp_path / "r.parquet")]) == 2
    assert main(["study", str(library), "--out", str(tmp_path / "r.csv"), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"biotrainer: error: --out {tmp_path / 'r.parquet'}: Parquet needs pyarrow: pip install 'biotrainer[study]' "
        "(or write .csv)",
        "biotrainer: error: --scheduler needs dask.distributed: pip install 'biotrainer[study]'"]
    assert not list(tmp_path.iterdir())  # nothing written


def test_progress_bar_on_a_terminal() -> None:
    from biotrainer.cli.study import ProgressBar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    buf = Tty()
    bar = ProgressBar(buf)
    task = study.StudyTask("session", "x.sqlite")
    for n in range(1, 5):
        bar(study.TaskResult(task, error="x: bad" if n == 2 else ""), n, 4)
    frames = buf.getvalue().split("\r")[1:]
    assert frames[0] == "study [#######.......................] 1/4 sessions"
    assert frames[-1] == "study [##############################] 4/4 sessions, 1 failed\n"
