"""One text-table reader and one column-choice rule for RR files (import, analyze) and ECG files (analyze)."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.analysis.inputs import read_ecg_file, read_rr_file
from biotrainer.core.errors import ImportFormatError
from biotrainer.exchange.import_rr import read_rr
from biotrainer.exchange.table import choose_column, read_table


def _read(kind: str, path, column=None) -> list[float]:
    if kind == "rr":
        return read_rr(path, column).rr_ms.tolist()
    return read_ecg_file(path, column).tolist()


@pytest.mark.parametrize(("kind", "named"), [("rr", "RR (ms)"), ("ecg", "ECG (uV)")])
def test_rr_and_ecg_choose_their_column_by_the_same_rule(tmp_path, kind, named) -> None:
    f = tmp_path / "t.csv"
    f.write_text(f"# app export\ntime;other;{named}\n1;70;800\n\n2;80;810\n")
    assert _read(kind, f) == [800.0, 810.0]  # 2. the first header that names the data; ';' delimiter
    assert _read(kind, f, "OTHER") == [70.0, 80.0]  # 1. the named column, case-insensitive
    with pytest.raises(ImportFormatError, match=r"t.csv: no column 'x' \(columns: time, other, "):
        _read(kind, f, "x")
    one = tmp_path / "one.csv"
    one.write_text("value\n800\n810\n")
    assert _read(kind, one) == [800.0, 810.0]  # 3. the only column of a one-column file
    none = tmp_path / "none.csv"
    none.write_text("time,value\n1,800\n2,810\n")
    with pytest.raises(ImportFormatError, match=rf"none.csv: no {kind.upper()} column \(expected a header like "
                                                r".*; found time, value\); name it with --column"):
        _read(kind, none)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{named}\n800\n# note\n\nx1\n")
    with pytest.raises(ImportFormatError, match=rf"bad.csv: line 5 column '{named[:2]}.*' is not a number: 'x1'"):
        _read(kind, bad)  # the file's own line number, counting blank and comment lines


def test_a_named_column_needs_a_header_row(tmp_path) -> None:
    f = tmp_path / "plain.txt"
    f.write_text("800\n810\n")
    for read in (read_rr_file, read_ecg_file):
        with pytest.raises(ImportFormatError, match="--column 'rr' given but the file has no header row"):
            read(f, "rr")
    assert read_ecg_file(f).tolist() == [800.0, 810.0]  # one headerless column: the data


def test_table_rules(tmp_path) -> None:
    f = tmp_path / "t.tsv"
    f.write_text("a,b\tc\n1,5\t2\n")
    t = read_table(f)
    assert t.header == ["a,b", "c"] and t.delimiter == "\t" and t.linenos == [2]
    assert t.values(0).tolist() == [1.5]  # one decimal comma when the delimiter is not ','
    assert choose_column(t, None, (lambda h: h == "c",), "X", "c") == 1
    headless = tmp_path / "h.csv"
    headless.write_text("1e3,2\n3,4\n")  # cells that are numbers: no header row
    t = read_table(headless)
    assert t.header == [] and np.array_equal(t.values(0), [1000.0, 3.0]) and t.name(1) == "column 2"
    with pytest.raises(ImportFormatError, match="h.csv: 2 columns and no header"):
        choose_column(t, None, (), "ECG", "ecg")
    empty = tmp_path / "e.csv"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ImportFormatError, match="e.csv: empty file"):
        read_table(empty)


def test_the_ecg_name_rule_and_its_units() -> None:
    from biotrainer.exchange.table import ecg_name, ecg_scale_to_uv

    assert [ecg_name(h) for h in ("ecg", "ECG (mV)", "ecg_uv", "ecg [uV]", "signal", "Phone timestamp",
                                  "timestamp [ms]")] == [True, True, True, True, True, False, False]
    assert [ecg_scale_to_uv(h) for h in ("ecg [uV]", "ECG (mV)", "ecg_v", "ecg", "ECG (µV)")] == [
        1.0, 1000.0, 1e6, 1.0, 1.0]
