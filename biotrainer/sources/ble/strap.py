"""One BLE heart-rate strap as a :class:`~biotrainer.sources.base.PushSource`, on its own asyncio loop thread.

Per Heart Rate Measurement notification it emits the raw :class:`~biotrainer.events.HrPacket` and the decoded
events of :class:`~biotrainer.sources.codecs.hrs.HrsDecoder`; per PMD notification a
:class:`~biotrainer.events.PmdPacket` and the :class:`~biotrainer.sources.codecs.pmd.PmdDecoder` frames. Battery level
is read on connect and followed (notifications, else polling). Connection state goes out as
:class:`~biotrainer.events.Connection` events:

- ``connecting`` (reason: what is searched for / connected to),
- ``connected`` (reason: ``key=value`` pairs: ``name``, ``profile``, ``location`` (Body Sensor Location),
  ``mtu``, ``streams`` (PMD streams started), and ``gap_s`` after a reconnect),
- ``disconnected`` (reason: ``link lost``, ``no data for N s``, ``stopped``),
- ``reconnecting`` (reason: attempt number, delay and the last error),
- ``failed`` (reason: a one-line error; the source is then ``finished``).

A drop never ends the session: the source reconnects with exponential backoff (:class:`ReconnectPolicy`); the gap
lies between the ``disconnected`` and the next ``connected`` events. A strap that goes silent while the link stays
up is dropped after ``stall_timeout_s``. Every GATT operation is bounded by a timeout and :meth:`stop` returns
within ~2 s even when the strap is stalled.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from biotrainer.errors import DeviceError
from biotrainer.events import SELF, Battery, Connection, Event, HrPacket, PmdPacket
from biotrainer.sources.base import PushSource
from biotrainer.sources.ble.common import BleBackends, backends_from, claim, device_error, is_address, release
from biotrainer.sources.ble.profiles import DeviceProfile, load_profiles
from biotrainer.sources.codecs.hrs import (
    BATTERY_LEVEL_UUID,
    BODY_SENSOR_LOCATION_UUID,
    BODY_SENSOR_LOCATIONS,
    HEART_RATE_MEASUREMENT_UUID,
    HrsDecoder,
)
from biotrainer.sources.codecs.pmd import (
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    START_ACC,
    START_ECG,
    STOP_ACC,
    STOP_ECG,
    MalformedPmd,
    PmdDecoder,
    parse_pmd_response,
)

log = logging.getLogger(__name__)

_PMD_COMMANDS = {"ecg": (START_ECG, STOP_ECG), "acc": (START_ACC, STOP_ACC)}
STOP_BUDGET_S = 1.8


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
        return min(self.max_delay_s, self.initial_delay_s * self.factor ** max(0, attempt - 1))


class _Stopped(Exception):
    """Internal: the source was asked to stop."""


class _Dropped(Exception):
    """Internal: the link dropped or went silent; the message says how."""


class _Fatal(DeviceError):
    """Internal: no point retrying (Bluetooth unavailable, never found, attempts exhausted)."""


class _NotFound(DeviceError):
    """Internal: the strap was not seen advertising within the scan timeout."""


class BleStrapSource(PushSource):
    """Stream one strap (``target``: ``auto``, an address or a name) for ``participant``.

    Parameters
    ----------
    target : str
        ``auto`` (first strap advertising 0x180D not used by another source), an address, or a name (substring).
    participant : str
        Whose strap it is (``self``, ``client``, ``therapist``).
    profile : DeviceProfile, optional
        Fixed device profile; by default picked from the advertised name.
    backends : (scanner_cls, client_cls), "MODULE:FACTORY" or None
        bleak backend classes (None: the platform's).
    reconnect : ReconnectPolicy
        Backoff between reconnect attempts.
    scan_timeout_s, connect_timeout_s, gatt_timeout_s : float
        Bounds for finding the strap, connecting (with service discovery) and each GATT operation.
    stall_timeout_s : float
        Drop and reconnect when no notification arrives for this long while connected.
    streams : sequence of str, optional
        PMD streams to start (``ecg``, ``acc``) if the strap offers PMD; default: the profile's ``pmd_streams``.
    battery_poll_s : float
        Re-read the battery this often when the strap does not notify it.
    """

    def __init__(self, target: str = "auto", participant: str = SELF, *, profile: DeviceProfile | None = None,
                 backends: BleBackends | tuple | str | None = None, reconnect: ReconnectPolicy | None = None,
                 scan_timeout_s: float = 10.0, connect_timeout_s: float = 10.0, gatt_timeout_s: float = 3.0,
                 stall_timeout_s: float = 5.0, streams: Sequence[str] | None = None,
                 battery_poll_s: float = 300.0) -> None:
        self.target = target
        self.participant = participant
        self.fixed_profile = profile
        self.backends = backends_from(backends)
        self.reconnect = reconnect or ReconnectPolicy()
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.gatt_timeout_s = gatt_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.streams = tuple(streams) if streams is not None else None
        self.battery_poll_s = battery_poll_s
        self.name = f"ble:{target}"
        self.address: str | None = target.upper() if is_address(target) else None
        self.profile: DeviceProfile | None = profile
        self.found: Any = None  # the FoundStrap this source was opened for (open_device_source), if any
        self.connections = 0
        self.error: DeviceError | None = None
        self._emit: Callable[[Event], None] | None = None
        self._now_s: Callable[[], float] = time.monotonic
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._main_task: asyncio.Task | None = None
        self._finished = False
        self._claimed: str | None = None
        self._hrs: HrsDecoder | None = None
        self._pmd: PmdDecoder | None = None
        self._last_data_monotonic = 0.0
        self._pmd_responses: asyncio.Queue | None = None
        self._ready = threading.Event()
        self._found_name = ""
        self._pmd_started: list[str] = []
        self._battery_notifies = False

    # --- PushSource ----------------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True after a fatal failure (not found, Bluetooth unavailable, reconnect attempts exhausted)."""
        return self._finished

    @property
    def hrs_malformed(self) -> int:
        return self._hrs.malformed if self._hrs is not None else 0

    @property
    def pmd_malformed(self) -> int:
        return self._pmd.malformed if self._pmd is not None else 0

    def start(self, emit: Callable[[Event], None], now_s: Callable[[], float]) -> None:
        if self._thread is not None:
            raise RuntimeError("BleStrapSource already started")
        self._emit = emit
        self._now_s = now_s
        if self.address is not None and claim(self.address, self):
            self._claimed = self.address  # reserve it at once, so an "auto" source started beside us skips it
        self._thread = threading.Thread(target=self._thread_main, name=f"biotrainer-{self.name}", daemon=True)
        self._thread.start()
        self._ready.wait(2.0)

    def stop(self) -> None:
        """Disconnect and end the thread; returns within ~2 s even if the strap is stalled."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            if self._claimed is not None:  # opened but never started
                release(self._claimed, self)
                self._claimed = None
            return
        deadline = time.monotonic() + STOP_BUDGET_S
        try:
            loop.call_soon_threadsafe(self._request_stop)
        except RuntimeError:  # loop already closed
            pass
        thread.join(max(0.0, deadline - time.monotonic() - 0.3))
        if thread.is_alive() and self._main_task is not None:
            try:
                loop.call_soon_threadsafe(self._main_task.cancel)
            except RuntimeError:
                pass
            thread.join(max(0.05, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("%s: BLE thread still busy after stop; leaving it to finish in the background", self.name)

    def _request_stop(self) -> None:
        if self._stop_event is not None:
            self._stop_event.set()

    # --- thread and main loop -----------------------------------------------------------------------------------

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._main_task = loop.create_task(self._main())
            self._ready.set()
            loop.run_until_complete(self._main_task)
        except asyncio.CancelledError:
            self._send(Connection, state="disconnected", reason="stopped")
        except BaseException:  # noqa: BLE001 - a crash of the BLE thread must be seen, not kill the app
            log.exception("%s: BLE thread crashed", self.name)
            self._finished = True
            self._send(Connection, state="failed", reason="internal error in the BLE source (see log)")
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in pending:
                    t.cancel()
                if pending:
                    loop.run_until_complete(asyncio.wait(pending, timeout=0.5))
                loop.run_until_complete(loop.shutdown_asyncgens())
            except Exception:  # noqa: BLE001
                log.debug("%s: loop cleanup incomplete", self.name, exc_info=True)
            if self._claimed is not None:
                release(self._claimed, self)
            loop.close()
            self._ready.set()

    def _send(self, cls: type[Event], **fields: Any) -> None:
        if self._emit is None:
            return
        self._emit(cls(t_s=self._now_s(), participant=self.participant, device=self.address or self.target,
                       **fields))

    async def _main(self) -> None:
        self._stop_event = asyncio.Event()
        attempt = 0
        dropped_at: float | None = None
        why = ""
        try:
            while True:
                try:
                    device = await self._find(first=self.connections == 0 and attempt == 0)
                    await self._session(device, dropped_at)
                    return  # stopped while connected
                except _Dropped as exc:
                    why = str(exc)
                    attempt = 0
                    dropped_at = self._now_s()
                except _Fatal:
                    raise
                except DeviceError as exc:
                    why = str(exc)
                    if self.connections == 0 and (isinstance(exc, _NotFound) or attempt >= 2):
                        raise _Fatal(why) from exc  # never connected: fail cleanly instead of retrying forever
                attempt += 1
                if self.reconnect.max_attempts is not None and attempt > self.reconnect.max_attempts:
                    raise _Fatal(f"{self.address or self.target}: gave up after {attempt - 1} reconnect attempts "
                                 f"({why})")
                delay_s = self.reconnect.delay_s(attempt)
                self._send(Connection, state="reconnecting",
                           reason=f"attempt {attempt} in {delay_s:.1f} s after: {why}")
                await self._sleep_or_stop(delay_s)
        except _Stopped:
            return
        except _Fatal as exc:
            self.error = DeviceError(str(exc))
            self._finished = True
            self._send(Connection, state="failed", reason=str(exc))

    async def _sleep_or_stop(self, delay_s: float) -> None:
        assert self._stop_event is not None
        try:
            await asyncio.wait_for(self._stop_event.wait(), delay_s)
        except asyncio.TimeoutError:
            return
        raise _Stopped()

    async def _until_stop(self, coro: Any, timeout_s: float, what: str) -> Any:
        """Await ``coro`` bounded by ``timeout_s``; abandon it at once when the source is stopped."""
        assert self._stop_event is not None
        task = asyncio.ensure_future(coro)
        stopper = asyncio.ensure_future(self._stop_event.wait())
        try:
            done, _ = await asyncio.wait({task, stopper}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task in done:
            return task.result()
        task.cancel()
        if stopper in done:
            raise _Stopped()
        raise DeviceError(f"{self.address or self.target}: {what} timed out after {timeout_s:g} s")

    # --- finding and connecting ---------------------------------------------------------------------------------

    async def _find(self, first: bool) -> Any:
        from biotrainer.sources.ble.scan import describe_target, find_strap_async

        spec = self.address or self.target
        if first:
            self._send(Connection, state="connecting", reason=f"searching for {describe_target(spec)}")
        try:
            device, found = await self._until_stop(find_strap_async(spec, self.scan_timeout_s, self.backends, self),
                                                   self.scan_timeout_s + 5.0, "scan")
        except _Stopped:
            raise
        except DeviceError as exc:
            if "cannot scan" in str(exc):  # Bluetooth unavailable (translated with bleak's reason)
                # before the first connection there is nothing to wait for; mid-session, keep retrying so the
                # strap comes back when Bluetooth is turned on again
                raise (_Fatal(str(exc)) if self.connections == 0 else DeviceError(str(exc))) from exc
            raise _NotFound(str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - translated to one line
            raise _Fatal(str(device_error(exc, f"search for {spec}"))) from exc
        if self._claimed is None:
            if not claim(found.address, self):
                raise DeviceError(f"strap {found.address} is already used by another source")
            self._claimed = found.address
        self.address = found.address
        if self.fixed_profile is None:
            self.profile = load_profiles().get(found.profile_id)
        self._found_name = found.name
        return device

    async def _session(self, device: Any, dropped_at: float | None) -> None:
        """Connect, set up and stream until stopped (returns) or dropped (raises _Dropped)."""
        from bleak import BleakClient

        assert self._stop_event is not None
        lost = asyncio.Event()
        client = BleakClient(device, disconnected_callback=lambda _c: lost.set(), backend=self.backends.client,
                             timeout=self.connect_timeout_s)
        if self.connections == 0 and dropped_at is None:
            self._send(Connection, state="connecting", reason=f"connecting to {self.address}")
        try:
            await self._until_stop(client.connect(), self.connect_timeout_s + 2.0, "connect")
        except (DeviceError, _Stopped):
            raise
        except Exception as exc:  # noqa: BLE001
            from bleak.exc import BleakBluetoothNotAvailableError

            error = device_error(exc, f"connect to {self.address}")
            fatal = isinstance(exc, BleakBluetoothNotAvailableError) and self.connections == 0
            raise (_Fatal(str(error)) if fatal else error) from exc
        try:
            info = await self._setup(client)
            self.connections += 1
            if dropped_at is not None:
                info["gap_s"] = f"{self._now_s() - dropped_at:.2f}"
            self._send(Connection, state="connected", reason="; ".join(f"{k}={v}" for k, v in info.items()))
            await self._watch(client, lost)
        except _Stopped:
            await self._shutdown(client)
            self._send(Connection, state="disconnected", reason="stopped")
            raise
        except _Dropped as exc:
            self._send(Connection, state="disconnected", reason=str(exc))
            await self._disconnect_quietly(client, 1.0)
            raise
        except DeviceError:
            await self._disconnect_quietly(client, 1.0)
            raise
        except Exception as exc:  # noqa: BLE001 - a setup failure: retry
            await self._disconnect_quietly(client, 1.0)
            raise device_error(exc, f"set up {self.address}") from exc

    async def _gatt(self, coro: Any, what: str) -> Any:
        return await self._until_stop(coro, self.gatt_timeout_s, what)

    async def _setup(self, client: Any) -> dict[str, str]:
        """Read location and battery, subscribe to HR (and PMD); returns the ``connected`` reason fields."""
        profile = self.profile or load_profiles().generic
        addr = self.address or self.target
        self._hrs = HrsDecoder(self.participant, addr) if self._hrs is None else self._hrs
        self._hrs.timeline.reset()
        self._pmd = PmdDecoder(self.participant, addr) if self._pmd is None else self._pmd
        services = client.services
        info: dict[str, str] = {"name": self._found_name or client.name, "profile": profile.id}
        if services.get_characteristic(HEART_RATE_MEASUREMENT_UUID) is None:
            raise DeviceError(f"{addr}: no Heart Rate Measurement characteristic (0x2A37)")
        if services.get_characteristic(BODY_SENSOR_LOCATION_UUID) is not None:
            raw = await self._gatt(client.read_gatt_char(BODY_SENSOR_LOCATION_UUID), "reading body sensor location")
            info["location"] = BODY_SENSOR_LOCATIONS.get(raw[0], f"code {raw[0]}") if raw else "unknown"
        info["mtu"] = str(client.mtu_size)
        if profile.min_mtu and client.mtu_size < profile.min_mtu:
            log.warning("%s: ATT MTU %d is below the %d a %s needs for full PMD frames", addr, client.mtu_size,
                        profile.min_mtu, profile.model)
        battery_char = services.get_characteristic(BATTERY_LEVEL_UUID)
        self._battery_notifies = False
        if battery_char is not None:
            await self._read_battery(client)
            if "notify" in battery_char.properties:
                await self._gatt(client.start_notify(BATTERY_LEVEL_UUID, self._on_battery), "subscribing to battery")
                self._battery_notifies = True
        self._last_data_monotonic = time.monotonic()
        await self._gatt(client.start_notify(HEART_RATE_MEASUREMENT_UUID, self._on_hr), "subscribing to heart rate")
        started = await self._start_pmd(client, profile)
        if started:
            info["streams"] = ",".join(started)
        return info

    async def _read_battery(self, client: Any) -> None:
        raw = await self._gatt(client.read_gatt_char(BATTERY_LEVEL_UUID), "reading battery")
        if raw:
            self._send(Battery, percent=int(raw[0]))

    async def _start_pmd(self, client: Any, profile: DeviceProfile) -> list[str]:
        self._pmd_started = []
        wanted = [s for s in (self.streams if self.streams is not None else profile.pmd_streams) if s in _PMD_COMMANDS]
        if not wanted or client.services.get_service(PMD_SERVICE_UUID) is None:
            return []
        self._pmd_responses = asyncio.Queue()
        await self._gatt(client.start_notify(PMD_CONTROL_UUID, self._on_pmd_control), "subscribing to PMD control")
        await self._gatt(client.start_notify(PMD_DATA_UUID, self._on_pmd_data), "subscribing to PMD data")
        started = []
        for stream in wanted:
            command = _PMD_COMMANDS[stream][0]
            await self._gatt(client.write_gatt_char(PMD_CONTROL_UUID, command, response=True), f"starting {stream}")
            response = await self._pmd_response(command[0], command[1])
            if response is None:
                log.warning("%s: no answer to PMD start %s", self.address, stream)
            elif not response.ok:
                log.warning("%s: strap refused PMD start %s (error %d)", self.address, stream, response.error)
            else:
                started.append(stream)
        self._pmd_started = list(started)
        return started

    async def _pmd_response(self, op: int, measurement: int) -> Any:
        assert self._pmd_responses is not None
        deadline = time.monotonic() + self.gatt_timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                raw = await self._until_stop(self._pmd_responses.get(), left, "PMD response")
            except DeviceError:
                return None
            try:
                response = parse_pmd_response(raw)
            except MalformedPmd:
                continue
            if response.op == op and response.measurement == measurement:
                return response

    async def _watch(self, client: Any, lost: asyncio.Event) -> None:
        """Wait while streaming; raise _Stopped or _Dropped."""
        assert self._stop_event is not None
        next_battery = time.monotonic() + self.battery_poll_s
        while True:
            if self._stop_event.is_set():
                raise _Stopped()
            if lost.is_set() or not client.is_connected:
                raise _Dropped("link lost")
            silent_s = time.monotonic() - self._last_data_monotonic
            if silent_s > self.stall_timeout_s:
                raise _Dropped(f"no data for {self.stall_timeout_s:g} s")
            if not self._battery_notifies and time.monotonic() >= next_battery and \
                    client.services.get_characteristic(BATTERY_LEVEL_UUID) is not None:
                next_battery = time.monotonic() + self.battery_poll_s
                try:
                    await self._read_battery(client)
                except DeviceError as exc:
                    log.debug("%s", exc)
            waiters = [asyncio.ensure_future(self._stop_event.wait()), asyncio.ensure_future(lost.wait())]
            try:
                await asyncio.wait(waiters, timeout=min(0.25, self.stall_timeout_s / 4),
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()

    async def _shutdown(self, client: Any) -> None:
        """Stop PMD streams and disconnect, bounded (a stalled strap must not hold up the app)."""
        async def polite() -> None:
            for stream in self._pmd_started:
                await client.write_gatt_char(PMD_CONTROL_UUID, _PMD_COMMANDS[stream][1], response=True)
            await client.disconnect()

        try:
            await asyncio.wait_for(polite(), 0.8)
        except Exception:  # noqa: BLE001 - stopping anyway
            log.debug("%s: polite shutdown incomplete", self.address, exc_info=True)
            await self._disconnect_quietly(client, 0.5)

    async def _disconnect_quietly(self, client: Any, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), timeout_s)
        except Exception:  # noqa: BLE001
            log.debug("%s: disconnect failed", self.address, exc_info=True)

    # --- notification callbacks (on this source's loop) ---------------------------------------------------------

    def _on_hr(self, _char: Any, data: bytearray) -> None:
        t_s = self._now_s()
        self._last_data_monotonic = time.monotonic()
        raw = bytes(data)
        emit = self._emit
        if emit is None or self._hrs is None:
            return
        emit(HrPacket(t_s=t_s, participant=self.participant, device=self._hrs.device, raw=raw))
        for event in self._hrs.decode(t_s, raw):
            emit(event)

    def _on_pmd_data(self, _char: Any, data: bytearray) -> None:
        t_s = self._now_s()
        self._last_data_monotonic = time.monotonic()
        raw = bytes(data)
        emit = self._emit
        if emit is None or self._pmd is None:
            return
        emit(PmdPacket(t_s=t_s, participant=self.participant, device=self._pmd.device, raw=raw))
        for event in self._pmd.decode(t_s, raw):
            emit(event)

    def _on_pmd_control(self, _char: Any, data: bytearray) -> None:
        if self._pmd_responses is not None:
            self._pmd_responses.put_nowait(bytes(data))

    def _on_battery(self, _char: Any, data: bytearray) -> None:
        if data:
            self._send(Battery, percent=int(data[0]))
