"""The replay screen: a recorded session through the same bus, metrics and plots as live.

:class:`ReplayController` runs ``SessionRunner(ReplaySource, ReplayClock)`` on a worker thread with the metrics
engine and a :class:`~biotrainer.gui.model.SessionModel` on the bus. Play/pause and speed (1×, 2×, 4×, max) are
the replay clock's own thread-safe controls. A seek starts a fresh run a little before the target
(:data:`SEEK_CONTEXT_S`), replayed as fast as the CPU allows until the target, so the plots and the metric windows
have their context, then continues at the chosen speed. The timeline shows the protocol phases and annotations.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Final

from PyQt5.QtCore import QObject, QRectF, Qt, QTimer, pyqtSignal
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

from biotrainer.events import Annotation, Cue, PhaseMarker
from biotrainer.gui.live_screen import PLOT_EVERY_FRAMES, REDRAW_HZ, format_clock
from biotrainer.gui.metric_tiles import MetricTiles
from biotrainer.gui.model import SessionModel
from biotrainer.gui.pacer_widget import PacerWidget
from biotrainer.gui.plots import SessionPlots
from biotrainer.gui.theme import DARK, Palette

log = logging.getLogger(__name__)

SEEK_CONTEXT_S: Final = 90.0  # replayed at full speed before a seek target, so windows have context
SPEEDS: Final[dict[str, float | None]] = {"1×": 1.0, "2×": 2.0, "4×": 4.0, "max": None}


class _HoldAt:
    """The runner's view of a :class:`ReplayClock` running as fast as possible up to ``hold_at_s``: the clock never
    passes the seek target; there it switches to the chosen speed (paused unless playing), on the runner's thread,
    so a seek lands exactly on its target."""

    def __init__(self, inner, hold_at_s: float, controller: ReplayController) -> None:  # noqa: ANN001
        self.inner = inner
        self.hold_at_s: float | None = hold_at_s
        self.controller = controller

    @property
    def anchor_unix_s(self) -> float:
        return self.inner.anchor_unix_s

    @property
    def speed(self) -> float | None:
        return self.inner.speed

    @property
    def anchor_iso(self) -> str:
        return self.inner.anchor_iso

    def now_s(self) -> float:
        return self.inner.now_s()

    def sleep_until(self, t_s: float) -> None:
        hold = self.hold_at_s
        if hold is None:
            self.inner.sleep_until(t_s)
            return
        if t_s < hold:
            self.inner.sleep_until(t_s)
            return
        self.inner.sleep_until(hold)
        self.hold_at_s = None
        c = self.controller
        if not c.playing:
            self.inner.pause()
        self.inner.set_speed(c.speed)
        c._warm_until_s = None


class ReplayController(QObject):
    """Replays one session file into a model; all controls from the GUI thread."""

    problem = pyqtSignal(str)

    def __init__(self, model: SessionModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.path: Path | None = None
        self.duration_s = 0.0
        self.annotations: list[tuple[float, str]] = []
        self.phases: list = []
        self.markers: list = []
        self.title = ""
        self.protocol = None
        self.anchor_unix_s: float | None = None
        self.speed: float | None = 1.0
        self.playing = False
        self.clock = None
        self.runner = None
        self.thread: threading.Thread | None = None
        self._warm_until_s: float | None = None

    # --- opening ------------------------------------------------------------------------------------------------

    def open(self, ref: str, library: str | None = None) -> None:
        """Open a session by id (in the library) or path and show its start, paused."""
        from biotrainer.store import Library, SessionReader

        self.close_run()
        p = Path(ref)
        path = p if p.suffix == ".sqlite" and p.exists() else Library(library).resolve(ref)
        with SessionReader(path) as reader:
            self.duration_s = float(reader.duration_s)
            self.annotations = [(a.t_s, a.text or "(mark)") for a in reader.annotations()]
            self.phases = reader.phases()
            self.markers = [e for e in reader.markers(("phase", "cue", "annotation"))]
            meta = reader.meta
            who = ", ".join(v or k for k, v in meta.participants.items())
            self.title = f"{meta.protocol_name or 'session'} · {who} · {meta.started_at[:16].replace('T', ' ')}"
            self.anchor_unix_s = meta.anchor_unix_s
            self.protocol = _protocol_from_text(meta.protocol_toml)
        self.path = path
        self.playing = False
        self.seek(0.0)

    # --- running ------------------------------------------------------------------------------------------------

    def _start_run(self, start_s: float, target_s: float) -> None:
        from biotrainer.bus import Bus
        from biotrainer.gui.controller import metrics_engine_for
        from biotrainer.session_runner import SessionRunner
        from biotrainer.sources.replay import ReplayClock, ReplaySource
        from biotrainer.store import SessionReader

        assert self.path is not None
        self.model.reset()
        for e in self.markers:  # phase, cue and annotations before the start: the state at start_s
            if e.t_s < start_s and isinstance(e, (PhaseMarker, Cue, Annotation)):
                self.model.apply(e)
        reader = SessionReader(self.path)
        warm = target_s > start_s
        clock = ReplayClock(None if warm else self.speed, start_s=start_s, anchor_unix_s=self.anchor_unix_s)
        if not warm and not self.playing:
            clock.pause()
        source = ReplaySource(reader, start_s=start_s, stay_open=True, clock=clock)
        bus = Bus()
        metrics_engine_for(bus, self.protocol)
        bus.subscribe(self.model)
        runner = SessionRunner(bus, sources=[source], clock=_HoldAt(clock, target_s, self) if warm else clock)
        self.clock, self.runner = clock, runner
        self._warm_until_s = target_s if warm else None
        self.model.now_fn = clock.now_s

        def run() -> None:
            try:
                runner.run()
            except Exception as exc:  # noqa: BLE001 - keep the window
                log.exception("replay failed")
                self.problem.emit(f"Replay stopped because of an error: {exc}")
            finally:
                reader.close()

        self.thread = threading.Thread(target=run, name="biotrainer-replay", daemon=True)
        self.thread.start()

    def close_run(self) -> None:
        """Stop the running replay (bounded wait)."""
        if self.runner is not None:
            self.runner.stop("replay closed")
            if self.clock is not None:
                self.clock.resume()
        if self.thread is not None:
            self.thread.join(5.0)
        self.runner = self.thread = self.clock = None

    def poll(self) -> None:
        """Called by the screen timer: end the fast warm-up at the seek target; pause at the end."""
        clock = self.clock
        if clock is None:
            return
        now = clock.now_s()
        if self.playing and now >= self.duration_s and self._warm_until_s is None:
            self.set_playing(False)

    def position_s(self) -> float:
        if self.clock is None:
            return 0.0
        if self._warm_until_s is not None:
            return self._warm_until_s
        return min(self.clock.now_s(), self.duration_s)

    @property
    def seeking(self) -> bool:
        return self._warm_until_s is not None

    # --- controls -----------------------------------------------------------------------------------------------

    def seek(self, t_s: float) -> None:
        if self.path is None:
            return
        t_s = max(0.0, min(float(t_s), self.duration_s))
        self.close_run()
        self._start_run(max(0.0, t_s - SEEK_CONTEXT_S), t_s)

    def set_playing(self, playing: bool) -> None:
        if self.path is None:
            return
        if playing and self.position_s() >= self.duration_s - 1e-6:
            self.seek(0.0)
        self.playing = playing
        if self.clock is not None and self._warm_until_s is None:
            (self.clock.resume if playing else self.clock.pause)()

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed
        if self.clock is not None and self._warm_until_s is None:
            self.clock.set_speed(speed)


def _protocol_from_text(text: str):  # noqa: ANN202 - Protocol or None
    if not text:
        return None
    try:
        from biotrainer.protocols import parse_protocol

        return parse_protocol(text, where="<recorded protocol>")
    except Exception:  # noqa: BLE001 - replay with default metric settings
        log.warning("the recorded protocol cannot be read; replaying with default metric settings")
        return None


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
            m.update_artifact_marks()
            self.plots.redraw()

    def shutdown(self) -> None:
        self.timer.stop()
        self.controller.close_run()
