"""bleak backends (scanner + client) built on the bumble central of an emulated :class:`~tests.emulated.radio.Radio`.

``make_backend(radio)`` returns ``(scanner_cls, client_cls)`` for ``BleakScanner(backend=...)`` and
``BleakClient(..., backend=...)``; bleak reads ``backend.__name__``, so these are real classes (``type(...)``
subclasses bound to the radio), not partials.

``factory()`` is the ``--ble-backend tests.emulated.backend:factory`` entry point: it links to an emulated strap
server in another process (``python -m tests.emulated.server``) over TCP, at ``$BIOTRAINER_EMULATED_HCI``
(default ``tcp-client:127.0.0.1:9730``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakBluetoothNotAvailableError, BleakDeviceNotFoundError, BleakError
from bumble import core as bumble_core
from bumble.device import Advertisement, Connection, Peer

from tests.emulated.radio import Radio

log = logging.getLogger(__name__)

DEFAULT_HCI = "tcp-client:127.0.0.1:9730"
HCI_ENV = "BIOTRAINER_EMULATED_HCI"
REQUESTED_MTU = 247
_PROPERTY_NAMES = ((0x01, "broadcast"), (0x02, "read"), (0x04, "write-without-response"), (0x08, "write"),
                   (0x10, "notify"), (0x20, "indicate"), (0x40, "authenticated-signed-writes"),
                   (0x80, "extended-properties"))


def _uuid_str(u: bumble_core.UUID) -> str:
    return str(uuid.UUID(bytes=bytes(u.to_bytes(force_128=True))[::-1]))


def _uuid16(data: bytes) -> list[str]:
    return [f"0000{v:04x}-0000-1000-8000-00805f9b34fb" for (v,) in struct.iter_unpack("<H", data[: len(data) // 2 * 2])]


def _uuid128(data: bytes) -> list[str]:
    return [str(uuid.UUID(bytes=data[i:i + 16][::-1])) for i in range(0, len(data) - 15, 16)]


def advertisement_data(adv: Advertisement) -> tuple[str | None, AdvertisementData]:
    """Translate a bumble advertisement into bleak's ``AdvertisementData`` (name, services, data, RSSI)."""
    name: str | None = None
    services: list[str] = []
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    tx_power: int | None = None
    for ad_type, data in adv.data.ad_structures:
        data = bytes(data)
        if ad_type in (0x08, 0x09):
            name = data.decode("utf-8", "replace")
        elif ad_type in (0x02, 0x03):
            services += _uuid16(data)
        elif ad_type in (0x06, 0x07):
            services += _uuid128(data)
        elif ad_type == 0xFF and len(data) >= 2:
            manufacturer[int.from_bytes(data[:2], "little")] = data[2:]
        elif ad_type == 0x16 and len(data) >= 2:
            service_data[_uuid16(data[:2])[0]] = data[2:]
        elif ad_type == 0x0A and data:
            tx_power = struct.unpack("b", data[:1])[0]
    services = list(dict.fromkeys(services))
    return name, AdvertisementData(local_name=name, manufacturer_data=manufacturer, service_data=service_data,
                                   service_uuids=services, tx_power=tx_power, rssi=adv.rssi, platform_data=(adv,))


class EmulatedScannerBackend(BaseBleakScanner):
    """bleak scanner backend over the radio's bumble central. Subclass with a ``radio`` (see make_backend)."""

    radio: ClassVar[Radio]

    def __init__(self, detection_callback: Any, service_uuids: list[str] | None, scanning_mode: str = "active",
                 **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._listener: Callable[[Advertisement], None] | None = None

    async def start(self) -> None:
        if self.radio.unavailable is not None:
            raise BleakBluetoothNotAvailableError("emulated adapter unavailable", self.radio.unavailable)
        loop = asyncio.get_running_loop()
        self.seen_devices = {}

        def listener(adv: Advertisement) -> None:  # on the radio loop
            try:
                loop.call_soon_threadsafe(self._on_advertisement, adv)
            except RuntimeError:  # the scanner's loop is gone
                pass

        self._listener = listener
        await self.radio.acall(self.radio.start_scan(listener))

    def _on_advertisement(self, adv: Advertisement) -> None:
        name, data = advertisement_data(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = str(adv.address).split("/")[0]
        device = self.create_or_update_device(address, address, name, adv.address, data)
        self.call_detection_callbacks(device, data)

    async def stop(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            await self.radio.acall(self.radio.stop_scan(listener))


class EmulatedClientBackend(BaseBleakClient):
    """bleak client backend over the radio's bumble central. Subclass with a ``radio`` (see make_backend)."""

    radio: ClassVar[Radio]

    def __init__(self, address_or_ble_device: BLEDevice | str, *, disconnected_callback: Any = None,
                 timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._disconnecting = False
        self.disconnect_reason: int | None = None

    # --- properties ---------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # --- connection ---------------------------------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self.radio.unavailable is not None:
            raise BleakBluetoothNotAvailableError("emulated adapter unavailable", self.radio.unavailable)
        self._loop = asyncio.get_running_loop()
        timeout_s = kwargs.get("timeout", self._timeout)
        try:
            connection, services = await asyncio.wait_for(self.radio.acall(self._connect(timeout_s)), timeout_s + 5.0)
        except (asyncio.TimeoutError, bumble_core.TimeoutError) as exc:
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found within {timeout_s} s") from exc
        except bumble_core.ConnectionError as exc:
            raise BleakError(f"connection to {self.address} failed: {exc}") from exc
        self._connection = connection
        self.services = services

    async def _connect(self, timeout_s: float) -> tuple[Connection, BleakGATTServiceCollection]:
        """On the radio loop: connect, exchange MTU (as OS stacks do) and discover everything."""
        connection = await self.radio.connect(self.address, timeout_s)
        connection.on("disconnection", self._on_disconnection)
        try:
            peer = Peer(connection)
            await peer.request_mtu(REQUESTED_MTU)
            await peer.discover_services()
            collection = BleakGATTServiceCollection()
            for service in peer.services:
                bs = BleakGATTService(service, service.handle, _uuid_str(service.uuid))
                collection.add_service(bs)
                await service.discover_characteristics()
                for ch in service.characteristics:
                    await ch.discover_descriptors()
                    props = [name for bit, name in _PROPERTY_NAMES if int(ch.properties) & bit]
                    bc = BleakGATTCharacteristic(ch, ch.handle, _uuid_str(ch.uuid), props,
                                                 lambda: self.mtu_size - 3, bs)
                    collection.add_characteristic(bc)
                    for d in ch.descriptors:
                        collection.add_descriptor(BleakGATTDescriptor(d, d.handle, _uuid_str(d.type), bc))
        except BaseException:
            await connection.disconnect()
            raise
        self._peer = peer
        return connection, collection

    def _on_disconnection(self, reason: int) -> None:  # on the radio loop
        self.disconnect_reason = reason
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._disconnected)
        except RuntimeError:
            pass

    def _disconnected(self) -> None:  # on the client's loop
        was_connected = self._connection is not None
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if was_connected and not self._disconnecting and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            await self.radio.acall(connection.disconnect())
        except bumble_core.BaseBumbleError:
            log.debug("disconnect of %s failed", self.address, exc_info=True)
        finally:
            self._connection = None
            self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the emulated straps need no pairing")

    async def unpair(self) -> None:
        raise NotImplementedError("the emulated straps need no pairing")

    # --- GATT ---------------------------------------------------------------------------------------------------

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False,
                             **kwargs: Any) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self.radio.acall(peer.read_value(characteristic.handle)))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False,
                                   **kwargs: Any) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self.radio.acall(peer.read_value(descriptor.handle)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        peer = self._require_peer()
        await self.radio.acall(peer.write_value(characteristic.handle, bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        peer = self._require_peer()
        await self.radio.acall(peer.write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback,
                           **kwargs: Any) -> None:
        peer = self._require_peer()
        loop = asyncio.get_running_loop()

        def subscriber(value: bytes) -> None:  # on the radio loop
            try:
                loop.call_soon_threadsafe(callback, bytearray(value))
            except RuntimeError:
                pass

        self._subscribers[characteristic.handle] = subscriber
        await self.radio.acall(peer.subscribe(characteristic.obj, subscriber, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self.radio.acall(peer.unsubscribe(characteristic.obj, subscriber))


def make_backend(radio: Radio) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
    """Scanner and client backend classes bound to ``radio``."""
    scanner = type("EmulatedBleakScanner", (EmulatedScannerBackend,), {"radio": radio})
    client = type("EmulatedBleakClient", (EmulatedClientBackend,), {"radio": radio})
    return scanner, client


_TCP_RADIO: Radio | None = None


def factory() -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
    """``--ble-backend tests.emulated.backend:factory``: link to ``python -m tests.emulated.server`` over TCP."""
    global _TCP_RADIO
    if _TCP_RADIO is None:
        _TCP_RADIO = Radio(hci_transport=os.environ.get(HCI_ENV, DEFAULT_HCI))
    return make_backend(_TCP_RADIO)


_LOCAL_RADIO: Radio | None = None


def use_local_radio(radio: Radio | None) -> None:
    """Make :func:`local_factory` return backends for ``radio`` (in-process tests of ``--ble-backend``)."""
    global _LOCAL_RADIO
    _LOCAL_RADIO = radio


def local_factory() -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
    """``--ble-backend tests.emulated.backend:local_factory``: the radio set by :func:`use_local_radio`."""
    if _LOCAL_RADIO is None:
        raise RuntimeError("no local emulated radio set (use_local_radio)")
    return make_backend(_LOCAL_RADIO)
