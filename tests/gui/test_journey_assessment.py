"""The resonance assessment in the window: "step 3 of 5 · 5.5 /min" while it runs, and at the end the criteria
table and pick of ``biotrainer assess`` with a button that stores the personal rate."""

from __future__ import annotations

from pathlib import Path

import pytest

RECORDING = Path(__file__).resolve().parents[2] / "recordings" / "synthetic-resonance-assessment.sqlite"


def test_step_words_of_the_shipped_assessment():
    from biotrainer.analysis.assess import step_words
    from biotrainer.protocols import load_protocol

    p = load_protocol("resonance-assessment")
    assert step_words(p, "step-5.5") == "step 3 of 5 · 5.5 /min"
    assert step_words(p, "step-6.5") == "step 1 of 5 · 6.5 /min"
    assert step_words(p, "baseline") == "" and step_words(load_protocol("reset"), "paced") == ""


@pytest.fixture
def assessed_library(library_dir):
    from biotrainer.exchange.library import import_session_file
    from biotrainer.store import Library

    sid, _ = import_session_file(Library(library_dir), RECORDING)
    return library_dir, sid


@pytest.mark.slow
def test_assessment_dialog_shows_the_table_and_the_pick_and_stores_it(qtbot, assessed_library):
    from biotrainer.analysis.assess import assess_resonance
    from biotrainer.cli.assess import text_lines
    from biotrainer.gui.assessment_dialog import AssessmentDialog, is_assessment
    from biotrainer.gui.summary_dialog import end_dialog
    from biotrainer.gui.theme import DARK
    from biotrainer.store import Library

    library_dir, sid = assessed_library
    assert is_assessment(library_dir, sid)
    dlg = end_dialog(DARK, library_dir, sid)
    qtbot.addWidget(dlg)
    assert isinstance(dlg, AssessmentDialog)
    qtbot.waitUntil(lambda: dlg.out is not None, timeout=60000)
    out, result = assess_resonance(Library(library_dir), sid)
    cli_rows = text_lines(out, result)[2:2 + len(result.steps)]
    assert dlg.table.rowCount() == len(result.steps) == 5
    for r, line in enumerate(cli_rows):  # the same numbers as 'biotrainer assess'
        cells = [dlg.table.item(r, c).text() for c in range(8)]
        assert line.split()[:8] == cells, (line, cells)
    pick = result.pick_rate_per_min
    assert pick is not None and f"Resonance rate pick: {pick:g} breaths a minute" in dlg.pick_label.text()
    marked = [dlg.table.item(r, 8).text() for r in range(5)]
    assert marked.count("◀ pick") == 1
    assert "HR swing: mean heart-rate rise and fall" in dlg.legend.text()
    dlg.show()
    dlg.grab().save(str(Path(library_dir).parent / "assessment.png"))
    assert dlg.save_button.isEnabled()
    who = out["participant"]["pseudonym"]
    dlg.save_button.click()  # not registered yet: one line, as 'biotrainer assess --save' says
    assert dlg.status.text() == f"Not stored: no participant {who!r} in {Library(library_dir).participants.path}"
    Library(library_dir).participants.add(who)
    dlg.save_button.click()
    assert dlg.status.text().startswith(f"Stored: {pick:g} /min is now the personal rate of")
    assert Library(library_dir).participants.get(who).resonance_rate_per_min == pytest.approx(pick)


def test_a_session_that_is_no_assessment_gets_the_summary(qtbot, library_dir):
    from biotrainer.exchange.library import save_session
    from biotrainer.gui.summary_dialog import SummaryDialog, end_dialog
    from biotrainer.gui.theme import DARK
    from biotrainer.store import Library
    from tests.analysis.journey_helpers import rr_session

    sid = save_session(Library(library_dir), rr_session("a", 0.0, 60.0))
    dlg = end_dialog(DARK, library_dir, sid)
    qtbot.addWidget(dlg)
    assert isinstance(dlg, SummaryDialog)


@pytest.mark.slow
def test_live_assessment_says_which_step_is_running(live, qtbot):
    from biotrainer.gui.controller import LiveConfig

    assert live.start(LiveConfig(protocol="resonance-assessment", participant="P01", source="sim:seed=3",
                                 library=live.library, speed=60.0))
    qtbot.waitUntil(lambda: live.phase_label.text() == "6.5 breaths a minute  ·  step 1 of 5 · 6.5 /min", timeout=60000)
    live.stop()
    qtbot.waitUntil(lambda: getattr(live, "summary_dialog", None) is not None, timeout=60000)
    dlg = live.summary_dialog
    qtbot.waitUntil(lambda: dlg.pick_label.text().startswith("No assessment:"), timeout=60000)
    assert "no completed assessment step" in dlg.pick_label.text()
    dlg.reject()
