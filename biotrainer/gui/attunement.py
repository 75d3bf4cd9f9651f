"""Attunement on the replay screen: the therapist–client synchrony timeline and the session's summary card.

Both draw the documented synchrony dict the replay controller got from the analysis layer
(:func:`biotrainer.analysis.synchrony.synchrony_of_events`); neither computes anything. :class:`AttunementStrip`
shows each window's Fisher z over the whole session on the replay timeline's axis (above-chance windows in the
accent colour, the others muted, windows without a value left empty; ▲ the client follows, ▼ the therapist follows,
for above-chance windows), with the phases, annotations and play head; a click seeks. :class:`AttunementCard` says
the result in the words ``biotrainer synchrony`` prints (:mod:`biotrainer.analysis.synchrony_words`).
"""

from __future__ import annotations

from typing import Any, Final

from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QPainter, QPen, QPolygonF
from PyQt5.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from biotrainer.analysis.synchrony_words import (
    CAVEAT,
    chance_line,
    headline,
    lead_line,
    phase_lines,
    window_follower,
    window_lag_words,
)
from biotrainer.gui.live_screen import format_clock
from biotrainer.gui.plots import TICK_STEPS_S
from biotrainer.gui.session_axis import SessionAxisWidget
from biotrainer.gui.theme import DARK, Palette

MARK_ROW_PX: Final = 14  # the row of lead/follow marks above the bars
AXIS_ROW_PX: Final = 16  # the row of phase names and session times below the bars


def legend_html(p: Palette) -> str:
    """The strip's title with its colour key (rich text)."""
    return (f"<span style='color:{p.muted}'>Attunement · heart-rate synchrony per window (Fisher z) — </span>"
            f"<span style='color:{p.accent}'>■ above chance</span> "
            f"<span style='color:{p.muted}'>■ not above chance · </span>"
            f"<span style='color:{p.accent}'>▲</span><span style='color:{p.muted}'> client follows · </span>"
            f"<span style='color:{p.hold}'>▼</span><span style='color:{p.muted}'> therapist follows · "
            f"dashed line: chance threshold (95 % of shuffled pairs below)</span>")


class AttunementStrip(SessionAxisWidget):
    """Each synchrony window's z over session time; click or drag to seek.

    Each window is drawn as a bar centred on its window, one step wide (the windows overlap).
    """

    def __init__(self, palette: Palette = DARK, parent: QWidget | None = None) -> None:
        super().__init__(palette, parent)
        self.windows: list[dict[str, Any]] = []
        self.step_s = 5.0
        self.z_threshold: float | None = None
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def set_result(self, result: dict[str, Any]) -> None:
        """Show the windows of a synchrony result (the documented dict)."""
        self.windows = list(result["windows"])
        self.step_s = float(result["step_s"])
        self.z_threshold = result["session"].get("z_threshold")
        self.update()

    # --- what each window looks like -----------------------------------------------------------------------

    def bar_colour(self, w: dict[str, Any]) -> QColor | None:
        """Accent for an above-chance window, muted for the others, None (left empty) without a value."""
        if w["z"] is None:
            return None
        if w["above_chance"]:
            return QColor(self.palette_.accent)
        colour = QColor(self.palette_.muted)
        colour.setAlphaF(0.45)
        return colour

    @staticmethod
    def lead_mark(w: dict[str, Any]) -> str:
        """``▲`` (the client follows), ``▼`` (the therapist follows) or ``""`` (in step, or not above chance)."""
        who = window_follower(w["peak_lag_s"]) if w["above_chance"] else None
        return {"client": "▲", "therapist": "▼"}.get(who or "", "")

    def window_at(self, t_s: float) -> dict[str, Any] | None:
        """The window whose bar (its centre ± half a step) holds ``t_s``."""
        for w in self.windows:
            centre = (w["start_s"] + w["end_s"]) / 2
            if abs(t_s - centre) <= self.step_s / 2:
                return w
        return None

    def tooltip_at(self, t_s: float, x: float) -> str:
        base = super().tooltip_at(t_s, x)
        w = self.window_at(t_s)
        if w is None:
            return base
        span = f"window {format_clock(w['start_s'])}–{format_clock(w['end_s'])}"
        if w["z"] is None:
            return f"{base}\n{span}: no value (too much data missing)"
        chance = "above chance" if w["above_chance"] else "not above chance"
        return (f"{base}\n{span}: z {w['z']:.2f} (peak r {w['peak_r']:.2f}), {chance}, "
                f"{window_lag_words(w['peak_lag_s'])}")

    # --- painting ---------------------------------------------------------------------------------------------

    def _z_range(self) -> tuple[float, float]:
        zs = [w["z"] for w in self.windows if w["z"] is not None]
        if self.z_threshold is not None:
            zs.append(self.z_threshold)
        lo = min([0.0, *zs])
        hi = max([0.1, *zs])
        return lo, hi + 0.08 * (hi - lo)

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802 - Qt override
        pal = self.palette_
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        h, w = self.height(), self.width()
        area = QRectF(self._x(0.0), MARK_ROW_PX, w - 2 * (self._x(0.0)), h - MARK_ROW_PX - AXIS_ROW_PX)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(pal.panel_alt))
        p.drawRoundedRect(area, 4, 4)
        self.paint_phases(p, QRectF(area.left(), area.top(), area.width(), area.height() + AXIS_ROW_PX),
                          (0.10, 0.05), Qt.AlignBottom | Qt.AlignLeft, pal.muted)
        lo, hi = self._z_range()

        def y_of(z: float) -> float:
            return area.bottom() - (z - lo) / (hi - lo) * area.height()

        self._paint_bars(p, y_of)
        if self.z_threshold is not None:
            p.setPen(QPen(QColor(pal.text), 1, Qt.DashLine))
            y = y_of(self.z_threshold)
            p.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        self._paint_ticks(p, area)
        self.paint_annotations(p, 4, h - AXIS_ROW_PX)
        self.paint_head(p, MARK_ROW_PX - 4, h - AXIS_ROW_PX + 2)
        p.end()

    def _paint_ticks(self, p: QPainter, area: QRectF) -> None:
        """Session time (m:ss) under the bars, about one label per 110 px, where no phase name is."""
        if self.duration_s <= 0:
            return
        target = self.duration_s / max(2.0, area.width() / 110.0)
        step = next((s for s in TICK_STEPS_S if s >= target), TICK_STEPS_S[-1])
        metrics = p.fontMetrics()
        taken = [QRectF(self._x(ph.start_s) + 4, area.bottom(),
                        metrics.horizontalAdvance(self.phase_titles.get(ph.name) or ph.name) + 8,
                        AXIS_ROW_PX) for ph in self.phases]
        p.setPen(QColor(self.palette_.muted))
        t = step
        while t < self.duration_s:
            text = format_clock(t)
            width = metrics.horizontalAdvance(text)
            x = self._x(t)
            rect = QRectF(x - width / 2, area.bottom(), width, AXIS_ROW_PX)
            if not any(rect.intersects(r) for r in taken) and rect.right() < area.right():
                p.drawLine(QPointF(x, area.bottom()), QPointF(x, area.bottom() + 3))
                p.drawText(rect.adjusted(-2, 0, 2, 0), Qt.AlignHCenter | Qt.AlignBottom, text)
            t += step

    def _paint_bars(self, p: QPainter, y_of) -> None:  # noqa: ANN001 - z → y
        zero = y_of(0.0)
        for w in self.windows:
            colour = self.bar_colour(w)
            if colour is None:
                continue
            centre = (w["start_s"] + w["end_s"]) / 2
            x0, x1 = self._x(centre - self.step_s / 2), self._x(centre + self.step_s / 2)
            y = y_of(w["z"])
            p.setPen(Qt.NoPen)
            p.setBrush(colour)
            p.drawRect(QRectF(x0, min(y, zero), max(1.0, x1 - x0 - 0.5), abs(zero - y)))
            mark = self.lead_mark(w)
            if mark:
                self._paint_triangle(p, (x0 + x1) / 2, MARK_ROW_PX / 2, min(8.0, max(4.0, x1 - x0)), mark == "▲")

    def _paint_triangle(self, p: QPainter, x: float, y: float, size: float, up: bool) -> None:
        half = size / 2
        tip, base = (y - half, y + half) if up else (y + half, y - half)
        p.setBrush(QColor(self.palette_.accent if up else self.palette_.hold))
        p.drawPolygon(QPolygonF([QPointF(x - half, base), QPointF(x + half, base), QPointF(x, tip)]))


class AttunementCard(QFrame):
    """The session's synchrony in words: the verdict, who follows whom, each phase's verdict, and the caveat."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        self.headline = QLabel("")
        self.headline.setObjectName("cardTitle")
        self.headline.setWordWrap(True)
        self.body = QLabel("")
        self.body.setObjectName("cardBody")
        self.body.setWordWrap(True)
        self.caveat = QLabel(CAVEAT)
        self.caveat.setObjectName("cardNote")
        self.caveat.setWordWrap(True)
        for label in (self.headline, self.body, self.caveat):
            layout.addWidget(label)

    def set_result(self, result: dict[str, Any]) -> None:
        """Say ``result`` (the documented synchrony dict) in words."""
        self.headline.setText(headline(result))
        lines = [chance_line(result), lead_line(result), *phase_lines(result),
                 *(f"note: {r}" for r in result["reasons"])]
        self.body.setText("\n".join(f"• {line}" for line in lines))

    def text(self) -> str:
        """Everything the card says, as plain text."""
        return "\n".join(label.text() for label in (self.headline, self.body, self.caveat))
