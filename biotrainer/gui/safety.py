"""Safety notes (SCIENCE.md §9), shown in Help and once before the first session."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

SAFETY_TITLE = "Before you practise"
START_HINT = "Tick \u201cI have read these notes\u201d to start the session."

SAFETY_HTML = """
<h3>About biotrainer</h3>
<p>biotrainer is a practice and research tool, <b>not a medical device</b>. It does not diagnose any condition,
and its numbers are not clinical thresholds.</p>
<h3>When the numbers do not apply</h3>
<ul>
<li>Heart-rate variability metrics are <b>invalid with atrial fibrillation, a pacemaker or frequent ectopic
beats</b>.</li>
<li>They are <b>altered by beta-blockers</b> and other heart-rate medication.</li>
<li>RSA, lnRMSSD and the coherence ratio are indices of cardiac vagal modulation, best compared within one person
at the same posture and breathing rate. They do not measure safety, emotion or "vagal tone".</li>
</ul>
<h3>Breathe gently</h3>
<ul>
<li>Keep breaths <b>small and soft</b>; slow breathing does not need deep breathing.</li>
<li><b>Stop if you feel dizzy, light-headed or tingling</b> (signs of over-breathing) and breathe normally.</li>
</ul>
"""


class SafetyDialog(QDialog):
    """The safety notes; with ``first_run`` it asks the user to confirm they have read them."""

    def __init__(self, parent: QWidget | None = None, first_run: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(SAFETY_TITLE)
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        text = QLabel(SAFETY_HTML)
        text.setWordWrap(True)
        text.setTextFormat(Qt.RichText)
        lay.addWidget(text)
        self.confirm = QCheckBox("I have read these notes")
        which = QDialogButtonBox.Ok | QDialogButtonBox.Cancel if first_run else QDialogButtonBox.Ok
        buttons = QDialogButtonBox(which)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.hint = QLabel(START_HINT)
        self.hint.setObjectName("muted")
        if first_run:
            lay.addWidget(self.confirm)
            lay.addWidget(self.hint)
            ok = buttons.button(QDialogButtonBox.Ok)
            ok.setText("Start session")
            ok.setEnabled(False)
            ok.setToolTip(START_HINT)
            self.confirm.toggled.connect(ok.setEnabled)
            self.confirm.toggled.connect(lambda on: self.hint.setVisible(not on))
        lay.addWidget(buttons)
