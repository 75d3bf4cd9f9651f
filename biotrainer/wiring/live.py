"""The one place that builds and wires a session: sources, protocol runner, recorder, metrics, outlets.

Both the CLI (``record``, ``demo``) and the GUI call :func:`build_session`; neither wires components itself.

Device specs (``--device``, repeatable, optionally prefixed with the participant role ``ROLE=``):

- ``sim`` or ``sim:KEY=VALUE,...`` — the simulated strap (see :meth:`SimConfig.from_spec`);
- ``lsl:NAME`` — a Lab Streaming Layer stream from another lab tool;
- ``auto``, a Bluetooth address, or a strap name — a real BLE strap with the Heart Rate Service.

Examples: ``--device sim``, ``--device client=sim:hr=80 --device therapist=sim:hr=62``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from biotrainer.bus import Bus, Listener
from biotrainer.clock import Clock, RealClock, VirtualClock
from biotrainer.errors import UsageError
from biotrainer.events import PARTICIPANT_ROLES, SELF
from biotrainer.session_runner import SessionResult, SessionRunner
from biotrainer.sources.base import PushSource, ScheduledSource

log = logging.getLogger(__name__)


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


def parse_speed(value: str | float | None) -> float | None:
    """``1``, ``4``, ``0.5`` → factor; ``max`` → None (as fast as possible)."""
    if value is None:
        return 1.0
    if isinstance(value, str) and value.strip().lower() in ("max", "fast", "inf"):
        return None
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"--speed {value!r}: expected a positive number or 'max'") from None
    if not speed > 0:
        raise UsageError(f"--speed {value!r}: expected a positive number or 'max'")
    return speed


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
    ble_backend: str | None = None
    title: str = ""
    notes: str = ""
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class LiveSession:
    """A wired session, ready to :meth:`run` (blocking; on any thread)."""

    bus: Bus
    runner: SessionRunner
    clock: Clock
    sources: list[ScheduledSource | PushSource]
    protocol_runner: Any | None
    writer: Any | None
    library: Any | None
    plan: SessionPlan
    metrics_engine: Any | None = None
    personal_rate_per_min: float | None = None

    @property
    def session_id(self) -> str | None:
        return self.writer.meta.id if self.writer is not None else None

    def run(self) -> SessionResult:
        return self.runner.run()

    def stop(self, reason: str = "stopped") -> None:
        self.runner.stop(reason)

    def pause(self) -> None:
        self.runner.pause()

    def resume(self) -> None:
        self.runner.resume()

    def annotate(self, text: str = "", author: str = "") -> None:
        self.runner.annotate(text, author)

    def time_left_s(self, t_s: float) -> float | None:
        if self.protocol_runner is not None:
            return self.protocol_runner.time_left_s(t_s)
        if self.plan.duration_s is not None:
            return max(0.0, self.plan.duration_s - t_s)
        return None


def build_session(plan: SessionPlan, listeners: Sequence[Listener] = (),
                  clock: Clock | None = None) -> LiveSession:
    """Create the bus, protocol runner, sources, recorder, metrics engine and outlets for ``plan``."""
    from biotrainer.store import Library

    if plan.speed != 1.0 and any(d.kind != "sim" for d in plan.devices):
        what = "--speed max" if plan.speed is None else "--speed"
        raise UsageError(f"{what} only works with simulated devices: a real strap streams in real time")
    if plan.seed is None and any(d.kind == "sim" for d in plan.devices):
        import secrets

        plan.seed = secrets.randbelow(2**31)  # recorded in the session settings, so the run is reproducible
    if clock is None:
        clock = VirtualClock() if plan.speed is None else RealClock(speed=plan.speed)
    library = Library(plan.library) if plan.record or plan.protocol else None
    participants = {d.role: plan.participants.get(d.role, _default_pseudonym(d.role)) for d in plan.devices}
    guided_role = plan.devices[0].role

    protocol = protocol_runner = None
    personal_rate = None
    if plan.protocol:
        from biotrainer.protocols import ProtocolRunner, load_protocol

        protocol = load_protocol(plan.protocol)
        if library is not None:
            found = library.participants.find(participants[guided_role])
            personal_rate = getattr(found, "resonance_rate_per_min", None) if found is not None else None
        protocol_runner = ProtocolRunner(protocol, personal_rate_per_min=personal_rate)

    pacer: Callable | None = protocol_runner.pacer_at if protocol_runner is not None else None
    # Straps named by address or name are claimed before 'auto', so 'auto' cannot take a strap asked for by name.
    order = sorted(range(len(plan.devices)), key=lambda i: plan.devices[i].spec == "auto")
    made: dict[int, tuple[ScheduledSource | PushSource, dict[str, Any]]] = {}
    try:
        for index in order:
            made[index] = _make_source(plan.devices[index], index, plan, pacer)
    except BaseException:
        for src, _ in made.values():
            if isinstance(src, PushSource):
                src.stop()
        raise
    sources = [made[i][0] for i in range(len(plan.devices))]
    device_meta = [made[i][1] for i in range(len(plan.devices))]

    bus = Bus()
    writer = None
    if plan.record and library is not None:
        writer = library.new_session(
            participants=participants, devices=device_meta,
            protocol_name=protocol.name if protocol is not None else "",
            protocol_toml=protocol.text if protocol is not None else "",
            settings={"devices": [f"{d.role}={d.spec}" for d in plan.devices], "seed": plan.seed,
                      "speed": plan.speed, "duration_s": plan.duration_s,
                      "personal_rate_per_min": personal_rate, **plan.settings},
            notes=plan.notes, title=plan.title, synthetic=all(d.kind == "sim" for d in plan.devices),
            clock=clock)
        bus.subscribe(writer)

    engine = None
    if plan.metrics:
        engine = make_metrics_engine(bus, protocol)
    if plan.lsl:
        from biotrainer.exchange.lsl_outlet import LslOutlets

        outlets = LslOutlets(now_s=clock.now_s, session_id=writer.meta.id if writer else "")
        for dev, meta in zip(plan.devices, device_meta, strict=True):
            outlets.declare(meta["id"], dev.role, kinds=meta.get("streams", ("hr", "rr")))
        bus.subscribe(outlets)
    for listener in listeners:
        bus.subscribe(listener)

    runner = SessionRunner(bus, sources=sources, protocol=protocol_runner, clock=clock,
                           duration_s=plan.duration_s)
    return LiveSession(bus, runner, clock, sources, protocol_runner, writer, library, plan, engine, personal_rate)


def _default_pseudonym(role: str) -> str:
    return {"self": "me", "client": "client", "therapist": "therapist"}.get(role, role)


def _make_source(dev: DeviceSpec, index: int, plan: SessionPlan,
                 pacer: Callable | None) -> tuple[ScheduledSource | PushSource, dict[str, Any]]:
    if dev.kind == "sim":
        from biotrainer.sources.sim.strap import SimConfig, SimulatedStrap

        defaults: dict[str, Any] = {"participant": dev.role, "device": f"sim-{index + 1:04d}"}
        if plan.seed is not None:
            defaults["seed"] = plan.seed + index
        config = SimConfig.from_spec(dev.spec, **defaults)
        streams = ["hr", "rr"] + (["ecg"] if config.ecg else []) + (["acc"] if config.acc else [])
        meta = {"id": config.device, "name": "Simulated strap", "model": "simulator", "participant": dev.role,
                "spec": dev.spec, "streams": streams}
        return SimulatedStrap(config, pacer=pacer), meta
    if dev.kind == "lsl":
        from biotrainer.sources.lsl_inlet import LslInletSource

        name = dev.spec[4:]
        if not name:
            raise UsageError("--device lsl:NAME needs the LSL stream name")
        return LslInletSource(name, participant=dev.role), {"id": dev.spec, "name": name, "model": "lsl",
                                                           "participant": dev.role}
    from biotrainer.sources.ble import open_device_source

    src = open_device_source(dev.spec, dev.role, plan.ble_backend)
    found = getattr(src, "found", None)
    profile = getattr(src, "profile", None)
    streams = ["hr", "rr"] + [s for s in ("ecg", "acc") if s in (getattr(profile, "pmd_streams", ()) or ())]
    return src, {"id": getattr(found, "address", dev.spec), "name": getattr(found, "name", dev.spec),
                 "model": getattr(found, "model", None) or getattr(profile, "model", "ble"), "participant": dev.role,
                 "spec": dev.spec, "streams": streams}


def make_metrics_engine(bus: Bus, protocol: Any) -> Any:
    """The live metrics engine, set up for the protocol's feedback signal and baseline phase."""
    from biotrainer.metrics.engine import MetricsEngine

    signal = "rsa_vs_baseline"
    baselines: tuple[str, ...] = ("baseline",)
    if protocol is not None:
        signal = protocol.feedback_signal
        if protocol.baseline_phase is not None:
            baselines = (protocol.baseline_phase.name,)
    engine = MetricsEngine(bus, feedback_signal=signal, baseline_phases=baselines)
    bus.subscribe(engine)
    return engine
