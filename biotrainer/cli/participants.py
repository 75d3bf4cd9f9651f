"""``biotrainer participants``: the pseudonymous participants register of the library.

- ``biotrainer participants [list] [--json]``
- ``biotrainer participants add PSEUDONYM [--role self|client|therapist] [--notes TEXT]``
- ``biotrainer participants show PSEUDONYM [--json]`` (with the participant's sessions)
- ``biotrainer participants set PSEUDONYM [--role R] [--notes TEXT] [--resonance-rate PER_MIN [--session ID]]``
"""

from __future__ import annotations

import argparse
import sys

from biotrainer.cli.common import add_library_option, print_json
from biotrainer.core.events import PARTICIPANT_ROLES

DISPLAY_NAME_HELP = ("a name to show on this computer only (kept in the library's register, never written to "
                     "session files, exports or reports)")
DISPLAY_NAME_NOTE = ("note: the display name stays in this library's register; sessions, exports and reports "
                     "name this participant by pseudonym only")


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON")


def _library_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", metavar="DIR", default=argparse.SUPPRESS,
                   help="session library folder (default: $BIOTRAINER_LIBRARY or the per-user data folder)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "participants", help="list, add, show and edit participants (pseudonyms only)",
        description="Participants are identified by a pseudonym only; no real names are needed or stored.")
    add_library_option(parser)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(func=run, action="list")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")

    p = sub.add_parser("list", help="list participants (the default)")
    _json_flag(p)
    _library_flag(p)

    p = sub.add_parser("add", help="add a participant")
    p.add_argument("pseudonym", metavar="PSEUDONYM")
    p.add_argument("--role", choices=PARTICIPANT_ROLES, default="self", help="default: self")
    p.add_argument("--notes", default="", metavar="TEXT")
    p.add_argument("--display-name", default="", metavar="NAME", help=DISPLAY_NAME_HELP)
    _json_flag(p)
    _library_flag(p)

    p = sub.add_parser("show", help="show a participant and their sessions")
    p.add_argument("pseudonym", metavar="PSEUDONYM")
    _json_flag(p)
    _library_flag(p)

    p = sub.add_parser("set", aliases=["edit"], help="change role, notes or resonance rate (alias: edit)")
    p.add_argument("pseudonym", metavar="PSEUDONYM")
    p.add_argument("--role", choices=PARTICIPANT_ROLES)
    p.add_argument("--notes", metavar="TEXT")
    p.add_argument("--display-name", metavar="NAME", help=DISPLAY_NAME_HELP)
    p.add_argument("--resonance-rate", type=float, metavar="PER_MIN", help="personal resonance rate, breaths/min")
    p.add_argument("--session", metavar="ID", help="the assessment session the resonance rate comes from")
    _json_flag(p)
    _library_flag(p)


def _list(args: argparse.Namespace, lib) -> None:  # noqa: ANN001
    people = lib.participants.list()
    if args.json:
        print_json([p.to_dict() for p in people])
    elif not people:
        sys.stdout.write(f"no participants in {lib.root}\n")
    else:
        for p in people:
            rate = f"{p.resonance_rate_per_min:g}/min" if p.resonance_rate_per_min else "-"
            sys.stdout.write(f"{p.pseudonym:<20} {p.role:<10} resonance {rate:<9} {p.notes}\n")


def _add(args: argparse.Namespace, lib) -> None:  # noqa: ANN001
    p = lib.participants.add(args.pseudonym, role=args.role, notes=args.notes, display_name=args.display_name)
    if p.display_name:
        sys.stderr.write(DISPLAY_NAME_NOTE + "\n")
    _print(args, p.to_dict(), f"added {p.pseudonym} ({p.role})")


def _set(args: argparse.Namespace, lib) -> None:  # noqa: ANN001
    from biotrainer.core.errors import UsageError

    store = lib.participants
    if args.role is None and args.notes is None and args.resonance_rate is None and args.display_name is None:
        raise UsageError("participants set needs --role, --notes, --display-name and/or --resonance-rate")
    if args.session is not None and args.resonance_rate is None:
        raise UsageError("--session goes with --resonance-rate")
    p = store.get(args.pseudonym)
    if args.role is not None or args.notes is not None or args.display_name is not None:
        p = store.update(args.pseudonym, role=args.role, notes=args.notes, display_name=args.display_name)
        if args.display_name:
            sys.stderr.write(DISPLAY_NAME_NOTE + "\n")
    if args.resonance_rate is not None:
        session_id = None
        if args.session:
            with lib.open(args.session) as reader:
                session_id = reader.meta.id
        p = store.set_resonance_rate(args.pseudonym, args.resonance_rate, session_id=session_id)
    _print(args, p.to_dict(), f"updated {p.pseudonym}")


def _show(args: argparse.Namespace, lib) -> None:  # noqa: ANN001
    p = lib.participants.get(args.pseudonym)
    sessions = lib.list_sessions(participant=p.pseudonym)
    if args.json:
        print_json(p.to_dict() | {"sessions": [s.id for s in sessions]})
        return
    out = sys.stdout
    out.write(f"pseudonym  {p.pseudonym}\nrole       {p.role}\ncreated    {p.created_at}\n")
    if p.display_name:
        out.write(f"name       {p.display_name} (this computer only; never exported)\n")
    if p.resonance_rate_per_min:
        src = f", session {p.resonance_session_id}" if p.resonance_session_id else ""
        out.write(f"resonance  {p.resonance_rate_per_min:g}/min (assessed {p.resonance_assessed_at}{src})\n")
    else:
        out.write("resonance  not assessed\n")
    if p.notes:
        out.write(f"notes      {p.notes}\n")
    out.write(f"sessions   {len(sessions)}\n")
    for s in sessions:
        out.write(f"  {s.id}  {s.protocol or '-'}  {s.state}\n")


_ACTIONS = {"list": _list, "add": _add, "set": _set, "edit": _set, "show": _show}


def run(args: argparse.Namespace) -> int:
    from biotrainer.store import Library

    _ACTIONS[args.action or "list"](args, Library(args.library))
    return 0


def _print(args: argparse.Namespace, data: dict, text: str) -> None:
    if args.json:
        print_json(data)
    else:
        sys.stdout.write(text + "\n")
