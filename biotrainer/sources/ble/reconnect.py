"""When to reconnect a strap and when to give up: the backoff, the one retry rule, and the loop that applies them.

A drop never ends a session: once a strap was connected, every failure is retried with exponential backoff until
the source is stopped (or :attr:`ReconnectPolicy.max_attempts` runs out). Before the first connection a failure
is final when waiting cannot help (:func:`is_final`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from biotrainer.core.errors import DeviceError, DeviceErrorReason
from biotrainer.sources.ble.stop import Dropped, StopSignal


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff between reconnect attempts: ``initial_delay_s * factor**(n-1)``, capped.

    ``max_attempts`` None retries until the source is stopped (the default: a session never gives up on a strap).
    """

    initial_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 10.0
    max_attempts: int | None = None

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt ``attempt`` (1, 2, ...)."""
        return min(self.max_delay_s, self.initial_delay_s * self.factor ** max(0, attempt - 1))

    def exhausted(self, attempt: int) -> bool:
        """True when attempt ``attempt`` is beyond ``max_attempts``."""
        return self.max_attempts is not None and attempt > self.max_attempts


NEVER_CONNECTED_TRIES = 3  # connect/set-up failures before the first connection: tries before giving up


def is_final(error: DeviceError, *, searching: bool, ever_connected: bool, failures: int) -> bool:
    """Whether a failure ends the source instead of being retried.

    Parameters
    ----------
    error : DeviceError
        The failure; its ``reason`` counts, never its text.
    searching : bool
        True when it happened while searching for the strap (scanning), False while connecting or setting up.
    ever_connected : bool
        True once the source was connected at least once.
    failures : int
        Failures in a row before this one.

    Returns
    -------
    bool
        Never after a first connection (Bluetooth turned off mid-session comes back). Before it: a failed search
        (nothing to wait for) and Bluetooth being unusable are final at once, other failures after
        :data:`NEVER_CONNECTED_TRIES` tries.
    """
    if ever_connected:
        return False
    return searching or error.reason.bluetooth_unavailable or failures + 1 >= NEVER_CONNECTED_TRIES


class GiveUp(Exception):
    """A failure that ends the source; ``error`` is the DeviceError to report."""

    def __init__(self, error: DeviceError) -> None:
        super().__init__(str(error))
        self.error = error


class Reconnectable(Protocol):
    """What :func:`keep_connected` drives: one strap's search and connection, and its announcements."""

    connections: int

    def label(self) -> str: ...

    def now_s(self) -> float: ...

    async def search(self, first: bool) -> Any: ...

    async def stream(self, found: Any, dropped_at: float | None) -> None: ...

    def retrying(self, attempt: int, delay_s: float, why: str) -> None: ...


async def keep_connected(strap: Reconnectable, policy: ReconnectPolicy, stop: StopSignal) -> None:
    """Search, connect and stream; after a drop or failure wait out the backoff and try again.

    Returns when the strap was stopped while connected; raises :class:`~biotrainer.sources.ble.stop.Stopped`
    when stopped otherwise, :class:`GiveUp` when a failure is final.
    """
    attempt = 0
    dropped_at: float | None = None
    why = ""
    while True:
        searching = True
        try:
            found = await strap.search(first=strap.connections == 0 and attempt == 0)
            searching = False
            await strap.stream(found, dropped_at)
            return  # stopped while connected
        except Dropped as exc:
            why, attempt, dropped_at = str(exc), 0, strap.now_s()
        except DeviceError as exc:
            why = str(exc)
            if is_final(exc, searching=searching, ever_connected=strap.connections > 0, failures=attempt):
                raise GiveUp(exc) from exc
        attempt += 1
        if policy.exhausted(attempt):
            raise GiveUp(DeviceError(f"{strap.label()}: gave up after {attempt - 1} reconnect attempts ({why})",
                                     DeviceErrorReason.GAVE_UP))
        delay_s = policy.delay_s(attempt)
        strap.retrying(attempt, delay_s, why)
        await stop.sleep(delay_s)

