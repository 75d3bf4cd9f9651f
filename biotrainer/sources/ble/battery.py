"""The battery of one connected strap: read on connect, then followed by notifications, else polled."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from biotrainer.core.errors import DeviceError
from biotrainer.sources.codecs.hrs import BATTERY_LEVEL_UUID

log = logging.getLogger(__name__)


class BatteryMonitor:
    """Battery Level (0x2A19) of one connected ``client``, reported through ``report(percent)``.

    Parameters
    ----------
    client : BleakClient
        The connected client.
    gatt : callable
        ``gatt(awaitable, what)``: awaits one GATT operation, bounded and abandoned on stop.
    report : callable
        Called with each battery level in percent.
    poll_s : float
        Re-read this often when the strap does not notify its battery.
    """

    def __init__(self, client: Any, gatt: Callable[[Awaitable[Any], str], Awaitable[Any]],
                 report: Callable[[int], None], poll_s: float) -> None:
        self.client = client
        self.notifies = False
        self._gatt = gatt
        self._report = report
        self._poll_s = poll_s
        self._next_poll = time.monotonic() + poll_s

    @property
    def available(self) -> bool:
        return self.client.services.get_characteristic(BATTERY_LEVEL_UUID) is not None

    async def start(self) -> None:
        """Read the level and subscribe to it when the strap notifies it."""
        self.notifies = False
        char = self.client.services.get_characteristic(BATTERY_LEVEL_UUID)
        if char is None:
            return
        await self.read()
        if "notify" in char.properties:
            await self._gatt(self.client.start_notify(BATTERY_LEVEL_UUID, self._on_notify), "subscribing to battery")
            self.notifies = True

    async def read(self) -> None:
        raw = await self._gatt(self.client.read_gatt_char(BATTERY_LEVEL_UUID), "reading battery")
        if raw:
            self._report(int(raw[0]))

    def restart_poll_clock(self) -> None:
        """Count the poll interval from now (when streaming begins)."""
        self._next_poll = time.monotonic() + self._poll_s

    async def poll_if_due(self) -> None:
        """Re-read a strap that does not notify its battery once the poll interval has passed."""
        if self.notifies or time.monotonic() < self._next_poll or not self.available:
            return
        self._next_poll = time.monotonic() + self._poll_s
        try:
            await self.read()
        except DeviceError as exc:
            log.debug("%s", exc)

    def _on_notify(self, _char: Any, data: bytearray) -> None:
        if data:
            self._report(int(data[0]))
