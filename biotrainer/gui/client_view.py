"""The client view: a second, full-screen window with the pacer and one calm feedback cue.

Meant for a second screen the client watches. It shows only the pacer, the current cue text, and a soft halo
around the pacer whose brightness follows the metrics engine's ``feedback_0_1`` (no numbers, no judgement). When the
feedback is unavailable (poor signal, or a phase without feedback) the halo is simply off. One line under the
pacer says what the halo means; phases are shown by their titles; at the end it says the session is complete.

The live screen opens it full screen on the screen it was on last time (or on a second screen when there is one).
"""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QLabel, QVBoxLayout, QWidget

from biotrainer.core.pacer import PacerPoint
from biotrainer.gui.model import FEEDBACK_KEY, SessionModel
from biotrainer.gui.pacer_widget import PacerWidget
from biotrainer.gui.theme import DARK, Palette

HALO_TEXT = "The soft glow around the circle grows when your heartbeat follows your breathing."
COMPLETE_TEXT = "The session is complete. Take a moment before you get up."


class ClientWindow(QWidget):
    """Full-screen pacer for the client. Call :meth:`refresh` from the live screen's timer."""

    def __init__(self, model: SessionModel, palette: Palette = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.Window)
        self.setWindowTitle("biotrainer — client view")
        self.model = model
        self.palette_ = palette
        lay = QVBoxLayout(self)
        lay.setContentsMargins(40, 30, 40, 40)
        self.phase = QLabel("")
        self.phase.setAlignment(Qt.AlignCenter)
        self.pacer = PacerWidget(palette=palette, idle_text="Sit comfortably")
        self.pacer.background = "window"
        self.cue = QLabel("")
        self.cue.setAlignment(Qt.AlignCenter)
        self.cue.setWordWrap(True)
        self.halo_note = QLabel(HALO_TEXT)
        self.halo_note.setAlignment(Qt.AlignCenter)
        self.halo_note.setWordWrap(True)
        lay.addWidget(self.phase)
        lay.addWidget(self.pacer, 1)
        lay.addWidget(self.cue)
        lay.addWidget(self.halo_note)
        self.set_palette(palette)
        self.resize(900, 900)

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        self.pacer.set_palette(palette)
        self.setStyleSheet(f"background: {palette.window}; color: {palette.text};")
        self.phase.setStyleSheet(f"color: {palette.muted}; font-size: 22pt;")
        self.cue.setStyleSheet(f"color: {palette.text}; font-size: 26pt;")
        self.halo_note.setStyleSheet(f"color: {palette.muted}; font-size: 14pt;")

    def refresh(self, point: PacerPoint | None | bool = False) -> None:
        """Redraw; ``point`` is the pacer of this frame (default: ask the model)."""
        m = self.model
        self.pacer.set_point(m.pacer_point() if point is False else point)
        fb = m.metrics[FEEDBACK_KEY].value if m.phase.feedback else None
        self.pacer.set_halo(fb)
        done = m.state == "stopped"
        phase = m.phase_display() if m.phase.active else ("" if not done else "Finished")
        if self.phase.text() != phase:
            self.phase.setText(phase)
        cue = COMPLETE_TEXT if done else m.cue
        if self.cue.text() != cue:
            self.cue.setText(cue)
        show_note = m.phase.active and m.phase.feedback and not done
        if self.halo_note.isVisible() != show_note and self.isVisible():
            self.halo_note.setVisible(show_note)

    def keyPressEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        if event.key() in (Qt.Key_Escape, Qt.Key_F11):
            if self.isFullScreen():
                self.showNormal()
            elif event.key() == Qt.Key_F11:
                self.showFullScreen()
            else:
                self.close()
            return
        super().keyPressEvent(event)
