"""Run a simulated session (simulated strap + optional protocol) as fast as possible and collect its events.

Used by the metrics tests and benchmark to get realistic event streams with ground truth; the same pieces as a
real session (:mod:`biotrainer.wiring.parts`; ``SessionRunner`` on a ``VirtualClock``), so markers and beats
interleave as they would live.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from biotrainer.core.clock import VirtualClock
from biotrainer.core.events import Event
from biotrainer.core.session_runner import SessionRunner
from biotrainer.wiring.parts import attach_adaptive, load_protocol, new_bus, protocol_runner


def run_simulated_session(config: Any = None, *, protocol: str | Any | None = None, duration_s: float | None = None,
                          personal_rate_per_min: float | None = None,
                          listeners: tuple[Callable[[Event], None], ...] = ()) -> tuple[list[Event], Any]:
    """Simulate a session; returns ``(events, truth)``.

    Parameters
    ----------
    config : SimConfig or list of SimConfig, optional
        The simulated strap(s) (default ``SimConfig()``); with a list, ``truth`` is a list too.
    protocol : str or Protocol, optional
        A protocol name/path or loaded protocol; it drives the strap's pacer and emits its markers.
    duration_s : float, optional
        Stop time; default: the protocol's end (required without a protocol).
    personal_rate_per_min : float, optional
        For protocols using the personal rate.
    listeners : tuple of callables
        Extra bus listeners (e.g. a :class:`~biotrainer.metrics.engine.MetricsEngine`) subscribed after the collector.
    """
    from biotrainer.sources.sim.dyad import link_dyads
    from biotrainer.sources.sim.strap import SimConfig, SimulatedStrap

    runner = protocol_runner(load_protocol(protocol), personal_rate_per_min)
    if duration_s is None and runner is not None:
        duration_s = runner.total_duration_s
    if duration_s is None:
        raise ValueError("duration_s is needed without a protocol")
    configs = list(config) if isinstance(config, (list, tuple)) else [config or SimConfig()]
    pacer = runner.pacer_at if runner is not None else None
    straps = [SimulatedStrap(c, pacer) for c in configs]
    link_dyads(straps)
    events: list[Event] = []
    bus = new_bus([events.append, *listeners])
    attach_adaptive(bus, runner, configs[0].participant)
    SessionRunner(bus, sources=straps, protocol=runner, clock=VirtualClock(anchor_unix_s=0.0),
                  duration_s=duration_s, tick_s=0.5).run()
    truths = [s.truth.until(duration_s) for s in straps]
    return events, (truths if len(truths) > 1 else truths[0])
