"""RR and ECG text files of other apps imported with their timestamps: Polar Sensor Logger (``RR-interval [ms]`` and
``ecg [uV]`` files), HRV Logger (``date`` column), Elite HRV (a comma list), Kubios RR text (time and RR columns);
``import --column`` as ``analyze --column``."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from biotrainer.core.events import Beat, EcgFrame


def _beats(session):
    return sorted((e for e in session.events if isinstance(e, Beat)), key=lambda b: b.beat_t_s)


def _local(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_polar_sensor_logger_rr_file_with_phone_timestamps_and_a_gap(tmp_path):
    from biotrainer.exchange.library import import_path

    rng = np.random.default_rng(3)
    rr = rng.integers(780, 1000, 80)
    true_t = _local("2026-06-01T21:17:07.000") + np.cumsum(rr) / 1000.0
    true_t[50:] += 12.0  # the strap was out of range: 12 s of beats lost
    arrival = true_t + rng.uniform(0.0, 0.9, len(rr))  # the phone stamps arrival, in bursts
    rows = [f"{datetime.fromtimestamp(a).isoformat(timespec='milliseconds')};{r}" for a, r in zip(arrival, rr,
                                                                                                  strict=True)]
    path = tmp_path / "Polar_H10_ABC_20260601_211707_RR.txt"
    path.write_text("Phone timestamp;RR-interval [ms]\n" + "\n".join(rows) + "\n")
    s = import_path(path)
    beats = _beats(s)
    assert [b.rr_1024 for b in beats] == [round(r * 1.024) for r in rr]
    wall = s.anchor_unix_s + np.array([b.beat_t_s for b in beats])
    assert np.max(np.abs(wall - true_t)) < 0.1  # dated by the phone's clock, intervals exact
    d = np.diff([b.beat_t_s for b in beats])
    assert np.allclose(d[:49], rr[1:50] / 1000.0) and np.allclose(d[50:], rr[51:] / 1000.0)
    assert s.meta["start_known"] is True
    (gap,) = [g for g in s.gaps() if g.stream == "beats"]  # the lost beats stay a gap
    assert gap.duration_s == pytest.approx(12.0, abs=0.5)


def test_polar_sensor_logger_ecg_file(tmp_path):
    from biotrainer.exchange.library import import_path

    rng = np.random.default_rng(5)
    n = 130 * 40
    uv = rng.integers(-50, 50, n)
    peaks = np.arange(100, n - 100, 110)  # a QRS every 0.846 s
    for k in peaks:
        uv[k - 2:k + 3] += [300, 900, 1600, 900, 300]
    t_ms = np.arange(n) * 1000.0 / 130.0
    start = _local("2026-06-01T21:17:09.154")
    lines = [f"{datetime.fromtimestamp(start + t / 1000).isoformat(timespec='milliseconds')};"
             f"{599626023839800192 + int(t * 1e6)};{t:.3f};{v}" for t, v in zip(t_ms, uv, strict=True)]
    path = tmp_path / "Polar_H10_ABC_20260601_211709_ECG.txt"
    path.write_text("Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]\n" + "\n".join(lines) + "\n")
    s = import_path(path)
    (seg,) = s.segments("ecg")
    assert seg.fs_hz == 130.0 and np.array_equal(seg.samples, uv)
    assert s.anchor_unix_s == pytest.approx(start, abs=0.002)
    beats = _beats(s)
    assert [b.source for b in beats[:1]] == ["ecg"]
    np.testing.assert_allclose([b.beat_t_s for b in beats], peaks[1:] / 130.0, atol=0.016)
    assert all(isinstance(e, EcgFrame) for e in s.events if e.KIND == "ecg")


def test_hrv_logger_date_column_gives_the_start_time(tmp_path):
    from biotrainer.exchange.library import import_path

    path = tmp_path / "hrvlogger_rr.csv"
    path.write_text("date,rr,since start\n2020-07-14 07:12:11.393,812,812\n2020-07-14 07:12:12.240,845,1657\n"
                    "2020-07-14 07:12:13.031,790,2447\n")
    s = import_path(path)
    assert [b.rr_1024 for b in _beats(s)] == [round(812 * 1.024), round(845 * 1.024), round(790 * 1.024)]
    # the first beat (07:12:11.393) ends the first interval: the session starts 0.812 s before it
    assert s.anchor_unix_s == pytest.approx(_local("2020-07-14 07:12:11.393") - 0.812, abs=0.05)
    assert s.meta["started_at"].startswith("2020-07-14T07:12:10")  # was the file time minus the length


@pytest.mark.parametrize("text", ["812,845,790,801,\n", "812, 845, 790, 801\n", "812,845,790\n801\n"])
def test_elite_hrv_comma_list(tmp_path, text):
    from biotrainer.exchange.library import import_path

    (tmp_path / "elite.txt").write_text(text)
    assert [b.rr_1024 for b in _beats(import_path(tmp_path / "elite.txt"))] == [
        round(v * 1.024) for v in (812, 845, 790, 801)]


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_kubios_rr_text_with_time_and_rr_columns(tmp_path, unit):
    from biotrainer.exchange.library import import_path

    rr_s = np.array([0.812, 0.845, 0.790, 0.801])
    t_s = np.cumsum(rr_s) + 2.0
    k = 1.0 if unit == "s" else 1000.0
    (tmp_path / "kubios.txt").write_text("".join(f"{t * k:.3f}\t{r * k:.3f}\n" for t, r in zip(t_s, rr_s,
                                                                                                 strict=True)))
    beats = _beats(import_path(tmp_path / "kubios.txt"))
    assert [b.rr_1024 for b in beats] == [round(r * 1024) for r in rr_s]
    np.testing.assert_allclose([b.beat_t_s for b in beats], t_s, atol=1e-6)


def test_import_column_names_the_rr_column(tmp_path, capsys):
    import json

    from biotrainer.cli import main

    path = tmp_path / "two.csv"
    path.write_text("beat,interval_a,other\n1,812,5\n2,845,6\n3,790,7\n")
    lib = str(tmp_path / "lib")
    assert main(["import", str(path), "--column", "interval_a", "--library", lib, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["beats"] == 3
    assert main(["import", str(path), "--column", "nope", "--library", lib]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no column 'nope'" in err
    (tmp_path / "x.edf").write_bytes(b"0")
    assert main(["import", str(tmp_path / "x.edf"), "--column", "rr", "--library", lib]) == 2
    assert "--column is for RR text tables" in capsys.readouterr().err
