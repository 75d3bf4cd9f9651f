"""Replay a recorded session as a source: the recorded events, with their original ``t_s``, in time order.

``SessionRunner(bus, sources=[ReplaySource(reader)], clock=...)`` replays at 1× (``RealClock()``), N×
(``RealClock(speed=N)``) or as fast as the CPU allows (``VirtualClock()``); for play/pause/seek/speed controls
use :class:`ReplayClock` and attach the source to it (``ReplaySource(reader, clock=replay_clock)``) so that
``replay_clock.seek(t_s)`` moves both.

Design choices:

- Events come in ``(t_s, seq)`` order. A live recording is already in that order (the runner publishes each
  tick's events sorted by time), so replay returns them event for event; an annotation added after the session
  (appended at the end of the file) is replayed at its own time.
- The recorded ``SessionState`` ``start`` and ``stop`` events are skipped by default, because the replaying
  runner publishes its own; ``pause``/``resume`` are kept. ``include_lifecycle=True`` returns them too.
- Events are read in batches of a few thousand rows (one indexed ``SELECT`` each) and decoded with
  :func:`biotrainer.core.events.from_record`, so memory stays flat for long sessions.
- After a seek, listeners see ``t_s`` jump (backwards, for a seek back); views and metric windows should reset
  on a jump. :attr:`ReplaySource.seeks` counts seeks so a view can notice.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Iterable

from biotrainer.core.clock import Clock
from biotrainer.core.events import Event, SessionState
from biotrainer.core.source import ScheduledSource

log = logging.getLogger(__name__)

LIFECYCLE_STATES = frozenset({"start", "stop"})
DEFAULT_BATCH = 4000


class ReplaySource(ScheduledSource):
    """The events of a recorded session, due at their recorded session time.

    Parameters
    ----------
    reader
        A :class:`biotrainer.store.SessionReader`.
    kinds
        Only replay these event kinds (default: all).
    start_s
        Start at this session time (events with ``t_s >= start_s``).
    include_lifecycle
        Also return the recorded ``SessionState`` ``start``/``stop`` events.
    stay_open
        Never report ``finished`` (a GUI that may seek back after the end keeps the runner alive).
    clock
        A :class:`ReplayClock` to attach to: its :meth:`ReplayClock.seek` then seeks this source too.
    batch
        Rows read per query.
    """

    name = "replay"

    def __init__(self, reader, *, kinds: Iterable[str] | None = None, start_s: float = 0.0,
                 include_lifecycle: bool = False, stay_open: bool = False, clock: ReplayClock | None = None,
                 batch: int = DEFAULT_BATCH) -> None:
        self.reader = reader
        self.kinds = list(kinds) if kinds is not None else None
        self.include_lifecycle = include_lifecycle
        self.stay_open = stay_open
        self.batch = batch
        self.seeks = 0
        self.emitted = 0
        self.position_s = start_s
        self._lock = threading.Lock()
        self._pending_seek: float | None = None
        self._reset(start_s)
        if clock is not None:
            clock.attach(self)

    def _reset(self, t_s: float) -> None:
        self._cursor: tuple[float, int] = (t_s, -1)  # next rows are after this (t_s, seq)
        self._events: list[Event] = []
        self._times: list[float] = []
        self._pos = 0
        self._exhausted = False

    @property
    def finished(self) -> bool:
        return self._exhausted and self._pos >= len(self._events) and not self.stay_open \
            and self._pending_seek is None

    @property
    def duration_s(self) -> float:
        return self.reader.duration_s

    def seek(self, t_s: float) -> None:
        """Continue from session time ``t_s`` (the next events are those with ``t_s`` at or after it).

        Thread-safe: applied at the next :meth:`events_until`.
        """
        with self._lock:
            self._pending_seek = max(0.0, float(t_s))

    def events_until(self, t_s: float) -> list[Event]:
        with self._lock:
            target, self._pending_seek = self._pending_seek, None
        if target is not None:
            self._reset(target)
            self.position_s = target
            self.seeks += 1
        out: list[Event] = []
        while True:
            if self._pos >= len(self._events):
                if self._exhausted or not self._fill():
                    break
            end = bisect.bisect_right(self._times, t_s, lo=self._pos)
            if end > self._pos:
                out.extend(self._events[self._pos:end])
                self._pos = end
            if end < len(self._events):
                break
        if out:
            self.emitted += len(out)
            self.position_s = out[-1].t_s
        return out

    def _fill(self) -> bool:
        events, self._cursor, self._exhausted = self.reader.events_from(
            self._cursor[0], self._cursor[1], self.batch, kinds=self.kinds)
        if not self.include_lifecycle:
            events = [e for e in events if not (isinstance(e, SessionState) and e.state in LIFECYCLE_STATES)]
        self._events = events
        self._times = [e.t_s for e in events]
        self._pos = 0
        return bool(events) or not self._exhausted


class ReplayClock(Clock):
    """A session clock with play/pause/seek/speed, for interactive replay.

    Parameters
    ----------
    speed
        Replay speed factor (1.0 real time), or None for as fast as the CPU allows.
    start_s
        Session time to start at.
    anchor_unix_s
        Wall time of session time 0; pass the recording's ``meta.anchor_unix_s`` so wall times match the original.
    max_sleep_s
        Longest real time one :meth:`sleep_until` blocks, so pause, seek and stop take effect promptly.

    All control methods are thread-safe (the GUI thread controls, the runner thread reads).
    """

    def __init__(self, speed: float | None = 1.0, *, start_s: float = 0.0, anchor_unix_s: float | None = None,
                 max_sleep_s: float = 0.1) -> None:
        _check_speed(speed)
        self.speed = speed
        self.anchor_unix_s = time.time() - start_s if anchor_unix_s is None else anchor_unix_s
        self.max_sleep_s = max_sleep_s
        self._cond = threading.Condition()
        self._base_s = start_s
        self._base_mono = time.monotonic()
        self._paused = False
        self._forward_to_s: float | None = None
        self._sources: list[ReplaySource] = []

    # --- Clock -------------------------------------------------------------------------------------------------

    def now_s(self) -> float:
        with self._cond:
            return self._now_locked()

    def _now_locked(self) -> float:
        if self._paused or self.speed is None or self._forward_to_s is not None:
            return self._base_s
        return self._base_s + (time.monotonic() - self._base_mono) * self.speed

    def sleep_until(self, t_s: float) -> None:
        with self._cond:
            target = self._forward_to_s
            if target is not None:  # as fast as possible, never past the target; there, the chosen speed
                self._base_s = max(self._base_s, min(t_s, target))
                if t_s >= target:
                    self._forward_to_s = None
                    self._base_mono = time.monotonic()
                return
            if self._paused:
                self._cond.wait(self.max_sleep_s)
                return
            if self.speed is None:
                if t_s > self._base_s:
                    self._base_s = t_s
                return
            delay = (t_s - self._now_locked()) / self.speed
            if delay > 0:
                self._cond.wait(min(delay, self.max_sleep_s))

    # --- controls ----------------------------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def forwarding_to_s(self) -> float | None:
        """The target of a :meth:`fast_forward_to` not reached yet, or None."""
        return self._forward_to_s

    def fast_forward_to(self, t_s: float) -> None:
        """Run as fast as possible (even while paused) up to session time ``t_s`` and stop exactly there; from
        there on the clock runs at its speed, or stays paused. :meth:`pause`, :meth:`resume` and
        :meth:`set_speed` during the fast-forward take effect at the target."""
        with self._cond:
            self._forward_to_s = max(self._base_s, float(t_s))
            self._cond.notify_all()

    def attach(self, source: ReplaySource) -> None:
        """Seek ``source`` together with this clock."""
        self._sources.append(source)

    def pause(self) -> None:
        with self._cond:
            if not self._paused:
                self._base_s = self._now_locked()
                self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            if self._paused:
                self._base_mono = time.monotonic()
                self._paused = False
            self._cond.notify_all()

    def seek(self, t_s: float) -> None:
        """Jump to session time ``t_s`` (and seek the attached sources); ends a fast-forward."""
        t_s = max(0.0, float(t_s))
        with self._cond:
            self._forward_to_s = None
            self._base_s = t_s
            self._base_mono = time.monotonic()
            for src in self._sources:
                src.seek(t_s)
            self._cond.notify_all()

    def set_speed(self, speed: float | None) -> None:
        """Change the speed factor (None: as fast as possible) without jumping in session time."""
        _check_speed(speed)
        with self._cond:
            self._base_s = self._now_locked()
            self._base_mono = time.monotonic()
            self.speed = speed
            self._cond.notify_all()


def _check_speed(speed: float | None) -> None:
    if speed is not None and not speed > 0:
        raise ValueError(f"replay speed must be positive or None (as fast as possible), got {speed}")
