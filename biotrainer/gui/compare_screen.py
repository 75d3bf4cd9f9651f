"""The compare screen: pick sessions, then a phase; see them overlaid and side by side.

The numbers come from :func:`biotrainer.analysis.compare.compare_sessions` (phases matched by name, every value from the
metrics engine over the whole phase, a difference verdict against within-phase variability); this screen only
runs it off the GUI thread and shows the result. Overlaid plots: heart rate (from RR) and the RR tachogram against
time since the start of the chosen phase. Breathing rate is the first row, beside the vagal indices.

One ticked session is compared within itself (``biotrainer compare ID``): each phase against the first one, e.g.
resting baseline against paced breathing, with the phases overlaid in the plots. Two or more sessions of the same
therapist–client dyad also get the attunement trend (:func:`biotrainer.analysis.synchrony.synchrony_trend`, what
``biotrainer synchrony ID ID…`` prints): effect size against chance per session and its change, week 1 to week 8.
"Same protocol only" lists just the sessions of the ticked sessions' protocol.

Series differ by colour (Okabe–Ito, safe with colour-vision deficiency) and by line style; the legend sits above the
plots, never over the data; column headers are two short lines with the whole title as tooltip.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
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
from biotrainer.gui.theme import DARK, OKABE_ITO, Palette
from biotrainer.metrics.catalogue import COMPARE_SCREEN, MISSING_EM, format_value

log = logging.getLogger(__name__)

#: Okabe & Ito (2008) colours, told apart with colour-vision deficiency; each series also has its own line style.
SERIES_COLOURS = tuple(OKABE_ITO[k] for k in ("orange", "sky_blue", "bluish_green", "yellow", "reddish_purple",
                                              "vermillion", "blue"))
SERIES_STYLES = (Qt.SolidLine, Qt.DashLine, Qt.DotLine, Qt.DashDotLine, Qt.DashDotDotLine)
STYLE_GLYPHS = ("━━", "╍╍", "┅┅", "━·", "━··")
LETTERS = "ABCDEFGHIJ"


def series_pen(i: int, width: float = 2.0):  # noqa: ANN201 - QPen
    """The pen of series ``i``: an Okabe–Ito colour and a line style."""
    return pg.mkPen(SERIES_COLOURS[i % len(SERIES_COLOURS)], width=width, style=SERIES_STYLES[i % len(SERIES_STYLES)])


def legend_html(labels: list[str]) -> str:
    """The legend line above the plots: each label after a sample of its colour and line style."""
    from html import escape

    return "  ".join(f"<span style='color:{SERIES_COLOURS[i % len(SERIES_COLOURS)]}'>"
                     f"{STYLE_GLYPHS[i % len(STYLE_GLYPHS)]}</span> {escape(t)}" for i, t in enumerate(labels))


@dataclass
class SessionBeats:
    """Recorded beats and phase spans of one session, for the overlaid plots."""

    id: str
    label: str
    beat_t_s: np.ndarray
    rr_ms: np.ndarray
    phases: dict[str, tuple[float, float]]

    def slice(self, phase: str | None) -> tuple[np.ndarray, np.ndarray]:
        """``(t from phase start, rr_ms)`` of ``phase`` (whole session for None or an unknown phase)."""
        start, end = self.phases.get(phase or "", (0.0, np.inf))
        keep = (self.beat_t_s > start) & (self.beat_t_s <= end)
        return self.beat_t_s[keep] - start, self.rr_ms[keep]


def load_beats(library, session_id: str, letter: str) -> SessionBeats:  # noqa: ANN001
    """The beats the comparison used (the participant rule's default participant) and the phase spans."""
    from biotrainer.analysis.participants import participant_beats

    with library.open(session_id) as reader:
        beats = participant_beats(reader)
        meta = reader.meta
        phases = {p.label: (p.start_s, p.end_s) for p in reader.phases()}  # names as compare gives them
    who = ", ".join(v or k for k, v in meta.participants.items())
    label = f"{letter}: {meta.title or format_started(meta.started_at)} ({who})"
    return SessionBeats(session_id, label, beats.beat_t_s, beats.rr_ms, phases)


def _alpha(hex_colour: str, alpha: float):  # noqa: ANN202 - QColor
    c = pg.mkColor(hex_colour)
    c.setAlphaF(alpha)
    return c


def dyad_trend(library, ids: list[str], summaries: list) -> dict | None:  # noqa: ANN001
    """The attunement trend of ticked sessions that are all of two people (None otherwise); ``{"reason": …}`` when
    it cannot be computed (e.g. sessions of different dyads)."""
    from biotrainer.analysis.synchrony import SynchronyOptions, synchrony_trend
    from biotrainer.core.errors import BiotrainerError

    people = {s.id: s.participants for s in summaries}
    if len(ids) < 2 or any(len(people.get(i, {})) < 2 for i in ids):
        return None
    try:
        return synchrony_trend(library, list(ids), SynchronyOptions())
    except BiotrainerError as exc:
        return {"reason": str(exc)}


def fmt(key: str, value: float | None, signed: bool = False) -> str:
    """A value in the compare table: the catalogue's decimals for this screen, "—" when missing."""
    return format_value(key, value, view=COMPARE_SCREEN, signed=signed, missing=MISSING_EM)


class CompareScreen(QWidget):
    """Pick sessions and a phase; overlaid plots and a table of metrics with differences."""

    notice = pyqtSignal(str)
    compared = pyqtSignal(dict, list, str)  # result, [SessionBeats], error (worker → GUI thread)

    def __init__(self, palette: Palette = DARK, library: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library_dir = library
        self.result: dict = {}
        self.beats: list[SessionBeats] = []
        self.sessions: list = []
        self.busy = False
        self.compared.connect(self._on_compared)
        root = QHBoxLayout(self)
        root.setContentsMargins(12, 8, 12, 12)
        split = QSplitter(Qt.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        hint = QLabel("Tick one session (its phases against each other) or two or more (matched phases)")
        hint.setWordWrap(True)
        ll.addWidget(hint)
        self.same_protocol_box = QCheckBox("Same protocol only")
        self.same_protocol_box.setToolTip("List only the sessions of the protocol of the ticked sessions")
        self.same_protocol_box.toggled.connect(lambda _on: self._filter_list())
        ll.addWidget(self.same_protocol_box)
        self.session_list = QListWidget()
        self.session_list.setSelectionMode(QAbstractItemView.NoSelection)
        self.session_list.setWordWrap(True)
        self.session_list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.session_list.itemChanged.connect(lambda _item: self._filter_list())
        ll.addWidget(self.session_list, 1)
        ll.addWidget(QLabel("Phase (matched by name)"))
        self.phase_box = QComboBox()
        self.phase_box.currentTextChanged.connect(self.show_phase)
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
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.RichText)
        rl.addWidget(self.legend)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(palette.plot_bg)
        self.hr_plot = self.plots.addPlot(row=0, col=0, axisItems={"bottom": TimeAxis(orientation="bottom")})
        self.rr_plot = self.plots.addPlot(row=1, col=0, axisItems={"bottom": TimeAxis(orientation="bottom")})
        for p, title in ((self.hr_plot, "Heart rate (bpm, from RR) · time from phase start"),
                     (self.rr_plot, "RR tachogram (ms)")):
            p.setTitle(f"<span style='color:{palette.muted}'>{title}</span>", size="10pt")
            p.showGrid(x=True, y=True, alpha=palette.grid_alpha)
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            p.getAxis("left").setWidth(48)
        self.hr_plot.setYRange(50, 100)
        self.rr_plot.setYRange(600, 1200)
        self.placeholder = pg.TextItem("Tick sessions and press Compare", color=palette.muted, anchor=(0.5, 0.5))
        self.placeholder.setParentItem(self.hr_plot.getViewBox())
        self.hr_plot.getViewBox().sigResized.connect(
            lambda vb: self.placeholder.setPos(vb.boundingRect().center()))
        self.rr_plot.setXLink(self.hr_plot)
        self.dyad_plot = self.plots.addPlot(row=2, col=0)
        self.dyad_plot.setTitle(f"<span style='color:{palette.muted}'>Attunement per session: effect size against "
                                "chance (0 = chance)</span>", size="10pt")
        self.dyad_plot.showGrid(x=False, y=True, alpha=palette.grid_alpha)
        self.dyad_plot.getAxis("left").setWidth(48)
        self.dyad_plot.hide()
        plots_and_table = QSplitter(Qt.Vertical)
        plots_and_table.setChildrenCollapsible(False)
        plots_and_table.addWidget(self.plots)
        rl.addWidget(plots_and_table, 1)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.setWordWrap(True)
        plots_and_table.addWidget(self.table)
        plots_and_table.setStretchFactor(0, 3)
        plots_and_table.setStretchFactor(1, 2)
        self.status = QLabel("Tick sessions on the left and press Compare.")
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        rl.addWidget(self.status)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        left.setMinimumWidth(220)
        right.setMinimumWidth(360)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 1100])
        root.addWidget(split)
        self.reload()

    def library(self):  # noqa: ANN201
        from biotrainer.store import Library

        return Library(self.library_dir)

    def reload(self) -> None:
        checked = set(self.checked_ids())
        self.session_list.clear()
        try:
            self.sessions = sorted(self.library().list_sessions(), key=lambda s: s.started_at, reverse=True)
        except Exception as exc:  # noqa: BLE001
            self.notice.emit(f"Library cannot be read: {exc}")
            self.sessions = []
        for s in self.sessions:
            if s.error:
                continue
            text = f"{format_started(s.started_at)}  {s.participant}  {s.protocol}" + (f"\n{s.title}"
                                                                                      if s.title else "")
            item = QListWidgetItem(text)
            item.setToolTip(text)
            item.setData(Qt.UserRole, s.id)
            item.setData(Qt.UserRole + 1, s.protocol)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if s.id in checked else Qt.Unchecked)
            self.session_list.addItem(item)
        self._filter_list()

    def _filter_list(self) -> None:
        """With "Same protocol only": hide the sessions of other protocols than the ticked ones'."""
        ticked = {self.session_list.item(i).data(Qt.UserRole + 1) for i in range(self.session_list.count())
                  if self.session_list.item(i).checkState() == Qt.Checked}
        only = self.same_protocol_box.isChecked() and bool(ticked)
        for i in range(self.session_list.count()):
            item = self.session_list.item(i)
            item.setHidden(only and item.data(Qt.UserRole + 1) not in ticked)

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

    # --- comparing (worker thread) ------------------------------------------------------------------------------

    def compare(self) -> None:
        """Compare the ticked sessions (oldest first is the reference A) on a worker thread."""
        ids = self.checked_ids()
        order = {s.id: s.started_at for s in self.sessions}
        ids.sort(key=lambda i: order.get(i, ""))
        if not ids:
            self.status.setText("Tick sessions on the left and press Compare.")
            return
        self.compare_button.setEnabled(False)
        self.status.setText(f"Comparing {len(ids)} session(s)…")
        self.placeholder.setText(f"Comparing {len(ids)} session(s)…")
        self.placeholder.show()
        self.busy = True
        threading.Thread(target=self._compare_worker, args=(ids,), name="biotrainer-compare", daemon=True).start()

    def _compare_worker(self, ids: list[str]) -> None:
        try:
            from biotrainer.analysis.compare import compare_sessions

            lib = self.library()
            result = compare_sessions(lib, ids, by="session" if len(ids) > 1 else "phase")
            beats = [load_beats(lib, sid, LETTERS[i % len(LETTERS)]) for i, sid in enumerate(ids)]
            result["dyad_trend"] = dyad_trend(lib, ids, self.sessions)
            self.compared.emit(result, beats, "")
        except Exception as exc:  # noqa: BLE001 - show the problem, keep the window
            log.exception("comparison failed")
            self.compared.emit({}, [], f"Comparison failed: {exc}")

    def set_palette(self, palette: Palette) -> None:
        """Recolour the plots at once (a theme change); the last comparison is drawn again."""
        import re

        self.palette_ = palette
        self.plots.setBackground(palette.plot_bg)
        for p in (self.hr_plot, self.rr_plot, self.dyad_plot):
            p.setTitle(re.sub(r"color:[^']*'", f"color:{palette.muted}'", p.titleLabel.text), size="10pt")
            p.showGrid(x=True, y=True, alpha=palette.grid_alpha)
        self.placeholder.setColor(palette.muted)
        if self.result:
            self.show_phase(self.phase_box.currentText())

    def _on_compared(self, result: dict, beats: list, error: str) -> None:
        self.busy = False
        self.compare_button.setEnabled(True)
        self.result, self.beats = result, beats
        if error:
            self.status.setText(error)
            return
        self.placeholder.hide()
        self._show_dyad_trend(result.get("dyad_trend"))
        names: list[str] = []
        for st in result.get("sessions", []):
            for ph in st["phases"]:
                if ph["name"] not in names:
                    names.append(ph["name"])
        blocked = self.phase_box.blockSignals(True)
        current = self.phase_box.currentText()
        self.phase_box.clear()
        self.phase_box.addItems(names)
        if current in names:
            self.phase_box.setCurrentText(current)
        elif "paced" in names:
            self.phase_box.setCurrentText("paced")
        self.phase_box.setEnabled(result.get("mode") != "phase")
        self.phase_box.blockSignals(blocked)
        self.show_phase(self.phase_box.currentText())

    def show_phase(self, phase: str) -> None:
        """Fill the plots and the table for ``phase`` from the last comparison."""
        result = self.result
        if not result:
            return
        if result.get("mode") == "phase":
            self._show_within(result)
            return
        self._plot_phase(phase)
        sessions = result.get("sessions", [])
        metrics = result.get("metrics", [])
        self._table_headers(sessions, metrics)
        by_key = {(c["session"], c["phase"], c["metric"]): c for c in result.get("comparisons", [])}
        for r, m in enumerate(metrics):
            self._value_cells(r, m["key"], sessions, phase)
            self._difference_cells(r, m["key"], sessions, phase, by_key)
        self.status.setText("Values: metrics engine over the whole phase (± SD over 60-s windows). Differences "
                            "against A: ● beyond within-phase variability, ○ uncertain (hover a cell for the verdict). "
                            "Compare vagal indices only at the same breathing rate and posture.")

    def _plot_phase(self, phase: str) -> None:
        self._plot_series([(sb.label, *sb.slice(phase)) for sb in self.beats])

    def _plot_series(self, series: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
        """Overlay ``(label, t, rr_ms)`` series on the heart-rate and RR plots; the legend above them."""
        for p in (self.hr_plot, self.rr_plot):
            p.clear()
        for i, (label, t, rr) in enumerate(series):
            self.hr_plot.plot(t, 60_000.0 / rr if len(rr) else rr, pen=series_pen(i, 2.0), name=label)
            self.rr_plot.plot(t, rr, pen=series_pen(i, 1.3), name=label)
        for p, (lo, hi) in ((self.hr_plot, (50.0, 100.0)), (self.rr_plot, (600.0, 1200.0))):
            ys = [c.getData()[1] for c in p.listDataItems()]
            ys = [y[np.isfinite(y)] for y in ys if y is not None and len(y)]
            if ys:  # the physiological range, widened to the data
                lo, hi = min(lo, min(float(y.min()) for y in ys)), max(hi, max(float(y.max()) for y in ys))
            p.setYRange(lo, hi, padding=0.05)
        self.legend.setText(legend_html([label for label, _t, _rr in series]))

    def _show_within(self, result: dict) -> None:
        """One session: each phase against the first (e.g. resting baseline vs slow breathing), phases overlaid."""
        (st,) = result["sessions"][:1]
        phases = st["phases"]
        sb = self.beats[0] if self.beats else None
        if sb is not None:
            self._plot_series([(ph["name"], *sb.slice(ph["name"])) for ph in phases])
        metrics = result.get("metrics", [])
        headers = [ph["name"] for ph in phases] + [f"{ph['name']}\n− {phases[0]['name']}" for ph in phases[1:]]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(metrics))
        self.table.setVerticalHeaderLabels([f"{m['label']} ({m['unit']})" if m["unit"] else m["label"]
                                            for m in metrics])
        by_key = {(c["phase"], c["metric"]): c for c in result.get("comparisons", [])}
        for r, m in enumerate(metrics):
            key = m["key"]
            for c, ph in enumerate(phases):
                value, sd = ph["values"].get(key), ph["sd"].get(key)
                text = fmt(key, value) + (f" ± {fmt(key, sd)}" if value is not None and sd is not None else "")
                self._cell(r, c, text, ph.get("reasons", {}).get(key, "") if value is None else "")
            for j, ph in enumerate(phases[1:]):
                comp = by_key.get((ph["name"], key))
                if comp is None:
                    self._cell(r, len(phases) + j, MISSING_EM, "no value in one of the phases")
                else:
                    self._cell(r, len(phases) + j, fmt(key, comp["difference"], signed=True), comp["verdict"],
                               verdict=comp["verdict"])
        self.status.setText(f"Within one session: each phase against {phases[0]['name']} (● beyond within-phase "
                            "variability, ○ uncertain; hover a cell). Plots: the phases overlaid, time from "
                            "each phase's start.")

    def _show_dyad_trend(self, trend: dict | None) -> None:
        """The attunement of one dyad over its sessions (effect size against chance per session)."""
        self.dyad_plot.clear()
        self.dyad_label_text = ""
        if not trend or not trend.get("sessions"):
            self.dyad_plot.setVisible(bool(trend and trend.get("reason")))
            if trend and trend.get("reason"):
                self.dyad_plot.setTitle(f"<span style='color:{self.palette_.muted}'>Attunement trend: "
                                        f"{trend['reason']}</span>", size="10pt")
            return
        rows = trend["sessions"]
        x = np.arange(len(rows), dtype=float)
        y = np.array([np.nan if r["effect_size"] is None else r["effect_size"] for r in rows])
        self.dyad_plot.plot(x, y, pen=series_pen(0, 2.0), symbol="o", symbolSize=9,
                            symbolBrush=pg.mkBrush(SERIES_COLOURS[0]), symbolPen=None, connect="finite")
        self.dyad_plot.addLine(y=0.0, pen=pg.mkPen(self.palette_.muted, style=Qt.DashLine))
        self.dyad_plot.getAxis("bottom").setTicks([[(i, f"{LETTERS[i % len(LETTERS)]} "
                                                     f"{r['started_at'][:10]}") for i, r in enumerate(rows)]])
        t = trend.get("trend", {})
        change = t.get("change_effect_size")
        slope = t.get("slope_effect_size_per_week")
        words = (f"change first → last {change:+.2f}" if change is not None else "no change computable")
        words += f"; {slope:+.2f} per week" if slope is not None else ""
        self.dyad_plot.setTitle(f"<span style='color:{self.palette_.muted}'>Attunement per session (effect size "
                                f"against chance, 0 = chance): {words}</span>", size="10pt")
        self.dyad_plot.show()

    def _table_headers(self, sessions: list[dict], metrics: list[dict]) -> None:
        n = len(sessions)
        letters = [LETTERS[i % len(LETTERS)] for i in range(n)]
        full = [f"{letters[i]}: {s['title'] or format_started(s['started_at'])}" for i, s in enumerate(sessions)]
        headers = [f"{letters[i]}\n{format_started(s['started_at'])}" for i, s in enumerate(sessions)]
        headers += [f"{letters[i]} − A" for i in range(1, n)]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        for i, text in enumerate(full):
            self.table.horizontalHeaderItem(i).setToolTip(text)
        self.table.setRowCount(len(metrics))
        self.table.setVerticalHeaderLabels([f"{m['label']} ({m['unit']})" if m["unit"] else m["label"]
                                            for m in metrics])

    def _value_cells(self, row: int, key: str, sessions: list[dict], phase: str) -> None:
        """Value ± SD of ``key`` in ``phase`` of each session (the reason as tooltip when there is none)."""
        for c, st in enumerate(sessions):
            ph = next((p for p in st["phases"] if p["name"] == phase), None)
            value = ph["values"].get(key) if ph else None
            sd = ph["sd"].get(key) if ph else None
            text = fmt(key, value) + (f" ± {fmt(key, sd)}" if value is not None and sd is not None else "")
            why = (ph or {}).get("reasons", {}).get(key, "") if value is None else ""
            self._cell(row, c, text, why or ("phase not in this session" if ph is None else ""))

    def _difference_cells(self, row: int, key: str, sessions: list[dict], phase: str, by_key: dict) -> None:
        """Difference of each later session against A, marked with its verdict."""
        n = len(sessions)
        for j, st in enumerate(sessions[1:]):
            comp = by_key.get((st["id"], phase, key))
            if comp is None:
                self._cell(row, n + j, MISSING_EM, "phase not in both sessions")
                continue
            text = fmt(key, comp["difference"], signed=True)
            self._cell(row, n + j, text, comp["verdict"], verdict=comp["verdict"])

    def _cell(self, row: int, col: int, text: str, tooltip: str = "", verdict: str = "") -> None:
        if verdict.startswith("beyond"):
            text += "  ●"
        elif verdict == "uncertain":
            text += "  ○"
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        if tooltip:
            item.setToolTip(tooltip)
        if text.startswith(MISSING_EM):
            item.setForeground(pg.mkColor(self.palette_.muted))
        self.table.setItem(row, col, item)
