"""``biotrainer analyze PATH``: HRV, artifacts, breathing, RSA and coherence of an RR file, ECG file or session.

- ``PATH``: a plain RR file (one interval in ms per line), a CSV with an RR column, an ECG file (``.npy``, ``.csv``;
  ``--fs`` required) or a recorded session (id, id prefix or ``.sqlite`` path; ``--library DIR``).
- ``--kind rr|ecg|session`` overrides the guess (``.sqlite`` or not a file → session; ``.npy`` or ``--fs`` → ECG;
  otherwise RR).
- ``--window-s S`` adds per-window metrics (30 s up to the recording's length); ``--no-correction`` analyses raw
  RR (artifacts are still flagged and counted); ``--json`` prints one object (never NaN: null values have their
  reason under ``reasons``).
- ``--participant P`` (role or pseudonym): whose beats in a session (default the client, else ``self``, else the
  first with beats) or in an RR file with a participant column.
- Options that do not apply (``--fs`` for a session or RR file, ``--column`` for a session) are errors, not ignored.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from biotrainer.analysis.analyze import KINDS
from biotrainer.cli.common import finish_command, print_json
from biotrainer.core.errors import UsageError
from biotrainer.metrics.catalogue import CATALOGUE, MISSING_EM, format_value

#: Accepted ECG sampling rates (Hz): below, QRS complexes are not resolved; above, the value is surely a typo.
FS_RANGE_HZ = (50.0, 10000.0)
#: Shortest window for ``--window-s`` (time-domain metrics need 30 s).
MIN_WINDOW_S = 30.0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze", help="HRV, artifacts, breathing, RSA and coherence of an RR/ECG file or a session",
        description="Analyse an RR file, an ECG file or a recorded session. Values that cannot be computed are "
                    "null with a reason, never a made-up number.")
    p.add_argument("path", metavar="PATH", help="RR file, ECG file, or session id/path")
    p.add_argument("--kind", choices=KINDS, help="what PATH is (default: guessed)")
    p.add_argument("--fs", type=float, metavar="HZ", help="ECG sampling rate (required for ECG files)")
    p.add_argument("--column", metavar="NAME", help="CSV column holding the RR intervals or ECG samples")
    p.add_argument("--window-s", type=float, metavar="S", help="also report metrics per window of S seconds")
    p.add_argument("--no-correction", action="store_true", help="analyse raw RR (no artifact correction)")
    p.add_argument("--max-corrected-pct", type=float, metavar="PCT", default=5.0,
                   help="withhold metrics of a window with more corrected beats than this (default 5)")
    p.add_argument("--participant", metavar="P",
                   help="whose beats, as role or pseudonym (sessions: default the client, else the first with "
                        "beats; files with a participant column: required when there are several)")
    finish_command(p, run)


def check_options(args: argparse.Namespace) -> None:
    """One-line usage errors for option values that are not numbers we can use (NaN, inf, ≤ 0, absurd)."""
    if args.fs is not None:
        if not math.isfinite(args.fs) or args.fs <= 0:
            raise UsageError(f"--fs {args.fs:g}: expected a positive sampling rate in Hz")
        lo, hi = FS_RANGE_HZ
        if not lo <= args.fs <= hi:
            raise UsageError(f"--fs {args.fs:g}: expected an ECG sampling rate in Hz, from {lo:g} to {hi:g}")
    if args.window_s is not None:
        if not math.isfinite(args.window_s) or args.window_s <= 0:
            raise UsageError(f"--window-s {args.window_s:g}: expected a window length in seconds "
                             f"(at least {MIN_WINDOW_S:g})")
        if args.window_s < MIN_WINDOW_S:
            raise UsageError(f"--window-s {args.window_s:g} is below the {MIN_WINDOW_S:g} s minimum for "
                             "time-domain metrics")
    if not math.isfinite(args.max_corrected_pct) or not 0 <= args.max_corrected_pct <= 100:
        raise UsageError(f"--max-corrected-pct {args.max_corrected_pct:g}: expected a percentage from 0 to 100")


def options(args: argparse.Namespace) -> Any:
    """The :class:`~biotrainer.analysis.analyze.AnalyzeOptions` of the parsed arguments (checked first)."""
    from biotrainer.analysis.analyze import AnalyzeOptions

    check_options(args)
    return AnalyzeOptions(path=args.path, kind=args.kind, fs_hz=args.fs, column=args.column, window_s=args.window_s,
                          correction=not args.no_correction, max_corrected_pct=args.max_corrected_pct,
                          participant=args.participant, library=getattr(args, "library", None))


def analyze_path(args: argparse.Namespace) -> dict[str, Any]:
    """Run the analysis the arguments ask for (:func:`biotrainer.analysis.analyze.analyze_path`)."""
    from biotrainer.analysis.analyze import analyze_path as analyze

    return analyze(options(args))


#: The summary values in the order the text output shows them (reasons are grouped by these, named by their
#: catalogue ``short_label``).
TEXT_ORDER = (
    "hrv.hr_bpm", "hrv.mean_nn_ms", "hrv.sdnn_ms", "hrv.rmssd_ms", "hrv.ln_rmssd", "hrv.pnn50_pct", "hrv.vlf_ms2",
    "hrv.lf_ms2", "hrv.hf_ms2", "hrv.lf_hf", "hrv.total_power_ms2", "hrv.lf_peak_hz", "hrv.hf_peak_hz",
    "breathing.rate_per_min", "rsa.p2t_ms_mean", "rsa.p2t_bpm_mean", "coherence.ratio_mean",
)
#: The two summary lines: (group in the result, catalogue key) per value; ``lnRMSSD`` and ratios without unit.
TIME_LINE = ("hrv.hr_bpm", "hrv.mean_nn_ms", "hrv.sdnn_ms", "hrv.rmssd_ms", "hrv.ln_rmssd", "hrv.pnn50_pct")
SPECTRAL_LINE = ("hrv.vlf_ms2", "hrv.lf_ms2", "hrv.hf_ms2", "hrv.lf_hf", "hrv.total_power_ms2")
NO_UNIT_IN_TEXT = frozenset({"hrv.ln_rmssd"})
SOURCES = {"rr": "RR intervals", "ecg": "ECG", "acc": "chest movement", "pacer": "pacer"}


def _label(key: str) -> str:
    m = CATALOGUE.get(key)
    return m.short_label if m and m.short_label else key


def _grouped_reasons(reasons: dict[str, str]) -> list[str]:
    """One line per distinct reason, naming every value it withholds (not one line per value)."""
    order = {k: i for i, k in enumerate(TEXT_ORDER)}
    by_reason: dict[str, list[str]] = {}
    for key in sorted(reasons, key=lambda k: (order.get(k, len(order)), k)):
        by_reason.setdefault(reasons[key], []).append(_label(key))
    return [f"  {', '.join(names)}: {why}" for why, names in by_reason.items()]


def _n(count: float, noun: str) -> str:
    return f"{count:.0f} {noun}{'' if round(count) == 1 else 's'}"


def _t(v: float) -> str:
    return f"{round(v, 1) + 0.0:.1f}"  # + 0.0: no "-0.0"


def _v(key: str, v: Any) -> str:
    """A value of the text output: catalogue decimals and unit, "—" when missing."""
    return format_value(key, v, unit=key not in NO_UNIT_IN_TEXT, missing=MISSING_EM)


def run(args: argparse.Namespace) -> int:
    out = analyze_path(args)
    if args.json:
        print_json(out)
        return 0
    print("\n".join(text_lines(out)))
    return 0


def _participant_line(out: dict[str, Any]) -> str:
    p = out["participant"]
    who = f"{p['pseudonym']} ({p['role']})" if p.get("pseudonym") else p["role"]
    others = ", ".join(f"{o['role']} {o['pseudonym']}" if o.get("pseudonym") else o["role"]
                       for o in p.get("others", []))
    if others:
        others = f"; also with beats: {others} (choose with --participant)"
    return f"session {out['session']}, participant {who}{others}"


def _beats_line(out: dict[str, Any]) -> str:
    a, q = out["artifacts"], out["quality"]
    missing = q.get("missing_pct")
    gap = f" ({missing:.0f} % of it without data)" if missing is not None and missing >= 0.5 else ""
    share = _v("artifacts.corrected_pct", a.get("corrected_pct"))
    what = (f"{share} of beats corrected" if out["settings"]["correction"]
            else f"{share} of beats flagged as artifacts, not corrected: --no-correction")
    return (f"{out['beats']} beats, {_v('quality.duration_s', q.get('duration_s'))}{gap}; artifacts: "
            f"{a['ectopic']:.0f} ectopic, {a['missed']:.0f} missed, {a['extra']:.0f} extra, {a['long_short']:.0f} "
            f"long/short ({what})")


def _values_line(out: dict[str, Any], keys: tuple[str, ...]) -> str:
    h = out["hrv"]
    return "  ".join(f"{_label(k)} {_v(k, h[k.split('.', 1)[1]])}" for k in keys)


def _breathing_line(out: dict[str, Any]) -> str:
    b, r, c = out["breathing"], out["rsa"], out["coherence"]
    breath = f"{_label('breathing.rate_per_min')} {_v('breathing.rate_per_min', b['rate_per_min'])}"
    if b.get("rate_per_min") is not None:
        n = b.get("windows")
        src = SOURCES.get(b.get("source", ""), b.get("source", ""))
        breath += f" (from {src}" + (f", median of {_n(n, '60-s window')})" if n else ")")
    return (f"{breath}  RSA peak-to-trough {_v('rsa.p2t_ms_mean', r['p2t_ms_mean'])}  coherence ratio "
            f"{_v('coherence.ratio_mean', c['ratio_mean'])}")


def _phase_lines(phases: list[dict[str, Any]]) -> list[str]:
    lines = [f"{_n(len(phases), 'phase')}:"]
    for p in phases:
        pacer = p.get("pacer_rate_per_min")
        paced = f" (pacer {_v('breathing.pacer_rate_per_min', pacer)})" if pacer is not None else ""
        lines.append(f"  {p['name']}  {_t(p['start_s'])} to {_t(p['end_s'])} s  breathing "
                     f"{_v('breathing.rate_per_min', p['breathing_rate_per_min'])}{paced}  HR "
                     f"{_v('hrv.hr_bpm', p['hr_bpm'])}  lnRMSSD {_v('hrv.ln_rmssd', p['ln_rmssd'])}  "
                     f"RSA peak-to-trough {_v('rsa.p2t_ms', p['rsa_p2t_ms'])}")
    return lines


def _window_head(out: dict[str, Any]) -> str:
    ws, q = out["windows"], out["quality"]
    size = out["settings"]["window_s"]
    head = f"{_n(len(ws), 'window')} of {size:g} s"
    if ws and q.get("duration_s") is not None:
        rest = q["duration_s"] - (ws[-1]["end_s"] - ws[0]["start_s"])
        if rest >= 1:
            shown = f"{rest:.0f}" if round(rest) < size else f"{rest:.1f}"
            head += f" (the last {shown} s do not fill a window)"
    return head + ":"


def _window_line(w: dict[str, Any], flagged: str) -> str:
    wh = w["hrv"]
    line = (f"  {_t(w['start_s']):>6} to {_t(w['end_s']):>6} s  HR {_v('hrv.hr_bpm', wh['hr_bpm'])}  "
            f"RMSSD {_v('hrv.rmssd_ms', wh['rmssd_ms'])}  breathing "
            f"{_v('breathing.rate_per_min', w['breathing'].get('rate_per_min'))}"
            f"  {flagged} {_v('quality.corrected_pct', w['quality']['corrected_pct'])}")
    why = next((w["reasons"][k] for k in ("hrv.hr_bpm", "hrv.rmssd_ms", "breathing.rate_per_min")
                if w["reasons"].get(k)), "")
    return line + (f"  (—: {why})" if why else "")


def text_lines(out: dict[str, Any]) -> list[str]:
    """The human-readable report of an :func:`analyze_path` result."""
    lines = [_participant_line(out)] if out.get("participant") else []
    lines += [_beats_line(out), _values_line(out, TIME_LINE), _values_line(out, SPECTRAL_LINE), _breathing_line(out)]
    lines += [f"warning: {w}" for w in out.get("warnings", [])]
    if out["reasons"]:
        lines.append(f"not computed ({MISSING_EM}):")
        lines += _grouped_reasons(out["reasons"])
    if out.get("phases"):
        lines += _phase_lines(out["phases"])
    if "windows" in out:
        flagged = "corrected" if out["settings"]["correction"] else "flagged"
        lines += [_window_head(out), *(_window_line(w, flagged) for w in out["windows"])]
    return lines
