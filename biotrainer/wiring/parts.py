"""The pieces every kind of run is assembled from: the bus with its listeners, the protocol runner, the metrics
engine. :mod:`~biotrainer.wiring.live`, :mod:`~biotrainer.wiring.replay` and :mod:`~biotrainer.wiring.simulate`
build their runs from these, so a live session, its replay and a simulated run are wired the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from biotrainer.core.bus import Bus, Listener


def new_bus(listeners: Iterable[Listener] = ()) -> Bus:
    """A bus with ``listeners`` subscribed in order."""
    bus = Bus()
    for listener in listeners:
        bus.subscribe(listener)
    return bus


def load_protocol(protocol: str | Any | None) -> Any | None:
    """A protocol from a name or path (a loaded :class:`~biotrainer.protocols.Protocol` is returned as is)."""
    if protocol is None or not isinstance(protocol, str):
        return protocol
    from biotrainer.protocols import load_protocol as load

    return load(protocol)


def protocol_runner(protocol: Any | None, personal_rate_per_min: float | None = None) -> Any | None:
    """The :class:`~biotrainer.protocols.ProtocolRunner` for a loaded protocol, or None without one."""
    if protocol is None:
        return None
    from biotrainer.protocols import ProtocolRunner

    return ProtocolRunner(protocol, personal_rate_per_min=personal_rate_per_min)


def attach_metrics(bus: Bus, protocol: Any | None) -> Any:
    """Subscribe the metrics engine for ``protocol`` (:meth:`MetricsEngine.for_protocol`, the one engine rule) to
    ``bus``; returns the engine."""
    from biotrainer.metrics.engine import MetricsEngine

    engine = MetricsEngine.for_protocol(bus, protocol)
    bus.subscribe(engine)
    return engine


def attach_adaptive(bus: Bus, runner: Any | None, participant: str | None = None) -> Any | None:
    """Subscribe the closed-loop pacer (:class:`~biotrainer.metrics.adaptive_pacer.AdaptivePacer`) when the
    protocol has an adaptive phase; ``participant`` is whose breathing drives it. Returns it, or None."""
    if runner is None or not getattr(runner, "has_adaptive_phase", False):
        return None
    from biotrainer.metrics.adaptive_pacer import AdaptivePacer

    controller = AdaptivePacer(runner, participant)
    bus.subscribe(controller)
    return controller
