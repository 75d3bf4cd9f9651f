"""Self-contained HTML report: inline CSS, plots as embedded base64 PNG, no external resources."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biotrainer import __version__
from biotrainer.report import attunement, figures
from biotrainer.report.data import ReportData, fmt_duration
from biotrainer.report.tables import (
    Table,
    artifact_table,
    comparison_table,
    glossary_rows,
    parameters_table,
    phase_table,
    resonance_table,
    row_tooltip,
    trend_table,
    withheld_table,
)

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #23303b;
       max-width: 1080px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { font-size: 1.2em; margin-top: 1.8em;
     border-bottom: 1px solid #dde3e8; padding-bottom: 0.2em; }
.meta { color: #5d6d7e; } .meta b { color: #23303b; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #e5e9ec; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f4f6f8; }
img { max-width: 100%; height: auto; margin: 0.4em 0; }
.note { font-size: 0.85em; color: #5d6d7e; margin-top: 2.5em; border-top: 1px solid #dde3e8; padding-top: 0.6em; }
.beyond { color: #1e8449; font-weight: 600; } .card { background: #f8fafb; padding: 0.6em 1em; border-radius: 6px; }
"""

DISCLAIMER = ("A practice and research tool, not a medical device. Vagal indices (RMSSD, HF power, RSA) are "
              "proxies of cardiac vagal modulation, best compared within a person under the same posture and "
              "breathing: read them beside the breathing rate. Metrics are invalid with atrial fibrillation, "
              "pacemakers or frequent ectopy and are altered by beta-blockers.")


def _e(text: Any) -> str:
    return html.escape(str(text))


def _img(fig: Any, alt: str) -> str:
    data = base64.b64encode(figures.png_bytes(fig)).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _table(table: Table, highlight_col: int | None = None, tooltips: bool = False) -> str:
    header, rows = table
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in header), "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = ' class="beyond"' if highlight_col == i and c.startswith("beyond") else ""
            tip = row_tooltip(c) if tooltips and i == 0 else ""  # a metric's row: its description on hover
            cls += f' title="{_e(tip)}"' if tip else ""
            cells.append(f"<td{cls}>{_e(c)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _glossary() -> str:
    """What the numbers of the phase table mean, in plain words (the metric catalogue), folded away."""
    items = "".join(f"<dt><b>{_e(label)}</b></dt><dd>{_e(text)}</dd>" for label, text in glossary_rows())
    return f'<details class="meta"><summary>What these numbers mean</summary><dl>{items}</dl></details>'


def _session_meta(d: ReportData) -> str:
    m = d.session.meta
    items = [("session", d.session.id), ("started", d.session.started_at[:19].replace("T", " ")),
             ("participant", d.participant), ("protocol", m.get("protocol_name") or "–"),
             ("duration", fmt_duration(d.duration_s))]
    if m.get("title"):
        items.insert(0, ("title", m["title"]))
    if m.get("synthetic"):
        items.append(("data", "synthetic (simulated)"))
    if (m.get("imported_from") or {}).get("file"):
        items.append(("imported from", m["imported_from"]["file"]))
    return '<p class="meta">' + " · ".join(f"{_e(k)} <b>{_e(v)}</b>" for k, v in items) + "</p>"


def _annotations(d: ReportData) -> str:
    notes = [e for e in d.session.markers() if e.KIND == "annotation"]
    if not notes:
        return ""
    rows = [[f"{e.t_s / 60:.1f} min", getattr(e, "author", "") or "–", getattr(e, "text", "")] for e in notes]
    return "<h2>Annotations</h2>" + _table((["time", "author", "text"], rows))


def _attunement(d: ReportData) -> str:
    """The dyad's synchrony: verdict in words, the timeline, the phase verdicts, the chance test, the caveat."""
    parts = ["<h2>Attunement</h2>", f'<p class="meta">Heart-rate synchrony of {_e(attunement.dyad_names(d))}.</p>',
             '<p class="card">' + "<br>".join(_e(line) for line in attunement.summary_lines(d.attunement)) + "</p>"]
    result = d.attunement.result
    if result is not None:
        parts.append(_img(figures.attunement_timeline(d), "attunement timeline"))
        if result["phases"]:
            parts.append(_table(attunement.phase_rows(result)))
        parts.append(f'<p class="meta">{_e(attunement.chance_words(result))}</p>')
    parts.append(f'<p class="meta">{_e(attunement.CAVEAT)}</p>')
    return "\n".join(parts)


def _session_section(d: ReportData, full: bool = True) -> str:
    parts = [_session_meta(d)]
    if full:
        parts += ["<h2>Heart rate and pacer</h2>", _img(figures.hr_with_pacer(d), "heart rate with pacer"),
                  "<h2>RSA per breath</h2>", _img(figures.rsa_per_breath(d), "RSA per breath"),
                  "<h2>lnRMSSD, coherence and breathing rate over time</h2>",
                  _img(figures.trends(d), "lnRMSSD, coherence and breathing rate"),
                  "<h2>Spectrum and Poincaré plot</h2>", _img(figures.spectrum_poincare(d), "spectrum, Poincaré")]
    parts += ["<h2>Phases</h2>",
              '<p class="meta">Value over the whole phase ± SD over windows within it; breathing rate first, '
              "because RMSSD and HF power change with breathing rate at the same RSA.</p>",
              _table(phase_table(d), tooltips=True), _glossary()]
    withheld = withheld_table(d)
    if withheld is not None:
        parts += ["<h3>Missing values and why</h3>", _table(withheld)]
    parts += ["<h2>Artifacts</h2>", _table(artifact_table(d))]
    res = resonance_table(d)
    if res is not None:
        pick = d.resonance.pick_rate_per_min
        parts += ["<h2>Resonance assessment</h2>",
                  f'<p class="card">Suggested resonance rate: <b>{_e(f"{pick:g}/min" if pick else "none")}</b>'
                  f"{(' — ' + _e(d.resonance.reason)) if d.resonance.reason else ''}. Criteria: largest "
                  "peak-to-trough HR, HR–breathing phase near 0°, LF power, smooth single LF peak "
                  "(Lehrer 2013; Shaffer &amp; Meehan 2020); compare the pattern across rates.</p>",
                  _table(res)]
    if full:
        if d.attunement is not None:
            parts.append(_attunement(d))
        parts.append(_annotations(d))
        parts += ["<h2>Analysis parameters</h2>", _table(parameters_table())]
    return "\n".join(parts)


def render_html(datas: Sequence[ReportData], result: dict[str, Any] | None) -> str:
    """The whole report as one HTML string."""
    if result is None:
        d = datas[0]
        title = f"Session report {d.session.id}"
        body = [f"<h1>{_e(title)}</h1>", _session_section(d)]
    else:
        title = f"Comparison of {len(datas)} sessions"
        body = [f"<h1>{_e(title)}</h1>",
                '<p class="meta">Phases are matched by name; the first session is the reference. '
                + _e(result["method"]) + ".</p>",
                "<h2>Phase values by session</h2>",
                _img(figures.comparison_bars(result, figures.COMPARISON_BAR_KEYS), "phase values"),
                "<h2>Differences</h2>", _table(comparison_table(result), highlight_col=len(
                    comparison_table(result)[0]) - 1)]
        trend = trend_table(result)
        if trend is not None:
            from biotrainer.analysis.trend import RULE

            body += ["<h2>Trend</h2>", f'<p class="meta">{_e(RULE)}</p>',
                     _img(figures.trend_panels(figures.comparison_trend_panels(result)), "trend over dates"),
                     _table(trend)]
        for d in datas:
            body += [f"<h2>Session {_e(d.session.id)}</h2>", _session_section(d, full=False)]
    body.append(f'<p class="note">{_e(DISCLAIMER)}<br>Generated by biotrainer {_e(__version__)}. Units: heart '
                "rate bpm, RR/RMSSD/SDNN/RSA ms, lnRMSSD ln(ms), LF/HF ms², breathing rate breaths/min.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_html(datas: Sequence[ReportData], result: dict[str, Any] | None, out_path: Path) -> Path:
    """Render the report and write it to ``out_path`` (0600), atomically: a complete file or none."""
    from biotrainer.exchange.atomic import atomic_open

    html = render_html(datas, result)
    with atomic_open(out_path, "w", encoding="utf-8") as fh:
        fh.write(html)
    return out_path
