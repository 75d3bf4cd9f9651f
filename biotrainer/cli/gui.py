"""``biotrainer gui``: open the desktop app (also what ``biotrainer`` with no command does)."""

from __future__ import annotations

import argparse
import os

from biotrainer.cli.common import finish_command
from biotrainer.core.errors import UsageError

SCREENS = ("live", "client", "library", "replay", "compare")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui", help="open the desktop app",
        description="Open the desktop app: live session, client view, replay, library, compare.")
    p.add_argument("--demo", action="store_true",
                   help="start the reset protocol with the simulated strap as soon as the window appears")
    p.add_argument("--exit-after", type=float, metavar="S", help="close the app after S seconds")
    p.add_argument("--screenshot", metavar="PATH", help="save a PNG of the window just before --exit-after ends")
    p.add_argument("--screen", choices=SCREENS, help="screen to show first")
    p.add_argument("--protocol", default="reset", help="protocol the demo runs (default: reset)")
    p.add_argument("--device", action="append", metavar="[ROLE=]SPEC",
                   help="device spec the demo uses (default: sim); repeat with roles for two people, e.g. "
                        "--device therapist=sim --device client=sim:follow=therapist")
    p.add_argument("--participant", action="append", metavar="[ROLE=]PSEUDONYM",
                   help="pseudonym of the demo's participant (ROLE=PSEUDONYM, one per --device)")
    p.add_argument("--speed", default="1", metavar="X", help="session clock speed for the demo (default: 1)")
    p.add_argument("--ble-backend", metavar="MODULE:FACTORY",
                   help="bleak backend to use instead of the system's (emulated straps, tests)")
    finish_command(p, run, json=False)


def run(args: argparse.Namespace) -> int:
    if args.screenshot and args.exit_after is None:
        raise UsageError("--screenshot needs --exit-after S (the screenshot is taken when the app closes)")
    if args.exit_after is not None and args.exit_after <= 0:
        raise UsageError(f"--exit-after {args.exit_after}: must be a positive number of seconds")
    from biotrainer.wiring import parse_speed

    speed = parse_speed(args.speed, allow_max=False)
    from biotrainer.cli.demo import display_available

    if not display_available() and not os.environ.get("QT_QPA_PLATFORM"):
        raise UsageError("no display to open the window on; run 'biotrainer demo --terminal' or "
                         "'biotrainer record', or set QT_QPA_PLATFORM=offscreen for screenshots")
    from biotrainer.gui.app import run_app

    return run_app(demo=args.demo, exit_after_s=args.exit_after, screenshot=args.screenshot, library=args.library,
                   ble_backend=args.ble_backend, protocol=args.protocol, device=args.device or ["sim"], speed=speed,
                   participants=args.participant, screen=args.screen)
