"""Heart Rate Measurement parser on literal packets: every flag combination (Bluetooth HRS 1.0, SCIENCE.md §7)."""

import itertools

import pytest

from biotrainer.events import Beat, Contact, DecodeError, HeartRate
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
