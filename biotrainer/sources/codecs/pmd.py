"""Polar Measurement Data (PMD) service codec: ECG and accelerometer from a Polar H10 (SCIENCE.md §7).

Control point (write + indicate) takes ``[op, type, settings...]``; op 0x01 get settings, 0x02 start, 0x03 stop;
it answers ``F0 op type error ...`` (error 0 = success). Data notifications::

    [0]     measurement type (0 ECG, 2 ACC)
    [1:9]   uint64 LE, ns since 2000-01-01T00:00:00 of the *last* sample in the frame
    [9]     frame type (ECG 0x00: 3-byte signed µV samples; ACC 0x01: int16 x,y,z in milli-g)
    [10:]   samples
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from biotrainer.core.events import AccFrame, DecodeError, EcgFrame, Event

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

MEASUREMENT_ECG = 0
MEASUREMENT_ACC = 2
OP_GET_SETTINGS = 0x01
OP_START = 0x02
OP_STOP = 0x03

SETTING_SAMPLE_RATE = 0x00  # Hz
SETTING_RESOLUTION = 0x01  # bits
SETTING_RANGE = 0x02  # g


def start_command(measurement: int, settings: dict[int, int]) -> bytes:
    """The control-point command starting ``measurement`` with ``settings`` (setting type -> value).

    Layout ``02 type [setting_type count=1 value(uint16 LE)]...``, settings in the order given.

    >>> start_command(MEASUREMENT_ECG, {SETTING_SAMPLE_RATE: 130, SETTING_RESOLUTION: 14}).hex()
    '02000001820001010e00'
    """
    out = bytearray([OP_START, measurement])
    for setting, value in settings.items():
        out += bytes([setting, 1]) + struct.pack("<H", value)
    return bytes(out)


ECG_FS_HZ = 130.0
ACC_FS_HZ = 200.0
START_ECG = start_command(MEASUREMENT_ECG, {SETTING_SAMPLE_RATE: 130, SETTING_RESOLUTION: 14})
START_ACC = start_command(MEASUREMENT_ACC, {SETTING_SAMPLE_RATE: 200, SETTING_RESOLUTION: 16, SETTING_RANGE: 8})
STOP_ECG = bytes([OP_STOP, MEASUREMENT_ECG])
STOP_ACC = bytes([OP_STOP, MEASUREMENT_ACC])

POLAR_EPOCH_OFFSET_S = 946684800  # 2000-01-01T00:00:00Z in Unix seconds


class MalformedPmd(ValueError):
    """A PMD frame or response that does not follow the layout."""


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One decoded data notification: measurement type, strap timestamp of the last sample, samples."""

    measurement: int
    sensor_ts_ns: int
    frame_type: int
    samples: np.ndarray  # ECG: int32 (n,) µV; ACC: int16 (n, 3) mg


@dataclass(frozen=True, slots=True)
class PmdResponse:
    """One control-point answer ``F0 op type error payload``; ``ok`` when error is 0."""

    op: int
    measurement: int
    error: int
    payload: bytes

    @property
    def ok(self) -> bool:
        return self.error == 0


def parse_pmd_frame(data: bytes | bytearray) -> PmdFrame:
    """Decode one PMD data notification (ECG frame type 0x00 or ACC frame type 0x01)."""
    n = len(data)
    if n < 10:
        raise MalformedPmd(f"frame too short ({n} bytes)")
    measurement = data[0]
    (ts_ns,) = struct.unpack_from("<Q", data, 1)
    frame_type = data[9]
    body = bytes(data[10:])
    if measurement == MEASUREMENT_ECG:
        if frame_type != 0x00:
            raise MalformedPmd(f"unsupported ECG frame type 0x{frame_type:02x}")
        if len(body) % 3 or not body:
            raise MalformedPmd(f"ECG body of {len(body)} bytes is not a whole number of 3-byte samples")
        raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        values = np.where(values & 0x800000, values - (1 << 24), values).astype(np.int32)
        return PmdFrame(measurement, ts_ns, frame_type, values)
    if measurement == MEASUREMENT_ACC:
        if frame_type != 0x01:
            raise MalformedPmd(f"unsupported ACC frame type 0x{frame_type:02x}")
        if len(body) % 6 or not body:
            raise MalformedPmd(f"ACC body of {len(body)} bytes is not a whole number of 6-byte samples")
        values = np.frombuffer(body, dtype="<i2").astype(np.int16).reshape(-1, 3)
        return PmdFrame(measurement, ts_ns, frame_type, values)
    raise MalformedPmd(f"unknown measurement type {measurement}")


def encode_ecg_frame(sensor_ts_ns: int, samples_uv: np.ndarray) -> bytes:
    """Build an ECG data frame (type 0, frame type 0x00) of 3-byte signed µV samples (simulator, emulated straps)."""
    v = np.asarray(samples_uv, dtype=np.int64)
    if v.size and (v.min() < -(1 << 23) or v.max() >= (1 << 23)):
        raise ValueError("ECG sample out of 24-bit range")
    u = (v & 0xFFFFFF).astype(np.uint32)
    body = np.stack([u & 0xFF, (u >> 8) & 0xFF, (u >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
    return bytes([MEASUREMENT_ECG]) + struct.pack("<Q", sensor_ts_ns) + bytes([0x00]) + body


def encode_acc_frame(sensor_ts_ns: int, samples_mg: np.ndarray) -> bytes:
    """Build an ACC data frame (type 2, frame type 0x01) of int16 x, y, z milli-g samples."""
    body = np.asarray(samples_mg, dtype="<i2").reshape(-1, 3).tobytes()
    return bytes([MEASUREMENT_ACC]) + struct.pack("<Q", sensor_ts_ns) + bytes([0x01]) + body


def parse_pmd_response(data: bytes | bytearray) -> PmdResponse:
    """Decode a control-point indication ``F0 op type error [payload]``."""
    if len(data) < 4 or data[0] != 0xF0:
        raise MalformedPmd(f"not a control point response: {bytes(data).hex()}")
    return PmdResponse(op=data[1], measurement=data[2], error=data[3], payload=bytes(data[4:]))


def unix_to_polar_ns(unix_s: float) -> int:
    """Unix seconds → PMD timestamp (ns since 2000-01-01T00:00:00)."""
    return int(round((unix_s - POLAR_EPOCH_OFFSET_S) * 1e9))


class PmdDecoder:
    """Turn raw PMD frames of one device into ECG/ACC frame events on the session clock.

    The strap's timestamp of the last sample is mapped to session time by an offset
    ``arrival − sensor_time`` kept at its running minimum (the frame cannot arrive before its last sample was
    taken, so the minimum is the best estimate with the least transmission delay). The true sampling rate is
    estimated from successive frame timestamps (``fs_estimate_hz``), since a strap's nominal rate is not exact.
    """

    def __init__(self, participant: str, device: str) -> None:
        self.participant = participant
        self.device = device
        self.malformed = 0
        self._offset_s: dict[int, float] = {}
        self._last_ts: dict[int, tuple[int, int]] = {}
        self._ref_ns: dict[int, int] = {}
        self.fs_estimate_hz: dict[int, float] = {}

    def decode(self, arrival_t_s: float, raw: bytes) -> list[Event]:
        who = {"participant": self.participant, "device": self.device}
        try:
            f = parse_pmd_frame(raw)
        except MalformedPmd as exc:
            self.malformed += 1
            return [DecodeError(t_s=arrival_t_s, stream="pmd", reason=str(exc), **who)]
        # Strap time relative to the first frame's timestamp, in integer ns first: absolute ns since 2000 as a
        # float (~8e8 s) keeps only ~0.1 µs, enough to put a frame's last sample after its own arrival.
        ref_ns = self._ref_ns.setdefault(f.measurement, f.sensor_ts_ns)
        sensor_s = (f.sensor_ts_ns - ref_ns) / 1e9
        off = arrival_t_s - sensor_s
        prev = self._offset_s.get(f.measurement)
        self._offset_s[f.measurement] = off if prev is None else min(prev, off)
        last_t = sensor_s + self._offset_s[f.measurement]
        n = len(f.samples)
        if f.measurement in self._last_ts:
            ts0, _ = self._last_ts[f.measurement]
            dt = (f.sensor_ts_ns - ts0) / 1e9
            if dt > 0:
                est = n / dt
                old = self.fs_estimate_hz.get(f.measurement, est)
                self.fs_estimate_hz[f.measurement] = 0.9 * old + 0.1 * est
        self._last_ts[f.measurement] = (f.sensor_ts_ns, n)
        if f.measurement == MEASUREMENT_ECG:
            return [EcgFrame(t_s=arrival_t_s, fs_hz=ECG_FS_HZ, samples_uv=f.samples, last_sample_t_s=last_t,
                             sensor_ts_ns=f.sensor_ts_ns, **who)]
        return [AccFrame(t_s=arrival_t_s, fs_hz=ACC_FS_HZ, samples_mg=f.samples, last_sample_t_s=last_t,
                         sensor_ts_ns=f.sensor_ts_ns, **who)]
