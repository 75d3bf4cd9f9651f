"""``biotrainer compare``: phases within a session, sessions against each other, and trends."""

from __future__ import annotations

import argparse

from biotrainer.cli.common import add_json_option, add_library_option, print_json


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
    add_library_option(p)
    add_json_option(p)
    p.set_defaults(func=run)


def resolve_refs(library, ids: list[str], participant: str | None, protocol: str | None) -> list[str]:
    """Session ids to compare: the given ones, or a participant's (and protocol's) sessions oldest first."""
    from biotrainer.errors import UsageError

    if ids:
        return ids
    if not participant:
        raise UsageError("give session ids, or --participant P for all sessions of a participant"
                         + (" (--protocol only narrows those down)" if protocol else ""))
    refs = [s.id for s in library.list_sessions(participant=participant)
            if not getattr(s, "error", None) and (protocol is None or s.protocol == protocol)]
    if not refs:
        raise UsageError(f"no sessions of participant {participant!r}"
                         + (f" with protocol {protocol!r}" if protocol else "") + f" in library {library.root}")
    return refs


def run(args: argparse.Namespace) -> int:
    from biotrainer.analysis.compare import compare, format_text
    from biotrainer.exchange.library import load_session
    from biotrainer.store import Library

    library = Library(args.library)
    refs = resolve_refs(library, list(args.sessions), args.participant, args.protocol)
    sessions = [load_session(library, ref) for ref in refs]
    result = compare(sessions, by=args.by, participant=args.participant)
    if args.json:
        print_json(result)
    else:
        print(format_text(result))
    return 0
