"""``biotrainer demo``: a full guided session (the pre-session reset) with the simulated strap."""

from __future__ import annotations

import argparse
import os
import sys

from biotrainer.cli.common import finish_command

DEMO_PROTOCOL = "reset"
DEMO_DEVICE = "sim:ecg,acc"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="run the 3-minute pre-session reset with the simulated strap",
        description="Open the app running the pre-session reset protocol with a simulated strap, or run it in the "
                    "terminal when no display is available. The session is recorded to the library "
                    "(marked synthetic).")
    p.add_argument("--terminal", action="store_true", help="run in the terminal even when a display exists")
    p.add_argument("--protocol", default=DEMO_PROTOCOL, metavar="NAME|PATH", help="protocol (default: reset)")
    p.add_argument("--speed", default="1", metavar="X|max", help="run X times faster than real time, or 'max'")
    p.add_argument("--seed", type=int, default=None, help="random seed for the simulated strap")
    p.add_argument("--quiet", action="store_true", help="no live status line (terminal mode)")
    finish_command(p, run)


def display_available() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return False
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args: argparse.Namespace) -> int:
    if not args.terminal and display_available():
        try:
            from biotrainer.gui.app import run_app
        except ImportError as exc:
            print(f"biotrainer: the window cannot open ({exc}); running the demo in the terminal.",
                  file=sys.stderr)
        else:
            from biotrainer.wiring import parse_speed

            speed = parse_speed(args.speed)
            return run_app(demo=True, library=args.library, protocol=args.protocol, speed=speed or 1.0,
                           device=DEMO_DEVICE)
    elif not args.terminal:
        print("No display found: running the demo in the terminal (the window opens when a display exists).",
              file=sys.stderr)
    from biotrainer.cli.record import run_plan
    from biotrainer.wiring import DeviceSpec, SessionPlan, parse_speed

    plan = SessionPlan(devices=[DeviceSpec("self", DEMO_DEVICE)], protocol=args.protocol, seed=args.seed,
                       speed=parse_speed(args.speed), library=args.library, title="Demo (simulated strap)",
                       participants={"self": "demo"})
    return run_plan(plan, as_json=args.json, quiet=args.quiet)
