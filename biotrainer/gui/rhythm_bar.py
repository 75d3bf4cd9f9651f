"""The "in rhythm with the pacer" bar (low / medium / high, :func:`biotrainer.metrics.rhythm.rhythm_level`) under
the live tiles, and the calm mode of the live screen (pacer and cues only, for the reset)."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QRectF, Qt
from PyQt5.QtGui import QColor, QPainter
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QWidget

from biotrainer.gui.theme import DARK, Palette
from biotrainer.metrics.rhythm import LEVELS, rhythm_level

TOOLTIP = ("In rhythm with the pacer: how closely your breathing follows the pacer (the breathing rate against the "
           "pacer's) and how much your heart rate swings with each breath (RSA). High: within half a breath a "
           "minute with a clear swing. A practice signal, not a score.")


class _Segments(QWidget):
    def __init__(self, palette: Palette) -> None:
        super().__init__()
        self.palette_ = palette
        self.level: str | None = None
        self.setFixedSize(150, 14)

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        n = LEVELS.index(self.level) + 1 if self.level else 0
        w = (self.width() - 8) / 3.0
        for i in range(3):
            colour = QColor(self.palette_.accent if i < n else self.palette_.panel_alt)
            p.setPen(Qt.NoPen)
            p.setBrush(colour)
            p.drawRoundedRect(QRectF(i * (w + 4), 1, w, self.height() - 2), 4, 4)
        p.end()


class RhythmBar(QWidget):
    """"In rhythm with the pacer: medium" with three segments; empty ("—") when unpaced or withheld."""

    def __init__(self, palette: Palette = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 0, 2, 0)
        self.label = QLabel("In rhythm with the pacer")
        self.segments = _Segments(palette)
        self.word = QLabel("—")
        self.word.setObjectName("muted")
        for w in (self.label, self.segments, self.word):
            lay.addWidget(w)
        lay.addStretch(1)
        self.setToolTip(TOOLTIP)
        self.level: str | None = None

    def refresh(self, model: Any) -> None:
        """Take the level from the live model: breathing rate, the pacer's rate (while paced) and RSA."""
        phase = model.phase
        pacer = phase.rate_per_min if phase.active and phase.paced else None
        level = rhythm_level(model.metrics["breathing_rate_per_min"].value, pacer, model.metrics["rsa_p2t_ms"].value)
        if level != self.level:
            self.level = self.segments.level = level
            self.word.setText(level or "—")
            self.segments.update()


def set_calm(live: Any, calm: bool) -> None:
    """Calm mode of ``live`` (a :class:`~biotrainer.gui.live_screen.LiveScreen`): only the pacer, the phase, the
    time left and the cues; numbers, plots and the setup panel are hidden (and come back when it is left)."""
    for w in (live.setup_panel, live.tiles, live.quality_label, live.plots, getattr(live, "rhythm_bar", None)):
        if w is not None:
            w.setVisible(not calm)
    live.pacer_column.setMaximumWidth(16_777_215 if calm else 400)
    live.pacer_column.setMinimumWidth(400)
    root = live.layout()  # the pacer column takes the room of the hidden numbers
    root.setStretchFactor(live.pacer_column, 1 if calm else 0)
    root.setStretch(root.count() - 1, 0 if calm else 1)
    live.calm = calm
