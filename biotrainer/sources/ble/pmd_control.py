"""The Polar PMD control point of one connection: start the wanted ECG/ACC streams, stop them again.

Commands are written with response to the control point (``…5C81…``); the strap answers each with an indication
``F0 op type error …`` (:func:`~biotrainer.sources.codecs.pmd.parse_pmd_response`), error 0 meaning success.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from biotrainer.core.errors import DeviceError
from biotrainer.sources.ble.stop import StopSignal
from biotrainer.sources.codecs.pmd import (
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    START_ACC,
    START_ECG,
    STOP_ACC,
    STOP_ECG,
    MalformedPmd,
    PmdResponse,
    parse_pmd_response,
)

log = logging.getLogger(__name__)

STREAM_COMMANDS = {"ecg": (START_ECG, STOP_ECG), "acc": (START_ACC, STOP_ACC)}  # stream -> (start, stop)

Gatt = Callable[[Awaitable[Any], str], Awaitable[Any]]


class PmdControl:
    """PMD streams of one connected ``client``.

    Parameters
    ----------
    client, gatt
        The connected BleakClient and the bounded GATT awaiter, as for
        :class:`~biotrainer.sources.ble.battery.BatteryMonitor`.
    stop : StopSignal
        The source's stop request.
    timeout_s : float
        How long to wait for the strap's answer to a command.
    label : str
        The strap, for log messages.
    """

    def __init__(self, client: Any, gatt: Gatt, stop: StopSignal, timeout_s: float, label: str) -> None:
        self.client = client
        self.started: list[str] = []
        self._gatt = gatt
        self._stop = stop
        self._timeout_s = timeout_s
        self._label = label
        self._responses: asyncio.Queue[bytes] = asyncio.Queue()

    async def start(self, wanted: Sequence[str], on_data: Callable[[Any, bytearray], None]) -> list[str]:
        """Subscribe to PMD data (``on_data``) and start each wanted stream the strap accepts.

        Returns
        -------
        list of str
            The streams started (none when the strap has no PMD service or nothing is wanted).
        """
        self.started = []
        wanted = [s for s in wanted if s in STREAM_COMMANDS]
        if not wanted or self.client.services.get_service(PMD_SERVICE_UUID) is None:
            return []
        await self._gatt(self.client.start_notify(PMD_CONTROL_UUID, self._on_control), "subscribing to PMD control")
        await self._gatt(self.client.start_notify(PMD_DATA_UUID, on_data), "subscribing to PMD data")
        for stream in wanted:
            command = STREAM_COMMANDS[stream][0]
            await self._gatt(self.client.write_gatt_char(PMD_CONTROL_UUID, command, response=True),
                             f"starting {stream}")
            response = await self._response(command[0], command[1])
            if response is None:
                log.warning("%s: no answer to PMD start %s", self._label, stream)
            elif not response.ok:
                log.warning("%s: strap refused PMD start %s (error %d)", self._label, stream, response.error)
            else:
                self.started.append(stream)
        return list(self.started)

    async def stop_streams(self) -> None:
        """Write the stop command of every started stream (unbounded: the caller bounds the shutdown)."""
        for stream in self.started:
            await self.client.write_gatt_char(PMD_CONTROL_UUID, STREAM_COMMANDS[stream][1], response=True)

    def _on_control(self, _char: Any, data: bytearray) -> None:
        self._responses.put_nowait(bytes(data))

    async def _response(self, op: int, measurement: int) -> PmdResponse | None:
        """The strap's answer to ``op`` on ``measurement``; None when none came in time."""
        deadline = time.monotonic() + self._timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                raw = await self._stop.bounded(self._responses.get(), left, f"{self._label}: PMD response")
            except DeviceError:
                return None
            try:
                response = parse_pmd_response(raw)
            except MalformedPmd:
                continue
            if response.op == op and response.measurement == measurement:
                return response
