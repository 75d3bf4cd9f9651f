"""The replay screen: a recorded session through the same bus, metrics and plots as live.

The widgets only: :class:`ReplayScreen` (pacer, metric tiles, plots, play/pause, speed) and its :class:`Timeline`
(protocol phases and annotations; click or drag to seek); for a dyad, the attunement strip and summary card
(:mod:`biotrainer.gui.attunement`) under the plots. Running the replay is the job of
:class:`~biotrainer.gui.replay_controller.ReplayController`, which wires each run with
:func:`biotrainer.wiring.build_replay`.
"""

from __future__ import annotations

import logging

from PyQt5.QtCore import QRectF, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QPainter
from PyQt5.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from biotrainer.gui.attunement import AttunementCard, AttunementStrip, legend_html
from biotrainer.gui.live_screen import PLOT_EVERY_FRAMES, REDRAW_HZ, format_clock
from biotrainer.gui.metric_tiles import MetricTiles
from biotrainer.gui.model import SessionModel
from biotrainer.gui.pacer_widget import PacerWidget
from biotrainer.gui.plots import SessionPlots
from biotrainer.gui.replay_controller import SEEK_CONTEXT_S, SPEEDS, ReplayController
from biotrainer.gui.session_axis import SessionAxisWidget
from biotrainer.gui.theme import DARK, Palette

log = logging.getLogger(__name__)

__all__ = ["SEEK_CONTEXT_S", "SPEEDS", "ReplayController", "ReplayScreen", "Timeline"]


class Timeline(SessionAxisWidget):
    """Phases as bands, annotations as marks, the play head; click or drag to seek."""

    def __init__(self, palette: Palette = DARK, parent: QWidget | None = None) -> None:
        super().__init__(palette, parent)
        self.setMinimumHeight(46)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802 - Qt override
        pal = self.palette_
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        h = self.height()
        band = QRectF(8, 16, self.width() - 16, h - 26)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(pal.panel_alt))
        p.drawRoundedRect(band, 4, 4)
        self.paint_phases(p, band, (0.35, 0.22), Qt.AlignVCenter | Qt.AlignLeft, pal.text)
        self.paint_annotations(p, 4, h - 6)
        self.paint_head(p, 10, h - 4)
        p.end()


class ReplayScreen(QWidget):
    """Play a recorded session: pacer, metric tiles and plots as live, with play/pause, seek and speed."""

    notice = pyqtSignal(str)

    def __init__(self, palette: Palette = DARK, library: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library = library
        self.summary_on_end = True  # the summary dialog when a replay reaches the end (once per session)
        self._summary_shown_for = None
        self.model = SessionModel()
        self.controller = ReplayController(self.model, self)
        self.controller.problem.connect(lambda t: self.notice.emit(t))
        self.controller.attunement_changed.connect(self._show_attunement)
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 8, 12, 12)
        bar = QHBoxLayout()
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self._open_dialog)
        self.play_button = QPushButton("Play")
        self.play_button.setObjectName("primary")
        self.play_button.clicked.connect(self.toggle_play)
        self.speed_box = QComboBox()
        self.speed_box.addItems(list(SPEEDS))
        self.speed_box.currentTextChanged.connect(lambda k: self.controller.set_speed(SPEEDS[k]))
        self.title_label = QLabel("No session open — choose one in the Library or press Open…")
        self.time_label = QLabel("")
        self.time_label.setObjectName("timeLeft")
        bar.addWidget(self.open_button)
        bar.addWidget(self.play_button)
        bar.addWidget(QLabel("Speed"))
        bar.addWidget(self.speed_box)
        bar.addSpacing(16)
        bar.addWidget(self.title_label, 1)
        bar.addWidget(self.time_label)
        root.addLayout(bar)
        self.timeline = Timeline(palette)
        self.timeline.seek_requested.connect(self.seek)
        root.addWidget(self.timeline)

        body = QHBoxLayout()
        side = QFrame()
        side.setObjectName("panel")
        side.setFixedWidth(300)
        sl = QVBoxLayout(side)
        self.phase_label = QLabel("")
        self.phase_label.setObjectName("phase")
        self.phase_label.setAlignment(Qt.AlignCenter)
        self.pacer = PacerWidget(palette=palette, idle_text="")
        self.cue_label = QLabel("")
        self.cue_label.setObjectName("cue")
        self.cue_label.setWordWrap(True)
        self.cue_label.setAlignment(Qt.AlignCenter)
        sl.addWidget(self.phase_label)
        sl.addWidget(self.pacer, 1)
        sl.addWidget(self.cue_label)
        self.attunement_card = AttunementCard()
        sl.addWidget(self.attunement_card)
        sl.addStretch(0)
        body.addWidget(side)
        right = QVBoxLayout()
        self.tiles = MetricTiles(self.model, palette)
        self.plots = SessionPlots(self.model, palette)
        right.addWidget(self.tiles)
        right.addWidget(self.plots, 1)
        body.addLayout(right, 1)
        root.addLayout(body, 1)
        # under the plots, on the timeline's axis (same width, same margins)
        self.attunement_title = QLabel(legend_html(palette))
        self.attunement_reason = QLabel("")
        self.attunement_reason.setObjectName("reason")
        self.attunement = AttunementStrip(palette)
        self.attunement.seek_requested.connect(self.seek)
        for w in (self.attunement_title, self.attunement, self.attunement_reason):
            root.addWidget(w)
        self._show_attunement()
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REDRAW_HZ))
        self.timer.timeout.connect(self.tick)
        self._frames = 0

    # --- actions ------------------------------------------------------------------------------------------------

    def open_session(self, ref: str) -> bool:
        try:
            self.controller.open(ref, self.library)
        except Exception as exc:  # noqa: BLE001 - show the problem, keep the window
            log.exception("cannot open %s", ref)
            self.notice.emit(f"Cannot open {ref}: {exc}")
            return False
        c = self.controller
        self.title_label.setText(c.title)
        self.timeline.set_session(c.duration_s, c.phases, c.annotations)
        self._show_attunement()
        self.play_button.setText("Play")
        self.timer.start()
        return True

    def _show_attunement(self) -> None:
        """The attunement strip and card for a dyad with a synchrony result; the reason line for a dyad without
        one; nothing for one person."""
        c = self.controller
        result = c.synchrony
        if result is not None:
            self.attunement.set_session(c.duration_s, c.phases, c.annotations)
            self.attunement.set_result(result)
            self.attunement_card.set_result(result)
        self.attunement_reason.setText(f"Attunement: {c.synchrony_reason}" if c.synchrony_reason else "")
        for w in (self.attunement_title, self.attunement, self.attunement_card):
            w.setVisible(result is not None)
        # a dyad without a pacer (a therapy session) has the pacer's room for the card
        self.pacer.setVisible(result is None or any(ph.paced for ph in c.phases))
        self.attunement_reason.setVisible(c.dyad and result is None)

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "biotrainer sessions (*.sqlite)")
        if path:
            self.open_session(path)

    def toggle_play(self) -> None:
        self.controller.set_playing(not self.controller.playing)
        self.play_button.setText("Pause" if self.controller.playing else "Play")

    def seek(self, t_s: float) -> None:
        self.controller.seek(t_s)

    def tick(self) -> None:
        c = self.controller
        c.poll()
        self.model.drain()
        self.play_button.setText("Pause" if c.playing else "Play")
        pos = c.position_s()
        self.timeline.set_position(pos)
        self.attunement.set_position(pos)
        text = f"{format_clock(pos)} / {format_clock(c.duration_s)}" + ("  seeking…" if c.seeking else "")
        if self.time_label.text() != text:
            self.time_label.setText(text)
        m = self.model
        self.pacer.set_point(m.pacer_point())
        phase = m.phase.name.replace("_", " ").capitalize() if m.phase.active else ""
        if self.phase_label.text() != phase:
            self.phase_label.setText(phase)
        if self.cue_label.text() != m.cue:
            self.cue_label.setText(m.cue)
        self.tiles.refresh()
        if self.summary_on_end and not c.playing and 0 < c.duration_s <= pos + 0.05 and self._summary_shown_for != c.path:
            from biotrainer.gui.summary_dialog import SummaryDialog

            self._summary_shown_for = c.path
            self.summary_dialog = SummaryDialog(self.palette_, self.library, str(c.path), parent=self)
            self.summary_dialog.open()
        self._frames += 1
        if self._frames % PLOT_EVERY_FRAMES == 0 or not c.playing:
            self.plots.redraw()

    def shutdown(self) -> None:
        self.timer.stop()
        self.controller.close_run()
        self.controller.wait_attunement()
