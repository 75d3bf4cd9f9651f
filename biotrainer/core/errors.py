"""One exception root for biotrainer, with kinds callers can branch on.

The CLI turns any :class:`BiotrainerError` into one line on stderr and a non-zero exit. Code that must tell
failures apart branches on a kind (a subclass) or a reason enum (:class:`DeviceErrorReason`), never on message text.
"""

from __future__ import annotations

import enum


class BiotrainerError(Exception):
    """Root of every error biotrainer raises on purpose. ``str(err)`` is a complete one-line message."""

    exit_code: int = 1


class UsageError(BiotrainerError):
    """The user asked for something that cannot be done as asked (bad option value, unknown name)."""

    exit_code = 2


class ProtocolError(BiotrainerError):
    """A protocol file is missing or does not match the schema. The message names the file and field."""


class RecordingError(BiotrainerError):
    """A recording or the library is missing, corrupt or not writable. The message names the file."""


class SessionNotFoundError(RecordingError):
    """No session with the given id or path exists in the library."""


class DeviceErrorReason(enum.Enum):
    """Why a sensor could not be used: what code branches on (the message is for people).

    Bluetooth's own reasons (bleak's ``BleakBluetoothNotAvailableReason``) map onto the first five members.
    """

    NO_ADAPTER = "no_adapter"  # no Bluetooth adapter, or the system's Bluetooth service is not reachable
    NO_BLE_CENTRAL = "no_ble_central"  # the adapter cannot act as a Bluetooth LE central
    ADAPTER_OFF = "adapter_off"  # Bluetooth is turned off
    PERMISSION = "permission"  # the user, the system or a policy denied the use of Bluetooth
    BLUETOOTH_UNAVAILABLE = "bluetooth_unavailable"  # not available, for a reason the system did not say
    NOT_FOUND = "not_found"  # the device (or stream) was not seen
    IN_USE = "in_use"  # already used by another source of this process
    SCAN_FAILED = "scan_failed"
    CONNECT_FAILED = "connect_failed"
    GATT_FAILED = "gatt_failed"  # connected, but setting the device up or reading it failed
    TIMEOUT = "timeout"
    NOT_SUPPORTED = "not_supported"  # the device lacks what is needed (e.g. no Heart Rate Measurement)
    GAVE_UP = "gave_up"  # the reconnect attempts ran out
    PROFILE = "profile"  # a device profile file is missing or invalid, or an unknown profile id
    OTHER = "other"

    @property
    def bluetooth_unavailable(self) -> bool:
        """True when Bluetooth itself cannot be used (no adapter, turned off, permission denied, ...)."""
        return self in _BLUETOOTH_UNAVAILABLE


_BLUETOOTH_UNAVAILABLE = frozenset({
    DeviceErrorReason.NO_ADAPTER, DeviceErrorReason.NO_BLE_CENTRAL, DeviceErrorReason.ADAPTER_OFF,
    DeviceErrorReason.PERMISSION, DeviceErrorReason.BLUETOOTH_UNAVAILABLE,
})


class DeviceError(BiotrainerError):
    """A sensor could not be found, connected or read; ``reason`` (a :class:`DeviceErrorReason`) says why."""

    def __init__(self, message: str, reason: DeviceErrorReason = DeviceErrorReason.OTHER) -> None:
        super().__init__(message)
        self.reason = reason


class ImportFormatError(BiotrainerError):
    """An input file (RR list, ECG, XDF, EDF) cannot be read. The message names the file and the problem."""


class ExportError(BiotrainerError):
    """An export could not be written."""


__all__ = [
    "BiotrainerError", "DeviceError", "DeviceErrorReason", "ExportError", "ImportFormatError", "ProtocolError",
    "RecordingError", "SessionNotFoundError", "UsageError",
]
