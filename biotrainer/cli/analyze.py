"""``biotrainer analyze PATH``: HRV, artifacts, breathing, RSA and coherence of an RR file, ECG file or session.

- ``PATH``: a plain RR file (one interval in ms per line), a CSV with an RR column, an ECG file (``.npy``, ``.csv``;
  ``--fs`` required) or a recorded session (id, id prefix or ``.sqlite`` path; ``--library DIR``).
- ``--kind rr|ecg|session`` overrides the guess (``.sqlite`` or not a file → session; ``.npy`` or ``--fs`` → ECG;
  otherwise RR).
- ``--window-s S`` adds per-window metrics; ``--no-correction`` analyses raw RR; ``--json`` prints one object
  (never NaN: null values have their reason under ``reasons``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from biotrainer.cli.common import add_json_option, add_library_option, print_json
from biotrainer.errors import UsageError

KINDS = ("rr", "ecg", "session")
#: Suffixes that name a data file even when it does not exist (so the error says "no such file").
DATA_SUFFIXES = (".txt", ".csv", ".tsv", ".npy", ".rr", ".dat")


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
    p.add_argument("--participant", metavar="ROLE", help="session participant (default: the first with beats)")
    add_library_option(p)
    add_json_option(p)
    p.set_defaults(func=run)


def guess_kind(path: str, fs_hz: float | None) -> str:
    """``session`` for ``.sqlite`` or a reference that is no file (and has no data-file suffix), ``ecg`` for
    ``.npy`` or with ``--fs``, else ``rr``."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".sqlite" or (not p.is_file() and suffix not in DATA_SUFFIXES):
        return "session"
    if suffix == ".npy" or fs_hz is not None:
        return "ecg"
    return "rr"


def analyze_path(args: argparse.Namespace) -> dict[str, Any]:
    """Run the analysis the arguments ask for and return the JSON-ready result."""
    import numpy as np

    from biotrainer.metrics import io as mio
    from biotrainer.metrics import offline
    from biotrainer.metrics.window import Settings

    if args.window_s is not None and args.window_s < 30:
        raise UsageError(f"--window-s {args.window_s:g} is below the 30 s minimum for time-domain metrics")
    if not 0 <= args.max_corrected_pct <= 100:
        raise UsageError(f"--max-corrected-pct {args.max_corrected_pct:g} is outside 0-100")
    share = args.max_corrected_pct / 100.0
    settings = Settings(correction=not args.no_correction, max_corrected_time=share, max_corrected_spectral=share)
    kind = args.kind or guess_kind(args.path, args.fs)
    if kind == "rr":
        rrf = mio.read_rr_file(args.path, args.column)
        rr, beat_t = rrf.rr_ms, rrf.beat_t_s
        if rrf.participant:
            who = sorted(set(rrf.participant))
            if args.participant or len(who) > 1:
                if args.participant not in who:
                    raise UsageError(f"{args.path}: intervals of participant(s) {', '.join(who)}; choose one with "
                                     "--participant")
                keep = np.array([p == args.participant for p in rrf.participant])
                rr, beat_t = rr[keep], (beat_t[keep] if beat_t is not None else None)
        out = offline.analyze_rr(rr, settings, args.window_s, beat_t_s=beat_t)
    elif kind == "ecg":
        if args.fs is None or args.fs <= 0:
            raise UsageError(f"{args.path}: an ECG file needs its sampling rate: --fs HZ")
        ecg = mio.read_ecg_file(args.path, args.column)
        out = offline.analyze_ecg(ecg, args.fs, settings, args.window_s)
    else:
        from biotrainer.metrics.streams import streams_from_events
        from biotrainer.store import Library

        with Library(getattr(args, "library", None)).open(args.path) as reader:
            events = list(reader.events())
            session_id = reader.id
        streams = streams_from_events(events, args.participant)
        if streams.rr_ms.size == 0:
            who = f"participant {args.participant!r}" if args.participant else "any participant"
            raise UsageError(f"session {session_id}: no beats recorded for {who}")
        out = offline.analyze_streams(streams, settings, args.window_s)
        out["session"] = session_id
    out["kind"] = kind
    out["settings"] = {"correction": not args.no_correction, "max_corrected_pct": args.max_corrected_pct,
                       "window_s": args.window_s}
    return out


def _fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "—"
    return f"{v:.{digits}f}{(' ' + unit) if unit else ''}"


def run(args: argparse.Namespace) -> int:
    out = analyze_path(args)
    if args.json:
        print_json(out)
        return 0
    a, h, b, r, c = out["artifacts"], out["hrv"], out["breathing"], out["rsa"], out["coherence"]
    lines = [
        f"{out['beats']} beats, {_fmt(out['quality'].get('duration_s'), 's', 0)}; artifacts: "
        f"{a['ectopic']:.0f} ectopic, {a['missed']:.0f} missed, {a['extra']:.0f} extra, {a['long_short']:.0f} "
        f"long/short ({_fmt(a.get('corrected_pct'), '%')} of beats corrected)",
        f"HR {_fmt(h['hr_bpm'], 'bpm')}  MeanNN {_fmt(h['mean_nn_ms'], 'ms')}  SDNN {_fmt(h['sdnn_ms'], 'ms')}  "
        f"RMSSD {_fmt(h['rmssd_ms'], 'ms')}  lnRMSSD {_fmt(h['ln_rmssd'], '', 2)}  pNN50 {_fmt(h['pnn50_pct'], '%')}",
        f"VLF {_fmt(h['vlf_ms2'], 'ms²', 0)}  LF {_fmt(h['lf_ms2'], 'ms²', 0)}  HF {_fmt(h['hf_ms2'], 'ms²', 0)}  "
        f"LF/HF {_fmt(h['lf_hf'], '', 2)}  total {_fmt(h['total_power_ms2'], 'ms²', 0)}",
        f"breathing {_fmt(b['rate_per_min'], '/min')} (from {b.get('source', 'none')})  RSA peak-to-trough "
        f"{_fmt(r['p2t_ms_mean'], 'ms')}  coherence ratio {_fmt(c['ratio_mean'], '', 2)}",
    ]
    for key, why in out["reasons"].items():
        lines.append(f"  {key}: {why}")
    if "windows" in out:
        lines.append(f"{len(out['windows'])} windows of {out['settings']['window_s']:g} s:")
        for w in out["windows"]:
            wh = w["hrv"]
            lines.append(f"  {w['start_s']:7.1f}-{w['end_s']:7.1f} s  HR {_fmt(wh['hr_bpm'])}  RMSSD "
                         f"{_fmt(wh['rmssd_ms'])}  breathing {_fmt(w['breathing'].get('rate_per_min'))}  "
                         f"corrected {_fmt(w['quality']['corrected_pct'])} %")
    print("\n".join(lines))
    return 0
