"""Session clocks. Session time is monotonic seconds since the session started.

:class:`RealClock` follows ``time.monotonic`` (optionally sped up, for demos and tests); :class:`VirtualClock`
advances only when the runner says so, for "as fast as the CPU allows" runs. Both keep the wall-clock anchor:
``anchor_unix_s`` is ``time.time()`` at session time 0.
"""

from __future__ import annotations

import time


class Clock:
    anchor_unix_s: float
    speed: float | None

    def now_s(self) -> float:
        raise NotImplementedError

    def sleep_until(self, t_s: float) -> None:
        raise NotImplementedError


class RealClock(Clock):
    """Monotonic wall time since construction, multiplied by ``speed``."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._t0 = time.monotonic()
        self.anchor_unix_s = time.time()

    def now_s(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def sleep_until(self, t_s: float) -> None:
        delay = (t_s - self.now_s()) / self.speed
        if delay > 0:
            time.sleep(delay)


class VirtualClock(Clock):
    """Time that moves only through :meth:`sleep_until`: runs a session as fast as the CPU allows."""

    def __init__(self, anchor_unix_s: float | None = None) -> None:
        self.speed = None
        self._t = 0.0
        self.anchor_unix_s = time.time() if anchor_unix_s is None else anchor_unix_s

    def now_s(self) -> float:
        return self._t

    def sleep_until(self, t_s: float) -> None:
        if t_s > self._t:
            self._t = t_s
