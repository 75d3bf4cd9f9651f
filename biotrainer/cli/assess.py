"""``biotrainer assess ID``: resonance-frequency assessment report of a recorded session.

Reads the session's beats, pacer and phase markers, evaluates each assessment step (criteria table) and ranks them
(:mod:`biotrainer.metrics.resonance`). ``--save`` stores the pick as the participant's personal resonance rate in
the library's participants register.
"""

from __future__ import annotations

import argparse
from typing import Any

from biotrainer.cli.common import add_json_option, add_library_option, print_json
from biotrainer.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "assess", help="resonance-rate assessment report of a recorded session",
        description="Compare the paced steps of a resonance assessment session and pick the rate with the "
                    "largest, most regular heart-rate swing per breath. A practice and research tool, not a "
                    "medical device.")
    p.add_argument("session", metavar="ID", help="session id, unique id prefix, or path")
    p.add_argument("--participant", metavar="ROLE", help="whose beats to assess (default: the first with beats)")
    p.add_argument("--save", action="store_true",
                   help="store the pick as the participant's personal resonance rate")
    add_library_option(p)
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from biotrainer.metrics.resonance import assess_session
    from biotrainer.metrics.streams import streams_from_events
    from biotrainer.store import Library

    lib = Library(getattr(args, "library", None))
    with lib.open(args.session) as reader:
        events = list(reader.events())
        meta = reader.meta
    protocol = None
    if meta.protocol_toml:
        from biotrainer.errors import ProtocolError
        from biotrainer.protocols.model import parse_protocol

        try:
            protocol = parse_protocol(meta.protocol_toml, where=f"session {meta.id} protocol")
        except ProtocolError:
            protocol = None
    streams = streams_from_events(events, args.participant)
    if streams.rr_ms.size == 0:
        raise UsageError(f"session {meta.id}: no beats recorded")
    result = assess_session(streams, protocol)
    out: dict[str, Any] = {"session": meta.id, "protocol": meta.protocol_name, **result.to_dict()}
    role = args.participant or next((e.participant for e in events if e.KIND == "beat"), "self")
    pseudonym = meta.participants.get(role)
    out["participant"] = {"role": role, "pseudonym": pseudonym}
    if args.save:
        if result.pick_rate_per_min is None:
            raise UsageError(f"session {meta.id}: nothing to save: {result.reason}")
        if not pseudonym:
            raise UsageError(f"session {meta.id}: no pseudonym recorded for {role!r}; set it with "
                             f"'biotrainer participants set' instead")
        from biotrainer.metrics.resonance import store_pick

        store_pick(lib.participants, pseudonym, result, session_id=meta.id)
        out["saved"] = True
    if args.json:
        print_json(out)
        return 0
    print(f"session {meta.id} ({meta.protocol_name or 'no protocol'}), participant {pseudonym or role}")
    print(f"{'step':<12}{'rate':>6}{'P2T bpm':>9}{'phase°':>8}{'LF ms²':>9}{'smooth':>8}{'adh/min':>9}{'score':>7}")
    for s in result.steps:
        def f(v: Any, d: int = 1) -> str:
            return "—" if v is None else f"{v:.{d}f}"
        line = (f"{s.name:<12}{s.rate_per_min:>6g}{f(s.p2t_bpm):>9}{f(s.phase_deg, 0):>8}{f(s.lf_ms2, 0):>9}"
                f"{f(s.smoothness, 2):>8}{f(s.adherence_per_min, 2):>9}{f(s.score, 2):>7}")
        if not s.included:
            line += f"  excluded: {s.excluded_because}"
        print(line)
    if result.pick_rate_per_min is None:
        print(f"no pick: {result.reason}")
    else:
        print(f"resonance rate pick: {result.pick_rate_per_min:g} breaths/min"
              + (" (saved)" if out.get("saved") else " (use --save to store it)"))
    return 0
