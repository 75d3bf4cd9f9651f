"""``biotrainer reset``: the three-minute reset before a client, at once, with the last strap."""

from __future__ import annotations

import argparse

from biotrainer.cli.common import finish_command


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "reset", help="start the three-minute reset now, with the last strap",
        description="Start the shipped three-minute reset (settle, slow paced breathing, 'before you open the "
                    "door') at once with the strap and the person of the newest session, record it, and end with "
                    "the summary. --before tags it with the client you are about to see (a pseudonym).")
    p.add_argument("--before", default="", metavar="LABEL",
                   help="the client or session you are about to see, e.g. C07 (a pseudonym, never a real name)")
    p.add_argument("--device", metavar="SPEC", help="another strap than the last one (address, name, or sim)")
    p.add_argument("--participant", metavar="PSEUDONYM", help="who practises (default: the last strap's wearer)")
    p.add_argument("--intention", default="", metavar="TEXT", help="an optional one-line intention")
    p.add_argument("--speed", default="1", metavar="X|max", help="simulated strap only: X times faster, or 'max'")
    p.add_argument("--seed", type=int, help="random seed of a simulated strap")
    p.add_argument("--quiet", action="store_true", help="no live status line")
    finish_command(p, run)


def run(args: argparse.Namespace) -> int:
    from biotrainer.cli.record import run_plan
    from biotrainer.store import Library
    from biotrainer.wiring import parse_speed
    from biotrainer.wiring.reset import reset_plan

    plan = reset_plan(Library(args.library), device=args.device, participant=args.participant, before=args.before,
                      speed=parse_speed(args.speed), seed=args.seed)
    return run_plan(plan, as_json=args.json, quiet=args.quiet, intention=args.intention)
