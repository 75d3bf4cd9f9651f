"""The emulated Bluetooth world on its own asyncio loop thread: a bumble link, straps, and one host adapter.

The adapter is a bumble central (host + controller) that the bleak backend in :mod:`tests.emulated.backend` drives,
as an operating system's Bluetooth stack would: bleak code runs on its caller's loop and every radio operation is
handed to this loop (``acall``), notifications are handed back with ``call_soon_threadsafe``.

In-process (default): the adapter's controller and every strap's controller sit on one bumble ``LocalLink``.
Over TCP (``Radio(hci_transport="tcp-client:127.0.0.1:PORT")``): the adapter's host talks HCI to a controller in
another process (:mod:`tests.emulated.server`), which shares a link with that process's straps.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

from bumble import hci
from bumble.device import Advertisement, Connection, Device, DeviceConfiguration
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from tests.emulated.controller import FixedController
from tests.emulated.strap import EmulatedStrap, StrapConfig

log = logging.getLogger(__name__)

ADAPTER_ADDRESS = "C0:00:00:00:00:01"
AdvertisementListener = Callable[[Advertisement], None]


class Radio:
    """One emulated radio world. Close it with :meth:`close` (or use it as a context manager)."""

    def __init__(self, *, hci_transport: str | None = None, adapter_address: str = ADAPTER_ADDRESS) -> None:
        self.hci_transport = hci_transport
        self.adapter_address = adapter_address
        self.unavailable: Any = None  # a bleak BleakBluetoothNotAvailableReason to emulate an unusable adapter
        self.straps: list[EmulatedStrap] = []
        self._scan_listeners: list[AdvertisementListener] = []
        self._scanning = False
        self._transport: Any = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="emulated-radio", daemon=True)
        self._thread.start()
        self.call(self._setup())

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def _setup(self) -> None:
        self._connect_lock = asyncio.Lock()
        if self.hci_transport:
            from bumble.transport import open_transport

            self._transport = await open_transport(self.hci_transport)
            self.link = None
            host = Host(self._transport.source, self._transport.sink)
        else:
            self.link = LocalLink()
            self.controller = FixedController("adapter", link=self.link)
            host = Host(self.controller, AsyncPipeSink(self.controller))
        self.central = Device(config=DeviceConfiguration(name="biotrainer-adapter",
                                                         address=hci.Address(self.adapter_address)), host=host)
        await self.central.power_on()
        self.central.on("advertisement", self._on_advertisement)

    # --- thread bridges -----------------------------------------------------------------------------------------

    def call(self, coro: Coroutine[Any, Any, Any], timeout_s: float = 10.0) -> Any:
        """Run ``coro`` on the radio loop from another thread and wait for its result."""
        fut: Future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout_s)

    async def acall(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Await ``coro`` run on the radio loop from another asyncio loop; cancelling cancels it there too."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    # --- straps (in-process only) -------------------------------------------------------------------------------

    def add_strap(self, config: StrapConfig | None = None, **kwargs: Any) -> EmulatedStrap:
        """Create, power on and start advertising an emulated strap on this radio's link."""
        if self.link is None:
            raise RuntimeError("straps can only be added to an in-process radio")
        cfg = config or StrapConfig(**kwargs)

        async def make() -> EmulatedStrap:
            strap = EmulatedStrap(self.loop, self.link, cfg)
            await strap.astart()
            return strap

        strap = self.call(make())
        self.straps.append(strap)
        return strap

    # --- adapter operations (run on the radio loop) -------------------------------------------------------------

    def _on_advertisement(self, adv: Advertisement) -> None:
        for listener in list(self._scan_listeners):
            listener(adv)

    async def start_scan(self, listener: AdvertisementListener) -> None:
        self._scan_listeners.append(listener)
        if not self._scanning:
            self._scanning = True
            await self.central.start_scanning(filter_duplicates=False)

    async def stop_scan(self, listener: AdvertisementListener) -> None:
        if listener in self._scan_listeners:
            self._scan_listeners.remove(listener)
        if self._scanning and not self._scan_listeners:
            self._scanning = False
            await self.central.stop_scanning()

    async def connect(self, address: str, timeout_s: float) -> Connection:
        """Connect to ``address`` (one connection attempt at a time, as a real adapter).

        When the caller gives up, the pending connection is withdrawn in the controller too (after the Create
        Connection command's own status, so the host's command bookkeeping stays in step).
        """
        async with self._connect_lock:
            task = asyncio.ensure_future(self.central.connect(hci.Address(address), timeout=timeout_s))
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                await asyncio.sleep(0.05)
                if not task.done():
                    await self.central.send_command(hci.HCI_LE_Create_Connection_Cancel_Command())
                    await asyncio.wait({task}, timeout=2.0)
                if task.done() and not task.cancelled() and task.exception() is None:
                    await task.result().disconnect()  # connected just as the caller left: do not leak it
                elif not task.done():
                    task.cancel()
                raise

    # --- lifetime -----------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every task of the radio loop and the thread."""
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            if self._transport is not None:
                await self._transport.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.call(shutdown(), timeout_s=5.0)
        except Exception:  # noqa: BLE001 - closing anyway
            log.debug("radio shutdown incomplete", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self.loop.close()

    def __enter__(self) -> Radio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
