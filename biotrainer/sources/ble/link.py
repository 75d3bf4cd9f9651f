"""One connection to a found strap: connect, set up (location, MTU, battery, heart rate, PMD), watch, shut down.

A :class:`StrapLink` lives for one connection; the source makes a new one for every (re)connect. It raises
:class:`~biotrainer.sources.ble.stop.Stopped` when the source is stopped and
:class:`~biotrainer.sources.ble.stop.Dropped` when the link is lost or the strap goes silent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from biotrainer.core.errors import DeviceError, DeviceErrorReason
from biotrainer.sources.ble.battery import BatteryMonitor
from biotrainer.sources.ble.common import device_error
from biotrainer.sources.ble.pmd_control import PmdControl
from biotrainer.sources.ble.profiles import DeviceProfile
from biotrainer.sources.ble.stop import Dropped, Stopped, StopSignal
from biotrainer.sources.codecs.hrs import (
    BODY_SENSOR_LOCATION_UUID,
    BODY_SENSOR_LOCATIONS,
    HEART_RATE_MEASUREMENT_UUID,
)

log = logging.getLogger(__name__)

Notify = Callable[[Any, bytearray], None]


@dataclass(frozen=True)
class LinkSettings:
    """Bounds of one connection (see :class:`~biotrainer.sources.ble.strap.BleStrapSource`)."""

    connect_timeout_s: float = 10.0
    gatt_timeout_s: float = 3.0
    stall_timeout_s: float = 5.0
    battery_poll_s: float = 300.0


@dataclass(frozen=True)
class LinkHandlers:
    """Where a link delivers what the strap sends and how the connection goes."""

    on_hr: Notify  # Heart Rate Measurement notification
    on_pmd_data: Notify  # PMD data notification
    on_battery: Callable[[int], None]  # battery level, percent
    on_connected: Callable[[dict[str, str]], None]  # set up: the ``connected`` reason fields
    on_disconnected: Callable[[str], None]  # stopped or dropped: how


class StrapLink:
    """One connection to ``device`` (a bleak ``BLEDevice``) at ``address``.

    Parameters
    ----------
    device : BLEDevice
        What the search found.
    address : str
        Its address, for messages.
    client_backend : type or None
        bleak client backend class (None: the platform's).
    settings : LinkSettings
        Timeouts and the battery poll interval.
    stop : StopSignal
        The source's stop request: every wait is abandoned when it is set.
    handlers : LinkHandlers
        Notification callbacks.
    """

    def __init__(self, device: Any, address: str, client_backend: type | None, settings: LinkSettings,
                 stop: StopSignal, handlers: LinkHandlers) -> None:
        from bleak import BleakClient

        self.address = address
        self.settings = settings
        self._stop = stop
        self._handlers = handlers
        self._lost = asyncio.Event()
        self._last_data_monotonic = time.monotonic()
        self.client = BleakClient(device, disconnected_callback=lambda _c: self._lost.set(), backend=client_backend,
                                  timeout=settings.connect_timeout_s)
        self.battery = BatteryMonitor(self.client, self.gatt, handlers.on_battery, settings.battery_poll_s)
        self.pmd = PmdControl(self.client, self.gatt, stop, settings.gatt_timeout_s, address)

    async def gatt(self, work: Awaitable[Any], what: str) -> Any:
        """Await one GATT operation, bounded by the GATT timeout and abandoned on stop."""
        return await self._stop.bounded(work, self.settings.gatt_timeout_s, f"{self.address}: {what}")

    async def connect(self) -> None:
        """Connect (with service discovery). Raises DeviceError with the reason bleak gave."""
        try:
            await self._stop.bounded(self.client.connect(), self.settings.connect_timeout_s + 2.0,
                                     f"{self.address}: connect")
        except (DeviceError, Stopped):
            raise
        except Exception as exc:  # noqa: BLE001 - translated to one line with a reason
            raise device_error(exc, f"connect to {self.address}", DeviceErrorReason.CONNECT_FAILED) from exc

    async def run(self, profile: DeviceProfile, name: str, streams: Sequence[str] | None) -> None:
        """Set up, announce ``connected``, then watch while notifications flow, until stopped or dropped.

        Raises Stopped (after a polite shutdown and ``disconnected: stopped``), Dropped (after announcing
        ``disconnected`` with how) or DeviceError (set-up failed; disconnected).
        """
        try:
            self._handlers.on_connected(await self._set_up(profile, name, streams))
            await self._watch()
        except Stopped:
            await self._shut_down()
            self._handlers.on_disconnected("stopped")
            raise
        except Dropped as exc:
            self._handlers.on_disconnected(str(exc))
            await self.disconnect_quietly(1.0)
            raise
        except DeviceError:
            await self.disconnect_quietly(1.0)
            raise
        except Exception as exc:  # noqa: BLE001 - a set-up failure: retried
            await self.disconnect_quietly(1.0)
            raise device_error(exc, f"set up {self.address}", DeviceErrorReason.GATT_FAILED) from exc

    async def _set_up(self, profile: DeviceProfile, name: str, streams: Sequence[str] | None) -> dict[str, str]:
        client, services = self.client, self.client.services
        info: dict[str, str] = {"name": name or client.name, "profile": profile.id}
        if services.get_characteristic(HEART_RATE_MEASUREMENT_UUID) is None:
            raise DeviceError(f"{self.address}: no Heart Rate Measurement characteristic (0x2A37)",
                              DeviceErrorReason.NOT_SUPPORTED)
        if services.get_characteristic(BODY_SENSOR_LOCATION_UUID) is not None:
            raw = await self.gatt(client.read_gatt_char(BODY_SENSOR_LOCATION_UUID), "reading body sensor location")
            info["location"] = BODY_SENSOR_LOCATIONS.get(raw[0], f"code {raw[0]}") if raw else "unknown"
        info["mtu"] = str(client.mtu_size)
        if profile.min_mtu and client.mtu_size < profile.min_mtu:
            log.warning("%s: ATT MTU %d is below the %d a %s needs for full PMD frames", self.address,
                        client.mtu_size, profile.min_mtu, profile.model)
        await self.battery.start()
        self._last_data_monotonic = time.monotonic()
        await self.gatt(client.start_notify(HEART_RATE_MEASUREMENT_UUID, self._on_hr), "subscribing to heart rate")
        started = await self.pmd.start(streams if streams is not None else profile.pmd_streams, self._on_pmd_data)
        if started:
            info["streams"] = ",".join(started)
        return info

    async def _watch(self) -> None:
        stall_s = self.settings.stall_timeout_s
        self.battery.restart_poll_clock()
        while True:
            self._stop.check()
            if self._lost.is_set() or not self.client.is_connected:
                raise Dropped("link lost")
            if time.monotonic() - self._last_data_monotonic > stall_s:
                raise Dropped(f"no data for {stall_s:g} s")
            await self.battery.poll_if_due()
            waiters = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(self._lost.wait())]
            try:
                await asyncio.wait(waiters, timeout=min(0.25, stall_s / 4), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()

    async def _shut_down(self) -> None:
        """Stop PMD streams and disconnect, bounded (a stalled strap must not hold up the app)."""
        async def polite() -> None:
            await self.pmd.stop_streams()
            await self.client.disconnect()

        try:
            await asyncio.wait_for(polite(), 0.8)
        except Exception:  # noqa: BLE001 - stopping anyway
            log.debug("%s: polite shutdown incomplete", self.address, exc_info=True)
            await self.disconnect_quietly(0.5)

    async def disconnect_quietly(self, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(self.client.disconnect(), timeout_s)
        except Exception:  # noqa: BLE001
            log.debug("%s: disconnect failed", self.address, exc_info=True)

    def _on_hr(self, char: Any, data: bytearray) -> None:
        self._last_data_monotonic = time.monotonic()
        self._handlers.on_hr(char, data)

    def _on_pmd_data(self, char: Any, data: bytearray) -> None:
        self._last_data_monotonic = time.monotonic()
        self._handlers.on_pmd_data(char, data)
