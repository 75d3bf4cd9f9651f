"""One BLE heart-rate strap as a :class:`~biotrainer.core.source.PushSource`, on its own asyncio loop thread.

Per Heart Rate Measurement notification it emits the raw :class:`~biotrainer.core.events.HrPacket` and the decoded
events of :class:`~biotrainer.sources.codecs.hrs.HrsDecoder`; per PMD notification a
:class:`~biotrainer.core.events.PmdPacket` and the :class:`~biotrainer.sources.codecs.pmd.PmdDecoder` frames. Battery level
is read on connect and followed (notifications, else polling). Connection state goes out as
:class:`~biotrainer.core.events.Connection` events:

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

:class:`BleStrapSource` is the front over small parts, one job each: :mod:`~biotrainer.sources.ble.scan` finds the
strap, :mod:`~biotrainer.sources.ble.link` is one connection (with :mod:`~biotrainer.sources.ble.battery` and
:mod:`~biotrainer.sources.ble.pmd_control`), :mod:`~biotrainer.sources.ble.reconnect` decides when to try again,
:mod:`~biotrainer.sources.ble.loop_thread` runs it all on its own asyncio loop and
:mod:`~biotrainer.sources.ble.stop` makes every wait end at once on :meth:`BleStrapSource.stop`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from biotrainer.core.errors import DeviceError, DeviceErrorReason
from biotrainer.core.events import SELF, Battery, Connection, Event, HrPacket, PmdPacket
from biotrainer.core.source import PushSource
from biotrainer.sources.ble.common import (
    BleBackends,
    backends_from,
    claim,
    device_error,
    is_address,
    normalize_address,
    release,
)
from biotrainer.sources.ble.link import LinkHandlers, LinkSettings, StrapLink
from biotrainer.sources.ble.loop_thread import LoopThread
from biotrainer.sources.ble.profiles import DeviceProfile, load_profiles
from biotrainer.sources.ble.reconnect import GiveUp, ReconnectPolicy, keep_connected
from biotrainer.sources.ble.stop import Stopped, StopSignal
from biotrainer.sources.codecs.hrs import BeatTimeline, HrsDecoder
from biotrainer.sources.codecs.pmd import PmdDecoder

log = logging.getLogger(__name__)

STOP_BUDGET_S = 1.8


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
    found : FoundStrap, optional
        What a search already found for this source (:func:`~biotrainer.sources.ble.open_device_source`).
    """

    def __init__(self, target: str = "auto", participant: str = SELF, *, profile: DeviceProfile | None = None,
                 backends: BleBackends | tuple | str | None = None, reconnect: ReconnectPolicy | None = None,
                 scan_timeout_s: float = 10.0, connect_timeout_s: float = 10.0, gatt_timeout_s: float = 3.0,
                 stall_timeout_s: float = 5.0, streams: Sequence[str] | None = None,
                 battery_poll_s: float = 300.0, found: Any = None) -> None:
        self.target = target
        self.participant = participant
        self.fixed_profile = profile
        self.backends = backends_from(backends)
        self.reconnect = reconnect or ReconnectPolicy()
        self.scan_timeout_s = scan_timeout_s
        self.settings = LinkSettings(connect_timeout_s, gatt_timeout_s, stall_timeout_s, battery_poll_s)
        self.streams = tuple(streams) if streams is not None else None
        self.name = f"ble:{target}"
        self.address: str | None = target.upper() if is_address(target) else None
        self.profile: DeviceProfile | None = profile
        self.found: Any = found  # the FoundStrap this source was opened for (open_device_source), if any
        self.connections = 0
        self.error: DeviceError | None = None
        self._emit: Callable[[Event], None] | None = None
        self._now_s: Callable[[], float] = time.monotonic
        self._stop = StopSignal()
        self._thread = LoopThread(f"biotrainer-{self.name}", self._main, on_cancelled=self._on_cancelled,
                                  on_crash=self._on_crash, on_exit=self.release)
        self._finished = False
        self._claimed: str | None = None
        self._hrs: HrsDecoder | None = None
        self._pmd: PmdDecoder | None = None
        self._found_name = ""

    # --- PushSource ----------------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True after a fatal failure (not found, Bluetooth unavailable, reconnect attempts exhausted)."""
        return self._finished

    @property
    def thread_alive(self) -> bool:
        """True while the source's asyncio thread runs."""
        return self._thread.alive

    @property
    def beat_timeline(self) -> BeatTimeline | None:
        """The beat-time reconstruction of the heart-rate decoder (None before the first connection)."""
        return self._hrs.timeline if self._hrs is not None else None

    def claim(self, address: str) -> bool:
        """Reserve the strap at ``address`` for this source, so an ``auto`` source beside it skips it.

        Returns
        -------
        bool
            False when another source already holds it (this source then keeps what it held).
        """
        key = normalize_address(address)
        if self._claimed == key:
            return True
        if not claim(key, self):
            return False
        self.release()  # a strap held before under another spelling of its address
        self._claimed = key
        return True

    def release(self) -> None:
        """Give the reserved strap up (done by :meth:`stop` and when the source's thread ends)."""
        if self._claimed is not None:
            release(self._claimed, self)
            self._claimed = None

    def start(self, emit: Callable[[Event], None], now_s: Callable[[], float]) -> None:
        if self._thread.started:
            raise RuntimeError("BleStrapSource already started")
        self._emit = emit
        self._now_s = now_s
        if self.address is not None:
            self.claim(self.address)  # reserve it at once, so an "auto" source started beside us skips it
        self._thread.start()

    def stop(self) -> None:
        """Disconnect and end the thread; returns within ~2 s even if the strap is stalled."""
        if not self._thread.running:  # opened but never started
            self.release()
            return
        if not self._thread.stop(self._stop.set, STOP_BUDGET_S):
            log.warning("%s: BLE thread still busy after stop; leaving it to finish in the background", self.name)

    # --- the source's loop --------------------------------------------------------------------------------------

    def _send(self, cls: type[Event], **fields: Any) -> None:
        if self._emit is None:
            return
        self._emit(cls(t_s=self._now_s(), participant=self.participant, device=self.address or self.target,
                       **fields))

    def _on_cancelled(self) -> None:
        self._send(Connection, state="disconnected", reason="stopped")

    def _on_crash(self) -> None:
        self._finished = True
        self._send(Connection, state="failed", reason="internal error in the BLE source (see log)")

    async def _main(self) -> None:
        try:
            await keep_connected(self, self.reconnect, self._stop)
        except Stopped:
            return
        except GiveUp as exc:
            self.error = exc.error
            self._finished = True
            self._send(Connection, state="failed", reason=str(exc.error))

    # --- what keep_connected drives (reconnect.Reconnectable) -----------------------------------------------------

    def label(self) -> str:
        """The strap, for messages: its address once known, else the target."""
        return self.address or self.target

    def now_s(self) -> float:
        return self._now_s()

    def retrying(self, attempt: int, delay_s: float, why: str) -> None:
        self._send(Connection, state="reconnecting", reason=f"attempt {attempt} in {delay_s:.1f} s after: {why}")

    async def search(self, first: bool) -> Any:
        """Scan for the target; ``(BLEDevice, FoundStrap)``. Before the first connection a failed search is final."""
        from biotrainer.sources.ble.scan import describe_target, find_strap_async

        spec = self.label()
        if first:
            self._send(Connection, state="connecting", reason=f"searching for {describe_target(spec)}")
        try:
            return await self._stop.bounded(find_strap_async(spec, self.scan_timeout_s, self.backends, self),
                                            self.scan_timeout_s + 5.0, f"{spec}: scan")
        except (Stopped, DeviceError):
            raise
        except Exception as exc:  # noqa: BLE001 - translated to one line; a search that crashes is not retried
            raise GiveUp(device_error(exc, f"search for {spec}", DeviceErrorReason.SCAN_FAILED)) from exc

    async def stream(self, found: Any, dropped_at: float | None) -> None:
        """Connect to what :meth:`search` found and stream until stopped (returns) or dropped (raises Dropped)."""
        device, strap = found
        self._adopt(strap)
        assert self.address is not None
        link = StrapLink(device, self.address, self.backends.client, self.settings, self._stop, LinkHandlers(
            on_hr=self.on_heart_rate_measurement, on_pmd_data=self.on_pmd_data,
            on_battery=lambda percent: self._send(Battery, percent=percent),
            on_connected=lambda info: self._connected(info, dropped_at),
            on_disconnected=lambda why: self._send(Connection, state="disconnected", reason=why)))
        if self.connections == 0 and dropped_at is None:
            self._send(Connection, state="connecting", reason=f"connecting to {self.address}")
        await link.connect()
        self._prepare_decoders()
        await link.run(self.profile or load_profiles().generic, self._found_name, self.streams)

    def _adopt(self, strap: Any) -> None:
        """Take the found strap: reserve it, learn its address, name and profile."""
        if not self.claim(strap.address):
            raise DeviceError(f"strap {strap.address} is already used by another source", DeviceErrorReason.IN_USE)
        self.address = strap.address
        if self.fixed_profile is None:
            self.profile = load_profiles().get(strap.profile_id)
        self._found_name = strap.name

    def _prepare_decoders(self) -> None:
        addr = self.label()
        self._hrs = HrsDecoder(self.participant, addr) if self._hrs is None else self._hrs
        self._hrs.timeline.reset()
        self._pmd = PmdDecoder(self.participant, addr) if self._pmd is None else self._pmd

    def _connected(self, info: dict[str, str], dropped_at: float | None) -> None:
        self.connections += 1
        if dropped_at is not None:
            info["gap_s"] = f"{self._now_s() - dropped_at:.2f}"
        self._send(Connection, state="connected", reason="; ".join(f"{k}={v}" for k, v in info.items()))

    # --- notifications (on the source's loop) -------------------------------------------------------------------

    def on_heart_rate_measurement(self, _char: Any, data: bytearray) -> None:
        """A Heart Rate Measurement notification: the raw :class:`~biotrainer.core.events.HrPacket`, then its events."""
        t_s = self._now_s()
        emit = self._emit
        if emit is None or self._hrs is None:
            return
        raw = bytes(data)
        emit(HrPacket(t_s=t_s, participant=self.participant, device=self._hrs.device, raw=raw))
        for event in self._hrs.decode(t_s, raw):
            emit(event)

    def on_pmd_data(self, _char: Any, data: bytearray) -> None:
        """A PMD data notification: the raw :class:`~biotrainer.core.events.PmdPacket`, then the decoded frame."""
        t_s = self._now_s()
        emit = self._emit
        if emit is None or self._pmd is None:
            return
        raw = bytes(data)
        emit(PmdPacket(t_s=t_s, participant=self.participant, device=self._pmd.device, raw=raw))
        for event in self._pmd.decode(t_s, raw):
            emit(event)
