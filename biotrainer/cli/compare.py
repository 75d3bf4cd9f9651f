"""``biotrainer compare``: phases within a session, sessions against each other, and trends."""

from __future__ import annotations

import argparse
from typing import Any

from biotrainer.cli.common import finish_command, print_json
from biotrainer.metrics.catalogue import format_value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare", help="compare phases of a session, or sessions (matched by phase name)",
        description="Compare metrics by protocol phase within a session (baseline vs paced vs recovery), or "
                    "between sessions with phases matched by name (before/after, week 1 vs week 8); with 3 or "
                    "more sessions also the trend per week. For each metric: values, difference, percent "
                    "change and whether it is beyond the within-phase variability. Breathing rate is always "
                    "shown beside the vagal indices.")
    p.add_argument("sessions", nargs="*", metavar="ID", help="session ids (first = reference)")
    p.add_argument("--by", choices=("phase", "session"),
                   help="phase: phases of each session vs its first phase (default for one session); "
                        "session: sessions vs the first one (default for several)")
    p.add_argument("--participant", metavar="P",
                   help="without IDs: every session of this participant (pseudonym), oldest first; with IDs: "
                        "whose data to compare in sessions with several participants (role or pseudonym)")
    p.add_argument("--protocol", metavar="NAME", help="without IDs: only sessions of this protocol")
    finish_command(p, run)


def run(args: argparse.Namespace) -> int:
    from biotrainer.analysis.compare import compare
    from biotrainer.analysis.selection import sessions_to_compare
    from biotrainer.exchange.library import load_session
    from biotrainer.store import Library

    library = Library(args.library)
    refs = sessions_to_compare(library, list(args.sessions), args.participant, args.protocol)
    sessions = [load_session(library, ref) for ref in refs]
    result = compare(sessions, by=args.by, participant=args.participant)
    if args.json:
        print_json(result)
    else:
        print(format_text(result))
    return 0


# --- text output ---------------------------------------------------------------------------------------------

def _fmt(v: Any, key: str) -> str:
    return format_value(key, v)


def _labels(result: dict[str, Any]) -> dict[str, str]:
    return {m["key"]: (m["label"] + (f" ({m['unit']})" if m["unit"] else "")) for m in result["metrics"]}


def _session_table(s: dict[str, Any], result: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """Header line, then one row per metric: value ±SD in each phase."""
    lines = [f"Session {s['id']}  {s['started_at'][:16]}  participant {s['participant']}"
             + (f"  protocol {s['protocol']}" if s["protocol"] else "")]
    names = [p["name"] for p in s["phases"]]
    width = max([26] + [len(v) + 2 for v in labels.values()])
    lines.append("  " + "metric".ljust(width) + "".join(n[:14].rjust(16) for n in names))
    for m in result["metrics"]:
        k = m["key"]
        cells = []
        for p in s["phases"]:
            v, sd = p["values"].get(k), p["sd"].get(k)
            cells.append((_fmt(v, k) + (f" ±{_fmt(sd, k)}" if sd is not None and v is not None else "")).rjust(16))
        lines.append("  " + labels[k].ljust(width) + "".join(cells))
    lines.append("")
    return lines


def _difference_line(c: dict[str, Any], mode: str, labels: dict[str, str]) -> str:
    head = f"  {c['phase']} vs {c['reference']}" if mode == "phase" else \
        f"  {c['phase']}: {c['session']} vs {c['reference']}"
    if c["difference"] is None:
        return f"{head} | {labels[c['metric']]}: {c['verdict']}"
    pct = f" ({c['percent_change']:+.0f} %)" if c["percent_change"] is not None else ""
    z = f", z={c['z']:.1f}" if c["z"] is not None else ""
    return (f"{head} | {labels[c['metric']]}: {_fmt(c['a'], c['metric'])} → {_fmt(c['b'], c['metric'])}"
            f" = {c['difference']:+.3g}{pct}{z}: {c['verdict']}")


def _trend_lines(trend: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    from biotrainer.analysis.trend import slope_words

    lines = ["", "Trend (robust Theil-Sen slope per week, 95 % interval):"]
    for t in trend:
        if t["values"]:
            lines.append(f"  {t['phase']} | {labels[t['metric']]}: {len(t['values'])} sessions, "
                         f"{slope_words(t['metric'], t)}")
    return lines


def format_text(result: dict[str, Any]) -> str:
    """A plain-text rendering of :func:`biotrainer.analysis.compare.compare`'s result: a phase table per session,
    then the differences and the trend."""
    labels = _labels(result)
    lines: list[str] = []
    for s in result["sessions"]:
        lines += _session_table(s, result, labels)
    if result["comparisons"]:
        lines.append("Differences (b − a; ± is the SD over windows within the phase):")
        lines += [_difference_line(c, result["mode"], labels) for c in result["comparisons"]]
    if result.get("trend"):
        lines += _trend_lines(result["trend"], labels)
    lines.append("")
    lines.append("Compare vagal indices (RMSSD, HF, RSA) only at similar breathing rates; a practice and research "
                 "tool, not a diagnosis.")
    return "\n".join(lines)
