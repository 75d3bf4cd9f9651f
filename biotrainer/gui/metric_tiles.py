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


class MetricTile(QFrame):
    def __init__(self, key: str, title: str, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setObjectName("panel")
        self.setToolTip(tooltip(SOURCE_KEYS[key]))  # what it is, its unit, what moves it (the catalogue)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(0)
        self.title = QLabel(f"{title}" + (f"  ({unit})" if unit else ""))
        self.title.setObjectName("tileTitle")
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
    """A row (or grid) of tiles for the metrics of :data:`biotrainer.gui.model.METRICS`."""

    def __init__(self, model: SessionModel, palette: Palette = DARK, columns: int = 5,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.palette_ = palette
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.tiles: dict[str, MetricTile] = {}
        for i, (key, (title, unit)) in enumerate(METRICS.items()):
            tile = MetricTile(key, title, unit)
            self.tiles[key] = tile
            lay.addWidget(tile, i // columns, i % columns)

    def refresh(self) -> None:
        for key, tile in self.tiles.items():
            tile.show_state(self.model.metrics[key], self.palette_)
