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
    p.add_argument("--intention", default="", metavar="TEXT", help="an optional one-line intention for the session")
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
                   help="therapist lock: an adaptive pacer (resonance-adaptive) keeps its starting rate; "
                        "while it runs, the key l locks or unlocks it")
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
    check_plan_inputs(plan)
    return plan


MAX_SEED = 2**32 - 1
MAX_PROTOCOL_BYTES = 1_000_000


def check_plan_inputs(plan: Any) -> None:
    """Option values that would fail late (or never end) are refused first: duration, seed, the protocol file,
    title and notes (the store's rule)."""
    from pathlib import Path

    from biotrainer.core.errors import UsageError
    from biotrainer.store.meta import validate_notes, validate_title

    if plan.duration_s is not None and not (math.isfinite(plan.duration_s) and plan.duration_s > 0):
        raise UsageError(f"--duration {plan.duration_s:g}: expected a positive number of seconds")
    if plan.seed is not None and not (0 <= plan.seed <= MAX_SEED):
        raise UsageError(f"--seed {plan.seed}: expected a whole number from 0 to {MAX_SEED}")
    if isinstance(plan.protocol, str) and Path(plan.protocol).exists():
        path = Path(plan.protocol)
        if not path.is_file():
            raise UsageError(f"--protocol {path}: not a regular file (a folder, pipe or device); give a .toml file "
                             f"or a protocol name")
        if path.stat().st_size > MAX_PROTOCOL_BYTES:
            raise UsageError(f"--protocol {path}: {path.stat().st_size} bytes is not a protocol file (at most "
                             f"{MAX_PROTOCOL_BYTES})")
    validate_title(plan.title)
    validate_notes(plan.notes)


def run_plan(plan, *, as_json: bool, quiet: bool, intention: str = "") -> int:
    """Build, run in this thread with a live terminal line, and report. Shared by ``record``, ``demo`` and
    ``reset``; ``intention`` (the optional one-line intention) is stored with the saved session.

    Ctrl-C and SIGTERM are caught from the start: while the session is being built (devices connecting, modules
    loading) they end the command with one line and no session file; once it records, the first stops and saves
    the session, a second one interrupts the saving (the file stays readable, marked incomplete)."""
    state: dict[str, Any] = {"session": None, "signals": 0}

    def on_signal(signum: int, frame: Any) -> None:
        state["signals"] += 1
        if state["session"] is None or state["signals"] > 1:
            raise KeyboardInterrupt
        state["session"].stop("stopped by user")

    restore = _install_signal_handlers(on_signal)
    keys_off = None
    try:
        session = _start(plan, quiet, state)
        if not quiet and session.protocol_runner is not None:
            from biotrainer.cli.breath_count_keys import start_key_reader

            keys_off = start_key_reader(session)  # breath counting and the pacer lock: keys from the terminal
        result = session.run()
    finally:
        restore()
        if keys_off is not None:
            keys_off()
    return _report(session, result, as_json, quiet, intention)


def _install_signal_handlers(handler: Any) -> Any:
    """SIGINT and SIGTERM → ``handler`` (main thread only); returns the function that restores the old ones."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, previous in old.items():
            signal.signal(sig, previous)

    return restore


def _start(plan, quiet: bool, state: dict[str, Any]):
    """Build the session and attach the terminal line; an interruption before it records leaves no file."""
    from biotrainer.wiring import build_session

    session = build_session(plan)
    try:
        if not quiet:
            from biotrainer.cli.terminal_view import TerminalView

            session.bus.subscribe(TerminalView(sys.stderr, time_left_s=session.time_left_s))
            who = ", ".join(f"{d.role}: {d.spec}" for d in plan.devices)
            proto = plan.protocol or "no protocol"
            print(f"Recording session {session.session_id} ({proto}; {who}). Ctrl-C stops and saves.",
                  file=sys.stderr)
        state["session"] = session
    except BaseException:
        if session.writer is not None:
            session.writer.discard()
        raise
    return session


def _report(session, result, as_json: bool, quiet: bool, intention: str) -> int:
    """Print what the file holds (then the summary in words and the optional self-report); a recorder that gave
    up (full disk) makes the command fail."""
    summary = _summary(session, result)
    failure = getattr(session.writer, "failure", None)
    if intention.strip() and session.library is not None and session.writer is not None and not failure:
        session.library.set_reflection(summary["id"], intention=intention)
    if as_json:
        print_json(summary)
    elif failure:
        print(f"Session {summary['id']} INCOMPLETE: {summary['duration_s']:.0f} s, {summary['beats']} beats saved.",
              file=sys.stderr)
    else:
        print(f"Session {summary['id']} saved: {summary['duration_s']:.0f} s, {summary['beats']} beats, "
              f"ended: {summary['end_reason']}.", file=sys.stderr)
        if summary.get("hint"):
            print(summary["hint"], file=sys.stderr)
        if not quiet and session.library is not None and summary["beats"]:
            from biotrainer.cli.session_summary import ask_self_report, print_summary

            if print_summary(session.library, summary["id"]):
                ask_self_report(session.library, summary["id"])
    if not as_json:
        print(summary["id"])
    if failure:
        print(f"biotrainer: error: {failure}", file=sys.stderr)
        return 1
    return 0


def _summary(session, result) -> dict[str, Any]:
    """The run as the file holds it: the duration and counts are read back, never taken from the run."""
    counts: dict[str, int] = {}
    duration_s = 0.0 if session.writer is not None else result.end_t_s
    if session.writer is not None and session.library is not None:
        try:
            with session.library.open(session.writer.path) as reader:
                counts = reader.counts()
                duration_s = reader.duration_s
        except Exception as exc:  # noqa: BLE001 - the summary must not hide that the session was saved
            counts = {"error": str(exc)}
    out: dict[str, Any] = {
        "id": session.session_id,
        "duration_s": round(duration_s, 3),
        "end_reason": result.reason,
        "beats": counts.get("beat", 0),
        "events": counts,
        "protocol": session.plan.protocol,
        "participants": {d.role: session.plan.participants.get(d.role) for d in session.plan.devices},
        "library": str(session.library.root) if session.library is not None else None,
    }
    failure = getattr(session.writer, "failure", None)
    if failure:
        out["complete"] = False
        out["error"] = failure
        out["events_lost"] = session.writer.events_lost
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
    return run_plan(plan, as_json=args.json, quiet=args.quiet, intention=args.intention)
