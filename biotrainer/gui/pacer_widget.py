"""The breathing pacer: a soft disc that fills with the breath.

- **Inhale**: a teal disc grows, with a bright rim; the label says "Breathe in".
- **Hold** (after inhale or exhale): the disc stays still in a warm colour with a dashed ring around it; "Hold".
- **Exhale**: a blue disc shrinks; "Breathe out".

A thin arc around the disc shows how far through the current segment the breath is, and the label counts the
seconds left in it. The widget only renders the :class:`~biotrainer.core.pacer.PacerPoint` it is given
(:meth:`PacerWidget.set_point`); it computes nothing about the breath itself.
"""

from __future__ import annotations

import math

from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QFont, QPainter, QPen, QRadialGradient
from PyQt5.QtWidgets import QSizePolicy, QWidget

from biotrainer.core.pacer import PacerPoint
from biotrainer.gui.theme import DARK, Palette

LABELS = {"inhale": "Breathe in", "hold_in": "Hold", "exhale": "Breathe out", "hold_out": "Hold"}
MIN_RADIUS_SHARE = 0.28  # empty lungs: disc radius as a share of the largest radius


class PacerWidget(QWidget):
    """Animated pacer. Call :meth:`set_point` from a timer; None shows a quiet "free breathing" state."""

    def __init__(self, parent: QWidget | None = None, palette: Palette = DARK, show_text: bool = True,
                 idle_text: str = "Breathe freely") -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(120, 120)
        self.palette_ = palette
        self.show_text = show_text
        self.idle_text = idle_text
        self.point: PacerPoint | None = None
        self.halo_0_1: float | None = None  # optional feedback glow (client view)
        self.own_volume: float | None = None  # free breathing: the person's own breath (0..1), when known
        self.background = "panel"  # palette field the widget fills itself with (opaque: no parent repaint)
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        self.update()

    def set_point(self, point: PacerPoint | None) -> None:
        if point != self.point:
            self.point = point
            self.update()

    def set_own_breath(self, volume_0_1: float | None) -> None:
        """Without a pacer: follow the person's own breathing (0 empty .. 1 full), or None for the quiet disc."""
        if volume_0_1 != self.own_volume:
            self.own_volume = volume_0_1
            self.update()

    def set_halo(self, value_0_1: float | None) -> None:
        if value_0_1 != self.halo_0_1:
            self.halo_0_1 = value_0_1
            self.update()

    def label(self) -> str:
        """The text under the disc (also used by tests and screen readers)."""
        p = self.point
        if p is None:
            return "Your own breathing" if self.own_volume is not None else self.idle_text
        left_s = max(0.0, (1.0 - p.segment_progress) * p.segment_duration_s)
        return f"{LABELS.get(p.segment, p.segment)}  {math.ceil(left_s - 1e-6):d}"

    def segment_colour(self) -> QColor:
        p, pal = self.point, self.palette_
        if p is None:
            return QColor(pal.exhale if self.own_volume is not None else pal.muted)
        if p.segment == "inhale":
            return QColor(pal.inhale)
        if p.segment == "exhale":
            return QColor(pal.exhale)
        return QColor(pal.hold)

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802 - Qt override
        pal = self.palette_
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        w, h = self.width(), self.height()
        painter.fillRect(self.rect(), QColor(getattr(pal, self.background)))
        text_h = max(28, int(h * 0.11)) if self.show_text else 0
        size = min(w, h - text_h)
        r_max = size * 0.44
        centre = QPointF(w / 2, (h - text_h) / 2)
        p = self.point
        volume = p.volume if p is not None else (0.5 if self.own_volume is None else self.own_volume)
        r = r_max * (MIN_RADIUS_SHARE + (1 - MIN_RADIUS_SHARE) * volume)
        colour = self.segment_colour()

        # guide ring at full size, so the breath has somewhere to go
        guide = QColor(pal.border)
        painter.setPen(QPen(guide, max(1.0, size * 0.006)))
        painter.setBrush(Qt.NoBrush)
        painter.drawEllipse(centre, r_max, r_max)

        if self.halo_0_1 is not None:  # feedback: a soft glow outside the guide ring, brighter with feedback
            strength = max(0.0, min(1.0, self.halo_0_1))
            halo = QColor(pal.accent)
            halo.setAlphaF(0.08 + 0.5 * strength)
            transparent = QColor(pal.accent)
            transparent.setAlphaF(0.0)
            outer_r = r_max * 1.16
            grad = QRadialGradient(centre, outer_r)
            grad.setColorAt(0.0, transparent)
            grad.setColorAt(0.80, transparent)
            grad.setColorAt(0.86, halo)
            grad.setColorAt(1.0, transparent)
            painter.setPen(Qt.NoPen)
            painter.setBrush(grad)
            painter.drawEllipse(centre, outer_r, outer_r)

        # the breath disc: soft radial fill
        grad = QRadialGradient(centre, r)
        inner = QColor(colour)
        inner.setAlphaF(0.55 if p is not None else 0.25)
        outer = QColor(colour)
        outer.setAlphaF(0.9 if p is not None else 0.35)
        grad.setColorAt(0.0, inner)
        grad.setColorAt(1.0, outer)
        painter.setBrush(grad)
        painter.setPen(QPen(colour.lighter(130), max(1.5, size * 0.008)))
        painter.drawEllipse(centre, r, r)

        if p is not None:
            if p.segment.startswith("hold"):
                pen = QPen(QColor(pal.hold), max(2.0, size * 0.012), Qt.DashLine)
                painter.setPen(pen)
                painter.setBrush(Qt.NoBrush)
                painter.drawEllipse(centre, r + size * 0.035, r + size * 0.035)
            # progress arc through the current segment, clockwise from 12 o'clock
            arc_r = r_max + size * 0.03
            rect = QRectF(centre.x() - arc_r, centre.y() - arc_r, 2 * arc_r, 2 * arc_r)
            painter.setPen(QPen(colour, max(2.0, size * 0.012), Qt.SolidLine, Qt.RoundCap))
            painter.drawArc(rect, 90 * 16, -int(360 * 16 * p.segment_progress))

        if self.show_text:
            font = QFont(self.font())
            font.setPixelSize(max(14, min(int(text_h * 0.6), int(w / 9))))
            font.setWeight(QFont.DemiBold if p is not None else QFont.Normal)
            painter.setFont(font)
            painter.setPen(QColor(pal.text) if p is not None else QColor(pal.muted))
            painter.drawText(QRectF(0, h - text_h, w, text_h), Qt.AlignHCenter | Qt.AlignVCenter, self.label())
        painter.end()
