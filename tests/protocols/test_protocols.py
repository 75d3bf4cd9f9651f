"""Protocol files, schema validation, the protocol runner and ``biotrainer protocols``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import random
from pathlib import Path

import pytest

from biotrainer.core.bus import Bus
from biotrainer.core.clock import VirtualClock
from biotrainer.core.errors import ProtocolError, UsageError
from biotrainer.core.events import SESSION, Cue, PacerMarker, PhaseMarker, SessionState
from biotrainer.core.session_runner import SessionRunner
from biotrainer.protocols import (
    ProtocolRunner,
    list_protocols,
    load_protocol,
    parse_protocol,
    read_protocol_file,
    shipped_protocols_dir,
    user_protocols_dir,
)

REQUIRED_SHIPPED = ("reset", "resonance-assessment", "resonance-training", "resting-baseline", "extended-exhale",
                    "box-breathing", "breath-meditation")
SHIPPED_FILES = sorted(shipped_protocols_dir().glob("*.toml"))

# A small valid protocol: 30 s unpaced baseline, 60 s paced at 6/min (4 s in, 6 s out), 10 s closing.
SMALL = """\
name = "small"
title = "Small test protocol"
description = "For tests."
intended_use = "Tests."
feedback_signal = "rsa_vs_baseline"

[[phases]]
name = "baseline"
duration_s = 30
baseline = true
feedback = false

[[phases.cues]]
at_s = 0
text = "Sit quietly."

[[phases.cues]]
at_s = 12.5
text = "Keep breathing naturally."

[[phases]]
name = "paced"
duration_s = 60
pacer = { rate_per_min = 6.0, inhale_share = 0.4 }

[[phases.cues]]
at_s = 0
text = "Follow the pacer."

[[phases.cues]]
at_s = 20
text = "Small breaths."

[[phases]]
name = "close"
duration_s = 10
"""

PERSONAL = """\
name = "personal"
title = "Personal rate"
description = "For tests."
intended_use = "Tests."

[[phases]]
name = "rest"
duration_s = 20

[[phases]]
name = "paced"
duration_s = 120
pacer = { rate_per_min = "personal", fallback_rate_per_min = 6.0, inhale_share = 0.4 }

[[phases.cues]]
at_s = 0
text = "Follow the pacer."
"""


@pytest.fixture(autouse=True)
def _empty_user_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("user-protocols")
    monkeypatch.setenv("BIOTRAINER_PROTOCOLS", str(folder))
    return folder


def write(tmp_path: Path, text: str, name: str = "small") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def small() -> object:
    return parse_protocol(SMALL, where="small.toml")


def drain(runner: ProtocolRunner, t_s: float = 1e9) -> list:
    return runner.events_until(t_s)


# --- shipped files ------------------------------------------------------------------------------------------

def test_required_protocols_are_shipped() -> None:
    names = {p.stem for p in SHIPPED_FILES}
    assert set(REQUIRED_SHIPPED) <= names
    listed = {s.name: s for s in list_protocols()}
    assert set(REQUIRED_SHIPPED) <= set(listed)
    assert all(s.origin == "shipped" for s in listed.values())


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.stem)
def test_every_shipped_file_validates_and_runs_to_its_duration(path: Path) -> None:
    protocol = read_protocol_file(path)
    assert protocol.name == path.stem
    assert protocol.text == path.read_text(encoding="utf-8")
    assert protocol.total_duration_s == pytest.approx(sum(p.duration_s for p in protocol.phases))
    events = drain(ProtocolRunner(protocol, None))
    assert all(e.participant == SESSION for e in events)
    assert [e.t_s for e in events] == sorted(e.t_s for e in events)
    last = events[-1]
    assert isinstance(last, PhaseMarker) and last.state == "end" and last.index == len(protocol.phases) - 1
    assert last.t_s == pytest.approx(protocol.total_duration_s, abs=1e-9)
    cues = [e for e in events if isinstance(e, Cue)]
    if not protocol.roles:  # a protocol for a therapy session (roles therapist, client) stays silent
        assert len(cues) >= len(protocol.phases)  # every phase says something
    else:
        assert not cues and all(p.pacer is None for p in protocol.phases)
    for phase in protocol.phases:  # cues are readable on a screen and inside their phase
        assert all(len(c.text) <= 300 and 0 <= c.at_s < phase.duration_s for c in phase.cues)
    assert protocol.safety_note  # every shipped protocol says when to stop


def test_therapy_session_is_a_quiet_fifty_minutes_for_therapist_and_client() -> None:
    protocol = load_protocol("therapy-session")
    assert protocol.roles == ("therapist", "client")
    assert [p.name for p in protocol.phases] == ["arrival", "session", "closing"]
    assert protocol.total_duration_s == 50 * 60
    assert protocol.feedback_signal == "none" and not any(p.feedback for p in protocol.phases)


@pytest.mark.parametrize(("roles", "words"), [
    ('["client", "client"]', "expected an array of distinct roles"),
    ('["boss"]', "expected an array of distinct roles"),
    ("[]", "expected an array of distinct roles"),
    ('"therapist"', "expected an array of distinct roles"),
])
def test_roles_must_be_distinct_known_roles(roles: str, words: str) -> None:
    text = (shipped_protocols_dir() / "resting-baseline.toml").read_text(encoding="utf-8").replace(
        'feedback_signal = "none"', f'feedback_signal = "none"\nroles = {roles}')
    with pytest.raises(ProtocolError, match=words):
        parse_protocol(text, where="x.toml")


def test_reset_is_three_minutes_ending_with_the_door_reflection() -> None:
    p = load_protocol("reset")
    assert p.total_duration_s == 180.0
    assert [ph.pacer is not None for ph in p.phases] == [False, True, False]
    paced = p.phases[1].pacer
    assert paced.rate_per_min == pytest.approx(6.0) and paced.inhale_share == pytest.approx(0.4)
    door = " ".join(c.text.lower() for c in p.phases[-1].cues)
    assert "rise and fall" in door and "behind the door" in door and "open the door" in door


def test_resonance_assessment_steps() -> None:
    p = load_protocol("resonance-assessment")
    steps = p.assessment_steps
    assert [s.pacer.rate_per_min for s in steps] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert all(s.duration_s == 120.0 and s.pacer.inhale_share == 0.4 for s in steps)
    assert p.phases[0].baseline and p.phases[0].pacer is None and p.phases[0].duration_s >= 120
    assert p.baseline_phase is p.phases[0]
    assert not p.phases[-1].assessment_step and p.phases[-1].pacer is None  # recovery
    # steps are consecutive: the metrics engine finds them by flag and by time
    starts = dict(zip([ph.name for ph in p.phases], p.phase_starts_s, strict=True))
    step_starts = [starts[s.name] for s in steps]
    assert [b - a for a, b in zip(step_starts, step_starts[1:], strict=False)] == [120.0] * 4
    # a whole number of breaths per step at every rate: 13, 12, 11, 10, 9
    runner = ProtocolRunner(p)
    inhales = [e for e in drain(runner) if isinstance(e, PacerMarker) and e.segment == "inhale"]
    per_rate = {r: sum(1 for e in inhales if e.rate_per_min == r) for r in (6.5, 6.0, 5.5, 5.0, 4.5)}
    assert per_rate == {6.5: 13, 6.0: 12, 5.5: 11, 5.0: 10, 4.5: 9}


def test_other_shipped_protocols_do_what_they_claim() -> None:
    training = load_protocol("resonance-training")
    assert training.uses_personal_rate and training.baseline_phase is not None
    paced = [ph for ph in training.phases if ph.pacer is not None]
    assert len(paced) == 1 and paced[0].duration_s == 900.0 and paced[0].pacer.fallback_rate_per_min == 6.0

    resting = load_protocol("resting-baseline")
    assert resting.total_duration_s == 300.0
    assert all(ph.pacer is None and not resting.shows_feedback(ph) for ph in resting.phases)
    assert resting.baseline_phase is not None

    exhale = load_protocol("extended-exhale")
    for ph in exhale.phases:
        if ph.pacer is not None:
            inhale_s, _, exhale_s, _ = ph.pacer.pacer().segment_durations_s
            assert ph.pacer.inhale_share < 0.5 and exhale_s > inhale_s

    box = load_protocol("box-breathing")
    box_phase = next(ph for ph in box.phases if ph.pacer is not None)
    assert box_phase.pacer.pacer().segment_durations_s == pytest.approx((4.0, 4.0, 4.0, 4.0))

    med = load_protocol("breath-meditation")
    assert med.total_duration_s == 600.0
    assert all(ph.pacer is None and not med.shows_feedback(ph) for ph in med.phases)
    assert sum(len(ph.cues) for ph in med.phases) >= 5


# --- validation errors --------------------------------------------------------------------------------------

def error_for(tmp_path: Path, text: str, name: str = "small") -> str:
    path = write(tmp_path, text, name)
    with pytest.raises(ProtocolError) as info:
        read_protocol_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert f"{name}.toml: " in message  # names the file
    return message


def test_out_of_range_inhale_share_names_file_field_and_expectation(tmp_path: Path) -> None:
    msg = error_for(tmp_path, SMALL.replace("inhale_share = 0.4", "inhale_share = 1.5"))
    assert msg.endswith("small.toml: phases[1].pacer.inhale_share: expected a number between 0.1 and 0.9, got 1.5")


def test_unknown_key_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    msg = error_for(tmp_path, SMALL.replace("inhale_share = 0.4", "inhale_shar = 0.4"))
    assert "small.toml: phases[1].pacer.inhale_shar: unknown key" in msg
    assert "did you mean 'inhale_share'" in msg
    msg = error_for(tmp_path, SMALL.replace('intended_use = "Tests."', 'intended_use = "Tests."\nauthor = "x"'))
    assert "small.toml: author: unknown key" in msg
    msg = error_for(tmp_path, SMALL.replace("at_s = 20", "at_s = 20\nshow_s = 3"))
    assert "small.toml: phases[1].cues[1].show_s: unknown key" in msg


def test_wrong_type_names_the_field(tmp_path: Path) -> None:
    msg = error_for(tmp_path, SMALL.replace("duration_s = 30", 'duration_s = "30"'))
    assert msg.endswith('small.toml: phases[0].duration_s: expected a number > 0 and <= 14400, got "30"')
    msg = error_for(tmp_path, SMALL.replace("baseline = true", 'baseline = "yes"'))
    assert msg.endswith('phases[0].baseline: expected true or false, got "yes"')
    msg = error_for(tmp_path, SMALL.replace("rate_per_min = 6.0", "rate_per_min = true"))
    assert 'phases[1].pacer.rate_per_min: expected a number between 1 and 30 or "personal", got true' in msg
    msg = error_for(tmp_path, SMALL.replace('feedback_signal = "rsa_vs_baseline"', 'feedback_signal = "coherance"'))
    assert 'feedback_signal: expected one of "rsa_vs_baseline", "coherence"' in msg and 'got "coherance"' in msg


def test_missing_duration(tmp_path: Path) -> None:
    msg = error_for(tmp_path, SMALL.replace("duration_s = 10\n", ""))
    assert "small.toml: phases[2].duration_s: missing required key: expected a number > 0" in msg


def test_bad_toml_syntax_names_file_and_line(tmp_path: Path) -> None:
    lines = SMALL.splitlines()
    bad_line = lines.index("duration_s = 60") + 1  # 1-based line number
    msg = error_for(tmp_path, SMALL.replace("duration_s = 60", "duration_s = = 60"))
    assert f"small.toml: line {bad_line}, column" in msg and "invalid TOML" in msg


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('name = "small"', 'name = "other"', 'name: expected "small" (the file name without .toml), got "other"'),
    ("at_s = 20", "at_s = 60", "phases[1].cues[1].at_s: expected a time inside the phase"),
    ("inhale_share = 0.4 }", "inhale_share = 0.4, hold_in_s = 5, hold_out_s = 5 }",
     "phases[1].pacer: expected holds shorter than one breath"),
    ('name = "close"', 'name = "paced"', 'phases[2].name: expected a name no other phase uses, got "paced"'),
    ("inhale_share = 0.4 }", "inhale_share = 0.4, fallback_rate_per_min = 5 }",
     'phases[1].pacer.fallback_rate_per_min: expected only with rate_per_min = "personal"'),
    ("baseline = true", "baseline = true\nassessment_step = true",
     "phases[0].assessment_step: expected only on a phase with a numeric pacer"),
    ('name = "close"', 'name = "close"\nbaseline = true', "phases[2].baseline: expected at most one baseline phase"),
    ("baseline = true", "baseline = false", 'feedback_signal: "rsa_vs_baseline" needs a phase with baseline = true'),
    ("duration_s = 10", "duration_s = 0", "phases[2].duration_s: expected a number > 0"),
    ('text = "Small breaths."', 'text = ""', 'phases[1].cues[1].text: expected a non-empty string'),
    ('feedback_signal = "rsa_vs_baseline"', 'feedback_signal = "rsa_vs_baseline"\nfeedback_signals = "none"',
     "feedback_signals: unknown key (did you mean 'feedback_signal'?"),
])
def test_cross_field_and_range_rules(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in SMALL
    msg = error_for(tmp_path, SMALL.replace(old, new, 1))
    assert expected in msg


def test_no_phases_is_an_error(tmp_path: Path) -> None:
    head = SMALL.split("[[phases]]")[0]
    assert "phases: missing required key" in error_for(tmp_path, head)
    assert "phases: expected at least 1 entry" in error_for(tmp_path, head + "phases = []\n")


def test_defaults_are_filled() -> None:
    p = small()
    paced = p.phases[1]
    assert paced.feedback is True and paced.baseline is False and paced.assessment_step is False
    assert paced.pacer.hold_in_s == 0.0 and paced.pacer.hold_out_s == 0.0
    assert paced.title == "paced" and paced.analysis_skip_s == 0.0
    assert p.safety_note == "" and p.schema_version == 1
    assert p.shows_feedback(paced) and not p.shows_feedback(p.phases[0])
    assert p.phases[2].cues == ()


# --- loading ------------------------------------------------------------------------------------------------

def test_load_by_name_path_and_user_folder(tmp_path: Path, _empty_user_folder: Path) -> None:
    by_name = load_protocol("reset")
    by_path = load_protocol(shipped_protocols_dir() / "reset.toml")
    by_str_path = load_protocol(str(shipped_protocols_dir() / "reset.toml"))
    assert by_name == by_path == by_str_path
    assert user_protocols_dir() == _empty_user_folder

    write(_empty_user_folder, SMALL)
    write(_empty_user_folder, SMALL.replace('name = "small"', 'name = "reset"').replace(
        "Small test protocol", "My own reset"), name="reset")
    write(_empty_user_folder, "this is not toml", name="broken")
    assert load_protocol("small").title == "Small test protocol"
    assert load_protocol("reset").title == "My own reset"  # the user folder overrides a shipped name
    listed = {s.name: s for s in list_protocols()}
    assert listed["small"].origin == "user" and listed["reset"].origin == "user"
    assert "broken" not in listed  # skipped (and logged), not fatal
    assert listed["resonance-assessment"].origin == "shipped"

    with pytest.raises(ProtocolError, match="no protocol named 'nope'"):
        load_protocol("nope")
    with pytest.raises(ProtocolError, match="missing.toml: protocol file does not exist"):
        load_protocol(tmp_path / "missing.toml")


def test_to_dict_is_json_and_resolves_the_personal_rate() -> None:
    p = parse_protocol(PERSONAL, where="personal.toml")
    d = json.loads(json.dumps(p.to_dict(5.0), allow_nan=False))
    pacer = d["phases"][1]["pacer"]
    assert pacer["rate_per_min"] == "personal" and pacer["resolved_rate_per_min"] == 5.0
    assert pacer["period_s"] == pytest.approx(12.0) and pacer["inhale_s"] == pytest.approx(4.8)
    assert d["phases"][1]["start_s"] == 20.0 and d["duration_s"] == 140.0
    assert p.to_dict()["phases"][1]["pacer"]["resolved_rate_per_min"] == 6.0


# --- runner -------------------------------------------------------------------------------------------------

def test_pacer_markers_at_exact_times_relative_to_phase_start() -> None:
    events = drain(ProtocolRunner(small()))
    pacer = [e for e in events if isinstance(e, PacerMarker)]
    phase_start = 30.0
    rel = [(e.segment, e.t_s - phase_start, e.breath_index) for e in pacer]
    assert rel[:4] == [("inhale", 0.0, 0), ("exhale", 4.0, 0), ("inhale", 10.0, 1), ("exhale", 14.0, 1)]
    assert len(pacer) == 12  # 6 breaths of inhale + exhale in 60 s
    assert all(e.rate_per_min == 6.0 for e in pacer)
    assert [e.duration_s for e in pacer[:2]] == pytest.approx([4.0, 6.0])
    assert all(30.0 <= e.t_s < 90.0 for e in pacer)


def test_holds_produce_four_segments() -> None:
    events = drain(ProtocolRunner(load_protocol("box-breathing")))
    pacer = [e for e in events if isinstance(e, PacerMarker)]
    start = pacer[0].t_s
    assert [(e.segment, e.t_s - start) for e in pacer[:5]] == [
        ("inhale", 0.0), ("hold_in", 4.0), ("exhale", 8.0), ("hold_out", 12.0), ("inhale", 16.0)]
    assert len(pacer) == 4 * 15


def test_phase_markers_and_cues_in_order() -> None:
    events = drain(ProtocolRunner(small()))
    phases = [(e.index, e.state, e.t_s) for e in events if isinstance(e, PhaseMarker)]
    assert phases == [(0, "start", 0.0), (0, "end", 30.0), (1, "start", 30.0), (1, "end", 90.0),
                      (2, "start", 90.0), (2, "end", 100.0)]
    markers = [e for e in events if isinstance(e, PhaseMarker)]
    assert [m.paced for m in markers[::2]] == [False, True, False]
    assert [m.rate_per_min for m in markers[::2]] == [None, 6.0, None]
    assert [m.feedback for m in markers[::2]] == [False, True, True]
    cues = [(e.t_s, e.text) for e in events if isinstance(e, Cue)]
    assert cues == [(0.0, "Sit quietly."), (12.5, "Keep breathing naturally."), (30.0, "Follow the pacer."),
                    (50.0, "Small breaths.")]
    # at a phase boundary: end of the old phase, start of the new one, then its pacer and cues
    at_30 = [type(e).__name__ + ":" + getattr(e, "state", getattr(e, "segment", "")) for e in events
             if e.t_s == 30.0]
    assert at_30 == ["PhaseMarker:end", "PhaseMarker:start", "PacerMarker:inhale", "Cue:"]
    assert [e.t_s for e in events] == sorted(e.t_s for e in events)


def test_events_until_returns_only_due_events_once() -> None:
    runner = ProtocolRunner(small())
    first = runner.events_until(4.0)
    assert [e.t_s for e in first] == [0.0, 0.0]  # phase start and first cue
    assert runner.events_until(4.0) == []
    assert [e.t_s for e in runner.events_until(30.0)][-1] == 30.0
    assert not runner.finished
    runner.events_until(99.999)
    assert not runner.finished
    assert [e.state for e in runner.events_until(100.0)] == ["end"]
    assert runner.finished and runner.events_until(1e6) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_small_steps_equal_one_big_call(seed: int) -> None:
    protocol = load_protocol("resonance-assessment")
    big = ProtocolRunner(protocol).events_until(protocol.total_duration_s + 1)
    rng = random.Random(seed)
    runner, t, stepped = ProtocolRunner(protocol), 0.0, []
    while not runner.finished:
        t += rng.choice([0.05, 0.013, 0.2, 1 / 3, 0.0])  # accumulating float steps, like a jittery timer
        stepped.extend(runner.events_until(t))
    assert stepped == big  # same events, same exact t_s


def test_tick_jitter_does_not_move_markers() -> None:
    protocol = parse_protocol(SMALL, where="small.toml")
    runner, t, seen = ProtocolRunner(protocol), 0.0, []
    for _ in range(100000):
        t += 0.001  # 100 s in 1-ms steps: the sum drifts from the exact values
        seen.extend(runner.events_until(t))
    inhales = [e.t_s for e in seen if isinstance(e, PacerMarker) and e.segment == "inhale"]
    assert inhales == [30.0 + 10.0 * k for k in range(6)]


def test_pause_shifts_later_markers_by_the_pause_length() -> None:
    reference = drain(ProtocolRunner(small()))
    runner = ProtocolRunner(small())
    before = runner.events_until(34.0)  # includes the exhale at exactly 34.0
    runner.pause(34.0)
    frozen_state = runner.phase_at(34.0)
    assert runner.events_until(40.0) == []  # the protocol clock is stopped
    assert runner.phase_at(39.0).elapsed_s == pytest.approx(frozen_state.elapsed_s)
    assert runner.time_left_s(39.0) == pytest.approx(runner.time_left_s(34.0)) == pytest.approx(66.0)
    assert runner.pacer_at(39.0) == runner.pacer_at(34.0)
    runner.resume(41.5)
    after = drain(runner)
    assert before == [e for e in reference if e.t_s <= 34.0]
    later = [e for e in reference if e.t_s > 34.0]
    assert len(after) == len(later)
    for got, want in zip(after, later, strict=True):
        assert got.t_s == pytest.approx(want.t_s + 7.5, abs=1e-9)
        assert dataclasses.replace(want, t_s=got.t_s) == got
    assert runner.phase_at(41.5 + 6.0).elapsed_s == pytest.approx(10.0)  # 34 + 6 s of protocol time
    assert runner.time_left_s(200.0) == 0.0 and runner.phase_at(107.6) is None and runner.phase_at(107.4).index == 2


def test_pause_before_polling_keeps_earlier_markers_unshifted() -> None:
    reference = drain(ProtocolRunner(small()))
    runner = ProtocolRunner(small())
    runner.events_until(10.0)
    runner.pause(45.0)  # nothing polled between 10 and 45: those markers happened before the pause
    runner.resume(50.0)
    runner.pause(60.0)  # a second pause adds up
    runner.resume(62.0)
    got = runner.events_until(10.0) + drain(runner)
    expected = [e for e in reference if e.t_s > 10.0]
    shift = [0.0 if e.t_s <= 45.0 else (5.0 if e.t_s + 5.0 <= 60.0 else 7.0) for e in expected]
    assert [e.t_s for e in got] == pytest.approx([e.t_s + s for e, s in zip(expected, shift, strict=True)])
    assert runner.finished


def test_queries_for_views() -> None:
    runner = ProtocolRunner(small(), start_s=5.0)
    assert runner.phase_at(4.0) is None and runner.pacer_at(4.0) is None
    assert runner.total_duration_s == 100.0 and runner.time_left_s(0.0) == 100.0
    state = runner.phase_at(5.0 + 31.0)
    assert (state.index, state.phase.name, state.elapsed_s, state.remaining_s) == (1, "paced", 1.0, 59.0)
    point = runner.pacer_at(5.0 + 35.0)
    assert point.segment == "exhale" and point.segment_progress == pytest.approx(1 / 6)
    assert runner.pacer_at(5.0 + 10.0) is None  # unpaced baseline
    assert runner.current_cue(5.0 + 12.0).text == "Sit quietly."
    assert runner.current_cue(5.0 + 12.5).text == "Keep breathing naturally."
    assert runner.current_cue(5.0 + 95.0) is None  # the closing phase has no cue
    assert runner.time_left_s(5.0 + 40.0) == pytest.approx(60.0)
    # markers and the drawn pacer agree: at every marker the pacer is at the start of that segment
    for e in drain(runner):
        if isinstance(e, PacerMarker):
            assert e.t_s >= 35.0
            p = runner.pacer_at(e.t_s)
            assert p.segment == e.segment and p.segment_progress == pytest.approx(0.0, abs=1e-9)


def test_personal_rate_is_used_when_given() -> None:
    protocol = parse_protocol(PERSONAL, where="personal.toml")
    runner = ProtocolRunner(protocol, personal_rate_per_min=5.0)
    events = drain(runner)
    assert runner.rate_note is None
    assert [e.text for e in events if isinstance(e, Cue)] == ["Follow the pacer."]
    pacer = [e for e in events if isinstance(e, PacerMarker)]
    assert {e.rate_per_min for e in pacer} == {5.0}
    inhales = [e.t_s - 20.0 for e in pacer if e.segment == "inhale"]
    assert inhales == pytest.approx([12.0 * k for k in range(10)])
    start = next(e for e in events if isinstance(e, PhaseMarker) and e.index == 1)
    assert start.rate_per_min == 5.0 and start.paced


def test_fallback_rate_is_announced(caplog: pytest.LogCaptureFixture) -> None:
    protocol = parse_protocol(PERSONAL, where="personal.toml")
    with caplog.at_level(logging.WARNING, logger="biotrainer.protocols"):
        runner = ProtocolRunner(protocol, personal_rate_per_min=None)
    assert any("fallback" in r.getMessage() for r in caplog.records)
    events = drain(runner)
    assert {e.rate_per_min for e in events if isinstance(e, PacerMarker)} == {6.0}
    cues = [e for e in events if isinstance(e, Cue)]
    assert cues[0].t_s == 20.0 and "6 breaths per minute" in cues[0].text and cues[0].text == runner.rate_note
    assert cues[1].text == "Follow the pacer."
    assert runner.current_cue(21.0).text == "Follow the pacer."


def test_bad_personal_rates() -> None:
    protocol = parse_protocol(PERSONAL, where="personal.toml")
    for bad in (0.2, 45.0, math.nan):
        with pytest.raises(UsageError, match="personal resonance rate"):
            ProtocolRunner(protocol, personal_rate_per_min=bad)
    holds = parse_protocol(PERSONAL.replace("inhale_share = 0.4", "inhale_share = 0.4, hold_out_s = 5"),
                           where="personal.toml")
    ProtocolRunner(holds, personal_rate_per_min=6.0)  # 10-s breath, 5-s hold: fine
    with pytest.raises(ProtocolError, match=r"personal.toml: phases\[1\].pacer: expected holds shorter"):
        ProtocolRunner(holds, personal_rate_per_min=12.0)  # 5-s breath: no time left to breathe


# --- through the session runner -----------------------------------------------------------------------------

class Collector:
    def __init__(self) -> None:
        self.events: list = []

    def __call__(self, event) -> None:
        self.events.append(event)


def test_session_runner_ends_when_the_protocol_finishes() -> None:
    protocol = parse_protocol(SMALL, where="small.toml")
    bus, got = Bus(), Collector()
    bus.subscribe(got)
    runner = SessionRunner(bus, protocol=ProtocolRunner(protocol), clock=VirtualClock(anchor_unix_s=0.0))
    result = runner.run()
    assert result.reason == "protocol finished"
    assert protocol.total_duration_s <= result.end_t_s < protocol.total_duration_s + runner.tick_s + 1e-9
    markers = [e for e in got.events if not isinstance(e, SessionState)]
    assert markers == drain(ProtocolRunner(protocol))  # exactly the scheduled events, at the scheduled times
    assert isinstance(got.events[-1], SessionState) and got.events[-1].reason == "protocol finished"


def test_session_pause_shifts_the_protocol() -> None:
    protocol = parse_protocol(SMALL, where="small.toml")
    bus, got = Bus(), Collector()
    bus.subscribe(got)
    session = SessionRunner(bus, protocol=ProtocolRunner(protocol), clock=VirtualClock(anchor_unix_s=0.0))

    class PauseAt:
        def __call__(self, event) -> None:
            pass

        def tick(self, t_s: float) -> None:
            if 33.0 <= t_s and not session.paused and not hasattr(self, "done"):
                self.done = True
                session.pause()
            elif t_s >= 40.0 and session.paused:
                session.resume()

    bus.subscribe(PauseAt())
    result = session.run()
    states = {e.state: e.t_s for e in got.events if isinstance(e, SessionState)}
    pause_s = states["resume"] - states["pause"]
    assert pause_s > 6.0
    assert result.reason == "protocol finished"
    end = [e for e in got.events if isinstance(e, PhaseMarker)][-1]
    assert end.t_s == pytest.approx(100.0 + pause_s, abs=1e-9)
    assert 33.0 <= states["pause"] < 34.0
    pacer = [e.t_s for e in got.events if isinstance(e, PacerMarker)]
    assert pacer[:2] == [30.0, pytest.approx(34.0 + pause_s, abs=1e-9)]  # inhale before, exhale after the pause


# --- CLI ----------------------------------------------------------------------------------------------------

def cli(argv: list[str]) -> int:
    from biotrainer.cli import protocols as command

    parser = argparse.ArgumentParser(prog="biotrainer")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["protocols", "--json"]) == 0
    listed = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert listed["reset"]["duration_s"] == 180.0 and listed["reset"]["phase_count"] == 3
    assert cli(["protocols"]) == 0
    text = capsys.readouterr().out
    assert "reset" in text and "3:00" in text and "paced 6/min 1:30" in text
    assert cli(["protocols", "show", "resonance-training", "--personal-rate", "5.5", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["phases"][1]["pacer"]["resolved_rate_per_min"] == 5.5
    assert cli(["protocols", "--json", "show", "reset"]) == 0
    assert json.loads(capsys.readouterr().out)["duration_s"] == 180.0
    assert cli(["protocols", "show", "box-breathing"]) == 0
    text = capsys.readouterr().out
    assert "3.75/min, in 4 s, hold 4 s, out 4 s, hold 4 s" in text and "Follow the pacer around the box" in text


def test_cli_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, SMALL)
    bad = write(tmp_path, SMALL.replace("inhale_share = 0.4", "inhale_share = 1.5").replace(
        'name = "small"', 'name = "bad"'), name="bad")
    assert cli(["protocols", "validate", str(good), *map(str, SHIPPED_FILES)]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok") == 1 + len(SHIPPED_FILES)
    assert cli(["protocols", "validate", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    err_lines = captured.err.strip().splitlines()
    assert len(err_lines) == 1
    assert err_lines[0].endswith("bad.toml: phases[1].pacer.inhale_share: expected a number between 0.1 and 0.9, "
                                 "got 1.5")
    with pytest.raises(UsageError):
        cli(["protocols", "show", "resonance-training", "--personal-rate", "0.1"])


def test_cli_schema_lists_every_key_with_its_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["protocols", "schema", "--json"]) == 0
    keys = {k["path"]: k for k in json.loads(capsys.readouterr().out)}
    assert keys["phases[].pacer.inhale_share"]["default"] == 0.4
    assert keys["phases[].pacer.inhale_share"]["expected"] == "a number between 0.1 and 0.9"
    assert keys["phases[].duration_s"]["required"] and keys["phases[].cues[].text"]["required"]
    assert all(k["doc"] for k in keys.values())
    # every key the shipped files use is described
    import tomllib

    def paths(table: dict, prefix: str = "") -> set[str]:
        out = set()
        for key, value in table.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                out.add(f"{prefix}{key}[]")
                for item in value:
                    out |= paths(item, f"{prefix}{key}[].")
            elif isinstance(value, dict):
                out.add(f"{prefix}{key}")
                out |= paths(value, f"{prefix}{key}.")
            else:
                out.add(f"{prefix}{key}")
        return out

    used = set().union(*(paths(tomllib.loads(p.read_text(encoding="utf-8"))) for p in SHIPPED_FILES))
    assert used <= set(keys)


@pytest.mark.parametrize("seed", [7, 8, 9, 10])
def test_random_pauses_keep_protocol_time_of_every_marker(seed: int) -> None:
    """Whatever the pauses, each marker's session time maps back to its scheduled protocol time, the markers come
    in the same order, and the pacer drawn at a marker's time is at the start of that marker's segment."""
    protocol = load_protocol("extended-exhale")
    reference = ProtocolRunner(protocol).schedule
    rng = random.Random(seed)
    runner, t, got, pauses = ProtocolRunner(protocol, start_s=2.0), 0.0, [], 0.0
    while not runner.finished:
        t += rng.uniform(0.0, 0.5)
        if rng.random() < 0.01:
            runner.pause(t)
            got.extend(runner.events_until(t))
            length = rng.uniform(0.0, 20.0)
            assert runner.events_until(t + length) == []
            t += length
            pauses += length
            runner.resume(t)
        got.extend(runner.events_until(t))
    assert len(got) == len(reference)
    for g, r in zip(got, reference, strict=True):
        assert dataclasses.replace(g, t_s=r.t_s) == r
        assert runner.protocol_time_s(g.t_s) == pytest.approx(r.t_s, abs=1e-6)
        if isinstance(g, PacerMarker):
            point = runner.pacer_at(g.t_s + 1e-6)  # just after: the mapping back is exact only to float round-off
            assert point.segment == g.segment and point.segment_progress == pytest.approx(0.0, abs=1e-5)
    assert got[-1].t_s == pytest.approx(2.0 + protocol.total_duration_s + pauses, abs=1e-6)
