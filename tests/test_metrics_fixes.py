"""Regressions of QA findings in the metrics engine (seeded; no timing assertions)."""

from __future__ import annotations

import numpy as np
import pytest

from biotrainer.events import Beat, MetricUpdate
from biotrainer.metrics.engine import MetricsEngine
from biotrainer.metrics.offline import analyze_window
from biotrainer.metrics.streams import streams_from_events
from biotrainer.metrics.window import LOOKAHEAD_BEATS
from biotrainer.sources.simulator import Faults, SimConfig, simulate


def _per_beat_ln_rmssd(ectopic_per_min: float, seed: int, duration_s: float = 300.0):
    events, truth = simulate(SimConfig(seed=seed, faults=Faults(ectopic_per_min=ectopic_per_min)), duration_s)
    out: list = []
    engine = MetricsEngine(out.append, with_ecg=False)
    for e in events:
        engine(e)
    updates = [u for u in out if isinstance(u, MetricUpdate)]
    v = np.array([np.nan if u.values.get("hrv.ln_rmssd") is None else u.values["hrv.ln_rmssd"] for u in updates])
    return v, updates, events, truth


@pytest.mark.parametrize("seed", [3, 5])
def test_live_ln_rmssd_does_not_jump_at_ectopic_beats(seed: int) -> None:
    clean, _, _, _ = _per_beat_ln_rmssd(0.0, seed)
    ectopic, _, _, truth = _per_beat_ln_rmssd(3.0, seed)
    assert sum(f.kind == "ectopic" for f in truth.faults) >= 8
    clean_step = np.nanmax(np.abs(np.diff(clean)))
    ectopic_step = np.nanmax(np.abs(np.diff(ectopic)))
    # before the fix each ectopic beat made lnRMSSD jump by ~0.45 for one beat (the clean series: < 0.06)
    assert ectopic_step < clean_step + 0.05, (ectopic_step, clean_step)


def test_live_window_ends_lookahead_beats_back_and_matches_offline() -> None:
    _, updates, events, _ = _per_beat_ln_rmssd(3.0, 3, duration_s=120.0)
    beat_t = np.array([e.beat_t_s for e in events if isinstance(e, Beat)])
    ends = np.array([u.values["window.end_s"] for u in updates])
    assert LOOKAHEAD_BEATS >= 1
    assert np.isclose(ends[-1], beat_t[-1 - LOOKAHEAD_BEATS])
    assert np.all(np.isin(ends, beat_t))
    streams = streams_from_events(events)
    for u in updates[-40:]:  # every per-beat update of the last ~40 s, ectopic beats included
        w = analyze_window(streams, u.values["window.start_s"], u.values["window.end_s"])
        for k in ("hrv.ln_rmssd", "hrv.rmssd_ms", "artifacts.ectopic", "quality.n_beats"):
            assert u.values[k] == pytest.approx(w.values[k], rel=1e-9, abs=1e-9), k
