"""Key metrics of the library list (biotrainer.analysis.key_metrics): the metrics engine over the longest paced
phase, 27-s tolerance, one participant's beats."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from biotrainer.analysis.compare import TOLERATED_MIN_WINDOW_S
from biotrainer.analysis.key_metrics import (
    KEY_METRIC_KEYS,
    format_key_metric,
    key_metrics,
    key_metrics_span,
    pacer_of,
)
from biotrainer.store import Library


def _phase(start: float, end: float, paced: bool) -> SimpleNamespace:
    return SimpleNamespace(start_s=start, end_s=end, duration_s=end - start, paced=paced)


def test_span_is_the_longest_paced_phase_else_the_whole_session() -> None:
    phases = [_phase(0, 200, False), _phase(200, 320, True), _phase(320, 500, True), _phase(500, 800, False)]
    assert key_metrics_span(phases, 800.0) == (320, 500)
    assert key_metrics_span([_phase(0, 200, False)], 300.0) == (0.0, 300.0)


def test_key_metrics_are_the_engine_window_of_the_longest_paced_phase(tmp_path, recording) -> None:
    from biotrainer.metrics.offline import analyze_window, streams_from_rr
    from biotrainer.metrics.window import Settings

    path = recording("synthetic-resonance-assessment.sqlite")
    lib = Library(tmp_path / "lib")
    values = key_metrics(lib, path)
    assert list(values) == list(KEY_METRIC_KEYS)
    with lib.open(path) as reader:
        beats = reader.beats()
        phases = list(reader.phases())
        start, end = key_metrics_span(phases, reader.duration_s)
        pacer = pacer_of(reader)
    assert (start, end) == pytest.approx((180.0, 300.0))  # the first of the equally long 2-min steps
    streams = streams_from_rr(beats.rr_ms, beats.beat_t_s)
    streams.pacer, streams.phases = pacer, phases  # as the live engine: the pacer is the breathing rate's prior
    window = analyze_window(streams, start, end, Settings(min_window_s=TOLERATED_MIN_WINDOW_S))
    assert values == {k: window.values.get(k) for k in KEY_METRIC_KEYS}
    assert values["breathing.rate_per_min"] == pytest.approx(6.5, abs=0.5)
    assert [format_key_metric(k, None) for k in KEY_METRIC_KEYS] == ["—"] * 4
    assert format_key_metric("hrv.hr_bpm", 65.4) == "65" and format_key_metric("hrv.ln_rmssd", 3.812) == "3.81"


def test_two_strap_session_uses_the_client_beats_only(tmp_path, recording) -> None:
    from biotrainer.metrics.offline import analyze_window, streams_from_rr
    from biotrainer.metrics.window import Settings

    path = recording("synthetic-two-straps-extended-exhale.sqlite")
    lib = Library(tmp_path / "lib")
    values = key_metrics(lib, path)
    with lib.open(path) as reader:
        client = reader.beats(participant="client")
        phases = list(reader.phases())
        start, end = key_metrics_span(phases, reader.duration_s)
        pacer = pacer_of(reader)
    streams = streams_from_rr(client.rr_ms, client.beat_t_s)
    streams.pacer, streams.phases = pacer, phases
    window = analyze_window(streams, start, end, Settings(min_window_s=TOLERATED_MIN_WINDOW_S))
    assert values["hrv.hr_bpm"] is not None
    assert values == {k: window.values.get(k) for k in KEY_METRIC_KEYS}


def test_a_short_phase_has_key_metrics_thanks_to_the_27_s_tolerance() -> None:
    import numpy as np

    from biotrainer.metrics.offline import analyze_window, streams_from_rr
    from biotrainer.metrics.window import Settings

    rr = np.full(60, 1000.0) + np.tile([30.0, -30.0], 30)
    t = np.cumsum(rr) / 1000.0
    streams = streams_from_rr(rr, t)
    start, end = float(t[10]) - 0.5, float(t[10]) + 27.0  # a "30-s" phase whose beats span 28 s
    strict = analyze_window(streams, start, end, Settings())
    tolerant = analyze_window(streams, start, end, Settings(min_window_s=TOLERATED_MIN_WINDOW_S))
    assert strict.values.get("hrv.hr_bpm") is None and tolerant.values.get("hrv.hr_bpm") == pytest.approx(60.0)
