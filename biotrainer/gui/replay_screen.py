"""The replay screen: a recorded session through the same bus, metrics and plots as live.

The widgets only: :class:`ReplayScreen` (pacer, metric tiles, plots, play/pause, speed) and its :class:`Timeline`
(protocol phases, annotations and strap disconnects; click or drag to seek); for a dyad, a switch between the two
people and the attunement strip and summary card (:mod:`biotrainer.gui.attunement`) under the plots.

For a researcher: opening a session shows the whole session (the controller replays it to its end at full speed);
the time axis zooms and pans with the mouse wheel and drag, or with ``+``/``-``; ``Space`` plays and pauses,
``←``/``→`` step 10 s (``Shift``: 60 s), ``Home``/``End`` go to the start and the whole-session view, ``A`` adds an
annotation at the play head (written to the session file by :meth:`biotrainer.store.Library.annotate`); a
double-click on an annotation's mark on the timeline edits its text (:meth:`biotrainer.store.Library.edit_annotation`). Running the replay is the job of
:class:`~biotrainer.gui.replay_controller.ReplayController`, which wires each run with
:func:`biotrainer.wiring.build_replay`.
"""

from __future__ import annotations

import logging

from PyQt5.QtCore import QRectF, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QKeySequence, QPainter
from PyQt5.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QShortcut,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from biotrainer.gui.attunement import AttunementCard, AttunementStrip, legend_html
from biotrainer.gui.live_screen import (
    BOTH_PEOPLE,
    PLOT_EVERY_FRAMES,
    REDRAW_HZ,
    format_clock,
    load_phase_titles,
)
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
    """Phases as bands, annotations as marks, the play head; click or drag to seek; double-click a mark to edit."""

    edit_requested = pyqtSignal(float, str)  # (t_s, text) of the annotation double-clicked

    def __init__(self, palette: Palette = DARK, parent: QWidget | None = None) -> None:
        super().__init__(palette, parent)
        self.setMinimumHeight(46)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.disconnects: list[tuple[float, float]] = []

    def annotation_at(self, x: float) -> tuple[float, str] | None:
        """The annotation whose mark is within 6 px of ``x``, if any."""
        near = [(abs(self._x(t) - x), (t, text)) for t, text in self.annotations if abs(self._x(t) - x) < 6]
        return min(near)[1] if near else None

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        hit = self.annotation_at(event.x())
        if hit is not None:
            self.edit_requested.emit(*hit)

    def set_disconnects(self, spans: list[tuple[float, float]]) -> None:
        self.disconnects = list(spans)
        self.update()

    def tooltip_at(self, t_s: float, x: float) -> str:
        lost = any(a - 1 <= t_s <= b + 1 for a, b in self.disconnects)
        return super().tooltip_at(t_s, x) + (" — strap disconnected" if lost else "")

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
        lost = QColor(pal.error)
        lost.setAlphaF(0.55)
        p.setPen(Qt.NoPen)
        p.setBrush(lost)
        for a, b in self.disconnects:
            x0, x1 = self._x(a), self._x(b)
            p.drawRect(QRectF(x0, band.bottom() - 6, max(2.0, x1 - x0), 6))
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
        self._played_for = None  # the session last played or sought in: opening shows the whole session (paused at
        # its end), so only a replay played or sought to its end brings the summary
        self.model = SessionModel()
        self.other_model = SessionModel()  # a dyad's other person, when both heart rates are overlaid
        self.controller = ReplayController(self.model, self)
        self.controller.problem.connect(lambda t: self.notice.emit(t))
        self.controller.attunement_changed.connect(self._show_attunement)
        self.controller.overview_shown.connect(self._on_overview)
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
        self.speed_box.setCurrentText("1×")
        self.speed_box.currentTextChanged.connect(lambda k: self.controller.set_speed(SPEEDS[k]))
        self.person_box = QComboBox()
        self.person_box.setToolTip("Whose heart, breathing and metrics the plots show")
        self.person_box.activated.connect(lambda _i: self.show_person(self.person_box.currentData()))
        self.person_label = QLabel("Person")
        self.all_button = QPushButton("All")
        self.all_button.setToolTip("Show the whole session (End); zoom with the mouse wheel or + and −")
        self.all_button.clicked.connect(self.show_whole_session)
        self.zoom_in_button = QPushButton("+")
        self.zoom_in_button.setToolTip("Zoom in on the time axis (+)")
        self.zoom_in_button.clicked.connect(lambda: self.zoom(0.5))
        self.zoom_out_button = QPushButton("−")
        self.zoom_out_button.setToolTip("Zoom out (−)")
        self.zoom_out_button.clicked.connect(lambda: self.zoom(2.0))
        self.annotate_button = QPushButton("Note (A)")
        self.annotate_button.setToolTip("Add an annotation at the play head; it is saved in the session file")
        self.annotate_button.clicked.connect(lambda: self.annotate())
        self.title_label = QLabel("No session open — choose one in the Library or press Open…")
        self.title_label.setMinimumWidth(40)
        self.title_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.time_label = QLabel("")
        self.time_label.setObjectName("timeLeft")
        self.speed_box.setToolTip("Replay speed: half speed to as fast as the computer can")
        for w in (self.open_button, self.play_button, self.speed_box, self.person_label,
                  self.person_box, self.all_button, self.zoom_in_button, self.zoom_out_button, self.annotate_button):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.title_label, 1)
        bar.addWidget(self.time_label)
        root.addLayout(bar)
        self.timeline = Timeline(palette)
        self.timeline.seek_requested.connect(self.seek)
        self.timeline.edit_requested.connect(lambda t, text: self.edit_annotation(t, text))
        root.addWidget(self.timeline)

        body = QSplitter(Qt.Horizontal)
        body.setChildrenCollapsible(False)
        self.body = body
        side = QFrame()
        side.setObjectName("panel")
        side.setMinimumWidth(180)
        side.setMaximumWidth(340)
        sl = QVBoxLayout(side)
        self.phase_label = QLabel("")
        self.phase_label.setObjectName("phase")
        self.phase_label.setAlignment(Qt.AlignCenter)
        self.phase_label.setWordWrap(True)
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
        side_scroll = QScrollArea()  # the attunement card may need more room than a short window has
        side_scroll.setWidget(side)
        side_scroll.setWidgetResizable(True)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        side_scroll.setFrameShape(QFrame.NoFrame)
        side_scroll.setMinimumWidth(190)
        side_scroll.setMaximumWidth(350)
        body.addWidget(side_scroll)
        right_w = QWidget()
        right = QVBoxLayout(right_w)
        right.setContentsMargins(0, 0, 0, 0)
        self.tiles = MetricTiles(self.model, palette)
        self.plots = SessionPlots(self.model, palette)
        self.plots.set_interactive(True)
        self.plots.placeholder_text = "Open a session: its whole recording is shown here"
        right.addWidget(self.tiles)
        right.addWidget(self.plots.legend)
        right.addWidget(self.plots.group_bar)
        right.addWidget(self.plots, 1)
        body.addWidget(right_w)
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        body.setSizes([280, 1000])
        root.addWidget(body, 1)
        # under the plots, on the timeline's axis (same width, same margins)
        self.attunement_title = QLabel(legend_html(palette))
        self.attunement_title.setWordWrap(True)
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
        self._drawn: tuple[float, float] = (0.0, 0.0)  # the time span the plots were last drawn for
        self._set_people_box()
        keys = {"Space": self.toggle_play, "Left": lambda: self.step(-10), "Right": lambda: self.step(10),
                "Shift+Left": lambda: self.step(-60), "Shift+Right": lambda: self.step(60),
                "+": lambda: self.zoom(0.5), "=": lambda: self.zoom(0.5), "-": lambda: self.zoom(2.0),
                "Home": lambda: self.seek(0.0), "End": self.show_whole_session, "A": self.annotate}
        self.shortcuts = {}
        for key, slot in keys.items():
            sc = QShortcut(QKeySequence(key), self, activated=slot)
            sc.setContext(Qt.WidgetWithChildrenShortcut)
            self.shortcuts[key] = sc

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
        self.title_label.setToolTip(c.title)
        self.model.phase_titles = load_phase_titles(c.protocol_name)
        self.timeline.phase_titles = self.model.phase_titles
        self.attunement.phase_titles = self.model.phase_titles
        self.timeline.set_session(c.duration_s, c.phases, c.annotations)
        self.timeline.set_disconnects(c.disconnects)
        self._set_people_box()
        self._show_attunement()
        self.play_button.setText("Play")
        self.plots.reset_ranges()
        self.plots.show_all(c.duration_s)  # the whole session, once the overview is computed
        self.timer.start()
        return True

    def _on_overview(self) -> None:
        """The recording is in the model: draw all of it (paused at the end); then its metrics are added."""
        if self.controller.metrics_pending:
            self.plots.show_all(self.controller.duration_s)
        else:
            self.plots.redraw()
        self.tiles.refresh()

    def edit_annotation(self, at_s: float, text: str, new_text: str | None = None) -> bool:
        """Change the text of the annotation ``text`` at ``at_s`` (asks when ``new_text`` is None); saved."""
        c = self.controller
        if c.path is None:
            return False
        if new_text is None:
            new_text, ok = QInputDialog.getText(self, "Edit note", f"Note at {format_clock(at_s)}:", text=text)
            if not ok:
                return False
        from biotrainer.core.errors import BiotrainerError
        from biotrainer.store import Library

        stored = "" if text == "(mark)" else text
        try:
            Library(self.library).edit_annotation(str(c.path), at_s, stored, new_text)
        except BiotrainerError as exc:
            self.notice.emit(str(exc))
            return False
        shown = new_text or "(mark)"
        c.annotations = [(t, shown if (t, x) == (at_s, text) else x) for t, x in c.annotations]
        self.model.annotations = [(t, shown if (t, x) == (at_s, text) else x) for t, x in self.model.annotations]
        self.plots.set_model(self.model)  # redraw the lines with the new text
        self.timeline.set_session(c.duration_s, c.phases, c.annotations)
        self.plots.redraw()
        self.notice.emit(f"Note at {format_clock(at_s)} changed")
        return True

    def _set_people_box(self) -> None:
        """The person switch: shown for a session with two or more people."""
        people = self.controller.people
        self.person_box.clear()
        for role, pseudonym in people.items():
            self.person_box.addItem(f"{pseudonym} ({role})" if pseudonym != role else role, role)
        if len(people) == 2:
            self.person_box.addItem(BOTH_PEOPLE, "both")
        self.plots.set_overlay(None)
        self.controller.extra_models = []
        i = self.person_box.findData(self.model.participant)
        if i >= 0:
            self.person_box.setCurrentIndex(i)
        for w in (self.person_box, self.person_label):
            w.setVisible(len(people) > 1)

    def show_person(self, role: str) -> None:
        """Show one person of a dyad, or ``"both"``: the client's (else the first person's) plots with the other's
        heart rate overlaid."""
        people = list(self.controller.people)
        if role != "both":
            self.plots.set_overlay(None)
            self.controller.set_person(role)
            return
        shown = "client" if "client" in people else people[0]
        other = next(r for r in people if r != shown)
        self.other_model.participant = other
        self.other_model.phase_titles = self.model.phase_titles
        names = {self.person_box.itemData(i): self.person_box.itemText(i) for i in range(self.person_box.count())}
        self.plots.set_overlay(self.other_model, (names[shown], names[other]))
        self.controller.set_person(shown, self.other_model)
        i = self.person_box.findData("both")
        self.person_box.setCurrentIndex(i)

    def show_whole_session(self) -> None:
        """The overview: the whole session replayed to its end (paused), all of it on the time axis."""
        if self.controller.path is None:
            return
        self.controller.load_all()
        self.play_button.setText("Play")
        self.plots.show_all(self.controller.duration_s)

    def zoom(self, factor: float) -> None:
        """Zoom the plots' time axis around the play head (``factor`` < 1 zooms in)."""
        self.plots.zoom(factor, self.controller.position_s() if self.controller.playing else None)

    def step(self, seconds: float) -> None:
        """Seek ``seconds`` forward (negative: back) from the play head."""
        if self.controller.path is not None:
            self.seek(self.controller.position_s() + seconds)

    def annotate(self, text: str | None = None) -> bool:
        """Add an annotation at the play head (asks for its text when ``text`` is None); saved to the session
        file. Returns whether one was added."""
        c = self.controller
        if c.path is None:
            return False
        at = c.position_s()
        if text is None:
            text, ok = QInputDialog.getText(self, "Add note", f"Note at {format_clock(at)}:")
            if not ok:
                return False
        from biotrainer.core.errors import BiotrainerError
        from biotrainer.store import Library

        try:
            event = Library(self.library).annotate(str(c.path), at, text)
        except BiotrainerError as exc:
            self.notice.emit(str(exc))
            return False
        c.annotations = sorted([*c.annotations, (event.t_s, event.text or "(mark)")])
        c.markers.append(event)
        self.model.apply(event)
        self.timeline.set_session(c.duration_s, c.phases, c.annotations)
        self.plots.redraw()
        self.notice.emit(f"Note added at {format_clock(at)}")
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
        if self.controller.playing:
            self.plots.follow = True
        self.play_button.setText("Pause" if self.controller.playing else "Play")

    def seek(self, t_s: float) -> None:
        self.plots.follow = True
        self._played_for = self.controller.path
        self.controller.seek(t_s)

    def tick(self) -> None:
        c = self.controller
        c.poll()
        changed = self.model.drain()
        if c.extra_models:
            changed += self.other_model.drain()
        self.play_button.setText("Pause" if c.playing else "Play")
        pos = c.position_s()
        self.timeline.set_position(pos)
        self.attunement.set_position(pos)
        if c.overview_pending:
            text = "loading…"
        elif c.seeking and c.clock is not None:
            text = f"loading {format_clock(c.clock.now_s())}/{format_clock(pos)}"
        else:
            text = f"{format_clock(pos)} / {format_clock(c.duration_s)}"
        if self.time_label.text() != text:
            self.time_label.setText(text)
        m = self.model
        point = m.pacer_point()
        self.pacer.set_point(point)
        if point is None and self._frames % 2 == 0:
            self.pacer.set_own_breath(m.own_breath() if m.phase.active and c.playing else None)
        phase = m.phase_display() if m.phase.active else ""
        if self.phase_label.text() != phase:
            self.phase_label.setText(phase)
        if self.cue_label.text() != m.cue:
            self.cue_label.setText(m.cue)
        self.tiles.refresh()
        if c.playing:
            self._played_for = c.path
        if (self.summary_on_end and not c.playing and 0 < c.duration_s <= pos + 0.05 and self._played_for == c.path
                and self._summary_shown_for != c.path):
            from biotrainer.gui.summary_dialog import SummaryDialog

            self._summary_shown_for = c.path
            self.summary_dialog = SummaryDialog(self.palette_, self.library, str(c.path), parent=self)
            self.summary_dialog.open()
        self._frames += 1
        view = self.plots.visible_range()
        # playing: every few frames; paused: only when something changed (events, a seek, a zoom or pan), so an
        # open overview costs nothing while the researcher reads it
        if (self._frames % PLOT_EVERY_FRAMES == 0) if c.playing else (changed or c.seeking or view != self._drawn):
            self.plots.redraw()
            self._drawn = self.plots.visible_range()

    def set_palette(self, palette: Palette) -> None:
        """Recolour the plots, pacer, tiles, timeline and attunement strip at once (a theme change)."""
        self.palette_ = palette
        self.pacer.set_palette(palette)
        self.plots.set_palette(palette)
        self.tiles.palette_ = palette
        self.tiles.refresh()
        for w in (self.timeline, self.attunement):
            w.palette_ = palette
            w.update()
        self.attunement_title.setText(legend_html(palette))

    def shutdown(self) -> None:
        self.timer.stop()
        self.controller.close_run()
        self.controller.wait_attunement()
        self.controller.wait_overview()
