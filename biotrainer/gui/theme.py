"""Dark and light themes: one palette per theme, one stylesheet, pyqtgraph colours from the same palette.

Calm, low-contrast surfaces with high-contrast text; large type so the screen reads at a distance. Series colours
are from the Okabe–Ito palette (:data:`OKABE_ITO`), which stays distinguishable with colour-vision deficiency;
plots that overlay series also vary the line style.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

BASE_POINT_SIZE: Final = 11  # application font size in points at scale 1.0
#: Okabe & Ito (2008), "Color Universal Design": orange, sky blue, bluish green, yellow, blue, vermillion, purple.
OKABE_ITO: Final = {"orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
                    "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7"}


@dataclass(frozen=True)
class Palette:
    name: str
    window: str
    panel: str
    panel_alt: str
    border: str
    text: str
    muted: str
    accent: str
    inhale: str
    exhale: str
    hold: str
    warning: str
    error: str
    good: str
    plot_bg: str
    grid_alpha: float
    # series colours
    hr: str
    rr: str
    artifact: str
    rsa: str
    rmssd: str
    coherence: str
    breathing: str
    pacer_curve: str
    annotation: str
    hr_other: str = OKABE_ITO["sky_blue"]  # the other person's heart rate when both are overlaid (dashed)


DARK: Final = Palette(
    name="dark", window="#12161c", panel="#1a1f27", panel_alt="#222833", border="#2c3340", text="#e8ebf0",
    muted="#98a2b3", accent="#5cc8b8", inhale="#5cc8b8", exhale="#7f9ce0", hold="#d2b27a", warning="#e3a857",
    error="#e57373", good="#7cc68d", plot_bg="#161a21", grid_alpha=0.15, hr=OKABE_ITO["orange"],
    rr="#e8ebf0", artifact=OKABE_ITO["vermillion"], rsa=OKABE_ITO["bluish_green"], rmssd=OKABE_ITO["reddish_purple"],
    coherence=OKABE_ITO["sky_blue"], breathing=OKABE_ITO["yellow"], pacer_curve=OKABE_ITO["sky_blue"],
    annotation="#e3a857",
)

LIGHT: Final = Palette(
    name="light", window="#f3f4f6", panel="#ffffff", panel_alt="#eef0f3", border="#d5d9e0", text="#1b2230",
    muted="#5b6576", accent="#1f8a7d", inhale="#2a9d8f", exhale="#4a6fc2", hold="#b08330", warning="#b86e00",
    error="#c0392b", good="#2e8b57", plot_bg="#ffffff", grid_alpha=0.25, hr=OKABE_ITO["vermillion"],
    rr="#2b3445", artifact=OKABE_ITO["orange"], rsa=OKABE_ITO["bluish_green"], rmssd=OKABE_ITO["reddish_purple"],
    coherence=OKABE_ITO["blue"], breathing=OKABE_ITO["blue"], pacer_curve=OKABE_ITO["sky_blue"],
    annotation="#b86e00", hr_other=OKABE_ITO["blue"],
)


def palette(name: str) -> Palette:
    """The palette called ``name`` (``dark`` or ``light``); unknown names fall back to dark."""
    return LIGHT if name == "light" else DARK


def stylesheet(p: Palette, scale: float = 1.0) -> str:
    """The application stylesheet for palette ``p`` with fonts multiplied by ``scale``."""
    pt = round(BASE_POINT_SIZE * scale)
    return f"""
    QWidget {{ background: {p.window}; color: {p.text}; font-size: {pt}pt; }}
    QMainWindow::separator {{ background: {p.border}; width: 1px; height: 1px; }}
    QFrame#panel, QGroupBox {{ background: {p.panel}; border: 1px solid {p.border}; border-radius: 8px; }}
    QGroupBox {{ margin-top: 1.4em; padding: 8px 8px 6px 8px; }}
    QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {p.muted}; }}
    QLabel {{ background: transparent; }}
    QLabel#muted, QLabel#reason {{ color: {p.muted}; }}
    QLabel#phase {{ font-size: {round(pt * 1.7)}pt; font-weight: 600; }}
    QLabel#cue {{ font-size: {round(pt * 1.25)}pt; color: {p.text}; }}
    QLabel#cueSmall {{ font-size: {pt}pt; color: {p.text}; }}
    QLabel#phaseSmall {{ font-size: {round(pt * 1.3)}pt; font-weight: 600; }}
    QLabel#timeLeftSmall {{ font-size: {pt}pt; color: {p.muted}; }}
    QLabel#timeLeft {{ font-size: {round(pt * 1.5)}pt; color: {p.muted}; }}
    QLabel#tileValue {{ font-size: {round(pt * 2.0)}pt; font-weight: 600; }}
    QLabel#tileTitle {{ color: {p.muted}; }}
    QLabel#cardTitle {{ font-size: {round(pt * 1.2)}pt; font-weight: 600; }}
    QLabel#cardBody {{ font-size: {round(pt * 0.9)}pt; }}
    QLabel#cardNote {{ font-size: {round(pt * 0.9)}pt; color: {p.muted}; }}
    QLabel#simulated {{ background: {p.warning}; color: {p.window}; font-weight: 700; border-radius: 4px;
                        padding: 3px 8px; letter-spacing: 1px; }}
    QLabel#card {{ background: {p.panel}; border: 1px solid {p.accent}; border-radius: 8px; padding: 8px 12px; }}
    QCheckBox {{ spacing: 8px; }}
    QCheckBox::indicator {{ width: 16px; height: 16px; border: 2px solid {p.muted}; border-radius: 4px;
                           background: {p.panel_alt}; }}
    QCheckBox::indicator:checked {{ background: {p.accent}; border-color: {p.accent}; }}
    QCheckBox::indicator:disabled {{ border-color: {p.border}; }}
    QListView::indicator, QTableView::indicator {{ width: 14px; height: 14px; border: 2px solid {p.muted};
                                                  border-radius: 3px; background: {p.panel_alt}; }}
    QListView::indicator:checked, QTableView::indicator:checked {{ background: {p.accent};
                                                                  border-color: {p.accent}; }}
    QLabel#banner {{ background: {p.panel_alt}; border: 1px solid {p.warning}; border-radius: 6px;
                     padding: 6px 10px; color: {p.text}; }}
    QPushButton {{ background: {p.panel_alt}; border: 1px solid {p.border}; border-radius: 6px;
                   padding: 6px 14px; }}
    QPushButton:hover {{ border-color: {p.accent}; }}
    QPushButton:disabled {{ color: {p.muted}; }}
    QPushButton#primary {{ background: {p.accent}; color: {p.window}; border: none; font-weight: 600; }}
    QPushButton#primary:disabled {{ background: {p.panel_alt}; color: {p.muted}; }}
    QComboBox, QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox {{
        background: {p.panel_alt}; border: 1px solid {p.border}; border-radius: 6px; padding: 4px 8px; }}
    QComboBox QAbstractItemView {{ background: {p.panel}; selection-background-color: {p.accent}; }}
    QTabWidget::pane {{ border: none; }}
    QTabBar::tab {{ background: transparent; color: {p.muted}; padding: 8px 18px; border: none;
                    border-bottom: 2px solid transparent; }}
    QTabBar::tab:selected {{ color: {p.text}; border-bottom: 2px solid {p.accent}; }}
    QTableWidget, QTreeWidget, QListWidget {{ background: {p.panel}; alternate-background-color: {p.panel_alt};
        border: 1px solid {p.border}; border-radius: 6px; gridline-color: {p.border};
        selection-background-color: {p.accent}; selection-color: {p.window}; }}
    QHeaderView::section {{ background: {p.panel_alt}; color: {p.muted}; border: none; padding: 4px 8px; }}
    QSlider::groove:horizontal {{ height: 4px; background: {p.border}; border-radius: 2px; }}
    QSlider::handle:horizontal {{ background: {p.accent}; width: 14px; margin: -6px 0; border-radius: 7px; }}
    QStatusBar {{ color: {p.muted}; }}
    QMenuBar {{ background: {p.window}; }}
    QMenuBar::item:selected, QMenu::item:selected {{ background: {p.panel_alt}; }}
    QMenu {{ background: {p.panel}; border: 1px solid {p.border}; }}
    QToolTip {{ background: {p.panel}; color: {p.text}; border: 1px solid {p.border}; }}
    """


def apply_theme(app, name: str, scale: float = 1.0) -> Palette:  # noqa: ANN001 - QApplication
    """Apply theme ``name`` to the QApplication and pyqtgraph defaults; return its palette."""
    import pyqtgraph as pg

    p = palette(name)
    app.setStyleSheet(stylesheet(p, scale))
    pg.setConfigOptions(background=p.plot_bg, foreground=p.muted, antialias=True)
    return p
