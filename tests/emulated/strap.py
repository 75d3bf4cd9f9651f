"""An emulated heart-rate strap: a bumble GATT server on an emulated controller.

Services: Heart Rate (0x180D: Measurement 0x2A37 notify, Body Sensor Location 0x2A38 read), Battery (0x180F:
Level 0x2A19 read + notify) and, for a Polar-like strap, PMD (control point write + indicate, data notify) with ECG
(130 Hz, 73 samples a frame as an H10 sends) and ACC (200 Hz, 36 samples a frame). Like a real H10, PMD refuses to
start when the ATT MTU is too small for a frame.

Everything here runs on the radio's loop (:class:`tests.emulated.radio.Radio`); the synchronous methods without
an ``a`` prefix may be called from any other thread (the test's).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bumble import gatt, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device, DeviceConfiguration
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink

from biotrainer.sources.codecs.hrs import encode_heart_rate_measurement
from biotrainer.sources.codecs.pmd import (
    MEASUREMENT_ACC,
    MEASUREMENT_ECG,
    OP_GET_SETTINGS,
    OP_START,
    OP_STOP,
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    encode_acc_frame,
    encode_ecg_frame,
    unix_to_polar_ns,
)
from tests.emulated.controller import FixedController

log = logging.getLogger(__name__)

ECG_SAMPLES_PER_FRAME = 73  # 10 + 73*3 = 229 bytes: needs ATT MTU >= 232, as a real H10
ACC_SAMPLES_PER_FRAME = 36  # 10 + 36*6 = 226 bytes
ECG_FS_HZ = 130.0
ACC_FS_HZ = 200.0
PMD_ERROR_NOT_SUPPORTED = 3
PMD_ERROR_ALREADY_IN_STATE = 6
PMD_ERROR_INVALID_MTU = 10
REASON_REMOTE_USER_TERMINATED = 0x13
REASON_SUPERVISION_TIMEOUT = 0x08


@dataclass
class StrapConfig:
    """What an emulated strap is and offers.

    ``speed`` compresses strap time: at 10, ten seconds of beats (and their notifications) pass in one second, so
    tests can stream minutes of beats quickly. RR values are unchanged.
    """

    name: str = "Polar H10 0A1B2C3D"
    address: str = "F0:00:00:00:00:01"
    body_location: int = 1
    battery_percent: int = 87
    pmd: bool = True
    contact_supported: bool = True
    hr_uint16: bool = False
    energy: bool = False
    adv_interval_ms: float = 20.0
    notify_interval_s: float = 1.0
    speed: float = 1.0
    pmd_min_mtu: int = 232
    battery_notify: bool = True
    hrs: bool = True  # False: a non-strap device (no Heart Rate Service, not advertised)


@dataclass
class Sent:
    """A notification the strap delivered to a subscribed central (strap-side log for the tests to compare)."""

    t_perf_s: float
    raw: bytes
    rr_1024: tuple[int, ...] = ()


@dataclass
class StrapLog:
    hr: list[Sent] = field(default_factory=list)
    pmd: list[Sent] = field(default_factory=list)
    control: list[bytes] = field(default_factory=list)  # control point writes received

    def rr_1024(self) -> list[int]:
        return [v for s in self.hr for v in s.rr_1024]


def _uuid(u: str) -> UUID:
    return UUID(u.upper())


class EmulatedStrap:
    """One emulated strap on a bumble link. Create through :meth:`tests.emulated.radio.Radio.add_strap`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, link: Any, config: StrapConfig) -> None:
        self.loop = loop
        self.config = config
        self.log = StrapLog()
        self.contact = True
        self.battery_percent = config.battery_percent
        self.hr_bpm = 60
        self.energy_kj = 0
        self.connections: list[Connection] = []
        self._stalled = False
        self._unstalled = asyncio.Event()
        self._unstalled.set()
        self._tasks: dict[str, asyncio.Task] = {}
        self._epoch_unix_s = 1_780_000_000.0  # the strap's own clock starts somewhere in 2026
        self._t0_perf = time.perf_counter()
        self.controller = FixedController(f"strap-{config.address}", link=link)
        self.device = Device(
            config=DeviceConfiguration(name=config.name, address=hci.Address(config.address)),
            host=Host(self.controller, AsyncPipeSink(self.controller)),
        )
        self._build_gatt()
        self.device.on("connection", self._on_connection)

    # --- GATT database ------------------------------------------------------------------------------------------

    def _build_gatt(self) -> None:
        C = gatt.Characteristic
        self.hrm = C(gatt.GATT_HEART_RATE_MEASUREMENT_CHARACTERISTIC, C.Properties.NOTIFY, 0, b"")
        self.bsl = C(gatt.GATT_BODY_SENSOR_LOCATION_CHARACTERISTIC, C.Properties.READ, C.READABLE,
                     gatt.CharacteristicValue(read=self._read_bsl))
        props = C.Properties.READ | (C.Properties.NOTIFY if self.config.battery_notify else 0)
        self.battery = C(gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC, props, C.READABLE,
                         gatt.CharacteristicValue(read=self._read_battery))
        if self.config.hrs:
            self.device.add_service(gatt.Service(gatt.GATT_HEART_RATE_SERVICE, [self.hrm, self.bsl]))
        self.device.add_service(gatt.Service(gatt.GATT_BATTERY_SERVICE, [self.battery]))
        self.pmd_cp = self.pmd_data = None
        if self.config.pmd:
            self.pmd_cp = C(_uuid(PMD_CONTROL_UUID), C.Properties.WRITE | C.Properties.INDICATE | C.Properties.READ,
                            C.READABLE | C.WRITEABLE,
                            gatt.CharacteristicValue(read=self._read_cp, write=self._write_cp))
            self.pmd_data = C(_uuid(PMD_DATA_UUID), C.Properties.NOTIFY, 0, b"")
            self.device.add_service(gatt.Service(_uuid(PMD_SERVICE_UUID), [self.pmd_cp, self.pmd_data]))
        uuids = ([UUID.from_16_bits(0x180D)] if self.config.hrs else []) + [UUID.from_16_bits(0x180F)]
        services = [(AdvertisingData.COMPLETE_LOCAL_NAME, self.config.name.encode()),
                    (AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, b"".join(bytes(u) for u in uuids))]
        self.device.advertising_data = bytes(AdvertisingData(services))

    async def _read_bsl(self, _conn: Connection) -> bytes:
        await self._unstalled.wait()
        return bytes([self.config.body_location])

    async def _read_battery(self, _conn: Connection) -> bytes:
        await self._unstalled.wait()
        return bytes([self.battery_percent])

    async def _read_cp(self, _conn: Connection) -> bytes:
        await self._unstalled.wait()
        return bytes([0x0F, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00])  # feature read: ECG + ACC

    async def _write_cp(self, conn: Connection, value: bytes) -> None:
        await self._unstalled.wait()
        value = bytes(value)
        self.log.control.append(value)
        if len(value) < 2:
            return
        op, mtype = value[0], value[1]
        error = 0
        if mtype not in (MEASUREMENT_ECG, MEASUREMENT_ACC):
            error = PMD_ERROR_NOT_SUPPORTED
        elif op == OP_START:
            if conn.att_mtu < self.config.pmd_min_mtu:
                error = PMD_ERROR_INVALID_MTU
            elif mtype in self._tasks:
                error = PMD_ERROR_ALREADY_IN_STATE
            else:
                self._tasks[mtype] = asyncio.create_task(self._pmd_loop(mtype))
        elif op == OP_STOP:
            task = self._tasks.pop(mtype, None)
            if task is not None:
                task.cancel()
        elif op != OP_GET_SETTINGS:
            error = 1
        response = bytes([0xF0, op, mtype, error, 0x00])
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(self._indicate(conn, self.pmd_cp, response)))

    async def _indicate(self, conn: Connection, attr: Any, value: bytes) -> None:
        try:
            await self.device.indicate_subscriber(conn, attr, value)
        except Exception:  # noqa: BLE001 - a central that left; nothing to tell
            log.debug("indication to %s failed", conn, exc_info=True)

    # --- connections --------------------------------------------------------------------------------------------

    def _on_connection(self, conn: Connection) -> None:
        self.connections.append(conn)

        def gone(_reason: int) -> None:
            if conn in self.connections:
                self.connections.remove(conn)
            if not self.connections:  # PMD streams stop with the link (the heart goes on beating)
                for key in [k for k in self._tasks if isinstance(k, int)]:
                    self._tasks.pop(key).cancel()

        conn.on("disconnection", gone)

    def _subscribed(self, attr: Any) -> bool:
        for cccds in self.device.gatt_server.subscribers.values():
            cccd = cccds.get(attr.handle)
            if cccd and cccd[0] & 0x03:
                return True
        return False

    @property
    def strap_time_s(self) -> float:
        """The strap's own clock in seconds since it was created (scaled by ``speed``)."""
        return (time.perf_counter() - self._t0_perf) * self.config.speed

    async def astart(self) -> None:
        await self.device.power_on()
        await self.astart_advertising()

    async def astart_advertising(self) -> None:
        await self.device.start_advertising(auto_restart=True, advertising_interval_min=self.config.adv_interval_ms,
                                            advertising_interval_max=self.config.adv_interval_ms)

    async def anotify_hr(self, raw: bytes, rr_1024: Sequence[int] = ()) -> bool:
        """Send one Heart Rate Measurement packet; returns whether a central was subscribed to receive it."""
        if self._stalled or not self._subscribed(self.hrm):
            return False
        self.log.hr.append(Sent(time.perf_counter(), bytes(raw), tuple(rr_1024)))
        await self.device.notify_subscribers(self.hrm, bytes(raw))
        return True

    def hr_packet(self, rr_1024: Sequence[int]) -> bytes:
        """The packet this strap's settings produce for ``rr_1024``."""
        if rr_1024:
            self.hr_bpm = int(round(60.0 * 1024.0 / (sum(rr_1024) / len(rr_1024))))
        return encode_heart_rate_measurement(
            self.hr_bpm, tuple(rr_1024), contact=self.contact if self.config.contact_supported else None,
            energy_kj=self.energy_kj if self.config.energy else None, hr_uint16=self.config.hr_uint16)

    async def _beats_loop(self, rr_1024: Sequence[int], repeat: bool) -> None:
        """Beat with the given RR intervals; every ``notify_interval_s`` of strap time send the beats that ended."""
        speed = self.config.speed
        interval_s = self.config.notify_interval_s
        beat_end_s: list[float] = []
        t = 0.0
        i = 0
        n = len(rr_1024)
        pending: list[int] = []
        start_perf = time.perf_counter()
        tick = 0
        while True:
            tick += 1
            tick_s = tick * interval_s
            while (i < n or repeat) and t + rr_1024[i % n] / 1024.0 <= tick_s:
                t += rr_1024[i % n] / 1024.0
                beat_end_s.append(t)
                pending.append(int(rr_1024[i % n]))
                i += 1
            delay = start_perf + tick_s / speed - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.contact:
                pending.clear()  # a strap without contact sends HR but no intervals
            packet_rr = pending[:9]
            del pending[:9]
            await self.anotify_hr(self.hr_packet(packet_rr), packet_rr)
            if i >= n and not repeat and not pending:
                return

    async def _pmd_loop(self, mtype: int) -> None:
        per_frame = ECG_SAMPLES_PER_FRAME if mtype == MEASUREMENT_ECG else ACC_SAMPLES_PER_FRAME
        fs_hz = ECG_FS_HZ if mtype == MEASUREMENT_ECG else ACC_FS_HZ
        start_s = self.strap_time_s
        k = 0
        while True:
            k += per_frame
            last_s = start_s + (k - 1) / fs_hz
            delay = (last_s - self.strap_time_s) / self.config.speed
            if delay > 0:
                await asyncio.sleep(delay)
            t = last_s - np.arange(per_frame - 1, -1, -1) / fs_hz
            ts_ns = unix_to_polar_ns(self._epoch_unix_s) + int(round(last_s * 1e9))
            if mtype == MEASUREMENT_ECG:
                phase = np.mod(t, 1.0)
                samples = np.rint(1200.0 * np.exp(-((phase - 0.5) / 0.012) ** 2) - 80.0).astype(np.int32)
                raw = encode_ecg_frame(ts_ns, samples)
            else:
                z = 1000.0 + 15.0 * np.sin(2 * math.pi * t / 10.0)
                samples = np.stack([np.full_like(t, 12.0), np.full_like(t, -30.0), z], axis=1)
                raw = encode_acc_frame(ts_ns, np.rint(samples).astype(np.int16))
            if self._stalled or not self._subscribed(self.pmd_data):
                continue
            self.log.pmd.append(Sent(time.perf_counter(), raw))
            await self.device.notify_subscribers(self.pmd_data, raw)

    async def adisconnect(self, reason: int = REASON_REMOTE_USER_TERMINATED) -> None:
        for conn in list(self.connections):
            await conn.disconnect(reason=reason)

    async def avanish(self, off_s: float) -> None:
        """Go out of range: the link drops (supervision timeout 0x08) and no advertising for ``off_s`` seconds."""
        await self.device.stop_advertising()
        await self.adisconnect(REASON_SUPERVISION_TIMEOUT)
        await self.device.stop_advertising()
        if off_s != math.inf:
            await asyncio.sleep(off_s)
            await self.astart_advertising()

    # --- thread-safe controls (for tests) -----------------------------------------------------------------------

    def _call(self, coro: Any, timeout_s: float = 10.0) -> Any:
        fut: Future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout_s)

    def start_beats(self, rr_1024: Sequence[int], *, repeat: bool = False) -> None:
        """Start beating with ``rr_1024`` (1/1024 s) from now; replaces a running beat stream."""
        async def go() -> None:
            old = self._tasks.pop("beats", None)
            if old is not None:
                old.cancel()
            self._tasks["beats"] = asyncio.create_task(self._beats_loop(list(rr_1024), repeat))
        self._call(go())

    def beats_done(self) -> bool:
        async def go() -> bool:
            task = self._tasks.get("beats")
            return task is None or task.done()
        return self._call(go())

    def send_hr(self, raw: bytes, rr_1024: Sequence[int] = ()) -> bool:
        return self._call(self.anotify_hr(raw, rr_1024))

    def disconnect(self, reason: int = REASON_REMOTE_USER_TERMINATED) -> None:
        self._call(self.adisconnect(reason))

    def vanish(self, off_s: float) -> None:
        """Drop the link with a supervision timeout and stay silent for ``off_s`` (returns at once)."""
        asyncio.run_coroutine_threadsafe(self.avanish(off_s), self.loop)

    def set_contact(self, contact: bool) -> None:
        self.loop.call_soon_threadsafe(setattr, self, "contact", contact)

    def set_battery(self, percent: int) -> None:
        async def go() -> None:
            self.battery_percent = percent
            if self._subscribed(self.battery):
                await self.device.notify_subscribers(self.battery, bytes([percent]))
        self._call(go())

    def stall(self) -> None:
        """Stop answering and sending anything (a hung strap firmware) while the link stays up."""
        def go() -> None:
            self._stalled = True
            self._unstalled.clear()
        self.loop.call_soon_threadsafe(go)

    def unstall(self) -> None:
        def go() -> None:
            self._stalled = False
            self._unstalled.set()
        self.loop.call_soon_threadsafe(go)

    @property
    def connected(self) -> bool:
        return bool(self.connections)

