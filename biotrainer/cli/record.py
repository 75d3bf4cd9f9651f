"""``biotrainer record``: run a session in the terminal and record it."""

from __future__ import annotations

import argparse
import math
import signal
import sys
from typing import Any

from biotrainer.cli.common import add_library_option, finish_command, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "record", help="run and record a session in the terminal",
        description="Run a (guided) session with a strap or the simulator, show a live status line, and record "
                    "everything to the library. Ctrl-C stops and saves cleanly.",
        epilog="Device specs: sim | sim:hr=70,ecg,acc,ectopic=2 | lsl:NAME | auto | ADDRESS | NAME, optionally "
               "prefixed with a role: client=sim. Repeat --device for several straps.")
    add_session_options(p)
    p.add_argument("--duration", type=float, metavar="S",
                   help="stop after S seconds (default: the protocol's length; without a protocol, until Ctrl-C)")
    p.add_argument("--title", default="", help="session title shown in the library")
    p.add_argument("--notes", default="", help="session notes")
    p.add_argument("--lsl", action="store_true", help="stream HR, RR, ECG, ACC and markers over Lab Streaming Layer")
    p.add_argument("--quiet", action="store_true", help="no live status line")
    finish_command(p, run, library=False)


def add_session_options(p: argparse.ArgumentParser, *, default_protocol: str | None = None) -> None:
    p.add_argument("--device", action="append", metavar="[ROLE=]SPEC",
                   help="sensor: sim[:options], lsl:NAME, auto, a BLE address or name (default: sim)")
    p.add_argument("--protocol", default=default_protocol, metavar="NAME|PATH",
                   help="guided protocol (see 'biotrainer protocols')")
    p.add_argument("--participant", action="append", metavar="[ROLE=]PSEUDONYM",
                   help="participant pseudonym (never a real name), e.g. P07 or client=P07")
    p.add_argument("--seed", type=int, help="random seed for simulated devices (reproducible sessions)")
    p.add_argument("--speed", default="1", metavar="X|max",
                   help="simulated devices only: run X times faster than real time, or 'max'")
    p.add_argument("--no-metrics", action="store_true", help="do not compute live metrics")
    p.add_argument("--lock-pacer", action="store_true",
                   help="therapist lock: an adaptive pacer (resonance-adaptive) keeps its starting rate")
    p.add_argument("--ble-backend", metavar="MODULE:FACTORY",
                   help="use another bleak backend (e.g. an emulated strap for development)")
    add_library_option(p)


def plan_from_args(args: argparse.Namespace, **overrides: Any):
    from biotrainer.wiring import SessionPlan, parse_device_specs, parse_participants, parse_speed

    devices = parse_device_specs(args.device)
    plan = SessionPlan(
        devices=devices, protocol=args.protocol, seed=args.seed,
        participants=parse_participants(args.participant, [d.role for d in devices]),
        duration_s=getattr(args, "duration", None), speed=parse_speed(args.speed), library=args.library,
        metrics=not args.no_metrics, lsl=getattr(args, "lsl", False), ble_backend=args.ble_backend,
        title=getattr(args, "title", ""), notes=getattr(args, "notes", ""),
        pacer_locked=getattr(args, "lock_pacer", False),
    )
    for key, value in overrides.items():
        setattr(plan, key, value)
    if plan.duration_s is not None and not (math.isfinite(plan.duration_s) and plan.duration_s > 0):
        from biotrainer.core.errors import UsageError

        raise UsageError(f"--duration {plan.duration_s:g}: expected a positive number of seconds")
    return plan


def run_plan(plan, *, as_json: bool, quiet: bool) -> int:
    """Build, run in this thread with a live terminal line, and report. Shared by ``record`` and ``demo``."""
    from biotrainer.cli.terminal_view import TerminalView
    from biotrainer.wiring import build_session

    session = build_session(plan)
    view = None
    if not quiet:
        view = TerminalView(sys.stderr, time_left_s=session.time_left_s)
        session.bus.subscribe(view)
    interrupts = {"n": 0}

    def on_signal(signum: int, frame: Any) -> None:
        interrupts["n"] += 1
        if interrupts["n"] > 1:
            raise KeyboardInterrupt
        session.stop("stopped by user")

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        if not quiet:
            who = ", ".join(f"{d.role}: {d.spec}" for d in plan.devices)
            proto = plan.protocol or "no protocol"
            print(f"Recording session {session.session_id} ({proto}; {who}). Ctrl-C stops and saves.",
                  file=sys.stderr)
        result = session.run()
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    summary = _summary(session, result)
    if as_json:
        print_json(summary)
    else:
        print(f"Session {summary['id']} saved: {summary['duration_s']:.0f} s, {summary['beats']} beats, "
              f"ended: {summary['end_reason']}.", file=sys.stderr)
        if summary.get("hint"):
            print(summary["hint"], file=sys.stderr)
        print(summary["id"])
    return 0


def _summary(session, result) -> dict[str, Any]:
    counts: dict[str, int] = {}
    if session.writer is not None and session.library is not None:
        try:
            with session.library.open(session.writer.path) as reader:
                counts = reader.counts()
        except Exception as exc:  # noqa: BLE001 - the summary must not hide that the session was saved
            counts = {"error": str(exc)}
    out: dict[str, Any] = {
        "id": session.session_id,
        "duration_s": round(result.end_t_s, 3),
        "end_reason": result.reason,
        "beats": counts.get("beat", 0),
        "events": counts,
        "protocol": session.plan.protocol,
        "participants": {d.role: session.plan.participants.get(d.role) for d in session.plan.devices},
        "library": str(session.library.root) if session.library is not None else None,
    }
    if result.listener_errors:
        out["listener_errors"] = result.listener_errors
    proto = session.protocol_runner.protocol if session.protocol_runner is not None else None
    if proto is not None and any(getattr(ph, "assessment_step", False) for ph in proto.phases):
        out["hint"] = (f"Resonance assessment recorded: see 'biotrainer assess {session.session_id}' "
                       f"(add --save to store the personal rate).")
    return out


def run(args: argparse.Namespace) -> int:
    plan = plan_from_args(args)
    if plan.speed is None and not plan.protocol and plan.duration_s is None \
            and all(d.kind == "sim" for d in plan.devices):  # (real straps: 'max' is refused anyway)
        from biotrainer.core.errors import UsageError

        raise UsageError("--speed max needs --duration S or --protocol NAME: without an end it would record "
                         "simulated hours per second until Ctrl-C")
    return run_plan(plan, as_json=args.json, quiet=args.quiet)
