"""Fuzz the strap packet decoders (HrsDecoder, PmdDecoder) with >= 100 000 random and mutated packets.

No exception may escape; every packet yields either decoded events or exactly one DecodeError, and the decoders'
``malformed`` counters equal the number of DecodeErrors. Decoded packets must agree with the parsers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import pytest

from biotrainer.core.events import AccFrame, Beat, Contact, DecodeError, EcgFrame, HeartRate
from biotrainer.sources.codecs.hrs import (
    HrsDecoder,
    encode_heart_rate_measurement,
    parse_heart_rate_measurement,
)
from biotrainer.sources.codecs.pmd import PmdDecoder, encode_acc_frame, encode_ecg_frame, parse_pmd_frame

N_HRS = 70_000
N_PMD = 40_000


def mutate(rng: random.Random, packet: bytes, max_len: int) -> bytes:
    """One random mutation: bit flips, byte overwrite, truncation, extension, insertion or deletion."""
    b = bytearray(packet)
    op = rng.randrange(6)
    if op == 0 and b:
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 1 and b:
        b[rng.randrange(len(b))] = rng.randrange(256)
    elif op == 2:
        del b[rng.randrange(len(b) + 1):]
    elif op == 3:
        b += rng.randbytes(rng.randrange(1, 8))
    elif op == 4:
        i = rng.randrange(len(b) + 1)
        b[i:i] = bytes([rng.randrange(256)])
    elif b:
        del b[rng.randrange(len(b))]
    return bytes(b[:max_len])


def valid_hr_packet(rng: random.Random) -> bytes:
    n_rr = rng.randrange(10)
    return encode_heart_rate_measurement(
        rng.randrange(300), [rng.randrange(1, 65536) for _ in range(n_rr)],
        contact=rng.choice((None, True, False)), energy_kj=rng.randrange(65536) if rng.random() < 0.3 else None,
        hr_uint16=rng.random() < 0.3)


def hr_packets(rng: random.Random, n: int):
    for k in range(n):
        kind = k % 3
        if kind == 0:
            yield rng.randbytes(rng.randrange(24))
        elif kind == 1:
            yield mutate(rng, valid_hr_packet(rng), 64)
        else:
            yield valid_hr_packet(rng)


def valid_pmd_packet(rng: random.Random, nrng: np.random.Generator, ts_ns: int) -> bytes:
    if rng.random() < 0.5:
        return encode_ecg_frame(ts_ns, nrng.integers(-(1 << 23), 1 << 23, rng.randrange(1, 74)))
    return encode_acc_frame(ts_ns, nrng.integers(-32768, 32768, (rng.randrange(1, 37), 3)))


def pmd_packets(rng: random.Random, n: int):
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    ts_ns = 800_000_000 * 10**9
    for k in range(n):
        ts_ns += rng.randrange(600_000_000)
        kind = k % 3
        if kind == 0:
            yield rng.randbytes(rng.randrange(240))
        elif kind == 1:
            yield mutate(rng, valid_pmd_packet(rng, nrng, ts_ns), 300)
        else:
            yield valid_pmd_packet(rng, nrng, ts_ns)


@dataclass
class Tally:
    """What happened to the fuzzed packets of one decoder."""

    fed: int = 0  # packets handed to the decoder
    decoded: int = 0  # packets that gave decoded events
    errors: int = 0  # packets that gave exactly one DecodeError
    beats: int = 0
    malformed: int = 0  # the decoder's own counter at the end
    escaped: list = field(default_factory=list)  # (packet, exception) for any exception out of decode()


def fed(tally: Tally, decoder, packets, rng: random.Random, max_gap_s: float, stream: str):
    """Hand each packet to ``decoder`` at increasing arrival times; yield ``(t_s, raw, events)`` of the decoded ones.

    A packet whose decoding raises is counted in ``tally.escaped``; one that gives a DecodeError (which must be its
    only event, of ``stream``, with a reason) in ``tally.errors``; at the end ``tally.malformed`` is the decoder's
    own count.
    """
    t_s = 0.0
    for raw in packets:
        t_s += rng.uniform(0.0, max_gap_s)
        tally.fed += 1
        try:
            events = decoder.decode(t_s, raw)
        except Exception as exc:  # noqa: BLE001 - counted: none may escape
            tally.escaped.append((raw, exc))
            continue
        decode_errors = [e for e in events if isinstance(e, DecodeError)]
        if decode_errors:
            assert len(events) == 1 and decode_errors[0].stream == stream and decode_errors[0].reason
            tally.errors += 1
            continue
        tally.decoded += 1
        yield t_s, raw, events
    tally.malformed = decoder.malformed


@pytest.fixture(scope="module")
def hrs_tally() -> Tally:
    rng = random.Random(20260101)
    tally = Tally()
    for t_s, raw, events in fed(tally, HrsDecoder("self", "F0:00:00:00:00:01"), hr_packets(rng, N_HRS), rng, 2.0,
                                "hr"):
        m = parse_heart_rate_measurement(raw)  # the decoder accepted it: the parser must too
        assert isinstance(events[0], HeartRate) and events[0].hr_bpm == m.hr_bpm
        got_beats = [e for e in events if isinstance(e, Beat)]
        assert tuple(b.rr_1024 for b in got_beats) == m.rr_1024
        assert all(b.beat_t_s <= t_s + 0.05 + 1e-9 for b in got_beats)
        assert all(isinstance(e, (HeartRate, Beat, Contact)) for e in events)
        tally.beats += len(got_beats)
    return tally


@pytest.fixture(scope="module")
def pmd_tally() -> Tally:
    rng = random.Random(20260102)
    tally = Tally()
    for t_s, raw, events in fed(tally, PmdDecoder("self", "F0:00:00:00:00:01"), pmd_packets(rng, N_PMD), rng, 0.6,
                                "pmd"):
        assert len(events) == 1
        e = events[0]
        f = parse_pmd_frame(raw)
        assert isinstance(e, (EcgFrame, AccFrame)) and e.sensor_ts_ns == f.sensor_ts_ns
        samples = e.samples_uv if isinstance(e, EcgFrame) else e.samples_mg
        assert np.array_equal(samples, f.samples)
        assert e.last_sample_t_s <= t_s + 1e-6  # the offset is a running minimum: never after arrival
    return tally


def test_fuzz_heart_rate_decoder(hrs_tally):
    assert not hrs_tally.escaped
    assert hrs_tally.malformed == hrs_tally.errors
    assert hrs_tally.decoded + hrs_tally.errors == N_HRS
    assert hrs_tally.errors > N_HRS // 4 and hrs_tally.decoded > N_HRS // 3 and hrs_tally.beats > N_HRS  # both paths


def test_fuzz_pmd_decoder(pmd_tally):
    assert not pmd_tally.escaped
    assert pmd_tally.malformed == pmd_tally.errors
    assert pmd_tally.decoded + pmd_tally.errors == N_PMD
    assert pmd_tally.errors > N_PMD // 4 and pmd_tally.decoded > N_PMD // 3


def test_fuzz_counts_at_least_100k_packets(hrs_tally, pmd_tally):
    """At least 100 000 packets went through the decoders, and each one was decoded or gave one DecodeError."""
    tallies = (hrs_tally, pmd_tally)
    assert all(not t.escaped for t in tallies)  # no exception escaped a decoder
    assert all(t.decoded + t.errors == t.fed for t in tallies)  # every packet accounted for, once
    assert all(t.malformed == t.errors for t in tallies)  # the decoders counted the same DecodeErrors
    assert sum(t.decoded + t.errors for t in tallies) >= 100_000
