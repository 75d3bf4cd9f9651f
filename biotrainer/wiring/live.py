"""Build a live session: sources, protocol runner, recorder, metrics and outlets over one bus.

Both the CLI (``record``, ``demo``) and the GUI call :func:`build_session`; neither wires components itself. What a
session runs is a :class:`~biotrainer.wiring.plan.SessionPlan`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from biotrainer.core.bus import Bus, Listener
from biotrainer.core.clock import Clock, RealClock, VirtualClock
from biotrainer.core.errors import UsageError
from biotrainer.core.session_runner import SessionResult, SessionRunner
from biotrainer.core.source import PushSource, ScheduledSource
from biotrainer.wiring.parts import attach_adaptive, attach_metrics, load_protocol, new_bus, protocol_runner
from biotrainer.wiring.plan import DeviceSpec, SessionPlan, check_plan, plan_participants

log = logging.getLogger(__name__)

Source = ScheduledSource | PushSource


@dataclass
class LiveSession:
    """A wired session, ready to :meth:`run` (blocking; on any thread)."""

    bus: Bus
    runner: SessionRunner
    clock: Clock
    sources: list[Source]
    protocol_runner: Any | None
    writer: Any | None
    library: Any | None
    plan: SessionPlan
    metrics_engine: Any | None = None

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
    """Create the bus, protocol runner, sources, recorder, metrics engine and outlets for ``plan``.

    Listeners are subscribed in this order: recorder, metrics engine, LSL outlets, then ``listeners``.

    Everything slow (connecting devices, loading the metrics modules) happens before the session clock is made and
    the session file created, so session time 0 and the start marker are the moment recording starts and
    ``--duration 40`` records 40 s. A failure (or Ctrl-C) after the file was created deletes it again: a session
    that never started leaves no file.
    """
    check_plan(plan)
    library = _open_library(plan)
    participants = _checked_participants(plan)
    protocol = load_protocol(plan.protocol)
    check_roles(plan, protocol)
    personal_rate = _personal_rate(library, participants[plan.devices[0].role]) if protocol is not None else None
    runner_of_protocol = protocol_runner(protocol, personal_rate)
    sources, device_meta = open_sources(plan, runner_of_protocol.pacer_at if runner_of_protocol else None)
    writer = None
    try:
        _preload(plan)
        if clock is None:
            clock = VirtualClock() if plan.speed is None else RealClock(speed=plan.speed)
        writer = _open_recorder(plan, library, participants, device_meta, protocol, personal_rate, clock)
        bus = new_bus([writer] if writer is not None else [])
        engine = attach_metrics(bus, protocol) if plan.metrics else None
        attach_adaptive(bus, runner_of_protocol, plan.devices[0].role)
        if plan.pacer_locked and runner_of_protocol is not None:
            runner_of_protocol.set_locked(0.0, True)
        if plan.attunement:
            from biotrainer.metrics.live_synchrony import LiveSynchrony

            bus.subscribe(LiveSynchrony(bus, seed=plan.seed or 0))
        if plan.lsl:
            bus.subscribe(_open_outlets(plan, device_meta, clock, writer))
        for listener in listeners:
            bus.subscribe(listener)
        runner = SessionRunner(bus, sources=sources, protocol=runner_of_protocol, clock=clock,
                               duration_s=plan.duration_s)
    except BaseException:
        if writer is not None:
            writer.discard()
        for src in sources:
            if isinstance(src, PushSource):
                src.stop()
        raise
    if writer is not None:  # a recorder that gave up on a failing disk ends the session (writer.failure says why)
        writer.on_failure = lambda message: runner.stop(writer.failure_reason or "write failed")
    return LiveSession(bus, runner, clock, sources, runner_of_protocol, writer, library, plan, engine)


def _checked_participants(plan: SessionPlan) -> dict[str, str]:
    """Role → pseudonym of the plan, each checked by the one pseudonym rule (no real names, no control
    characters), and the title and notes by the header rule, before anything slow happens."""
    from biotrainer.store.meta import validate_notes, validate_title
    from biotrainer.store.participants import validate_pseudonym

    validate_title(plan.title)
    validate_notes(plan.notes)
    return {role: validate_pseudonym(name, f"pseudonym of {role}") for role, name in plan_participants(plan).items()}


def _preload(plan: SessionPlan) -> None:
    """Import the slow modules the session needs before its clock starts."""
    if plan.metrics:
        import biotrainer.metrics.engine  # noqa: F401
    if plan.attunement:
        import biotrainer.metrics.live_synchrony  # noqa: F401
    if plan.lsl:
        import biotrainer.exchange.lsl_outlet  # noqa: F401


def _open_library(plan: SessionPlan) -> Any | None:
    """The library the session records to (and reads the personal rate from), if it needs one."""
    if not (plan.record or plan.protocol):
        return None
    from biotrainer.store import Library

    return Library(plan.library)


def _personal_rate(library: Any | None, pseudonym: str) -> float | None:
    """The guided participant's stored resonance rate, if any."""
    if library is None:
        return None
    found = library.participants.find(pseudonym)
    return getattr(found, "resonance_rate_per_min", None) if found is not None else None


def check_roles(plan: SessionPlan, protocol: Any | None) -> None:
    """A protocol made for certain participants (``roles = ["therapist", "client"]``) needs a device for each."""
    wanted = tuple(getattr(protocol, "roles", ()) or ())
    have = [d.role for d in plan.devices]
    if wanted and sorted(have) != sorted(wanted):
        devices = " ".join(f"--device {r}=..." for r in wanted)
        raise UsageError(f"protocol {protocol.name} is for {' and '.join(wanted)}, one strap each ({devices}); "
                         f"got devices for {', '.join(have)}")


def open_sources(plan: SessionPlan, pacer: Callable | None) -> tuple[list[Source], list[dict[str, Any]]]:
    """Open the plan's devices; returns the sources and their recorded device descriptions, in plan order.

    Straps named by address or name are claimed before ``auto``, so ``auto`` cannot take a strap asked for by
    name. When one device fails to open, the ones already open are stopped.
    """
    order = sorted(range(len(plan.devices)), key=lambda i: plan.devices[i].spec == "auto")
    made: dict[int, tuple[Source, dict[str, Any]]] = {}
    try:
        for index in order:
            made[index] = _make_source(plan.devices[index], index, plan, pacer)
        _link_simulated_dyads([src for src, _ in made.values()])
    except BaseException:
        for src, _ in made.values():
            if isinstance(src, PushSource):
                src.stop()
        raise
    return [made[i][0] for i in range(len(plan.devices))], [made[i][1] for i in range(len(plan.devices))]


def _open_recorder(plan: SessionPlan, library: Any | None, participants: dict[str, str],
                   device_meta: list[dict[str, Any]], protocol: Any | None, personal_rate: float | None,
                   clock: Clock) -> Any | None:
    """The session writer recording the run (None when not recording)."""
    if not plan.record or library is None:
        return None
    return library.new_session(
        participants=participants, devices=device_meta,
        protocol_name=protocol.name if protocol is not None else "",
        protocol_toml=protocol.text if protocol is not None else "",
        settings={"devices": [f"{d.role}={d.spec}" for d in plan.devices], "seed": plan.seed,
                  "speed": plan.speed, "duration_s": plan.duration_s,
                  "personal_rate_per_min": personal_rate, **plan.settings},
        notes=plan.notes, title=plan.title, synthetic=all(d.kind == "sim" for d in plan.devices),
        clock=clock)


def _open_outlets(plan: SessionPlan, device_meta: list[dict[str, Any]], clock: Clock, writer: Any | None) -> Any:
    """Lab Streaming Layer outlets for every device's streams and the markers."""
    from biotrainer.exchange.lsl_outlet import LslOutlets

    outlets = LslOutlets(now_s=clock.now_s, session_id=writer.meta.id if writer else "")
    for dev, meta in zip(plan.devices, device_meta, strict=True):
        outlets.declare(meta["id"], dev.role, kinds=meta.get("streams", ("hr", "rr")))
    return outlets


def _link_simulated_dyads(sources: list[Source]) -> None:
    """Simulated straps that follow another's heart-rate waves (``sim:follow=ROLE``) get them."""
    from biotrainer.sources.sim.dyad import link_dyads

    link_dyads(sources)


def _make_source(dev: DeviceSpec, index: int, plan: SessionPlan,
                 pacer: Callable | None) -> tuple[Source, dict[str, Any]]:
    if dev.kind == "sim":
        return _sim_source(dev, index, plan.seed, pacer)
    if dev.kind == "lsl":
        from biotrainer.sources.lsl_inlet import LslInletSource

        name = dev.spec[4:]
        if not name:
            raise UsageError("--device lsl:NAME needs the LSL stream name")
        return LslInletSource(name, participant=dev.role), {"id": dev.spec, "name": name, "model": "lsl",
                                                           "participant": dev.role}
    return _ble_source(dev, plan.ble_backend)


def _sim_source(dev: DeviceSpec, index: int, seed: int | None,
                pacer: Callable | None) -> tuple[Source, dict[str, Any]]:
    from biotrainer.sources.sim.strap import SimConfig, SimulatedStrap

    defaults: dict[str, Any] = {"participant": dev.role, "device": f"sim-{index + 1:04d}"}
    if seed is not None:
        defaults["seed"] = seed + index
    config = SimConfig.from_spec(dev.spec, **defaults)
    streams = ["hr", "rr"] + (["ecg"] if config.ecg else []) + (["acc"] if config.acc else [])
    meta = {"id": config.device, "name": "Simulated strap", "model": "simulator", "participant": dev.role,
            "spec": dev.spec, "streams": streams}
    return SimulatedStrap(config, pacer=pacer), meta


def _ble_source(dev: DeviceSpec, backend: str | None) -> tuple[Source, dict[str, Any]]:
    from biotrainer.sources.ble import open_device_source

    src = open_device_source(dev.spec, dev.role, backend)
    found = getattr(src, "found", None)
    profile = getattr(src, "profile", None)
    streams = ["hr", "rr"] + [s for s in ("ecg", "acc") if s in (getattr(profile, "pmd_streams", ()) or ())]
    return src, {"id": getattr(found, "address", dev.spec), "name": getattr(found, "name", dev.spec),
                 "model": getattr(found, "model", None) or getattr(profile, "model", "ble"), "participant": dev.role,
                 "spec": dev.spec, "streams": streams}
