"""Bluetooth Heart Rate Service: Heart Rate Measurement (0x2A37) codec and beat-time reconstruction.

Byte layout (Bluetooth SIG Heart Rate Service 1.0; SCIENCE.md §7), little-endian::

    flags  bit 0     HR format: 0 uint8, 1 uint16 (bpm)
           bits 2:1  contact: 0/1 feature unsupported, 2 supported + no contact, 3 supported + contact
           bit 3     Energy Expended present (uint16 kJ), comes before RR values
           bit 4     RR intervals present: the rest is uint16 in 1/1024 s, oldest first
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from biotrainer.core.events import Beat, Contact, DecodeError, Event, HeartRate

HEART_RATE_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_UUID = "00002a38-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"

BODY_SENSOR_LOCATIONS = {0: "other", 1: "chest", 2: "wrist", 3: "finger", 4: "hand", 5: "ear lobe", 6: "foot"}


class MalformedPacket(ValueError):
    """A packet that does not follow the layout. The message says what is wrong."""


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    hr_bpm: int
    contact_supported: bool
    contact: bool | None  # None when unsupported
    energy_kj: int | None
    rr_1024: tuple[int, ...]


def parse_heart_rate_measurement(data: bytes | bytearray) -> HeartRateMeasurement:
    """Decode one Heart Rate Measurement notification.

    >>> parse_heart_rate_measurement(bytes([0x16, 60, 0x00, 0x04]))
    HeartRateMeasurement(hr_bpm=60, contact_supported=True, contact=True, energy_kj=None, rr_1024=(1024,))

    Raises :class:`MalformedPacket` for empty, truncated or odd-length packets.
    """
    n = len(data)
    if n < 2:
        raise MalformedPacket(f"packet too short ({n} bytes)")
    flags = data[0]  # bits 5-7 are reserved: ignored, as the Bluetooth convention asks of receivers
    pos = 1
    if flags & 0x01:
        if n < 3:
            raise MalformedPacket("uint16 heart rate flagged but packet has 2 bytes")
        hr = data[1] | (data[2] << 8)
        pos = 3
    else:
        hr = data[1]
        pos = 2
    contact_bits = (flags >> 1) & 0x03
    contact_supported = contact_bits >= 2
    contact = (contact_bits == 3) if contact_supported else None
    energy = None
    if flags & 0x08:
        if n < pos + 2:
            raise MalformedPacket("energy expended flagged but missing")
        energy = data[pos] | (data[pos + 1] << 8)
        pos += 2
    rr: tuple[int, ...] = ()
    if flags & 0x10:
        rest = n - pos
        if rest % 2:
            raise MalformedPacket(f"RR field has odd length ({rest} bytes)")
        rr = struct.unpack_from(f"<{rest // 2}H", data, pos)
        if any(v == 0 for v in rr):
            raise MalformedPacket("RR interval of 0")
    elif n != pos:
        raise MalformedPacket(f"{n - pos} trailing bytes without RR flag")
    return HeartRateMeasurement(hr, contact_supported, contact, energy, rr)


def encode_heart_rate_measurement(hr_bpm: int, rr_1024: tuple[int, ...] | list[int] = (), *,
                                  contact: bool | None = True, energy_kj: int | None = None,
                                  hr_uint16: bool = False) -> bytes:
    """Build a Heart Rate Measurement packet (used by the simulator and emulated straps)."""
    flags = 0
    if hr_uint16 or hr_bpm > 255:
        flags |= 0x01
    if contact is not None:
        flags |= 0x06 if contact else 0x04
    if energy_kj is not None:
        flags |= 0x08
    if rr_1024:
        flags |= 0x10
    out = bytearray([flags])
    out += struct.pack("<H", hr_bpm) if flags & 0x01 else bytes([hr_bpm & 0xFF])
    if energy_kj is not None:
        out += struct.pack("<H", energy_kj)
    for v in rr_1024:
        out += struct.pack("<H", v)
    return bytes(out)


class BeatTimeline:
    """Rebuild beat times from RR values anchored to notification arrival times.

    Straps send intervals, not times. The last interval of a packet ends at roughly the arrival time (minus a
    transmission latency we cannot know). We chain beats by cumulative RR from the previous beat and re-anchor to the
    arrival time when the chained time drifts from the clock by more than ``max_drift_s`` (lost notifications, clock
    skew, reconnects) or runs ahead of the arrival (impossible).
    """

    def __init__(self, max_drift_s: float = 2.0) -> None:
        self.max_drift_s = max_drift_s
        self._last_beat_t_s: float | None = None
        self.reanchors = 0

    def reset(self) -> None:
        self._last_beat_t_s = None

    def place(self, arrival_t_s: float, rr_1024: tuple[int, ...] | list[int]) -> list[float]:
        """Return the session time of the beat ending each interval."""
        if not rr_1024:
            return []
        rr_s = [v / 1024.0 for v in rr_1024]
        total = sum(rr_s)
        if self._last_beat_t_s is None:
            start = arrival_t_s - total
        else:
            start = self._last_beat_t_s
            end = start + total
            if end > arrival_t_s + 0.05 or arrival_t_s - end > self.max_drift_s:
                start = arrival_t_s - total
                self.reanchors += 1
        times = []
        t = start
        for r in rr_s:
            t += r
            times.append(t)
        self._last_beat_t_s = times[-1]
        return times


class HrsDecoder:
    """Turn raw Heart Rate Measurement packets of one device into decoded events.

    Keeps the beat timeline and the last contact state; counts malformed packets (``malformed``), which are
    skipped with a :class:`~biotrainer.core.events.DecodeError` event (the raw packet is recorded regardless).
    """

    def __init__(self, participant: str, device: str) -> None:
        self.participant = participant
        self.device = device
        self.timeline = BeatTimeline()
        self.malformed = 0
        self._contact: bool | None = None

    def decode(self, arrival_t_s: float, raw: bytes) -> list[Event]:
        who = {"participant": self.participant, "device": self.device}
        try:
            m = parse_heart_rate_measurement(raw)
        except MalformedPacket as exc:
            self.malformed += 1
            return [DecodeError(t_s=arrival_t_s, stream="hr", reason=str(exc), **who)]
        out: list = [HeartRate(t_s=arrival_t_s, hr_bpm=m.hr_bpm, contact=m.contact, energy_kj=m.energy_kj, **who)]
        if m.contact is not None and m.contact != self._contact:
            self._contact = m.contact
            out.append(Contact(t_s=arrival_t_s, contact=m.contact, **who))
        for rr, beat_t in zip(m.rr_1024, self.timeline.place(arrival_t_s, m.rr_1024), strict=True):
            out.append(Beat(t_s=arrival_t_s, rr_1024=rr, beat_t_s=beat_t, **who))
        return out
