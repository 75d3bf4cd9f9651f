"""Build a replay: a recorded session through a bus and a runner, as it was recorded.

``biotrainer replay`` and the GUI's replay screen both call :func:`build_replay`. The runner publishes the
recorded events at their recorded session times (:class:`~biotrainer.sources.replay.ReplaySource`), event for
event, on a :class:`~biotrainer.sources.replay.ReplayClock` (1×, N×, as fast as possible; pause, seek, speed). With
``metrics=True`` the metrics engine is set up as for the live session (:meth:`MetricsEngine.for_protocol` with the
recorded protocol).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from biotrainer.core.bus import Bus, Listener
from biotrainer.core.clock import Clock
from biotrainer.core.session_runner import SessionResult, SessionRunner
from biotrainer.sources.replay import ReplayClock, ReplaySource
from biotrainer.wiring.parts import attach_metrics, new_bus

log = logging.getLogger(__name__)


@dataclass
class Replay:
    """A wired replay, ready to :meth:`run` (blocking; on any thread)."""

    bus: Bus
    runner: SessionRunner
    clock: Clock
    source: ReplaySource
    protocol: Any | None = None
    metrics_engine: Any | None = None

    def run(self) -> SessionResult:
        return self.runner.run()

    def stop(self, reason: str = "stopped") -> None:
        self.runner.stop(reason)


def build_replay(reader: Any, *, speed: float | None = 1.0, start_s: float = 0.0, clock: Clock | None = None,
                 listeners: Sequence[Listener] = (), metrics: bool = False, stay_open: bool = False) -> Replay:
    """Wire a replay of the session ``reader`` reads.

    Parameters
    ----------
    reader : SessionReader
        The open recording (kept open by the caller until the run ends).
    speed : float or None
        Replay speed (None: as fast as possible), for the default :class:`ReplayClock`.
    start_s : float
        Session time to start at.
    clock : Clock, optional
        Another clock (e.g. a ``VirtualClock``); default a :class:`ReplayClock` anchored at the recording's anchor.
    listeners : sequence of callables
        Bus listeners, subscribed in order (after the metrics engine).
    metrics : bool
        Run the metrics engine on the replayed events, set up for the recorded protocol.
    stay_open : bool
        Keep the runner alive at the end of the recording (a screen that may seek back).

    Returns
    -------
    Replay
        The bus, runner, clock, source, recorded protocol and metrics engine (None without ``metrics``).
    """
    if clock is None:
        clock = ReplayClock(speed, start_s=start_s, anchor_unix_s=reader.meta.anchor_unix_s)
    source = ReplaySource(reader, start_s=start_s, stay_open=stay_open,
                          clock=clock if isinstance(clock, ReplayClock) else None)
    protocol = recorded_protocol(reader.meta.protocol_toml) if metrics else None
    bus = new_bus()
    engine = attach_metrics(bus, protocol) if metrics else None
    for listener in listeners:
        bus.subscribe(listener)
    runner = SessionRunner(bus, sources=[source], clock=clock)
    return Replay(bus, runner, clock, source, protocol, engine)


def recorded_protocol(text: str) -> Any | None:
    """The protocol a session recorded (its TOML text), or None when there is none or it cannot be read."""
    if not text:
        return None
    try:
        from biotrainer.protocols import parse_protocol

        return parse_protocol(text, where="<recorded protocol>")
    except Exception:  # noqa: BLE001 - replay with default metric settings
        log.warning("the recorded protocol cannot be read; replaying with default metric settings")
        return None
