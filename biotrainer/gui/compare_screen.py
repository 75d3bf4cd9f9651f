"""The compare screen: pick sessions (and optionally one phase name), see them overlaid and side by side.

Overlaid plots: heart rate and the RR tachogram against time since the start of the session or of the phase.
The table lists per-session metrics and, for two or more sessions, the difference of each to the first one.

The numbers come from :func:`biotrainer.compare.compare_sessions` when the comparison module provides it; until
then from :func:`summarize_beats` here: the metrics package's own artifact correction and time-domain functions
over the recorded beats (a thin adapter, no metric logic of its own).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biotrainer.gui.library_screen import format_started
from biotrainer.gui.plots import TimeAxis
from biotrainer.gui.theme import DARK, Palette

log = logging.getLogger(__name__)

WHOLE = "Whole session"
ROWS = (("duration_s", "Duration", "s", 0), ("n_beats", "Beats", "", 0), ("mean_hr_bpm", "Mean HR", "bpm", 1),
        ("mean_nn_ms", "Mean NN", "ms", 0), ("rmssd_ms", "RMSSD", "ms", 1), ("ln_rmssd", "lnRMSSD", "ln ms", 2),
        ("sdnn_ms", "SDNN", "ms", 1), ("corrected_pct", "Corrected beats", "%", 1))
SERIES_COLOURS = ("#5cc8b8", "#f08a7e", "#7f9ce0", "#d2b27a", "#b59ae6", "#7cc68d")


@dataclass
class SessionSlice:
    """The beats of one session (or one phase of it), time from the slice start."""

    label: str
    t_s: np.ndarray
    rr_ms: np.ndarray
    metrics: dict[str, float | None] = field(default_factory=dict)


def summarize_beats(rr_ms: np.ndarray, beat_t_s: np.ndarray, duration_s: float) -> dict[str, float | None]:
    """Per-slice metrics with the metrics package: artifact correction, then time-domain values."""
    out: dict[str, float | None] = {"duration_s": duration_s, "n_beats": float(len(rr_ms))}
    if len(rr_ms) < 3:
        return out
    try:
        from biotrainer.metrics.artifacts import correct_rr
        from biotrainer.metrics.time_domain import time_domain

        corr = correct_rr(rr_ms, beat_t_s)
        nn = corr.rr_corrected_ms
        td = time_domain(nn)
        out.update({k: td.get(k) for k in ("mean_nn_ms", "rmssd_ms", "sdnn_ms")})
        out["corrected_pct"] = 100.0 * corr.n_corrected / len(rr_ms)
        out["mean_hr_bpm"] = 60_000.0 / float(np.mean(nn)) if len(nn) else None
        rmssd = out.get("rmssd_ms")
        out["ln_rmssd"] = math.log(rmssd) if rmssd else None
    except Exception:  # noqa: BLE001 - show what can be shown
        log.exception("metrics for the comparison failed")
    return out


class CompareScreen(QWidget):
    notice = pyqtSignal(str)

    def __init__(self, palette: Palette = DARK, library: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library_dir = library
        self.slices: list[SessionSlice] = []
        root = QHBoxLayout(self)
        root.setContentsMargins(12, 8, 12, 12)
        split = QSplitter(Qt.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("Sessions (tick two or more)"))
        self.session_list = QListWidget()
        self.session_list.setSelectionMode(QAbstractItemView.NoSelection)
        ll.addWidget(self.session_list, 1)
        ll.addWidget(QLabel("Phase"))
        self.phase_box = QComboBox()
        self.phase_box.addItem(WHOLE)
        ll.addWidget(self.phase_box)
        row = QHBoxLayout()
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("primary")
        self.compare_button.clicked.connect(self.compare)
        reload_button = QPushButton("Reload")
        reload_button.clicked.connect(self.reload)
        row.addWidget(self.compare_button)
        row.addWidget(reload_button)
        ll.addLayout(row)
        split.addWidget(left)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(palette.plot_bg)
        self.hr_plot = self.plots.addPlot(row=0, col=0, axisItems={"bottom": TimeAxis(orientation="bottom")})
        self.rr_plot = self.plots.addPlot(row=1, col=0, axisItems={"bottom": TimeAxis(orientation="bottom")})
        for p, title in ((self.hr_plot, "Heart rate (bpm, from RR)"), (self.rr_plot, "RR tachogram (ms)")):
            p.setTitle(f"<span style='color:{palette.muted}'>{title}</span>", size="10pt")
            p.showGrid(x=True, y=True, alpha=palette.grid_alpha)
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            p.addLegend(offset=(-10, 10))
        self.rr_plot.setXLink(self.hr_plot)
        rl.addWidget(self.plots, 3)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        rl.addWidget(self.table, 2)
        self.source_label = QLabel("")
        self.source_label.setObjectName("muted")
        rl.addWidget(self.source_label)
        split.addWidget(right)
        split.setSizes([330, 1100])
        root.addWidget(split)
        self.reload()

    def library(self):  # noqa: ANN201
        from biotrainer.store import Library

        return Library(self.library_dir)

    def reload(self) -> None:
        self.session_list.clear()
        try:
            sessions = sorted(self.library().list_sessions(), key=lambda s: s.started_at, reverse=True)
        except Exception as exc:  # noqa: BLE001
            self.notice.emit(f"Library cannot be read: {exc}")
            sessions = []
        phases: set[str] = set()
        for s in sessions:
            if s.error:
                continue
            item = QListWidgetItem(f"{format_started(s.started_at)}  {s.participant}  {s.protocol}")
            item.setData(Qt.UserRole, s.id)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked)
            self.session_list.addItem(item)
            try:
                with self.library().open(s.id) as reader:
                    phases.update(p.name for p in reader.phases())
            except Exception:  # noqa: BLE001
                pass
        current = self.phase_box.currentText()
        self.phase_box.clear()
        self.phase_box.addItem(WHOLE)
        self.phase_box.addItems(sorted(phases))
        self.phase_box.setCurrentText(current)

    def checked_ids(self) -> list[str]:
        out = []
        for i in range(self.session_list.count()):
            item = self.session_list.item(i)
            if item.checkState() == Qt.Checked:
                out.append(item.data(Qt.UserRole))
        return out

    def set_checked(self, ids: list[str]) -> None:
        for i in range(self.session_list.count()):
            item = self.session_list.item(i)
            item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in ids else Qt.Unchecked)

    def load_slice(self, session_id: str, phase: str | None) -> SessionSlice | None:
        with self.library().open(session_id) as reader:
            beats = reader.beats()
            meta = reader.meta
            start, end = 0.0, float(reader.duration_s)
            if phase:
                match = [p for p in reader.phases() if p.name == phase]
                if not match:
                    return None
                start, end = match[0].start_s, match[0].end_s
        keep = (beats.beat_t_s >= start) & (beats.beat_t_s <= end)
        t, rr = beats.beat_t_s[keep] - start, beats.rr_ms[keep]
        who = ", ".join(v or k for k, v in meta.participants.items())
        label = f"{meta.started_at[5:16].replace('T', ' ')} {who}" + (f" · {phase}" if phase else "")
        return SessionSlice(label, t, rr, summarize_beats(rr, beats.beat_t_s[keep], end - start))

    def compare(self) -> None:
        ids = self.checked_ids()
        phase = self.phase_box.currentText()
        phase = None if phase in ("", WHOLE) else phase
        self.slices = []
        for sid in ids:
            try:
                sl = self.load_slice(sid, phase)
            except Exception as exc:  # noqa: BLE001
                self.notice.emit(f"Cannot read session {sid}: {exc}")
                continue
            if sl is not None:
                self.slices.append(sl)
        self._draw()

    def _draw(self) -> None:
        for p in (self.hr_plot, self.rr_plot):
            p.clear()
            if p.legend is not None:
                p.legend.clear()
        for i, sl in enumerate(self.slices):
            colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            hr = 60_000.0 / sl.rr_ms if len(sl.rr_ms) else sl.rr_ms
            self.hr_plot.plot(sl.t_s, hr, pen=pg.mkPen(colour, width=2), name=sl.label)
            self.rr_plot.plot(sl.t_s, sl.rr_ms, pen=pg.mkPen(colour, width=1.3), name=sl.label)
        n = len(self.slices)
        headers = [s.label for s in self.slices] + [f"Δ {s.label[:11]} − first" for s in self.slices[1:]]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(ROWS))
        self.table.setVerticalHeaderLabels([f"{name} ({unit})" if unit else name for _, name, unit, _ in ROWS])
        for r, (key, _name, _unit, decimals) in enumerate(ROWS):
            first = self.slices[0].metrics.get(key) if n else None
            for c, sl in enumerate(self.slices):
                self._cell(r, c, sl.metrics.get(key), decimals)
            for j, sl in enumerate(self.slices[1:]):
                v = sl.metrics.get(key)
                diff = v - first if v is not None and first is not None else None
                self._cell(r, n + j, diff, decimals, signed=True)
        self.source_label.setText("Metrics: artifact-corrected RR (Kubios method), time domain, per slice. "
                                  "Compare vagal indices only at the same breathing rate and posture."
                                  if n else "Tick sessions on the left and press Compare.")

    def _cell(self, row: int, col: int, value: float | None, decimals: int, signed: bool = False) -> None:
        text = "—" if value is None else (f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}")
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.table.setItem(row, col, item)
