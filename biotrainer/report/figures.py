"""Report figures with matplotlib's object API on the Agg backend (no pyplot state, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from biotrainer.metrics.catalogue import CATALOGUE
from biotrainer.report.data import ReportData

#: The metrics of the comparison bar charts (HTML and PDF), breathing rate first.
COMPARISON_BAR_KEYS = ("breathing.rate_per_min", "hrv.hr_bpm", "hrv.ln_rmssd", "rsa.p2t_ms", "hrv.rmssd_ms",
                       "coherence.ratio")

PHASE_COLOURS = ("#eef3f8", "#f7f1e6", "#eef6ee", "#f6eef4", "#f2f2f2", "#eaf5f5")
HR_COLOUR = "#c0392b"
PACER_COLOUR = "#2e86c1"
ACCENT = "#34495e"


def new_figure(width_in: float = 10.0, height_in: float = 3.2) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _phase_bands(ax: Any, data: ReportData, label: bool = True) -> None:
    for i, ph in enumerate(data.stats.phases):
        if ph.name == "whole session":
            continue
        a, b = ph.start_s / 60.0, ph.end_s / 60.0
        ax.axvspan(a, b, color=PHASE_COLOURS[i % len(PHASE_COLOURS)], zorder=0, lw=0)
        if label:
            ax.text((a + b) / 2, 1.0, ph.name, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                    fontsize=8, color=ACCENT, clip_on=False)


def draw_hr(ax: Any, data: ReportData) -> None:
    """Heart rate from the corrected NN series, the pacer's breath shape, and ticks where beats were corrected."""
    _phase_bands(ax, data)
    t_min = data.nn_t_s / 60.0
    hr = 60000.0 / data.nn_ms if data.nn_ms.size else data.nn_ms
    ax.plot(t_min, hr, color=HR_COLOUR, lw=0.9, label="heart rate (bpm, corrected beats)")
    bad = data.flags != 0
    if hr.size:
        lo, hi = np.nanpercentile(hr, [0.5, 99.5])
        pad = max(3.0, 0.15 * (hi - lo))
        ax.set_ylim(lo - pad, hi + pad)
    if bad.any():
        ax.plot(data.beat_t_s[bad] / 60.0, np.full(int(bad.sum()), ax.get_ylim()[0]), "|", color="black",
                ms=10, mew=1.2, clip_on=False, label=f"corrected beats ({int(bad.sum())})")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("heart rate (bpm)")
    handles, labels = ax.get_legend_handles_labels()
    if np.isfinite(data.pacer_volume).any():
        ax2 = ax.twinx()
        ax2.fill_between(data.pacer_t_s / 60.0, 0, np.nan_to_num(data.pacer_volume, nan=0.0),
                         where=np.isfinite(data.pacer_volume), color=PACER_COLOUR, alpha=0.18, lw=0,
                         label="pacer (breath in ↑ / out ↓)")
        ax2.set_ylim(0, 3.0)
        ax2.set_yticks([])
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper right", fontsize=8, framealpha=0.85)
    ax.set_xlim(0, max(data.duration_s, 1.0) / 60.0)
    ax.set_title("Heart rate with the breathing pacer", loc="left", fontsize=11, pad=14)


def draw_rsa(ax: Any, data: ReportData) -> None:
    """Peak-to-trough RSA (ms) of every breath (paced and spontaneous; breath phases as in :mod:`biotrainer.metrics.rsa`)."""
    _phase_bands(ax, data)
    if data.breath_t_s.size:
        ax.bar(data.breath_t_s / 60.0, data.breath_p2t_ms, width=0.08, color=PACER_COLOUR, alpha=0.85)
        ax.set_ylabel("RSA per breath (ms)")
    else:
        ax.text(0.5, 0.5, "no breath with per-breath RSA (too few good beats)",
                transform=ax.transAxes, ha="center", va="center", color="grey")
        ax.set_yticks([])
    ax.set_xlim(0, max(data.duration_s, 1.0) / 60.0)
    ax.set_xlabel("time (min)")
    ax.set_title("RSA per breath (peak-to-trough, Grossman)", loc="left", fontsize=11, pad=14)


def draw_trends(axes: Sequence[Any], data: ReportData) -> None:
    """lnRMSSD, coherence ratio and breathing rate of sliding 60-s windows (breathing rate beside vagal indices)."""
    ln, coh, rate = CATALOGUE["hrv.ln_rmssd"], CATALOGUE["coherence.ratio"], CATALOGUE["breathing.rate_per_min"]
    series = ((data.ln_rmssd, f"{ln.label} ({ln.screen_unit})", HR_COLOUR), (data.coherence, coh.label.lower(), ACCENT),
              (data.breathing_rate, f"{rate.short_label} ({rate.unit})", PACER_COLOUR))
    for i, (ax, (y, label, colour)) in enumerate(zip(axes, series, strict=True)):
        _phase_bands(ax, data, label=(i == 0))
        if data.trend_t_s.size:
            ax.plot(data.trend_t_s / 60.0, y, color=colour, lw=1.4, marker=".", ms=3)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.set_xlim(0, max(data.duration_s, 1.0) / 60.0)
    if not data.trend_t_s.size:
        axes[0].text(0.5, 0.5, "session shorter than one 60-s window", transform=axes[0].transAxes,
                     ha="center", va="center", color="grey")
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("time (min)")
    axes[0].set_title("lnRMSSD, coherence and breathing rate (60-s windows)", loc="left", fontsize=11, pad=14)


ABOVE_COLOUR = "#1e8449"


def _lead_note(lead: dict[str, Any]) -> str:
    lag = lead["curve_lag_s"]
    if lead["leader"] == "therapist":
        return f"client follows therapist by ≈{abs(lag):.1f} s"
    if lead["leader"] == "client":
        return f"therapist follows client by ≈{abs(lag):.1f} s"
    return "nobody said to lead" + ("" if lag is None else f" (lag curve peak {lag:+.2f} s)")


def _headroom(ax: Any, z: np.ndarray, threshold: float | None) -> None:
    """y limits from 0 (or below) to the highest z or threshold, with room for the legend above the curve."""
    finite = z[np.isfinite(z)]
    if finite.size:
        lo, hi = min(0.0, float(finite.min())), max(float(finite.max()), threshold or 0.0)
        ax.set_ylim(lo - 0.05 * (hi - lo + 0.1), hi + 0.35 * (hi - lo + 0.1))


def draw_attunement(ax: Any, data: ReportData) -> None:
    """Fisher z of each window's in-phase peak over session time (window centres), above-chance windows
    coloured, the chance threshold dashed, phases shaded; who follows whom in the legend."""
    result = data.attunement.result if data.attunement else None
    _phase_bands(ax, data)
    ax.set_xlim(0, max(data.duration_s, 1.0) / 60.0)
    ax.set_xlabel("time (min)")
    ax.set_title("Attunement: heart-rate synchrony per window (Fisher z of the peak correlation)", loc="left",
                 fontsize=11, pad=14)
    if not result or not result["windows"]:
        ax.text(0.5, 0.5, "no synchrony windows", transform=ax.transAxes, ha="center", va="center", color="grey")
        ax.set_yticks([])
        return
    wins = result["windows"]
    mid = np.array([(w["start_s"] + w["end_s"]) / 120.0 for w in wins])
    z = np.array([np.nan if w["z"] is None else w["z"] for w in wins], dtype=float)
    above = np.array([w["above_chance"] for w in wins], dtype=bool)
    half = result["step_s"] / 120.0  # each window's step around its centre: runs of windows form one band
    for m in mid[above]:
        ax.axvspan(m - half, m + half, color=ABOVE_COLOUR, alpha=0.12, lw=0, zorder=1)
    ax.plot(mid, z, color=ACCENT, lw=1.0, zorder=2, label="z per window")
    ax.plot(mid[above], z[above], "o", color=ABOVE_COLOUR, ms=4, zorder=3,
            label=f"above chance ({int(above.sum())} of {int(np.isfinite(z).sum())})")
    threshold = result["session"]["z_threshold"]
    if threshold is not None:
        ax.axhline(threshold, color=ABOVE_COLOUR, lw=0.9, ls="--", zorder=2, label="chance threshold (95 %)")
    ax.axhline(0.0, color="grey", lw=0.6, zorder=1)
    ax.set_ylabel("z (peak r, Fisher)")
    ax.plot([], [], " ", label=_lead_note(result["lead_lag"]))
    _headroom(ax, z, threshold)
    ax.legend(loc="upper center", ncol=4, fontsize=8, framealpha=0.85)


def attunement_timeline(data: ReportData) -> Any:
    fig = new_figure(10, 3.2)
    draw_attunement(fig.add_subplot(), data)
    return fig


def hr_with_pacer(data: ReportData) -> Any:
    fig = new_figure(10, 3.4)
    draw_hr(fig.add_subplot(), data)
    return fig


def rsa_per_breath(data: ReportData) -> Any:
    fig = new_figure(10, 2.8)
    draw_rsa(fig.add_subplot(), data)
    return fig


def trends(data: ReportData) -> Any:
    fig = new_figure(10, 4.6)
    draw_trends(fig.subplots(3, 1, sharex=True), data)
    return fig


def plot_pages(data: ReportData, size_in: tuple[float, float]) -> list[Any]:
    """Two report pages: HR with pacer over RSA per breath; lnRMSSD, coherence and breathing rate."""
    first = new_figure(*size_in)
    top, bottom = first.subplots(2, 1, height_ratios=(3, 2))
    draw_hr(top, data)
    draw_rsa(bottom, data)
    second = new_figure(*size_in)
    draw_trends(second.subplots(3, 1, sharex=True), data)
    return [first, second]


def comparison_bars(result: dict[str, Any], metric_keys: Sequence[str]) -> Any:
    """Per metric, the phase values of every session (bars) with the within-phase SD (error bars)."""
    sessions = result["sessions"]
    phases: list[str] = []
    for s in sessions:
        for p in s["phases"]:
            if p["name"] not in phases:
                phases.append(p["name"])
    labels = {m["key"]: m["label"] + (f" ({m['unit']})" if m["unit"] else "") for m in result["metrics"]}
    n = len(metric_keys)
    cols = 2
    rows = (n + cols - 1) // cols
    fig = new_figure(10, 2.5 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    width = 0.8 / max(1, len(sessions))
    x = np.arange(len(phases))
    colours = ("#2e86c1", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#5d6d7e")
    for ax, key in zip(axes, metric_keys, strict=False):
        for j, s in enumerate(sessions):
            by_name = {p["name"]: p for p in s["phases"]}
            vals = [(by_name[n]["values"].get(key) if n in by_name else None) for n in phases]
            sds = [(by_name[n]["sd"].get(key) if n in by_name else None) for n in phases]
            y = np.array([np.nan if v is None else v for v in vals], dtype=float)
            e = np.array([0.0 if v is None else v for v in sds], dtype=float)
            ax.bar(x + (j - (len(sessions) - 1) / 2) * width, y, width, yerr=e, capsize=2,
                   color=colours[j % len(colours)], label=s["started_at"][:10] + " " + s["id"][-4:])
        ax.set_xticks(x, phases, fontsize=8)
        ax.set_title(labels[key], fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    return fig


def png_bytes(fig: Any, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


#: The metrics of the trend plots of a comparison report, breathing rate first.
TREND_PLOT_KEYS = ("breathing.rate_per_min", "hrv.hr_bpm", "hrv.ln_rmssd", "rsa.p2t_ms", "coherence.ratio")
SERIES_COLOURS = ("#2e86c1", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#5d6d7e")


def _dates(isos: Sequence[str]) -> list[Any]:
    from datetime import datetime

    return [datetime.fromisoformat(d) for d in isos]


def draw_series_over_dates(ax: Any, series: dict[str, Any], *, colour: str = ACCENT, name: str = "") -> None:
    """One metric of one protocol and phase over dates: the session values (± within-phase SD) and, when there is
    one, the Theil–Sen line (dashed) with the slope per week in the legend."""
    if not series["values"]:
        return
    sd = [0.0 if v is None else v for v in series.get("sd") or [None] * len(series["values"])]
    ax.errorbar(_dates(series["dates"]), series["values"], yerr=sd, color=colour, marker="o", ms=4, lw=1.0,
                capsize=2, label=name or None)
    fit = series.get("fit")
    if fit:
        unit = f" {series['unit']}" if series.get("unit") else ""
        ax.plot(_dates(fit["dates"]), fit["values"], color=colour, ls="--", lw=1.2,
                label=f"{name + ': ' if name else ''}{series['slope_per_week']:+.3g}{unit}/week")


def _finish_date_axis(ax: Any) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.tick_params(labelsize=8)


def trend_panels(panels: Sequence[tuple[str, dict[str, dict[str, Any]]]], width_in: float = 10.0) -> Any:
    """A figure with one panel per ``(title, {name: series})``: each series over dates with its robust slope;
    a panel without any value says so."""
    n = max(1, len(panels))
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig = new_figure(width_in, 2.4 * rows + 0.3)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, (title, by_name) in zip(axes, panels, strict=False):
        drawn = False
        for j, (name, series) in enumerate(by_name.items()):
            draw_series_over_dates(ax, series, colour=SERIES_COLOURS[j % len(SERIES_COLOURS)],
                                   name=name if len(by_name) > 1 or series.get("fit") else "")
            drawn = drawn or bool(series["values"])
        ax.set_title(title, fontsize=9, loc="left")
        if drawn:
            _finish_date_axis(ax)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="best")
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes, color=ACCENT)
            ax.set_xticks([])
            ax.set_yticks([])
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig


def comparison_trend_panels(result: dict[str, Any]) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """The trend of a comparison (:func:`biotrainer.analysis.compare.compare`) as plot panels: one per metric of
    :data:`TREND_PLOT_KEYS`, one series per phase (dates from the sessions' start times)."""
    started = {s["id"]: s["started_at"] for s in result["sessions"]}
    panels = []
    for key in TREND_PLOT_KEYS:
        m = CATALOGUE[key]
        by_phase = {}
        for t in result.get("trend") or []:
            if t["metric"] == key and t["values"]:
                by_phase[t["phase"]] = {**t, "dates": [started[i] for i in t["sessions"]], "unit": m.unit}
        panels.append((m.label_with_unit, by_phase))
    return panels


def journey_panels(journey: dict[str, Any]) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """A journey (:func:`biotrainer.analysis.trend.journey`) as plot panels: one per metric."""
    return [(s["label"] + (f" ({s['unit']})" if s["unit"] else ""), {journey["phase"]: s})
            for s in journey["metrics"].values()]


def _spectrum_span(data: ReportData) -> tuple[str, float, float]:
    """The phase the spectrum is drawn for: the longest paced phase, else the whole recording."""
    from biotrainer.analysis.key_metrics import key_metrics_span
    from biotrainer.core.events import PhaseMarker
    from biotrainer.core.phases import phase_spans

    markers = sorted((e for e in data.session.events if isinstance(e, PhaseMarker)), key=lambda e: e.t_s)
    spans = phase_spans(markers, open_end_s=data.duration_s)
    start, end = key_metrics_span(spans, data.duration_s)
    name = next((s.label for s in spans if s.start_s == start and s.end_s == end), "whole session")
    return name, start, end


def draw_spectrum(ax: Any, data: ReportData) -> None:
    """Welch spectrum (ms²/Hz) of the corrected NN intervals of the longest paced phase, VLF/LF/HF bands shaded."""
    from biotrainer.metrics.frequency import HF_BAND_HZ, LF_BAND_HZ, VLF_BAND_HZ, rr_psd

    name, start, end = _spectrum_span(data)
    sel = (data.nn_t_s > start) & (data.nn_t_s <= end)
    ax.set_title(f"Heart-rate spectrum ({name})", loc="left", fontsize=11, pad=14)
    if np.count_nonzero(sel) < 20:
        ax.text(0.5, 0.5, f"no spectrum: {int(np.count_nonzero(sel))} beats in {name}", transform=ax.transAxes,
                ha="center", va="center", color="grey")
        return
    f, p = rr_psd(data.nn_t_s[sel], data.nn_ms[sel])
    keep = f <= 0.5
    for (lo, hi), colour, label in ((VLF_BAND_HZ, "#f2f2f2", "VLF"), (LF_BAND_HZ, "#eef3f8", "LF"),
                                    (HF_BAND_HZ, "#f7f1e6", "HF")):
        ax.axvspan(lo, hi, color=colour, lw=0, zorder=0)
        ax.text((lo + hi) / 2, 1.0, label, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=8, color=ACCENT)
    ax.plot(f[keep], p[keep], color=ACCENT, lw=1.2)
    ax.set_xlim(0, 0.5)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (ms²/Hz)")


def draw_poincare(ax: Any, data: ReportData) -> None:
    """Poincaré plot of successive corrected NN intervals with SD1 (short-term) and SD2 (long-term)."""
    nn = data.nn_ms
    ax.set_title("Poincaré plot (corrected NN intervals)", loc="left", fontsize=11, pad=14)
    if nn.size < 3:
        ax.text(0.5, 0.5, "too few beats", transform=ax.transAxes, ha="center", va="center", color="grey")
        return
    x, y = nn[:-1], nn[1:]
    sd1 = float(np.std((y - x) / np.sqrt(2.0), ddof=1))
    sd2 = float(np.std((y + x) / np.sqrt(2.0), ddof=1))
    ax.plot(x, y, ".", ms=2.5, color=HR_COLOUR, alpha=0.6)
    lo, hi = float(np.percentile(nn, 0.5)), float(np.percentile(nn, 99.5))
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("NN interval n (ms)")
    ax.set_ylabel("NN interval n+1 (ms)")
    ax.text(0.03, 0.97, f"SD1 {sd1:.1f} ms\nSD2 {sd2:.1f} ms", transform=ax.transAxes, va="top", fontsize=9)
    ax.set_aspect("equal", adjustable="datalim")


def spectrum_poincare(data: ReportData, size_in: tuple[float, float] = (10.0, 3.8)) -> Any:
    fig = new_figure(*size_in)
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    draw_spectrum(left, data)
    draw_poincare(right, data)
    return fig
