"""The metric catalogue: every key the metrics engine and offline analysis emit has an entry, and values are
formatted with the catalogue's decimals (literal expected strings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biotrainer.metrics.catalogue import (
    CATALOGUE,
    COMPARE_SCREEN,
    GLANCE,
    MISSING,
    MISSING_EM,
    format_number,
    format_value,
    metric,
)

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def _assert_catalogued(keys: set[str]) -> None:
    missing = sorted(k for k in keys if k not in CATALOGUE)
    assert not missing, f"keys without a catalogue entry: {missing}"
    for k in keys:
        m = CATALOGUE[k]
        assert m.key == k and m.label and isinstance(m.unit, str) and isinstance(m.decimals, int)
        assert len(m.description) > 20, k


def _offline_keys(out: dict) -> set[str]:
    return {f"{group}.{k}" for group, values in out.items() if isinstance(values, dict)
            and group not in ("reasons", "participant", "settings") for k in values}


def test_every_offline_analysis_key_is_catalogued(rr_file) -> None:
    from biotrainer.analysis.inputs import read_rr_file
    from biotrainer.metrics import offline

    out = offline.analyze_rr(read_rr_file(rr_file).rr_ms, None, 60.0)
    keys = _offline_keys(out) | set(out["reasons"])
    for w in out["windows"]:
        keys |= _offline_keys(w) | set(w["reasons"])
    assert {"hrv.ln_rmssd", "rsa.p2t_ms_mean", "coherence.ratio_mean", "quality.n_beats"} <= keys
    _assert_catalogued(keys)


@pytest.mark.slow
def test_every_metrics_engine_key_is_catalogued() -> None:
    from biotrainer.core.events import MetricUpdate
    from biotrainer.metrics.engine import MetricsEngine
    from biotrainer.store import Library

    updates: list = []
    engine = MetricsEngine(updates.append)
    with Library(None).open(str(RECORDINGS / "synthetic-reset-ecg-acc.sqlite")) as reader:
        for e in reader.events():
            engine(e)
    engine.close()
    keys = set().union(*(u.values for u in updates if isinstance(u, MetricUpdate)))
    assert {"feedback.value", "breathing.acc_rate_per_min", "rsa.p2t_bpm", "update.full"} <= keys
    _assert_catalogued(keys)


def test_entries_hold_todays_labels_units_and_decimals() -> None:
    assert [(CATALOGUE[k].label, CATALOGUE[k].unit) for k in ("breathing.rate_per_min", "hrv.ln_rmssd",
                                                              "hrv.hf_ms2", "coherence.ratio")] == [
        ("Breathing rate", "/min"), ("lnRMSSD", "ln(ms)"), ("HF power", "ms²"), ("Coherence ratio", "")]
    assert metric("hrv.hr_bpm").label_with_unit == "Heart rate (bpm)"
    assert metric("hrv.hr_bpm").short_label == "HR" and metric("hrv.hr_bpm").column_label == "HR bpm"
    assert metric("hrv.ln_rmssd").screen_unit == "ln ms"
    assert metric("rsa.p2t_ms").decimals_for(GLANCE) == 0 and metric("rsa.p2t_ms").decimals_for() == 1
    assert metric("hrv.hr_bpm").decimals_for(COMPARE_SCREEN) == 1
    with pytest.raises(KeyError):
        metric("hrv.nonsense")


def test_vagal_indices_say_they_are_within_person_and_breathing_dependent() -> None:
    for key in ("hrv.rmssd_ms", "hrv.ln_rmssd", "hrv.hf_ms2", "rsa.p2t_ms"):
        text = CATALOGUE[key].description
        assert "within-person" in text and "vagal" in text, key
    assert "breathing rate" in CATALOGUE["hrv.rmssd_ms"].description
    assert "not a measure of sympathovagal" in CATALOGUE["hrv.lf_hf"].description


@pytest.mark.parametrize(("key", "value", "kwargs", "text"), [
    ("hrv.ln_rmssd", 3.14159, {}, "3.14"),
    ("hrv.hr_bpm", 64.64, {}, "64.6"),
    ("hrv.hr_bpm", 64.6, {"view": GLANCE, "unit": True}, "65 bpm"),
    ("hrv.lf_ms2", 3987.4, {"unit": True}, "3987 ms²"),
    ("breathing.rate_per_min", 5.94, {"unit": True}, "5.9 /min"),
    ("rsa.p2t_ms", 158.44, {"view": COMPARE_SCREEN}, "158"),
    ("rsa.p2t_ms", 158.44, {}, "158.4"),
    ("coherence.ratio", 3.8, {"unit": True}, "3.80"),
    ("hrv.rmssd_ms", 1.25, {"signed": True}, "+1.2"),
    ("hrv.rmssd_ms", -0.04, {}, "-0.0"),
    ("hrv.rmssd_ms", None, {}, "–"),
    ("hrv.rmssd_ms", float("nan"), {}, "–"),
    ("hrv.rmssd_ms", None, {"missing": MISSING_EM}, "—"),
])
def test_format_value_examples(key, value, kwargs, text) -> None:
    assert format_value(key, value, **kwargs) == text


def test_format_number_and_missing_marks() -> None:
    assert MISSING == "–" and MISSING_EM == "—"
    assert format_number(np.float64(2.0), 2) == "2.00"
    assert format_number(12.345, 1, unit="%") == "12.3 %"
    assert format_number(None, 1, unit="%") == "–"


def test_live_screen_names_and_tile_decimals_are_in_the_catalogue() -> None:
    """gui.model.METRICS (wired by the GUI) says what the catalogue's on_screen says; tiles use glance decimals."""
    pytest.importorskip("PyQt5")
    from biotrainer.gui.metric_tiles import decimals
    from biotrainer.gui.model import METRICS, SOURCE_KEYS

    for key, shown in METRICS.items():
        assert CATALOGUE[SOURCE_KEYS[key]].on_screen == shown, key
    assert METRICS == {"hr_bpm": ("Heart rate", "bpm"), "rsa_p2t_ms": ("RSA peak–trough", "ms"),
                       "ln_rmssd": ("lnRMSSD", "ln ms"), "coherence_ratio": ("Coherence ratio", ""),
                       "breathing_rate_per_min": ("Breathing rate", "/min")}  # the live screen's words, in order
    assert {k: decimals(k) for k in METRICS} == {"hr_bpm": 0, "rsa_p2t_ms": 0, "ln_rmssd": 2, "coherence_ratio": 2,
                                                 "breathing_rate_per_min": 1}
