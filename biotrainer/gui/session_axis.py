"""Widgets drawn along a whole recorded session's time axis: the replay timeline and the attunement strip.

:class:`SessionAxisWidget` holds what they share: one mapping of session seconds to x (the same margins, so strips
stacked in one column line up), the protocol phases as bands, annotations as marks, the play head, and click or drag
to seek (:attr:`~SessionAxisWidget.seek_requested`).
"""

from __future__ import annotations

from typing import Final

from PyQt5.QtCore import QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QPainter, QPen
from PyQt5.QtWidgets import QWidget

from biotrainer.gui.live_screen import format_clock
from biotrainer.gui.theme import DARK, Palette

MARGIN_PX: Final = 8  # left and right margin of the time axis


class SessionAxisWidget(QWidget):
    """Base of the widgets along a session: time ↔ x, phases, annotations, play head, seek on click or drag."""

    seek_requested = pyqtSignal(float)

    def __init__(self, palette: Palette = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.duration_s = 0.0
        self.phases: list = []
        self.annotations: list[tuple[float, str]] = []
        self.position_s = 0.0
        self.phase_titles: dict[str, str] = {}  # phase name → the protocol's title (drawn instead of the name)
        self.setMouseTracking(True)

    def set_session(self, duration_s: float, phases: list, annotations: list[tuple[float, str]]) -> None:
        self.duration_s, self.phases, self.annotations = duration_s, phases, annotations
        self.update()

    def set_position(self, t_s: float) -> None:
        if abs(t_s - self.position_s) > 1e-3:
            self.position_s = t_s
            self.update()

    def _x(self, t_s: float) -> float:
        span = self.width() - 2 * MARGIN_PX
        return MARGIN_PX + span * (t_s / self.duration_s if self.duration_s > 0 else 0.0)

    def time_at(self, x: float) -> float:
        span = max(1.0, self.width() - 2 * MARGIN_PX)
        return max(0.0, min(self.duration_s, (x - MARGIN_PX) / span * self.duration_s))

    # --- painting helpers -----------------------------------------------------------------------------------

    def paint_phases(self, p: QPainter, band: QRectF, alpha: tuple[float, float], label_align: int,
                     label_colour: str) -> None:
        """Phases as bands in ``band``, alternating ``alpha`` (paced ones in the inhale colour), with their names
        placed by ``label_align`` (Qt alignment flags) in ``label_colour``."""
        pal = self.palette_
        p.setPen(Qt.NoPen)
        for i, ph in enumerate(self.phases):
            colour = QColor(pal.inhale if ph.paced else pal.muted)
            colour.setAlphaF(alpha[i % 2])
            p.setBrush(colour)
            x0, x1 = self._x(ph.start_s), self._x(ph.end_s)
            p.drawRect(QRectF(x0, band.top(), max(1.0, x1 - x0), band.height()))
            p.setPen(QColor(label_colour))
            p.drawText(QRectF(x0 + 4, band.top(), max(1.0, x1 - x0 - 8), band.height()), label_align,
                       self.phase_titles.get(ph.name) or ph.name.replace("_", " "))
            p.setPen(Qt.NoPen)

    def paint_annotations(self, p: QPainter, top: float, bottom: float, dot: bool = True) -> None:
        """Annotations as vertical marks from ``top`` to ``bottom`` (with a dot at the top)."""
        p.setPen(QPen(QColor(self.palette_.annotation), 2))
        for t_s, _text in self.annotations:
            x = self._x(t_s)
            p.drawLine(int(x), int(top), int(x), int(bottom))
            if dot:
                p.drawEllipse(QRectF(x - 3, top - 2, 6, 6))

    def paint_head(self, p: QPainter, top: float, bottom: float) -> None:
        """The play head at :attr:`position_s`."""
        x = self._x(self.position_s)
        p.setPen(QPen(QColor(self.palette_.accent), 3))
        p.drawLine(int(x), int(top), int(x), int(bottom))

    # --- mouse ------------------------------------------------------------------------------------------------

    def tooltip_at(self, t_s: float, x: float) -> str:
        """The hover text at session time ``t_s`` (pixel ``x``): the time and the annotations near it."""
        near = [text for a_s, text in self.annotations if abs(self._x(a_s) - x) < 6]
        return f"{format_clock(t_s)}" + (f" — {'; '.join(near)}" if near else "")

    def mousePressEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        self.seek_requested.emit(self.time_at(event.x()))

    def mouseMoveEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        t = self.time_at(event.x())
        self.setToolTip(self.tooltip_at(t, event.x()))
        if event.buttons() & Qt.LeftButton:
            self.seek_requested.emit(t)
