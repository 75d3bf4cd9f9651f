"""``biotrainer trend``: a participant's journey over dates (per protocol and phase) with slopes per week."""

from __future__ import annotations

import argparse

from biotrainer.cli.common import finish_command, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "trend", help="a participant's practice journey: metrics over dates, slope per week, practice calendar",
        description="Breathing rate, heart rate, lnRMSSD, RSA, coherence and self-reports of one participant over "
                    "the sessions of one protocol and phase (points compare only within the same protocol and "
                    "phase), each with a robust (Theil-Sen) slope per week and its 95 % interval once there are "
                    "3 sessions spanning 7 days; and the practice calendar (days practised, resets, minutes).")
    p.add_argument("--participant", metavar="P", help="pseudonym (or role); default: the only participant")
    p.add_argument("--protocol", metavar="NAME",
                   help="protocol of the sessions ('none' for imports without one); default: the only protocol")
    p.add_argument("--phase", metavar="NAME", help="phase to follow; default: the longest paced phase")
    finish_command(p, run)


def run(args: argparse.Namespace) -> int:
    from biotrainer.analysis.trend import journey, journey_lines
    from biotrainer.store import Library

    result = journey(Library(args.library), participant=args.participant, protocol=args.protocol,
                     phase=args.phase)
    if args.json:
        print_json(result)
    else:
        print("\n".join(journey_lines(result)))
    return 0
