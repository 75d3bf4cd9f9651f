"""BLE plumbing without a radio: error translation, backend loading, target matching, backoff."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDeviceNotFoundError,
)

from biotrainer.errors import DeviceError, UsageError
from biotrainer.sources.ble import ReconnectPolicy, device_error, load_backend
from biotrainer.sources.ble.common import is_address
from biotrainer.sources.ble.scan import describe_target, target_matcher


@pytest.mark.parametrize("reason", list(BleakBluetoothNotAvailableReason))
def test_every_bleak_unavailable_reason_gives_a_distinct_one_line_message(reason):
    err = device_error(BleakBluetoothNotAvailableError("raw text", reason), "scan")
    assert isinstance(err, DeviceError) and str(err).startswith("cannot scan: ") and "\n" not in str(err)


def test_unavailable_messages_name_the_cause():
    def msg(reason):
        return str(device_error(BleakBluetoothNotAvailableError("x", reason), "scan"))

    R = BleakBluetoothNotAvailableReason
    assert "no Bluetooth adapter" in msg(R.NO_BLUETOOTH)
    assert "turned off" in msg(R.POWERED_OFF)
    assert "permission" in msg(R.DENIED_BY_USER)
    assert "policy" in msg(R.DENIED_BY_SYSTEM)
    texts = {msg(r) for r in R}
    assert len(texts) == len(R)


def test_other_errors_are_one_line():
    assert "F0:00" in str(device_error(BleakDeviceNotFoundError("F0:00", "gone"), "connect"))
    if sys.platform.startswith("linux"):
        assert "BlueZ" in str(device_error(FileNotFoundError(2, "No such file"), "scan"))
    assert str(device_error(ValueError("odd"), "read")) == "cannot read: ValueError: odd"


def test_load_backend_checks_the_spec():
    with pytest.raises(UsageError, match="MODULE:FACTORY"):
        load_backend("no_colon")
    with pytest.raises(UsageError, match="cannot import module 'not_a_module_xyz'"):
        load_backend("not_a_module_xyz:factory")
    with pytest.raises(UsageError, match="no callable 'nope'"):
        load_backend("tests.emulated.backend:nope")
    with pytest.raises(UsageError, match="factory must return"):
        load_backend("biotrainer.sources.ble.profiles:default_devices_dir")


def test_reconnect_backoff_grows_and_is_capped():
    p = ReconnectPolicy(initial_delay_s=0.5, factor=2.0, max_delay_s=3.0)
    assert [p.delay_s(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def adv(name):
    return SimpleNamespace(local_name=name)


def dev(address, name=None):
    return SimpleNamespace(address=address, name=name)


def test_target_matching_auto_address_name():
    auto = target_matcher("auto", frozenset({"F0:00:00:00:00:01"}))
    assert not auto(dev("F0:00:00:00:00:01"), adv("A")) and auto(dev("F0:00:00:00:00:02"), adv("B"))
    by_addr = target_matcher("f0-00-00-00-00-02")
    assert by_addr(dev("F0:00:00:00:00:02"), adv(None)) and not by_addr(dev("F0:00:00:00:00:03"), adv(None))
    by_name = target_matcher("h10")
    assert by_name(dev("X", "Polar H10 1234"), adv(None)) and by_name(dev("X"), adv("POLAR H10 9"))
    assert not by_name(dev("X"), adv("Polar H9 1"))


def test_addresses_and_descriptions():
    assert is_address("F0:00:00:00:00:01") and is_address("f0-00-00-00-00-01")
    assert is_address("12345678-1234-1234-1234-123456789ABC")  # macOS device UUID
    assert not is_address("Polar H10") and not is_address("auto")
    assert "0x180D" in describe_target("auto") and "'Polar'" in describe_target("Polar")
