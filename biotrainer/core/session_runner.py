"""The session runner: wires sources, the protocol runner and listeners over one bus.

One loop, on whichever thread calls :meth:`SessionRunner.run` (the CLI's main thread, or a worker thread under the
GUI). Each tick it asks every scheduled source (simulator, replay, protocol runner) for the events due by the
clock, drains events pushed by device sources (BLE, LSL), merges them in time order, publishes them, then lets
listeners ``tick`` (the recorder commits there). Control calls (:meth:`pause`, :meth:`annotate`, :meth:`stop`)
are thread-safe: they are queued and applied by the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from biotrainer.core.bus import Bus
from biotrainer.core.clock import Clock, RealClock
from biotrainer.core.events import SESSION, Annotation, Event, SessionState
from biotrainer.core.source import EventQueue, PushSource, ScheduledSource

log = logging.getLogger(__name__)

DEFAULT_TICK_S = 0.05


@dataclass
class SessionResult:
    """How a run ended."""

    end_t_s: float
    reason: str  # "protocol finished", "duration reached", "stopped", "sources finished", "interrupted"
    events_published: int
    listener_errors: dict[str, int] = field(default_factory=dict)


class SessionRunner:
    """Run one session.

    ``protocol`` is a scheduled source with ``pause(t_s)``/``resume(t_s)`` (see :mod:`biotrainer.protocols`);
    the session ends when it is finished, when ``duration_s`` is reached, when every scheduled source is finished
    (replay), or on :meth:`stop`.
    """

    def __init__(self, bus: Bus, *, sources: Sequence[ScheduledSource | PushSource] = (),
                 protocol: ScheduledSource | None = None, clock: Clock | None = None,
                 duration_s: float | None = None, tick_s: float = DEFAULT_TICK_S) -> None:
        self.bus = bus
        self.scheduled = [s for s in sources if isinstance(s, ScheduledSource)]
        self.pushed = [s for s in sources if isinstance(s, PushSource)]
        self.protocol = protocol
        self.clock = clock or RealClock()
        self.duration_s = duration_s
        self.tick_s = tick_s
        self._queue = EventQueue()
        self._controls: EventQueue = EventQueue()
        self._stop_requested = threading.Event()
        self._stop_reason = "stopped"
        self.paused = False
        self.running = False
        self.t_s = 0.0

    # --- thread-safe controls ---------------------------------------------------------------------------------

    def stop(self, reason: str = "stopped") -> None:
        self._stop_reason = reason
        self._stop_requested.set()

    def pause(self) -> None:
        self._controls.put(SessionState(t_s=-1.0, participant=SESSION, state="pause"))

    def resume(self) -> None:
        self._controls.put(SessionState(t_s=-1.0, participant=SESSION, state="resume"))

    def annotate(self, text: str = "", author: str = "") -> None:
        self._controls.put(Annotation(t_s=-1.0, participant=SESSION, text=text, author=author))

    # --- the loop ---------------------------------------------------------------------------------------------

    def run(self) -> SessionResult:
        self.running = True
        start = self.clock.now_s()
        self.bus.publish(SessionState(t_s=start, participant=SESSION, state="start"))
        for src in self.pushed:
            src.start(self._queue.put, self.clock.now_s)
        reason = "stopped"
        next_tick = start
        try:
            while True:
                now = self.clock.now_s()
                if self.duration_s is not None and now >= self.duration_s:
                    now = self.duration_s
                self.t_s = now
                self._apply_controls(now)
                self._publish_due(now)
                self.bus.tick(now)
                if self._stop_requested.is_set():
                    reason = self._stop_reason
                    break
                if self.protocol is not None and self.protocol.finished:
                    reason = "protocol finished"
                    break
                if self.duration_s is not None and now >= self.duration_s:
                    reason = "duration reached"
                    break
                if self.scheduled and self.protocol is None and all(s.finished for s in self.scheduled):
                    reason = "sources finished"
                    break
                next_tick = max(next_tick + self.tick_s, now)
                self.clock.sleep_until(next_tick)
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            self._shutdown(reason)
        return SessionResult(self.t_s, reason, self.bus.published, dict(self.bus.errors))

    def _publish_due(self, now: float) -> None:
        due: list[Event] = []
        if self.protocol is not None:
            due.extend(self.protocol.events_until(now))
        for src in self.scheduled:
            due.extend(src.events_until(now))
        due.extend(self._queue.drain())
        if len(due) > 1:
            due.sort(key=lambda e: e.t_s)  # stable: keeps each source's own order for equal times
        for e in due:
            self.bus.publish(e)

    def _apply_controls(self, now: float) -> None:
        for c in self._controls.drain():
            if isinstance(c, SessionState):
                want_pause = c.state == "pause"
                if want_pause == self.paused:
                    continue
                self.paused = want_pause
                if self.protocol is not None:
                    (self.protocol.pause if want_pause else self.protocol.resume)(now)  # type: ignore[attr-defined]
                self.bus.publish(SessionState(t_s=now, participant=SESSION, state=c.state))
            elif isinstance(c, Annotation):
                self.bus.publish(Annotation(t_s=now, participant=SESSION, text=c.text, author=c.author))

    def _shutdown(self, reason: str) -> None:
        for src in self.pushed:
            try:
                src.stop()
            except Exception:  # noqa: BLE001 - a device failing to stop must not lose the recording
                log.exception("source %s failed to stop", src.name)
        self._publish_due(self.t_s)
        self.bus.publish(SessionState(t_s=self.t_s, participant=SESSION, state="stop", reason=reason))
        for src in self.scheduled:
            src.close()
        self.bus.close()
        self.running = False
