"""The client view: a second, full-screen window with the pacer and one calm feedback cue.

Meant for a second screen the client watches. It shows only the pacer, the current cue text, and a soft halo
around the pacer whose brightness follows the metrics engine's ``feedback_0_1`` (no numbers, no judgement). When the
feedback is unavailable (poor signal, or a phase without feedback) the halo is simply off.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QLabel, QVBoxLayout, QWidget

from biotrainer.core.pacer import PacerPoint
from biotrainer.gui.model import FEEDBACK_KEY, SessionModel
from biotrainer.gui.pacer_widget import PacerWidget
from biotrainer.gui.theme import DARK, Palette


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
        lay.addWidget(self.phase)
        lay.addWidget(self.pacer, 1)
        lay.addWidget(self.cue)
        self.set_palette(palette)
        self.resize(900, 900)

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        self.pacer.set_palette(palette)
        self.setStyleSheet(f"background: {palette.window}; color: {palette.text};")
        self.phase.setStyleSheet(f"color: {palette.muted}; font-size: 22pt;")
        self.cue.setStyleSheet(f"color: {palette.text}; font-size: 26pt;")

    def refresh(self, point: PacerPoint | None | bool = False) -> None:
        """Redraw; ``point`` is the pacer of this frame (default: ask the model)."""
        m = self.model
        self.pacer.set_point(m.pacer_point() if point is False else point)
        fb = m.metrics[FEEDBACK_KEY].value if m.phase.feedback else None
        self.pacer.set_halo(fb)
        phase = m.phase.name.replace("_", " ").capitalize() if m.phase.active else ""
        if self.phase.text() != phase:
            self.phase.setText(phase)
        if self.cue.text() != m.cue:
            self.cue.setText(m.cue)

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
