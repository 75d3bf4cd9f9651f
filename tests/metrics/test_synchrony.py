"""The synchrony engine (metrics/synchrony.py): equal to a plain implementation, calibrated against chance on
independent dyads, sensitive to coupled ones, honest about a shared pacer, clear on bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biotrainer.metrics import synchrony as sy

FS = sy.FS_HZ


def _plain_r(x, y, s, tau, w):
    """Per window, per lag: drop missing samples, remove each series' line in time, np.corrcoef."""
    xs, ys = x[s:s + w], y[s + tau:s + tau + w]
    t = np.arange(w, dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.sum() < max(3, int(np.ceil(0.5 * w))):
        return np.nan
    rx = xs[ok] - np.polyval(np.polyfit(t[ok], xs[ok], 1), t[ok])
    ry = ys[ok] - np.polyval(np.polyfit(t[ok], ys[ok], 1), t[ok])
    return float(np.corrcoef(rx, ry)[0, 1])


def _slow(rng, n, tau_s=8.0, sd=1.0):
    """AR(1) heart-rate fluctuation at 4 Hz with time constant ``tau_s`` and stationary SD ``sd``."""
    rho = np.exp(-1 / (FS * tau_s))
    e = rng.standard_normal(n) * sd * np.sqrt(1 - rho ** 2)
    out = np.empty(n)
    out[0] = rng.standard_normal() * sd
    for k in range(1, n):
        out[k] = rho * out[k - 1] + e[k]
    return out


def _person(rng, n, hr=68.0, breath_hz=None):
    """A person's own heart rate: level, slow fluctuations, RSA at their own irregular breathing rate, noise."""
    t = np.arange(n) / FS
    f = breath_hz or rng.uniform(0.2, 0.3)
    phase = 2 * np.pi * np.cumsum(f * (1 + 0.15 * _slow(rng, n, 20.0))) / FS
    return hr + 2.0 * _slow(rng, n, 15.0) + 2.5 * np.sin(phase) + 0.3 * rng.standard_normal(n) + 0 * t


def _dyad(seed, minutes=20.0, coupling=0.0, lag_s=3.0):
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * FS)
    driver = 3.0 * _slow(rng, n + 200, 6.0)  # the therapist's heart-rate waves the client may follow
    x = _person(rng, n, 64.0) + driver[200:]
    k = int(round(lag_s * FS))
    y = _person(rng, n, 74.0) + coupling * driver[200 - k:200 - k + n] + (1 - coupling) * 3.0 * _slow(rng, n, 6.0)
    return x, y


def test_windowed_lagged_correlation_equals_a_plain_per_window_per_lag_loop():
    rng = np.random.default_rng(1)
    n = 4 * 200
    x = np.cumsum(rng.standard_normal(n)) + rng.standard_normal(n)
    y = np.roll(x, 7) * 0.5 + rng.standard_normal(n)
    x[100:130] = np.nan  # partly missing windows use the samples both have
    y[400:470] = np.nan
    res = sy.lagged_correlation(x, y, fs_hz=FS, window_s=20.0, step_s=5.0, lag_s=3.0)
    w, lag = 80, 12
    assert res.lags_s[0] == -3.0 and res.lags_s[-1] == 3.0 and res.r.shape[1] == 2 * lag + 1
    compared = 0
    for i, s_s in enumerate(res.start_s):
        s = int(round(s_s * FS))
        for j, tau in enumerate(range(-lag, lag + 1)):
            want = _plain_r(x, y, s, tau, w)
            if not res.usable[i]:
                assert np.isnan(res.r[i, j])
                continue
            if np.isnan(want):
                assert np.isnan(res.r[i, j])
            else:
                assert res.r[i, j] == pytest.approx(want, abs=1e-9)
                compared += 1
    assert compared > 500


def test_window_grid_and_values_match_multisyncpy_apply_windowed():
    """multiSyncPy (0.1.2) has no lagged cross-correlation, but its ``apply_windowed`` is the window grid of its own
    windowed metrics: for every lag, its windows over the lag-shifted pair give the same values as ours."""
    msp = pytest.importorskip("multiSyncPy.synchrony_metrics")
    x, y = _dyad(11, minutes=4, coupling=0.5)
    w, step, lag = 120, 20, 20
    res = sy.lagged_correlation(x, y, window_s=w / FS, step_s=step / FS, lag_s=lag / FS)
    n = x.size

    def detrended_r(pair):
        t = np.arange(pair.shape[1], dtype=float)
        rx, ry = (v - np.polyval(np.polyfit(t, v, 1), t) for v in pair)
        return float(np.corrcoef(rx, ry)[0, 1])

    for j, tau in enumerate(range(-lag, lag + 1)):
        pair = np.ascontiguousarray(np.vstack([x[lag:n - lag], y[lag + tau:n - lag + tau]]))
        theirs = msp.apply_windowed(pair, detrended_r, w, step)
        assert theirs.shape == (res.start_s.size,)
        assert res.r[:, j] == pytest.approx(theirs, abs=1e-9)


def test_segment_pair_diagonal_equals_the_timeline_peaks_of_the_same_windows():
    x, y = _dyad(3, minutes=6, coupling=0.5)
    pair_z, seg_start = sy.segment_pair_peaks(x, y, window_s=30.0, lag_s=5.0)
    wcc = sy.lagged_correlation(x, y, window_s=30.0, step_s=30.0, lag_s=5.0)
    peak_r, _, _ = sy.peak_pick(wcc.r, wcc.lags_s)
    assert np.array_equal(seg_start, wcc.start_s)
    assert np.diag(pair_z) == pytest.approx(sy.fisher_z(peak_r), abs=1e-9)
    # an off-diagonal entry is the same computation with the client's segment j
    i, j = 1, 5
    s_i, s_j = int(seg_start[i] * FS), int(seg_start[j] * FS)
    shifted_y = np.roll(y, s_i - s_j)  # y's segment j now starts where x's segment i does
    best = max(_plain_r(x, shifted_y, s_i, tau, 120) for tau in range(-20, 21))
    assert pair_z[i, j] == pytest.approx(np.arctanh(best), abs=1e-9)


def test_peak_pick_takes_the_largest_in_phase_value_and_the_lag_nearest_zero_on_ties():
    lags = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    r = np.array([[0.1, 0.2, 0.3, 0.8, 0.4],
                  [0.5, 0.1, 0.2, 0.1, 0.5],
                  [-0.9, -0.2, 0.1, 0.0, 0.0],
                  [np.nan] * 5])
    peak_r, peak_lag, peak_abs = sy.peak_pick(r, lags)
    assert peak_r[:3].tolist() == [0.8, 0.5, 0.1]
    assert peak_lag[:3].tolist() == [0.5, -1.0, 0.0]
    assert peak_abs[:3].tolist() == [0.8, 0.5, 0.9]
    assert np.isnan(peak_r[3]) and np.isnan(peak_lag[3])


def test_hr_on_grid_interpolates_between_beats_and_leaves_gaps_missing():
    beat_t = np.array([10.0, 11.0, 12.0, 13.0, 20.0, 21.0])
    nn = np.array([1000.0, 1000.0, 500.0, 1000.0, 1000.0, 750.0])
    hr = sy.hr_on_grid(beat_t, nn, None, 10.0, 22.0, fs_hz=2.0)
    assert hr.size == 24
    assert hr[0] == 60.0 and hr[1] == 60.0 and hr[2] == 60.0  # 10.0, 10.5, 11.0 s
    assert hr[3] == pytest.approx(90.0)  # halfway from 60 to 120 bpm
    assert hr[4] == 120.0
    assert np.isnan(hr[8:20]).all()  # 14-19.5 s: inside the 7-s gap
    assert hr[20] == 60.0 and hr[22] == 80.0 and np.isnan(hr[23])  # 21.5 s: after the last beat
    hr_valid = sy.hr_on_grid(beat_t, nn, np.array([1, 1, 0, 1, 1, 1], bool), 10.0, 14.0, fs_hz=2.0)
    assert hr_valid[4] == 60.0  # the invalid beat is not used


def test_chance_test_effect_size_and_p_value_follow_their_formulas():
    rng = np.random.default_rng(0)
    n = 12
    pair = rng.normal(0.2, 0.1, (n, n))
    np.fill_diagonal(pair, 0.6)
    t = sy.chance_test(pair, n_surrogates=4000, seed=1)
    assert t.real == pytest.approx(0.6)
    assert t.effect_size == pytest.approx((t.real - t.surrogate_mean) / t.surrogate_sd)
    far = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) >= 2
    expected_mean = np.mean([pair[i][far[i]].mean() for i in range(n)])
    assert t.surrogate_mean == pytest.approx(expected_mean, abs=0.01)
    assert t.p_value == pytest.approx(1 / 4001)  # no surrogate mean reaches 0.6
    again = sy.chance_test(pair, n_surrogates=4000, seed=1)
    assert again == t  # seeded
    np.fill_diagonal(pair, expected_mean)
    assert 0.2 < sy.chance_test(pair, n_surrogates=2000, seed=2).p_value < 0.8


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 3.0))
def test_lagged_correlation_stays_a_correlation_for_any_series(seed, shift_s):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(400).cumsum()
    y = np.roll(x, int(shift_s * FS)) + rng.standard_normal(400)
    y[rng.integers(0, 400, 40)] = np.nan
    res = sy.lagged_correlation(x, y, window_s=20.0, step_s=5.0, lag_s=4.0)
    finite = res.r[np.isfinite(res.r)]
    assert finite.size and np.all(np.abs(finite) <= 1.0)
    swapped = sy.lagged_correlation(y, x, window_s=20.0, step_s=5.0, lag_s=4.0)
    assert swapped.r.shape == res.r.shape


@pytest.mark.slow
def test_independent_dyads_are_above_chance_in_at_most_8_percent_of_100_seeds():
    results = [sy.dyad_synchrony(*_dyad(seed, minutes=15), n_surrogates=500, seed=seed, slope_s=None)
               for seed in range(100)]
    hits = [r.session.p_value < 0.05 for r in results]
    assert sum(hits) <= 8
    assert all(r.leader == "none" for r, hit in zip(results, hits, strict=True) if not hit)  # no leader by chance


@pytest.mark.slow
def test_coupled_dyads_are_detected_with_the_right_lag_and_leader():
    detected, lags, curve_lags, leaders = 0, [], [], []
    for seed in range(100):
        res = sy.dyad_synchrony(*_dyad(1000 + seed, minutes=15, coupling=0.5, lag_s=3.0), n_surrogates=500,
                                seed=seed, slope_s=None)
        detected += res.session.p_value < 0.05
        lags.append(res.median_lag_s)
        curve_lags.append(res.curve_lag_s)
        leaders.append(res.leader)
    assert detected >= 90
    assert abs(float(np.median(lags)) - 3.0) <= 1.0
    assert leaders.count("therapist") >= 90
    assert sum(abs(c - 3.0) > 1.0 for c in curve_lags) <= 5  # 3 of 100 seen


def test_the_client_leading_gives_a_negative_lag():
    x, y = _dyad(7, minutes=15, coupling=0.7, lag_s=3.0)
    res = sy.dyad_synchrony(y, x, n_surrogates=200, seed=1)  # roles swapped: now the "client" leads
    assert res.leader == "client"
    assert res.median_lag_s == pytest.approx(-3.0, abs=1.0)
    assert res.curve_lag_s == pytest.approx(-3.0, abs=0.5)
    d = res.to_dict()
    assert d["lead_lag"]["leader"] == "client" and d["sign_convention"].startswith("positive lag")
    assert d["n_windows"] == len([w for w in d["windows"] if w["z"] is not None])
    assert {"mean_z", "mean_abs_z", "effect_size", "p_value", "n_surrogates", "method"} <= set(d["session"])


def test_a_shared_pacer_without_coupling_is_flagged_as_pacer_driven():
    rng = np.random.default_rng(11)
    n = int(15 * 60 * FS)
    t = np.arange(n) / FS
    pacer_hz = 5.5 / 60
    pacer = np.sin(2 * np.pi * pacer_hz * t)  # both follow one pacer: big in-phase RSA in both
    x = 64 + 2 * _slow(rng, n, 15.0) + 6 * pacer + 0.3 * rng.standard_normal(n)
    y = 74 + 2 * _slow(rng, n, 15.0) + 5 * np.roll(pacer, 2) + 0.3 * rng.standard_normal(n)
    phase = (pacer_hz * t) % 1.0
    res = sy.dyad_synchrony(x, y, n_surrogates=500, seed=2, pacer_phase=phase,
                            phases=[sy.PhaseSpanInput("paced", 0.0, n / FS, paced=True)])
    assert np.tanh(res.mean_z) > 0.8  # the raw correlation is trivially high ...
    (paced,) = res.phases
    assert paced["paced"] and paced["verdict"] == "driven by the shared pacer"  # ... and is called what it is
    assert paced["p_value"] >= 0.05
    # the timeline does not draw the pacer as attunement either: windows are judged without its rhythm
    assert res.above_chance.mean() <= 0.10, res.above_chance.mean()


def test_a_coupled_pair_on_a_shared_pacer_keeps_above_chance_windows():
    """The pacer-free judgement of the timeline still finds real coupling inside a paced phase."""
    rng = np.random.default_rng(12)
    n = int(15 * 60 * FS)
    t = np.arange(n) / FS
    pacer_hz = 5.5 / 60
    pacer = np.sin(2 * np.pi * pacer_hz * t)
    shared = 3.0 * _slow(rng, n + 12, 6.0)
    x = 64 + shared[12:] + 6 * pacer + 0.3 * rng.standard_normal(n)
    y = 74 + shared[:n] + 5 * np.roll(pacer, 2) + 0.3 * rng.standard_normal(n)  # follows 3 s later
    res = sy.dyad_synchrony(x, y, n_surrogates=500, seed=2, pacer_phase=(pacer_hz * t) % 1.0,
                            phases=[sy.PhaseSpanInput("paced", 0.0, n / FS, paced=True)])
    (paced,) = res.phases
    assert paced["verdict"] == "above chance beyond the shared pacer"
    assert res.above_chance.mean() >= 0.5, res.above_chance.mean()


def test_missing_windows_give_no_value_with_a_reason():
    x, y = _dyad(5, minutes=10, coupling=0.5)
    y[int(120 * FS):int(240 * FS)] = np.nan
    res = sy.dyad_synchrony(x, y, n_surrogates=100, seed=0)
    gone = (res.windows.start_s >= 121) & (res.windows.start_s + 30 <= 240)
    assert gone.any() and np.isnan(res.z[gone]).all() and not res.above_chance[gone].any()
    assert any("more than 50% of one person's heart rate missing" in r for r in res.reasons)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"n_surrogates": 10}, "surrogates are too few"),
    ({"lag_s": 30.0}, "must be shorter than the window"),
    ({"window_s": float("nan")}, "must be positive numbers"),
])
def test_bad_settings_are_one_line_errors(kwargs, words):
    x, y = _dyad(1, minutes=5)
    with pytest.raises(sy.SynchronyInputError, match=words) as info:
        sy.dyad_synchrony(x, y, **kwargs)
    assert "\n" not in str(info.value)


def test_a_recording_shorter_than_three_windows_is_refused():
    x, y = _dyad(1, minutes=1.5)
    with pytest.raises(sy.SynchronyInputError, match="shorter than three 30-s windows"):
        sy.dyad_synchrony(x, y)


def test_pseudo_dyads_pair_the_therapist_with_other_sessions_clients():
    x, y = _dyad(21, minutes=10, coupling=0.6)
    others = [_dyad(100 + k, minutes=8 + k % 3, coupling=0.6)[1] for k in range(8)]  # other people, other lengths
    test = sy.pseudo_dyad_test(x, y, others)
    assert test.n_surrogates == 8 and not test.reason
    assert test.real > test.surrogate_mean and test.p_value == pytest.approx(1 / 9)  # beats every pseudo-dyad
    assert test.effect_size == pytest.approx((test.real - test.surrogate_mean) / test.surrogate_sd)
    unrelated = sy.pseudo_dyad_test(x, others[0], others[1:])
    assert unrelated.p_value > 0.1
    few = sy.pseudo_dyad_test(x, y, others[:3])
    assert np.isnan(few.p_value) and "only 3 other sessions" in few.reason


def test_series_concordance_is_pearson_r_with_a_permutation_p():
    rng = np.random.default_rng(3)
    a = rng.normal(size=30)
    b = 0.8 * a + 0.3 * rng.normal(size=30)
    b[4] = np.nan  # a window one person has no value in is left out
    got = sy.series_concordance(a, b, n_permutations=500, seed=1)
    ok = np.isfinite(b)
    assert got["r"] == pytest.approx(np.corrcoef(a[ok], b[ok])[0, 1]) and got["n_windows"] == 29
    assert got["p_value"] == pytest.approx(1 / 501)
    assert sy.series_concordance(a, rng.normal(size=30), seed=1)["p_value"] > 0.05
    few = sy.series_concordance(a[:4], b[:4])
    assert few["r"] is None and "only 4 windows" in few["reason"]
    flat = sy.series_concordance(a, np.ones(30))
    assert flat["r"] is None and "do not vary" in flat["reason"]


def test_removing_the_pacer_rhythm_leaves_the_rest():
    t = np.arange(4 * 300) / FS
    phase = (0.1 * t) % 1.0
    slow = np.sin(2 * np.pi * 0.01 * t)
    x = 70 + 6 * np.cos(2 * np.pi * phase) + 2 * np.sin(4 * np.pi * phase) + slow
    out = sy.remove_pacer_rhythm(x, phase, [(0, t.size)])
    assert np.allclose(out - out.mean(), slow - slow.mean(), atol=0.05)  # the pacer's harmonics are gone
    assert out.mean() == pytest.approx(x.mean())  # the level stays
    untouched = sy.remove_pacer_rhythm(x, phase, [(0, 400)])
    assert np.array_equal(untouched[400:], x[400:])


def test_live_synchrony_publishes_the_recent_dyad_for_the_session_only():
    from biotrainer.core.events import SESSION, MetricUpdate
    from biotrainer.metrics.live_synchrony import KEYS, LiveSynchrony
    from biotrainer.sources.sim.config import SimConfig
    from biotrainer.wiring.simulate import run_simulated_session

    def run(coupling: float, roles=("therapist", "client")):
        out: list = []
        configs = [SimConfig(seed=11, participant=roles[0], device="a", hr_bpm=62.0),
                   SimConfig(seed=12, participant=roles[1], device="b", hr_bpm=76.0,
                             follow=roles[0], coupling=coupling)]
        run_simulated_session(configs, duration_s=600, listeners=(LiveSynchrony(out.append, seed=1),))
        return [e for e in out if isinstance(e, MetricUpdate)]

    coupled = run(0.8)
    assert len(coupled) >= 10 and all(u.participant == SESSION and set(u.values) == set(KEYS) for u in coupled)
    assert coupled[0].t_s >= 120  # nothing before two minutes of both people's beats
    assert sum(u.values["synchrony.above_chance"] == 1.0 for u in coupled) > len(coupled) / 2
    assert not run(0.8, roles=("self", "other"))  # not a therapist and a client: nothing to relate


def test_concordance_within_pacer_rates_does_not_count_the_shared_pacer():
    """Two independent people following the same pacer steps: their per-window breathing rates correlate only
    through the steps. Grouped by pacer rate (centred and shuffled within each rate), that is not concordance;
    a real co-variation beyond the steps still is."""
    rng = np.random.default_rng(4)
    steps = np.repeat([6.5, 6.0, 5.5, 5.0, 4.5], 6)
    a = steps + 0.1 * rng.normal(size=steps.size)
    b = steps + 0.1 * rng.normal(size=steps.size)
    raw = sy.series_concordance(a, b, seed=1)
    kept = sy.series_concordance(a, b, seed=1, groups=steps)
    assert raw["r"] > 0.95 and raw["p_value"] < 0.01 and raw["pacer_kept"] is False
    assert kept["pacer_kept"] is True and kept["n_windows"] == 30 and kept["p_value"] > 0.05
    shared = 0.1 * rng.normal(size=steps.size)  # both also move together beyond the pacer
    together = sy.series_concordance(steps + shared + 0.03 * rng.normal(size=steps.size),
                                     steps + shared + 0.03 * rng.normal(size=steps.size), seed=1, groups=steps)
    assert together["r"] > 0.8 and together["p_value"] < 0.01
    alone = sy.series_concordance(a[:7], b[:7], groups=np.arange(7.0))  # every window alone in its group
    assert alone["r"] is None and "only 0 windows" in alone["reason"]
