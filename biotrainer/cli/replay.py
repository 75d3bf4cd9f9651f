"""``biotrainer replay ID [--speed X|max] [--from S] [--json]``: play a recorded session back through the bus.

At a finite speed (default 1×) a status line shows time, HR, last RR and phase, as live; with ``--speed max`` the
session runs as fast as the CPU allows and only the summary is printed (events per kind, session time replayed,
wall time, speed factor). Ctrl-C stops cleanly with the summary so far.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from biotrainer.cli.common import finish_command, print_json
from biotrainer.core.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("replay", help="replay a recorded session (1×, N× or as fast as possible)",
                              description="Replay a recorded session through the same bus as a live session.")
    p.add_argument("session", metavar="ID", help="session id, unique id prefix, or path to a session file")
    p.add_argument("--speed", default="1", metavar="X|max",
                   help="speed factor (default 1 = real time), or 'max' for as fast as possible")
    p.add_argument("--from", dest="start_s", type=float, default=0.0, metavar="S",
                   help="start at this session time (seconds)")
    finish_command(p, run)


class _Counter:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.last_t_s: float | None = None

    def __call__(self, event) -> None:
        self.counts[event.KIND] += 1
        self.last_t_s = event.t_s


def run(args: argparse.Namespace) -> int:
    from biotrainer.store import Library
    from biotrainer.wiring import build_replay, parse_speed

    speed = parse_speed(args.speed)
    lib = Library(args.library)
    with lib.open(args.session) as reader:
        duration_s = reader.duration_s
        if not (0.0 <= args.start_s <= duration_s):
            raise UsageError(f"--from {args.start_s} s is outside the session (0-{duration_s:.1f} s)")
        counter = _Counter()
        listeners: list = [counter]
        if speed is not None and not args.json:
            from biotrainer.cli.terminal_view import TerminalView

            listeners.append(TerminalView(sys.stderr, time_left_s=lambda t: max(0.0, duration_s - t)))
        runner = build_replay(reader, speed=speed, start_s=args.start_s, listeners=listeners).runner
        wall0 = time.perf_counter()
        result = runner.run()
        wall_s = time.perf_counter() - wall0
        replayed_s = max(0.0, result.end_t_s - args.start_s)
        summary = {
            "id": reader.meta.id,
            "path": str(reader.path),
            "complete": reader.complete,
            "end_reason": result.reason,
            "speed": "max" if speed is None else speed,
            "replayed_s": replayed_s,
            "session_duration_s": duration_s,
            "wall_s": wall_s,
            "speed_factor": replayed_s / wall_s if wall_s > 0 else None,
            "events": sum(counter.counts.values()),
            "counts": dict(sorted(counter.counts.items())),
            "listener_errors": result.listener_errors,
        }
    if args.json:
        print_json(summary)
    else:
        out = sys.stdout
        factor = f"{summary['speed_factor']:.0f}× real time" if summary["speed_factor"] else "-"
        out.write(f"replayed {summary['id']}: {replayed_s:.1f} s of session in {wall_s:.2f} s ({factor}); "
                  f"{summary['events']} events; {result.reason}\n")
        for kind, n in summary["counts"].items():
            out.write(f"  {kind:<13} {n:>8}\n")
        if summary["counts"].get("beat"):
            from biotrainer.cli.session_summary import print_summary

            print_summary(lib, summary["id"], out)
    return 130 if result.reason == "interrupted" else 0
