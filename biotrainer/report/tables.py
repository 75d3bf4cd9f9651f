"""Report tables as plain rows (header + rows of strings), shared by the HTML and PDF renderers."""

from __future__ import annotations

from typing import Any

from biotrainer.analysis.compare import METRIC_KEYS
from biotrainer.metrics.catalogue import CATALOGUE, MISSING, format_number, format_value
from biotrainer.report.data import ReportData, fmt_duration

Table = tuple[list[str], list[list[str]]]
_TOOLTIPS = {m.label_with_unit: f"{m.label_with_unit}: {m.description}" for m in CATALOGUE.values()}


def fmt_value(v: Any, key: str) -> str:
    """A metric value in a report table: the catalogue's decimals, "–" when missing (None or NaN)."""
    return format_value(key, v)


def metric_label(key: str) -> str:
    """``Heart rate (bpm)``: the catalogue label with its unit (the key itself when not catalogued)."""
    m = CATALOGUE.get(key)
    return m.label_with_unit if m else key


def row_tooltip(cell: str) -> str:
    """The plain-language description of the metric a table cell names (its label with unit), else ""."""
    return _TOOLTIPS.get(cell, "")


def glossary_rows() -> list[tuple[str, str]]:
    """``(label with unit, description)`` of every metric of the phase table, breathing rate first."""
    return [(metric_label(k), CATALOGUE[k].description) for k in METRIC_KEYS]


def phase_table(data: ReportData) -> Table:
    """Metrics (rows; breathing rate first) by phase (columns): value ± within-phase SD."""
    phases = data.stats.phases
    header = ["metric"] + [f"{p.name} ({fmt_duration(p.duration_s)})" for p in phases]
    rows = []
    for key in METRIC_KEYS:
        row = [metric_label(key)]
        for p in phases:
            v, sd = p.values.get(key), p.sd.get(key)
            cell = fmt_value(v, key)
            if v is not None and sd is not None:
                cell += f" ± {fmt_value(sd, key)}"
            row.append(cell)
        rows.append(row)
    rows.append(["beats (corrected)"] + [f"{p.beats} ({p.artifacts_corrected})" for p in phases])
    return header, rows


def artifact_table(data: ReportData) -> Table:
    a = data.artifacts
    beats = a.get("beats", 0)
    corrected = a.get("corrected", 0)
    share = f"{100.0 * corrected / beats:.1f} %" if beats else MISSING
    return (["beats", "ectopic", "missed", "extra", "long/short", "corrected", "share corrected"],
            [[str(beats), str(a.get("ectopic", 0)), str(a.get("missed", 0)), str(a.get("extra", 0)),
              str(a.get("long_short", 0)), str(corrected), share]])


def resonance_table(data: ReportData) -> Table | None:
    res = data.resonance
    if res is None or not getattr(res, "steps", None):
        return None
    header = ["step", "rate (/min)", "P2T (bpm)", "HR–breath phase (°)", "LF (ms²)", "smoothness",
              "breathing (/min)", "corrected", "score", "note"]
    rows = []
    for s in res.steps:
        pick = res.pick_rate_per_min is not None and abs(s.rate_per_min - res.pick_rate_per_min) < 1e-9
        rows.append([s.name, f"{s.rate_per_min:g}", fmt_value(s.p2t_bpm, "rsa.p2t_bpm"),
                     format_number(s.phase_deg, 1), fmt_value(s.lf_ms2, "hrv.lf_ms2"), format_number(s.smoothness, 2),
                     fmt_value(s.breathing_rate_per_min, "breathing.rate_per_min"),
                     format_number(s.corrected_pct, 1, unit="%"), format_number(s.score, 2),
                     ("★ pick" if pick else "") + ("" if s.included else f"excluded: {s.excluded_because}")])
    return header, rows


def comparison_table(result: dict[str, Any]) -> Table:
    """One row per phase and metric: a, b, difference, % change, z and verdict."""
    header = (["phase", "metric", "reference", "compared", "difference", "change", "z", "verdict"]
              if result["mode"] == "phase" else
              ["phase", "session", "metric", "reference", "compared", "difference", "change", "z", "verdict"])
    rows = []
    for c in result["comparisons"]:
        k = c["metric"]
        cells = [fmt_value(c["a"], k), fmt_value(c["b"], k),
                 MISSING if c["difference"] is None else f"{c['difference']:+.3g}",
                 MISSING if c["percent_change"] is None else f"{c['percent_change']:+.0f} %",
                 MISSING if c["z"] is None else f"{c['z']:+.1f}", c["verdict"]]
        if result["mode"] == "phase":
            rows.append([f"{c['phase']} vs {c['reference']}", metric_label(k), *cells])
        else:
            rows.append([c["phase"], c["session"], metric_label(k), *cells])
    return header, rows


def trend_table(result: dict[str, Any]) -> Table | None:
    """One row per phase and metric: the values oldest first and the robust slope per week in words (or why
    there is none)."""
    from biotrainer.analysis.trend import slope_words

    if not result.get("trend"):
        return None
    rows = [[t["phase"], metric_label(t["metric"]), " → ".join(fmt_value(v, t["metric"]) for v in t["values"]),
             slope_words(t["metric"], t)]
            for t in result["trend"] if t["values"]]
    return ["phase", "metric", "values (oldest → newest)", "slope per week (95 % interval)"], rows


def withheld_table(data: ReportData) -> Table | None:
    """Every missing value of the phase table with its reason (None when nothing is missing)."""
    rows = [[p.name, metric_label(k), p.reasons.get(k) or f"{p.beats} beats in the phase"]
            for p in data.stats.phases for k in METRIC_KEYS if p.values.get(k) is None]
    return (["phase", "metric", "why it is missing"], rows) if rows else None


def parameters_table() -> Table:
    """The analysis parameters a research report states (the metrics engine's settings and the comparison's)."""
    from biotrainer.analysis.compare import TOLERATED_MIN_WINDOW_S, WINDOW_S
    from biotrainer.metrics.frequency import HF_BAND_HZ, LF_BAND_HZ, RESAMPLE_HZ, VLF_BAND_HZ
    from biotrainer.metrics.window import Settings

    st = Settings()
    rows = [
        ["phase value", f"metrics engine over the whole phase (at least {TOLERATED_MIN_WINDOW_S:g} s of beats)"],
        ["within-phase variability", f"SD over {WINDOW_S:g}-s windows (half the phase under 2 min) every half "
                                     "window"],
        ["artifact correction", "Lipponen & Tarvainen 2019" + ("" if st.correction else " (off)")],
        ["withheld when corrected beats exceed", f"{100 * st.max_corrected_time:g} % (time domain), "
                                                 f"{100 * st.max_corrected_spectral:g} % (spectral, coherence)"],
        ["withheld when missing data exceeds", f"{100 * st.max_missing:g} %"],
        ["spectrum", f"NN resampled at {RESAMPLE_HZ:g} Hz (cubic), Welch with a Hann window"],
        ["bands", f"VLF {VLF_BAND_HZ[0]:g}-{VLF_BAND_HZ[1]:g} Hz, LF {LF_BAND_HZ[0]:g}-{LF_BAND_HZ[1]:g} Hz, "
                  f"HF {HF_BAND_HZ[0]:g}-{HF_BAND_HZ[1]:g} Hz"],
        ["RSA", "peak-to-trough per breath (Grossman), breath phases from the pacer or the chest"],
    ]
    return ["parameter", "value"], rows
