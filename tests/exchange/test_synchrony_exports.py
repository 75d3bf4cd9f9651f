"""Synchrony in the research exports: ``<id>_synchrony.csv`` + the ``synchrony`` block of ``_meta.json`` (CSV) and
a ``derivatives/biotrainer-synchrony`` table (``*_desc-synchrony_beh.tsv``) with its sidecar (BIDS), with the numbers of
``biotrainer synchrony --json``; one-person exports get none of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.report.dyad import cli_json, record_dyad_and_single, synchrony_json

WINDOW_COLUMNS = ["start_s", "end_s", "peak_r", "peak_lag_s", "z", "above_chance"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record_dyad_and_single(tmp_path_factory.mktemp("dyad"))


@pytest.fixture(scope="module")
def sync(recorded):
    return synchrony_json(recorded)


def _export(recorded, fmt: str, out, *refs: str) -> list[str]:
    return cli_json("export", "--library", str(recorded.library), "--format", fmt, "--out", str(out), *refs)["files"]


def _windows_equal(table, windows) -> None:
    for col in WINDOW_COLUMNS:
        expected = [np.nan if w[col] is None else w[col] for w in windows]
        assert np.array_equal(table[col].to_numpy(dtype=float), np.array(expected, dtype=float), equal_nan=True), col


@pytest.mark.slow
def test_csv_export_of_a_dyad_has_the_synchrony_windows_and_header(recorded, sync, tmp_path):
    import pandas as pd

    _export(recorded, "csv", tmp_path, recorded.dyad)
    folder = tmp_path / recorded.dyad
    path = folder / f"{recorded.dyad}_synchrony.csv"
    assert path.read_text(encoding="utf-8").startswith(",".join(WINDOW_COLUMNS) + "\n")
    table = pd.read_csv(path)  # plain
    assert list(table.columns) == WINDOW_COLUMNS and len(table) == len(sync["windows"])
    assert table["above_chance"].dtype == bool and table["above_chance"].sum() == sum(
        w["above_chance"] for w in sync["windows"])
    _windows_equal(table, sync["windows"])  # repr floats: lossless
    header = json.loads((folder / f"{recorded.dyad}_meta.json").read_text(encoding="utf-8"))["synchrony"]
    assert header["file"] == path.name and list(header["columns"]) == WINDOW_COLUMNS
    assert all(c["description"] and c["unit"] for c in header["columns"].values())
    assert {k: v for k, v in header.items() if k not in ("file", "columns")} == {
        k: v for k, v in sync.items() if k != "windows"}
    assert header["sign_convention"] == "positive lag: the client follows the therapist"


@pytest.mark.slow
def test_bids_export_of_a_dyad_has_a_synchrony_derivative(recorded, sync, tmp_path):
    import pandas as pd

    from biotrainer.exchange.bids import bids_label

    files = _export(recorded, "bids", tmp_path, recorded.dyad, recorded.single)
    root = tmp_path / "derivatives" / "biotrainer-synchrony"
    desc = json.loads((root / "dataset_description.json").read_text(encoding="utf-8"))
    assert desc["DatasetType"] == "derivative" and desc["GeneratedBy"][0]["Name"] == "biotrainer"
    assert desc["BIDSVersion"]
    (tsv,) = root.glob("sub-*/ses-*/beh/sub-*_ses-*_desc-synchrony_beh.tsv")
    assert str(tsv) in files
    assert tsv.name == f"sub-client_ses-{bids_label(recorded.dyad)}_task-practice_desc-synchrony_beh.tsv"
    table = pd.read_csv(tsv, sep="\t", na_values="n/a")
    assert list(table.columns) == WINDOW_COLUMNS and len(table) == len(sync["windows"])
    _windows_equal(table, sync["windows"])
    side = json.loads(tsv.with_suffix(".json").read_text(encoding="utf-8"))
    assert side["Columns"] == WINDOW_COLUMNS
    for col in WINDOW_COLUMNS:  # every column described, with units (levels for the true/false column)
        assert side[col]["Description"] and (side[col].get("Units") or side[col].get("Levels")), col
    assert side["peak_lag_s"]["Units"] == "s" and "client follows the therapist" in side["peak_lag_s"]["Description"]
    assert side["SignConvention"] == sync["sign_convention"] and side["Method"] == sync["session"]["method"]
    assert side["Settings"] | {"Units": None} == {
        "WindowLength": 30.0, "WindowStep": 5.0, "MaxLag": 5.0, "HeartRateSamplingFrequency": 4.0,
        "Surrogates": 500, "Seed": 0, "Units": None}
    assert side["Session"] == sync["session"] and side["LeadLag"] == sync["lead_lag"]
    assert side["Participants"] == {"therapist": "therapist", "client": "client"}
    assert len(list(root.rglob("*_desc-synchrony_beh.tsv"))) == 1  # the one-person session has none


@pytest.mark.slow
def test_one_person_exports_have_no_synchrony(recorded, tmp_path):
    _export(recorded, "csv", tmp_path / "csv", recorded.single)
    folder = tmp_path / "csv" / recorded.single
    assert not list(folder.glob("*synchrony*"))
    assert "synchrony" not in json.loads((folder / f"{recorded.single}_meta.json").read_text(encoding="utf-8"))
    _export(recorded, "bids", tmp_path / "bids", recorded.single)
    assert not (tmp_path / "bids" / "derivatives").exists()


def test_export_functions_without_synchrony_write_what_they_always_wrote(tmp_path):
    from biotrainer.exchange.bids import export_bids
    from biotrainer.exchange.csv_export import export_csv
    from biotrainer.exchange.library import load_session
    from tests.helpers import synthetic_session, tmp_library

    library = tmp_library(tmp_path)
    session = load_session(library, synthetic_session(library, duration_s=40.0))
    plain = export_csv(session, tmp_path / "a")
    assert [p.name for p in export_csv(session, tmp_path / "b", synchrony=None)] == [p.name for p in plain]
    assert all(p.read_bytes() == (tmp_path / "b" / p.name).read_bytes() for p in plain)
    export_bids([session], tmp_path / "bids", synchrony={})
    assert not (tmp_path / "bids" / "derivatives").exists()
