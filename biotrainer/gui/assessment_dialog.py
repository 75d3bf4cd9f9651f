"""The result of a resonance assessment in the window (what ``biotrainer assess`` prints): the criteria table of the
steps with the pick marked, the legend, the pick or why there is none, and a button that stores the pick as the
participant's personal rate (:func:`biotrainer.analysis.assess.assess_resonance`, :func:`~biotrainer.analysis.
assess.save_pick`). The assessment is computed off the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biotrainer.gui.background import compute_in_background
from biotrainer.gui.theme import DARK, Palette
from biotrainer.metrics.catalogue import MISSING_EM

COLUMNS = ("step", "rate /min", "HR swing bpm", "phase °", "LF ms²", "smooth", "adh /min", "rank", "")


def _f(v: Any, d: int = 1) -> str:
    return MISSING_EM if v is None else f"{round(v, d) + 0.0:.{d}f}"


def step_row(step: Any, pick: float | None) -> list[str]:
    """One row of the criteria table (the same columns and decimals as ``biotrainer assess``)."""
    note = (f"excluded: {step.excluded_because}" if not step.included else
            "◀ pick" if pick is not None and step.rate_per_min == pick else "")
    return [step.name, f"{step.rate_per_min:.1f}", _f(step.p2t_bpm), _f(step.phase_deg, 0), _f(step.lf_ms2, 0),
            _f(step.smoothness, 2), _f(step.adherence_per_min, 2), _f(step.score, 2), note]


class AssessmentDialog(QDialog):
    """The assessment of session ``session_id`` of the library ``library``."""

    assessed = pyqtSignal(object)  # (out, result) or the error text (worker → GUI thread)

    def __init__(self, palette: Palette = DARK, library: str | None = None, session_id: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library_dir = library
        self.session_id = session_id
        self.out: dict[str, Any] | None = None
        self.result: Any = None
        self.setWindowTitle("Resonance assessment")
        self.resize(960, 560)
        root = QVBoxLayout(self)
        self.heading = QLabel("Resonance assessment")
        self.heading.setObjectName("phase")
        root.addWidget(self.heading)
        self.pick_label = QLabel("Evaluating the steps…")
        self.pick_label.setWordWrap(True)
        root.addWidget(self.pick_label)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        root.addWidget(self.table, 1)
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        self.legend.setObjectName("muted")
        root.addWidget(self.legend)
        buttons = QHBoxLayout()
        self.status = QLabel("")
        buttons.addWidget(self.status, 1)
        self.save_button = QPushButton("Store as my personal rate")
        self.save_button.setObjectName("primary")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close)
        root.addLayout(buttons)
        self.assessed.connect(self._on_assessed)
        self._compute()

    def library(self):  # noqa: ANN201 - biotrainer.store.Library
        from biotrainer.store import Library

        return Library(self.library_dir)

    def _compute(self) -> None:
        lib_dir, sid = self.library_dir, self.session_id

        def work() -> Any:
            from biotrainer.analysis.assess import assess_resonance
            from biotrainer.store import Library

            return assess_resonance(Library(lib_dir), sid)

        compute_in_background(work, lambda out: self.assessed.emit(out), "biotrainer-assess")

    def _on_assessed(self, got: object) -> None:
        if isinstance(got, str):
            self.pick_label.setText(f"No assessment: {got}")
            return
        from biotrainer.analysis.assess import legend

        self.out, self.result = got  # type: ignore[misc]
        res = self.result
        self.table.setRowCount(len(res.steps))
        for r, step in enumerate(res.steps):
            for c, text in enumerate(step_row(step, res.pick_rate_per_min)):
                item = QTableWidgetItem(text)
                if 0 < c < len(COLUMNS) - 1:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
        self.legend.setText("\n".join(legend(res.weights)))
        if res.pick_rate_per_min is None:
            self.pick_label.setText(f"No pick: {res.reason}")
        else:
            who = self.out["participant"].get("pseudonym") or self.out["participant"]["role"]
            self.pick_label.setText(f"<b>Resonance rate pick: {res.pick_rate_per_min:g} breaths a minute</b> for "
                                    f"{who}. Compare the pattern across the rates, not only the pick.")
            self.save_button.setEnabled(bool(self.out["participant"].get("pseudonym")))

    def save(self) -> None:
        """Store the pick as the participant's personal resonance rate."""
        from biotrainer.analysis.assess import save_pick

        if self.out is None:
            return
        try:
            save_pick(self.library(), self.out, self.result)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog
            self.status.setText(f"Not stored: {exc}")
            return
        self.status.setText(f"Stored: {self.result.pick_rate_per_min:g} /min is now the personal rate of "
                            f"{self.out['participant']['pseudonym']}.")
        self.save_button.setEnabled(False)


def is_assessment(library: str | None, session_id: str) -> bool:
    """True when the saved session ran a protocol with resonance-assessment steps."""
    from biotrainer.analysis.assess import session_protocol
    from biotrainer.store import Library

    try:
        with Library(library).open(session_id) as reader:
            protocol = session_protocol(reader.meta)
    except Exception:  # noqa: BLE001 - an unreadable session has no assessment to show
        return False
    return protocol is not None and bool(protocol.assessment_steps)
