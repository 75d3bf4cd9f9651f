"""BLE plumbing without a radio: error translation and reasons, backend loading, target matching, backoff, claims."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDeviceNotFoundError,
    BleakError,
)

from biotrainer.core.errors import DeviceError, DeviceErrorReason, UsageError
from biotrainer.sources.ble import BleStrapSource, ReconnectPolicy, device_error, load_backend
from biotrainer.sources.ble.common import claimed, is_address
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
        load_backend("biotrainer.sources.ble.profiles:shipped_devices_dir")


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


# --- reasons: what code branches on ------------------------------------------------------------------------------

@pytest.mark.parametrize(("bleak_reason", "ours"), [
    (BleakBluetoothNotAvailableReason.NO_BLUETOOTH, DeviceErrorReason.NO_ADAPTER),
    (BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE, DeviceErrorReason.NO_BLE_CENTRAL),
    (BleakBluetoothNotAvailableReason.POWERED_OFF, DeviceErrorReason.ADAPTER_OFF),
    (BleakBluetoothNotAvailableReason.DENIED_BY_USER, DeviceErrorReason.PERMISSION),
    (BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM, DeviceErrorReason.PERMISSION),
    (BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN, DeviceErrorReason.PERMISSION),
    (BleakBluetoothNotAvailableReason.UNKNOWN, DeviceErrorReason.BLUETOOTH_UNAVAILABLE),
])
def test_bleak_reason_enum_is_mapped_not_flattened(bleak_reason, ours):
    err = device_error(BleakBluetoothNotAvailableError("raw text", bleak_reason), "scan")
    assert err.reason is ours and err.reason.bluetooth_unavailable


def test_every_bleak_unavailable_reason_is_mapped():
    assert all(device_error(BleakBluetoothNotAvailableError("x", r), "scan").reason.bluetooth_unavailable
               for r in BleakBluetoothNotAvailableReason)


def test_other_errors_carry_reasons():
    assert device_error(BleakDeviceNotFoundError("F0:00", "gone"), "connect").reason is DeviceErrorReason.NOT_FOUND
    assert device_error(TimeoutError(), "connect").reason is DeviceErrorReason.TIMEOUT
    assert device_error(PermissionError("no"), "scan").reason is DeviceErrorReason.PERMISSION
    failed = device_error(BleakError("busy"), "connect", DeviceErrorReason.CONNECT_FAILED)
    assert failed.reason is DeviceErrorReason.CONNECT_FAILED and str(failed) == "cannot connect: busy"
    assert device_error(ValueError("odd"), "read").reason is DeviceErrorReason.OTHER
    assert not DeviceErrorReason.NOT_FOUND.bluetooth_unavailable
    assert DeviceError("x").reason is DeviceErrorReason.OTHER  # the default


def test_profile_errors_carry_the_profile_reason():
    from biotrainer.sources.ble.profiles import load_profiles

    with pytest.raises(DeviceError) as err:
        load_profiles().get("nope")
    assert err.value.reason is DeviceErrorReason.PROFILE


def test_claims_go_through_the_source_not_its_private_state():
    a = BleStrapSource("F0:00:00:00:00:21")
    b = BleStrapSource("auto")
    assert a.claim("f0-00-00-00-00-21")  # one strap, two spellings of its address
    assert a.claim("F0:00:00:00:00:21")
    assert not b.claim("F0:00:00:00:00:21")  # held by a
    assert "F0:00:00:00:00:21" in claimed(except_owner=b) and "F0:00:00:00:00:21" not in claimed(except_owner=a)
    a.stop()  # never started: gives it back
    assert b.claim("F0:00:00:00:00:21")
    b.release()
    assert "F0:00:00:00:00:21" not in claimed()
