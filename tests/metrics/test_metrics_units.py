"""Pure metric functions on hand-made series with known answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from biotrainer.analysis.inputs import read_ecg_file, read_rr_file
from biotrainer.core.errors import ImportFormatError
from biotrainer.core.events import rr_1024_to_ms
from biotrainer.metrics import artifacts as art
from biotrainer.metrics import feedback as fb
from biotrainer.metrics.breathing import hr_breathing_phase_deg, rate_from_acc, rate_from_rr
from biotrainer.metrics.coherence import coherence_ratio
from biotrainer.metrics.frequency import frequency_domain
from biotrainer.metrics.rsa import (
    Breath,
    aligned_breath_rsa,
    breath_rsa,
    breaths_from_pacer,
    hr_lag_s,
    porges_bohrer,
)
from biotrainer.metrics.time_domain import time_domain
from biotrainer.metrics.window import Settings, WindowData, compute_window


def sinus_rr(duration_s: float, *, mean_ms: float = 900.0, amp_ms: float = 50.0, f_hz: float = 0.1,
             noise_ms: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Beats whose RR follows mean + amp·sin(2πft) at the beat time (t = time of the beat ending the interval)."""
    rng = np.random.default_rng(seed)
    t, ts, rr = 0.0, [], []
    while t < duration_s:
        r = mean_ms + amp_ms * math.sin(2 * math.pi * f_hz * t) + rng.normal(0, noise_ms)
        t += r / 1000.0
        ts.append(t)
        rr.append(r)
    return np.array(ts), np.array(rr)


def test_time_domain_by_hand_and_gap_differences_left_out() -> None:
    nn = np.array([800.0, 850.0, 790.0, 820.0, 900.0])
    td = time_domain(nn)
    d = np.diff(nn)
    assert td["rmssd_ms"] == pytest.approx(math.sqrt(np.mean(d**2)))
    assert td["ln_rmssd"] == pytest.approx(math.log(td["rmssd_ms"]))
    assert td["sdnn_ms"] == pytest.approx(np.std(nn, ddof=1))
    assert td["pnn50_pct"] == pytest.approx(100 * 2 / 4)  # |+50| is not > 50; -60 and +80 are
    assert td["hr_bpm"] == pytest.approx(60000 / nn.mean())
    valid = np.array([True, True, True, False, True])  # data lost before interval 3
    gap = time_domain(nn, valid)
    kept = d[[0, 1, 3]]
    assert gap["rmssd_ms"] == pytest.approx(math.sqrt(np.mean(kept**2)))
    assert time_domain(np.array([800.0]))["rmssd_ms"] is None


@pytest.mark.parametrize(("f_hz", "band"), [(0.25, "hf_ms2"), (0.1, "lf_ms2")])
def test_band_power_of_a_sinusoid_is_half_its_squared_amplitude(f_hz: float, band: str) -> None:
    t, rr = sinus_rr(300.0, amp_ms=40.0, f_hz=f_hz)
    values, _ = frequency_domain(t, rr)
    assert values[band] == pytest.approx(40.0**2 / 2, rel=0.15)
    other = "lf_ms2" if band == "hf_ms2" else "hf_ms2"
    assert values[other] < 0.05 * values[band]


def test_spectral_minimum_lengths_give_reasons() -> None:
    t, rr = sinus_rr(60.0, f_hz=0.25)
    values, reasons = frequency_domain(t, rr)
    assert values["hf_ms2"] is not None
    assert values["lf_ms2"] is None and "shorter than 120 s needed for LF" in reasons["lf_ms2"]
    assert values["vlf_ms2"] is None and "300 s" in reasons["vlf_ms2"]
    t, rr = sinus_rr(40.0)
    values, reasons = frequency_domain(t, rr)
    assert all(v is None for v in values.values()) and "60 s" in reasons["hf_ms2"]


def test_coherence_ratio_high_for_a_sinusoid_low_for_noise() -> None:
    t, rr = sinus_rr(64.0, amp_ms=60.0, f_hz=0.1, noise_ms=5.0)
    ratio, peak, why = coherence_ratio(t, rr)
    assert why == "" and peak == pytest.approx(0.1, abs=0.01) and ratio > 5.0
    rng = np.random.default_rng(1)
    rr_noise = 900 + rng.normal(0, 40, 75)
    ratio_noise, _, _ = coherence_ratio(np.cumsum(rr_noise) / 1000, rr_noise)
    assert ratio_noise < 1.0
    short = coherence_ratio(t[t < 40], rr[t < 40])
    assert short[0] is None and "64" not in short[2] and "60 s" in short[2]


def test_peak_to_trough_per_breath_from_pacer_breaths() -> None:
    # RR highest at the end of exhalation, lowest at the end of inhalation (RR = mean - amp·sin, volume-locked)
    period = 10.0
    t, rr = sinus_rr(120.0, amp_ms=-60.0, f_hz=1 / period)  # RR minimum at 2.5 s, maximum at 7.5 s of a breath
    segments = []
    for k in range(13):
        segments += [(k * period, "inhale", 5.0), (k * period + 5.0, "exhale", 5.0)]
    breaths = breaths_from_pacer(segments)
    assert breaths[0] == Breath(0.0, 5.0, 10.0) and len(breaths) == 12
    per = breath_rsa(t, rr, breaths)
    assert len(per) >= 10
    p2t = np.array([b.p2t_ms for b in per])
    assert np.all(np.abs(p2t - 120.0) < 12.0)  # sampled at beats: close to the true 2 × 60 ms
    bpm = np.array([b.p2t_bpm for b in per])
    assert np.all(bpm > 0)


def _lagged_rsa_beats(rate_per_min: float, lag_deg: float, duration_s: float = 300.0) -> tuple[np.ndarray, ...]:
    """Beats with RR = 900 − 60·cos(…): RR minimum (HR maximum) ``lag_deg`` after full lungs of 40:60 pacer
    breaths (the RR value set at the interval's start, attributed to the beat ending it), plus the breaths."""
    rng = np.random.default_rng(4)
    period = 60.0 / rate_per_min
    t_min = 0.4 * period + lag_deg / 360.0 * period
    t, ts, rr = 0.0, [], []
    while t < duration_s:
        r = 900.0 - 60.0 * math.cos(2 * math.pi * (t - t_min) / period) + rng.normal(0, 3.0)
        t += r / 1000.0
        ts.append(t)
        rr.append(r)
    segments = []
    for k in range(int(duration_s / period) + 1):
        segments += [(k * period, "inhale", 0.4 * period), (k * period + 0.4 * period, "exhale", 0.6 * period)]
    return np.array(ts), np.array(rr), breaths_from_pacer(segments)


def test_aligned_peak_to_trough_is_stable_across_rates_and_hr_lags() -> None:
    # SCIENCE.md §2: P2T stays near the true 120 ms at 15, 9 and 6 /min, whatever the HR-breathing phase
    # (unaligned Grossman windows gave ≈ 0 ms at 15 /min when HR peaked at full lungs)
    for lag_deg in (-60.0, 0.0, 40.0):
        values = []
        for rate in (15.0, 9.0, 6.0):
            t, rr, breaths = _lagged_rsa_beats(rate, lag_deg)
            per, lag_s = aligned_breath_rsa(t, rr, breaths)
            assert len(per) >= len(breaths) - 2
            assert all(b.lag_s == lag_s for b in per) and per[0].breath in breaths  # identity: the pacer breath
            values.append(float(np.mean([b.p2t_ms for b in per])))
        assert all(100.0 <= v <= 130.0 for v in values), (lag_deg, values)
        assert max(values) - min(values) <= 15.0, (lag_deg, values)


def test_hr_lag_centres_the_heart_rate_maximum_in_the_inhalation() -> None:
    period = 10.0
    for lag_deg in (-40.0, 0.0, 60.0):
        t, rr, breaths = _lagged_rsa_beats(6.0, lag_deg, 120.0)
        lag = hr_lag_s(t, rr, breaths)
        # HR maximum at 0.4·period + lag_deg/360·period + ≈ one 0.9-s interval (RR attributed to its end beat);
        # the inhale's middle is at 0.2·period
        expected = 0.2 * period + lag_deg / 360.0 * period + 0.9
        assert lag == pytest.approx(expected, abs=0.35), lag_deg


def test_porges_bohrer_only_inside_its_band() -> None:
    t, rr = sinus_rr(120.0, f_hz=0.25, amp_ms=40.0)
    value, why = porges_bohrer(t, rr, 15.0)
    assert why == "" and value is not None and 5.0 < value < 9.0  # ln(ms²): variance of a 40-ms sine ≈ 800
    none, why = porges_bohrer(t, rr, 6.0)
    assert none is None and "outside the Porges-Bohrer band" in why


def test_breathing_rate_from_rr_and_acc() -> None:
    t, rr = sinus_rr(60.0, f_hz=12 / 60, amp_ms=50.0, noise_ms=5.0)
    est = rate_from_rr(t, rr)
    assert est.rate_per_min == pytest.approx(12.0, abs=0.3) and est.source == "rr" and est.confidence > 0.5
    fs = 200.0
    tt = np.arange(0, 60, 1 / fs)
    rng = np.random.default_rng(0)
    acc = np.column_stack((-1000 + 20 * np.sin(2 * np.pi * 0.1 * tt), rng.normal(0, 3, tt.size),
                           20 * np.cos(2 * np.pi * 0.1 * tt)))
    est = rate_from_acc(acc, fs, paced=True)
    assert est.rate_per_min == pytest.approx(6.0, abs=0.2) and est.source == "acc"


def test_hr_breathing_phase_sign() -> None:
    f = 0.1
    t = np.arange(1, 120, 0.9)
    vol_t = np.arange(0, 120, 0.25)
    vol = 0.5 - 0.5 * np.cos(2 * np.pi * f * vol_t)  # full lungs at 5 s of each 10-s breath
    for lead_s in (0.0, 1.0, -1.0):  # HR maximum lead_s before full lungs
        mid = t - 60.0 / 70 / 2  # an interval's HR belongs to its middle (≈ half of 857 ms before the beat)
        hr = 70 + 5 * np.cos(2 * np.pi * f * (mid - 5.0 + lead_s))
        rr = 60000.0 / hr
        phase = hr_breathing_phase_deg(t, rr, vol_t, vol, f)
        assert phase == pytest.approx(360 * f * lead_s, abs=12.0)


def test_gaps_split_correction_and_raw_stays() -> None:
    t1, rr1 = sinus_rr(60.0, amp_ms=30.0, f_hz=0.2, noise_ms=3.0)
    t2, rr2 = sinus_rr(60.0, amp_ms=30.0, f_hz=0.2, noise_ms=3.0, seed=1)
    t = np.concatenate((t1, t2 + t1[-1] + 20.0))  # 20 s lost between the two stretches
    rr = np.concatenate((rr1, rr2))
    raw = rr.copy()
    gaps = art.find_gaps(rr, t)
    assert np.flatnonzero(gaps).tolist() == [t1.size]
    assert art.missing_time_s(rr, t) == pytest.approx(20.0, abs=1.0)
    c = art.correct_rr(rr, t)
    assert c.rr_corrected_ms.max() < 2000  # no interval spans the gap
    assert np.array_equal(rr, raw)


def test_window_withholds_metrics_of_a_poor_window_with_reasons() -> None:
    t, rr = sinus_rr(60.0, amp_ms=30.0, f_hz=0.25, noise_ms=3.0)
    bad = rr.copy()
    for i in range(5, len(bad) - 3, 9):  # premature beats: ~11 % of beats
        bad[i], bad[i + 1] = bad[i] * 0.6, bad[i + 1] * 1.4
    t_bad = t[0] - rr[0] / 1000.0 + np.cumsum(bad) / 1000.0  # beat times follow the intervals
    w = compute_window(WindowData(0.0, 60.0, t_bad, bad))
    assert w.values["quality.ok"] == 0.0
    assert w.values["quality.corrected_pct"] > 5.0
    assert w.values["hrv.rmssd_ms"] is None and "beats corrected" in w.reasons["hrv.rmssd_ms"]
    assert w.values["coherence.ratio"] is None
    good = compute_window(WindowData(0.0, 60.0, t, rr))
    assert good.values["quality.ok"] == 1.0 and good.values["hrv.rmssd_ms"] is not None
    loose = compute_window(WindowData(0.0, 60.0, t_bad, bad), Settings(max_corrected_time=0.5))
    assert loose.values["hrv.rmssd_ms"] is not None
    for res in (w, good, loose):
        json.dumps({"v": res.values, "r": res.reasons}, allow_nan=False)
        assert all(res.reasons.get(k) for k, v in res.values.items() if v is None)


def test_feedback_mapping_baseline_and_smoothing() -> None:
    st = fb.FeedbackState("rsa_vs_baseline")
    assert fb.raw_value(st, {"rsa.p2t_bpm_last": 6.0}) == (None, "no baseline yet")
    for i, v in enumerate((5.0, 6.0, 7.0)):
        fb.observe(st, {"rsa.p2t_bpm_last": v}, t_s=10.0 * i, in_baseline=True, breath_end_s=10.0 * i)
    assert st.baseline() == (6.0, "baseline phase")
    assert fb.raw_value(st, {"rsa.p2t_bpm_last": 6.0})[0] == pytest.approx(0.5)
    assert fb.raw_value(st, {"rsa.p2t_bpm_last": 18.0})[0] == pytest.approx(1.0)
    assert fb.raw_value(st, {"rsa.p2t_bpm_last": 2.0})[0] == pytest.approx(0.0)
    assert fb.raw_value(st, {"rsa.p2t_bpm_last": 60.0})[0] == 1.0  # clipped
    assert fb.update(st, {"rsa.p2t_bpm_last": 6.0}, 100.0)[0] == pytest.approx(0.5)
    v, _ = fb.update(st, {"rsa.p2t_bpm_last": 18.0}, 100.0 + fb.SMOOTHING_TAU_S)
    assert v == pytest.approx(0.5 + 0.5 * (1 - math.exp(-1)))  # one time constant
    coh = fb.FeedbackState("coherence")
    assert fb.raw_value(coh, {"coherence.ratio": fb.COHERENCE_FULL})[0] == pytest.approx(1.0)
    assert fb.raw_value(fb.FeedbackState("none"), {})[0] is None


def test_read_rr_files(tmp_path) -> None:
    # one reader for analyze and import (biotrainer.exchange.import_rr.read_rr)
    plain = tmp_path / "kubios.txt"
    plain.write_text("812\n830.5\n\n845\n")
    assert read_rr_file(plain).rr_ms.tolist() == [812.0, 830.5, 845.0]
    seconds = tmp_path / "elite.txt"
    seconds.write_text("0.812\n0.830\n0.845\n")
    assert read_rr_file(seconds).rr_ms == pytest.approx([812.0, 830.0, 845.0])
    table = tmp_path / "logger.csv"
    table.write_text("timestamp,RR (ms),hr\n1,800,75\n2,810,74\n3,790,76\n")
    assert read_rr_file(table).rr_ms.tolist() == [800.0, 810.0, 790.0]
    assert read_rr_file(table, column="hr").rr_ms.tolist() == [75.0, 74.0, 76.0]
    with pytest.raises(ImportFormatError, match="no column 'ibi'"):
        read_rr_file(table, column="ibi")
    one_col = tmp_path / "one.csv"
    one_col.write_text("RR\n800\n810\n")
    assert read_rr_file(one_col).rr_ms.tolist() == [800.0, 810.0]
    exact = tmp_path / "raw.csv"
    exact.write_text("# exported\nparticipant,beat_t_s,rr_1024\nclient,0.8,819\n\nclient,1.6,820\n")
    r = read_rr_file(exact)
    assert r.rr_ms.tolist() == [rr_1024_to_ms(819), rr_1024_to_ms(820)] and r.rr_1024.tolist() == [819, 820]
    assert r.beat_t_s.tolist() == [0.8, 1.6] and r.participant == ["client", "client"]
    bad_cell = tmp_path / "badcell.csv"
    bad_cell.write_text("rr_ms\n800\n\n# note\nx1\n")
    with pytest.raises(ImportFormatError, match=r"badcell.csv: line 5 column 'rr_ms' is not a number"):
        read_rr_file(bad_cell)  # the file's own line number, counting blank and comment lines
    bad = tmp_path / "bad.txt"
    bad.write_text("800\n\nabc\n")
    with pytest.raises(ImportFormatError, match=r"bad.txt: line 3 is not an RR interval: 'abc'"):
        read_rr_file(bad)
    with pytest.raises(ImportFormatError, match="no such file"):
        read_rr_file(tmp_path / "missing.txt")
    neg = tmp_path / "neg.txt"
    neg.write_text("800\n-5\n")
    with pytest.raises(ImportFormatError, match="not a positive number"):
        read_rr_file(neg)
    single = tmp_path / "single.txt"
    single.write_text("800\n")
    with pytest.raises(ImportFormatError, match="at least 2"):
        read_rr_file(single)


def test_read_ecg_files(tmp_path) -> None:
    x = np.sin(np.arange(500) / 10.0)
    np.save(tmp_path / "e.npy", x)
    assert np.array_equal(read_ecg_file(tmp_path / "e.npy"), x)
    (tmp_path / "e.csv").write_text("time,ecg_uv\n" + "\n".join(f"{i},{v}" for i, v in enumerate(x[:10])))
    assert read_ecg_file(tmp_path / "e.csv") == pytest.approx(x[:10])
    np.save(tmp_path / "e2.npy", np.zeros((10, 3)))
    with pytest.raises(ImportFormatError, match="expected one dimension"):
        read_ecg_file(tmp_path / "e2.npy")
