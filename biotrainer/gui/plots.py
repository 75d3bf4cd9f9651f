"""Live plots: heart rate with the pacer's breathing curve, RR tachogram with artifact marks, per-breath RSA,
lnRMSSD trend, coherence ratio, breathing rate against the pacer.

:meth:`SessionPlots.redraw` is called by the screen's 20-30 Hz timer. It hands pyqtgraph only the slice of each
preallocated ring buffer that falls inside the visible window (``window_s``), with ``setClipToView`` and peak
downsampling on, so the cost of a frame does not grow with the length of the session.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor

from biotrainer.gui.model import SessionModel
from biotrainer.gui.theme import DARK, Palette
from biotrainer.metrics.catalogue import CATALOGUE

DEFAULT_WINDOW_S: Final = 180.0


TICK_STEPS_S: Final = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


class TimeAxis(pg.AxisItem):
    """Session time as m:ss, ticks on whole 5/10/15/30 s or minute steps."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: ANN001, ANN201, N802, N803 - pyqtgraph override
        span = max(1e-9, maxVal - minVal)
        target = span / max(2.0, size / 110.0)  # about one label per 110 px
        major = next((s for s in TICK_STEPS_S if s >= target), TICK_STEPS_S[-1])
        minor = next((s for s in reversed(TICK_STEPS_S) if s <= major / 2), major / 2)
        return [(float(major), 0.0), (float(minor), 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: ANN001, ANN201, N802 - pyqtgraph override
        out = []
        for v in values:
            s = int(round(v))
            sign = "-" if s < 0 else ""
            s = abs(s)
            out.append(f"{sign}{s // 60}:{s % 60:02d}")
        return out


def _colour(hex_colour: str, alpha: float = 1.0) -> QColor:
    c = QColor(hex_colour)
    c.setAlphaF(alpha)
    return c


class SessionPlots(pg.GraphicsLayoutWidget):
    """The six live plots of one :class:`SessionModel`.

    Parameters
    ----------
    model : SessionModel
        What to draw.
    window_s : float or None
        Visible time span ending at the model's "now"; None shows the whole session (replay overview).
    """

    def __init__(self, model: SessionModel, palette: Palette = DARK, window_s: float | None = DEFAULT_WINDOW_S,
                 parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.model = model
        self.window_s = window_s
        self.palette_ = palette
        self.setBackground(palette.plot_bg)
        self.ci.layout.setSpacing(6)
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.plots: dict[str, pg.PlotItem] = {}
        self._annotation_lines: list[pg.InfiniteLine] = []
        self._shown_annotations = 0
        self._build()

    # --- construction ---------------------------------------------------------------------------------------------

    def _plot(self, key: str, title: str, row: int, col: int, units: str = "") -> pg.PlotItem:
        p = self.addPlot(row=row, col=col, axisItems={"bottom": TimeAxis(orientation="bottom")})
        label = f"{title} ({units})" if units else title
        p.setTitle(f"<span style='color:{self.palette_.muted}'>{label}</span>", size="10pt")
        p.setClipToView(True)
        p.setDownsampling(auto=True, mode="peak")
        p.showGrid(x=True, y=True, alpha=self.palette_.grid_alpha)
        p.setMenuEnabled(False)
        p.hideButtons()
        p.getViewBox().setMouseEnabled(x=False, y=False)
        p.enableAutoRange(axis="y", enable=True)
        p.setAutoVisible(y=True)
        p.getAxis("left").setWidth(40)
        if self.plots:
            p.setXLink(next(iter(self.plots.values())))
        self.plots[key] = p
        return p

    def _build(self) -> None:
        pal = self.palette_
        hr = self._plot("hr", "Heart rate · pacer breath", 0, 0, CATALOGUE["hrv.hr_bpm"].unit)
        self.pacer_fill = hr.plot(pen=pg.mkPen(_colour(pal.pacer_curve, 0.6), width=1.5),
                                  fillLevel=0.0, brush=pg.mkBrush(_colour(pal.pacer_curve, 0.12)))
        self.hr_curve = hr.plot(pen=pg.mkPen(pal.hr, width=2.2))
        rr = self._plot("rr", "RR tachogram · artifact marks", 1, 0, "ms")
        self.rr_curve = rr.plot(pen=pg.mkPen(pal.rr, width=1.4), symbol="o", symbolSize=3,
                                symbolPen=None, symbolBrush=pg.mkBrush(pal.rr))
        self.rr_artifacts = rr.plot(pen=None, symbol="x", symbolSize=11,
                                    symbolPen=pg.mkPen(pal.artifact, width=2), symbolBrush=None)
        br = self._plot("breathing", "Breathing rate · pacer", 2, 0, CATALOGUE["breathing.rate_per_min"].unit)
        self.pacer_rate_curve = br.plot(pen=pg.mkPen(_colour(pal.pacer_curve, 0.8), width=2, style=Qt.DashLine),
                                        stepMode=None)
        self.breathing_curve = br.plot(pen=pg.mkPen(pal.breathing, width=2.2))
        rsa = self._plot("rsa", "RSA per breath (peak–trough)", 0, 1, CATALOGUE["rsa.p2t_ms"].unit)
        self.rsa_curve = rsa.plot(pen=pg.mkPen(_colour(pal.rsa, 0.5), width=1.2), symbol="o", symbolSize=7,
                                  symbolPen=None, symbolBrush=pg.mkBrush(pal.rsa))
        rm = self._plot("ln_rmssd", "lnRMSSD trend (60 s window)", 1, 1, CATALOGUE["hrv.ln_rmssd"].screen_unit)
        self.rmssd_curve = rm.plot(pen=pg.mkPen(pal.rmssd, width=2.2))
        co = self._plot("coherence", CATALOGUE["coherence.ratio"].label, 2, 1)
        self.coherence_curve = co.plot(pen=pg.mkPen(pal.coherence, width=2.2))
        self.ci.layout.setColumnStretchFactor(0, 3)
        self.ci.layout.setColumnStretchFactor(1, 2)

    # --- drawing ----------------------------------------------------------------------------------------------

    def set_window(self, window_s: float | None) -> None:
        self.window_s = window_s

    def visible_range(self) -> tuple[float, float]:
        now = self.model.now()
        if self.window_s is None:
            return 0.0, max(now, 10.0)
        return max(0.0, now - self.window_s) if now > self.window_s else 0.0, max(now, self.window_s)

    def redraw(self) -> None:
        """Draw the visible window of every series (GUI thread, from the redraw timer)."""
        m = self.model
        x0, x1 = self.visible_range()
        margin = 5.0
        start = x0 - margin

        t, hr = m.hr.window(start)
        self.hr_curve.setData(t, hr, connect="finite")
        self._draw_pacer_curve(start, x1, hr)

        t, rr = m.rr.window(start, 0)
        self.rr_curve.setData(t, rr, connect="finite")
        keep = m.artifact_t_s >= start
        self.rr_artifacts.setData(m.artifact_t_s[keep], m.artifact_rr_ms[keep])
        t, v = m.rsa_breaths.window(start)
        self.rsa_curve.setData(t, v, connect="finite")

        for key, curve in (("ln_rmssd", self.rmssd_curve),
                           ("coherence_ratio", self.coherence_curve),
                           ("breathing_rate_per_min", self.breathing_curve)):
            t, v = m.series[key].window(start)
            curve.setData(t, v, connect="finite")
        t, v = m.pacer_rate.window(-np.inf)
        if len(t):
            # a step line: each rate holds until the next change, the last one until now
            tt = np.append(t, x1)
            vv = np.append(v, v[-1])
            self.pacer_rate_curve.setData(np.repeat(tt, 2)[1:-1], np.repeat(vv, 2)[:-2], connect="finite")
        else:
            self.pacer_rate_curve.setData([], [])
        self._sync_annotations()
        self.plots["hr"].setXRange(x0, x1, padding=0.0)

    def _draw_pacer_curve(self, start: float, x1: float, hr: np.ndarray) -> None:
        t, vol = self.model.pacer_curve.window(start)
        finite = hr[np.isfinite(hr)] if len(hr) else hr
        if len(finite):
            lo, hi = float(finite.min()), float(finite.max())
        else:
            lo, hi = 55.0, 75.0
        span = max(hi - lo, 6.0)
        lo -= 0.15 * span
        hi = lo + span * 1.3
        keep = t <= x1 + 30
        self.pacer_fill.setFillLevel(lo)
        self.pacer_fill.setData(t[keep], lo + vol[keep] * (hi - lo) * 0.8, connect="finite")

    def _sync_annotations(self) -> None:
        anns = self.model.annotations
        if len(anns) < self._shown_annotations:  # model was reset
            for line in self._annotation_lines:
                line.getViewBox() and line.getViewBox().removeItem(line)
            self._annotation_lines.clear()
            self._shown_annotations = 0
        for t_s, text in anns[self._shown_annotations:]:
            for key in ("hr", "rr"):
                line = pg.InfiniteLine(pos=t_s, angle=90,
                                       pen=pg.mkPen(self.palette_.annotation, width=1.5, style=Qt.DashLine),
                                       label=text if key == "hr" else None,
                                       labelOpts={"position": 0.92, "color": self.palette_.annotation})
                self.plots[key].addItem(line)
                self._annotation_lines.append(line)
        self._shown_annotations = len(anns)
