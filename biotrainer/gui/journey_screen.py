"""The Journey view of the library: one participant's practice over weeks, per protocol and phase.

Renders :func:`biotrainer.analysis.trend.journey` (computed off the GUI thread): the practice calendar (a square
per day of the last weeks, darker for more minutes, a dot on days with a reset), then one plot per metric of the
sessions' values over dates (± within-phase SD) with the robust slope per week as a dashed line, and under each
plot the slope in words or "not enough sessions yet". Tooltips give the catalogue's plain-language description.
No analysis happens here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pyqtgraph as pg
from PyQt5.QtCore import QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QPainter
from PyQt5.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biotrainer.gui.background import compute_in_background
from biotrainer.gui.theme import DARK, Palette
from biotrainer.metrics.catalogue import CATALOGUE

#: How many weeks the practice calendar shows (ending with the last day practised).
CALENDAR_WEEKS = 12
#: Metric key → palette colour name of its plot.
SERIES_COLOUR = {"breathing.rate_per_min": "breathing", "hrv.hr_bpm": "hr", "hrv.ln_rmssd": "rmssd",
                 "rsa.p2t_ms": "rsa", "coherence.ratio": "coherence", "self_report.calm": "accent",
                 "self_report.present": "hold"}

#: The smallest y range of a metric's plot (design choice), so session-to-session noise is not magnified into a
#: dramatic curve; self-reports always show their whole 0-10 scale.
MIN_Y_SPAN = {"breathing.rate_per_min": 2.0, "hrv.hr_bpm": 6.0, "hrv.ln_rmssd": 0.4, "rsa.p2t_ms": 20.0,
              "coherence.ratio": 2.0}
FULL_SCALE = {"self_report.calm": (0.0, 10.0), "self_report.present": (0.0, 10.0),
              "breath_counting.accuracy_pct": (0.0, 100.0)}


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


class CalendarStrip(QWidget):
    """Days practised over the last :data:`CALENDAR_WEEKS` weeks: a column per week, a row per weekday."""

    CELL = 14
    GAP = 3

    def __init__(self, palette: Palette, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.days: dict[str, dict[str, Any]] = {}
        self.last: date | None = None
        side = self.CELL + self.GAP
        self.setFixedSize(CALENDAR_WEEKS * side + self.GAP, 7 * side + self.GAP)

    def set_calendar(self, calendar: dict[str, Any]) -> None:
        self.days = {d["date"]: d for d in calendar.get("days", [])}
        self.last = date.fromisoformat(calendar["last"]) if calendar.get("last") else None
        tips = [f"{d['date']}: {d['sessions']} session(s), {d['minutes']:.0f} min"
                + (f", {d['resets']} reset(s)" if d["resets"] else "") for d in calendar.get("days", [])[-10:]]
        self.setToolTip("Days practised (darker: more minutes; dot: a reset)\n" + "\n".join(tips))
        self.update()

    def cell_date(self, week: int, weekday: int) -> date | None:
        """The date of the cell in column ``week`` (0 = oldest) and row ``weekday`` (0 = Monday)."""
        if self.last is None:
            return None
        monday = self.last - timedelta(days=self.last.weekday()) - timedelta(weeks=CALENDAR_WEEKS - 1 - week)
        return monday + timedelta(days=weekday)

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        side = self.CELL + self.GAP
        accent = QColor(self.palette_.accent)
        for week in range(CALENDAR_WEEKS):
            for wd in range(7):
                d = self.cell_date(week, wd)
                rect = QRectF(self.GAP + week * side, self.GAP + wd * side, self.CELL, self.CELL)
                day = self.days.get(d.isoformat()) if d else None
                colour = QColor(self.palette_.panel_alt)
                if day is not None:
                    colour = QColor(accent)
                    colour.setAlphaF(min(1.0, 0.35 + day["minutes"] / 30.0))
                if d is not None and self.last is not None and d > self.last:
                    colour.setAlphaF(0.25)
                p.setPen(Qt.NoPen)
                p.setBrush(colour)
                p.drawRoundedRect(rect, 3, 3)
                if day is not None and day["resets"]:
                    p.setBrush(QColor(self.palette_.window))
                    p.drawEllipse(rect.center(), 2.5, 2.5)
        p.end()


class MetricPlot(QWidget):
    """One metric over dates: points (± SD), the robust slope as a dashed line, the slope in words below."""

    def __init__(self, palette: Palette, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.key = key
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel("")
        self.title.setObjectName("tileTitle")
        lay.addWidget(self.title)
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.plot.setBackground(palette.plot_bg)
        self.plot.showGrid(x=True, y=True, alpha=palette.grid_alpha)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setFixedHeight(190)
        lay.addWidget(self.plot, 1)
        self.words = QLabel("")
        self.words.setWordWrap(True)
        self.words.setObjectName("muted")
        lay.addWidget(self.words)
        m = CATALOGUE.get(key)
        if m is not None:
            self.setToolTip(f"{m.label_with_unit}: {m.description}")

    def show_series(self, series: dict[str, Any], words: str) -> None:
        self.title.setText(series["label"] + (f" ({series['unit']})" if series["unit"] else ""))
        self.words.setText(words)
        self.plot.clear()
        if not series["values"]:
            return
        colour = getattr(self.palette_, SERIES_COLOUR.get(self.key, "accent"), self.palette_.accent)
        x = [_unix(d) for d in series["dates"]]
        y = series["values"]
        sd = [s or 0.0 for s in series.get("sd") or [0.0] * len(y)]
        import numpy as np

        self.plot.addItem(pg.ErrorBarItem(x=np.array(x), y=np.array(y), height=2 * np.array(sd),
                                          pen=pg.mkPen(colour, width=1)))
        self.plot.plot(x, y, pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=7, symbolBrush=colour,
                       symbolPen=None)
        fit = series.get("fit")
        if fit:
            self.plot.plot([_unix(d) for d in fit["dates"]], fit["values"],
                           pen=pg.mkPen(self.palette_.text, width=1.5, style=Qt.DashLine))
        pad = max(3600.0 * 12, 0.05 * (max(x) - min(x)))
        self.plot.setXRange(min(x) - pad, max(x) + pad, padding=0)
        self.plot.setYRange(*self.y_range(y, sd), padding=0)

    def y_range(self, y: list[float], sd: list[float]) -> tuple[float, float]:
        """The values ± SD, widened to :data:`MIN_Y_SPAN` around their middle (a self-report: 0-10)."""
        if self.key in FULL_SCALE:
            lo, hi = FULL_SCALE[self.key]
            return lo - 0.5, hi + 0.5
        lo = min(v - e for v, e in zip(y, sd, strict=True))
        hi = max(v + e for v, e in zip(y, sd, strict=True))
        span = max(hi - lo, MIN_Y_SPAN.get(self.key, 0.0), 1e-9) * 1.1
        mid = (lo + hi) / 2.0
        return mid - span / 2.0, mid + span / 2.0


class JourneyScreen(QWidget):
    """The Journey view: participant, protocol and phase choosers, the calendar and the plots."""

    journey_ready = pyqtSignal(object)  # the journey dict, or the error text (worker → GUI thread)

    def __init__(self, palette: Palette = DARK, library: str | None = None, participant: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library_dir = library
        self.result: dict[str, Any] | None = None
        self.error = ""
        self.plots: dict[str, MetricPlot] = {}
        self.journey_ready.connect(self._on_journey)
        self.setWindowTitle("Journey · biotrainer")
        self.resize(1200, 860)
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 8, 12, 12)
        top = QHBoxLayout()
        self.participant = QComboBox()
        self.protocol = QComboBox()
        self.phase = QComboBox()
        for label, combo in (("Participant", self.participant), ("Protocol", self.protocol), ("Phase", self.phase)):
            top.addWidget(QLabel(label))
            combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
            top.addWidget(combo)
        top.addStretch(1)
        root.addLayout(top)
        head = QHBoxLayout()
        self.calendar = CalendarStrip(palette)
        head.addWidget(self.calendar)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        head.addWidget(self.summary, 1)
        root.addLayout(head)
        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_box)
        root.addWidget(scroll, 1)
        self.note = QLabel("Each point compares only with the same protocol and phase. Read lnRMSSD and RSA beside "
                           "the breathing rate; a practice tool, not a diagnosis.")
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        root.addWidget(self.note)
        self._fill_participants(participant)
        self.participant.currentTextChanged.connect(self._participant_changed)
        self.protocol.currentTextChanged.connect(lambda _t: self.refresh(phase=None))
        self.phase.activated.connect(lambda _i: self.refresh(phase=self.phase.currentText()))
        self._participant_changed()

    # --- choosing -----------------------------------------------------------------------------------------------

    def library(self):  # noqa: ANN201 - biotrainer.store.Library
        from biotrainer.store import Library

        return Library(self.library_dir)

    def _summaries(self) -> list:
        try:
            return [s for s in self.library().list_sessions() if not s.error]
        except Exception as exc:  # noqa: BLE001 - show the problem, keep the window
            self.summary.setText(f"The library cannot be read: {exc}")
            return []

    def _fill_participants(self, wanted: str | None) -> None:
        self.sessions = self._summaries()
        names = sorted({p or r for s in self.sessions for r, p in s.participants.items()})
        self.participant.addItems(names)
        if wanted in names:
            self.participant.setCurrentText(wanted)
        if not names:
            self.summary.setText("No sessions yet: the journey starts with the first practice.")

    def _participant_changed(self, *_args: object) -> None:
        from biotrainer.analysis.trend import NO_PROTOCOL

        who = self.participant.currentText()
        counts: dict[str, int] = {}
        for s in self.sessions:
            if who in s.participants.values() or who in s.participants:
                counts[s.protocol or NO_PROTOCOL] = counts.get(s.protocol or NO_PROTOCOL, 0) + 1
        blocked = self.protocol.blockSignals(True)
        self.protocol.clear()
        # the most practised protocol first
        self.protocol.addItems(sorted(counts, key=lambda p: (-counts[p], p)))
        self.protocol.blockSignals(blocked)
        self.refresh(phase=None)

    # --- computing ----------------------------------------------------------------------------------------------

    def refresh(self, phase: str | None = None) -> None:
        """Compute the journey of the chosen participant, protocol and ``phase`` (None: the default) off the GUI
        thread; :attr:`journey_ready` fires when it is shown."""
        who, protocol = self.participant.currentText(), self.protocol.currentText()
        if not who or not protocol:
            return
        self.summary.setText(f"Reading the sessions of {who}…")
        lib_dir = self.library_dir

        def work() -> Any:
            from biotrainer.analysis.trend import journey
            from biotrainer.store import Library

            return journey(Library(lib_dir), participant=who, protocol=protocol, phase=phase)

        compute_in_background(work, lambda out: self.journey_ready.emit(out), "biotrainer-journey")

    def _on_journey(self, result: object) -> None:
        if isinstance(result, str):
            self.result, self.error = None, result
            self.summary.setText(result)
            return
        assert isinstance(result, dict)
        self.result, self.error = result, ""
        self.show_journey(result)

    # --- showing ------------------------------------------------------------------------------------------------

    def show_journey(self, result: dict[str, Any]) -> None:
        from biotrainer.analysis.trend import calendar_words, slope_words

        blocked = self.phase.blockSignals(True)
        self.phase.clear()
        self.phase.addItems(result["phases"])
        self.phase.setCurrentText(result["phase"])
        self.phase.blockSignals(blocked)
        self.calendar.set_calendar(result["calendar"])
        n = len(result["sessions"])
        intention = next((p["intention"] for p in reversed(result["sessions"]) if p.get("intention")), "")
        self.summary.setText(
            f"<b>{result['participant']}</b> · {result['protocol']} · phase <b>{result['phase']}</b> · {n} "
            f"session{'s' if n != 1 else ''}<br>Practice: {calendar_words(result['calendar'])}"
            + (f"<br>Latest intention: “{intention}”" if intention else ""))
        for plot in self.plots.values():
            plot.setParent(None)
        self.plots = {}
        for i, (key, series) in enumerate(result["metrics"].items()):
            plot = MetricPlot(self.palette_, key)
            plot.show_series(series, slope_words(key, series))
            self.grid.addWidget(plot, i // 2, i % 2)
            self.plots[key] = plot
