"""Live plots: heart rate with the pacer's breathing curve, RR tachogram with artifact marks, per-breath RSA,
lnRMSSD trend, coherence ratio, breathing rate against the pacer.

:meth:`SessionPlots.redraw` is called by the screen's 20-30 Hz timer. It hands pyqtgraph only the slice of each
preallocated ring buffer that falls inside the visible window (``window_s``), with ``setClipToView`` and peak
downsampling on, so the cost of a frame does not grow with the length of the session.

Calm on purpose: each y-axis starts at a fixed physiological range (:data:`Y_RANGES`) and only ever widens when a
value falls outside it, so a small change never fills the plot and the column never jumps. A strap disconnect is a
break in the lines and a shaded "strap disconnected" band. When the widget is narrow (:data:`COMPACT_BELOW_PX`) the
two columns collapse into one, chosen with :attr:`SessionPlots.group_bar` (a tab bar the screen places above).
In replay (:meth:`SessionPlots.set_interactive`) the x-axis zooms and pans with the mouse and :meth:`show_all`
shows the whole session.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor
from PyQt5.QtWidgets import QLabel, QTabBar

from biotrainer.gui.model import SessionModel
from biotrainer.gui.theme import DARK, Palette
from biotrainer.metrics.catalogue import CATALOGUE

DEFAULT_WINDOW_S: Final = 180.0
COMPACT_BELOW_PX: Final = 600  # narrower than this: one column of plots, the other behind a tab
SHORT_BELOW_PX: Final = 330  # lower than this: one row of plots per tab
RR_GAP_S: Final = 3.0  # beats further apart than this (no physiological RR is) are drawn with a break
#: Starting y-range of each plot (physiological); a range only widens, never shrinks, during a session.
Y_RANGES: Final[dict[str, tuple[float, float]]] = {
    "hr": (50.0, 100.0), "rr": (600.0, 1200.0), "breathing": (3.0, 18.0), "rsa": (0.0, 150.0),
    "ln_rmssd": (2.5, 4.5), "coherence": (0.0, 4.0),
}
#: The plot grid: the signal (left column) and the variability indices (right column), three rows.
COLUMNS: Final = (("hr", "rr", "breathing"), ("rsa", "ln_rmssd", "coherence"))
TAB_TITLES: Final = {"hr": "Heart rate", "rr": "RR", "breathing": "Breathing", "rsa": "RSA", "ln_rmssd": "lnRMSSD",
                     "coherence": "Coherence"}


def pages(columns: int, rows: int) -> list[list[list[str]]]:
    """The plots shown per tab for a grid of ``columns`` × ``rows`` (each page: its columns of plot keys)."""
    if columns >= 2 and rows >= 3:
        return [[list(c) for c in COLUMNS]]
    if columns >= 2:  # one row: the signal and its index side by side
        return [[[COLUMNS[0][r]], [COLUMNS[1][r]]] for r in range(3)]
    if rows >= 3:
        return [[list(c)] for c in COLUMNS]
    return [[[k]] for c in COLUMNS for k in c]


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


def break_gaps(t: np.ndarray, v: np.ndarray, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``(t, v)`` with a NaN point inserted in every gap longer than ``max_gap_s``, so the line breaks there."""
    if len(t) < 2:
        return t, v
    gaps = np.flatnonzero(np.diff(t) > max_gap_s) + 1
    if not len(gaps):
        return t, v
    return np.insert(t, gaps, t[gaps - 1] + 1e-3), np.insert(v.astype(float), gaps, np.nan)


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
        self._bands: list[tuple[pg.LinearRegionItem, ...]] = []
        self._y: dict[str, tuple[float, float]] = dict(Y_RANGES)
        self.follow = True  # x follows "now"; False: the user zoomed or panned (replay)
        self.compact = False
        self.grid = (2, 3)  # columns, rows
        self.group_bar = QTabBar()
        self.group_bar.setExpanding(False)
        self.group_bar.setVisible(False)
        self.group_bar.currentChanged.connect(lambda _i: self._arrange())
        self.legend = QLabel("")  # above the plots (the screen places it): both people's lines, covering no data
        self.legend.setTextFormat(Qt.RichText)
        self.legend.setWordWrap(True)
        self.legend.setVisible(False)
        self.placeholder_text = "Waiting for data: start a session"
        self.overlay: SessionModel | None = None  # the other person's heart rate drawn over this one's (a dyad)
        self.overlay_names: tuple[str, str] = ("", "")
        self._build()
        self._placeholders = {k: self._placeholder(p) for k, p in self.plots.items()}

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
        p.enableAutoRange(axis="y", enable=False)
        p.setYRange(*Y_RANGES[key], padding=0.0)
        p.getAxis("left").setWidth(44)
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
        self.hr_other_curve = hr.plot(pen=pg.mkPen(pal.hr_other, width=2.2, style=Qt.DashLine))
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
        self.plots["hr"].getViewBox().sigRangeChangedManually.connect(self._on_user_range)

    def _placeholder(self, plot: pg.PlotItem) -> pg.TextItem:
        item = pg.TextItem(self.placeholder_text, color=self.palette_.muted, anchor=(0.5, 0.5))
        vb = plot.getViewBox()
        item.setParentItem(vb)
        vb.sigResized.connect(lambda box: item.setPos(box.boundingRect().center()))
        return item

    # --- layout -------------------------------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        super().resizeEvent(event)
        if not hasattr(self, "_placeholders"):  # pyqtgraph resizes while it is being built
            return
        grid = (1 if self.width() < COMPACT_BELOW_PX else 2, 1 if self.height() < SHORT_BELOW_PX else 3)
        if grid != self.grid:
            self.set_grid(*grid)

    def set_grid(self, columns: int, rows: int) -> None:
        """Show the plots on a grid of ``columns`` × ``rows``; the rest behind the tabs of :attr:`group_bar`."""
        self.grid = (columns, rows)
        self.compact = (columns, rows) != (2, 3)
        blocked = self.group_bar.blockSignals(True)
        while self.group_bar.count():
            self.group_bar.removeTab(0)
        for page in pages(columns, rows):
            self.group_bar.addTab(" · ".join(TAB_TITLES[k] for col in page for k in col))
        self.group_bar.blockSignals(blocked)
        self.group_bar.setVisible(self.compact)
        self._arrange()

    def _arrange(self) -> None:
        """The plots of the chosen tab's page (all six when there is room)."""
        for p in self.plots.values():
            if p.scene() is not None:
                self.ci.removeItem(p)
        all_pages = pages(*self.grid)
        page = all_pages[min(max(0, self.group_bar.currentIndex()), len(all_pages) - 1)]
        for col, keys in enumerate(page):
            for row, key in enumerate(keys):
                self.ci.addItem(self.plots[key], row=row, col=col)
        two = len(page) > 1
        self.ci.layout.setColumnStretchFactor(0, 3 if two and len(page[0]) > 1 else 1)
        self.ci.layout.setColumnStretchFactor(1, (2 if len(page[0]) > 1 else 1) if two else 0)

    def set_model(self, model: SessionModel) -> None:
        """Draw another model (a dyad's other person): annotation lines and bands are rebuilt for it."""
        if model is self.model:
            return
        for line in self._annotation_lines:
            if line.getViewBox() is not None:
                line.getViewBox().removeItem(line)
        self._annotation_lines.clear()
        self._shown_annotations = 0
        for items in self._bands:
            for key, item in zip(self.plots, items, strict=True):
                self.plots[key].removeItem(item)
        self._bands.clear()
        self.model = model

    def set_overlay(self, other: SessionModel | None, names: tuple[str, str] = ("", "")) -> None:
        """Both people on the heart-rate plot: this model's heart rate (solid) and ``other``'s (dashed, another
        Okabe–Ito colour), named by ``names`` (shown, other) in :attr:`legend` above the plots, so it covers no
        data. None: one person again."""
        self.overlay, self.overlay_names = other, names
        self.pacer_fill.setVisible(other is None)  # two people: the pacer band would be a third thing to read
        self._title_hr()
        if other is None:
            self.hr_other_curve.setData([], [])

    def _title_hr(self) -> None:
        pal = self.palette_
        unit = CATALOGUE["hrv.hr_bpm"].unit
        title = "Heart rate · pacer breath" if self.overlay is None else "Heart rate · both people"
        self.plots["hr"].setTitle(f"<span style='color:{pal.muted}'>{title} ({unit})</span>", size="10pt")
        shown, other = self.overlay_names
        self.legend.setText("" if self.overlay is None else
                            f"Heart rate: <span style='color:{pal.hr}'>━━ {shown}</span> &nbsp; "
                            f"<span style='color:{pal.hr_other}'>╍╍ {other}</span>")
        self.legend.setVisible(self.overlay is not None)

    def set_palette(self, palette: Palette) -> None:
        """Recolour every curve, band, mark and axis for ``palette`` at once (a theme change)."""
        self.palette_ = pal = palette
        self.setBackground(pal.plot_bg)
        for key, p in self.plots.items():
            if key != "hr":
                label = p.titleLabel.text
                p.setTitle(re.sub(r"color:[^']*'", f"color:{pal.muted}'", label), size="10pt")
            p.showGrid(x=True, y=True, alpha=pal.grid_alpha)
        self._title_hr()
        self.pacer_fill.setPen(pg.mkPen(_colour(pal.pacer_curve, 0.6), width=1.5))
        self.pacer_fill.setBrush(pg.mkBrush(_colour(pal.pacer_curve, 0.12)))
        self.hr_curve.setPen(pg.mkPen(pal.hr, width=2.2))
        self.hr_other_curve.setPen(pg.mkPen(pal.hr_other, width=2.2, style=Qt.DashLine))
        self.rr_curve.setPen(pg.mkPen(pal.rr, width=1.4))
        self.rr_curve.setSymbolBrush(pg.mkBrush(pal.rr))
        self.rr_artifacts.setSymbolPen(pg.mkPen(pal.artifact, width=2))
        self.pacer_rate_curve.setPen(pg.mkPen(_colour(pal.pacer_curve, 0.8), width=2, style=Qt.DashLine))
        self.breathing_curve.setPen(pg.mkPen(pal.breathing, width=2.2))
        self.rsa_curve.setPen(pg.mkPen(_colour(pal.rsa, 0.5), width=1.2))
        self.rsa_curve.setSymbolBrush(pg.mkBrush(pal.rsa))
        self.rmssd_curve.setPen(pg.mkPen(pal.rmssd, width=2.2))
        self.coherence_curve.setPen(pg.mkPen(pal.coherence, width=2.2))
        for item in self._placeholders.values():
            item.setColor(pal.muted)
        for items in self._bands:
            for band in items:
                band.setBrush(pg.mkBrush(_colour(pal.error, 0.18)))
        for line in self._annotation_lines:
            line.setPen(pg.mkPen(pal.annotation, width=1.5, style=Qt.DashLine))
            if getattr(line, "label", None) is not None:
                line.label.setColor(pal.annotation)
        self.redraw()

    def set_interactive(self, on: bool) -> None:
        """Replay: zoom and pan the time axis with the mouse (wheel, drag); y stays put."""
        for p in self.plots.values():
            p.getViewBox().setMouseEnabled(x=on, y=False)

    def _on_user_range(self, *_args) -> None:  # noqa: ANN002
        self.follow = False

    def show_all(self, end_s: float) -> None:
        """The whole session, 0 to ``end_s`` (stops following the play head)."""
        self.follow = False
        self.redraw()
        self.plots["hr"].setXRange(0.0, max(end_s, 10.0), padding=0.0)

    def zoom(self, factor: float, centre_s: float | None = None) -> None:
        """Zoom the time axis by ``factor`` (< 1 in) around ``centre_s`` (default: the middle)."""
        x0, x1 = self.plots["hr"].getViewBox().viewRange()[0]
        c = (x0 + x1) / 2 if centre_s is None else centre_s
        half = max(5.0, (x1 - x0) * factor / 2)
        self.follow = False
        self.plots["hr"].setXRange(max(0.0, c - half), c + half, padding=0.0)
        self.redraw()

    def reset_ranges(self) -> None:
        """Back to the physiological y-ranges (a new session)."""
        self._y = dict(Y_RANGES)
        for key, p in self.plots.items():
            p.setYRange(*Y_RANGES[key], padding=0.0)

    # --- drawing ----------------------------------------------------------------------------------------------

    def set_window(self, window_s: float | None) -> None:
        self.window_s = window_s

    def visible_range(self) -> tuple[float, float]:
        if not self.follow:
            x0, x1 = self.plots["hr"].getViewBox().viewRange()[0]
            return float(x0), float(x1)
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
        if self.overlay is not None:
            t, hr_other = self.overlay.hr.window(start)
            self.hr_other_curve.setData(t, hr_other, connect="finite")

        t, rr = break_gaps(*m.rr.window(start, 0), RR_GAP_S)
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
        self._sync_bands()
        self._widen_ranges()
        self._show_placeholders(len(m.rr) == 0 and len(m.hr) == 0)
        if self.follow:
            self.plots["hr"].setXRange(x0, x1, padding=0.0)

    def _show_placeholders(self, empty: bool) -> None:
        for item in self._placeholders.values():
            item.setVisible(empty)
            if empty and item.toPlainText() != self.placeholder_text:
                item.setText(self.placeholder_text)

    def _widen_ranges(self) -> None:
        """Widen a y-range that a drawn value falls outside of (by 10 % of the range); never shrink."""
        curves = {"hr": self.hr_curve, "hr_other": self.hr_other_curve, "rr": self.rr_curve, "breathing": self.breathing_curve,
                  "rsa": self.rsa_curve, "ln_rmssd": self.rmssd_curve, "coherence": self.coherence_curve}
        for name, curve in curves.items():
            key = "hr" if name == "hr_other" else name
            _x, y = curve.getData()
            if y is None or not len(y):
                continue
            y = np.asarray(y, dtype=float)
            y = y[np.isfinite(y)]
            if not len(y):
                continue
            lo, hi = self._y[key]
            pad = 0.1 * (hi - lo)
            new = (min(lo, float(y.min()) - pad) if y.min() < lo else lo,
                   max(hi, float(y.max()) + pad) if y.max() > hi else hi)
            if new != (lo, hi):
                self._y[key] = new
                self.plots[key].setYRange(*new, padding=0.0)

    def _sync_bands(self) -> None:
        """A shaded "strap disconnected" band on every plot for each disconnect of the shown person."""
        spans = self.model.disconnects
        if len(spans) < len(self._bands):  # model was reset
            for items in self._bands:
                for key, item in zip(self.plots, items, strict=True):
                    self.plots[key].removeItem(item)
            self._bands.clear()
        end = self.model.now()
        for i, (a, b) in enumerate(spans):
            if i == len(self._bands):
                self._bands.append(tuple(self._band(p, key == "hr") for key, p in self.plots.items()))
            for item in self._bands[i]:
                item.setRegion((a, end if b is None else b))

    def _band(self, plot: pg.PlotItem, labelled: bool) -> pg.LinearRegionItem:
        band = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(_colour(self.palette_.error, 0.18)),
                                   pen=pg.mkPen(None))
        band.setZValue(-10)
        if labelled:
            label = pg.InfLineLabel(band.lines[0], "strap disconnected", position=0.95, anchor=(0, 0),
                                    color=self.palette_.error)
            label.setAngle(0)  # level text beside the band's start, not along the line
        plot.addItem(band)
        return band

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
