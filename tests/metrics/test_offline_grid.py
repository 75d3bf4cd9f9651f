"""The one window grid and the one aggregation of offline analysis (biotrainer.metrics.offline)."""

import numpy as np
import pytest

from biotrainer.metrics.offline import aggregate_windows, window_grid
from biotrainer.metrics.window import WindowResult


def test_phase_grid_ends_at_the_phase_end_and_never_starts_before_it():
    assert window_grid(10.0, 130.0, 60.0, 30.0) == [(10.0, 70.0), (40.0, 100.0), (70.0, 130.0)]
    assert window_grid(10.0, 145.0, 60.0, 30.0) == [(10.0, 70.0), (40.0, 100.0), (70.0, 130.0), (85.0, 145.0)]
    assert window_grid(0.0, 40.0, 60.0, 30.0) == [(0.0, 40.0)]  # shorter than a window: one window


def test_recording_grid_starts_at_the_start_and_leaves_out_a_short_tail():
    assert window_grid(2.0, 130.0, 60.0, 30.0, last_at_end=False) == [(2.0, 62.0), (32.0, 92.0), (62.0, 122.0)]
    assert window_grid(0.0, 40.0, 60.0, 30.0, last_at_end=False) == [(0.0, 40.0)]
    assert window_grid(5.0, 5.0, 60.0, 30.0, last_at_end=False) == []


def _w(rate=None, src="rr", p2t=None, p2t_bpm=None, n_breaths=0.0, breath_source="pacer", why=""):
    values = {"breathing.rate_per_min": rate, "rsa.p2t_ms": p2t, "rsa.p2t_bpm": p2t_bpm, "rsa.n_breaths": n_breaths}
    reasons = {k: why for k, v in values.items() if v is None and why}
    return WindowResult(values, reasons, {"breathing.source": src, "rsa.breath_source": breath_source},
                        np.zeros(0, np.int8), np.zeros(0), np.zeros(0))


def test_aggregation_takes_the_median_rate_the_commonest_source_and_the_mean_rsa():
    agg = aggregate_windows([_w(6.0, "acc", 100.0, 10.0, 3), _w(7.0, "rr", 120.0, 12.0, 3), _w(6.5, "acc"),
                             _w(None, why="too short")])
    assert agg.rate_per_min == 6.5 and agg.rate_source == "acc" and len(agg.rates) == 3
    assert agg.p2t_ms == pytest.approx(110.0) and agg.p2t_bpm == pytest.approx(11.0) and agg.rsa_windows == 2
    assert agg.rsa_source == "pacer" and agg.rate_reason == "too short"


def test_aggregation_of_nothing_gives_none_with_no_source():
    agg = aggregate_windows([])
    assert (agg.rate_per_min, agg.rate_source, agg.p2t_ms, agg.p2t_bpm, agg.rsa_source) == (None, "none", None,
                                                                                             None, "none")
    assert agg.rate_reason == agg.rsa_reason == ""
