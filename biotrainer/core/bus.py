"""The session bus: every event goes to every listener, in order, on the runner's thread.

A listener is a callable taking one event. It may also have ``tick(t_s)`` (called every runner loop, e.g. to
flush a recording or redraw) and ``close()``. A listener that raises is logged and counted, never allowed to stop
the session: a failing metric must not lose the recording.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from biotrainer.core.events import Event

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class Bus:
    def __init__(self) -> None:
        self._listeners: list[tuple[Listener, frozenset[str] | None]] = []
        self.errors: dict[str, int] = {}
        self.published = 0

    def subscribe(self, listener: Listener, kinds: Iterable[str] | None = None) -> Listener:
        """Add a listener; with ``kinds`` it only receives events whose ``KIND`` is listed."""
        self._listeners.append((listener, frozenset(kinds) if kinds is not None else None))
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners = [(f, k) for f, k in self._listeners if f is not listener]

    @property
    def listeners(self) -> list[Listener]:
        return [f for f, _ in self._listeners]

    def publish(self, event: Event) -> None:
        self.published += 1
        for listener, kinds in self._listeners:
            if kinds is not None and event.KIND not in kinds:
                continue
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a listener must never stop the session
                self._failed(listener, "event")

    def publish_all(self, events: Iterable[Event]) -> None:
        for e in events:
            self.publish(e)

    def tick(self, t_s: float) -> None:
        for listener, _ in self._listeners:
            tick = getattr(listener, "tick", None)
            if tick is not None:
                try:
                    tick(t_s)
                except Exception:  # noqa: BLE001
                    self._failed(listener, "tick")

    def close(self) -> None:
        for listener, _ in self._listeners:
            close = getattr(listener, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001
                    self._failed(listener, "close")

    def _failed(self, listener: Listener, what: str) -> None:
        name = getattr(listener, "__qualname__", None) or type(listener).__qualname__
        count = self.errors.get(name, 0) + 1
        self.errors[name] = count
        if count == 1 or count % 1000 == 0:
            log.exception("listener %s failed on %s (%d failures so far)", name, what, count)
