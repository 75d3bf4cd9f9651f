"""The quiet panel of a session between two people (therapist and client), and the strap lines of the dyad.

A protocol made for two people (``roles = ["therapist", "client"]``, e.g. ``therapy-session``) shows the therapist
no tiles, no plots and no numbers to chase: only the phase, the time left, whether both straps are receiving, and
that synchrony is computed afterwards. :func:`strap_line` is the one-line state of one person's strap in the Sensor
box.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from biotrainer.gui.model import DeviceState, SessionModel
from biotrainer.gui.theme import Palette

ROLE_TITLES = {"therapist": "Therapist", "client": "Client", "self": "Participant"}
CONTACT_WORDS = {None: "contact n/a", True: "contact good", False: "no contact"}
NBSP = "\u00a0"


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role.capitalize())


def device_of(model: SessionModel, role: str) -> DeviceState | None:
    """The strap worn in ``role`` (the newest one if it changed), or None before it reported anything."""
    found = [d for d in model.devices.values() if d.participant == role]
    return found[-1] if found else None


def strap_line(role: str, dev: DeviceState | None) -> str:
    """``Therapist: connected · 87 % · contact good`` (plain text; the battery as a percentage)."""
    if dev is None:
        return f"{role_title(role)}: not connected"
    parts = [dev.state + (f" ({dev.reason})" if dev.reason and dev.state != "connected" else "")]
    if dev.battery_percent is not None:
        parts.append(f"{dev.battery_percent}{NBSP}%")
    parts.append(CONTACT_WORDS[dev.contact].replace(" ", NBSP))
    return f"{role_title(role)}: " + " · ".join(parts)


def strap_word(model: SessionModel, dev: DeviceState | None) -> tuple[str, str]:
    """``(level, word)`` of a strap for the quiet panel: receiving, contact lost, not connected, waiting…"""
    if dev is None:
        return "warning", "not connected"
    level, text = model.signal_status(dev)
    if dev.contact is False:
        return "warning", "contact lost"
    if level == "good":
        return level, "receiving"
    return level, text


class QuietPanel(QFrame):
    """Phase, time left, both straps' status and the synchrony note; refreshed by the live screen's timer."""

    SYNCHRONY_NOTE = (f"Synchrony between you is computed afterwards: open the session in Replay, "
                      f"or run biotrainer{NBSP}synchrony{NBSP}{{ref}}.")

    def __init__(self, model: SessionModel, palette: Palette, roles: tuple[str, ...] = ("therapist", "client"),
                 parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.setObjectName("panel")
        self.model = model
        self.palette_ = palette
        self.roles = roles
        self.people: dict[str, str] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(40, 40, 40, 40)
        lay.setSpacing(18)
        lay.addStretch(2)
        self.phase_label = self._label("Ready", "phase")
        self.time_label = self._label("", "timeLeft")
        lay.addWidget(self.phase_label)
        lay.addWidget(self.time_label)
        lay.addSpacing(24)
        self.strap_labels = {role: self._label("", "cue") for role in roles}
        for label in self.strap_labels.values():
            lay.addWidget(label)
        self.attunement_label = self._label("", "muted")  # the opt-in indicator: hidden unless switched on
        self.attunement_label.setVisible(False)
        lay.addWidget(self.attunement_label)
        lay.addSpacing(24)
        self.note_label = self._label(self.SYNCHRONY_NOTE.format(ref="ID"), "muted")
        self.note_label.setWordWrap(True)
        lay.addWidget(self.note_label)
        lay.addStretch(3)
        self.controls_slot = QHBoxLayout()  # the session buttons while the panel shows
        self.controls_slot.addStretch(1)
        self.controls_slot.addStretch(1)
        lay.addLayout(self.controls_slot)
        self._controls: QWidget | None = None

    def take_controls(self, controls: QWidget | None) -> None:
        """Hold the session buttons under the panel (None: give them back)."""
        if self._controls is not None:
            self.controls_slot.removeWidget(self._controls)
            self._controls.setMaximumWidth(16_777_215)
        self._controls = controls
        if controls is not None:
            controls.setMaximumWidth(460)
            self.controls_slot.insertWidget(1, controls, 2)

    def set_people(self, people: dict[str, str]) -> None:
        """Role → pseudonym of the session, named on the strap lines."""
        self.people = dict(people)

    def _label(self, text: str, name: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName(name)
        label.setAlignment(Qt.AlignCenter)
        return label

    def refresh(self, phase: str, session_left_s: float | None, clock: str) -> None:
        """Redraw with the phase title and the session's time left (``clock`` is its ``m:ss``)."""
        if self.phase_label.text() != phase:
            self.phase_label.setText(phase)
        text = f"{clock} left of the session" if session_left_s is not None else ""
        if self.time_label.text() != text:
            self.time_label.setText(text)
        for role, label in self.strap_labels.items():
            level, word = strap_word(self.model, device_of(self.model, role))
            colour = {"good": self.palette_.good, "warning": self.palette_.warning}.get(level, self.palette_.error)
            who = f" ({self.people[role]})" if self.people.get(role) else ""
            html = f"<span style='color:{colour}'>●</span> {role_title(role)}{who}: strap {word}"
            if label.text() != html:
                label.setText(html)
        if self.attunement_label.isVisibleTo(self):
            self._refresh_attunement()

    def show_attunement(self, on: bool) -> None:
        """Switch the live attunement indicator on or off (off by default; the client view never has it)."""
        self.attunement_label.setVisible(on)

    def _refresh_attunement(self) -> None:
        """Coloured only above the chance threshold; otherwise a muted dot and no number to chase."""
        a = self.model.attunement
        if a is None:
            html = f"<span style='color:{self.palette_.muted}'>○</span> attunement: waiting for a few minutes of data"
        elif a.get("synchrony.above_chance") == 1.0:
            html = f"<span style='color:{self.palette_.accent}'>●</span> in synchrony over the last minutes"
        else:
            html = f"<span style='color:{self.palette_.muted}'>○</span> attunement"
        if self.attunement_label.text() != html:
            self.attunement_label.setText(html)

    def set_saved(self, ref: str) -> None:
        """Name the saved session in the synchrony note."""
        self.note_label.setText(self.SYNCHRONY_NOTE.format(ref=ref or "ID"))
