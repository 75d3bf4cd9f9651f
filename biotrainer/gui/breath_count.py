"""The keys of the breath counting task in the window (:mod:`biotrainer.analysis.breath_counting`): while the live
screen runs the ``breath-counting`` protocol, Down marks breaths 1-8, Right breath 9 and Up a lost count; each press
is recorded as an annotation (author ``breath-count``), so it is stored, replayed and scored with the session."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QEvent, QObject, Qt

from biotrainer.analysis.breath_counting import AUTHOR, COUNT, NINE, RESET

PROTOCOL = "breath-counting"
KEY_OF = {Qt.Key_Down: COUNT, Qt.Key_Right: NINE, Qt.Key_Up: RESET}


class BreathCountKeys(QObject):
    """An application event filter that turns the task's keys into presses while ``live`` runs the task."""

    def __init__(self, live: Any) -> None:
        super().__init__(live)
        self.live = live
        self.presses = 0

    def active(self) -> bool:
        """True while the live session runs the breath counting protocol."""
        parts = self.live.controller.parts
        runner = getattr(parts, "protocol_runner", None) if self.live.controller.running else None
        return runner is not None and runner.protocol.name == PROTOCOL

    def press(self, key: str) -> None:
        self.live.controller.annotate(key, AUTHOR)
        self.presses += 1

    def eventFilter(self, _obj: QObject, event: Any) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.KeyPress and not event.isAutoRepeat() and event.key() in KEY_OF and self.active():
            self.press(KEY_OF[event.key()])
            return True
        return False


def install(live: Any) -> BreathCountKeys:
    """Install the task's keys for ``live`` (a :class:`~biotrainer.gui.live_screen.LiveScreen`) application-wide."""
    from PyQt5.QtWidgets import QApplication

    keys = BreathCountKeys(live)
    QApplication.instance().installEventFilter(keys)
    return keys
