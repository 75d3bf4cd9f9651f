"""The end-of-session summary window (after a live session and at the end of a replay): the summary in plain words
(:func:`biotrainer.analysis.summary.library_summary`, computed off the GUI thread), then the optional self-report
(calm and present, 0-10) and a note, stored with the session (:meth:`biotrainer.store.Library.set_reflection`).
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from biotrainer.gui.background import compute_in_background
from biotrainer.gui.theme import DARK, Palette

log = logging.getLogger(__name__)

NO_ANSWER = -1  # the spin boxes' "–": no rating given


def _rating_box(tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(NO_ANSWER, 10)
    box.setSpecialValueText("–")
    box.setValue(NO_ANSWER)
    box.setToolTip(tip)
    return box


class SummaryDialog(QDialog):
    """The summary of session ``session_id`` of the library ``library`` with the optional self-report.

    ``intention`` (the line typed before starting) is stored with the session at once when given.
    """

    summary_ready = pyqtSignal(object)  # the summary dict or the error text (worker → GUI thread)

    def __init__(self, palette: Palette = DARK, library: str | None = None, session_id: str = "",
                 intention: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library_dir = library
        self.session_id = session_id
        self.summary: dict[str, Any] | None = None
        self.saved = False
        self.setWindowTitle("Session summary")
        self.resize(760, 720)
        root = QVBoxLayout(self)
        self.heading = QLabel("How the session went")
        self.heading.setObjectName("phase")
        root.addWidget(self.heading)
        self.text = QLabel("Reading the session…")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.RichText)
        self.text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.text)
        root.addWidget(scroll, 1)
        form = QFormLayout()
        self.calm = _rating_box("0: not calm at all … 10: completely calm (leave at – to skip)")
        self.present = _rating_box("0: elsewhere all the time … 10: fully here, with the breath (– to skip)")
        self.note = QLineEdit()
        self.note.setPlaceholderText("A note for yourself (optional)")
        form.addRow("How calm do you feel now? (0-10)", self.calm)
        form.addRow("How present were you? (0-10)", self.present)
        form.addRow("Note", self.note)
        root.addLayout(form)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        root.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.skip_button = QPushButton("Skip")
        self.skip_button.clicked.connect(self.reject)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.save_button)
        root.addLayout(buttons)
        self.summary_ready.connect(self._on_summary)
        if intention.strip():
            self._store(intention=intention.strip())
        self._compute()

    def library(self):  # noqa: ANN201 - biotrainer.store.Library
        from biotrainer.store import Library

        return Library(self.library_dir)

    def _compute(self) -> None:
        lib_dir, sid = self.library_dir, self.session_id

        def work() -> Any:
            from biotrainer.analysis.summary import library_summary
            from biotrainer.store import Library

            return library_summary(Library(lib_dir), sid)

        compute_in_background(work, lambda out: self.summary_ready.emit(out), "biotrainer-summary",
                              failed=lambda exc: f"No summary of this session: {exc}")

    def _on_summary(self, summary: object) -> None:
        if isinstance(summary, str):
            self.text.setText(html.escape(summary))
            return
        assert isinstance(summary, dict)
        self.summary = summary
        lines = summary["lines"]
        body = "".join(f"<p>{html.escape(line)}</p>" for line in lines[:-1])
        self.text.setText(body + f'<p style="color:{self.palette_.muted}">{html.escape(lines[-1])}</p>')
        report = summary.get("self_report") or {}
        for box, name in ((self.calm, "calm"), (self.present, "present")):
            if isinstance(report.get(name), int):
                box.setValue(report[name])
        if report.get("note"):
            self.note.setText(str(report["note"]))

    def _store(self, **values: Any) -> bool:
        try:
            self.library().set_reflection(self.session_id, **values)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, the session itself is saved
            self.status.setText(f"Could not store this with the session: {exc}")
            return False
        return True

    def save(self) -> None:
        """Store the ratings given (– is no answer) and the note with the session, then close."""
        calm, present = self.calm.value(), self.present.value()
        note = self.note.text().strip()
        if calm == NO_ANSWER and present == NO_ANSWER and not note:
            self.accept()
            return
        if self._store(calm=None if calm == NO_ANSWER else calm,
                       present=None if present == NO_ANSWER else present, note=note or None):
            self.saved = True
            self.accept()


def end_dialog(palette: Palette, library: str | None, session_id: str, intention: str = "",
               parent: QWidget | None = None) -> QDialog:
    """The window shown when a recorded session ends: the resonance assessment's result for an assessment (with
    the intention stored), else the summary with the self-report."""
    from biotrainer.gui.assessment_dialog import AssessmentDialog, is_assessment

    if not is_assessment(library, session_id):
        return SummaryDialog(palette, library, session_id, intention, parent)
    if intention.strip():
        from biotrainer.store import Library

        try:
            Library(library).set_reflection(session_id, intention=intention.strip())
        except Exception:  # noqa: BLE001 - the assessment is still shown
            log.warning("could not store the intention with %s", session_id, exc_info=True)
    return AssessmentDialog(palette, library, session_id, parent)
