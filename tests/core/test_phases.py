"""The one phase-span builder (biotrainer.core.phases): end rule, open end, naming of repeated phases, order."""

import math

from biotrainer.core.events import SESSION, Beat, PhaseMarker
from biotrainer.core.phases import PhaseSpanBuilder, phase_spans


def _m(t, name, index, state, **kw):
    return PhaseMarker(t_s=t, participant=SESSION, name=name, index=index, state=state, duration_s=10.0, **kw)


def _run():
    return [_m(0.0, "rest", 0, "start"), _m(10.0, "rest", 0, "end"),
            _m(10.0, "paced", 1, "start", paced=True, rate_per_min=6.0), _m(20.0, "paced", 1, "end"),
            _m(20.0, "rest", 2, "start", feedback=False)]


def test_end_marker_closes_the_start_with_the_same_index_and_the_open_phase_ends_at_open_end():
    spans = phase_spans([Beat(t_s=1.0, participant="self", rr_1024=800, beat_t_s=1.0), *_run()], open_end_s=25.0)
    assert [(s.name, s.index, s.start_s, s.end_s, s.ended) for s in spans] == [
        ("rest", 0, 0.0, 10.0, True), ("paced", 1, 10.0, 20.0, True), ("rest", 2, 20.0, 25.0, False)]
    assert spans[1].paced and spans[1].rate_per_min == 6.0 and not spans[2].feedback
    assert spans[0].planned_duration_s == 10.0 and spans[2].duration_s == 5.0
    # live: a running phase ends at inf; an open end never lies before the start
    assert math.isinf(phase_spans(_run())[-1].end_s)
    assert phase_spans(_run(), open_end_s=15.0)[-1].end_s == 20.0


def test_repeated_phase_keeps_its_name_and_is_labelled_by_occurrence():
    spans = phase_spans([*_run(), _m(30.0, "rest", 2, "end"), _m(30.0, "rest", 3, "start"), _m(40.0, "rest", 3, "end")])
    assert [s.name for s in spans] == ["rest", "paced", "rest", "rest"]
    assert [s.label for s in spans] == ["rest", "paced", "rest (2)", "rest (3)"]


def test_an_end_without_its_start_is_ignored_and_spans_are_ordered_by_start():
    spans = phase_spans([_m(5.0, "x", 7, "end"), _m(20.0, "b", 1, "start"), _m(10.0, "a", 0, "start"),
                         _m(30.0, "b", 1, "end")], open_end_s=40.0)
    assert [(s.name, s.start_s, s.end_s) for s in spans] == [("a", 10.0, 40.0), ("b", 20.0, 30.0)]


def test_incremental_builder_equals_the_batch_one_and_forgets_old_phases_keeping_numbers():
    b = PhaseSpanBuilder()
    for m in _run():
        b.add(m)
    assert b.spans(25.0) == phase_spans(_run(), 25.0)
    b.drop_ended_before(15.0)
    assert [s.label for s in b.spans()] == ["paced", "rest (2)"]
    b.drop_ended_before(1e9)
    assert [s.label for s in b.spans()] == ["rest (2)"]  # the running phase stays


def test_to_dict_is_the_recorded_phase_plus_duration():
    d = phase_spans(_run(), 25.0)[0].to_dict()
    assert list(d) == ["name", "index", "start_s", "end_s", "planned_duration_s", "paced", "rate_per_min",
                       "feedback", "ended", "duration_s"]
    assert d["duration_s"] == 10.0
