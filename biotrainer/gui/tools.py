"""The therapist's tools the CLI offers, reachable from the window's Tools menu: export, report, resonance
assessment, participants.

Each action asks for what it needs (sessions come from the Library screen's selection or the open replay), calls the
layer that does the work (:mod:`biotrainer.exchange` writers, :func:`biotrainer.analysis.export.export_sessions`, :func:`biotrainer.report.write_report`,
:func:`biotrainer.analysis.assess.assess_resonance`, the library's participant store) and says the result in one
line. Nothing is computed here. A failed write leaves no partial file (the writers' own rule) and says why.
"""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path

from PyQt5.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biotrainer.core.errors import BiotrainerError

log = logging.getLogger(__name__)

EXPORT_FORMATS = {"CSV (one folder per session)": "csv", "EDF+ (one file per session)": "edf",
                  "BIDS (one dataset)": "bids"}


class Tools:
    """The Tools menu's actions for a main window (``window.library``, ``window.show_notice``)."""

    def __init__(self, window: QWidget) -> None:
        self.window = window

    def _library(self):  # noqa: ANN202
        from biotrainer.store import Library

        return Library(self.window.library)

    def selected_refs(self) -> list[str]:
        """The sessions the tools act on: the Library's selection, else the session open in Replay."""
        lib_screen = getattr(self.window, "library_screen", None)
        if lib_screen is not None and lib_screen.selected_id():
            return [lib_screen.selected_id()]
        replay = getattr(self.window, "replay_screen", None)
        if replay is not None and replay.controller.path is not None:
            return [str(replay.controller.path)]
        return []

    def _need_session(self, what: str) -> list[str]:
        refs = self.selected_refs()
        if not refs:
            QMessageBox.information(self.window, what, f"Choose a session in the Library (or open one in Replay) "
                                                       f"first, then {what.lower()} again.")
        return refs

    def export(self, refs: list[str] | None = None, fmt: str | None = None, out: str | None = None) -> list[Path]:
        refs = refs or self._need_session("Export")
        if not refs:
            return []
        if fmt is None:
            label, ok = QInputDialog.getItem(self.window, "Export", "Format:", list(EXPORT_FORMATS), 0, False)
            if not ok:
                return []
            fmt = EXPORT_FORMATS[label]
        if out is None:
            out = QFileDialog.getExistingDirectory(self.window, "Export to folder")
            if not out:
                return []
        try:
            from biotrainer.analysis.export import export_sessions

            written = export_sessions(self._library(), refs, fmt, Path(out))
        except (BiotrainerError, OSError) as exc:
            self.window.show_notice(f"Export failed: {exc}")
            return []
        self.window.show_notice(f"Exported {len(refs)} session(s) as {fmt} to {out} ({len(written)} files)")
        return written

    def report(self, refs: list[str] | None = None, out: str | None = None) -> Path | None:
        refs = refs or self._need_session("Report")
        if not refs:
            return None
        if out is None:
            out, _ = QFileDialog.getSaveFileName(self.window, "Save report", "report.html",
                                                 "HTML report (*.html);;PDF report (*.pdf)")
            if not out:
                return None
        from biotrainer.analysis.export import pseudonymised
        from biotrainer.exchange.library import load_session
        from biotrainer.report import write_report

        try:
            library = self._library()
            path = write_report([pseudonymised(load_session(library, r)) for r in refs], Path(out))
        except (BiotrainerError, OSError) as exc:
            self.window.show_notice(f"Report failed: {exc}")
            return None
        self.window.show_notice(f"Report written to {path}")
        return path

    def assess(self, ref: str | None = None, show: bool = True) -> dict | None:
        """The resonance assessment of a session; shows the pick and offers to save it for the participant."""
        refs = [ref] if ref else self._need_session("Assessment")
        if not refs:
            return None
        from biotrainer.analysis.assess import assess_resonance, save_pick

        library = self._library()
        try:
            out, result = assess_resonance(library, refs[0])
        except BiotrainerError as exc:
            self.window.show_notice(f"Assessment: {exc}")
            if show:
                QMessageBox.information(self.window, "Resonance assessment", str(exc))
            return None
        if show:
            pick = out.get("pick_rate_per_min")
            who = out["participant"]["pseudonym"] or out["participant"]["role"]
            text = (f"Best breathing rate for {escape(who)}: <b>{pick:g} /min</b>" if pick is not None
                    else f"No rate could be picked: {escape(out.get('reason') or '')}")
            text += f"<p style='color:gray'>{escape(out.get('score_meaning', ''))}</p>"
            buttons = QMessageBox.Save | QMessageBox.Close if pick is not None else QMessageBox.Close
            answer = QMessageBox.question(self.window, "Resonance assessment",
                                          text + ("<p>Save it as this participant's rate?</p>" if pick else ""),
                                          buttons)
            if answer == QMessageBox.Save:
                try:
                    save_pick(library, out, result)
                    self.window.show_notice(f"Saved {pick:g} /min for {who}")
                except BiotrainerError as exc:
                    self.window.show_notice(str(exc))
        return out

    def add_participant(self, pseudonym: str, role: str = "self", notes: str = "") -> bool:
        """Add a participant (a pseudonym, never a name) to the library's participant store."""
        try:
            self._library().participants.add(pseudonym.strip(), role=role, notes=notes)
        except BiotrainerError as exc:
            self.window.show_notice(str(exc))
            return False
        self.window.show_notice(f"Participant {pseudonym.strip()} added")
        return True

    def _fill_participants(self, table: QTableWidget, count: QLabel) -> None:
        people = self._library().participants.list()
        count.setText(f"{len(people)} participant(s) in this library (pseudonyms only, as 'biotrainer "
                      f"participants' lists them).")
        table.setRowCount(len(people))
        for row, p in enumerate(people):
            rate = "" if p.resonance_rate_per_min is None else f"{p.resonance_rate_per_min:g}"
            for col, value in enumerate((p.pseudonym, p.role, rate, p.notes)):
                table.setItem(row, col, QTableWidgetItem(value))
        table.resizeColumnsToContents()

    def participants(self) -> QDialog:
        """A dialog listing the library's participants (pseudonym, role, resonance rate, notes), with Add."""
        dlg = QDialog(self.window)
        dlg.setWindowTitle("Participants")
        lay = QVBoxLayout(dlg)
        count = QLabel("")
        lay.addWidget(count)
        table = QTableWidget(0, 4)
        table.setHorizontalHeaderLabels(["Pseudonym", "Role", "Resonance rate /min", "Notes"])
        table.horizontalHeader().setStretchLastSection(True)
        self._fill_participants(table, count)
        lay.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        add = buttons.addButton("Add…", QDialogButtonBox.ActionRole)

        def ask() -> None:
            name, ok = QInputDialog.getText(dlg, "Add participant", "Pseudonym (not a name):")
            if ok and name.strip() and self.add_participant(name):
                self._fill_participants(table, count)

        add.clicked.connect(ask)
        buttons.rejected.connect(dlg.reject)
        lay.addWidget(buttons)
        dlg.table = table  # type: ignore[attr-defined]
        dlg.resize(640, 360)
        dlg.show()
        return dlg
