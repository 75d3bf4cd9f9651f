"""Fuzz the strap packet decoders (HrsDecoder, PmdDecoder) with >= 100 000 random and mutated packets.

No exception may escape; every packet yields either decoded events or exactly one DecodeError, and the decoders'
``malformed`` counters equal the number of DecodeErrors. Decoded packets must agree with the parsers.
"""

from __future__ import annotations

import random

import numpy as np

from biotrainer.events import AccFrame, Beat, Contact, DecodeError, EcgFrame, HeartRate
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


def test_fuzz_heart_rate_decoder():
    rng = random.Random(20260101)
    dec = HrsDecoder("self", "F0:00:00:00:00:01")
    errors = ok = beats = 0
    t_s = 0.0
    for raw in hr_packets(rng, N_HRS):
        t_s += rng.uniform(0.0, 2.0)
        events = dec.decode(t_s, raw)
        decode_errors = [e for e in events if isinstance(e, DecodeError)]
        if decode_errors:
            assert len(events) == 1 and decode_errors[0].stream == "hr" and decode_errors[0].reason
            errors += 1
            continue
        ok += 1
        m = parse_heart_rate_measurement(raw)  # the decoder accepted it: the parser must too
        assert isinstance(events[0], HeartRate) and events[0].hr_bpm == m.hr_bpm
        got_beats = [e for e in events if isinstance(e, Beat)]
        assert tuple(b.rr_1024 for b in got_beats) == m.rr_1024
        assert all(b.beat_t_s <= t_s + 0.05 + 1e-9 for b in got_beats)
        assert all(isinstance(e, (HeartRate, Beat, Contact)) for e in events)
        beats += len(got_beats)
    assert dec.malformed == errors
    assert ok + errors == N_HRS
    assert errors > N_HRS // 4 and ok > N_HRS // 3 and beats > N_HRS  # both paths exercised


def test_fuzz_pmd_decoder():
    rng = random.Random(20260102)
    dec = PmdDecoder("self", "F0:00:00:00:00:01")
    errors = ok = 0
    t_s = 0.0
    for raw in pmd_packets(rng, N_PMD):
        t_s += rng.uniform(0.0, 0.6)
        events = dec.decode(t_s, raw)
        assert len(events) == 1
        e = events[0]
        if isinstance(e, DecodeError):
            assert e.stream == "pmd" and e.reason
            errors += 1
            continue
        ok += 1
        f = parse_pmd_frame(raw)
        assert isinstance(e, (EcgFrame, AccFrame)) and e.sensor_ts_ns == f.sensor_ts_ns
        samples = e.samples_uv if isinstance(e, EcgFrame) else e.samples_mg
        assert np.array_equal(samples, f.samples)
        assert e.last_sample_t_s <= t_s + 1e-6  # the offset is a running minimum: never after arrival
    assert dec.malformed == errors
    assert ok + errors == N_PMD
    assert errors > N_PMD // 4 and ok > N_PMD // 3


def test_fuzz_counts_at_least_100k_packets():
    assert N_HRS + N_PMD >= 100_000
