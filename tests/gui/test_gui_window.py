"""Main window: safety notes before the first session, shortcuts, remembered settings; tones without audio."""

from __future__ import annotations

import pytest
from PyQt5.QtCore import QSettings, Qt
from PyQt5.QtWidgets import QApplication

WAIT_MS = 30_000


@pytest.fixture
def window(qtbot, tmp_path, library_dir):
    from biotrainer.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(settings, library=library_dir)
    qtbot.addWidget(w)
    w.live.speed = 20.0
    w.show()
    yield w
    w.live.shutdown()


def test_the_safety_notes_come_before_the_first_session_only(window, qtbot, monkeypatch):
    from biotrainer.gui.safety import SAFETY_HTML, SafetyDialog

    assert "not a medical device" in SAFETY_HTML and "atrial fibrillation" in SAFETY_HTML
    assert "beta-blockers" in SAFETY_HTML and "dizzy" in SAFETY_HTML
    shown = []
    monkeypatch.setattr(SafetyDialog, "exec_", lambda self: shown.append(1) or SafetyDialog.Rejected)
    assert not window.live.start()  # declined: no session
    assert not window.live.controller.running and len(shown) == 1
    monkeypatch.setattr(SafetyDialog, "exec_", lambda self: shown.append(1) or SafetyDialog.Accepted)
    assert window.live.start()
    assert window.settings.value("safety_confirmed", type=bool)
    window.live.stop()
    qtbot.waitUntil(lambda: not window.live.controller.running, timeout=WAIT_MS)
    assert window.live.start()  # second session: no dialog any more
    assert len(shown) == 2
    window.live.stop()
    qtbot.waitUntil(lambda: not window.live.controller.running, timeout=WAIT_MS)


def test_space_pauses_and_a_marks_a_moment(window, qtbot):
    window.settings.setValue("safety_confirmed", True)
    assert window.live.start()
    qtbot.waitUntil(lambda: window.live.model.state == "running", timeout=WAIT_MS)
    QApplication.setActiveWindow(window)  # shortcuts go to the active window (offscreen: set it explicitly)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key_A)
    qtbot.waitUntil(lambda: len(window.live.model.annotations) == 1, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key_Space)
    qtbot.waitUntil(lambda: window.live.model.state == "paused", timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key_Space)
    qtbot.waitUntil(lambda: window.live.model.state == "running", timeout=WAIT_MS)
    window.live.stop()
    qtbot.waitUntil(lambda: window.live.model.state == "stopped", timeout=WAIT_MS)


def test_theme_text_size_and_choices_are_remembered(window, qtbot, tmp_path, library_dir):
    from biotrainer.gui.main_window import MainWindow

    window.set_theme("light")
    window.set_text_scale(1.2)
    window.live.participant_box.setCurrentText("P11")
    window.live.volume_slider.setValue(70)
    window.close()
    again = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat), library=library_dir)
    qtbot.addWidget(again)
    assert again.theme == "light" and again.palette_.name == "light"
    assert again.text_scale == pytest.approx(1.2)
    assert again.live.participant_box.currentText() == "P11"
    assert again.live.volume_slider.value() == 70


def test_a_full_disk_shows_in_the_banner_and_no_event_is_lost(window, qtbot):
    import sqlite3

    from biotrainer.store import Library

    class FullDisk:
        """Stands in for the writer's SQLite connection while the disk is "full"."""

        def __getattr__(self, name):
            def fail(*args, **kwargs):
                exc = sqlite3.OperationalError("database or disk is full")
                exc.sqlite_errorcode = sqlite3.SQLITE_FULL
                raise exc
            return fail

    window.settings.setValue("safety_confirmed", True)
    assert window.live.start()
    qtbot.waitUntil(lambda: window.live.controller.parts is not None, timeout=WAIT_MS)
    writer = window.live.controller.parts.writer
    qtbot.waitUntil(lambda: writer.events_written > 0, timeout=WAIT_MS)
    with writer._lock:
        real, writer._conn = writer._conn, FullDisk()
    qtbot.waitUntil(lambda: window.live.banner.isVisible() and "disk is full" in window.live.banner.text(),
                    timeout=WAIT_MS)
    assert window.live.controller.running and writer.pending_events > 0
    with writer._lock:  # space freed: the buffered events are written with the next commit
        writer._conn = real
    window.live.stop()
    qtbot.waitUntil(lambda: not window.live.controller.running, timeout=WAIT_MS)
    (summary,) = Library(window.library).list_sessions()
    assert summary.complete and summary.n_beats == window.live.model.counts.beats


def test_tones_without_audio_output_say_so_once_and_stay_silent(monkeypatch):
    import builtins

    from biotrainer.gui.audio import TonePlayer, tone_samples

    real_import = builtins.__import__

    def no_multimedia(name, *args, **kwargs):
        if name.startswith("PyQt5.QtMultimedia"):
            raise ImportError("libpulse-mainloop-glib.so.0: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_multimedia)
    notices = []
    player = TonePlayer(on_notice=notices.append, enabled=True)
    for breath in range(3):
        for segment in ("inhale", "hold_in", "exhale", "hold_out"):
            player.on_segment(breath, segment)
    assert player.available is False and player.played == 0
    assert len(notices) == 1 and notices[0].startswith("No audio output")
    samples = tone_samples(330.0, 440.0)
    assert abs(int(samples[0])) < 50 and abs(int(samples[-1])) < 50  # faded in and out: no clicks
    assert samples.max() > 10_000


def test_a_theme_change_recolours_the_plots_at_once(window, qtbot):
    from biotrainer.gui.theme import DARK, LIGHT

    window.show_screen("Replay")
    window.show_screen("Compare")
    window.show_screen("Live session")
    live, replay, compare = window.live.plots, window.replay_screen.plots, window.compare_screen
    assert live.hr_curve.opts["pen"].color().name().upper() == DARK.hr.upper()
    window.set_theme("light")
    for plots in (live, replay):
        assert plots.backgroundBrush().color().name() == LIGHT.plot_bg
        assert plots.hr_curve.opts["pen"].color().name().upper() == LIGHT.hr.upper()
        assert plots.breathing_curve.opts["pen"].color().name().upper() == LIGHT.breathing.upper()
        assert plots.hr_other_curve.opts["pen"].color().name().upper() == LIGHT.hr_other.upper()
        assert f"color:{LIGHT.muted}" in plots.plots["rr"].titleLabel.text
    assert compare.plots.backgroundBrush().color().name() == LIGHT.plot_bg
    assert f"color:{LIGHT.muted}" in compare.hr_plot.titleLabel.text
    assert window.replay_screen.pacer.palette_ is LIGHT and window.replay_screen.timeline.palette_ is LIGHT
    window.set_theme("dark")
    assert live.hr_curve.opts["pen"].color().name().upper() == DARK.hr.upper()
    assert replay.backgroundBrush().color().name() == DARK.plot_bg
