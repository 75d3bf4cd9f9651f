"""The window for real use: it fits small screens, remembers straps, says SIMULATED, speaks plain words, keeps its
axes calm, uses phase titles and a palette that survives deuteranopia."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "screenshots"))
from deuteranopia import hex_rgb, simulate  # noqa: E402


def _window(qtbot, settings, library_dir, size):
    from biotrainer.gui.app import _fill_pickers
    from biotrainer.gui.main_window import MainWindow

    w = MainWindow(settings, library=library_dir)
    qtbot.addWidget(w)
    _fill_pickers(w)
    w.resize(*size)
    w.show()
    return w


@pytest.mark.parametrize("size", [(853, 480), (1366, 768)])  # 1280×720 at 150 % is 853×480 logical pixels
def test_every_screen_fits_the_screen_without_growing_the_window(qtbot, settings, library_dir, size):
    w = _window(qtbot, settings, library_dir, size)
    for title in ("Live session", "Library", "Replay", "Compare"):
        w.show_screen(title)
        qtbot.wait(20)
        assert (w.width(), w.height()) == size, title
    w.live._set_people(True)  # therapist and client: the wider setup panel
    qtbot.wait(20)
    assert (w.width(), w.height()) == size


def test_a_window_remembered_on_a_bigger_screen_opens_inside_this_one(qtbot, settings, library_dir):
    from PyQt5.QtWidgets import QApplication

    avail = QApplication.primaryScreen().availableGeometry()
    w = _window(qtbot, settings, library_dir, (3000, 2000))
    w.fit_to_screen()
    assert w.width() <= avail.width() and w.height() <= avail.height()


def test_plots_fold_into_tabs_when_narrow_or_short(qtbot):
    from biotrainer.gui.model import SessionModel
    from biotrainer.gui.plots import SessionPlots

    plots = SessionPlots(SessionModel())
    qtbot.addWidget(plots)
    plots.show()
    plots.resize(900, 600)
    qtbot.wait(10)
    assert not plots.compact and plots.group_bar.isHidden()
    plots.resize(500, 600)
    qtbot.wait(10)
    assert plots.compact and [plots.group_bar.tabText(i) for i in range(plots.group_bar.count())] == [
        "Heart rate · RR · Breathing", "RSA · lnRMSSD · Coherence"]
    shown = {k for k, p in plots.plots.items() if p.scene() is not None}
    assert shown == {"hr", "rr", "breathing"}
    plots.group_bar.setCurrentIndex(1)
    assert {k for k, p in plots.plots.items() if p.scene() is not None} == {"rsa", "ln_rmssd", "coherence"}
    plots.resize(500, 250)
    qtbot.wait(10)
    assert plots.group_bar.count() == 6


def test_y_axes_start_physiological_and_only_widen(qtbot):
    from biotrainer.core.events import HeartRate, SessionState
    from biotrainer.gui.model import SessionModel
    from biotrainer.gui.plots import Y_RANGES, SessionPlots

    m = SessionModel(participant="self")
    plots = SessionPlots(m)
    qtbot.addWidget(plots)
    m.apply(SessionState(t_s=0.0, participant="session", state="start"))
    for t in range(30):  # a 0.1-bpm wobble must not fill the plot
        m.apply(HeartRate(t_s=float(t), hr_bpm=70 + (t % 2)))
    plots.redraw()
    assert plots.plots["hr"].getViewBox().viewRange()[1] == pytest.approx(list(Y_RANGES["hr"]))
    m.apply(HeartRate(t_s=31.0, hr_bpm=120))
    plots.redraw()
    lo, hi = plots.plots["hr"].getViewBox().viewRange()[1]
    assert lo == pytest.approx(50.0) and hi == pytest.approx(120 + 0.1 * 50)
    for t in range(32, 60):
        m.apply(HeartRate(t_s=float(t), hr_bpm=70))
    plots.redraw()  # the 120 bpm is out of the window now: the range does not shrink back
    assert plots.plots["hr"].getViewBox().viewRange()[1][1] == pytest.approx(125.0)
    m.apply(HeartRate(t_s=61.0, hr_bpm=0))  # "no heart rate" is a gap, never a fall to 0 bpm
    plots.redraw()
    assert np.isnan(plots.hr_curve.getData()[1][-1])
    assert plots.plots["hr"].getViewBox().viewRange()[1][0] == pytest.approx(50.0)


def test_phase_titles_and_time_left_words():
    from biotrainer.gui.live_screen import load_phase_titles, time_left_text

    titles = load_phase_titles("reset")
    assert titles["paced"] == "Slow breathing" and titles["door"] == "Before you open the door"
    assert time_left_text(30, 60) == "0:30 left  ·  session 1:00 left"
    assert time_left_text(None, 60) == "session 1:00 left"


def test_the_live_screen_says_simulated_and_shows_phase_titles(qtbot, live):
    from biotrainer.gui.controller import LiveConfig

    assert live.start(LiveConfig(protocol="reset", source="sim", library=live.library, record=False,
                                 virtual=True))
    assert live.simulated and live.simulated_badge.isVisibleTo(live)
    assert live.simulated_badge.text().startswith("SIMULATED")
    qtbot.waitUntil(lambda: not live.controller.running, timeout=60_000)
    live.tick()
    assert live.model.phase_titles["paced"] == "Slow breathing"
    assert live.model.phase_display("door") == "Before you open the door"


def test_the_last_straps_are_remembered_and_preselected(qtbot, settings, library_dir):
    w = _window(qtbot, settings, library_dir, (1366, 768))
    w.live._on_scan_done([("AA:01", "Polar H10 1  AA:01"), ("BB:02", "Polar H10 2  BB:02")], "")
    w.live._set_people(True)
    w.live.device_list.setCurrentRow(2)
    w.live.client_device_box.setCurrentIndex(1)
    w.save_settings()
    assert json.loads(settings.value("straps")) == {"therapist": ["BB:02", "Polar H10 2  BB:02"],
                                                   "client": ["AA:01", "Polar H10 1  AA:01"]}
    again = _window(qtbot, settings, library_dir, (1366, 768))
    again.live._set_people(True)
    assert again.live.selected_source() == "BB:02"  # Start connects to it, no scan needed
    assert again.live.selected_client_source() == "AA:01"
    assert "Last used: Polar H10 2, Polar H10 1" in again.live.remembered_label.text()


def test_scan_problems_are_said_in_plain_words_with_what_to_do():
    from biotrainer.core.errors import DeviceError, DeviceErrorReason
    from biotrainer.gui.controller import SCAN_FAILED, scan_words

    off = scan_words(DeviceError("org.bluez.Error.NotReady: BlueZ adapter hci0 is powered off (D-Bus)",
                                 DeviceErrorReason.ADAPTER_OFF))
    assert off == "Bluetooth is turned off. Turn it on in the system settings, then press Scan again."
    for reason in DeviceErrorReason:
        words = scan_words(DeviceError("x", reason))
        assert "press Scan again" in words
        assert not any(dev in words for dev in ("0x180D", "D-Bus", "BlueZ", "GATT", "bleak"))
    assert scan_words(RuntimeError("weird")) == SCAN_FAILED


def test_the_client_view_explains_the_halo_and_says_when_the_session_is_complete(qtbot):
    from biotrainer.core.events import PhaseMarker, SessionState
    from biotrainer.gui.client_view import COMPLETE_TEXT, HALO_TEXT, ClientWindow
    from biotrainer.gui.model import SessionModel

    m = SessionModel(participant="self")
    m.phase_titles = {"paced": "Slow breathing"}
    win = ClientWindow(m)
    qtbot.addWidget(win)
    win.show()
    m.apply(SessionState(t_s=0.0, participant="session", state="start"))
    m.apply(PhaseMarker(t_s=0.0, participant="session", name="paced", index=0, state="start", duration_s=60,
                        paced=True, rate_per_min=6.0))
    win.refresh()
    assert win.phase.text() == "Slow breathing"
    assert win.halo_note.isVisible() and win.halo_note.text() == HALO_TEXT
    m.apply(SessionState(t_s=60.0, participant="session", state="stop"))
    win.refresh()
    assert win.cue.text() == COMPLETE_TEXT and not win.halo_note.isVisible()


def test_series_colours_stay_apart_under_deuteranopia_and_differ_in_line_style():
    from biotrainer.gui.compare_screen import SERIES_COLOURS, SERIES_STYLES
    from biotrainer.gui.theme import DARK, LIGHT

    sim = [simulate(hex_rgb(c)) for c in SERIES_COLOURS[:5]]
    worst = min(np.linalg.norm(a - b) for a, b in itertools.combinations(sim, 2))
    assert worst > 45  # the old palette had two pairs at 18 and 24 (0-255 RGB distance)
    old = [simulate(hex_rgb(c)) for c in ("#f08a7e", "#d2b27a")]
    assert np.linalg.norm(old[0] - old[1]) < 20  # the pair the review saw as identical
    assert len(set(SERIES_STYLES)) == 5
    for p in (DARK, LIGHT):  # the curves that share a plot
        for a, b in ((p.hr, p.pacer_curve), (p.breathing, p.pacer_curve), (p.rr, p.artifact)):
            assert np.linalg.norm(simulate(hex_rgb(a)) - simulate(hex_rgb(b))) > 45, (p.name, a, b)


@pytest.mark.slow
def test_a_deuteranopia_simulated_screenshot_still_shows_every_compare_series(qtbot, tmp_path):
    """Five overlaid sessions drawn, grabbed, simulated: every series' simulated colour is present, apart."""
    from PyQt5.QtGui import QImage

    from biotrainer.gui.compare_screen import SERIES_COLOURS, CompareScreen

    screen = CompareScreen(library=str(tmp_path / "lib"))
    qtbot.addWidget(screen)
    screen.resize(1200, 800)
    screen.show()
    t = np.arange(0, 60, 1.0)
    screen._plot_series([(f"S{i}", t, 900 + 40 * i + 30 * np.sin(t / 5 + i)) for i in range(5)])
    qtbot.wait(50)
    img = screen.plots.grab().toImage().convertToFormat(QImage.Format_RGB888)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    ptr = img.bits()
    ptr.setsize(h * stride)
    a = np.frombuffer(ptr, np.uint8).reshape(h, stride)[:, :w * 3].reshape(-1, 3)
    seen = simulate(a)
    for colour in SERIES_COLOURS[:5]:
        target = simulate(hex_rgb(colour))
        assert (np.linalg.norm(seen - target, axis=1) < 10).sum() > 100, colour


def test_without_a_pacer_the_disc_follows_the_persons_own_breathing(qtbot):
    """RR shortens as one breathes in (RSA): at the shortest RR the lungs are full, at the longest empty."""
    from biotrainer.core.events import Beat, SessionState
    from biotrainer.gui.model import SessionModel
    from biotrainer.gui.pacer_widget import PacerWidget

    def model_until(end_s: float) -> SessionModel:
        m = SessionModel(participant="self")
        m.apply(SessionState(t_s=0.0, participant="session", state="start"))
        t = 0.0
        while t < end_s:
            rr = 900 - 80 * np.sin(2 * np.pi * 0.1 * t)  # 6 breaths a minute, shortest RR at t = 2.5 + 10 k
            t += rr / 1000
            m.apply(Beat(t_s=t, beat_t_s=t, rr_1024=int(round(rr * 1.024))))
        return m

    full = model_until(42.5).own_breath()
    empty = model_until(47.5).own_breath()
    assert full is not None and empty is not None
    assert full > 0.8 and empty < 0.2
    flat = SessionModel(participant="self")
    for k in range(40):
        flat.apply(Beat(t_s=k * 0.9, beat_t_s=k * 0.9, rr_1024=922))
    assert flat.own_breath() is None  # no rhythm to follow: the quiet disc
    w = PacerWidget()
    qtbot.addWidget(w)
    w.set_own_breath(full)
    assert w.label() == "Your own breathing"


def test_the_first_run_safety_dialog_says_why_start_is_disabled(qtbot):
    from PyQt5.QtWidgets import QDialogButtonBox

    from biotrainer.gui.safety import START_HINT, SafetyDialog

    dlg = SafetyDialog(first_run=True)
    qtbot.addWidget(dlg)
    dlg.show()
    ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok)
    assert not ok.isEnabled() and dlg.hint.isVisible() and dlg.hint.text() == START_HINT
    dlg.confirm.setChecked(True)
    assert ok.isEnabled() and not dlg.hint.isVisible()


def test_the_client_view_opens_on_its_remembered_screen_and_is_remembered(qtbot, settings, library_dir):
    from PyQt5.QtWidgets import QApplication

    w = _window(qtbot, settings, library_dir, (1366, 768))
    screen = QApplication.primaryScreen()
    w.live.client_screen_name = "a monitor that is gone"  # falls back to another screen, here the only one
    w.live.toggle_client_view()
    win = w.live.client_window
    assert win.isVisible() and not win.isFullScreen()  # one screen: a window that fits it, not full screen
    avail = screen.availableGeometry()
    assert win.width() <= avail.width() and win.height() <= avail.height()
    assert w.live.client_screen_name == screen.name()
    w.save_settings()
    assert str(settings.value("client_screen", "")) == screen.name()
    w.live.toggle_client_view()
    assert not win.isVisible()


def test_space_plays_the_replay_when_the_replay_tab_shows(qtbot, settings, library_dir):
    w = _window(qtbot, settings, library_dir, (1366, 768))
    replay = w.show_screen("Replay")
    calls = []
    replay.toggle_play = lambda: calls.append("replay")  # type: ignore[method-assign]
    w.live.toggle_pause = lambda: calls.append("live")  # type: ignore[method-assign]
    w.toggle_pause()
    w.show_screen("Live session")
    w.toggle_pause()
    assert calls == ["replay", "live"]


def test_a_scan_problem_leaves_the_banner_once_a_scan_finds_straps(live):
    from biotrainer.gui.controller import NO_STRAP_FOUND

    live._on_scan_done([], NO_STRAP_FOUND)
    assert live.banner.isVisible() and live.banner.text() == NO_STRAP_FOUND
    live._on_scan_done([("AA:01", "Polar H10 1  AA:01")], "")
    assert not live.banner.isVisible()
    assert live.selected_source() == "AA:01"


def test_the_banner_is_clicked_away(qtbot, live):
    from PyQt5.QtCore import Qt

    live._show_problem("Strap lost")
    assert live.banner.isVisible()
    qtbot.mouseClick(live.banner, Qt.LeftButton)
    assert not live.banner.isVisible()
