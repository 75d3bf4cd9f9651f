"""Shared BLE plumbing: backend loading, bleak error translation, running a coroutine from sync code.

bleak is imported inside functions so that importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple, TypeVar

from biotrainer.core.errors import DeviceError, UsageError
from biotrainer.core.errors import DeviceErrorReason as Reason

log = logging.getLogger(__name__)

T = TypeVar("T")

HRS_SHORT = "0x180D"
ADDRESS_RE = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")


class BleBackends(NamedTuple):
    """bleak backend classes (``None`` = the platform's own), passed to ``BleakScanner``/``BleakClient``."""

    scanner: type | None = None
    client: type | None = None


PLATFORM_BACKENDS = BleBackends(None, None)


def is_address(text: str) -> bool:
    """True for a Bluetooth address (``AA:BB:CC:DD:EE:FF``) or a macOS device UUID."""
    return bool(ADDRESS_RE.match(text.strip()))


def normalize_address(address: str) -> str:
    """Upper case, ``-`` separators as ``:`` (``f0-00-...`` and ``F0:00:...`` are the same strap)."""
    return address.strip().upper().replace("-", ":") if len(address.strip()) == 17 else address.strip().upper()


def load_backend(spec: str) -> BleBackends:
    """Load ``MODULE:FACTORY``; ``FACTORY()`` returns ``(scanner_backend_cls, client_backend_cls)``.

    The current directory is importable (as for ``python -m``), so ``tests.emulated.backend:factory`` works
    from a source checkout. Raises UsageError for a malformed spec or a factory returning the wrong thing.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--ble-backend must be MODULE:FACTORY, got {spec!r}")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--ble-backend {spec}: cannot import module {module_name!r}: {exc}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise UsageError(f"--ble-backend {spec}: module {module_name!r} has no callable {attr!r}")
    result = factory()
    from bleak.backends.client import BaseBleakClient
    from bleak.backends.scanner import BaseBleakScanner

    if (not isinstance(result, tuple) or len(result) != 2 or not isinstance(result[0], type)
            or not isinstance(result[1], type) or not issubclass(result[0], BaseBleakScanner)
            or not issubclass(result[1], BaseBleakClient)):
        raise UsageError(f"--ble-backend {spec}: factory must return (BaseBleakScanner subclass, "
                         f"BaseBleakClient subclass), got {result!r}")
    return BleBackends(result[0], result[1])


def backends_from(value: BleBackends | tuple | str | None) -> BleBackends:
    """Accept ``None`` (platform), a ``(scanner, client)`` pair or a ``MODULE:FACTORY`` spec."""
    if value is None:
        return PLATFORM_BACKENDS
    if isinstance(value, str):
        return load_backend(value)
    return BleBackends(*value)


# bleak's BleakBluetoothNotAvailableReason (by member name) -> our reason and the words for the user
_NOT_AVAILABLE: dict[str, tuple[Reason, str]] = {
    "NO_BLUETOOTH": (Reason.NO_ADAPTER, "no Bluetooth adapter found: plug in or enable a Bluetooth LE adapter"),
    "NO_BLE_CENTRAL_ROLE": (Reason.NO_BLE_CENTRAL, "the Bluetooth adapter cannot act as a Bluetooth LE central: "
                                                   "use a Bluetooth 4.0+ adapter"),
    "POWERED_OFF": (Reason.ADAPTER_OFF, "Bluetooth is turned off: turn it on in the system settings and try again"),
    "DENIED_BY_USER": (Reason.PERMISSION, "permission to use Bluetooth was denied: allow it for biotrainer (or your "
                                          "terminal) in the system privacy settings"),
    "DENIED_BY_SYSTEM": (Reason.PERMISSION, "Bluetooth use is blocked by a system policy: ask your administrator"),
    "DENIED_BY_UNKNOWN": (Reason.PERMISSION, "permission to use Bluetooth was denied: check the system privacy "
                                             "settings"),
}


def device_error(exc: BaseException, doing: str, fallback: Reason = Reason.OTHER) -> DeviceError:
    """Translate an exception from bleak or the OS into a one-line DeviceError with a reason.

    bleak's reason enum (``BleakBluetoothNotAvailableError.reason``) is mapped onto ours, not flattened to text;
    errors that say nothing more specific get ``fallback`` (e.g. ``CONNECT_FAILED`` when connecting).
    """
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDeviceNotFoundError, BleakError

    if isinstance(exc, DeviceError):
        return exc
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason, text = _NOT_AVAILABLE.get(getattr(exc.reason, "name", ""),
                                          (Reason.BLUETOOTH_UNAVAILABLE, f"Bluetooth is not available ({exc.args[0]})"))
        return DeviceError(f"cannot {doing}: {text}", reason)
    if isinstance(exc, BleakDeviceNotFoundError):
        return DeviceError(f"cannot {doing}: device {exc.identifier} not found", Reason.NOT_FOUND)
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)) and sys.platform.startswith("linux"):
        return DeviceError(f"cannot {doing}: the BlueZ Bluetooth service is not reachable over D-Bus "
                           f"(is bluetoothd running and a Bluetooth adapter present?)", Reason.NO_ADAPTER)
    if isinstance(exc, PermissionError):
        return DeviceError(f"cannot {doing}: permission to use Bluetooth was denied ({exc})", Reason.PERMISSION)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return DeviceError(f"cannot {doing}: timed out", Reason.TIMEOUT)
    if isinstance(exc, BleakError):
        return DeviceError(f"cannot {doing}: {' '.join(str(a) for a in exc.args) or type(exc).__name__}", fallback)
    return DeviceError(f"cannot {doing}: {type(exc).__name__}: {exc}", fallback)


def run_sync(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a fresh event loop in a helper thread and return its result (re-raising its error).

    Works whether or not the caller already runs an asyncio loop (CLI, Qt, qasync).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make_coro())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="biotrainer-ble-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


# Straps in use by a source in this process (address -> owner): "auto" skips them, so two sources get two straps.
_claimed: dict[str, object] = {}
_claimed_lock = threading.Lock()


def claim(address: str, owner: object) -> bool:
    """Mark ``address`` as used by ``owner``; False if another owner already holds it."""
    key = address.upper()
    with _claimed_lock:
        holder = _claimed.setdefault(key, owner)
        return holder is owner


def release(address: str, owner: object) -> None:
    """Give ``address`` up (only if ``owner`` holds it)."""
    key = address.upper()
    with _claimed_lock:
        if _claimed.get(key) is owner:
            del _claimed[key]


def claimed(except_owner: object | None = None) -> frozenset[str]:
    """Addresses held by owners other than ``except_owner``."""
    with _claimed_lock:
        return frozenset(a for a, o in _claimed.items() if o is not except_owner)
