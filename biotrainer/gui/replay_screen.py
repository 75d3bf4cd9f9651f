"""The replay screen: a recorded session through the same bus, metrics and plots as live.

The widgets only: :class:`ReplayScreen` (pacer, metric tiles, plots, play/pause, speed) and its :class:`Timeline`
(protocol phases and annotations; click or drag to seek). Running the replay is the job of
:class:`~biotrainer.gui.replay_controller.ReplayController`, which wires each run with
:func:`biotrainer.wiring.build_replay`.
"""

from __future__ import annotations

import logging

from PyQt5.QtCore import QRectF, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QPainter, QPen
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

from biotrainer.gui.live_screen import PLOT_EVERY_FRAMES, REDRAW_HZ, format_clock
from biotrainer.gui.metric_tiles import MetricTiles
from biotrainer.gui.model import SessionModel
from biotrainer.gui.pacer_widget import PacerWidget
from biotrainer.gui.plots import SessionPlots
from biotrainer.gui.replay_controller import SEEK_CONTEXT_S, SPEEDS, ReplayController
from biotrainer.gui.theme import DARK, Palette

log = logging.getLogger(__name__)

__all__ = ["SEEK_CONTEXT_S", "SPEEDS", "ReplayController", "ReplayScreen", "Timeline"]


class Timeline(QWidget):
    """Phases as bands, annotations as marks, the play head; click or drag to seek."""

    seek_requested = pyqtSignal(float)

    def __init__(self, palette: Palette = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.duration_s = 0.0
        self.phases: list = []
        self.annotations: list[tuple[float, str]] = []
        self.position_s = 0.0
        self.setMinimumHeight(46)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMouseTracking(True)

    def set_session(self, duration_s: float, phases: list, annotations: list[tuple[float, str]]) -> None:
        self.duration_s, self.phases, self.annotations = duration_s, phases, annotations
        self.update()

    def set_position(self, t_s: float) -> None:
        if abs(t_s - self.position_s) > 1e-3:
            self.position_s = t_s
            self.update()

    def _x(self, t_s: float) -> float:
        return 8 + (self.width() - 16) * (t_s / self.duration_s if self.duration_s > 0 else 0.0)

    def time_at(self, x: float) -> float:
        return max(0.0, min(self.duration_s, (x - 8) / max(1.0, self.width() - 16) * self.duration_s))

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802 - Qt override
        pal = self.palette_
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        h = self.height()
        band = QRectF(8, 16, self.width() - 16, h - 26)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(pal.panel_alt))
        p.drawRoundedRect(band, 4, 4)
        for i, ph in enumerate(self.phases):
            colour = QColor(pal.inhale if ph.paced else pal.muted)
            colour.setAlphaF(0.35 if i % 2 == 0 else 0.22)
            p.setBrush(colour)
            x0, x1 = self._x(ph.start_s), self._x(ph.end_s)
            p.drawRect(QRectF(x0, band.top(), max(1.0, x1 - x0), band.height()))
            p.setPen(QColor(pal.text))
            p.drawText(QRectF(x0 + 4, band.top(), max(1.0, x1 - x0 - 8), band.height()),
                       Qt.AlignVCenter | Qt.AlignLeft, ph.name.replace("_", " "))
            p.setPen(Qt.NoPen)
        p.setPen(QPen(QColor(pal.annotation), 2))
        for t_s, _text in self.annotations:
            x = self._x(t_s)
            p.drawLine(int(x), 4, int(x), h - 6)
            p.drawEllipse(QRectF(x - 3, 2, 6, 6))
        x = self._x(self.position_s)
        p.setPen(QPen(QColor(pal.accent), 3))
        p.drawLine(int(x), 10, int(x), h - 4)
        p.end()

    def mousePressEvent(self, event) -> None:  # noqa: ANN001, N802
        self.seek_requested.emit(self.time_at(event.x()))

    def mouseMoveEvent(self, event) -> None:  # noqa: ANN001, N802
        t = self.time_at(event.x())
        near = [text for t_s, text in self.annotations if abs(self._x(t_s) - event.x()) < 6]
        self.setToolTip(f"{format_clock(t)}" + (f" — {'; '.join(near)}" if near else ""))
        if event.buttons() & Qt.LeftButton:
            self.seek_requested.emit(t)


class ReplayScreen(QWidget):
    """Play a recorded session: pacer, metric tiles and plots as live, with play/pause, seek and speed."""

    notice = pyqtSignal(str)

    def __init__(self, palette: Palette = DARK, library: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library = library
        self.model = SessionModel()
        self.controller = ReplayController(self.model, self)
        self.controller.problem.connect(lambda t: self.notice.emit(t))
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
        body.addWidget(side)
        right = QVBoxLayout()
        self.tiles = MetricTiles(self.model, palette)
        self.plots = SessionPlots(self.model, palette)
        right.addWidget(self.tiles)
        right.addWidget(self.plots, 1)
        body.addLayout(right, 1)
        root.addLayout(body, 1)
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
        self.play_button.setText("Play")
        self.timer.start()
        return True

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
        self._frames += 1
        if self._frames % PLOT_EVERY_FRAMES == 0 or not c.playing:
            self.plots.redraw()

    def shutdown(self) -> None:
        self.timer.stop()
        self.controller.close_run()
