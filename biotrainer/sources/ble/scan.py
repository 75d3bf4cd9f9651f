"""Find heart-rate straps by the Heart Rate Service (0x180D) — never by name.

:func:`scan` lists every device advertising 0x180D with its name, address, signal strength, battery (from the
advertisement's Battery service data, or read over a short connection) and the device profile its name picks.
:func:`find_strap` resolves ``auto`` / an address / a name to one strap, or raises a DeviceError naming what was
searched for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from biotrainer.core.errors import DeviceError, DeviceErrorReason
from biotrainer.sources.ble.common import (
    HRS_SHORT,
    BleBackends,
    backends_from,
    claimed,
    device_error,
    is_address,
    normalize_address,
    run_sync,
)
from biotrainer.sources.ble.profiles import DeviceProfile, load_profiles
from biotrainer.sources.codecs.hrs import BATTERY_LEVEL_UUID, BATTERY_SERVICE_UUID, HEART_RATE_SERVICE_UUID

log = logging.getLogger(__name__)

DEFAULT_SCAN_TIMEOUT_S = 5.0
BATTERY_READ_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class FoundStrap:
    """A device seen advertising the Heart Rate Service.

    ``battery_percent`` is None when it could not be read; ``profile_id``/``model`` name the device profile its
    advertised name picks (``generic`` when none matches).
    """

    name: str
    address: str
    rssi_dbm: int | None
    battery_percent: int | None
    profile_id: str
    model: str
    service_uuids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["service_uuids"] = list(self.service_uuids)
        return d


def _battery_from_adv(adv: Any) -> int | None:
    data = adv.service_data.get(BATTERY_SERVICE_UUID) or adv.service_data.get(BATTERY_LEVEL_UUID)
    if data and 0 <= data[0] <= 100:
        return int(data[0])
    return None


async def _read_battery(device: Any, client_cls: type | None, timeout_s: float) -> int | None:
    from bleak import BleakClient

    async def read() -> int | None:
        async with BleakClient(device, backend=client_cls, timeout=timeout_s) as client:
            if client.services.get_characteristic(BATTERY_LEVEL_UUID) is None:
                return None
            value = await client.read_gatt_char(BATTERY_LEVEL_UUID)
            return int(value[0]) if value and value[0] <= 100 else None

    try:
        return await asyncio.wait_for(read(), timeout_s)
    except Exception as exc:  # noqa: BLE001 - battery is optional in a scan
        log.debug("battery of %s not readable: %s", device.address, exc)
        return None


def _to_found(device: Any, adv: Any, profile: DeviceProfile, battery: int | None) -> FoundStrap:
    name = adv.local_name or device.name or ""
    return FoundStrap(name=name, address=device.address, rssi_dbm=adv.rssi, battery_percent=battery,
                      profile_id=profile.id, model=profile.model, service_uuids=tuple(adv.service_uuids))


async def _discover(timeout_s: float, backends: BleBackends,
                    stop_when: Callable[[Any, Any], bool] | None = None) -> dict[str, tuple[Any, Any]]:
    """Scan for 0x180D for ``timeout_s`` (or until ``stop_when(device, adv)``); address -> (device, adv)."""
    from bleak import BleakScanner

    seen: dict[str, tuple[Any, Any]] = {}
    done = asyncio.Event()

    def on_adv(device: Any, adv: Any) -> None:
        if HEART_RATE_SERVICE_UUID not in adv.service_uuids:
            return  # a backend that ignores the filter
        seen[device.address] = (device, adv)
        if stop_when is not None and stop_when(device, adv):
            done.set()

    scanner = BleakScanner(on_adv, service_uuids=[HEART_RATE_SERVICE_UUID], backend=backends.scanner)
    try:
        await scanner.start()
    except Exception as exc:  # noqa: BLE001 - translated
        raise device_error(exc, f"scan for heart-rate straps (service {HRS_SHORT})", DeviceErrorReason.SCAN_FAILED) \
            from exc
    try:
        try:
            await asyncio.wait_for(done.wait(), timeout_s)
        except asyncio.TimeoutError:
            pass
    finally:
        try:
            await scanner.stop()
        except Exception:  # noqa: BLE001 - stopping a scan must not hide the result
            log.debug("scanner stop failed", exc_info=True)
    return seen


async def scan_async(timeout_s: float = DEFAULT_SCAN_TIMEOUT_S, backend: BleBackends | tuple | str | None = None,
                     *, read_battery: bool = True,
                     battery_timeout_s: float = BATTERY_READ_TIMEOUT_S) -> list[FoundStrap]:
    """Async :func:`scan`, for callers that already run an asyncio loop (qasync)."""
    backends = backends_from(backend)
    profiles = load_profiles()
    seen = await _discover(timeout_s, backends)
    items = list(seen.values())
    batteries: list[int | None] = [_battery_from_adv(adv) for _, adv in items]
    if read_battery:
        todo = [i for i, b in enumerate(batteries) if b is None]
        results = await asyncio.gather(*(_read_battery(items[i][0], backends.client, battery_timeout_s)
                                         for i in todo))
        for i, value in zip(todo, results, strict=True):
            batteries[i] = value
    found = [_to_found(dev, adv, profiles.match(adv.local_name or dev.name), bat)
             for (dev, adv), bat in zip(items, batteries, strict=True)]
    found.sort(key=lambda f: (-(f.rssi_dbm if f.rssi_dbm is not None else -999), f.address))
    return found


def scan(timeout_s: float = DEFAULT_SCAN_TIMEOUT_S, backend: BleBackends | tuple | str | None = None, *,
         read_battery: bool = True) -> list[FoundStrap]:
    """List straps advertising the Heart Rate Service (0x180D), strongest signal first.

    Parameters
    ----------
    timeout_s : float
        How long to listen for advertisements.
    backend : (scanner_cls, client_cls), "MODULE:FACTORY" or None
        bleak backend classes; None uses the platform's.
    read_battery : bool
        Connect briefly to straps whose advertisement carries no battery level, to read it.

    Returns
    -------
    list of FoundStrap
        Raises DeviceError (one line, e.g. "Bluetooth is turned off") when scanning is impossible.
    """
    return run_sync(lambda: scan_async(timeout_s, backend, read_battery=read_battery))


def describe_target(spec: str) -> str:
    """Human words for a ``--device`` value: what is being searched for."""
    if spec == "auto":
        return f"any strap advertising the Heart Rate Service ({HRS_SHORT})"
    if is_address(spec):
        return f"a strap with address {spec} advertising the Heart Rate Service ({HRS_SHORT})"
    return f"a strap named {spec!r} advertising the Heart Rate Service ({HRS_SHORT})"


def target_matcher(spec: str, skip: frozenset[str] = frozenset()) -> Callable[[Any, Any], bool]:
    """Predicate ``(device, adv) -> bool`` for ``auto``, an address, or a name; addresses in ``skip`` never match.

    A name matches as a case-insensitive substring of the advertised name.
    """
    def free(dev: Any) -> bool:
        return dev.address.upper() not in skip

    if spec == "auto":
        return lambda dev, adv: free(dev)
    if is_address(spec):
        want = normalize_address(spec)
        return lambda dev, adv: free(dev) and normalize_address(dev.address) == want
    needle = spec.casefold()
    return lambda dev, adv: free(dev) and needle in (adv.local_name or dev.name or "").casefold()


async def find_strap_async(spec: str, timeout_s: float, backend: BleBackends | tuple | str | None = None,
                           owner: object | None = None, *, read_battery: bool = False) -> tuple[Any, FoundStrap]:
    """Scan until a strap matching ``spec`` (``auto``, address or name) is seen; ``(BLEDevice, FoundStrap)``.

    Straps held by another source of this process (other than ``owner``) are skipped. Raises DeviceError naming
    what was searched for when none is seen within ``timeout_s``. With ``read_battery`` a strap whose advertisement
    carries no battery level is connected briefly to read it (as :func:`scan` does).
    """
    backends = backends_from(backend)
    match = target_matcher(spec, claimed(except_owner=owner))
    t0 = time.monotonic()
    seen = await _discover(timeout_s, backends, stop_when=match)
    hits = [(dev, adv) for dev, adv in seen.values() if match(dev, adv)]
    if not hits:
        def label(dev: Any, adv: Any) -> str:
            return f"{adv.local_name or dev.name or '?'} ({dev.address})"

        any_match = target_matcher(spec)
        taken = sorted(label(d, a) for d, a in seen.values() if any_match(d, a))
        others = sorted(label(d, a) for d, a in seen.values() if not any_match(d, a))
        extra = f"; already used by another source: {', '.join(taken)}" if taken else ""
        extra += f"; seen: {', '.join(others)}" if others else ""
        reason = DeviceErrorReason.IN_USE if taken else DeviceErrorReason.NOT_FOUND  # matching straps all taken
        raise DeviceError(f"no strap found within {timeout_s:g} s: searched for {describe_target(spec)}{extra}",
                          reason)
    dev, adv = hits[0]
    log.debug("found %s after %.2f s", dev.address, time.monotonic() - t0)
    profile = load_profiles().match(adv.local_name or dev.name)
    battery = _battery_from_adv(adv)
    if battery is None and read_battery:
        battery = await _read_battery(dev, backends.client, BATTERY_READ_TIMEOUT_S)
    return dev, _to_found(dev, adv, profile, battery)


def find_strap(spec: str, timeout_s: float = 10.0, backend: BleBackends | tuple | str | None = None) -> FoundStrap:
    """Blocking :func:`find_strap_async` returning the :class:`FoundStrap` (raises DeviceError if none)."""
    return run_sync(lambda: find_strap_async(spec, timeout_s, backend))[1]


__all__ = ["FoundStrap", "describe_target", "find_strap", "find_strap_async", "scan", "scan_async", "target_matcher"]
