"""The live session screen: device and session pickers, the pacer, phase/cue/time left, metric tiles, live plots.

A view: it reads a :class:`~biotrainer.gui.model.SessionModel` on a 25 Hz timer and forwards button presses to a
:class:`~biotrainer.gui.controller.LiveController`. The timer only runs while a session runs (or a client view is
open), so an idle window costs nothing.
"""

from __future__ import annotations

import logging
from typing import Final

from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from biotrainer.gui.audio import TonePlayer
from biotrainer.gui.client_view import ClientWindow
from biotrainer.gui.controller import LiveConfig, LiveController
from biotrainer.gui.metric_tiles import MetricTiles
from biotrainer.gui.model import SessionModel
from biotrainer.gui.pacer_widget import PacerWidget
from biotrainer.gui.plots import SessionPlots
from biotrainer.gui.theme import DARK, Palette

log = logging.getLogger(__name__)

REDRAW_HZ: Final = 25  # pacer, labels, client view
PLOT_EVERY_FRAMES: Final = 5  # plots at 5 Hz: at a 180-s window one frame scrolls them by about half a pixel
SIMULATED = "Simulated strap"


def phase_title(m: SessionModel) -> str:
    """The phase line: the running phase (``· paused`` while paused), else the session's state."""
    if not m.phase.active:
        return "Session ended" if m.state == "stopped" else ("Paused" if m.state == "paused" else "Ready")
    phase = m.phase.name.replace("_", " ").capitalize()
    return phase + " · paused" if m.state == "paused" else phase


def format_clock(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a duration; ``""`` for None."""
    if seconds is None:
        return ""
    s = int(round(max(0.0, seconds)))
    h, rem = divmod(s, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"


class LiveScreen(QWidget):
    """The screen a therapist runs a session from."""

    notice = pyqtSignal(str)  # one-line messages for the status bar
    session_saved = pyqtSignal(str)  # session id or path, when a recorded session ends

    def __init__(self, palette: Palette = DARK, library: str | None = None, ble_backend: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library = library
        self.ble_backend = ble_backend
        self.model = SessionModel()
        self.controller = LiveController(self.model, self)
        self.controller.finished.connect(self._on_finished)
        self.controller.problem.connect(self._show_problem)
        self.controller.scan_done.connect(self._on_scan_done)
        self.tones = TonePlayer(on_notice=self._tone_notice)
        self.client_window: ClientWindow | None = None
        self.speed = 1.0  # session clock speed (tests and demos run faster)
        self.before_start = None  # callable -> bool (safety notes before the first session)
        self._frames = 0
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REDRAW_HZ))
        self.timer.timeout.connect(self.tick)
        self.model.state_changed.connect(self._on_state)
        self._sync_buttons()

    # --- layout -------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(12, 8, 12, 12)
        root.setSpacing(12)
        root.addWidget(self._build_setup_panel())
        root.addWidget(self._build_pacer_column())
        right = QVBoxLayout()
        right.setSpacing(8)
        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        right.addWidget(self.banner)
        self.tiles = MetricTiles(self.model, self.palette_)
        right.addWidget(self.tiles)
        self.quality_label = QLabel("")
        self.quality_label.setObjectName("muted")
        right.addWidget(self.quality_label)
        self.plots = SessionPlots(self.model, self.palette_)
        right.addWidget(self.plots, 1)
        root.addLayout(right, 1)

    def _build_setup_panel(self) -> QWidget:
        panel = QWidget()
        panel.setFixedWidth(290)
        lay = QVBoxLayout(panel)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(10)

        dev = QGroupBox("Sensor")
        dl = QVBoxLayout(dev)
        row = QHBoxLayout()
        self.scan_button = QPushButton("Scan")
        self.scan_button.setToolTip("Look for Bluetooth heart-rate straps")
        self.scan_button.clicked.connect(self.scan)
        row.addWidget(QLabel("Strap"))
        row.addStretch(1)
        row.addWidget(self.scan_button)
        dl.addLayout(row)
        self.device_list = QListWidget()
        self.device_list.addItem(SIMULATED)
        self.device_list.setCurrentRow(0)
        self.device_list.setMaximumHeight(96)
        dl.addWidget(self.device_list)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignLeft)
        self.connection_label = QLabel("not connected")
        self.battery_label = QLabel("—")
        self.contact_label = QLabel("—")
        self.signal_label = QLabel("—")
        self.signal_label.setWordWrap(True)
        form.addRow("State", self.connection_label)
        form.addRow("Battery", self.battery_label)
        form.addRow("Contact", self.contact_label)
        form.addRow("Signal", self.signal_label)
        dl.addLayout(form)
        lay.addWidget(dev)

        ses = QGroupBox("Session")
        sf = QFormLayout(ses)
        self.participant_box = QComboBox()
        self.participant_box.setEditable(True)
        self.participant_box.addItem("me")
        self.protocol_box = QComboBox()
        sf.addRow("Participant", self.participant_box)
        sf.addRow("Protocol", self.protocol_box)
        self.record_box = QCheckBox("Record to library")
        self.record_box.setChecked(True)
        sf.addRow("", self.record_box)
        lay.addWidget(ses)

        aud = QGroupBox("Tones")
        al = QHBoxLayout(aud)
        self.tones_box = QCheckBox("Pacer tones")
        self.tones_box.toggled.connect(self.tones.set_enabled)
        self.volume_slider = QSlider(Qt.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(40)
        self.volume_slider.valueChanged.connect(lambda v: self.tones.set_volume(v / 100))
        al.addWidget(self.tones_box)
        al.addWidget(self.volume_slider, 1)
        lay.addWidget(aud)

        self.client_button = QPushButton("Open client view")
        self.client_button.clicked.connect(self.toggle_client_view)
        lay.addWidget(self.client_button)
        lay.addStretch(1)
        return panel

    def _build_pacer_column(self) -> QWidget:
        col = QFrame()
        col.setObjectName("panel")
        col.setFixedWidth(400)
        lay = QVBoxLayout(col)
        lay.setContentsMargins(16, 14, 16, 16)
        self.phase_label = QLabel("Ready")
        self.phase_label.setObjectName("phase")
        self.phase_label.setAlignment(Qt.AlignCenter)
        self.time_left_label = QLabel("")
        self.time_left_label.setObjectName("timeLeft")
        self.time_left_label.setAlignment(Qt.AlignCenter)
        self.pacer = PacerWidget(palette=self.palette_)
        self.cue_label = QLabel("Choose a protocol and press Start.")
        self.cue_label.setObjectName("cue")
        self.cue_label.setAlignment(Qt.AlignCenter)
        self.cue_label.setWordWrap(True)
        self.cue_label.setMinimumHeight(64)
        lay.addWidget(self.phase_label)
        lay.addWidget(self.time_left_label)
        lay.addWidget(self.pacer, 1)
        lay.addWidget(self.cue_label)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume (Space)")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.annotate_button = QPushButton("Mark moment (A)")
        self.annotate_button.setToolTip("Mark this moment in the recording, with an optional note (A)")
        self.annotate_button.clicked.connect(lambda: self.annotate(ask_text=True))
        lay.addWidget(self.annotate_button)
        return col

    # --- pickers ------------------------------------------------------------------------------------------------

    def set_protocols(self, names: list[tuple[str, str]], selected: str | None = None) -> None:
        """Fill the protocol picker with ``(name, label)`` pairs."""
        self.protocol_box.clear()
        for name, label in names:
            self.protocol_box.addItem(label, name)
        if selected is not None:
            i = self.protocol_box.findData(selected)
            if i >= 0:
                self.protocol_box.setCurrentIndex(i)

    def set_participants(self, names: list[str], selected: str | None = None) -> None:
        current = selected or self.participant_box.currentText()
        self.participant_box.clear()
        for n in names or ["me"]:
            self.participant_box.addItem(n)
        if current:
            self.participant_box.setCurrentText(current)

    def selected_protocol(self) -> str:
        return self.protocol_box.currentData() or self.protocol_box.currentText() or "reset"

    def selected_source(self) -> str:
        item = self.device_list.currentItem()
        if item is None or item.text() == SIMULATED:
            return "sim"
        return item.data(Qt.UserRole) or item.text()

    # --- actions ------------------------------------------------------------------------------------------------

    def config(self) -> LiveConfig:
        return LiveConfig(protocol=self.selected_protocol(), participant=self.participant_box.currentText() or "me",
                          source=self.selected_source(), ble_backend=self.ble_backend, library=self.library,
                          record=self.record_box.isChecked(), speed=self.speed)

    def start(self, config: LiveConfig | None = None) -> bool:
        """Start a session (from the Start button or the demo). Returns False when it could not start."""
        if self.controller.running:
            return False
        if self.before_start is not None and not self.before_start():
            return False
        cfg = config or self.config()
        self.banner.hide()
        self.model.reset()
        self.plots.redraw()
        ok = self.controller.start(cfg)
        if ok:
            self.timer.start()
            self.notice.emit(f"Session started: {cfg.protocol} with {cfg.participant}")
        self._sync_buttons()
        return ok

    def stop(self) -> None:
        self.controller.stop()

    def toggle_pause(self) -> None:
        if self.controller.running:
            self.controller.toggle_pause()

    def annotate(self, text: str = "", ask_text: bool = False) -> None:
        """Mark this moment; with ``ask_text`` a small dialog asks for an optional note."""
        if not self.controller.running:
            return
        if ask_text:
            note, ok = QInputDialog.getText(self, "Mark moment", "Note (optional):")
            if not ok:
                return
            text = note
        self.controller.annotate(text)
        self.notice.emit("Moment marked" + (f": {text}" if text else ""))

    def scan(self) -> None:
        self.scan_button.setEnabled(False)
        self.scan_button.setText("Scanning…")
        self.controller.scan(self.ble_backend)

    def _on_scan_done(self, devices: list, error: str) -> None:
        self.scan_button.setEnabled(True)
        self.scan_button.setText("Scan")
        self.device_list.clear()
        self.device_list.addItem(SIMULATED)
        for address, label in devices:
            self.device_list.addItem(label)
            item = self.device_list.item(self.device_list.count() - 1)
            item.setData(Qt.UserRole, address)
        self.device_list.setCurrentRow(1 if devices else 0)
        if error:
            self._show_problem(error)
        else:
            self.notice.emit(f"Found {len(devices)} strap(s)")

    def toggle_client_view(self) -> None:
        if self.client_window is not None and self.client_window.isVisible():
            self.client_window.close()
            self.client_button.setText("Open client view")
            return
        if self.client_window is None:
            self.client_window = ClientWindow(self.model, self.palette_)
        self.client_window.show()
        self.client_button.setText("Close client view")
        self.timer.start()

    # --- drawing ------------------------------------------------------------------------------------------------

    def tick(self) -> None:
        """One frame: apply queued events, then render (GUI thread, 25 Hz)."""
        m = self.model
        m.drain()
        point = m.pacer_point()
        self.pacer.set_point(point)
        if point is not None:
            self.tones.on_segment(point.breath_index, point.segment)
        self._refresh_labels()
        self.tiles.refresh()
        self._frames += 1
        if self._frames % REDRAW_HZ == 0:
            self._refresh_status()
        if self._frames % PLOT_EVERY_FRAMES == 0 or m.state != "running":
            self.plots.redraw()
        self._refresh_device()
        if self.client_window is not None and self.client_window.isVisible():
            self.client_window.refresh(point)
        elif not self.controller.running and m.state != "running":
            self.timer.stop()

    def _refresh_labels(self) -> None:
        """Phase, time left and cue (set only when they change: a label repaint costs)."""
        m = self.model
        phase = phase_title(m)
        if self.phase_label.text() != phase:
            self.phase_label.setText(phase)
        total_left = self.controller.time_left_s()
        text = format_clock(m.phase_time_left_s()) + (
            f"  ·  session {format_clock(total_left)}" if total_left is not None else "")
        if self.time_left_label.text() != text:
            self.time_left_label.setText(text)
        if m.cue and self.cue_label.text() != m.cue:
            self.cue_label.setText(m.cue)

    def _refresh_status(self) -> None:
        """Once a second: the analysis-window line and the recorder's health."""
        quality = self.model.quality_text()
        self.quality_label.setText(f"Analysis window: {quality}" if quality else "")
        problem = self.controller.writer_problem()
        if problem:
            self._show_problem(f"Recording problem: {problem}. Events are kept in memory and retried.")

    def _refresh_device(self) -> None:
        m = self.model
        dev = next((d for d in m.devices.values() if d.participant == m.participant), None)
        if dev is None:
            return
        level, text = m.signal_status(dev)
        colour = {"good": self.palette_.good, "warning": self.palette_.warning}.get(level, self.palette_.error)
        html = f"<span style='color:{colour}'>●</span> {text}"
        if self.signal_label.text() != html:
            self.signal_label.setText(html)
        state = dev.state + (f" ({dev.reason})" if dev.reason and dev.state != "connected" else "")
        if self.connection_label.text() != state:
            self.connection_label.setText(state)
        self.battery_label.setText("—" if dev.battery_percent is None else f"{dev.battery_percent} %")
        self.contact_label.setText({None: "not reported", True: "good", False: "no contact"}[dev.contact])
        if level == "error" and self.controller.running:
            self._show_problem(f"Strap {dev.device}: {text}. The recording so far is safe; "
                               "the session keeps running and resumes when the strap returns.")

    # --- state ------------------------------------------------------------------------------------------------

    def _on_state(self, state: str) -> None:
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        running = self.controller.running
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.annotate_button.setEnabled(running)
        self.pause_button.setText("Resume" if self.model.state == "paused" else "Pause")
        for w in (self.protocol_box, self.participant_box, self.device_list, self.scan_button, self.record_box):
            w.setEnabled(not running)

    def _on_finished(self, reason: str, saved: str) -> None:
        self.tick()
        if reason == "failed":
            self.notice.emit("The session could not run; see the message above.")
            self._sync_buttons()
            return
        self._sync_buttons()
        self.notice.emit(f"Session ended ({reason})" + (f"; saved as {saved}" if saved else ""))
        if saved:
            self.session_saved.emit(saved)

    def _show_problem(self, text: str) -> None:
        if self.banner.text() != text:
            self.banner.setText(text)
            log.warning("%s", text)
        self.banner.show()

    def _tone_notice(self, text: str) -> None:
        self.notice.emit(text)

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        self.pacer.set_palette(palette)
        self.tiles.palette_ = palette
        if self.client_window is not None:
            self.client_window.set_palette(palette)

    def shutdown(self) -> None:
        """Stop any running session and wait briefly for it to save (window closing)."""
        self.controller.shutdown()
        if self.client_window is not None:
            self.client_window.close()
