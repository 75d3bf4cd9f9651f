"""The main window: screens as tabs (Live, Library, Replay, Compare), menus, shortcuts, remembered settings.

Menus: File (open session, import, quit), View (client view, full screen F11, theme, text size), Session (start,
pause/resume Space, stop, mark moment A), Tools (export, report, resonance assessment, participants: see
:mod:`biotrainer.gui.tools`), Help (safety notes, about). Settings (theme, text size, geometry, tones, last
protocol, participant and therapist, the last straps, the client view's screen, whether the safety notes were
confirmed) live in ``QSettings``.

The window opens at a size that fits the screen it is on (at most 1600×1000, at most 92 % of the available area),
and a remembered geometry larger than the screen (another monitor, another scaling) is shrunk to fit.
"""

from __future__ import annotations

import json
import logging
import time

from PyQt5.QtCore import QSettings, Qt, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QActionGroup,
    QApplication,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from biotrainer import __version__
from biotrainer.gui.live_screen import LiveScreen
from biotrainer.gui.safety import SafetyDialog
from biotrainer.gui.theme import apply_theme

log = logging.getLogger(__name__)

TEXT_SCALES = {"Normal": 1.0, "Large": 1.2, "Extra large": 1.45}


class MainWindow(QMainWindow):
    """The app window. Screens other than Live are created on first use."""

    first_painted = pyqtSignal(float)  # time.perf_counter() of the first paint

    def __init__(self, settings: QSettings, library: str | None = None, ble_backend: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.library = library
        self.setWindowTitle("biotrainer")
        self.theme = str(settings.value("theme", "dark"))
        self.text_scale = float(settings.value("text_scale", 1.0))
        self.palette_ = apply_theme(QApplication.instance(), self.theme, self.text_scale)
        self._painted = False
        self.first_paint_perf_s: float | None = None

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.live = LiveScreen(self.palette_, library=library, ble_backend=ble_backend)
        self.live.notice.connect(self.show_notice)
        self.live.before_start = self.confirm_safety_before_first_session
        self.live.session_saved.connect(self._on_session_saved)
        self.tabs.addTab(self.live, "Live session")
        self.library_screen: QWidget | None = None
        self.replay_screen: QWidget | None = None
        self.compare_screen: QWidget | None = None
        for title in ("Library", "Replay", "Compare"):
            self.tabs.addTab(QWidget(), title)
        self.tabs.currentChanged.connect(self._ensure_screen)
        from biotrainer.gui.tools import Tools

        self.tools = Tools(self)
        self._build_menus()
        self._restore()
        self.statusBar().showMessage("Ready")

    # --- first paint ----------------------------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_paint_perf_s = time.perf_counter()
            self.first_painted.emit(self.first_paint_perf_s)

    # --- screens ------------------------------------------------------------------------------------------------

    def _ensure_screen(self, index: int) -> QWidget:
        title = self.tabs.tabText(index)
        current = self.tabs.widget(index)
        screen: QWidget | None = None
        if title == "Library" and self.library_screen is None:
            from biotrainer.gui.library_screen import LibraryScreen

            screen = self.library_screen = LibraryScreen(self.palette_, library=self.library)
            self.library_screen.open_requested.connect(self.open_session)
            self.library_screen.notice.connect(self.show_notice)
        elif title == "Replay" and self.replay_screen is None:
            from biotrainer.gui.replay_screen import ReplayScreen

            screen = self.replay_screen = ReplayScreen(self.palette_, library=self.library)
            self.replay_screen.notice.connect(self.show_notice)
        elif title == "Compare" and self.compare_screen is None:
            from biotrainer.gui.compare_screen import CompareScreen

            screen = self.compare_screen = CompareScreen(self.palette_, library=self.library)
            self.compare_screen.notice.connect(self.show_notice)
        if screen is not None:
            blocked = self.tabs.blockSignals(True)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, screen, title)
            self.tabs.setCurrentIndex(index)
            self.tabs.blockSignals(blocked)
            current.deleteLater()
            return screen
        return current

    def show_screen(self, title: str) -> QWidget:
        """Switch to the tab called ``title`` (creating its screen) and return the screen."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == title:
                self.tabs.setCurrentIndex(i)
                return self._ensure_screen(i)
        raise KeyError(title)

    def open_session(self, ref: str) -> None:
        screen = self.show_screen("Replay")
        screen.open_session(ref)  # type: ignore[attr-defined]

    def _on_session_saved(self, ref: str) -> None:
        if self.library_screen is not None:
            self.library_screen.reload()  # type: ignore[attr-defined]

    # --- menus ----------------------------------------------------------------------------------------------

    def _action(self, menu, text: str, slot, shortcut: str | QKeySequence | None = None,  # noqa: ANN001
                checkable: bool = False) -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ApplicationShortcut)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        menu.addAction(act)
        self.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "Open session…", self._open_file, QKeySequence.Open)
        self._action(f, "Import recording…", self._import, "Ctrl+I")
        self._action(f, "Library", lambda: self.show_screen("Library"), "Ctrl+L")
        f.addSeparator()
        self._action(f, "Quit", self.close, QKeySequence.Quit)

        v = bar.addMenu("&View")
        self._action(v, "Client view", self.live.toggle_client_view, "Ctrl+K")
        self.fullscreen_action = self._action(v, "Full screen", self.toggle_full_screen, "F11", checkable=True)
        v.addSeparator()
        themes = QActionGroup(self)
        for name in ("dark", "light"):
            act = self._action(v, f"{name.capitalize()} theme", lambda _=False, n=name: self.set_theme(n),
                               checkable=True)
            act.setChecked(name == self.theme)
            themes.addAction(act)
        sizes = QActionGroup(self)
        tm = v.addMenu("Text size")
        for label, scale in TEXT_SCALES.items():
            act = self._action(tm, label, lambda _=False, s=scale: self.set_text_scale(s), checkable=True)
            act.setChecked(abs(scale - self.text_scale) < 1e-6)
            sizes.addAction(act)

        s = bar.addMenu("&Session")
        self._action(s, "Start", lambda: self.live.start(), "Ctrl+Return")
        self.pause_action = self._action(s, "Pause / resume", self.toggle_pause, "Space")
        self._action(s, "Stop", self.live.stop, "Ctrl+.")
        self._action(s, "Mark moment", lambda: self.live.annotate(ask_text=False), "A")
        self._action(s, "Mark moment with note…", lambda: self.live.annotate(ask_text=True), "Shift+A")
        from biotrainer.gui import mini_pacer  # the reset before a client, and the always-on-top pacer

        self._action(s, "Reset now (last strap)…", lambda: mini_pacer.start_reset(self), "Ctrl+R")
        self._action(v, "Mini pacer (always on top)", lambda: mini_pacer.toggle_mini_pacer(self), "Ctrl+M")
        from biotrainer.gui.breath_count import install  # Down/Right/Up while the breath counting task runs

        self.breath_count_keys = install(self.live)
        from biotrainer.gui.rhythm_bar import set_calm

        self.calm_action = self._action(v, "Calm mode (pacer and cues only)", lambda on: set_calm(self.live, on),
                                        "Ctrl+Shift+C", checkable=True)

        t = bar.addMenu("&Tools")
        self._action(t, "Export sessions…", lambda: self.tools.export(), "Ctrl+E")
        self._action(t, "Write report…", lambda: self.tools.report(), "Ctrl+R")
        self._action(t, "Resonance assessment…", lambda: self.tools.assess())
        self._action(t, "Participants…", lambda: self.tools.participants())

        h = bar.addMenu("&Help")
        self._action(h, "Safety notes", self.show_safety, "F1")
        self._action(h, "About biotrainer", self._about)

    # --- actions ------------------------------------------------------------------------------------------------

    def toggle_pause(self) -> None:
        """Space: play/pause the replay when the Replay tab is showing, else pause/resume the live session."""
        if self.replay_screen is not None and self.tabs.currentWidget() is self.replay_screen:
            self.replay_screen.toggle_play()  # type: ignore[attr-defined]
        else:
            self.live.toggle_pause()

    def show_notice(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def show_safety(self) -> None:
        SafetyDialog(self).exec_()

    def confirm_safety_before_first_session(self) -> bool:
        """Show the safety notes before the very first session; remembered once confirmed."""
        if self.settings.value("safety_confirmed", False, type=bool):
            return True
        ok = SafetyDialog(self, first_run=True).exec_() == SafetyDialog.Accepted
        if ok:
            self.settings.setValue("safety_confirmed", True)
            self.live.show_first_run(False)
        return ok

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.fullscreen_action.setChecked(self.isFullScreen())

    def set_theme(self, name: str) -> None:
        self.theme = name
        self.settings.setValue("theme", name)
        self.palette_ = apply_theme(QApplication.instance(), name, self.text_scale)
        for screen in (self.live, self.replay_screen, self.compare_screen):
            if screen is not None:
                screen.set_palette(self.palette_)  # the plots recolour at once
        self.show_notice(f"{name.capitalize()} theme")

    def set_text_scale(self, scale: float) -> None:
        self.text_scale = scale
        self.settings.setValue("text_scale", scale)
        self.palette_ = apply_theme(QApplication.instance(), self.theme, scale)

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "biotrainer sessions (*.sqlite)")
        if path:
            self.open_session(path)

    def _import(self) -> None:
        screen = self.show_screen("Library")
        screen.import_dialog()  # type: ignore[attr-defined]

    def _about(self) -> None:
        QMessageBox.about(self, "About biotrainer",
                          f"<b>biotrainer {__version__}</b><br>Breath practice with physiological feedback.<br>"
                          "A practice and research tool, not a medical device.")

    # --- settings -----------------------------------------------------------------------------------------------

    def fit_to_screen(self) -> None:
        """Size and place the window inside the available area of its screen."""
        screen = self.screen() if hasattr(self, "screen") else None
        avail = (screen or QApplication.primaryScreen()).availableGeometry()
        w = min(self.width(), avail.width()) if self.width() > 0 else avail.width()
        h = min(self.height(), avail.height())
        self.resize(w, h)
        x = min(max(self.x(), avail.x()), avail.right() - w + 1)
        y = min(max(self.y(), avail.y()), avail.bottom() - h + 1)
        self.move(x, y)

    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        avail = QApplication.primaryScreen().availableGeometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(min(1600, int(avail.width() * 0.92)) if avail.width() > 1100 else avail.width(),
                        min(1000, int(avail.height() * 0.92)) if avail.height() > 800 else avail.height())
            self.move(avail.x() + (avail.width() - self.width()) // 2,
                      avail.y() + (avail.height() - self.height()) // 2)
        self.fit_to_screen()
        self.live.show_first_run(not self.settings.value("safety_confirmed", False, type=bool))
        try:
            straps = json.loads(str(self.settings.value("straps", "{}")))
        except ValueError:
            straps = {}
        if isinstance(straps, dict):
            self.live.restore_straps(straps)
        self.live.client_screen_name = str(self.settings.value("client_screen", ""))
        self.live.tones_box.setChecked(self.settings.value("tones", False, type=bool))
        self.live.volume_slider.setValue(int(self.settings.value("volume", 40)))
        participant = self.settings.value("participant", "")
        if participant:
            self.live.participant_box.setCurrentText(str(participant))
        therapist = self.settings.value("therapist", "")
        if therapist:
            self.live.therapist_box.setCurrentText(str(therapist))

    def save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("tones", self.live.tones_box.isChecked())
        self.settings.setValue("volume", self.live.volume_slider.value())
        self.settings.setValue("participant", self.live.participant_box.currentText())
        self.settings.setValue("therapist", self.live.therapist_box.currentText())
        self.settings.setValue("protocol", self.live.selected_protocol())
        straps = self.live.remembered_straps()
        if straps:
            self.settings.setValue("straps", json.dumps(straps))
        if self.live.client_screen_name:
            self.settings.setValue("client_screen", self.live.client_screen_name)
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        self.save_settings()
        self.live.shutdown()
        for screen in (self.replay_screen,):
            if screen is not None:
                screen.shutdown()  # type: ignore[attr-defined]
        super().closeEvent(event)
