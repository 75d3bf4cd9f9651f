"""The simulated body, checked by physiological relationships against its ground truth (seeded, no timing)."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.core.events import Beat
from biotrainer.core.pacer import Pacer
from biotrainer.sources.sim.strap import Adherence, SimConfig, SimTruth, simulate

SETTLE_S = 30.0


def paced(rate_per_min: float, inhale_share: float = 0.4):
    pacer = Pacer(rate_per_min, inhale_share)
    return lambda t: pacer.at(t)


def stepped_assessment(step_s: float = 120.0, rates=(6.5, 6.0, 5.5, 5.0, 4.5)):
    """Piecewise pacer: each rate for ``step_s``, each step's pacer restarting at its own breath 0."""
    pacers = [Pacer(r, 0.4) for r in rates]

    def at(t_s: float):
        k = int(t_s // step_s)
        if t_s < 0 or k >= len(pacers):
            return None
        return pacers[k].at(t_s - k * step_s)

    return at


def per_breath_swing_bpm(beats: list[Beat], truth: SimTruth, t_from: float, t_to: float) -> float:
    """Mean over breaths of (max − min) beat-to-beat HR from the decoded strap beats."""
    beat_t = np.array([b.beat_t_s for b in beats])
    hr = np.array([60000.0 / b.rr_ms for b in beats])
    swings = []
    for onset, dur in zip(truth.breath_onset_s, truth.breath_duration_s, strict=True):
        if onset < t_from or onset + dur > t_to:
            continue
        sel = (beat_t >= onset) & (beat_t < onset + dur)
        if sel.sum() >= 2:
            swings.append(hr[sel].max() - hr[sel].min())
    assert len(swings) >= 5
    return float(np.mean(swings))


def hr_volume_phase_deg(truth: SimTruth, rate_per_min: float, t_from: float = SETTLE_S) -> float:
    """Phase of true HR relative to lung volume at the breathing frequency (positive: HR leads)."""
    sel = truth.breath_t_s >= t_from
    t = truth.breath_t_s[sel]
    ref = np.exp(-2j * np.pi * rate_per_min / 60.0 * t)
    hr = truth.hr_bpm[sel] - truth.hr_bpm[sel].mean()
    vol = truth.breath_volume[sel] - truth.breath_volume[sel].mean()
    return float(np.degrees(np.angle(np.sum(hr * ref) / np.sum(vol * ref))))


def beats_of(events) -> list[Beat]:
    return [e for e in events if isinstance(e, Beat)]


@pytest.fixture(scope="module")
def resonance_runs():
    """Paced runs at several rates (same seed) and a spontaneous run."""
    out = {}
    for rate in (4.5, 5.5, 6.5):
        out[rate] = simulate(SimConfig(seed=11), 300.0, pacer=paced(rate))
    out["spontaneous"] = simulate(SimConfig(seed=11), 300.0)
    return out


def test_resonance_breathing_raises_per_breath_hr_swing_over_spontaneous(resonance_runs):
    ev_res, tr_res = resonance_runs[5.5]
    ev_sp, tr_sp = resonance_runs["spontaneous"]
    swing_res = per_breath_swing_bpm(beats_of(ev_res), tr_res, SETTLE_S, 300)
    swing_sp = per_breath_swing_bpm(beats_of(ev_sp), tr_sp, SETTLE_S, 300)
    assert swing_res > 1.8 * swing_sp
    assert 10 < swing_res < 25  # Lehrer: large HR oscillations at resonance
    assert 2 < swing_sp < 12


def test_resonance_curve_peaks_at_configured_rate(resonance_runs):
    swing = {r: per_breath_swing_bpm(beats_of(resonance_runs[r][0]), resonance_runs[r][1], SETTLE_S, 300)
             for r in (4.5, 5.5, 6.5)}
    assert swing[5.5] > 1.05 * swing[4.5]
    assert swing[5.5] > 1.05 * swing[6.5]


def test_hr_in_phase_with_breathing_at_resonance_and_shifted_away(resonance_runs):
    phase = {r: hr_volume_phase_deg(resonance_runs[r][1], r) for r in (4.5, 5.5, 6.5)}
    assert abs(phase[5.5]) < 12
    assert phase[4.5] > 12  # slower than resonance: HR leads
    assert phase[6.5] < -12  # faster: HR lags


def test_resonance_rate_is_configurable():
    cfg = SimConfig(seed=5, resonance_rate_per_min=4.5)
    swing = {}
    for rate in (4.5, 6.5):
        events, truth = simulate(cfg, 240.0, pacer=paced(rate))
        swing[rate] = per_breath_swing_bpm(beats_of(events), truth, SETTLE_S, 240)
    assert swing[4.5] > 1.15 * swing[6.5]


def test_mean_hr_and_rmssd_plausible_at_rest(resonance_runs):
    _, truth = resonance_runs["spontaneous"]
    rr = truth.rr_ms[truth.beat_t_s > SETTLE_S]
    assert 60000.0 / rr.mean() == pytest.approx(65.0, abs=3.0)
    rmssd = np.sqrt(np.mean(np.diff(rr) ** 2))
    assert 20 < rmssd < 80
    events, truth72 = simulate(SimConfig(seed=2, hr_bpm=72.0), 180.0)
    rr72 = truth72.rr_ms[truth72.beat_t_s > SETTLE_S]
    assert 60000.0 / rr72.mean() == pytest.approx(72.0, abs=3.0)


def test_regular_breather_rate_varies_within_12_to_18():
    _, truth = simulate(SimConfig.from_spec("sim:regular", seed=11), 300.0)
    rates = truth.breath_rate_per_min
    assert np.all((rates >= 15 * 0.6 - 1e-9) & (rates <= 15 * 1.7 + 1e-9))
    assert 13 < rates.mean() < 17
    assert 0.3 < rates.std() < 3.0  # a little breath-to-breath variability, no sighs or pauses
    assert np.all(np.isnan(truth.breath_pacer_rate_per_min))


def _spontaneous_runs(n_seeds: int = 4, duration_s: float = 900.0):
    return [simulate(SimConfig(seed=seed), duration_s)[1] for seed in range(n_seeds)]


@pytest.fixture(scope="module")
def free_breathers():
    """Default (realistic) free breathers: 15 min each (SCIENCE.md §5: real breathing is irregular)."""
    return _spontaneous_runs()


def test_realistic_breather_is_irregular_like_real_people(free_breathers):
    for truth in free_breathers:
        d = truth.breath_duration_s[truth.breath_onset_s > 0]
        cv = d.std() / d.mean()
        assert 0.2 <= cv <= 0.55, cv  # breath-length CV ~0.4 in real free breathing
        assert 10.0 < 60.0 / d.mean() < 17.0
        assert np.all(np.isnan(truth.breath_pacer_rate_per_min))


def test_realistic_breather_sighs_every_few_minutes_and_pauses(free_breathers):
    for truth in free_breathers:
        keep = truth.breath_onset_s > 0
        depth, dur = truth.breath_depth[keep], truth.breath_duration_s[keep]
        sighs = depth > 1.8 * np.median(depth)
        n_sighs = int(np.count_nonzero(sighs))
        assert 15 / 4 - 1 <= n_sighs <= 15 / 1 + 1, n_sighs  # one every 1-4 min over 15 min
        # pauses: breaths lasting 7 s longer than usual (after sighs or on their own)
        assert np.count_nonzero(dur > np.median(dur) + 6.0) >= 2


def _hr_swing(truth, t0_s: float, span_s: float = 15.0) -> float:
    sel = (truth.breath_t_s >= t0_s) & (truth.breath_t_s < t0_s + span_s)
    return float(truth.hr_bpm[sel].max() - truth.hr_bpm[sel].min())


def test_sigh_moves_heart_rate_more_than_an_ordinary_breath(free_breathers):
    ratios = []
    for truth in free_breathers:
        keep = truth.breath_onset_s > 30
        onsets, depth = truth.breath_onset_s[keep], truth.breath_depth[keep]
        sighs = onsets[depth > 1.8 * np.median(depth)]
        ordinary = [_hr_swing(truth, o) for o in onsets[::7] if not np.any(np.abs(sighs - o) < 20)]
        ratios.append(np.mean([_hr_swing(truth, o) for o in sighs]) / np.mean(ordinary))
    assert np.median(ratios) > 1.4, ratios  # the sigh's heart-rate response


def test_rsa_weakens_at_fast_breathing():
    swings = {}
    for rate in (10.0, 15.0, 24.0):
        cfg = SimConfig.from_spec(f"sim:regular,rate={rate}", seed=3).replace(rsa_corner_hz=0.35)  # the default
        events, truth = simulate(cfg, 240.0)
        swings[rate] = per_breath_swing_bpm(beats_of(events), truth, SETTLE_S, 240.0)
    assert swings[10.0] > swings[15.0] > 1.3 * swings[24.0], swings


def test_paced_lapses_leave_the_pacer_for_a_few_breaths():
    cfg = SimConfig(seed=5, adherence=Adherence.realistic())
    _, truth = simulate(cfg, 900.0, pacer=paced(6.0))
    keep = truth.breath_onset_s > SETTLE_S
    rates = truth.breath_rate_per_min[keep]
    off = np.abs(rates - 6.0) > 2.0  # breaths taken on one's own, at a spontaneous rate
    assert 2 <= np.count_nonzero(off) <= 0.3 * off.size
    assert np.all(truth.breath_pacer_rate_per_min[keep] == 6.0)  # the pacer ran all along
    perfect = simulate(SimConfig(seed=5), 900.0, pacer=paced(6.0))[1]
    assert np.count_nonzero(np.abs(perfect.breath_rate_per_min[perfect.breath_onset_s > SETTLE_S] - 6.0) > 2.0) == 0


def test_perfect_adherence_breathes_exactly_at_pacer_rate():
    cfg = SimConfig(seed=1, adherence=Adherence.perfect())
    _, truth = simulate(cfg, 120.0, pacer=paced(6.0))
    np.testing.assert_allclose(truth.breath_rate_per_min, 6.0, rtol=1e-9)
    np.testing.assert_allclose(truth.breath_onset_s, 10.0 * np.arange(len(truth.breath_onset_s)), atol=1e-9)
    # lung volume follows the pacer's own shape
    p = Pacer(6.0, 0.4)
    breath = np.searchsorted(truth.breath_onset_s, truth.breath_t_s, side="right") - 1
    shape = truth.breath_volume / truth.breath_depth[breath]
    np.testing.assert_allclose(shape, [p.at(x).volume for x in truth.breath_t_s], atol=1e-9)


def test_lag_delays_breaths_without_changing_rate():
    cfg = SimConfig(seed=1, adherence=Adherence(lag_s=0.8, jitter_s=0.0))
    _, truth = simulate(cfg, 120.0, pacer=paced(6.0))
    onsets = truth.breath_onset_s[5:]  # the person settles into the lag over a few breaths (70 % per breath)
    offset = onsets - 10.0 * np.round(onsets / 10.0)
    np.testing.assert_allclose(offset, 0.8, atol=0.02)
    np.testing.assert_allclose(truth.breath_rate_per_min[3:], 6.0, atol=0.05)


def test_drift_offsets_rate_and_jitter_does_not_accumulate():
    _, drifting = simulate(SimConfig(seed=1, adherence=Adherence(lag_s=0.3, jitter_s=0.2, drift_per_min=0.5)),
                           240.0, pacer=paced(6.0))
    offset = drifting.breath_rate_per_min[1:] - drifting.breath_pacer_rate_per_min[1:]
    assert np.median(offset) == pytest.approx(0.5, abs=0.1)
    _, jittery = simulate(SimConfig(seed=1, adherence=Adherence(lag_s=0.0, jitter_s=0.6)), 300.0,
                          pacer=paced(6.0))
    assert jittery.breath_rate_per_min.std() > 0.1  # breaths vary ...
    assert np.max(np.abs(jittery.breath_pacer_phase[1:])) < 0.2  # ... but stay locked to the pacer's phase
    assert np.median(jittery.breath_rate_per_min) == pytest.approx(6.0, abs=0.1)


def test_missed_breaths_merge_two_pacer_cycles():
    cfg = SimConfig(seed=4, adherence=Adherence(lag_s=0.0, jitter_s=0.0, missed_breath_prob=0.15))
    _, truth = simulate(cfg, 600.0, pacer=paced(6.0))
    missed = truth.breath_missed
    assert 3 <= missed.sum() <= 25
    np.testing.assert_allclose(truth.breath_duration_s[missed], 20.0, atol=0.5)
    np.testing.assert_allclose(truth.breath_duration_s[~missed][1:], 10.0, atol=0.5)


def test_stepped_assessment_follows_each_step_and_peaks_near_resonance():
    events, truth = simulate(SimConfig(seed=21), 600.0, pacer=stepped_assessment())
    beats = beats_of(events)
    swings = {}
    for k, rate in enumerate((6.5, 6.0, 5.5, 5.0, 4.5)):
        start, end = 120.0 * k, 120.0 * (k + 1)
        sel = (truth.breath_onset_s >= start + 20) & (truth.breath_onset_s + truth.breath_duration_s <= end)
        assert np.median(truth.breath_rate_per_min[sel]) == pytest.approx(rate, abs=0.15)
        np.testing.assert_allclose(truth.breath_pacer_rate_per_min[sel], rate)
        swings[rate] = per_breath_swing_bpm(beats, truth, start + 20, end)
    assert max(swings, key=swings.get) in (5.0, 5.5, 6.0)
    assert swings[5.5] > swings[4.5] and swings[5.5] > swings[6.5]


def test_pacer_returning_none_means_spontaneous_breathing():
    pacer = Pacer(6.0, 0.4)

    def pacer_after_60(t_s: float):
        return None if t_s < 60 else pacer.at(t_s - 60)

    _, truth = simulate(SimConfig(seed=3), 180.0, pacer=pacer_after_60)
    early = truth.breath_onset_s < 55
    late = truth.breath_onset_s > 90
    assert np.all(np.isnan(truth.breath_pacer_rate_per_min[early]))
    assert 10 <= np.median(truth.breath_rate_per_min[early]) <= 20  # spontaneous (15/min, irregular)
    assert np.median(truth.breath_rate_per_min[late]) == pytest.approx(6.0, abs=0.1)


def test_breathing_follows_pacer_holds_exactly():
    pacer = Pacer(3.75, 0.5, hold_in_s=4.0, hold_out_s=4.0)  # box breathing 4-4-4-4
    _, truth = simulate(SimConfig(seed=1, adherence=Adherence.perfect()), 64.0, pacer=pacer.at)
    breath = np.searchsorted(truth.breath_onset_s, truth.breath_t_s, side="right") - 1
    shape = truth.breath_volume / truth.breath_depth[breath]
    np.testing.assert_allclose(shape, [pacer.at(x).volume for x in truth.breath_t_s], atol=1e-9)


def test_spectrum_at_rest_has_mayer_lf_peak_and_hf_peak_at_breathing_rate():
    from scipy.interpolate import CubicSpline
    from scipy.signal import welch

    # the regular breather: with irregular breathing (the default) the HF power spreads over a broad band
    _, truth = simulate(SimConfig.from_spec("sim:regular", seed=0), 600.0)
    keep = truth.beat_t_s > SETTLE_S
    t, rr = truth.beat_t_s[keep], truth.rr_ms[keep]
    grid = np.arange(t[0], t[-1], 0.25)  # 4 Hz spline (SCIENCE.md §1)
    x = CubicSpline(t, rr)(grid)
    x -= np.polyval(np.polyfit(grid, x, 1), grid)
    f, psd = welch(x, fs=4.0, nperseg=1024)
    lf = (f >= 0.04) & (f < 0.15)
    hf = (f >= 0.15) & (f < 0.40)
    assert 0.07 <= f[lf][np.argmax(psd[lf])] <= 0.12  # Mayer waves near 0.1 Hz
    breathing_hz = np.mean(truth.breath_rate_per_min[truth.breath_onset_s > SETTLE_S]) / 60.0
    assert f[hf][np.argmax(psd[hf])] == pytest.approx(breathing_hz, abs=0.03)  # RSA at the breathing rate
    lf_ms2, hf_ms2 = np.trapezoid(psd[lf], f[lf]), np.trapezoid(psd[hf], f[hf])
    assert 100 < lf_ms2 < 2000 and 200 < hf_ms2 < 3000  # resting adult ranges (Nunan et al. 2010)


def test_ecg_qrs_area_follows_lung_volume_more_than_r_amplitude():
    """The electrical axis turns with breathing: S moves against R, so the QRS area swings more than R alone
    (EDR_DEPTH ±7.5 % on R; with the S wave, ±~13 % on the area), both rising with lung volume."""
    from biotrainer.metrics.breathing import qrs_areas, r_apex_amplitudes
    from biotrainer.metrics.rpeaks import highpass, rpeaks_s
    from biotrainer.metrics.streams import streams_from_events

    events, truth = simulate(SimConfig(seed=4, spontaneous_rate_per_min=12.0, ecg=True), 120.0)
    s = streams_from_events(events)
    fs = float(s.ecg_fs_hz)
    peaks = rpeaks_s(s.ecg_uv.astype(float), fs)
    hp = highpass(s.ecg_uv.astype(float), fs)
    amp, area = r_apex_amplitudes(hp, peaks, fs), qrs_areas(hp, peaks, fs)
    vol = np.interp(float(s.ecg_t_s[0]) + peaks, truth.breath_t_s, truth.breath_volume)
    ok = (peaks > 5.0) & (np.abs(amp / np.median(amp) - 1) < 0.3)
    r_amp, r_area = (np.corrcoef(vol[ok], v[ok])[0, 1] for v in (amp, area))
    slope_amp = np.polyfit(vol[ok], amp[ok] / np.median(amp[ok]), 1)[0]
    slope_area = np.polyfit(vol[ok], area[ok] / np.median(area[ok]), 1)[0]
    assert r_amp > 0.7 and r_area > 0.7, (r_amp, r_area)
    assert 0.1 < slope_amp < 0.2 and slope_area > 1.4 * slope_amp, (slope_amp, slope_area)
