"""The reset before a client, in one step, and the small always-on-top pacer for doing it at the desk.

:func:`start_reset` (the window's Session ▸ Reset now, Ctrl+R) asks for the optional "before client" label and
starts the shipped three-minute ``reset`` at once with the strap and the person of the newest session
(:func:`biotrainer.wiring.reset.last_strap`), then shows the :class:`MiniPacer`. The mini pacer follows the live
screen's session (pacer, phase and time left, the current cue as its tooltip) and has a Stop button; it renders
and forwards, nothing more.
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtWidgets import QHBoxLayout, QInputDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from biotrainer.gui.pacer_widget import PacerWidget
from biotrainer.gui.theme import DARK, Palette

REDRAW_HZ = 25


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


class MiniPacer(QWidget):
    """A small always-on-top window with the pacer of ``live`` (a :class:`~biotrainer.gui.live_screen.LiveScreen`)."""

    def __init__(self, live: Any, palette: Palette = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.Window | Qt.WindowStaysOnTopHint)
        self.live = live
        self.setWindowTitle("Reset · biotrainer")
        self.resize(240, 300)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        self.phase_label = QLabel("")
        self.phase_label.setAlignment(Qt.AlignCenter)
        lay.addWidget(self.phase_label)
        self.pacer = PacerWidget(palette=palette, idle_text="Breathe freely")
        lay.addWidget(self.pacer, 1)
        row = QHBoxLayout()
        self.time_label = QLabel("")
        self.time_label.setObjectName("muted")
        row.addWidget(self.time_label, 1)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(live.stop)
        row.addWidget(self.stop_button)
        lay.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REDRAW_HZ))
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.tick()

    def tick(self) -> None:
        m = self.live.model
        running = self.live.controller.running
        self.pacer.set_point(m.pacer_point() if running else None)
        name = m.phase.name.replace("_", " ").capitalize() if running and m.phase.active else ""
        text = name or ("Session ended" if m.state == "stopped" else "Ready")
        if self.phase_label.text() != text:
            self.phase_label.setText(text)
        left = _clock(m.phase_time_left_s()) if running else ""
        if self.time_label.text() != left:
            self.time_label.setText(left)
        if self.pacer.toolTip() != (m.cue or ""):
            self.pacer.setToolTip(m.cue or "")
        self.stop_button.setEnabled(running)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.timer.stop()
        super().closeEvent(event)


def toggle_mini_pacer(window: Any) -> MiniPacer:
    """Show the main window's mini pacer (creating it), or hide it when shown."""
    mini = getattr(window, "mini_pacer", None)
    if mini is None:
        mini = window.mini_pacer = MiniPacer(window.live, window.palette_)
    if mini.isVisible():
        mini.hide()
        mini.timer.stop()
    else:
        mini.timer.start()
        mini.show()
    return mini


def start_reset(window: Any, before: str | None = None) -> bool:
    """Start the three-minute reset at once with the last strap (the simulator when none was used yet), tagged
    with the optional "before client" label (asked when ``before`` is None; cancelling starts nothing), and
    show the mini pacer. Returns False when nothing started."""
    from biotrainer.gui.controller import LiveConfig
    from biotrainer.store import Library
    from biotrainer.wiring.reset import RESET_PROTOCOL, last_strap, reset_title

    live = window.live
    if live.controller.running:
        return False
    if before is None:
        before, ok = QInputDialog.getText(window, "Reset before a client",
                                          "Before (optional; a pseudonym such as C07, never a real name):")
        if not ok:
            return False
    last = last_strap(Library(live.library))
    cfg = LiveConfig(protocol=RESET_PROTOCOL, participant=last.pseudonym if last else "me",
                     source=last.spec if last else "sim", ble_backend=live.ble_backend, library=live.library,
                     speed=live.speed)
    label = before.strip()[:60]

    def tag(reason: str, saved: str) -> None:
        live.controller.finished.disconnect(tag)
        if saved:
            Library(live.library).rename(saved, reset_title(label))

    live.controller.finished.connect(tag)
    window.tabs.setCurrentWidget(live)
    if not live.start(cfg):
        live.controller.finished.disconnect(tag)
        return False
    mini = toggle_mini_pacer(window) if not getattr(window, "mini_pacer", None) or \
        not window.mini_pacer.isVisible() else window.mini_pacer
    mini.raise_()
    return True
