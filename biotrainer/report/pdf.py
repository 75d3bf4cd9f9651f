"""PDF report with matplotlib's PdfPages: a title page with the tables, then one page per plot (A4 landscape)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biotrainer import __version__
from biotrainer.report import figures
from biotrainer.report.data import ReportData, fmt_duration
from biotrainer.report.html import DISCLAIMER
from biotrainer.report.tables import (
    Table,
    artifact_table,
    comparison_table,
    parameters_table,
    phase_table,
    resonance_table,
    trend_table,
    withheld_table,
)

A4_LANDSCAPE_IN = (11.69, 8.27)
ROWS_PER_PAGE = 26
MAX_CELL_CHARS = 46


def _table_page(title: str, subtitle: str, tables: list[tuple[str, Table]], footer: str = "") -> Any:
    fig = figures.new_figure(*A4_LANDSCAPE_IN)
    fig.set_layout_engine(None)
    fig.text(0.04, 0.95, title, fontsize=16, weight="bold", va="top")
    fig.text(0.04, 0.91, subtitle, fontsize=9, color="#5d6d7e", va="top")
    n_rows = sum(len(t[1][1]) + 3 for t in tables) or 1
    top = 0.86
    for caption, table in tables:
        height = 0.78 * (len(table[1]) + 1) / n_rows
        _draw_table(fig, top, caption, table, height)
        top -= height + 0.06
    if footer:
        _footer(fig, footer)
    return fig


def _footer(fig: Any, text: str) -> None:
    fig.text(0.04, 0.03, "\n".join(textwrap.wrap(text, 170)), fontsize=7, color="#5d6d7e", va="bottom")


def _draw_table(fig: Any, top: float, caption: str, table: Table, height: float,
                max_chars: int = MAX_CELL_CHARS) -> None:
    """``caption`` at ``top`` (figure fraction) and the table under it, ``height`` tall; cells cut at
    ``max_chars``."""
    header, rows = table
    fig.text(0.04, top, caption, fontsize=11, weight="bold", va="top")
    ax = fig.add_axes((0.04, top - 0.025 - height, 0.92, height))
    ax.axis("off")
    rows = [[_short(c, max_chars) for c in r] for r in rows]
    text_cols = {i for i in range(len(header)) if any(_is_text(r[i]) for r in rows)} | {0}
    widths = _column_widths(header, rows)
    tab = ax.table(cellText=rows or [["–"] * len(header)], colLabels=header, loc="upper left",
                   cellLoc="right", colLoc="right", colWidths=widths)
    tab.auto_set_font_size(False)
    tab.set_fontsize(7.5)
    for (r, c), cell in tab.get_celld().items():
        cell.set_edgecolor("#dde3e8")
        if r == 0:
            cell.set_facecolor("#f4f6f8")
        if c in text_cols:
            cell.set_text_props(ha="left")
            cell._loc = "left"


def _attunement_page(d: ReportData) -> Any:
    """The dyad's synchrony on one page: timeline, verdict, phase verdicts, chance test; the caveat as footer."""
    from biotrainer.report import attunement

    fig = figures.new_figure(*A4_LANDSCAPE_IN)
    fig.set_layout_engine(None)
    fig.text(0.04, 0.95, "Attunement", fontsize=16, weight="bold", va="top")
    fig.text(0.04, 0.91, _session_subtitle(d, attunement.dyad_names(d)), fontsize=9, color="#5d6d7e", va="top")
    result = d.attunement.result
    top = 0.86
    if result is not None:
        figures.draw_attunement(fig.add_axes((0.07, 0.53, 0.89, 0.28)), d)
        top = 0.45
    lines = [w for line in attunement.summary_lines(d.attunement) for w in textwrap.wrap(line, 165)]
    fig.text(0.04, top, "\n".join(lines), fontsize=9, va="top", linespacing=1.5)
    top -= 0.024 * len(lines) + 0.04
    if result is not None:
        if result["phases"]:
            table = attunement.phase_rows(result)
            height = min(0.025 * (len(table[1]) + 1), top - 0.2)
            _draw_table(fig, top, "Phases", table, height, max_chars=100)
            top -= height + 0.06
        chance = "\n".join(textwrap.wrap(attunement.chance_words(result), 170))
        fig.text(0.04, top, chance, fontsize=8, color="#23303b", va="top", linespacing=1.4)
    _footer(fig, attunement.CAVEAT)
    return fig


def _short(text: str, max_chars: int = MAX_CELL_CHARS) -> str:
    """Cells of a printed table stay on one line: long verdicts and reasons are cut with an ellipsis."""
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _is_text(cell: str) -> bool:
    c = cell.replace(" ", "").replace("%", "").replace("±", "").replace("+", "").replace("-", "")
    c = c.replace(".", "").replace("–", "").replace("(", "").replace(")", "").replace("★pick", "")
    return bool(c) and not c.isdigit()


def _column_widths(header: list[str], rows: list[list[str]]) -> list[float]:
    """Column widths proportional to the longest text in each column (at least 5 characters)."""
    longest = [max([len(header[i])] + [len(r[i]) for r in rows] + [5]) for i in range(len(header))]
    total = float(sum(longest))
    return [n / total for n in longest]


def _chunks(table: Table, size: int = ROWS_PER_PAGE) -> list[Table]:
    header, rows = table
    return [(header, rows[i:i + size]) for i in range(0, max(1, len(rows)), size)]


def _session_subtitle(d: ReportData, who: str = "") -> str:
    m = d.session.meta
    return (f"{who or 'participant ' + d.participant} · started {d.session.started_at[:19].replace('T', ' ')} · protocol "
            f"{m.get('protocol_name') or '–'} · duration {fmt_duration(d.duration_s)}"
            + (" · synthetic data" if m.get("synthetic") else "") + f" · biotrainer {__version__}")


def render_pdf(datas: Sequence[ReportData], result: dict[str, Any] | None, out_path: Path) -> Path:
    """Write the PDF report to ``out_path`` (0600), atomically: a complete file or none."""
    from matplotlib.backends.backend_pdf import PdfPages

    from biotrainer.exchange.atomic import AtomicWrites

    footer = DISCLAIMER
    metadata = {"Title": "biotrainer report", "Creator": f"biotrainer {__version__}"}
    with AtomicWrites() as out, out.open(out_path, "wb") as fh, PdfPages(fh, metadata=metadata) as pdf:
        if result is None:
            d = datas[0]
            tables = [("Phases (value ± SD over windows within the phase; breathing rate first)", phase_table(d)),
                      ("Artifacts", artifact_table(d))]
            res = resonance_table(d)
            if res is not None:
                pick = d.resonance.pick_rate_per_min
                tables.append((f"Resonance assessment: suggested rate {pick:g}/min" if pick else
                               f"Resonance assessment: no pick ({d.resonance.reason})", res))
            pdf.savefig(_table_page(f"Session report {d.session.id}", _session_subtitle(d), tables, footer))
            for fig in figures.plot_pages(d, A4_LANDSCAPE_IN):
                pdf.savefig(fig)
            pdf.savefig(figures.spectrum_poincare(d, A4_LANDSCAPE_IN))
            pdf.savefig(_table_page("Analysis parameters", _session_subtitle(d), [("Parameters", parameters_table())],
                                    footer))
            withheld = withheld_table(d)
            for tab in _chunks(withheld) if withheld else []:
                pdf.savefig(_table_page("Missing values and why", _session_subtitle(d), [("Withheld", tab)], footer))
            if d.attunement is not None:
                pdf.savefig(_attunement_page(d))
        else:
            subtitle = (f"{len(datas)} sessions, phases matched by name, first = reference · biotrainer "
                        f"{__version__}")
            pages = _chunks(comparison_table(result))
            for i, tab in enumerate(pages):
                pdf.savefig(_table_page(f"Comparison of {len(datas)} sessions" + (f" ({i + 1}/{len(pages)})"
                                                                                  if len(pages) > 1 else ""),
                                        subtitle, [("Differences", tab)], footer))
            bars = figures.comparison_bars(result, figures.COMPARISON_BAR_KEYS)
            bars.set_size_inches(*A4_LANDSCAPE_IN)
            pdf.savefig(bars)
            trend = trend_table(result)
            if trend is not None:
                plots = figures.trend_panels(figures.comparison_trend_panels(result))
                plots.set_size_inches(*A4_LANDSCAPE_IN)
                pdf.savefig(plots)
                for tab in _chunks(trend):
                    pdf.savefig(_table_page("Trend", subtitle, [("Values and slope per week", tab)], footer))
            for d in datas:
                pdf.savefig(_table_page(f"Session {d.session.id}", _session_subtitle(d),
                                        [("Phases", phase_table(d)), ("Artifacts", artifact_table(d))], footer))
    return out_path
