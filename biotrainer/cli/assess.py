"""``biotrainer assess ID``: resonance-frequency assessment report of a recorded session.

Reads the session's beats, pacer and phase markers, evaluates each assessment step (criteria table) and ranks them
(:mod:`biotrainer.metrics.resonance`). ``--save`` stores the pick as the participant's personal resonance rate in
the library's participants register.
"""

from __future__ import annotations

import argparse
from typing import Any

from biotrainer.cli.common import finish_command, print_json
from biotrainer.metrics.catalogue import MISSING_EM


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "assess", help="resonance-rate assessment report of a recorded session",
        description="Compare the paced steps of a resonance assessment session and pick the rate with the "
                    "largest, most regular heart-rate swing per breath. A practice and research tool, not a "
                    "medical device.")
    p.add_argument("session", metavar="ID", help="session id, unique id prefix, or path")
    p.add_argument("--participant", metavar="P",
                   help="whose beats to assess, as role or pseudonym (default: the client, else the first with "
                        "beats)")
    p.add_argument("--save", action="store_true",
                   help="store the pick as the participant's personal resonance rate")
    finish_command(p, run)


def run(args: argparse.Namespace) -> int:
    from biotrainer.analysis.assess import assess_resonance, save_pick
    from biotrainer.store import Library

    lib = Library(getattr(args, "library", None))
    out, result = assess_resonance(lib, args.session, args.participant)
    if args.save:
        save_pick(lib, out, result)
    if args.json:
        print_json(out)
        return 0
    print("\n".join(text_lines(out, result)))
    return 0


def _f(v: Any, d: int = 1) -> str:
    return MISSING_EM if v is None else f"{round(v, d) + 0.0:.{d}f}"  # + 0.0: no "-0.00"


def text_lines(out: dict[str, Any], result: Any) -> list[str]:
    """The criteria table with the pick marked, a legend, and the pick or why there is none."""
    from biotrainer.analysis.assess import legend

    p = out["participant"]
    who = f"{p['pseudonym']} ({p['role']})" if p.get("pseudonym") else p["role"]
    lines = [f"session {out['session']} ({out['protocol'] or 'no protocol'}), participant {who}",
             f"{'step':<12}{'rate/min':>9}{'HR swing bpm':>14}{'phase°':>8}{'LF ms²':>9}{'smooth':>8}"
             f"{'adh/min':>9}  rank (lower = better)"]
    for s in result.steps:
        line = (f"{s.name:<12}{s.rate_per_min:>9.1f}{_f(s.p2t_bpm):>14}{_f(s.phase_deg, 0):>8}"
                f"{_f(s.lf_ms2, 0):>9}{_f(s.smoothness, 2):>8}{_f(s.adherence_per_min, 2):>9}  {_f(s.score, 2):>5}")
        if not s.included:
            line += f"  excluded: {s.excluded_because}"
        elif result.pick_rate_per_min is not None and s.rate_per_min == result.pick_rate_per_min:
            line += "  ◀ pick"
        lines.append(line)
    lines += ["", *legend(result.weights), ""]
    if getattr(result, "kind", "stepped") == "adaptive":
        return lines[:-1] + _adaptive_lines(out, result)
    if result.pick_rate_per_min is None:
        lines.append(f"no pick: {result.reason}")
    else:
        lines.append(f"resonance rate pick: {result.pick_rate_per_min:g} breaths/min"
                     + (" (saved)" if out.get("saved") else " (use --save to store it)"))
    return lines


def _adaptive_lines(out: dict[str, Any], result: Any) -> list[str]:
    """The closed-loop pacer's record: its changes with their reasons, and the rate it settled on."""
    lines = ["", "the pacer's record:"]
    lines += [f"  {c['t_s']:7.0f} s  {c['text']}" for c in out.get("changes", [])] or ["  (no change)"]
    lines.append("")
    if result.pick_rate_per_min is None:
        lines.append(f"no pick: {result.reason}")
        return lines
    state = "converged" if result.converged else "did not converge"
    lines.append(f"adaptive pacer settled on {result.pick_rate_per_min:g} breaths/min ({state})"
                 + (" (saved)" if out.get("saved") else " (use --save to store it)"))
    return lines
