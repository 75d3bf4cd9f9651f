"""Metric tiles: one per live metric, the number with its unit, or "—" and the reason when the window is poor."""

from __future__ import annotations

from PyQt5.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from biotrainer.gui.model import METRICS, SOURCE_KEYS, MetricState, SessionModel
from biotrainer.gui.theme import DARK, Palette
from biotrainer.metrics.catalogue import GLANCE, MISSING_EM, metric, tooltip


def decimals(key: str) -> int:
    """Decimals of the tile ``key`` (a :data:`biotrainer.gui.model.METRICS` key): the catalogue's glance decimals
    of the engine key it shows."""
    return metric(SOURCE_KEYS[key]).decimals_for(GLANCE)


def format_metric(key: str, state: MetricState) -> tuple[str, str]:
    """``(value text, quality text)`` for a metric: a poor window gives ``"—"`` and why."""
    if state.value is None:
        return MISSING_EM, state.reason or "not enough clean data"
    return f"{state.value:.{decimals(key)}f}", ""


TILE_MIN_PX = 100
COMPACT_BELOW_PX = 560  # narrower tiles: the reason line moves into the tooltip, so the row stays short


class MetricTile(QFrame):
    def __init__(self, key: str, title: str, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setObjectName("panel")
        self.setToolTip(tooltip(SOURCE_KEYS[key]))  # what it is, its unit, what moves it (the catalogue)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(0)
        self.full_title = f"{title}" + (f"  ({unit})" if unit else "")
        self.short_title = title
        self.title = QLabel(self.full_title)
        self.title.setObjectName("tileTitle")
        self.title.setWordWrap(True)  # a narrow tile wraps its title instead of cutting it
        self.setMinimumWidth(80)
        self.value = QLabel(MISSING_EM)
        self.value.setObjectName("tileValue")
        self.reason = QLabel("waiting for data")
        self.reason.setObjectName("reason")
        self.reason.setWordWrap(True)
        for w in (self.title, self.value, self.reason):
            lay.addWidget(w)

    def show_state(self, state: MetricState, palette: Palette) -> None:
        text, why = format_metric(self.key, state)
        if self.value.text() != text:
            self.value.setText(text)
        colour = palette.text if state.value is not None else palette.muted
        style = f"color: {colour};"
        if self.value.styleSheet() != style:
            self.value.setStyleSheet(style)
        if self.reason.text() != why:
            self.reason.setText(why)
            self.reason.setToolTip(why)


class MetricTiles(QWidget):
    """A row (or grid) of tiles for the metrics of :data:`biotrainer.gui.model.METRICS`; a narrow widget reflows
    them into more rows (at least :data:`TILE_MIN_PX` per tile)."""

    def __init__(self, model: SessionModel, palette: Palette = DARK, columns: int = 5,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.palette_ = palette
        lay = self._grid = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.max_columns = columns
        self.columns = 0
        self.tiles: dict[str, MetricTile] = {}
        for key, (title, unit) in METRICS.items():
            self.tiles[key] = MetricTile(key, title, unit)
        self._reflow(columns)

    def _reflow(self, columns: int) -> None:
        if columns == self.columns:
            return
        self.columns = columns
        for tile in self.tiles.values():
            self._grid.removeWidget(tile)
        for i, tile in enumerate(self.tiles.values()):
            self._grid.addWidget(tile, i // columns, i % columns)
        for c in range(self.max_columns):
            self._grid.setColumnStretch(c, 1 if c < columns else 0)

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        super().resizeEvent(event)
        fit = self.width() // TILE_MIN_PX
        self._reflow(self.max_columns if fit >= self.max_columns else 3)
        compact = self.width() < COMPACT_BELOW_PX
        for tile in self.tiles.values():
            tile.reason.setVisible(not compact)
            tile.title.setText(tile.short_title if compact else tile.full_title)
            tile.setToolTip(tile.full_title if compact else "")

    def refresh(self) -> None:
        for key, tile in self.tiles.items():
            tile.show_state(self.model.metrics[key], self.palette_)
