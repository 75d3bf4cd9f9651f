import math

import numpy as np
import pytest

from biotrainer.core.pacer import (
    EXHALE,
    HOLD_IN,
    HOLD_OUT,
    INHALE,
    SEGMENTS,
    Pacer,
    breath_volume,
    segment_volume,
)


def test_segments_at_six_per_minute_with_inhale_share_0_4():
    p = Pacer(6.0, inhale_share=0.4)
    assert p.segment_durations_s == pytest.approx((4.0, 0.0, 6.0, 0.0))
    assert p.at(0.0).segment == "inhale"
    assert p.at(3.999).segment == "inhale"
    assert p.at(4.0).segment == "exhale"
    assert p.at(10.0).segment == "inhale" and p.at(10.0).breath_index == 1
    assert p.at(2.0).volume == pytest.approx(0.5)
    assert p.at(4.0).volume == pytest.approx(1.0)


def test_box_breathing_has_holds():
    p = Pacer(60 / 16, inhale_share=0.5, hold_in_s=4, hold_out_s=4)
    starts = p.segment_starts(0, 16)
    assert [(round(t, 6), s) for t, s, _, _ in starts] == [(0, "inhale"), (4, "hold_in"), (8, "exhale"), (12, "hold_out")]
    assert p.at(5).volume == 1.0 and p.at(13).volume == 0.0


def test_position_is_a_pure_function_of_elapsed_time():
    p = Pacer(5.5, 0.4)
    # many small steps or one jump give the same answer: nothing accumulates
    t = 0.0
    for _ in range(100000):
        t += 0.0123
    a, b = p.at(t), p.at(1230.0)
    assert (a.breath_index, a.segment) == (b.breath_index, b.segment)
    assert a.volume == pytest.approx(b.volume, abs=1e-6)


def test_segment_starts_cover_window_exactly_once():
    p = Pacer(6.5, 0.4)
    a = p.segment_starts(0, 30) + p.segment_starts(30, 60)
    b = p.segment_starts(0, 60)
    assert a == b


@pytest.mark.parametrize("kwargs", [dict(rate_per_min=0.1), dict(rate_per_min=6, inhale_share=0.95),
                                    dict(rate_per_min=6, hold_in_s=5, hold_out_s=5), dict(rate_per_min=6, hold_in_s=-1)])
def test_invalid_pacers_are_rejected(kwargs):
    with pytest.raises(ValueError):
        Pacer(**kwargs)


# --- the one breath curve -----------------------------------------------------------------------------------------
# The copies it replaced (pacer.segment_volume, metrics.window.pacer_volume, sources.sim.body.Breather.volume), kept
# here as references: the shared curve must give the very same floats.

def _old_segment_volume(segment, progress):
    progress = min(1.0, max(0.0, progress))
    if segment == "inhale":
        return 0.5 - 0.5 * math.cos(math.pi * progress)
    if segment == "hold_in":
        return 1.0
    if segment == "exhale":
        return 0.5 + 0.5 * math.cos(math.pi * progress)
    return 0.0


def _old_pacer_volume(segments, t_s):
    t_s = np.asarray(t_s, dtype=float)
    v = np.full(t_s.size, np.nan)
    starts = np.array([seg[0] for seg in segments])
    durs = np.array([seg[2] for seg in segments])
    kinds = np.array([SEGMENTS.index(seg[1]) if seg[1] in SEGMENTS else 3 for seg in segments])
    ends = np.append(starts[1:], starts[-1] + durs[-1])
    k = np.searchsorted(starts, t_s, side="right") - 1
    inside = (k >= 0) & (t_s < ends[np.clip(k, 0, None)])
    k = k[inside]
    prog = np.clip((t_s[inside] - starts[k]) / np.where(durs[k] > 0, durs[k], 1.0), 0.0, 1.0)
    kind = kinds[k]
    v[inside] = np.where(kind == 0, 0.5 - 0.5 * np.cos(np.pi * prog),
                         np.where(kind == 1, 1.0, np.where(kind == 2, 0.5 + 0.5 * np.cos(np.pi * prog), 0.0)))
    return v


def _old_body_volume(local, b1, hold_in, exhale):
    b2 = b1 + hold_in
    b3 = b2 + exhale
    with np.errstate(divide="ignore", invalid="ignore"):
        up = 0.5 - 0.5 * np.cos(np.pi * np.clip(local / b1, 0.0, 1.0))
        down = 0.5 + 0.5 * np.cos(np.pi * np.clip((local - b2) / exhale, 0.0, 1.0))
    return np.where(local < b1, up, np.where(local < b2, 1.0, np.where(local < b3, down, 0.0)))


def test_breath_volume_is_the_raised_cosine_shape():
    assert breath_volume(INHALE, 0.5) == pytest.approx(0.5)
    assert breath_volume(EXHALE, 0.0) == 1.0 and breath_volume(EXHALE, 1.0) == 0.0
    assert breath_volume(HOLD_IN, 0.3) == 1.0 and breath_volume(HOLD_OUT, 0.3) == 0.0
    np.testing.assert_array_equal(breath_volume(np.array([INHALE, INHALE]), np.array([-1.0, 2.0])), [0.0, 1.0])


def test_segment_volume_gives_the_old_floats_exactly():
    rng = np.random.default_rng(3)
    for progress in [*rng.uniform(-0.2, 1.2, 2000), 0.0, 1.0]:
        for seg in (*SEGMENTS, "other"):
            assert segment_volume(seg, float(progress)) == _old_segment_volume(seg, float(progress))


def test_pacer_volume_gives_the_old_floats_exactly():
    from biotrainer.metrics.window import pacer_volume

    p = Pacer(60 / 16, inhale_share=0.5, hold_in_s=2, hold_out_s=3)
    segments = [(t, seg, dur) for t, seg, _k, dur in p.segment_starts(0, 120)] + [(120.0, "pause", 0.0)]
    t = np.random.default_rng(4).uniform(-5, 130, 20000)
    np.testing.assert_array_equal(pacer_volume(segments, t), _old_pacer_volume(segments, t))


def test_simulator_volume_gives_the_old_floats_exactly():
    from biotrainer.sources.sim.body import Breather
    from biotrainer.sources.sim.config import SimConfig

    for pacer in (None, Pacer(6.0, hold_in_s=1.0, hold_out_s=2.0)):
        breather = Breather(SimConfig(), pacer.at if pacer else None, np.random.default_rng(5))
        times = np.arange(0.0, 120.0, 0.01)
        breather.ensure_until(130.0)
        vol, _ = breather.volume(times)
        onset, _dur, inhale, hold_in, exhale, depth = breather.arrays()
        idx = np.clip(np.searchsorted(onset, times, side="right") - 1, 0, len(onset) - 1)
        old = _old_body_volume(times - onset[idx], inhale[idx], hold_in[idx], exhale[idx]) * depth[idx]
        np.testing.assert_array_equal(vol, old)
