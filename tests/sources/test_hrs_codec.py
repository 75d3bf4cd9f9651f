"""Heart Rate Measurement codec: literal packets for every flag combination (Bluetooth HRS 1.0, SCIENCE.md §7),
the SIG layout's literal vectors, and hypothesis encode/decode round trips."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biotrainer.core.events import Beat, Contact, DecodeError, HeartRate
from biotrainer.sources.codecs.hrs import (
    BeatTimeline,
    HrsDecoder,
    MalformedPacket,
    encode_heart_rate_measurement,
    parse_heart_rate_measurement,
)


@pytest.mark.parametrize(
    ("packet", "hr", "supported", "contact", "energy", "rr"),
    [
        (bytes([0x00, 0x48]), 72, False, None, None, ()),
        (bytes([0x01, 0x48, 0x00]), 72, False, None, None, ()),  # uint16 HR
        (bytes([0x01, 0x2C, 0x01]), 300, False, None, None, ()),  # uint16 HR > 255
        (bytes([0x02, 0x48]), 72, False, None, None, ()),  # bit1 alone: feature unsupported
        (bytes([0x04, 0x48]), 72, True, False, None, ()),  # supported, no contact
        (bytes([0x06, 0x48]), 72, True, True, None, ()),  # supported, contact
        (bytes([0x08, 0x48, 0x10, 0x27]), 72, False, None, 10000, ()),  # energy expended
        (bytes([0x10, 0x48, 0x55, 0x03]), 72, False, None, None, (853,)),  # one RR
        (bytes([0x16, 0x3C, 0x00, 0x04, 0x10, 0x04]), 60, True, True, None, (1024, 1040)),
        (bytes([0x1F, 0x3C, 0x00, 0x05, 0x00, 0x00, 0x04]), 60, True, True, 5, (1024,)),  # all flags
        (bytes([0x18, 0x50, 0x01, 0x00, 0x20, 0x03]), 80, False, None, 1, (800,)),  # energy before RR
        (bytes([0x10, 0x48]), 72, False, None, None, ()),  # RR flag with 0 values
    ],
)
def test_literal_packets(packet, hr, supported, contact, energy, rr):
    m = parse_heart_rate_measurement(packet)
    assert m.hr_bpm == hr
    assert m.contact_supported is supported
    assert m.contact is contact
    assert m.energy_kj == energy
    assert m.rr_1024 == rr


def test_reserved_flag_bits_are_ignored():
    assert parse_heart_rate_measurement(bytes([0xF6, 0x48])).contact is True


def test_nine_rr_values_in_one_packet():
    rr = [700 + i for i in range(9)]
    packet = bytes([0x10, 0x50]) + b"".join(v.to_bytes(2, "little") for v in rr)
    assert parse_heart_rate_measurement(packet).rr_1024 == tuple(rr)


@pytest.mark.parametrize("flags", range(0x20))
def test_every_flag_combination_round_trips(flags):
    hr16 = bool(flags & 0x01)
    contact_bits = (flags >> 1) & 0x03
    contact = None if contact_bits < 2 else contact_bits == 3
    energy = 1234 if flags & 0x08 else None
    rr = (1000, 873) if flags & 0x10 else ()
    packet = encode_heart_rate_measurement(61, rr, contact=contact, energy_kj=energy, hr_uint16=hr16)
    m = parse_heart_rate_measurement(packet)
    assert (m.hr_bpm, m.contact, m.energy_kj, m.rr_1024) == (61, contact, energy, rr)


@pytest.mark.parametrize(
    ("packet", "why"),
    [
        (b"", "too short"),
        (bytes([0x00]), "too short"),
        (bytes([0x01, 0x48]), "uint16"),
        (bytes([0x08, 0x48, 0x01]), "energy"),
        (bytes([0x10, 0x48, 0x01]), "odd length"),
        (bytes([0x00, 0x48, 0x01]), "trailing"),
        (bytes([0x10, 0x48, 0x00, 0x00]), "RR interval of 0"),
    ],
)
def test_malformed_packets_raise_with_reason(packet, why):
    with pytest.raises(MalformedPacket, match=why):
        parse_heart_rate_measurement(packet)


def test_rr_ms_is_exact_float():
    beat = Beat(t_s=0.0, rr_1024=853, beat_t_s=0.0)
    assert beat.rr_ms == pytest.approx(833.0078125, abs=0)


def test_decoder_emits_hr_contact_beats_and_counts_malformed():
    dec = HrsDecoder("client", "AA:BB")
    out = dec.decode(10.0, encode_heart_rate_measurement(60, [1024, 1024], contact=True))
    assert [type(e) for e in out] == [HeartRate, Contact, Beat, Beat]
    assert all(e.participant == "client" and e.device == "AA:BB" for e in out)
    beats = [e for e in out if isinstance(e, Beat)]
    assert [b.beat_t_s for b in beats] == pytest.approx([9.0, 10.0])
    # unchanged contact is not repeated
    out2 = dec.decode(11.0, encode_heart_rate_measurement(60, [1024], contact=True))
    assert [type(e) for e in out2] == [HeartRate, Beat]
    assert out2[1].beat_t_s == pytest.approx(11.0)
    bad = dec.decode(12.0, b"\x10")
    assert len(bad) == 1 and isinstance(bad[0], DecodeError) and dec.malformed == 1


def test_timeline_chains_beats_and_reanchors_after_a_gap():
    tl = BeatTimeline(max_drift_s=2.0)
    assert tl.place(5.0, [1024, 1024]) == pytest.approx([4.0, 5.0])
    # next packet 1.02 s later carries one beat: chained to the previous beat, not the arrival
    assert tl.place(6.02, [1024]) == pytest.approx([6.0])
    # 10 s of lost notifications: chained time would lag the clock by > 2 s, so re-anchor on arrival
    assert tl.place(17.0, [1024]) == pytest.approx([17.0])
    assert tl.reanchors == 1


def test_timeline_never_places_a_beat_after_its_arrival():
    tl = BeatTimeline()
    tl.place(1.0, [1024])
    times = tl.place(1.5, [1024])  # chaining would give 2.0 > arrival 1.5
    assert times[-1] <= 1.5


def test_parser_never_raises_other_exceptions_on_short_random_input():
    for length in range(0, 5):
        for data in itertools.product([0x00, 0x01, 0x10, 0x1F, 0xFF], repeat=length):
            try:
                parse_heart_rate_measurement(bytes(data))
            except MalformedPacket:
                pass


# --- literal vectors from the Heart Rate Measurement layout (Bluetooth SIG HRS 1.0, 0x2A37) ---------------------
#
# flags bit 0: HR uint8 (0) / uint16 (1); bits 2:1: contact (0/1 unsupported, 2 no contact, 3 contact);
# bit 3: Energy Expended uint16 kJ (before the RR values); bit 4: RR values, uint16 in 1/1024 s, oldest first.

@pytest.mark.parametrize(
    ("hex_packet", "expected"),
    [
        ("00 3C", (60, False, None, None, ())),  # uint8 HR 60 bpm, nothing else
        ("01 B4 00", (180, False, None, None, ())),  # uint16 HR 180 bpm (0x00B4)
        ("01 FF FF", (65535, False, None, None, ())),  # uint16 HR at its maximum
        ("04 3C", (60, True, False, None, ())),  # contact supported, not detected
        ("06 3C", (60, True, True, None, ())),  # contact supported and detected
        ("16 4B 00 04", (75, True, True, None, (1024,))),  # contact, RR 0x0400 = 1024/1024 s = 1 s
        ("18 48 E8 03 55 03 AA 03", (72, False, None, 1000, (853, 938))),  # energy 1000 kJ, then two RR
        ("19 2C 01 FF FF 00 04", (300, False, None, 65535, (1024,))),  # uint16 HR, energy, RR
        ("1E 3C 0A 00 " + "00 03 " * 9, (60, True, True, 10, (768,) * 9)),  # all but uint16: 9 RR values
    ],
)
def test_sig_layout_literal_vectors(hex_packet, expected):
    m = parse_heart_rate_measurement(bytes.fromhex(hex_packet))
    assert (m.hr_bpm, m.contact_supported, m.contact, m.energy_kj, m.rr_1024) == expected


def test_literal_packet_through_the_decoder():
    out = HrsDecoder("self", "F0:00:00:00:00:01").decode(5.0, bytes.fromhex("16 3C 00 04 00 02"))
    assert [type(e) for e in out] == [HeartRate, Contact, Beat, Beat]
    assert (out[0].hr_bpm, out[0].contact, out[1].contact) == (60, True, True)
    assert [(b.rr_1024, b.rr_ms) for b in out[2:]] == [(1024, 1000.0), (512, 500.0)]  # ms = raw · 1000/1024
    assert [b.beat_t_s for b in out[2:]] == pytest.approx([4.5, 5.0])  # the last beat ends at arrival


# --- round trips (hypothesis) -----------------------------------------------------------------------------------

PROPERTIES = settings(derandomize=True, database=None, deadline=None, max_examples=150)

rr_values = st.lists(st.integers(min_value=1, max_value=0xFFFF), max_size=9)
contacts = st.sampled_from([None, True, False])
energies = st.none() | st.integers(min_value=0, max_value=0xFFFF)


@PROPERTIES
@given(st.integers(min_value=0, max_value=0xFFFF), rr_values, contacts, energies, st.booleans())
def test_encode_then_parse_gives_the_fields_back(hr, rr, contact, energy, hr16):
    packet = encode_heart_rate_measurement(hr, rr, contact=contact, energy_kj=energy, hr_uint16=hr16)
    m = parse_heart_rate_measurement(packet)
    assert (m.hr_bpm, m.contact, m.contact_supported, m.energy_kj, m.rr_1024) == \
        (hr, contact, contact is not None, energy, tuple(rr))
    assert bool(packet[0] & 0x01) == (hr16 or hr > 255)
    assert len(packet) == 1 + (2 if packet[0] & 0x01 else 1) + (2 if energy is not None else 0) + 2 * len(rr)


@st.composite
def canonical_packets(draw) -> bytes:
    """Packets as a strap sends them: reserved bits 0, contact bits 0, 2 or 3, RR flag only with RR values."""
    hr16 = draw(st.booleans())
    contact_bits = draw(st.sampled_from([0, 2, 3]))
    energy = draw(energies)
    rr = draw(rr_values)
    flags = int(hr16) | (contact_bits << 1) | ((energy is not None) << 3) | (bool(rr) << 4)
    hr = draw(st.integers(min_value=256 if hr16 else 0, max_value=0xFFFF if hr16 else 255))
    body = bytes([flags]) + hr.to_bytes(2 if hr16 else 1, "little")
    body += energy.to_bytes(2, "little") if energy is not None else b""
    return body + b"".join(v.to_bytes(2, "little") for v in rr)


@PROPERTIES
@given(canonical_packets())
def test_parse_then_encode_gives_the_same_bytes(packet):
    m = parse_heart_rate_measurement(packet)
    assert encode_heart_rate_measurement(m.hr_bpm, m.rr_1024, contact=m.contact, energy_kj=m.energy_kj,
                                         hr_uint16=bool(packet[0] & 0x01)) == packet


@PROPERTIES
@given(st.binary(max_size=32))
def test_any_bytes_parse_or_raise_malformed_and_decode_to_events_or_one_decode_error(raw):
    try:
        m = parse_heart_rate_measurement(raw)
    except MalformedPacket:
        m = None
    dec = HrsDecoder("self", "F0:00:00:00:00:01")
    events = dec.decode(100.0, raw)
    if m is None:
        assert len(events) == 1 and isinstance(events[0], DecodeError) and dec.malformed == 1
    else:
        assert isinstance(events[0], HeartRate) and events[0].hr_bpm == m.hr_bpm and dec.malformed == 0
        assert tuple(e.rr_1024 for e in events if isinstance(e, Beat)) == m.rr_1024
