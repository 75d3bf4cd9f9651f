"""The reset before a client in one step (Session ▸ Reset now, Ctrl+R) with the last strap, and the always-on-top
mini pacer that follows it."""

from __future__ import annotations

import pytest
from PyQt5.QtCore import QSettings, Qt

WAIT_MS = 60_000


@pytest.fixture
def window(qtbot, tmp_path, library_dir):
    from biotrainer.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    settings.setValue("safety_confirmed", True)
    w = MainWindow(settings, library=library_dir)
    qtbot.addWidget(w)
    w.live.speed = 60.0
    w.live.summary_on_end = False
    w.show()
    yield w
    w.live.shutdown()


@pytest.mark.slow
def test_reset_now_uses_the_last_strap_tags_the_label_and_shows_the_mini_pacer(window, qtbot, library_dir):
    from biotrainer.cli import main
    from biotrainer.gui.mini_pacer import start_reset
    from biotrainer.store import Library

    assert main(["record", "--device", "sim:hr=72", "--participant", "T1", "--duration", "15", "--speed", "max",
                 "--quiet", "--library", library_dir]) == 0
    assert "Reset now (last strap)…" in [a.text() for a in window.actions()]
    assert next(a for a in window.actions() if a.text().startswith("Reset now")).shortcut().toString() == "Ctrl+R"
    finished = []
    window.live.controller.finished.connect(lambda reason, saved: finished.append(saved))
    assert start_reset(window, before="C07")
    mini = window.mini_pacer
    assert mini.isVisible() and mini.windowFlags() & Qt.WindowStaysOnTopHint
    qtbot.waitUntil(lambda: mini.phase_label.text() == "Paced", timeout=WAIT_MS)
    assert mini.pacer.point is not None and mini.time_label.text().count(":") == 1
    mini.grab().save(str(library_dir) + "/../mini_pacer.png")
    assert not start_reset(window, before="again")  # one session at a time
    qtbot.waitUntil(lambda: bool(finished), timeout=WAIT_MS)
    # (both sessions may start within one second: their ids then sort by their random part, so look up by id)
    def reset_session():  # noqa: ANN202
        return next(x for x in Library(library_dir).list_sessions() if x.id == finished[0])

    qtbot.waitUntil(lambda: reset_session().title == "Reset before C07", timeout=WAIT_MS)
    s = reset_session()
    assert s.protocol == "reset" and s.participants == {"self": "T1"}
    with Library(library_dir).open(s.id) as reader:
        assert reader.meta.devices[0]["spec"] == "sim:hr=72"
    mini.tick()
    assert mini.phase_label.text() == "Session ended" and not mini.stop_button.isEnabled()


@pytest.mark.slow
def test_breath_counting_keys_are_recorded_and_scored(window, qtbot, library_dir):
    from biotrainer.analysis.breath_counting import AUTHOR, presses_of, score_session
    from biotrainer.exchange.library import load_session
    from biotrainer.gui.controller import LiveConfig
    from biotrainer.store import Library

    keys = window.breath_count_keys
    assert not keys.active()
    qtbot.keyClick(window, Qt.Key_Down)  # not running: the key is not a press
    assert keys.presses == 0
    assert window.live.start(LiveConfig(protocol="breath-counting", participant="P02", source="sim:seed=4",
                                        library=library_dir, speed=20.0))
    qtbot.waitUntil(lambda: window.live.controller.parts is not None and window.live.model.counts.beats > 3,
                    timeout=WAIT_MS)
    assert keys.active()
    for key in [Qt.Key_Down] * 8 + [Qt.Key_Right] + [Qt.Key_Down] * 2 + [Qt.Key_Up]:
        qtbot.keyClick(window, key)
    assert keys.presses == 12
    finished = []
    window.live.controller.finished.connect(lambda reason, saved: finished.append(saved))
    window.live.stop()
    qtbot.waitUntil(lambda: bool(finished), timeout=WAIT_MS)
    session = load_session(Library(library_dir), finished[0])
    presses = presses_of(session.events)
    assert [k for _, k in presses] == ["count"] * 8 + ["nine", "count", "count", "reset"]
    assert all(e.author == AUTHOR for e in session.events if e.KIND == "annotation")
    score = score_session(session.events)
    assert (score["correct"], score["miscounts"], score["resets"]) == (1, 0, 1)


@pytest.mark.slow
def test_rhythm_bar_follows_the_paced_phase_and_calm_mode_hides_the_numbers(window, qtbot):
    from biotrainer.gui.controller import LiveConfig

    live = window.live
    bar = live.rhythm_bar
    assert bar.level is None and bar.word.text() == "—" and "not a score" in bar.toolTip()
    assert live.start(LiveConfig(protocol="reset", participant="P01", source="sim:seed=3", library=live.library,
                                 speed=20.0))
    # the breathing-rate window still holds the settle phase's breaths at first: low, then up as it fills
    qtbot.waitUntil(lambda: live.model.phase.paced and bar.level in ("medium", "high"), timeout=WAIT_MS)
    assert bar.word.text() == bar.level and bar.segments.level == bar.level
    window.calm_action.trigger()
    assert live.calm and not live.tiles.isVisible() and not live.plots.isVisible() and not bar.isVisible()
    assert live.pacer.isVisible() and live.cue_label.isVisible() and not live.setup_panel.isVisible()
    window.calm_action.trigger()
    assert not live.calm and live.tiles.isVisible() and bar.isVisible()
    live.stop()
    qtbot.waitUntil(lambda: not live.controller.running, timeout=WAIT_MS)
