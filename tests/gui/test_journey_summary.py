"""The end-of-session summary window: the summary in words, the optional self-report and the intention stored with
the session; shown when a live session ends and when a replay reaches its end."""

from __future__ import annotations

import pytest

from tests.analysis.journey_helpers import rr_session


@pytest.fixture
def one_session(library_dir):
    from biotrainer.exchange.library import save_session
    from biotrainer.store import Library

    return save_session(Library(library_dir), rr_session("a", 0.0, 60.0, paced_hr_bpm=67.0, seed=5))


def test_summary_dialog_shows_words_and_stores_the_self_report_and_intention(qtbot, library_dir, one_session):
    from biotrainer.gui.summary_dialog import SummaryDialog
    from biotrainer.store import Library

    dlg = SummaryDialog(library=library_dir, session_id=one_session, intention="  soft, slow out-breaths ")
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.summary is not None, timeout=30000)
    text = dlg.text.text()
    assert "Your intention: “soft, slow out-breaths”." in text
    assert "Your heart rate rose from your settle phase to the paced phase, more than its minute-to-minute" in text
    assert "; breathing " in text  # beside the vagal indices
    assert dlg.calm.text() == "–" and dlg.present.text() == "–"
    dlg.calm.setValue(8)
    dlg.note.setText("shoulders dropped in the second minute")
    dlg.show()
    dlg.grab().save(str(library_dir) + "/../summary.png")
    dlg.save_button.click()
    assert dlg.saved and dlg.result() == dlg.Accepted
    with Library(library_dir).open(one_session) as reader:
        assert reader.meta.intention == "soft, slow out-breaths"
        assert reader.meta.self_report == {"calm": 8, "note": "shoulders dropped in the second minute"}


def test_summary_dialog_skip_stores_nothing_and_a_bad_session_is_one_line(qtbot, library_dir, one_session):
    from biotrainer.gui.summary_dialog import SummaryDialog
    from biotrainer.store import Library

    dlg = SummaryDialog(library=library_dir, session_id=one_session)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.summary is not None, timeout=30000)
    dlg.skip_button.click()
    with Library(library_dir).open(one_session) as reader:
        assert reader.meta.self_report == {} and reader.meta.intention == ""
    bad = SummaryDialog(library=library_dir, session_id="nope")
    qtbot.addWidget(bad)
    qtbot.waitUntil(lambda: bad.text.text().startswith("No summary of this session: no session"), timeout=30000)


@pytest.mark.slow
def test_live_session_end_opens_the_summary_with_the_intention(live, qtbot):
    from biotrainer.gui.controller import LiveConfig

    live.intention_edit.setText("notice the pause after each out-breath")
    assert live.start(LiveConfig(protocol="reset", participant="P01", source="sim:seed=3", library=live.library,
                                 speed=60.0))
    qtbot.waitUntil(lambda: getattr(live, "summary_dialog", None) is not None, timeout=60000)
    dlg = live.summary_dialog
    qtbot.waitUntil(lambda: dlg.summary is not None, timeout=30000)
    assert dlg.isVisible() and dlg.summary["intention"] == "notice the pause after each out-breath"
    assert any("from your settle phase to the paced phase" in line for line in dlg.summary["lines"])
    dlg.reject()


@pytest.mark.slow
def test_replay_end_opens_the_summary_once(qtbot, library_dir, one_session):
    from biotrainer.gui.replay_screen import ReplayScreen

    screen = ReplayScreen(library=library_dir)
    qtbot.addWidget(screen)
    assert screen.open_session(one_session)
    screen.seek(screen.controller.duration_s)
    qtbot.waitUntil(lambda: getattr(screen, "summary_dialog", None) is not None, timeout=30000)
    first = screen.summary_dialog
    qtbot.waitUntil(lambda: first.summary is not None, timeout=30000)
    first.reject()
    for _ in range(5):
        screen.tick()
    assert screen.summary_dialog is first
    screen.shutdown()
