"""Stopping one BLE source promptly: the stop request of its loop, and awaiting GATT work so a stop abandons it.

Every wait of a BLE source goes through :class:`StopSignal`, so :meth:`BleStrapSource.stop
<biotrainer.sources.ble.strap.BleStrapSource.stop>` never waits for a stalled strap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from biotrainer.core.errors import DeviceError, DeviceErrorReason


class Stopped(Exception):
    """The source was asked to stop (internal control flow, never leaves the source)."""


class Dropped(Exception):
    """The link dropped or went silent; the message says how (``link lost``, ``no data for N s``)."""


class StopSignal:
    """The stop request of one source, set from any thread through its loop, awaited on the loop."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        """Ask the source to stop (call on the source's loop, e.g. with ``loop.call_soon_threadsafe``)."""
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    def check(self) -> None:
        """Raise :class:`Stopped` if a stop was asked for."""
        if self._event.is_set():
            raise Stopped()

    async def sleep(self, delay_s: float) -> None:
        """Sleep ``delay_s``; raise :class:`Stopped` at once when a stop is asked for meanwhile."""
        try:
            await asyncio.wait_for(self._event.wait(), delay_s)
        except asyncio.TimeoutError:
            return
        raise Stopped()

    async def bounded(self, work: Awaitable[Any], timeout_s: float, what: str) -> Any:
        """Await ``work`` bounded by ``timeout_s``; abandon it at once when a stop is asked for.

        Parameters
        ----------
        work : awaitable
            The operation (a coroutine or future).
        timeout_s : float
            Its time limit.
        what : str
            Words for the timeout message, e.g. ``"F0:00:...: connect"``.

        Returns
        -------
        Any
            The result of ``work``. Raises :class:`Stopped` when stopped, DeviceError (reason ``TIMEOUT``) when
            ``work`` takes longer than ``timeout_s``.
        """
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(self._event.wait())
        try:
            done, _ = await asyncio.wait({task, stopper}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task in done:
            return task.result()
        task.cancel()
        if stopper in done:
            raise Stopped()
        raise DeviceError(f"{what} timed out after {timeout_s:g} s", DeviceErrorReason.TIMEOUT)
