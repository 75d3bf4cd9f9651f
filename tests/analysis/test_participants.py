"""The one participant rule (biotrainer.analysis.participants): analyze, assess, compare, report and export give the
same answer and the same error for the same session and ``--participant``."""

from __future__ import annotations

import json

import pytest

from biotrainer.analysis.participants import (
    choose_role,
    find_role,
    participant_beats,
    role_for_comparison,
    roles_with_beats,
)
from biotrainer.cli import main
from biotrainer.core.errors import UsageError

TWO_STRAPS = "synthetic-two-straps-extended-exhale.sqlite"
ONE_STRAP = "synthetic-faults-baseline.sqlite"
PEOPLE = {"client": "C01", "therapist": "T01"}


pytestmark = pytest.mark.usefixtures("private_library")


def _error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    return captured.err.strip()


# --- the rule --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("roles", "wanted", "role"), [
    (["therapist", "client"], None, "client"),  # several, none given: the client (the person practising)
    (["therapist", "self"], None, "self"),  # else self
    (["therapist", "observer"], None, "therapist"),  # else the first with beats
    (["therapist"], None, "therapist"),  # one participant needs no choice
    (["therapist", "client"], "T01", "therapist"),  # a pseudonym
    (["therapist", "client"], "client", "client"),  # a role
])
def test_choose_role(roles, wanted, role) -> None:
    assert choose_role("s1", roles, PEOPLE, wanted) == role


@pytest.mark.parametrize(("roles", "people", "wanted", "message"), [
    (["therapist", "client"], PEOPLE, "nobody", "session s1 has no participant 'nobody' (participants with beats, "
                                                "as role and pseudonym: therapist T01, client C01)"),
    (["therapist"], PEOPLE, "nobody", "session s1 has no participant 'nobody' (participants with beats, as role "
                                      "and pseudonym: therapist T01)"),
    (["therapist"], PEOPLE, "C01", "session s1: participant 'C01' has no beats recorded (participants with beats: "
                                   "therapist T01)"),
    ([], {"self": "P1"}, None, "session s1: no beats recorded (participants: self P1)"),
])
def test_choose_role_errors_name_those_available(roles, people, wanted, message) -> None:
    with pytest.raises(UsageError) as err:
        choose_role("s1", roles, people, wanted)
    assert str(err.value) == message


def test_find_role_matches_role_or_pseudonym_beats_or_not() -> None:
    assert find_role(PEOPLE, "T01") == "therapist" and find_role(PEOPLE, "client") == "client"
    assert find_role({"self": ""}, "") is None and find_role(PEOPLE, "nobody") is None


# --- every command applies it ------------------------------------------------------------------------------------

def _analyze_role(path: str, wanted: str | None, capsys) -> str:
    assert main(["analyze", path, "--json", *(["--participant", wanted] if wanted else [])]) == 0
    return json.loads(capsys.readouterr().out)["participant"]["role"]


def _compare_pseudonym(path: str, wanted: str | None, capsys) -> str:
    assert main(["compare", path, "--json", *(["--participant", wanted] if wanted else [])]) == 0
    return json.loads(capsys.readouterr().out)["sessions"][0]["participant"]


@pytest.mark.parametrize(("wanted", "role"), [(None, "client"), ("T01", "therapist"), ("client", "client")])
def test_analyze_compare_report_pick_the_same_participant(recording, capsys, wanted, role) -> None:
    from biotrainer.exchange.library import load_session
    from biotrainer.store import Library

    path = recording(TWO_STRAPS)
    assert _analyze_role(path, wanted, capsys) == role
    assert _compare_pseudonym(path, wanted, capsys) == PEOPLE[role]
    session = load_session(Library(None), path)
    assert roles_with_beats(session.events) == ["therapist", "client"]
    assert role_for_comparison(session, wanted) == role
    from biotrainer.analysis.compare import session_stats

    assert session_stats(session, wanted).role == role  # what the report uses


@pytest.mark.parametrize("name", [TWO_STRAPS, ONE_STRAP])
def test_unknown_participant_is_the_same_error_everywhere(recording, capsys, tmp_path, name) -> None:
    path = recording(name)
    errors = []
    for argv in (["analyze", path], ["assess", path], ["compare", path],
                 ["report", path, "--out", str(tmp_path / "r.html")]):
        assert main([*argv, "--participant", "nobody"]) == 2, argv
        errors.append(_error(capsys))
    assert len(set(errors)) == 1, errors
    assert "has no participant 'nobody'" in errors[0] and "participants with beats" in errors[0]
    assert not (tmp_path / "r.html").exists()


def test_export_keeps_the_sessions_of_the_participant_by_the_same_names(recording, capsys, tmp_path) -> None:
    two, one = recording(TWO_STRAPS), recording(ONE_STRAP)
    for wanted in ("T01", "therapist", "C01"):
        assert main(["export", two, one, "--participant", wanted, "--format", "csv", "--out",
                     str(tmp_path / wanted), "--json"]) == 0
        assert len(json.loads(capsys.readouterr().out)["sessions"]) == 1
    assert main(["export", two, one, "--participant", "nobody", "--format", "csv", "--out", str(tmp_path / "n")]) == 2
    err = _error(capsys)
    assert "'nobody'" in err and "client C01" in err and "therapist T01" in err and "self P02" in err


def test_library_views_read_one_participants_beats(recording) -> None:
    """The library's key metrics and the compare screen's plots: the rule's participant, never two people mixed."""
    from biotrainer.store import Library

    with Library(None).open(recording(TWO_STRAPS)) as reader:
        assert set(reader.beats().participant.tolist()) == {"client", "therapist"}
        assert set(participant_beats(reader).participant.tolist()) == {"client"}
        assert set(participant_beats(reader, "T01").participant.tolist()) == {"therapist"}
    with Library(None).open(recording(ONE_STRAP)) as reader:
        assert len(participant_beats(reader)) == len(reader.beats())
