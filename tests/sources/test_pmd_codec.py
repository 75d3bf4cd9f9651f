"""Polar PMD codec on literal bytes (SCIENCE.md §7 layouts) plus hypothesis round trips.

Data frame: ``[0]`` measurement type (0 ECG, 2 ACC), ``[1:9]`` uint64 LE ns since 2000-01-01 of the last sample,
``[9]`` frame type, then samples: ECG frame type 0x00 = 3-byte signed little-endian µV; ACC frame type 0x01 =
int16 LE x, y, z in milli-g. Control point: commands ``[op, type, settings...]``, answers ``F0 op type error ...``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biotrainer.core.events import AccFrame, DecodeError, EcgFrame
from biotrainer.sources.codecs.pmd import (
    MEASUREMENT_ACC,
    MEASUREMENT_ECG,
    OP_START,
    OP_STOP,
    SETTING_RANGE,
    SETTING_RESOLUTION,
    SETTING_SAMPLE_RATE,
    START_ACC,
    START_ECG,
    STOP_ACC,
    STOP_ECG,
    MalformedPmd,
    PmdDecoder,
    encode_acc_frame,
    encode_ecg_frame,
    parse_pmd_frame,
    parse_pmd_response,
    start_command,
    unix_to_polar_ns,
)

PROPERTIES = settings(derandomize=True, database=None, deadline=None, max_examples=100)

TS_BYTES = "0807060504030201"  # uint64 LE
TS_NS = 0x0102030405060708


# --- ECG (measurement type 0, frame type 0x00) ------------------------------------------------------------------

def test_ecg_frame_literal_bytes():
    frame = bytes.fromhex("00" + TS_BYTES + "00"
                          + "010000"  # +1 µV
                          + "ffffff"  # -1
                          + "ffff7f"  # +8 388 607, the largest 24-bit value
                          + "000080"  # -8 388 608, the smallest
                          + "e80300"  # +1000
                          + "18fcff")  # -1000
    f = parse_pmd_frame(frame)
    assert (f.measurement, f.sensor_ts_ns, f.frame_type) == (MEASUREMENT_ECG, TS_NS, 0x00)
    assert f.samples.dtype == np.int32
    assert f.samples.tolist() == [1, -1, 8_388_607, -8_388_608, 1000, -1000]


def test_ecg_encoder_writes_those_bytes():
    frame = encode_ecg_frame(TS_NS, np.array([1, -1, 8_388_607, -8_388_608, 1000, -1000]))
    assert frame.hex() == "00" + TS_BYTES + "00" + "010000ffffffffff7f000080e8030018fcff"


def test_ecg_sample_outside_24_bits_is_refused_by_the_encoder():
    with pytest.raises(ValueError, match="24-bit"):
        encode_ecg_frame(0, np.array([1 << 23]))


# --- ACC (measurement type 2, frame type 0x01) ------------------------------------------------------------------

def test_acc_frame_literal_bytes():
    frame = bytes.fromhex("02" + TS_BYTES + "01"
                          + "e803" "18fc" "0000"  # x +1000 mg, y -1000 mg, z 0
                          + "ff7f" "0080" "0100")  # +32767, -32768, +1
    f = parse_pmd_frame(frame)
    assert (f.measurement, f.sensor_ts_ns, f.frame_type) == (MEASUREMENT_ACC, TS_NS, 0x01)
    assert f.samples.shape == (2, 3)
    assert f.samples.tolist() == [[1000, -1000, 0], [32767, -32768, 1]]
    assert encode_acc_frame(TS_NS, f.samples) == frame


@pytest.mark.parametrize(("frame", "why"), [
    (bytes.fromhex("00" + TS_BYTES), "too short"),  # 9 bytes: no frame type
    (bytes.fromhex("00" + TS_BYTES + "00"), "whole number of 3-byte"),  # header only
    (bytes.fromhex("00" + TS_BYTES + "00" + "0100"), "whole number of 3-byte"),
    (bytes.fromhex("00" + TS_BYTES + "01" + "010000"), "unsupported ECG frame type 0x01"),
    (bytes.fromhex("02" + TS_BYTES + "01" + "e80318fc"), "whole number of 6-byte"),
    (bytes.fromhex("02" + TS_BYTES + "00" + "e80318fc0000"), "unsupported ACC frame type 0x00"),
    (bytes.fromhex("05" + TS_BYTES + "00" + "010000"), "unknown measurement type 5"),
])
def test_malformed_frames_raise_with_reason(frame, why):
    with pytest.raises(MalformedPmd, match=why):
        parse_pmd_frame(frame)


def test_timestamps_count_from_2000():
    assert unix_to_polar_ns(946_684_800) == 0  # 2000-01-01T00:00:00Z
    assert unix_to_polar_ns(946_684_801.5) == 1_500_000_000
    assert unix_to_polar_ns(1_767_225_600) == 820_540_800 * 10**9  # 2026-01-01T00:00:00Z


# --- control point ----------------------------------------------------------------------------------------------

def test_start_and_stop_commands_literal_bytes():
    assert START_ECG == bytes.fromhex("02 00 00 01 82 00 01 01 0E 00")  # 130 Hz, 14 bit
    assert START_ACC == bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")  # 200 Hz, 16 bit, 8 g
    assert STOP_ECG == bytes.fromhex("03 00") and STOP_ACC == bytes.fromhex("03 02")
    assert start_command(MEASUREMENT_ACC, {SETTING_SAMPLE_RATE: 25, SETTING_RESOLUTION: 16, SETTING_RANGE: 2}) \
        == bytes.fromhex("02 02 00 01 19 00 01 01 10 00 02 01 02 00")


@pytest.mark.parametrize(("raw", "op", "measurement", "error", "payload", "ok"), [
    ("F0 02 00 00", OP_START, MEASUREMENT_ECG, 0, "", True),  # ECG started
    ("F0 02 02 00 00", OP_START, MEASUREMENT_ACC, 0, "00", True),  # ACC started, one trailing byte
    ("F0 03 00 00 00", OP_STOP, MEASUREMENT_ECG, 0, "00", True),
    ("F0 02 00 06 00", OP_START, MEASUREMENT_ECG, 6, "00", False),  # refused (already started)
    # get settings: a "more" byte 00, then sample rate 130 and resolution 14 in the command's own layout
    ("F0 01 00 00 00 00 01 82 00 01 01 0E 00", 0x01, MEASUREMENT_ECG, 0, "00" "00018200" "01010E00", True),
])
def test_control_point_responses_literal_bytes(raw, op, measurement, error, payload, ok):
    r = parse_pmd_response(bytes.fromhex(raw))
    assert (r.op, r.measurement, r.error, r.payload, r.ok) == (op, measurement, error, bytes.fromhex(payload), ok)


@pytest.mark.parametrize("raw", ["", "F0", "F0 02 00", "02 00 00 00", "F1 02 00 00"])
def test_not_a_control_point_response(raw):
    with pytest.raises(MalformedPmd, match="not a control point response"):
        parse_pmd_response(bytes.fromhex(raw))


# --- round trips (hypothesis) -----------------------------------------------------------------------------------

timestamps = st.integers(min_value=0, max_value=(1 << 64) - 1)


@PROPERTIES
@given(timestamps, st.lists(st.integers(min_value=-(1 << 23), max_value=(1 << 23) - 1), min_size=1, max_size=80))
def test_ecg_round_trip(ts_ns, samples):
    frame = encode_ecg_frame(ts_ns, np.array(samples))
    assert len(frame) == 10 + 3 * len(samples)
    f = parse_pmd_frame(frame)
    assert (f.measurement, f.sensor_ts_ns, f.frame_type) == (MEASUREMENT_ECG, ts_ns, 0x00)
    assert f.samples.tolist() == samples


@PROPERTIES
@given(timestamps, st.lists(st.tuples(*[st.integers(min_value=-32768, max_value=32767)] * 3), min_size=1,
                            max_size=40))
def test_acc_round_trip(ts_ns, samples):
    frame = encode_acc_frame(ts_ns, np.array(samples))
    f = parse_pmd_frame(frame)
    assert (f.measurement, f.sensor_ts_ns, f.frame_type) == (MEASUREMENT_ACC, ts_ns, 0x01)
    assert [tuple(s) for s in f.samples.tolist()] == samples
    assert encode_acc_frame(ts_ns, f.samples) == frame


@PROPERTIES
@given(st.sampled_from([MEASUREMENT_ECG, MEASUREMENT_ACC]),
       st.dictionaries(st.integers(0, 255), st.integers(0, 0xFFFF), max_size=4))
def test_start_command_layout(measurement, chosen):
    command = start_command(measurement, chosen)
    assert command[:2] == bytes([OP_START, measurement]) and len(command) == 2 + 4 * len(chosen)
    body = command[2:]
    decoded = {body[i]: int.from_bytes(body[i + 2:i + 4], "little") for i in range(0, len(body), 4)}
    assert decoded == chosen and all(body[i + 1] == 1 for i in range(0, len(body), 4))


@PROPERTIES
@given(st.binary(max_size=64))
def test_any_bytes_decode_to_one_frame_or_one_decode_error(raw):
    dec = PmdDecoder("self", "F0:00:00:00:00:01")
    events = dec.decode(1.0, raw)
    assert len(events) == 1
    if isinstance(events[0], DecodeError):
        assert events[0].stream == "pmd" and dec.malformed == 1
        with pytest.raises(MalformedPmd):
            parse_pmd_frame(raw)
    else:
        assert isinstance(events[0], (EcgFrame, AccFrame)) and dec.malformed == 0
