"""The two shapes of event source the session runner understands."""

from __future__ import annotations

import queue
from abc import ABC, abstractmethod
from collections.abc import Callable

from biotrainer.core.events import Event


class ScheduledSource(ABC):
    """A source that can produce all its events up to a given session time, deterministically.

    The runner calls :meth:`events_until` with increasing ``t_s``; the source returns the events with
    ``event.t_s <= t_s`` it has not returned yet, in time order. ``finished`` turns True when it has nothing more.
    """

    name: str = "source"

    @abstractmethod
    def events_until(self, t_s: float) -> list[Event]: ...

    @property
    def finished(self) -> bool:
        return False

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources. Called once by the runner at the end."""


class PushSource(ABC):
    """A source that runs by itself (a thread or asyncio loop) and pushes events through ``emit``.

    ``start(emit, now_s)``: ``emit(event)`` is thread-safe; ``now_s()`` is the session clock, to stamp arrival times.
    ``stop()`` must return promptly even if the device is stalled.
    """

    name: str = "device"

    @abstractmethod
    def start(self, emit: Callable[[Event], None], now_s: Callable[[], float]) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @property
    def finished(self) -> bool:
        return False


class EventQueue:
    """Thread-safe hand-over of pushed events to the runner thread."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def put(self, event: Event) -> None:
        self._queue.put(event)

    def drain(self) -> list[Event]:
        out: list[Event] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out
