"""Breath counting task scoring (Levinson et al. 2014) on scripted key sequences: correct cycles, miscounts
(nine too early, past nine), self-caught resets, accuracy; presses against the strap's breaths."""

from __future__ import annotations

import pytest

from biotrainer.analysis.breath_counting import (
    AUTHOR,
    press_agreement,
    score_presses,
    score_session,
    score_words,
)

C, N, R = "count", "nine", "reset"
CYCLE = [C] * 8 + [N]


def test_three_correct_cycles_are_perfect_accuracy():
    s = score_presses(CYCLE * 3)
    assert (s.correct, s.miscounts, s.resets, s.counts, s.accuracy, s.presses) == (3, 0, 0, 3, 1.0, 27)


def test_nine_too_early_and_past_nine_are_miscounts():
    s = score_presses(CYCLE + [C] * 6 + [N] + [C] * 10 + [N] + CYCLE)
    assert (s.correct, s.miscounts, s.early, s.late) == (2, 2, 1, 1)
    assert s.accuracy == pytest.approx(0.5)
    assert [r["verdict"] for r in s.runs] == ["correct", "miscount: nine too early", "miscount: past nine",
                                              "correct"]


def test_reset_is_a_self_caught_lapse_not_a_miscount():
    s = score_presses([C] * 5 + [R] + CYCLE + [C, C, R, R] + CYCLE)
    assert (s.correct, s.miscounts, s.resets, s.accuracy) == (2, 0, 3, 1.0)


def test_the_end_of_the_task_scores_an_open_overcount_but_not_an_incomplete_cycle():
    assert score_presses(CYCLE + [C] * 4).to_dict()["counts"] == 1  # 4 presses: incomplete, not scored
    s = score_presses(CYCLE + [C] * 12)
    assert (s.correct, s.miscounts, s.late) == (1, 1, 1)
    assert score_presses([]).accuracy is None and score_presses([N]).early == 1


def test_words_and_an_unknown_key():
    from biotrainer.core.errors import UsageError

    s = score_presses(CYCLE * 7 + [C] * 3 + [N] + [C] * 11 + [N] + [C, R]).to_dict()
    assert score_words(s) == "7 of 9 counts correct (78 %), 2 miscounts (1 early, 1 past nine), 1 reset"
    assert score_words(score_presses([C, R]).to_dict()) == "no complete count yet, 1 reset"
    with pytest.raises(UsageError, match="unknown key 'space'"):
        score_presses([C, "space"])


def test_presses_against_the_breaths_from_the_strap():
    breaths = [0.0, 4.0, 8.0, 12.0, 16.0, 20.0]
    a = press_agreement([1.0, 5.0, 9.5, 13.0, 17.0], breaths)
    assert a == {"presses": 5, "breaths": 5, "one_press_per_breath_pct": 100.0, "presses_outside_breaths": 0}
    b = press_agreement([1.0, 2.0, 9.0, 30.0], breaths)  # two in the first breath, none in the second, one late
    assert b["breaths"] == 3 and b["one_press_per_breath_pct"] == pytest.approx(100 / 3)
    assert b["presses_outside_breaths"] == 1
    assert press_agreement([1.0], [])["reason"] == "no breaths detected from the strap"


def test_a_session_scores_its_annotations():
    from biotrainer.core.events import SESSION, Annotation

    events = [Annotation(t_s=4.0 * i + 1, participant=SESSION, text=k, author=AUTHOR)
              for i, k in enumerate(CYCLE + [C, C, R])]
    events.append(Annotation(t_s=2.0, participant=SESSION, text="count", author="T1"))  # a therapist's mark
    out = score_session(events, breath_t_s=[4.0 * i for i in range(14)])
    assert (out["correct"], out["resets"], out["presses"]) == (1, 1, 12)
    assert out["strap"]["presses"] == 11 and out["strap"]["one_press_per_breath_pct"] == 100.0


def _with_presses(session, keys, start_s=62.0, every_s=10.0):
    from biotrainer.core.events import SESSION, Annotation

    session.events += [Annotation(t_s=start_s + every_s * i, participant=SESSION, text=k, author=AUTHOR)
                       for i, k in enumerate(keys)]
    session.events.sort(key=lambda e: e.t_s)
    return session


def test_summary_and_journey_show_the_score():
    from biotrainer.analysis.summary import summarize_session
    from biotrainer.analysis.trend import journey_of_sessions
    from tests.analysis.journey_helpers import rr_session

    # 6/min breathing in the helper: one press every 10 s is one press per breath
    s = _with_presses(rr_session("a", 0.0, 60.0, seed=1, settle_s=60.0, paced_s=120.0), CYCLE + [C] * 3)
    out = summarize_session(s)
    assert out["breath_counting"]["correct"] == 1 and out["breath_counting"]["accuracy"] == 1.0
    assert "Breath counting: 1 of 1 counts correct (100 %), 0 miscounts (0 early, 0 past nine), 0 resets." \
        in out["lines"]
    strap = out["breath_counting"]["strap"]
    assert strap["presses"] == 12 and strap["one_press_per_breath_pct"] > 80
    keys = {1: CYCLE + [C] * 4 + [N] + [R], 2: CYCLE + [C] * 10 + [N] + [R, R]}  # one early, one past nine
    later = [_with_presses(rr_session(f"w{i}", 7.0 * i, 60.0, seed=i), keys[i], every_s=5.0) for i in (1, 2)]
    j = journey_of_sessions([s, *later])
    assert j["metrics"]["breath_counting.accuracy_pct"]["values"] == [100.0, 50.0, 50.0]
    assert j["metrics"]["breath_counting.resets"]["values"] == [0.0, 1.0, 2.0]
    assert j["metrics"]["breath_counting.accuracy_pct"]["label"] == "Breath counting accuracy"


def test_terminal_keys_arrows_and_letters_become_presses():
    import io

    from biotrainer.cli.breath_count_keys import keys_from_bytes, read_presses

    raw = b"\x1b[B" * 8 + b"\x1b[C" + b"x c n\x1b[A" + b"\x1b[D" + b"r"
    assert list(keys_from_bytes(io.BytesIO(raw).read)) == [C] * 8 + [N, C, N, R, R]
    got: list[str] = []
    read_presses(io.BytesIO(b"ccn"), got.append)
    assert got == [C, C, N]
    assert score_presses(keys_from_bytes(io.BytesIO(b"c" * 8 + b"n").read)).correct == 1
