"""The one-page client handout: plain words (:func:`biotrainer.analysis.summary.handout_lines`), one picture of
the session (heart rate with the pacer), no ids, no pseudonyms, no jargon. HTML (self-contained) or a one-page PDF.
"""

from __future__ import annotations

import html
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

from biotrainer.report import figures
from biotrainer.report.data import ReportData

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #23303b;
       max-width: 820px; margin: 2em auto; padding: 0 1em; line-height: 1.6; font-size: 1.08em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } .when { color: #5d6d7e; margin-top: 0; }
img { max-width: 100%; height: auto; margin: 0.8em 0; } .small { color: #5d6d7e; font-size: 0.85em; }
"""


def _when(iso: str) -> str:
    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return ""
    return f"{t.day} {t:%B %Y}, {t:%H:%M}"


def _title(data: ReportData) -> str:
    from biotrainer.protocols.loader import load_protocol

    name = str(data.session.meta.get("protocol_name") or "")
    try:
        return load_protocol(name).title if name else "Your practice"
    except Exception:  # noqa: BLE001 - a protocol no longer shipped: its name is enough
        return name.replace("-", " ").capitalize()


def handout_parts(data: ReportData) -> tuple[str, str, list[str]]:
    """``(title, when, lines)`` of the handout of one session."""
    from biotrainer.analysis.summary import handout_lines, summarize_session

    summary = summarize_session(data.session, data.role)
    return _title(data), _when(data.session.started_at), handout_lines(summary)


def _draw_picture(ax: Any, data: ReportData) -> None:
    """Heart rate with the breathing guide, in words without units or abbreviations."""
    figures.draw_hr(ax, data)
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set_ylabel("heartbeats a minute")
    ax.set_xlabel("minutes")
    ax.set_title("Your heart rate (red) with the breathing guide (blue)", loc="left", fontsize=11, pad=14)


def _picture(data: ReportData, size_in: tuple[float, float]) -> Any:
    fig = figures.new_figure(*size_in)
    _draw_picture(fig.add_subplot(), data)
    return fig


def render_handout_html(data: ReportData) -> str:
    title, when, lines = handout_parts(data)
    png = figures.png_bytes(_picture(data, (9.0, 3.2)))
    import base64

    img = f'<img alt="heart rate with the breathing guide" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="when">{html.escape(when)}</p>',
            *(f"<p>{html.escape(line)}</p>" for line in lines[:-1]), img,
            f'<p class="small">{html.escape(lines[-1])} A practice tool, not a medical device.</p>']
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")


def render_handout_pdf(data: ReportData, out_path: Path) -> Path:
    """One A4 portrait page (0600)."""
    from matplotlib.backends.backend_pdf import PdfPages

    from biotrainer.store.paths import make_private, open_private

    title, when, lines = handout_parts(data)
    fig = figures.new_figure(8.27, 11.69)
    fig.set_layout_engine(None)
    fig.text(0.08, 0.95, title, fontsize=18, weight="bold", va="top")
    fig.text(0.08, 0.915, when, fontsize=11, color="#5d6d7e", va="top")
    y = 0.87
    for line in lines[:-1]:
        wrapped = textwrap.wrap(line, 78)
        fig.text(0.08, y, "\n".join(wrapped), fontsize=11.5, va="top", linespacing=1.5)
        y -= 0.026 * len(wrapped) + 0.014
    ax = fig.add_axes((0.1, max(0.1, y - 0.3), 0.82, 0.24))
    _draw_picture(ax, data)
    fig.text(0.08, 0.04, "\n".join(textwrap.wrap(lines[-1] + " A practice tool, not a medical device.", 90)),
             fontsize=9, color="#5d6d7e", va="bottom")
    with open_private(out_path, "wb") as fh, PdfPages(fh, metadata={"Title": title, "Creator": "biotrainer"}) as pdf:
        pdf.savefig(fig)
    make_private([out_path])
    return out_path
