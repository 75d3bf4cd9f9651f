"""``biotrainer synchrony``: therapist–client heart-rate synchrony of a recorded session, tested against chance."""

from __future__ import annotations

import argparse
import math
from typing import Any

from biotrainer.cli.common import finish_command, print_json
from biotrainer.core.errors import UsageError
from biotrainer.metrics import synchrony as sync


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "synchrony", help="therapist–client heart-rate synchrony of a session, against chance",
        description="Windowed lagged cross-correlation of the therapist's and the client's heart rate (4 Hz, "
                    "detrended windows, Fisher z of the in-phase peak), tested against segment-shuffle surrogates "
                    "within the dyad; per phase, with the pacer kept in the surrogates where both followed one. "
                    "A positive lag means the client follows the therapist. An awareness aid for reflection "
                    "and supervision, not a score to chase.")
    p.add_argument("sessions", nargs="+", metavar="ID",
                   help="session id (or unique prefix, or path); several sessions of one dyad: the trend across them")
    p.add_argument("--window-s", type=float, default=sync.WINDOW_S, help="window length (s; default 30)")
    p.add_argument("--step-s", type=float, default=sync.STEP_S, help="window step (s; default 5)")
    p.add_argument("--lag-s", type=float, default=sync.LAG_S, help="largest lag either way (s; default 5)")
    p.add_argument("--surrogates", type=int, default=sync.N_SURROGATES,
                   help=f"surrogates for the chance test (default {sync.N_SURROGATES}, at least "
                        f"{sync.MIN_SURROGATES})")
    p.add_argument("--seed", type=int, default=0, help="seed of the surrogate draw (default 0)")
    finish_command(p, run)


def run(args: argparse.Namespace) -> int:
    from biotrainer.analysis.synchrony import SynchronyOptions, session_synchrony
    from biotrainer.store import Library

    for name in ("window_s", "step_s", "lag_s"):
        value = getattr(args, name)
        if not math.isfinite(value) or value < 0 or (value == 0 and name != "lag_s"):
            raise UsageError(f"--{name.replace('_', '-')} {value:g}: expected a positive number of seconds")
    opts = SynchronyOptions(window_s=args.window_s, step_s=args.step_s, lag_s=args.lag_s,
                            n_surrogates=args.surrogates, seed=args.seed)
    if args.surrogates < sync.MIN_SURROGATES:
        raise UsageError(f"--surrogates {args.surrogates}: too few for a chance test (at least "
                         f"{sync.MIN_SURROGATES}; 500 is usual)")
    library = Library(args.library)
    if len(args.sessions) > 1:
        from biotrainer.analysis.synchrony import synchrony_trend

        trend = synchrony_trend(library, list(args.sessions), opts)
        print_json(trend) if args.json else print("\n".join(trend_lines(trend)))
        return 0
    out = session_synchrony(library, args.sessions[0], opts)
    if args.json:
        print_json(out)
    else:
        print("\n".join(text_lines(out)))
    return 0


def trend_lines(trend: dict[str, Any]) -> list[str]:
    """One line per session (oldest first) and the change of the effect size."""
    from biotrainer.analysis.synchrony_words import CAVEAT

    rows = trend["sessions"]
    who = ", ".join(r if p == r else f"{r} {p}" for r, p in rows[0]["participants"].items())
    lines = [f"Synchrony of one dyad ({who}) over {len(rows)} sessions:",
             "  date              session               mean z  effect size        p  leader     lag s"]
    for r in rows:
        es = "–" if r["effect_size"] is None else f"{r['effect_size']:+.2f}"
        p = "–" if r["p_value"] is None else f"{r['p_value']:.3f}"
        mz = "–" if r["mean_z"] is None else f"{r['mean_z']:.2f}"
        lag = "–" if r["curve_lag_s"] is None else f"{r['curve_lag_s']:+.2f}"
        lines.append(f"  {r['started_at'][:16]:<17} {r['session_id']:<21} {mz:>6} {es:>12} {p:>8}  "
                     f"{r['leader']:<9} {lag:>6}")
    t = trend["trend"]
    if t["change_effect_size"] is not None:
        lines.append(f"  change of the effect size, last − first: {t['change_effect_size']:+.2f}")
    if t["slope_effect_size_per_week"] is not None:
        lines.append(f"  slope: {t['slope_effect_size_per_week']:+.2f} per week over {t['span_days']:.0f} days")
    else:
        lines.append(f"  no slope per week: {t['reason']}")
    return lines + [CAVEAT]


def text_lines(out: dict[str, Any]) -> list[str]:
    """The synchrony result in words (:mod:`biotrainer.analysis.synchrony_words`): the session header, the
    verdict, lead/lag, phases, and the caveat."""
    from biotrainer.analysis.synchrony_words import CAVEAT, result_lines

    who = ", ".join(r if p == r else f"{r} {p}" for r, p in out["participants"].items())
    return [f"Session {out['session_id']}  ({who})", *(f"  {line}" for line in result_lines(out)), CAVEAT]
