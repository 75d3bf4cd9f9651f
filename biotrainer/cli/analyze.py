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
from pathlib import Path
from typing import Any

from biotrainer.cli.common import add_json_option, add_library_option, print_json
from biotrainer.errors import UsageError

KINDS = ("rr", "ecg", "session")
#: Accepted ECG sampling rates (Hz): below, QRS complexes are not resolved; above, the value is surely a typo.
FS_RANGE_HZ = (50.0, 10000.0)
#: Shortest window for ``--window-s`` (time-domain metrics need 30 s).
MIN_WINDOW_S = 30.0
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
    p.add_argument("--participant", metavar="P",
                   help="whose beats, as role or pseudonym (sessions: default the client, else the first with "
                        "beats; files with a participant column: required when there are several)")
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


def session_participant(session_id: str, events: list[Any], roles_to_pseudonyms: dict[str, str],
                        wanted: str | None) -> str:
    """The role whose beats to use: ``wanted`` as a role or pseudonym; by default the client (the person
    practising), else ``self``, else the first role with beats.

    Raises
    ------
    UsageError
        No beats in the session, or ``wanted`` names no participant with beats (the message lists those there).
    """
    roles: list[str] = []
    for e in events:
        if e.KIND == "beat" and e.participant not in roles:
            roles.append(e.participant)

    def named(role: str) -> str:
        pseudonym = roles_to_pseudonyms.get(role)
        return f"{role} {pseudonym}" if pseudonym and pseudonym != role else role

    if not roles:
        listed = ", ".join(named(r) for r in roles_to_pseudonyms) or "none recorded"
        raise UsageError(f"session {session_id}: no beats recorded (participants: {listed})")
    if wanted is None:
        return next((r for r in ("client", "self") if r in roles), roles[0])
    if wanted in roles:
        return wanted
    role = next((r for r, p in roles_to_pseudonyms.items() if p == wanted), None)
    if role in roles:
        return role
    have = ", ".join(named(r) for r in roles)
    if role is not None or wanted in roles_to_pseudonyms:
        raise UsageError(f"session {session_id}: participant {wanted!r} has no beats recorded (participants with "
                         f"beats: {have})")
    raise UsageError(f"session {session_id} has no participant {wanted!r} (participants with beats, as role and "
                     f"pseudonym: {have})")


def analyze_path(args: argparse.Namespace) -> dict[str, Any]:
    """Run the analysis the arguments ask for and return the JSON-ready result."""
    import numpy as np

    from biotrainer.analysis import inputs as mio
    from biotrainer.metrics import offline
    from biotrainer.metrics.window import Settings

    check_options(args)
    share = args.max_corrected_pct / 100.0
    settings = Settings(correction=not args.no_correction, max_corrected_time=share, max_corrected_spectral=share)
    kind = args.kind or guess_kind(args.path, args.fs)
    if args.fs is not None and kind != "ecg":
        what = "a recorded session" if kind == "session" else "an RR file (--kind rr)"
        raise UsageError(f"--fs is the sampling rate of an ECG file; {args.path} is {what}: leave --fs out")
    participant: dict[str, Any] | None = None
    if kind == "rr":
        rrf = mio.read_rr_file(args.path, args.column)
        rr, beat_t = rrf.rr_ms, rrf.beat_t_s
        if args.participant and not rrf.participant:
            raise UsageError(f"--participant {args.participant}: {args.path} has no participant column (all its "
                             "intervals are one person's): leave --participant out")
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
        if args.fs is None:
            raise UsageError(f"{args.path}: an ECG file needs its sampling rate: --fs HZ")
        if args.participant:
            raise UsageError(f"--participant {args.participant}: an ECG file is one person's recording: leave "
                             "--participant out")
        ecg = mio.read_ecg_file(args.path, args.column)
        out = offline.analyze_ecg(ecg, args.fs, settings, args.window_s)
    else:
        from biotrainer.metrics.streams import streams_from_events
        from biotrainer.store import Library

        if args.column is not None:
            raise UsageError(f"--column is for CSV files; {args.path} is a recorded session: leave --column out")
        with Library(getattr(args, "library", None)).open(args.path) as reader:
            events = list(reader.events())
            session_id = reader.id
            people = dict(reader.meta.participants)
        role = session_participant(session_id, events, people, args.participant)
        streams = streams_from_events(events, role)
        out = offline.analyze_streams(streams, settings, args.window_s)
        out["session"] = session_id
        others = [r for r in dict.fromkeys(e.participant for e in events if e.KIND == "beat") if r != role]
        participant = {"role": role, "pseudonym": people.get(role) or None,
                       "others": [{"role": r, "pseudonym": people.get(r) or None} for r in others]}
    duration_s = out["quality"].get("duration_s")
    if args.window_s is not None and duration_s is not None and args.window_s > duration_s + 1e-6:
        raise UsageError(f"--window-s {args.window_s:g}: longer than the recording ({duration_s:.0f} s of beats); "
                         f"use at most {math.floor(duration_s):.0f} s or leave --window-s out")
    out["kind"] = kind
    if participant is not None:
        out["participant"] = participant
    out["settings"] = {"correction": not args.no_correction, "max_corrected_pct": args.max_corrected_pct,
                       "window_s": args.window_s}
    return out


#: Text labels of the summary values, in the order the text output shows them (reasons are grouped by these).
LABELS = {
    "hrv.hr_bpm": "HR", "hrv.mean_nn_ms": "MeanNN", "hrv.sdnn_ms": "SDNN", "hrv.rmssd_ms": "RMSSD",
    "hrv.ln_rmssd": "lnRMSSD", "hrv.pnn50_pct": "pNN50", "hrv.vlf_ms2": "VLF", "hrv.lf_ms2": "LF",
    "hrv.hf_ms2": "HF", "hrv.lf_hf": "LF/HF", "hrv.total_power_ms2": "total power", "hrv.lf_peak_hz": "LF peak",
    "hrv.hf_peak_hz": "HF peak", "breathing.rate_per_min": "breathing", "rsa.p2t_ms_mean": "RSA (ms)",
    "rsa.p2t_bpm_mean": "RSA (bpm)", "coherence.ratio_mean": "coherence",
}
SOURCES = {"rr": "RR intervals", "ecg": "ECG", "acc": "chest movement", "pacer": "pacer"}


def _grouped_reasons(reasons: dict[str, str]) -> list[str]:
    """One line per distinct reason, naming every value it withholds (not one line per value)."""
    order = {k: i for i, k in enumerate(LABELS)}
    by_reason: dict[str, list[str]] = {}
    for key in sorted(reasons, key=lambda k: (order.get(k, len(order)), k)):
        by_reason.setdefault(reasons[key], []).append(LABELS.get(key, key))
    return [f"  {', '.join(names)}: {why}" for why, names in by_reason.items()]


def _n(count: float, noun: str) -> str:
    return f"{count:.0f} {noun}{'' if round(count) == 1 else 's'}"


def _t(v: float) -> str:
    return f"{round(v, 1) + 0.0:.1f}"  # + 0.0: no "-0.0"


def _fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "—"
    return f"{v:.{digits}f}{(' ' + unit) if unit else ''}"


def run(args: argparse.Namespace) -> int:
    out = analyze_path(args)
    if args.json:
        print_json(out)
        return 0
    print("\n".join(text_lines(out)))
    return 0


def text_lines(out: dict[str, Any]) -> list[str]:
    """The human-readable report of an :func:`analyze_path` result."""
    a, h, b, r, c, q = out["artifacts"], out["hrv"], out["breathing"], out["rsa"], out["coherence"], out["quality"]
    corrected = out["settings"]["correction"]
    lines = []
    if out.get("participant"):
        p = out["participant"]
        who = f"{p['pseudonym']} ({p['role']})" if p.get("pseudonym") else p["role"]
        others = ", ".join(f"{o['role']} {o['pseudonym']}" if o.get("pseudonym") else o["role"]
                           for o in p.get("others", []))
        if others:
            others = f"; also with beats: {others} (choose with --participant)"
        lines.append(f"session {out['session']}, participant {who}{others}")
    missing = q.get("missing_pct")
    gap = f" ({missing:.0f} % of it without data)" if missing is not None and missing >= 0.5 else ""
    share = _fmt(a.get("corrected_pct"), "%")
    what = (f"{share} of beats corrected" if corrected
            else f"{share} of beats flagged as artifacts, not corrected: --no-correction")
    lines.append(f"{out['beats']} beats, {_fmt(q.get('duration_s'), 's', 0)}{gap}; artifacts: {a['ectopic']:.0f} "
                 f"ectopic, {a['missed']:.0f} missed, {a['extra']:.0f} extra, {a['long_short']:.0f} long/short "
                 f"({what})")
    lines += [
        f"HR {_fmt(h['hr_bpm'], 'bpm')}  MeanNN {_fmt(h['mean_nn_ms'], 'ms')}  SDNN {_fmt(h['sdnn_ms'], 'ms')}  "
        f"RMSSD {_fmt(h['rmssd_ms'], 'ms')}  lnRMSSD {_fmt(h['ln_rmssd'], '', 2)}  pNN50 {_fmt(h['pnn50_pct'], '%')}",
        f"VLF {_fmt(h['vlf_ms2'], 'ms²', 0)}  LF {_fmt(h['lf_ms2'], 'ms²', 0)}  HF {_fmt(h['hf_ms2'], 'ms²', 0)}  "
        f"LF/HF {_fmt(h['lf_hf'], '', 2)}  total power {_fmt(h['total_power_ms2'], 'ms²', 0)}",
    ]
    breath = f"breathing {_fmt(b['rate_per_min'], '/min')}"
    if b.get("rate_per_min") is not None:
        n = b.get("windows")
        src = SOURCES.get(b.get("source", ""), b.get("source", ""))
        breath += f" (from {src}" + (f", median of {_n(n, '60-s window')})" if n else ")")
    lines.append(f"{breath}  RSA peak-to-trough {_fmt(r['p2t_ms_mean'], 'ms')}  coherence ratio "
                 f"{_fmt(c['ratio_mean'], '', 2)}")
    lines += [f"warning: {w}" for w in out.get("warnings", [])]
    if out["reasons"]:
        lines.append("not computed (—):")
        lines += _grouped_reasons(out["reasons"])
    if out.get("phases"):
        lines.append(f"{_n(len(out['phases']), 'phase')}:")
        for p in out["phases"]:
            pacer = p.get("pacer_rate_per_min")
            paced = f" (pacer {_fmt(pacer, '/min')})" if pacer is not None else ""
            lines.append(f"  {p['name']}  {_t(p['start_s'])} to {_t(p['end_s'])} s  breathing "
                         f"{_fmt(p['breathing_rate_per_min'], '/min')}{paced}  HR {_fmt(p['hr_bpm'], 'bpm')}  "
                         f"lnRMSSD {_fmt(p['ln_rmssd'], '', 2)}  RSA peak-to-trough {_fmt(p['rsa_p2t_ms'], 'ms')}")
    if "windows" in out:
        ws = out["windows"]
        size = out["settings"]["window_s"]
        head = f"{_n(len(ws), 'window')} of {size:g} s"
        if ws and q.get("duration_s") is not None:
            rest = q["duration_s"] - (ws[-1]["end_s"] - ws[0]["start_s"])
            if rest >= 1:
                shown = f"{rest:.0f}" if round(rest) < size else f"{rest:.1f}"
                head += f" (the last {shown} s do not fill a window)"
        lines.append(head + ":")
        flagged = "corrected" if corrected else "flagged"
        for w in ws:
            wh = w["hrv"]
            line = (f"  {_t(w['start_s']):>6} to {_t(w['end_s']):>6} s  HR {_fmt(wh['hr_bpm'], 'bpm')}  "
                    f"RMSSD {_fmt(wh['rmssd_ms'], 'ms')}  breathing {_fmt(w['breathing'].get('rate_per_min'), '/min')}"
                    f"  {flagged} {_fmt(w['quality']['corrected_pct'], '%')}")
            why = next((w["reasons"][k] for k in ("hrv.hr_bpm", "hrv.rmssd_ms", "breathing.rate_per_min")
                        if w["reasons"].get(k)), "")
            if why:
                line += f"  (—: {why})"
            lines.append(line)
    return lines
