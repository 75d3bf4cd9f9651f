import pytest

from biotrainer.pacer import Pacer


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
