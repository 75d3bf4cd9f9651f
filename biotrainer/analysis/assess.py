"""Resonance-frequency assessment of a recorded session (what ``biotrainer assess`` prints): read the session's
beats, pacer and phase markers, choose whose beats (:mod:`biotrainer.analysis.participants`), evaluate and rank
the assessment steps (:func:`biotrainer.metrics.resonance.assess_session`), and optionally store the pick as the
participant's personal resonance rate.
"""

from __future__ import annotations

from typing import Any

from biotrainer.core.errors import UsageError

SCORE_MEANING = ("weighted mean of the step's ranks on the criteria in 'weights' (1 = best on each); lower is "
                 "better; the pick has the lowest")


def session_protocol(meta: Any) -> Any:
    """The session's protocol, or None when it has none or its text no longer parses."""
    if not meta.protocol_toml:
        return None
    from biotrainer.core.errors import ProtocolError
    from biotrainer.protocols.model import parse_protocol

    try:
        return parse_protocol(meta.protocol_toml, where=f"session {meta.id} protocol")
    except ProtocolError:
        return None


def _check_steps(meta: Any, protocol: Any, streams: Any, result: Any) -> None:
    """Raise when the session is no assessment or has no completed step."""
    if result.steps:
        return
    what = f"protocol {meta.protocol_name}" if meta.protocol_name else "no protocol"
    if protocol is None and not any(ph.paced for ph in streams.phases):
        raise UsageError(f"session {meta.id} is not a resonance assessment ({what}, no paced phase); "
                         "record one with --protocol resonance-assessment")
    raise UsageError(f"session {meta.id} ({what}): no completed assessment step to evaluate (the recording "
                     f"ended at {streams.end_s:.0f} s)")


def assess_resonance(library: Any, ref: str, participant: str | None = None) -> tuple[dict[str, Any], Any]:
    """Assess the session ``ref`` of ``library`` for ``participant`` (role or pseudonym).

    Returns
    -------
    tuple
        The JSON-ready result (``session``, ``protocol``, the assessment's fields, ``score_meaning``,
        ``participant`` role and pseudonym) and the :class:`~biotrainer.metrics.resonance.Assessment`.

    Raises
    ------
    UsageError
        The participant rule; a session that is no resonance assessment or has no completed step.
    """
    from biotrainer.analysis.participants import choose_participant
    from biotrainer.metrics.resonance import assess_session
    from biotrainer.metrics.streams import streams_from_events

    with library.open(ref) as reader:
        events = list(reader.events())
        meta = reader.meta
    protocol = session_protocol(meta)
    role = choose_participant(meta.id, events, dict(meta.participants), participant)
    adaptive = _adaptive_phase(protocol)
    if adaptive is not None:
        return _assess_adaptive(meta, events, role, adaptive)
    if protocol is not None and not protocol.assessment_steps:
        raise UsageError(f"session {meta.id} is not a resonance assessment (protocol {meta.protocol_name or '?'}); "
                         "record one with --protocol resonance-assessment")
    streams = streams_from_events(events, role)
    result = assess_session(streams, protocol)
    _check_steps(meta, protocol, streams, result)
    out: dict[str, Any] = {"session": meta.id, "protocol": meta.protocol_name, **result.to_dict()}
    out["score_meaning"] = SCORE_MEANING
    out["participant"] = {"role": role, "pseudonym": meta.participants.get(role) or None}
    return out, result


def _adaptive_phase(protocol: Any) -> Any:
    """The protocol's adaptive-pacer phase (``pacer.adaptive``), or None."""
    if protocol is None:
        return None
    return next((p for p in protocol.phases if p.pacer is not None and p.pacer.adaptive is not None), None)


def _assess_adaptive(meta: Any, events: list, role: str, phase_spec: Any) -> tuple[dict[str, Any], Any]:
    """A closed-loop resonance session: the rate the pacer settled on (``pick_per_min``), whether it converged,
    its dwells as steps and its recorded changes (:func:`biotrainer.metrics.adaptive_pacer.assess_adaptive`)."""
    from biotrainer.core.events import Annotation
    from biotrainer.core.pacer import ADAPTIVE_AUTHOR, LOCK_AUTHOR
    from biotrainer.metrics.adaptive_pacer import assess_adaptive
    from biotrainer.metrics.streams import streams_from_events

    streams = streams_from_events(events, role)
    phase = next((p for p in streams.phases if p.name == phase_spec.name), None)
    if phase is None:
        raise UsageError(f"session {meta.id} ({meta.protocol_name}): the adaptive phase {phase_spec.name!r} never "
                         f"started (the recording ended at {streams.end_s:.0f} s)")
    notes = [e for e in events if isinstance(e, Annotation) and e.author in (ADAPTIVE_AUTHOR, LOCK_AUTHOR)]
    result = assess_adaptive(streams, phase, notes)
    out: dict[str, Any] = {"session": meta.id, "protocol": meta.protocol_name, **result.to_dict()}
    out["changes"] = [{"t_s": e.t_s, "author": e.author, "text": e.text} for e in notes]
    out["score_meaning"] = "adaptive: the steps are the pacer's dwells, not ranked; the pick is the rate it settled on"
    out["participant"] = {"role": role, "pseudonym": meta.participants.get(role) or None}
    return out, result


def save_pick(library: Any, out: dict[str, Any], result: Any) -> None:
    """Store the assessment's pick as the participant's personal resonance rate (``out["saved"]`` = True).

    Raises
    ------
    UsageError
        No pick, or no pseudonym recorded for the participant.
    """
    from biotrainer.metrics.resonance import store_pick

    session_id, role, pseudonym = out["session"], out["participant"]["role"], out["participant"]["pseudonym"]
    if result.pick_rate_per_min is None:
        raise UsageError(f"session {session_id}: nothing to save: {result.reason}")
    if not pseudonym:
        raise UsageError(f"session {session_id}: no pseudonym recorded for {role!r}; set it with "
                         f"'biotrainer participants set' instead")
    store_pick(library.participants, pseudonym, result, session_id=session_id)
    out["saved"] = True


def legend(weights: dict[str, float]) -> list[str]:
    """What the columns mean and how the rank is made, from the weights actually used."""
    from biotrainer.metrics.resonance import ADHERENCE_LIMIT_PER_MIN, MAX_CORRECTED_PCT

    names = {"p2t_bpm": "HR swing", "phase_deg": "phase", "lf_ms2": "LF power", "lf_peak_ms2_hz": "LF peak height",
             "smoothness": "smoothness", "single_peak": "a single LF peak"}
    parts = [f"{names.get(k, k)}{'' if w == 1 else f' ×{w:g}'}" for k, w in weights.items()]
    return [
        "HR swing: mean heart-rate rise and fall (peak to trough) per paced breath, larger is better.",
        "phase: heart rate vs. the pacer's breathing, 0° = in step (closest to 0° is better).",
        "LF ms²: heart-rate power at 0.04-0.15 Hz, larger is better; smooth: share of it at the pacing rate "
        "(1 = one clean wave).",
        f"adh/min: breathing rate minus pacer rate; steps off by more than {ADHERENCE_LIMIT_PER_MIN:g}/min or with "
        f"more than {MAX_CORRECTED_PCT:g} % corrected beats are excluded.",
        f"rank: weighted mean of the step's ranks (1 = best) on {', '.join(parts)}; lower is better, the pick has "
        "the lowest.",
    ]


def step_words(protocol: Any, phase_name: str) -> str:
    """Where a running assessment is: ``"step 3 of 5 · 5.5 /min"`` in an assessment step of ``protocol``, else
    ``""``."""
    steps = list(getattr(protocol, "assessment_steps", ()) or ())
    i = next((k for k, ph in enumerate(steps) if ph.name == phase_name), None)
    if i is None:
        return ""
    rate = steps[i].pacer.rate_per_min if steps[i].pacer is not None else None
    return f"step {i + 1} of {len(steps)}" + (f" · {rate:g} /min" if rate else "")
