"""What a user chooses before a session: the devices, participants and options of a :class:`SessionPlan`.

Device specs (``--device``, repeatable, optionally prefixed with the participant role ``ROLE=``):

- ``sim`` or ``sim:KEY=VALUE,...`` — the simulated strap (see :meth:`SimConfig.from_spec`);
- ``lsl:NAME`` — a Lab Streaming Layer stream from another lab tool;
- ``auto``, a Bluetooth address, or a strap name — a real BLE strap with the Heart Rate Service.

Examples: ``--device sim``, ``--device client=sim:hr=80 --device therapist=sim:hr=62``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from biotrainer.core.errors import UsageError
from biotrainer.core.events import PARTICIPANT_ROLES, SELF


@dataclass(frozen=True)
class DeviceSpec:
    role: str
    spec: str

    @property
    def kind(self) -> str:
        if self.spec == "sim" or self.spec.startswith("sim:"):
            return "sim"
        if self.spec.startswith("lsl:"):
            return "lsl"
        return "ble"


def parse_device_specs(values: Sequence[str] | None, default_role: str = SELF) -> list[DeviceSpec]:
    """Parse ``[ROLE=]SPEC`` strings; roles must be distinct. Raises UsageError with the bad value."""
    specs: list[DeviceSpec] = []
    for raw in values or ["sim"]:
        role, spec = default_role, raw.strip()
        head, sep, rest = raw.partition("=")
        if sep and head in PARTICIPANT_ROLES:
            role, spec = head, rest.strip()
        if not spec:
            raise UsageError(f"--device {raw!r}: nothing after the role")
        specs.append(DeviceSpec(role, spec))
    roles = [s.role for s in specs]
    if len(set(roles)) != len(roles):
        raise UsageError("each --device needs its own participant role, e.g. --device client=sim "
                         "--device therapist=sim")
    return specs


def parse_participants(values: Sequence[str] | None, roles: Iterable[str]) -> dict[str, str]:
    """``--participant P07`` (for the first role) or ``--participant client=P07`` → role → pseudonym."""
    roles = list(roles)
    out: dict[str, str] = {}
    for raw in values or []:
        head, sep, rest = raw.partition("=")
        if sep and head in PARTICIPANT_ROLES:
            role, name = head, rest.strip()
            if role not in roles:  # would be silently dropped: nobody wears a strap in that role
                raise UsageError(f"--participant {raw}: no --device for role {role!r} (devices: {', '.join(roles)}); "
                                 f"e.g. --device {role}=sim")
        else:
            role, name = roles[0], raw.strip()
        if role in out:
            raise UsageError(f"--participant: two pseudonyms for role {role} ({out[role]!r} and {name!r}); "
                             f"use ROLE=PSEUDONYM, one per --device")
        out[role] = name
    for role, name in out.items():
        if not name:
            raise UsageError(f"--participant: empty pseudonym for role {role}")
    return out


@dataclass
class SessionPlan:
    """Everything a user chooses before a session starts."""

    devices: list[DeviceSpec] = field(default_factory=lambda: [DeviceSpec(SELF, "sim")])
    protocol: str | None = None
    participants: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    duration_s: float | None = None
    speed: float | None = 1.0  # None: as fast as possible (simulated devices only)
    library: str | None = None
    record: bool = True
    metrics: bool = True
    lsl: bool = False
    attunement: bool = False  # live therapist–client synchrony (opt-in; needs a therapist and a client device)
    ble_backend: str | None = None
    title: str = ""
    notes: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    pacer_locked: bool = False  # the therapist's lock on an adaptive pacer from the start (ProtocolRunner.set_locked)


def check_plan(plan: SessionPlan) -> None:
    """Refuse a plan that cannot run; give simulated devices a seed (recorded, so the run is reproducible)."""
    roles = {d.role for d in plan.devices}
    if plan.attunement and not {"therapist", "client"} <= roles:
        raise UsageError("--attunement needs a therapist and a client: --device therapist=... --device client=...")
    if plan.speed != 1.0 and any(d.kind != "sim" for d in plan.devices):
        what = "--speed max" if plan.speed is None else "--speed"
        raise UsageError(f"{what} only works with simulated devices: a real strap streams in real time")
    if plan.seed is None and any(d.kind == "sim" for d in plan.devices):
        import secrets

        plan.seed = secrets.randbelow(2**31)


def default_pseudonym(role: str) -> str:
    """The pseudonym of a role nobody named (``self`` → ``me``)."""
    return {"self": "me", "client": "client", "therapist": "therapist"}.get(role, role)


def plan_participants(plan: SessionPlan) -> dict[str, str]:
    """Role → pseudonym for every device of ``plan`` (named ones as given, the others by default)."""
    return {d.role: plan.participants.get(d.role, default_pseudonym(d.role)) for d in plan.devices}
