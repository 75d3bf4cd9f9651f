"""The library screen: participants and their sessions; search, open, rename, notes, delete, import.

Reads :class:`biotrainer.store.Library` (list, rename, notes, delete are the library's own operations); the screen
only lists and asks. Key metrics per session come from the library summary (beats, duration) and from
:func:`biotrainer.analysis.key_metrics.key_metrics`, computed off the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from biotrainer.analysis.key_metrics import KEY_METRIC_KEYS, KEY_METRICS_NOTE, format_key_metric, key_metrics
from biotrainer.gui.live_screen import format_clock
from biotrainer.gui.theme import DARK, Palette
from biotrainer.metrics.catalogue import CATALOGUE

log = logging.getLogger(__name__)

ALL = "All participants"
COLUMNS = ("Date", "Participant", "Protocol", "Duration", "Beats", *(CATALOGUE[k].column_label for k in KEY_METRIC_KEYS),
           "State", "Title")
FIRST_METRIC_COLUMN = 5


def format_started(iso: str) -> str:
    """``2026-11-26 11:52`` from an ISO-8601 time (as given when unparsable)."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return iso or ""


class LibraryScreen(QWidget):
    """Lists the sessions of the library; ``open_requested(ref)`` asks the window to replay one."""

    open_requested = pyqtSignal(str)
    notice = pyqtSignal(str)
    metrics_ready = pyqtSignal(str, dict)  # session id, key metrics (worker → GUI thread)

    def __init__(self, palette: Palette = DARK, library: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = palette
        self.library_dir = library
        self.sessions: list = []
        self.error = ""
        self.metrics_cache: dict[tuple[str, float], dict[str, float | None]] = {}
        self.metrics_ready.connect(self._on_metrics)
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 8, 12, 12)
        top = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search participant, protocol, title…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._fill_table)
        top.addWidget(self.search, 1)
        self.buttons = {}
        for name, slot in (("Open", self.open_selected), ("Rename…", self.rename_selected),
                           ("Delete…", self.delete_selected), ("Import…", self.import_dialog),
                           ("Journey…", self.show_journey), ("Reload", self.reload)):
            b = QPushButton(name)
            b.clicked.connect(slot)
            top.addWidget(b)
            self.buttons[name] = b
        self.buttons["Open"].setObjectName("primary")
        root.addLayout(top)
        self.location = QLabel("")
        self.location.setObjectName("muted")
        root.addWidget(self.location)

        split = QSplitter(Qt.Horizontal)
        self.participants = QListWidget()
        self.participants.currentTextChanged.connect(self._fill_table)
        split.addWidget(self.participants)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        for i in range(len(KEY_METRIC_KEYS)):
            self.table.horizontalHeaderItem(FIRST_METRIC_COLUMN + i).setToolTip(KEY_METRICS_NOTE)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.table.itemSelectionChanged.connect(self._show_notes)
        table_and_notes = QSplitter(Qt.Vertical)  # notes under the table: the table keeps the whole width
        table_and_notes.setChildrenCollapsible(False)
        table_and_notes.addWidget(self.table)
        notes_box = QWidget()
        nl = QVBoxLayout(notes_box)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.addWidget(QLabel("Notes"))
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes about this session")
        nl.addWidget(self.notes, 1)
        self.save_notes_button = QPushButton("Save notes")
        self.save_notes_button.clicked.connect(self.save_notes)
        nl.addWidget(self.save_notes_button)
        table_and_notes.addWidget(notes_box)
        table_and_notes.setStretchFactor(0, 3)
        table_and_notes.setStretchFactor(1, 1)
        self.notes.setMinimumHeight(48)
        split.addWidget(table_and_notes)
        split.setChildrenCollapsible(False)
        self.participants.setMinimumWidth(90)
        split.setStretchFactor(1, 1)
        split.setSizes([160, 1200])
        root.addWidget(split, 1)
        self.reload()

    # --- data ---------------------------------------------------------------------------------------------------

    def library(self):  # noqa: ANN201 - biotrainer.store.Library
        from biotrainer.store import Library

        return Library(self.library_dir)

    def reload(self) -> None:
        """Read the session list again from the library folder."""
        try:
            lib = self.library()
            self.sessions = lib.list_sessions()
            self.location.setText(f"Library: {lib.root}")
            self.error = ""
        except Exception as exc:  # noqa: BLE001 - show the problem, keep the window
            self.sessions = []
            self.error = str(exc)
            self.location.setText(f"Library cannot be read: {exc}")
        current = self.participants.currentItem().text() if self.participants.currentItem() else ALL
        names = sorted({s.participant for s in self.sessions if s.participant})
        blocked = self.participants.blockSignals(True)
        self.participants.clear()
        self.participants.addItem(ALL)
        self.participants.addItems(names)
        matches = self.participants.findItems(current, Qt.MatchExactly)
        self.participants.setCurrentItem(matches[0] if matches else self.participants.item(0))
        self.participants.blockSignals(blocked)
        self._fill_table()
        self._compute_metrics()

    def _compute_metrics(self) -> None:
        todo = [s.id for s in self.sessions if not s.error and (s.id, s.duration_s) not in self.metrics_cache]
        if not todo:
            return
        durations = {s.id: s.duration_s for s in self.sessions}

        def work() -> None:
            lib = self.library()
            for sid in todo:
                try:
                    values = key_metrics(lib, sid)
                except Exception:  # noqa: BLE001 - the row keeps its dashes
                    log.debug("key metrics of %s failed", sid, exc_info=True)
                    values = {}
                self.metrics_ready.emit(sid, {"duration_s": durations[sid], **values})

        threading.Thread(target=work, name="biotrainer-library-metrics", daemon=True).start()

    def _on_metrics(self, sid: str, values: dict) -> None:
        self.metrics_cache[(sid, values.pop("duration_s"))] = values
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.data(Qt.UserRole) == sid:
                self._fill_metric_cells(r, values)

    def _fill_metric_cells(self, row: int, values: dict) -> None:
        for i, key in enumerate(KEY_METRIC_KEYS):
            item = QTableWidgetItem(format_key_metric(key, values.get(key)))
            item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            item.setData(Qt.UserRole, self.table.item(row, 0).data(Qt.UserRole))
            self.table.setItem(row, FIRST_METRIC_COLUMN + i, item)

    def visible_sessions(self) -> list:
        who = self.participants.currentItem().text() if self.participants.currentItem() else ALL
        needle = self.search.text().strip().lower()
        out = []
        for s in self.sessions:
            if who != ALL and s.participant != who:
                continue
            hay = " ".join([s.participant, s.protocol, s.title or "", s.id, s.started_at]).lower()
            if needle and needle not in hay:
                continue
            out.append(s)
        return sorted(out, key=lambda s: s.started_at, reverse=True)

    def _fill_table(self, *_args: object) -> None:
        rows = self.visible_sessions()
        self.table.setRowCount(len(rows))
        for r, s in enumerate(rows):
            state = s.state + (" · synthetic" if s.synthetic else "") + (f" · {s.error}" if s.error else "")
            values = (format_started(s.started_at), s.participant, s.protocol, format_clock(s.duration_s),
                      str(s.n_beats), *([""] * len(KEY_METRIC_KEYS)), state, s.title or "")
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setData(Qt.UserRole, s.id)
                if c in (3, 4):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
            cached = self.metrics_cache.get((s.id, s.duration_s))
            if cached is not None:
                self._fill_metric_cells(r, cached)
        if rows and not self.table.selectedItems():
            self.table.selectRow(0)

    def selected_id(self) -> str | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.UserRole) if items else None

    def _selected_summary(self):  # noqa: ANN202
        sid = self.selected_id()
        return next((s for s in self.sessions if s.id == sid), None)

    def _show_notes(self) -> None:
        sid = self.selected_id()
        text = ""
        if sid:
            try:
                with self.library().open(sid) as reader:
                    text = getattr(reader, "meta", None).notes if getattr(reader, "meta", None) else ""
            except Exception:  # noqa: BLE001
                text = ""
        self.notes.setPlainText(text or "")

    # --- actions ------------------------------------------------------------------------------------------------

    def open_selected(self) -> None:
        sid = self.selected_id()
        if sid:
            self.open_requested.emit(sid)

    def show_journey(self) -> None:
        """The Journey view (:mod:`biotrainer.gui.journey_screen`) of the chosen participant, in its own window."""
        from biotrainer.gui.journey_screen import JourneyScreen

        who = self.participants.currentItem().text() if self.participants.currentItem() else ALL
        self.journey = JourneyScreen(self.palette_, self.library_dir, None if who == ALL else who)
        self.journey.show()

    def rename_selected(self) -> None:
        s = self._selected_summary()
        if s is None:
            return
        title, ok = QInputDialog.getText(self, "Rename session", "Title:", text=s.title or "")
        if ok:
            self.rename(s.id, title)

    def rename(self, ref: str, title: str) -> None:
        try:
            self.library().rename(ref, title)
            self.notice.emit(f"Renamed session to {title!r}")
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(self, "Rename failed", str(exc))
        self.reload()

    def save_notes(self) -> None:
        sid = self.selected_id()
        if not sid:
            return
        try:
            self.library().set_notes(sid, self.notes.toPlainText())
            self.notice.emit("Notes saved")
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(self, "Saving notes failed", str(exc))

    def delete_selected(self, confirm: bool = True) -> bool:
        """Delete the selected session after a confirmation dialog. Returns True when deleted."""
        s = self._selected_summary()
        if s is None:
            return False
        if confirm:
            answer = QMessageBox.question(
                self, "Delete session",
                f"Delete the session of {s.participant or 'unknown'} from {format_started(s.started_at)} "
                f"({s.protocol}, {format_clock(s.duration_s)})?\nThis cannot be undone.",
                QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer != QMessageBox.Yes:
                return False
        try:
            self.library().delete(s.id)
            self.notice.emit("Session deleted")
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(self, "Delete failed", str(exc))
            return False
        self.reload()
        return True

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import recording", "",
                                              "Recordings (*.sqlite *.csv *.txt *.xdf *.edf);;All files (*)")
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> str | None:
        """Import a recording into the library with the exchange module; returns the new session id."""
        try:
            from biotrainer import exchange
        except ImportError:
            QMessageBox.information(self, "Import", "Import is not available in this version.")
            return None
        fn = getattr(exchange, "import_file", None) or getattr(exchange, "import_recording", None)
        if fn is None:
            QMessageBox.information(self, "Import", "Import is not available in this version.")
            return None
        try:
            result = fn(path, library=self.library())
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(self, "Import failed", str(exc))
            return None
        self.reload()
        sid = str(getattr(result, "id", result))
        self.notice.emit(f"Imported {path}")
        return sid
