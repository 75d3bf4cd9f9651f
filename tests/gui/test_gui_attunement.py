"""Attunement on the replay screen: the synchrony strip and card of a recorded dyad, none for one person."""

from __future__ import annotations

import pytest

WAIT_MS = 60_000


def _record(root: str, *args: str) -> str:
    from biotrainer.cli import main
    from biotrainer.store import Library

    before = {s.id for s in Library(root).list_sessions()}
    assert main(["record", "--library", root, "--speed", "max", "--quiet", "--no-metrics", *args]) == 0
    (new,) = {s.id for s in Library(root).list_sessions()} - before
    return new


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A coupled simulated dyad (400 s, annotated), one person alone, a pair without a therapist, a short dyad."""
    from biotrainer.store import Library

    root = str(tmp_path_factory.mktemp("attunement-library"))
    ids = {
        "dyad": _record(root, "--device", "therapist=sim", "--device", "client=sim:follow=therapist,coupling=0.6",
                        "--duration", "400", "--seed", "2"),
        "alone": _record(root, "--device", "sim", "--duration", "60", "--seed", "3"),
        "no_therapist": _record(root, "--device", "self=sim", "--device", "client=sim", "--duration", "60",
                                "--seed", "4"),
        "short": _record(root, "--device", "therapist=sim", "--device", "client=sim", "--duration", "50",
                         "--seed", "5"),
    }
    Library(root).annotate(ids["dyad"], 150.0, "client laughs")
    return root, ids


@pytest.fixture(scope="module")
def dyad_json(library):
    """What ``biotrainer synchrony ID --json`` says about the dyad."""
    from biotrainer.analysis.synchrony import SynchronyOptions, session_synchrony
    from biotrainer.store import Library

    root, ids = library
    return session_synchrony(Library(root), ids["dyad"], SynchronyOptions())


def _screen(qtbot, root: str, ref: str):
    from biotrainer.gui.replay_screen import ReplayScreen

    screen = ReplayScreen(library=root)
    qtbot.addWidget(screen)
    assert screen.open_session(ref)
    qtbot.waitUntil(lambda: not screen.controller.synchrony_pending, timeout=WAIT_MS)  # computed off the GUI thread
    return screen


def test_cli_and_card_say_the_result_in_the_same_words(qtbot, dyad_json):
    from biotrainer.analysis.synchrony_words import CAVEAT, chance_line, headline, lead_line, result_lines
    from biotrainer.cli.synchrony import text_lines
    from biotrainer.gui.attunement import AttunementCard

    lines = text_lines(dyad_json)
    assert lines[1:-1] == [f"  {line}" for line in result_lines(dyad_json)] and lines[-1] == CAVEAT
    card = AttunementCard()
    qtbot.addWidget(card)
    card.set_result(dyad_json)
    text = card.text()
    for line in (headline(dyad_json), chance_line(dyad_json), lead_line(dyad_json), CAVEAT):
        assert line in text
    assert "an awareness aid for reflection and supervision, not a score" in text


def test_window_lag_words_follow_the_sign_convention():
    from biotrainer.analysis.synchrony_words import window_follower, window_lag_words

    assert window_lag_words(2.75) == "client follows by 2.8 s"  # positive lag: the client follows the therapist
    assert window_lag_words(-1.0) == "therapist follows by 1.0 s"
    assert window_lag_words(0.25) == "in step"
    assert window_lag_words(None) == "no lag"
    assert [window_follower(lag) for lag in (3.0, -3.0, 0.5, None)] == ["client", "therapist", None, None]


def test_dyad_shows_its_synchrony_windows_styled_by_chance(qtbot, library, dyad_json):
    from PyQt5.QtGui import QColor

    root, ids = library
    screen = _screen(qtbot, root, ids["dyad"])
    strip = screen.attunement
    assert not strip.isHidden() and not screen.attunement_card.isHidden() and screen.attunement_reason.isHidden()
    assert strip.windows == dyad_json["windows"]  # the analysis layer's windows, as the CLI's JSON has them
    assert len(strip.windows) > 50
    above = [w for w in strip.windows if w["above_chance"]]
    muted = [w for w in strip.windows if not w["above_chance"] and w["z"] is not None]
    assert above and muted
    accent = QColor(screen.palette_.accent)
    assert all(strip.bar_colour(w) == accent for w in above)
    assert all(strip.bar_colour(w) != accent and strip.bar_colour(w) is not None for w in muted)
    assert strip.bar_colour({**muted[0], "z": None}) is None  # a window without a value is left empty
    # lead/follow marks on above-chance windows: positive lag = ▲ the client follows
    marks = {strip.lead_mark(w) for w in above if w["peak_lag_s"] > 0.5}
    assert marks == {"▲"}
    assert all(strip.lead_mark(w) == "" for w in muted)
    assert strip.annotations == [(150.0, "client laughs")] and strip.duration_s == screen.controller.duration_s
    w = above[0]
    centre = (w["start_s"] + w["end_s"]) / 2
    assert "above chance" in strip.tooltip_at(centre, strip._x(centre))
    screen.shutdown()


def test_card_verdict_matches_the_json(qtbot, library, dyad_json):
    root, ids = library
    screen = _screen(qtbot, root, ids["dyad"])
    text = screen.attunement_card.text()
    above = dyad_json["session"]["p_value"] < 0.05
    assert above  # coupling 0.6 is detected
    assert ("Heart-rate synchrony above chance" in text) == above
    assert f"p = {dyad_json['session']['p_value']:.3f} → above chance" in text
    assert "the client follows the therapist" in text  # the leader of the JSON: the therapist
    assert dyad_json["lead_lag"]["leader"] == "therapist"
    screen.shutdown()


def test_clicking_the_attunement_strip_seeks_the_replay(qtbot, library):
    from PyQt5.QtCore import QPoint, Qt

    root, ids = library
    screen = _screen(qtbot, root, ids["dyad"])
    screen.resize(1400, 900)
    screen.show()
    qtbot.waitExposed(screen)
    strip = screen.attunement
    target = 200.0
    qtbot.mouseClick(strip, Qt.LeftButton, pos=QPoint(int(round(strip._x(target))), strip.height() // 2))
    qtbot.waitUntil(lambda: not screen.controller.seeking, timeout=WAIT_MS)
    seconds_per_px = screen.controller.duration_s / max(1, strip.width() - 16)
    assert screen.controller.position_s() == pytest.approx(target, abs=seconds_per_px + 0.1)
    screen.tick()
    assert strip.position_s == pytest.approx(screen.controller.position_s())
    screen.shutdown()


def test_one_person_shows_no_attunement(qtbot, library):
    root, ids = library
    screen = _screen(qtbot, root, ids["alone"])
    assert not screen.controller.dyad and screen.controller.synchrony is None
    for w in (screen.attunement, screen.attunement_title, screen.attunement_card, screen.attunement_reason):
        assert w.isHidden()
    assert not screen.pacer.isHidden()
    screen.shutdown()


@pytest.mark.parametrize(("which", "words"), [
    ("no_therapist", "synchrony needs beats of a therapist and a client"),
    ("short", "window"),
])
def test_dyad_without_synchrony_says_why_in_one_line(qtbot, library, which, words):
    root, ids = library
    screen = _screen(qtbot, root, ids[which])
    reason = screen.attunement_reason
    assert not reason.isHidden() and screen.attunement.isHidden() and screen.attunement_card.isHidden()
    assert reason.text().startswith("Attunement: ") and words in reason.text() and "\n" not in reason.text()
    screen.shutdown()


def test_opening_one_person_after_a_dyad_hides_the_attunement(qtbot, library):
    root, ids = library
    screen = _screen(qtbot, root, ids["dyad"])
    assert not screen.attunement.isHidden()
    assert screen.open_session(ids["alone"])
    assert screen.attunement.isHidden() and screen.attunement_card.isHidden()
    screen.shutdown()


def test_a_dyad_result_arriving_after_another_session_was_opened_is_dropped(qtbot, library):
    from biotrainer.gui.replay_screen import ReplayScreen

    root, ids = library
    screen = ReplayScreen(library=root)
    qtbot.addWidget(screen)
    assert screen.open_session(ids["dyad"])
    first = screen.controller._attunement_thread
    assert screen.open_session(ids["alone"])  # before the dyad's synchrony is there
    first.join(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: not screen.controller.synchrony_pending, timeout=WAIT_MS)
    qtbot.wait(50)  # deliver the dyad's (stale) result too
    assert not screen.controller.dyad and screen.controller.synchrony is None
    assert screen.attunement.isHidden() and screen.attunement_card.isHidden()
    screen.shutdown()
