"""``biotrainer protocols``: list, show and validate guided breathing protocols.

- ``biotrainer protocols [list] [--json]``: name, title, duration and a phase summary of every protocol.
- ``biotrainer protocols show NAME [--personal-rate R] [--json]``: phases with pacer settings and cues.
- ``biotrainer protocols validate PATH...``: check files against the schema; exit 1 with one line per bad file.
- ``biotrainer protocols schema [--json]``: every key a protocol file may contain, with defaults and meaning.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from biotrainer.cli.common import add_json_option, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "protocols", help="list, show and validate guided breathing protocols",
        description="Guided breathing protocols: the shipped ones and those in the user protocol folder "
                    "($BIOTRAINER_PROTOCOLS or the per-user config folder's 'protocols').")
    add_json_option(parser)
    parser.set_defaults(func=run, action="list")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")

    p_list = sub.add_parser("list", help="list protocols (the default)")
    p_list.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON")

    p_show = sub.add_parser("show", help="show one protocol's phases, pacer settings and cues")
    p_show.add_argument("name", metavar="NAME", help="protocol name (e.g. reset) or path to a .toml file")
    p_show.add_argument("--personal-rate", type=float, metavar="PER_MIN", default=None,
                        help='resolve rate_per_min = "personal" with this rate (breaths/min)')
    p_show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON")

    p_val = sub.add_parser("validate", help="check protocol files against the schema")
    p_val.add_argument("paths", nargs="+", metavar="PATH", help="protocol .toml files (or names)")

    p_schema = sub.add_parser("schema", help="describe every key a protocol file may contain")
    p_schema.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                          help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "action", None) or "list"
    if action == "show":
        return _show(args)
    if action == "validate":
        return _validate(args)
    if action == "schema":
        return _schema(args)
    return _list(args)


def _list(args: argparse.Namespace) -> int:
    from biotrainer.protocols import format_duration, list_protocols, user_protocols_dir

    summaries = list_protocols()
    if args.json:
        print_json([s.to_dict() for s in summaries])
        return 0
    if not summaries:
        sys.stdout.write("no protocols found\n")
        return 0
    width = max(len(s.name) for s in summaries)
    for s in summaries:
        origin = "  (user)" if s.origin == "user" else ""
        sys.stdout.write(f"{s.name:<{width}}  {format_duration(s.duration_s):>6}  {s.title}{origin}\n")
        sys.stdout.write(f"{'':<{width}}          {s.phases}\n")
    sys.stdout.write(f"\nuser protocols folder: {user_protocols_dir()}\n")
    return 0


def _show(args: argparse.Namespace) -> int:
    from biotrainer.protocols import ProtocolRunner, format_duration, load_protocol
    from biotrainer.protocols.model import format_number

    protocol = load_protocol(args.name)
    rate = args.personal_rate
    ProtocolRunner(protocol, rate)  # checks the personal rate against the protocol (range, holds)
    if args.json:
        print_json(protocol.to_dict(rate))
        return 0
    out = sys.stdout
    wrap = textwrap.TextWrapper(width=100, initial_indent="  ", subsequent_indent="  ")
    out.write(f"{protocol.title}  ({protocol.name}, {format_duration(protocol.total_duration_s)})\n")
    if protocol.path is not None:
        out.write(f"  file: {protocol.path}\n")
    out.write("\n" + wrap.fill(protocol.description) + "\n")
    out.write(wrap.fill(f"Intended use: {protocol.intended_use}") + "\n")
    if protocol.safety_note:
        out.write(wrap.fill(f"Safety: {protocol.safety_note}") + "\n")
    out.write(f"  Feedback signal: {protocol.feedback_signal}\n")
    for i, (start_s, phase) in enumerate(zip(protocol.phase_starts_s, protocol.phases, strict=True)):
        flags = []
        if phase.baseline:
            flags.append("baseline")
        if phase.assessment_step:
            flags.append("assessment step")
        flags.append("feedback on" if protocol.shows_feedback(phase) else "feedback off")
        if phase.analysis_skip_s:
            flags.append(f"metrics skip first {format_number(phase.analysis_skip_s)} s")
        out.write(f"\n{i + 1}. {phase.title} [{phase.name}]  {format_duration(start_s)}-"
                  f"{format_duration(start_s + phase.duration_s)} ({format_duration(phase.duration_s)}); "
                  f"{', '.join(flags)}\n")
        if phase.pacer is not None:
            out.write(f"   pacer: {phase.pacer.describe(rate)}\n")
        else:
            out.write("   natural breathing (no pacer)\n")
        for cue in phase.cues:
            out.write(f"   {format_duration(cue.at_s):>5}  {cue.text}\n")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from biotrainer.core.errors import ProtocolError
    from biotrainer.protocols import format_duration, load_protocol
    from biotrainer.protocols.model import display_path

    failed = 0
    for path in args.paths:
        try:
            p = load_protocol(path)
        except ProtocolError as exc:
            failed += 1
            sys.stderr.write(f"{exc}\n")
            continue
        where = display_path(p.path) if p.path is not None else path
        sys.stdout.write(f"{where}: ok ({p.name}, {len(p.phases)} phase{'' if len(p.phases) == 1 else 's'}, "
                         f"{format_duration(p.total_duration_s)})\n")
    return 1 if failed else 0


def _schema(args: argparse.Namespace) -> int:
    from biotrainer.protocols.schema import describe_schema

    keys = describe_schema()
    if args.json:
        print_json(keys)
        return 0
    width = max(len(k["path"]) for k in keys)
    for k in keys:
        if k["required"]:
            need = "required"
        elif k["default"] is None or k["default"] == []:
            need = "optional"
        else:
            need = f"default {json.dumps(k['default'])}"
        sys.stdout.write(f"{k['path']:<{width}}  {k['expected']}; {need}\n")
        if k["doc"]:
            sys.stdout.write(f"{'':<{width}}    {k['doc']}\n")
    return 0
