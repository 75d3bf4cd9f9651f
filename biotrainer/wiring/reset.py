"""The three-minute reset before a client, in one step: the shipped ``reset`` protocol with the strap (and the
person) of the newest recorded session, tagged with an optional "before client" label (``biotrainer reset``, the
window's Reset action)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biotrainer.core.errors import UsageError

RESET_PROTOCOL = "reset"
#: The ``settings`` key of the "before client" label.
BEFORE_KEY = "before_client"


@dataclass(frozen=True)
class LastStrap:
    """The strap of the newest session that had one: its device spec, the wearer's role and pseudonym."""

    spec: str
    role: str
    pseudonym: str
    session_id: str


def last_strap(library: Any) -> LastStrap | None:
    """The strap of the newest readable session of ``library`` (the ``self`` or ``therapist`` wearer's when the
    session had several), None when no session names a device."""
    from biotrainer.store import SessionReader

    for summary in reversed(library.list_sessions()):
        if summary.error:
            continue
        with SessionReader(summary.path) as reader:
            devices = list(reader.meta.devices)
            people = dict(reader.meta.participants)
        for wanted in ("self", "therapist", None):
            dev = next((d for d in devices if wanted is None or d.get("participant") == wanted), None)
            spec = str((dev or {}).get("spec") or (dev or {}).get("id") or "")
            if spec:
                role = str(dev.get("participant") or "self")
                return LastStrap(spec=spec, role=role, pseudonym=str(people.get(role) or role),
                                 session_id=summary.id)
    return None


def reset_title(before: str) -> str:
    """The session title of a reset: ``Reset before C07`` (``Reset`` without a label)."""
    from biotrainer.analysis.trend import BEFORE_TITLE  # the practice calendar counts these

    return f"{BEFORE_TITLE}{before}" if before else "Reset"


def reset_plan(library: Any, *, device: str | None = None, participant: str | None = None, before: str = "",
               **plan: Any) -> Any:
    """The :class:`~biotrainer.wiring.plan.SessionPlan` of a reset: ``device`` or the last strap, ``participant``
    or the last strap's wearer, the label in the title and ``settings``.

    Raises
    ------
    UsageError
        No device given and no session names one yet.
    """
    from biotrainer.wiring.plan import DeviceSpec, SessionPlan

    before = before.strip()
    if len(before) > 60 or "\n" in before:
        raise UsageError("--before: a short label on one line (a pseudonym such as C07, never a real name)")
    last = last_strap(library) if device is None else None
    if device is None and last is None:
        raise UsageError(f"no strap used yet in library {library.root}: give --device ADDRESS (or --device sim "
                         "to try the reset with the simulator)")
    spec = device or last.spec  # type: ignore[union-attr]
    who = participant or (last.pseudonym if last is not None else "me")
    return SessionPlan(devices=[DeviceSpec("self", spec)], protocol=RESET_PROTOCOL, participants={"self": who},
                       library=str(library.root), title=reset_title(before),
                       settings={BEFORE_KEY: before} if before else {}, **plan)
