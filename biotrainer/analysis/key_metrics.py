"""Key metrics of a session for the library list: breathing rate, heart rate, lnRMSSD and RSA over its longest
paced phase (the whole session when none is paced), computed by the metrics engine from the recorded beats of the
participant the rule of :mod:`biotrainer.analysis.participants` picks (the client in a two-strap session).
"""

from __future__ import annotations

from typing import Any

from biotrainer.analysis.compare import TOLERATED_MIN_WINDOW_S
from biotrainer.metrics.catalogue import GLANCE, MISSING_EM, format_value

#: The key metrics, in the order the library list shows them (catalogue keys: ``column_label`` heads the column,
#: values are shown with the :data:`~biotrainer.metrics.catalogue.GLANCE` decimals).
KEY_METRIC_KEYS = ("breathing.rate_per_min", "hrv.hr_bpm", "hrv.ln_rmssd", "rsa.p2t_ms")
KEY_METRICS_NOTE = ("Key metrics over the longest paced phase (the whole session when none is paced), computed by "
                    "the metrics engine from the recorded beats.")


def key_metrics_span(phases: list[Any], duration_s: float) -> tuple[float, float]:
    """``(start_s, end_s)`` of the longest paced phase, else of the whole session."""
    paced = [p for p in phases if p.paced]
    if not paced:
        return 0.0, float(duration_s)
    longest = max(paced, key=lambda p: p.duration_s)
    return longest.start_s, longest.end_s


def key_metrics(library: Any, session_id: str) -> dict[str, float | None]:
    """Key metrics of a session: :func:`biotrainer.metrics.offline.analyze_window` over
    :func:`key_metrics_span`, the same numbers the live engine gives for that window.

    The window accepts :data:`~biotrainer.analysis.compare.TOLERATED_MIN_WINDOW_S` (27 s) of beats, as the phase
    comparison does: the beats of a 30-s phase span a little less than 30 s, and the engine's 30-s minimum would
    withhold every value of it.

    Returns
    -------
    dict
        :data:`KEY_METRIC_KEYS` → value (None when withheld); empty for a session with fewer than 3 beats.
    """
    from biotrainer.analysis.participants import participant_beats
    from biotrainer.metrics.offline import analyze_window, streams_from_rr
    from biotrainer.metrics.window import Settings

    with library.open(session_id) as reader:
        beats = participant_beats(reader)
        phases = list(reader.phases())
        start, end = key_metrics_span(phases, reader.duration_s)
        pacer = pacer_of(reader)
    if len(beats) < 3:
        return {}
    streams = streams_from_rr(beats.rr_ms, beats.beat_t_s)
    streams.pacer, streams.phases = pacer, phases  # as the live engine: the pacer is the breathing rate's prior
    result = analyze_window(streams, start, end, Settings(min_window_s=TOLERATED_MIN_WINDOW_S))
    return {key: result.values.get(key) for key in KEY_METRIC_KEYS}


def pacer_of(reader: Any) -> list[tuple[float, str, float, float]]:
    """The session's pacer markers as :class:`~biotrainer.metrics.streams.Streams` holds them."""
    return [(float(e.t_s), e.segment, float(e.duration_s), float(e.rate_per_min)) for e in reader.events(["pacer"])]


def format_key_metric(key: str, value: float | None) -> str:
    """A key metric as the library list shows it: glance decimals, "—" when missing."""
    return format_value(key, value, view=GLANCE, missing=MISSING_EM)
