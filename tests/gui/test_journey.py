"""The Journey view: calendar, one plot per metric with the robust slope in words, choosers, and the library hook."""

from __future__ import annotations

import pytest

from tests.analysis.journey_helpers import rr_session


@pytest.fixture
def journey_library(library_dir):
    from biotrainer.exchange.library import save_session
    from biotrainer.store import Library

    lib = Library(library_dir)
    for i, day in enumerate([0.0, 4.0, 9.0, 15.0, 22.0]):
        save_session(lib, rr_session(f"r{i}", day, 64.0 - 1.0 * day / 7.0, seed=i,
                                     self_report={"calm": 5 + i, "present": 7}, intention="stay with the out-breath"
                                     if i == 4 else ""))
    save_session(lib, rr_session("b0", 23.0, 60.0, seed=9, protocol="box-breathing"))
    return library_dir


def _shown(qtbot, screen):
    with qtbot.waitSignal(screen.journey_ready, timeout=30000):
        pass
    return screen.result


def test_journey_view_plots_each_metric_with_its_slope_and_the_calendar(qtbot, journey_library):
    from biotrainer.gui.journey_screen import JourneyScreen

    screen = JourneyScreen(library=journey_library)
    qtbot.addWidget(screen)
    result = screen.result or _shown(qtbot, screen)
    assert screen.error == "" and result["protocol"] == "reset" and result["phase"] == "paced"
    assert screen.protocol.itemText(0) == "reset" and screen.protocol.count() == 2
    assert [screen.phase.itemText(i) for i in range(screen.phase.count())] == ["settle", "paced"]
    assert list(screen.plots) == ["breathing.rate_per_min", "hrv.hr_bpm", "hrv.ln_rmssd", "rsa.p2t_ms",
                                  "coherence.ratio", "self_report.calm", "self_report.present"]
    hr = screen.plots["hrv.hr_bpm"]
    assert hr.title.text() == "Heart rate (bpm)"
    assert hr.words.text().startswith("-1.0") and hr.words.text().endswith("falling")
    assert "Mean heart rate over the window" in hr.toolTip()
    assert len(hr.plot.getPlotItem().listDataItems()) == 2  # the sessions and the dashed slope
    assert screen.calendar.days["2026-03-02"]["resets"] == 1 and len(screen.calendar.days) == 6
    assert "practised on 6 days (6 sessions, 5 resets" in screen.summary.text()
    assert "stay with the out-breath" in screen.summary.text()
    screen.show()
    screen.grab().save(str(journey_library) + "/../journey.png")


def test_journey_view_says_not_enough_sessions_yet_for_one_session(qtbot, journey_library):
    from biotrainer.gui.journey_screen import JourneyScreen

    screen = JourneyScreen(library=journey_library)
    qtbot.addWidget(screen)
    screen.result or _shown(qtbot, screen)
    with qtbot.waitSignal(screen.journey_ready, timeout=30000):
        screen.protocol.setCurrentText("box-breathing")
    assert screen.result["protocol"] == "box-breathing"
    words = screen.plots["hrv.hr_bpm"].words.text()
    assert words.startswith("not enough sessions yet (1 session;")
    assert len(screen.plots["hrv.hr_bpm"].plot.getPlotItem().listDataItems()) == 1  # no slope line
    with qtbot.waitSignal(screen.journey_ready, timeout=30000):
        screen.protocol.setCurrentText("reset")
    screen.phase.setCurrentText("settle")
    with qtbot.waitSignal(screen.journey_ready, timeout=30000):
        screen.phase.activated.emit(0)
    assert screen.result["phase"] == "settle"


def test_library_opens_the_journey_of_the_chosen_participant(qtbot, journey_library):
    from biotrainer.gui.library_screen import LibraryScreen

    lib = LibraryScreen(library=journey_library)
    qtbot.addWidget(lib)
    lib.participants.setCurrentRow(1)
    assert lib.participants.currentItem().text() == "P01"
    lib.buttons["Journey…"].click()
    qtbot.addWidget(lib.journey)
    assert lib.journey.participant.currentText() == "P01" and lib.journey.isVisible()
    _shown(qtbot, lib.journey)
    assert lib.journey.result["participant"] == "P01"


def test_live_tiles_say_what_each_number_means(qtbot):
    from biotrainer.gui.metric_tiles import MetricTiles
    from biotrainer.gui.model import SessionModel
    from biotrainer.metrics.catalogue import CATALOGUE

    tiles = MetricTiles(SessionModel())
    qtbot.addWidget(tiles)
    assert tiles.tiles["ln_rmssd"].toolTip() == f"lnRMSSD (ln(ms)): {CATALOGUE['hrv.ln_rmssd'].description}"
    assert "within-person index" in tiles.tiles["rsa_p2t_ms"].toolTip()
    assert all(t.toolTip() for t in tiles.tiles.values())
