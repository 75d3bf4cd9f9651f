"""The live session screen: device and session pickers, the pacer, phase/cue/time left, metric tiles, live plots.

With two people (therapist and client) each wears a strap: the strap list is the therapist's, a second picker the
client's, each with a pseudonym. A protocol made for two people (``roles`` in its TOML, e.g. ``therapy-session``)
keeps the therapist's screen quiet: a :class:`~biotrainer.gui.quiet_panel.QuietPanel` instead of tiles and plots,
and no client view.

The columns (setup, pacer, tiles and plots) sit in a splitter with minimum widths only, so the screen fits 1366×768
and 1280×720 at 150 % scaling; the setup column scrolls when the window is short, the tiles reflow and the plots
fold into tabs when narrow. A SIMULATED badge shows whenever the simulator feeds the session. The last real
strap(s) are remembered (``QSettings`` ``straps/…``, saved by the main window) and preselected on open, so Start
connects to them without a scan; on open they are looked for in the background (a short scan for their address,
never on the GUI thread, cancelled by Scan, Start or closing) and their state shown under the picker ("Polar H10
ready · battery 80 %" or "not found — is it on and moist?"). The session makes its own connection at Start.

A view: it reads a :class:`~biotrainer.gui.model.SessionModel` on a 25 Hz timer and forwards button presses to a
:class:`~biotrainer.gui.controller.LiveController`. The timer only runs while a session runs (or a client view is
open), so an idle window costs nothing.
"""

from __future__ import annotations

import logging
from typing import Final

from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from biotrainer.analysis.assess import step_words
from biotrainer.core.errors import BiotrainerError
from biotrainer.gui.audio import TonePlayer
from biotrainer.gui.client_view import ClientWindow
from biotrainer.gui.controller import LiveConfig, LiveController, Wearer, check_live_config
from biotrainer.gui.metric_tiles import MetricTiles
from biotrainer.gui.model import SessionModel
from biotrainer.gui.pacer_widget import PacerWidget
from biotrainer.gui.plots import SessionPlots
from biotrainer.gui.quiet_panel import QuietPanel, device_of, role_title, strap_line
from biotrainer.gui.rhythm_bar import RhythmBar
from biotrainer.gui.theme import DARK, Palette

log = logging.getLogger(__name__)

REDRAW_HZ: Final = 25  # pacer, labels, client view
PLOT_EVERY_FRAMES: Final = 5  # plots at 5 Hz: at a 180-s window one frame scrolls them by about half a pixel
SIMULATED = "Simulated strap"
DYAD_ROLES: Final = ("therapist", "client")
PEOPLE = ("One person", "Therapist and client")
BOTH_PEOPLE = "Both: heart rates on one plot"
#: A simulated client follows a simulated therapist's slow heart-rate waves, so a demo has synchrony to look at.
SIMULATED_CLIENT: Final = "sim:follow=therapist,coupling=0.5"
SETUP_WIDTH: Final = {False: 240, True: 290}  # the setup panel's minimum, with one person / two
NARROW_BELOW_PX: Final = 1100  # narrower: the setup column steps aside while a session runs
SHORT_BELOW_PX: Final = 560  # shorter: the session buttons take one row
FIRST_RUN_TEXT: Final = (
    "<b>First session?</b><ol style='margin-left:-20px'>"
    "<li>Put the strap on, just below the chest, logo up.</li>"
    "<li>Wet its two electrodes (water or a little saliva) so it picks up the heartbeat.</li>"
    "<li>Press <b>Scan</b> and choose your strap (or keep the simulated strap to try it out).</li>"
    "<li>Choose a practice under <b>Protocol</b>, read what it is for, and press <b>Start</b>.</li></ol>")


def load_phase_titles(protocol: str) -> dict[str, str]:
    """Phase name → the title the protocol gives it (``{}`` for an unknown protocol)."""
    if not protocol:
        return {}
    from biotrainer.protocols import load_protocol

    try:
        return {ph.name: ph.title for ph in load_protocol(protocol).phases if ph.title}
    except BiotrainerError:
        return {}


def is_simulated(spec: str) -> bool:
    """True for a device spec of the simulator (``sim`` or ``sim:…``)."""
    return spec == "sim" or spec.startswith("sim:")


def phase_title(m: SessionModel) -> str:
    """The phase line: the running phase's title (``· paused`` while paused), else the session's state."""
    if not m.phase.active:
        return "Session ended" if m.state == "stopped" else ("Paused" if m.state == "paused" else "Ready")
    phase = m.phase_display()
    return phase + " · paused" if m.state == "paused" else phase


def time_left_text(phase_left_s: float | None, session_left_s: float | None) -> str:
    """``0:30 left · session 1:00 left`` (either part may be missing)."""
    parts = []
    if phase_left_s is not None:
        parts.append(f"{format_clock(phase_left_s)} left")
    if session_left_s is not None:
        parts.append(f"session {format_clock(session_left_s)} left")
    return "  ·  ".join(parts)


def format_clock(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a duration; ``""`` for None."""
    if seconds is None:
        return ""
    s = int(round(max(0.0, seconds)))
    h, rem = divmod(s, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"


class LiveScreen(QWidget):
    """The screen a therapist runs a session from."""

    notice = pyqtSignal(str)  # one-line messages for the status bar
    session_saved = pyqtSignal(str)  # session id or path, when a recorded session ends

    def __init__(self, palette: Palette = DARK, library: str | None = None, ble_backend: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library = library
        self.ble_backend = ble_backend
        self.model = SessionModel()
        self.therapist_model = SessionModel(participant="therapist")  # a dyad's other person, for the switch
        self.controller = LiveController(self.model, self)
        self.controller.finished.connect(self._on_finished)
        self.controller.problem.connect(self._show_problem)
        self.controller.scan_done.connect(self._on_scan_done)
        self.controller.strap_checked.connect(self._on_strap_checked)
        self.tones = TonePlayer(on_notice=self._tone_notice)
        self.client_window: ClientWindow | None = None
        self.speed = 1.0  # session clock speed (tests and demos run faster)
        self.before_start = None  # callable -> bool (safety notes before the first session)
        self._frames = 0
        self._protocol_roles: dict[str, tuple[tuple[str, ...], bool]] = {}
        self._dyad_roles: tuple[str, ...] = ()  # roles shown in the Sensor box (two people)
        self.quiet = False
        self.simulated = False  # the simulator feeds the running session (the SIMULATED badge shows)
        self.client_screen_name = ""  # the screen the client view opens on (remembered by the main window)
        self._badge_text = "SIMULATED"
        self._scan_problem = ""  # the banner text of the last failed scan
        self._strap_states: dict[str, tuple[str, str, str]] = {}  # remembered address -> (name, state, words)
        self.summary_on_end = True  # show the summary dialog when a recorded session ends
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REDRAW_HZ))
        self.timer.timeout.connect(self.tick)
        self.model.state_changed.connect(self._on_state)
        self._sync_buttons()

    # --- layout -------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(12, 8, 12, 12)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(10)
        root.addWidget(self.splitter)
        setup = self._build_setup_panel()
        scroll = self.setup_scroll = QScrollArea()
        scroll.setWidget(setup)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setMinimumWidth(SETUP_WIDTH[False] + 18)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(self._build_pacer_column())
        right_w = QWidget()
        right = QVBoxLayout(right_w)
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(8)
        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setToolTip("Click to dismiss")
        self.banner.mousePressEvent = lambda _event: self.banner.hide()  # read it, click it away
        self.banner.hide()
        right.addWidget(self.simulated_badge)  # above tiles and plots, and above the quiet panel of a dyad
        right.addWidget(self.banner)
        self.first_run_card = QLabel(FIRST_RUN_TEXT)
        self.first_run_card.setObjectName("card")
        self.first_run_card.setWordWrap(True)
        self.first_run_card.hide()
        right.addWidget(self.first_run_card)
        self.person_row = QWidget()
        pr = QHBoxLayout(self.person_row)
        pr.setContentsMargins(0, 0, 0, 0)
        pr.addWidget(QLabel("Showing"))
        self.person_box = QComboBox()
        self.person_box.setToolTip("Whose heart, breathing and metrics the tiles and plots show")
        self.person_box.activated.connect(lambda _i: self.show_person(self.person_box.currentData()))
        pr.addWidget(self.person_box)
        pr.addStretch(1)
        self.person_row.hide()
        right.addWidget(self.person_row)
        self.tiles = MetricTiles(self.model, self.palette_)
        right.addWidget(self.tiles)
        self.rhythm_bar = RhythmBar(self.palette_)  # "in rhythm with the pacer": low / medium / high
        right.addWidget(self.rhythm_bar)
        self.quality_label = QLabel("")
        self.quality_label.setObjectName("muted")
        self.quality_label.setWordWrap(True)
        right.addWidget(self.quality_label)
        self.plots = SessionPlots(self.model, self.palette_)
        right.addWidget(self.plots.legend)
        right.addWidget(self.plots.group_bar)
        right.addWidget(self.plots, 1)
        self.quiet_panel = QuietPanel(self.model, self.palette_, DYAD_ROLES)
        self.quiet_panel.hide()
        right.addWidget(self.quiet_panel, 1)
        right_w.setMinimumWidth(260)
        self.splitter.addWidget(right_w)
        for i, stretch in enumerate((0, 0, 1)):
            self.splitter.setStretchFactor(i, stretch)
        self._sized = False

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        super().showEvent(event)
        if not self._sized:  # first show: columns in proportion to the window (then the user's splitter)
            self._sized = True
            self.fit_columns()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        super().resizeEvent(event)
        self._fit_compact()

    def _fit_compact(self) -> None:
        """Short or narrow window (a small laptop at 150 %): the setup column steps aside while a session runs;
        the analysis-window line goes, the cue text gets smaller, and the first-run card takes the empty plots'
        place."""
        narrow = self.width() < NARROW_BELOW_PX
        self.setup_scroll.setVisible(not (narrow and self.controller.running))
        short = self.height() < SHORT_BELOW_PX
        self.quality_label.setVisible(not short and not self.quiet)
        card = not self.first_run_card.isHidden()
        self.plots.setVisible(not (short and card) and not self.quiet)
        if short and card:
            self.plots.group_bar.hide()
        elif self.plots.compact and not self.quiet:
            self.plots.group_bar.show()
        self.simulated_badge.setText(self.simulated_badge.text().split(":")[0] if short
                                     else self._badge_text)
        for label, name in ((self.cue_label, "cue"), (self.phase_label, "phase"), (self.time_left_label, "timeLeft")):
            name = name + "Small" if short else name
            if label.objectName() != name:
                label.setObjectName(name)
                label.style().unpolish(label)  # the stylesheet rule of the new name
                label.style().polish(label)

    def _set_person_box(self, cfg: LiveConfig) -> None:
        """Two people on screen (not a quiet therapy session): a switch between the client and the therapist."""
        self.person_box.clear()
        for w in sorted(cfg.wearers, key=lambda w: w.role != "client"):
            self.person_box.addItem(f"{w.pseudonym} ({role_title(w.role).lower()})", w.role)
        if len(cfg.wearers) > 1:
            self.person_box.addItem(BOTH_PEOPLE, "both")
        self.show_person("client" if cfg.wearers else None)
        self.person_row.setVisible(len(cfg.wearers) > 1 and len(self.protocol_roles(cfg.protocol)) <= 1)

    def show_person(self, role: str | None) -> None:
        """Show ``role``'s tiles and plots (the client's by default); both are kept while the session runs.
        ``"both"``: the client's tiles and plots with the therapist's heart rate overlaid."""
        m = self.therapist_model if role == "therapist" else self.model
        self.tiles.model = m
        self.plots.set_model(m)
        if role == "both":
            names = {self.person_box.itemData(i): self.person_box.itemText(i) for i in range(self.person_box.count())}
            self.plots.set_overlay(self.therapist_model, (names.get("client", "client"),
                                                          names.get("therapist", "therapist")))
        else:
            self.plots.set_overlay(None)
        i = self.person_box.findData(role)
        if i >= 0:
            self.person_box.setCurrentIndex(i)
        self.plots.redraw()
        self.tiles.refresh()

    def show_first_run(self, show: bool) -> None:
        """The first-run card in the place of the (still empty) metric tiles, until a session starts (on a short
        window in the place of the empty plots too)."""
        self.first_run_card.setVisible(show)
        self.tiles.setVisible(not show and not self.quiet)
        self._fit_compact()

    def fit_columns(self) -> None:
        """Setup, pacer and plot columns in proportion to the screen's width."""
        w = max(self.width(), 800)
        setup = max(self.setup_panel.minimumWidth() + 18, min(330, int(w * 0.21)))
        pacer = max(220, min(400, int(w * 0.2)))
        self.splitter.setSizes([setup, pacer, max(300, w - setup - pacer)])

    def _build_setup_panel(self) -> QWidget:
        panel = self.setup_panel = QWidget()
        panel.setMinimumWidth(SETUP_WIDTH[False])
        lay = QVBoxLayout(panel)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(10)

        dev = QGroupBox("Sensor")
        dl = QVBoxLayout(dev)
        row = QHBoxLayout()
        self.scan_button = QPushButton("Scan")
        self.scan_button.setToolTip("Look for Bluetooth heart-rate straps")
        self.scan_button.clicked.connect(self.scan)
        self.strap_title = QLabel("Strap")
        row.addWidget(self.strap_title)
        row.addStretch(1)
        row.addWidget(self.scan_button)
        dl.addLayout(row)
        self.device_list = QListWidget()
        self.device_list.addItem(SIMULATED)
        self.device_list.setCurrentRow(0)
        self.device_list.setMaximumHeight(96)
        self.device_list.setMinimumHeight(48)
        dl.addWidget(self.device_list)
        self.remembered_label = QLabel("")
        self.remembered_label.setObjectName("muted")
        self.remembered_label.setWordWrap(True)
        self.remembered_label.hide()
        dl.addWidget(self.remembered_label)
        self.strap_state_label = QLabel("")  # the remembered strap(s) reached in the background on open
        self.strap_state_label.setWordWrap(True)
        self.strap_state_label.hide()
        dl.addWidget(self.strap_state_label)
        self.client_strap_title = QLabel("Client's strap")
        self.client_device_box = QComboBox()
        self.client_device_box.addItem(SIMULATED, "")
        dl.addWidget(self.client_strap_title)
        dl.addWidget(self.client_device_box)
        self.dyad_status_label = QLabel("")
        self.dyad_status_label.setWordWrap(True)
        dl.addWidget(self.dyad_status_label)
        self.one_status = QWidget()
        form = QFormLayout(self.one_status)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignLeft)
        self.connection_label = QLabel("not connected")
        self.battery_label = QLabel("—")
        self.contact_label = QLabel("—")
        self.signal_label = QLabel("—")
        self.signal_label.setWordWrap(True)
        form.addRow("State", self.connection_label)
        form.addRow("Battery", self.battery_label)
        form.addRow("Contact", self.contact_label)
        form.addRow("Signal", self.signal_label)
        dl.addWidget(self.one_status)
        lay.addWidget(dev)

        ses = QGroupBox("Session")
        sf = self.session_form = QFormLayout(ses)
        self.people_box = QComboBox()
        self.people_box.addItems(PEOPLE)
        self.participant_box = QComboBox()
        self.participant_box.setEditable(True)
        self.participant_box.addItem("me")
        self.therapist_box = QComboBox()
        self.therapist_box.setEditable(True)
        self.therapist_box.addItem("therapist")
        self.client_box = QComboBox()
        self.client_box.setEditable(True)
        self.client_box.addItem("client")
        self.protocol_box = QComboBox()
        self.protocol_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.protocol_box.setMinimumContentsLength(12)
        self.protocol_box.view().setTextElideMode(Qt.ElideNone)
        self.protocol_box.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.protocol_info = QLabel("")
        self.protocol_info.setObjectName("cardNote")
        self.protocol_info.setWordWrap(True)
        self.protocol_info.setTextFormat(Qt.RichText)
        sf.addRow("People", self.people_box)
        sf.addRow("Participant", self.participant_box)  # or Therapist and Client (see _set_name_rows)
        self._name_rows = {self.participant_box: sf.labelForField(self.participant_box),
                           self.therapist_box: QLabel("Therapist"), self.client_box: QLabel("Client")}
        sf.addRow(QLabel("Protocol"))  # the picker on a row of its own: whole titles, not "Three-minute rese…"
        sf.addRow(self.protocol_box)
        sf.addRow(self.protocol_info)
        self.intention_edit = QLineEdit()  # optional; stored with the session by the summary at its end
        self.intention_edit.setPlaceholderText("optional, e.g. soft, slow out-breaths")
        sf.addRow("Intention", self.intention_edit)
        self.record_box = QCheckBox("Record to library")
        self.record_box.setChecked(True)
        sf.addRow(self.record_box)
        self.attunement_box = QCheckBox("Attunement indicator")
        self.attunement_box.setToolTip("Therapist's screen only, never the client's: a dot coloured only when your "
                                       "heart rates were in synchrony above chance over the last minutes. Off by "
                                       "default; an awareness aid, not a score to chase.")
        self.attunement_box.setVisible(False)
        sf.addRow(self.attunement_box)
        lay.addWidget(ses)

        aud = self.tones_group = QGroupBox("Tones")
        al = QHBoxLayout(aud)
        self.tones_box = QCheckBox("Pacer tones")
        self.tones_box.toggled.connect(self.tones.set_enabled)
        self.volume_slider = QSlider(Qt.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(40)
        self.volume_slider.valueChanged.connect(lambda v: self.tones.set_volume(v / 100))
        al.addWidget(self.tones_box)
        al.addWidget(self.volume_slider, 1)
        lay.addWidget(aud)

        self.client_button = QPushButton("Open client view")
        self.client_button.clicked.connect(self.toggle_client_view)
        lay.addWidget(self.client_button)
        lay.addStretch(1)
        self.people_box.currentIndexChanged.connect(lambda i: self._set_people(i == 1))
        self.protocol_box.currentIndexChanged.connect(self._on_protocol_changed)
        self._set_people(False)
        return panel

    def _build_pacer_column(self) -> QWidget:
        col = self.pacer_column = QFrame()
        col.setObjectName("panel")
        col.setMinimumWidth(220)
        col.setMaximumWidth(520)
        lay = QVBoxLayout(col)
        lay.setContentsMargins(12, 10, 12, 12)
        self.simulated_badge = QLabel("SIMULATED")
        self.simulated_badge.setWordWrap(True)
        self.simulated_badge.setObjectName("simulated")
        self.simulated_badge.setAlignment(Qt.AlignCenter)
        self.simulated_badge.setToolTip("The simulated strap feeds this session: its numbers are made up by "
                                        "biotrainer, not measured from a person.")
        self.simulated_badge.hide()
        self.phase_label = QLabel("Ready")
        self.phase_label.setWordWrap(True)
        self.phase_label.setObjectName("phase")
        self.phase_label.setAlignment(Qt.AlignCenter)
        self.time_left_label = QLabel("")
        self.time_left_label.setObjectName("timeLeft")
        self.time_left_label.setAlignment(Qt.AlignCenter)
        self.time_left_label.setWordWrap(True)
        self.pacer = PacerWidget(palette=self.palette_)
        self.cue_label = QLabel("Choose a protocol and press Start.")
        self.cue_label.setObjectName("cue")
        self.cue_label.setAlignment(Qt.AlignCenter)
        self.cue_label.setWordWrap(True)
        self.cue_label.setMinimumHeight(0)
        lay.addWidget(self.phase_label)
        lay.addWidget(self.time_left_label)
        lay.addWidget(self.pacer, 1)
        lay.addWidget(self.cue_label)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume (Space)")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        self.annotate_button = QPushButton("Mark moment (A)")
        self.annotate_button.setMinimumWidth(40)
        self.annotate_button.setToolTip("Mark this moment in the recording, with an optional note (A)")
        self.annotate_button.clicked.connect(lambda: self.annotate(ask_text=True))
        self.controls = QWidget()  # the session buttons: here, or under the quiet panel
        cl = QVBoxLayout(self.controls)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addLayout(buttons)
        cl.addWidget(self.annotate_button)
        self.lock_box = QCheckBox("Lock pacer rate")  # therapist lock of an adaptive pacer (resonance-adaptive)
        self.lock_box.toggled.connect(lambda on: (p := self.controller.parts) is not None and p.protocol_runner
                                      is not None and p.protocol_runner.set_locked(p.runner.clock.now_s(), on))
        cl.addWidget(self.lock_box)
        self._pacer_layout = lay
        lay.addWidget(self.controls)
        return col

    # --- pickers ------------------------------------------------------------------------------------------------

    def set_protocols(self, names: list[tuple[str, str]], selected: str | None = None) -> None:
        """Fill the protocol picker with ``(name, label)`` pairs (the whole label is the tooltip too)."""
        self.protocol_box.clear()
        for name, label in names:
            self.protocol_box.addItem(label, name)
            self.protocol_box.setItemData(self.protocol_box.count() - 1, label, Qt.ToolTipRole)
        view = self.protocol_box.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + 32)  # the open list shows whole titles
        if selected is not None:
            i = self.protocol_box.findData(selected)
            if i >= 0:
                self.protocol_box.setCurrentIndex(i)

    def set_participants(self, names: list[str], selected: str | None = None) -> None:
        current = selected or self.participant_box.currentText()
        self.participant_box.clear()
        for n in names or ["me"]:
            self.participant_box.addItem(n)
        if current:
            self.participant_box.setCurrentText(current)
        for box in (self.therapist_box, self.client_box):
            keep = box.currentText()
            box.clear()
            box.addItems(names or [keep])
            box.setCurrentText(keep)

    def protocol_text(self, name: str) -> str:
        """What the protocol is, who it is for and its safety note, for under the picker (rich text)."""
        from html import escape

        from biotrainer.protocols import load_protocol

        try:
            p = load_protocol(name)
        except BiotrainerError:
            return ""
        parts = [f"<b>{escape(p.title)}</b>", escape(" ".join(p.description.split()))]
        if p.intended_use:
            parts.append(f"<i>For:</i> {escape(p.intended_use)}")
        if p.safety_note:
            parts.append(f"<i>Safety:</i> {escape(' '.join(p.safety_note.split()))}")
        return "<br>".join(parts)

    def _show_protocol_info(self) -> None:
        self.protocol_info.setText(self.protocol_text(self.selected_protocol()))
        self.protocol_box.setToolTip(self.protocol_box.currentText())

    def _protocol_facts(self, name: str) -> tuple[tuple[str, ...], bool]:
        """``(roles, adaptive)`` of protocol ``name``: the participant roles it is made for (``()``: anyone; unknown
        protocols too) and whether its pacer adapts; the file is read once, on first selection."""
        if name not in self._protocol_roles:
            from biotrainer.protocols import load_protocol

            try:
                proto = load_protocol(name)
                adaptive = any(ph.pacer is not None and ph.pacer.adaptive is not None for ph in proto.phases)
                self._protocol_roles[name] = (tuple(proto.roles), adaptive)
            except BiotrainerError:
                self._protocol_roles[name] = ((), False)
        return self._protocol_roles[name]

    def protocol_roles(self, name: str) -> tuple[str, ...]:
        """The participant roles protocol ``name`` is made for (``()``: anyone; unknown protocols too)."""
        return self._protocol_facts(name)[0]

    @property
    def two_people(self) -> bool:
        return self.people_box.currentIndex() == 1

    def _set_people(self, two: bool) -> None:
        """Show the pickers of one person, or of therapist and client (a strap and a pseudonym each)."""
        if self.people_box.currentIndex() != int(two):
            self.people_box.setCurrentIndex(int(two))  # calls back here
            return
        self.strap_title.setText("Therapist's strap" if two else "Strap")
        self.setup_panel.setMinimumWidth(SETUP_WIDTH[two])
        if hasattr(self, "setup_scroll"):  # (not yet while the panel is being built)
            self.setup_scroll.setMinimumWidth(SETUP_WIDTH[two] + 18)  # the splitter keeps room for it
        for w in (self.client_strap_title, self.client_device_box, self.dyad_status_label):
            w.setVisible(two)
        self.one_status.setVisible(not two)
        self.attunement_box.setVisible(two)
        self._set_name_rows((self.therapist_box, self.client_box) if two else (self.participant_box,))
        self._dyad_roles = DYAD_ROLES if two else ()

    def _set_name_rows(self, fields: tuple[QComboBox, ...]) -> None:
        """The pseudonym rows under People: taken out of the form when hidden (a hidden row still takes space)."""
        form = self.session_form
        for field, label in self._name_rows.items():
            if form.indexOf(field) >= 0:
                form.takeRow(field)
            label.hide()
            field.hide()
        for i, field in enumerate(fields):
            form.insertRow(1 + i, self._name_rows[field], field)
            self._name_rows[field].show()
            field.show()

    def _on_protocol_changed(self, _index: int) -> None:
        """A protocol made for two people switches to two people and to the quiet panel."""
        if self.controller.running:
            return
        self._show_protocol_info()
        roles, adaptive = self._protocol_facts(self.selected_protocol())
        self.lock_box.setVisible(adaptive)  # only an adaptive pacer has a rate to lock
        if len(roles) > 1:
            self._set_people(True)
        self._set_quiet(len(roles) > 1)

    def selected_protocol(self) -> str:
        return self.protocol_box.currentData() or self.protocol_box.currentText() or "reset"

    def selected_source(self) -> str:
        item = self.device_list.currentItem()
        if item is None or item.text() == SIMULATED:
            return "sim"
        return item.data(Qt.UserRole) or item.text()

    def selected_client_source(self) -> str:
        """The client's strap; a simulated client follows a simulated therapist (see :data:`SIMULATED_CLIENT`)."""
        address = self.client_device_box.currentData()
        if address:
            return address
        return SIMULATED_CLIENT if self.selected_source() == "sim" else "sim"

    def wearers(self) -> tuple[Wearer, ...]:
        """Therapist and client with their straps and pseudonyms (``()`` with one person)."""
        if not self.two_people:
            return ()
        return (Wearer("therapist", self.selected_source(), self.therapist_box.currentText().strip() or "therapist"),
                Wearer("client", self.selected_client_source(), self.client_box.currentText().strip() or "client"))

    # --- actions ------------------------------------------------------------------------------------------------

    def config(self) -> LiveConfig:
        return LiveConfig(protocol=self.selected_protocol(), participant=self.participant_box.currentText() or "me",
                          source=self.selected_source(), ble_backend=self.ble_backend, library=self.library,
                          record=self.record_box.isChecked(), speed=self.speed, wearers=self.wearers(),
                          attunement=self.two_people and self.attunement_box.isChecked(),
                          pacer_locked=self.lock_box.isChecked())  # ticked before Start: locked from the start

    def start(self, config: LiveConfig | None = None) -> bool:
        """Start a session (from the Start button or the demo). Returns False when it could not start."""
        if self.controller.running:
            return False
        if self.before_start is not None and not self.before_start():
            return False
        cfg = config or self.config()
        self.controller.cancel_check()  # the session looks for its straps itself
        try:
            check_live_config(cfg)
        except BiotrainerError as exc:
            self._show_problem(str(exc))
            return False
        self.banner.hide()
        self._show_config(cfg)
        self._set_quiet(len(self.protocol_roles(cfg.protocol)) > 1)
        self.model.participant = "client" if cfg.wearers else None  # a dyad's tiles (if any) show the client
        self.model.phase_titles = load_phase_titles(cfg.protocol)
        self.model.reset()
        self.therapist_model.phase_titles = self.model.phase_titles
        self.therapist_model.reset()
        self.controller.extra_models = [self.therapist_model] if cfg.wearers else []
        self._set_person_box(cfg)
        self.plots.reset_ranges()
        self.plots.redraw()
        self.show_first_run(False)
        specs = [w.spec for w in cfg.wearers] or [cfg.source]
        self.simulated = any(is_simulated(spec) for spec in specs)
        self._badge_text = ("SIMULATED strap: not a real heartbeat" if all(map(is_simulated, specs))
                            else "SIMULATED client strap")
        self.simulated_badge.setText(self._badge_text)
        self._fit_compact()
        self.simulated_badge.setVisible(self.simulated)
        ok = self.controller.start(cfg)
        if ok:
            self.timer.start()
            self.notice.emit(f"Session started: {cfg.protocol} with {cfg.people}")
        self._sync_buttons()
        return ok

    def _show_config(self, cfg: LiveConfig) -> None:
        """The pickers show the session being started (the demo and tests start configs of their own)."""
        i = self.protocol_box.findData(cfg.protocol)
        if i >= 0:
            blocked = self.protocol_box.blockSignals(True)
            self.protocol_box.setCurrentIndex(i)
            self.protocol_box.blockSignals(blocked)
            self._show_protocol_info()
        self._set_people(bool(cfg.wearers))
        self._dyad_roles = tuple(w.role for w in cfg.wearers)
        boxes = {"therapist": self.therapist_box, "client": self.client_box}
        for w in cfg.wearers:
            if w.role in boxes:
                boxes[w.role].setCurrentText(w.pseudonym)
        self.quiet_panel.set_people({w.role: w.pseudonym for w in cfg.wearers})
        self.quiet_panel.show_attunement(cfg.attunement and bool(cfg.wearers))

    def stop(self) -> None:
        self.controller.stop()

    def toggle_pause(self) -> None:
        if self.controller.running:
            self.controller.toggle_pause()

    def annotate(self, text: str = "", ask_text: bool = False) -> None:
        """Mark this moment; with ``ask_text`` a small dialog asks for an optional note."""
        if not self.controller.running:
            return
        if ask_text:
            note, ok = QInputDialog.getText(self, "Mark moment", "Note (optional):")
            if not ok:
                return
            text = note
        self.controller.annotate(text)
        self.notice.emit("Moment marked" + (f": {text}" if text else ""))

    def scan(self) -> None:
        self.controller.cancel_check()
        self.strap_state_label.hide()
        self.scan_button.setEnabled(False)
        self.scan_button.setText("Scanning…")
        self.controller.scan(self.ble_backend)

    def _on_scan_done(self, devices: list, error: str) -> None:
        self.scan_button.setEnabled(True)
        self.scan_button.setText("Scan")
        self.set_straps(devices)
        self.remembered_label.hide()
        if error:
            self._scan_problem = error
            self._show_problem(error)
        else:
            if self._scan_problem and self.banner.text() == self._scan_problem:
                self.banner.hide()  # the scan problem is solved: it does not stay in the banner
            self._scan_problem = ""
            self.notice.emit(f"Found {len(devices)} strap(s)")

    def set_straps(self, devices: list[tuple[str, str]], therapist: str | None = None,
                   client: str | None = None) -> None:
        """Fill the strap pickers with ``(address, label)`` pairs; select ``therapist`` (or the first strap) and
        ``client`` (or the second)."""
        self.device_list.clear()
        self.device_list.addItem(SIMULATED)
        for address, label in devices:
            item = QListWidgetItem(label)
            item.setData(Qt.UserRole, address)
            self.device_list.addItem(item)
        addresses = [a for a, _label in devices]
        row = addresses.index(therapist) + 1 if therapist in addresses else (1 if devices else 0)
        self.device_list.setCurrentRow(row)
        self.client_device_box.clear()
        self.client_device_box.addItem(SIMULATED, "")
        for address, label in devices:
            self.client_device_box.addItem(label, address)
        if client in addresses:
            self.client_device_box.setCurrentIndex(addresses.index(client) + 1)
        else:
            self.client_device_box.setCurrentIndex(2 if len(devices) > 1 else 0)

    def remembered_straps(self) -> dict[str, list[str]]:
        """The real straps in use now, to remember: ``{"self"|"therapist"|"client": [address, label]}``."""
        out: dict[str, list[str]] = {}
        item = self.device_list.currentItem()
        if item is not None and item.data(Qt.UserRole):
            out["therapist" if self.two_people else "self"] = [item.data(Qt.UserRole), item.text()]
        if self.two_people and self.client_device_box.currentData():
            out["client"] = [self.client_device_box.currentData(), self.client_device_box.currentText()]
        return out

    def restore_straps(self, straps: dict[str, list[str]]) -> None:
        """Preselect the straps of the last session, so Start connects to them without a scan."""
        pairs: dict[str, str] = {}
        for address, label in straps.values():
            pairs.setdefault(address, label)
        if not pairs:
            return
        first = straps.get("self") or straps.get("therapist")
        client = straps.get("client")
        self.set_straps(list(pairs.items()), first[0] if first else None, client[0] if client else None)
        names = ", ".join(label.split("  ")[0] for label in pairs.values())
        self.remembered_label.setText(f"Last used: {names}. Press Start to connect, or Scan for others.")
        self.remembered_label.show()
        self._strap_states = {address: (label.split("  ")[0], "checking", "looking for it…")
                              for address, label in pairs.items()}
        self._show_strap_states()
        self.controller.check_straps(list(pairs), self.ble_backend)

    def _on_strap_checked(self, address: str, state: str, words: str) -> None:
        """A remembered strap was found ready (Start connects at once) or not found."""
        if address in self._strap_states:
            self._strap_states[address] = (self._strap_states[address][0], state, words)
            self._show_strap_states()

    def _show_strap_states(self) -> None:
        lines = []
        for name, state, words in self._strap_states.values():
            mark = {"ready": "●", "checking": "○"}.get(state, "✕")
            lines.append(f"{mark} {words}" if state == "ready" else f"{mark} {name}: {words}")
        self.strap_state_label.setText("\n".join(lines))
        ready = all(state == "ready" for _n, state, _w in self._strap_states.values())
        self.strap_state_label.setObjectName("" if ready else "muted")
        self.strap_state_label.setStyleSheet(f"color: {self.palette_.good};" if ready else "")
        self.strap_state_label.setVisible(bool(lines))
        if not self.controller.running:
            self.connection_label.setText("found: Start connects at once" if ready and lines else "not connected")

    def toggle_client_view(self) -> None:
        if self.client_window is not None and self.client_window.isVisible():
            self.client_window.close()
            self.client_button.setText("Open client view")
            return
        if self.quiet:
            self.notice.emit("No client view for a session between therapist and client: nothing is shown to "
                             "chase.")
            return
        if self.client_window is None:
            self.client_window = ClientWindow(self.model, self.palette_)
        self._place_client_view(self.client_window)
        self.client_window.refresh()
        self.client_button.setText("Close client view")
        self.timer.start()

    def _place_client_view(self, win: ClientWindow) -> None:
        """Open the client view full screen on its remembered screen, else on another screen than this window's;
        with one screen only, as a window that fits it."""
        from PyQt5.QtWidgets import QApplication

        screens = QApplication.screens()
        mine = self.window().screen() if self.window() is not None else QApplication.primaryScreen()
        target = next((sc for sc in screens if sc.name() == self.client_screen_name), None)
        if target is None:
            target = next((sc for sc in screens if sc is not mine), mine)
        avail = target.availableGeometry()
        handle = win.windowHandle()
        if handle is not None:
            handle.setScreen(target)
        if target is not mine:
            win.move(avail.topLeft())
            win.showFullScreen()
        else:
            side = min(900, avail.width(), avail.height())
            win.resize(side, side)
            win.move(avail.x() + (avail.width() - side) // 2, avail.y() + (avail.height() - side) // 2)
            win.show()
        self.client_screen_name = target.name()

    # --- drawing ------------------------------------------------------------------------------------------------

    def tick(self) -> None:
        """One frame: apply queued events, then render (GUI thread, 25 Hz)."""
        m = self.model
        m.drain()
        if self.controller.extra_models:
            self.therapist_model.drain()
        point = m.pacer_point()
        self.pacer.set_point(point)
        if point is None and self._frames % 2 == 0:
            self.pacer.set_own_breath(m.own_breath() if m.phase.active and m.state == "running" else None)
        if point is not None:
            self.tones.on_segment(point.breath_index, point.segment)
        self._refresh_labels()
        self._frames += 1
        if self.quiet:
            left = self.controller.time_left_s()
            self.quiet_panel.refresh(phase_title(m), left, format_clock(left))
        else:
            self.tiles.refresh()
            self.rhythm_bar.refresh(m)
            if self._frames % PLOT_EVERY_FRAMES == 0 or m.state != "running":
                self.plots.redraw()
        if self._frames % REDRAW_HZ == 0:
            self._refresh_status()
        if self._dyad_roles:
            self._refresh_dyad_devices()
        else:
            self._refresh_device()
        if self.client_window is not None and self.client_window.isVisible():
            self.client_window.refresh(point)
        elif not self.controller.running and m.state != "running":
            self.timer.stop()

    def _refresh_labels(self) -> None:
        """Phase, time left and cue (set only when they change: a label repaint costs)."""
        m = self.model
        phase = phase_title(m)
        runner = getattr(self.controller.parts, "protocol_runner", None) if self.controller.running else None
        step = step_words(runner.protocol, m.phase.name) if runner is not None and m.phase.active else ""
        phase += f"  ·  {step}" if step else ""  # a resonance assessment: "step 3 of 5 · 5.5 /min"
        if self.phase_label.text() != phase:
            self.phase_label.setText(phase)
        text = time_left_text(m.phase_time_left_s(), self.controller.time_left_s())
        if self.time_left_label.text() != text:
            self.time_left_label.setText(text)
        if m.cue and self.cue_label.text() != m.cue:
            self.cue_label.setText(m.cue)

    def _refresh_status(self) -> None:
        """Once a second: the analysis-window line and the recorder's health."""
        quality = self.model.quality_text()
        self.quality_label.setText(f"Analysis window: {quality}" if quality else "")
        problem = self.controller.writer_problem()
        if problem:
            self._show_problem(f"Recording problem: {problem}. Events are kept in memory and retried.")

    def _refresh_device(self) -> None:
        m = self.model
        dev = next((d for d in m.devices.values() if d.participant == m.participant), None)
        if dev is None:
            return
        level, text = m.signal_status(dev)
        colour = {"good": self.palette_.good, "warning": self.palette_.warning}.get(level, self.palette_.error)
        html = f"<span style='color:{colour}'>●</span> {text}"
        if self.signal_label.text() != html:
            self.signal_label.setText(html)
        state = dev.state + (f" ({dev.reason})" if dev.reason and dev.state != "connected" else "")
        if self.connection_label.text() != state:
            self.connection_label.setText(state)
        self.battery_label.setText("—" if dev.battery_percent is None else f"{dev.battery_percent} %")
        self.contact_label.setText({None: "not reported", True: "good", False: "no contact"}[dev.contact])
        if level == "error" and self.controller.running:
            self._show_strap_problem(f"Strap {dev.device}", text)

    def _refresh_dyad_devices(self) -> None:
        """One line per person's strap in the Sensor box; a lost strap raises the banner."""
        m = self.model
        lines = []
        for role in self._dyad_roles:
            dev = device_of(m, role)
            lines.append(strap_line(role, dev))
            if dev is not None and self.controller.running:
                level, text = m.signal_status(dev)
                if level == "error":
                    self._show_strap_problem(f"{role_title(role)}'s strap {dev.device}", text)
        text = "\n".join(lines)
        if self.dyad_status_label.text() != text:
            self.dyad_status_label.setText(text)

    def _show_strap_problem(self, which: str, text: str) -> None:
        self._show_problem(f"{which}: {text}. The recording so far is safe; "
                           "the session keeps running and resumes when the strap returns.")

    def _set_quiet(self, quiet: bool) -> None:
        """The quiet panel instead of tiles, plots and pacer (a protocol made for two people); no client view."""
        self.quiet = quiet
        for w in (self.tiles, self.quality_label, self.plots, self.pacer_column, self.tones_group,
                  self.client_button):
            w.setVisible(not quiet)
        self.tiles.setVisible(not quiet and self.first_run_card.isHidden())
        self.quiet_panel.setVisible(quiet)
        self.plots.group_bar.setVisible(not quiet and self.plots.compact)
        self._pacer_layout.removeWidget(self.controls)
        self.quiet_panel.take_controls(self.controls if quiet else None)
        if not quiet:
            self._pacer_layout.addWidget(self.controls)
        if quiet and self.client_window is not None and self.client_window.isVisible():
            self.toggle_client_view()

    # --- state ------------------------------------------------------------------------------------------------

    def _on_state(self, state: str) -> None:
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        running = self.controller.running
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.annotate_button.setEnabled(running)
        self.pause_button.setText("Resume" if self.model.state == "paused" else "Pause")
        for w in (self.protocol_box, self.participant_box, self.device_list, self.scan_button, self.record_box,
                  self.people_box, self.therapist_box, self.client_box, self.client_device_box, self.attunement_box):
            w.setEnabled(not running)
        self._fit_compact()

    def _on_finished(self, reason: str, saved: str) -> None:
        self.tick()
        if reason == "failed":
            self.notice.emit("The session could not run; see the message above.")
            self._sync_buttons()
            return
        self._sync_buttons()
        self.quiet_panel.set_saved(saved)
        if self.client_window is not None:
            self.client_window.refresh()
        self.notice.emit(f"Session ended ({reason})" + (f"; saved as {saved}" if saved else ""))
        if saved:
            self.session_saved.emit(saved)
        if saved and self.summary_on_end:  # the summary in words, then the optional self-report
            from biotrainer.gui.summary_dialog import end_dialog  # an assessment shows its result instead

            self.summary_dialog = end_dialog(self.palette_, self.library, saved, self.intention_edit.text(), self)
            self.summary_dialog.open()

    def _show_problem(self, text: str) -> None:
        if self.banner.text() != text:
            self.banner.setText(text)
            log.warning("%s", text)
        self.banner.show()

    def _tone_notice(self, text: str) -> None:
        self.notice.emit(text)

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        self.pacer.set_palette(palette)
        self.plots.set_palette(palette)
        self.tiles.palette_ = palette
        self.quiet_panel.palette_ = palette
        if self.client_window is not None:
            self.client_window.set_palette(palette)

    def shutdown(self) -> None:
        """Stop any running session and wait briefly for it to save (window closing)."""
        self.timer.stop()
        self.controller.cancel_check()
        self.controller.shutdown()
        if self.client_window is not None:
            self.client_window.close()
