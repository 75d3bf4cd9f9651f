"""A deterministic synthetic strap for store tests and benchmarks: every event kind, realistic counts.

Not a physiological simulator (see :mod:`biotrainer.sources.sim.strap` for that): RR follows a slow sine (6/min
breathing) with seeded noise; ECG and ACC are cheap waveforms. Packets are built with the real encoders and decoded
with the real decoders, so the raw packets and decoded events relate exactly as with a strap: about one
``HrPacket`` per second with 1-2 RR values, ECG frames of 73 samples at 130 Hz, ACC frames of 36 samples at
200 Hz, each as a raw ``PmdPacket`` plus the decoded frame.
"""

from __future__ import annotations

import math

import numpy as np

from biotrainer.core.events import (
    SESSION,
    Battery,
    Connection,
    Cue,
    Event,
    HrPacket,
    PacerMarker,
    PhaseMarker,
    PmdPacket,
)
from biotrainer.core.source import ScheduledSource
from biotrainer.sources.codecs.hrs import HrsDecoder, encode_heart_rate_measurement
from biotrainer.sources.codecs.pmd import ACC_FS_HZ, ECG_FS_HZ, PmdDecoder, encode_acc_frame, encode_ecg_frame

ECG_FRAME_SAMPLES = 73
ACC_FRAME_SAMPLES = 36


class SyntheticStrap(ScheduledSource):
    """Events of one synthetic chest strap (+ phase/pacer/cue markers) for ``duration_s`` seconds.

    Parameters
    ----------
    duration_s
        Length; the source is finished after it.
    seed
        Random seed (deterministic output).
    ecg, acc
        Include ECG and ACC streams.
    participant, device
        Labels of the events.
    markers
        Include phase, pacer and cue markers (participant ``session``).
    """

    name = "synthetic-strap"

    def __init__(self, duration_s: float, seed: int = 0, *, ecg: bool = True, acc: bool = True,
                 participant: str = "self", device: str = "SYN:00:00:00:00:01", markers: bool = True) -> None:
        self.duration_s = duration_s
        self._rng = np.random.default_rng(seed)
        self._hrs = HrsDecoder(participant, device)
        self._pmd = PmdDecoder(participant, device)
        self._who = {"participant": participant, "device": device}
        self._next_beat_s = 0.0
        self._pending_rr: list[tuple[float, int]] = []
        self._held: list[Event] = []
        self._next_hr_s = 1.0
        self._ecg_i = 0
        self._acc_i = 0
        self._with_ecg = ecg
        self._with_acc = acc
        self._markers = markers
        self._next_pacer_s = 0.0
        self._breath = 0
        self._segment = 0
        self._started = False
        self._phase_ended = False
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    def _rr_s(self, t_s: float) -> float:
        return 60.0 / (65.0 + 6.0 * math.sin(2 * math.pi * 0.1 * t_s)) + float(self._rng.normal(0, 0.01))

    def events_until(self, t_s: float) -> list[Event]:
        t_end = min(t_s, self.duration_s)
        out: list[Event] = []
        if not self._started:
            self._started = True
            out.append(Connection(t_s=0.0, state="connected", **self._who))
            out.append(Battery(t_s=0.0, percent=87, **self._who))
            if self._markers:
                out.append(PhaseMarker(t_s=0.0, participant=SESSION, name="paced", index=0, state="start",
                                       duration_s=self.duration_s, paced=True, rate_per_min=6.0))
                out.append(Cue(t_s=0.0, participant=SESSION, text="Breathe with the pacer"))
        while self._next_beat_s <= t_end:
            rr = self._rr_s(self._next_beat_s)
            self._next_beat_s += rr
            self._pending_rr.append((self._next_beat_s, int(round(rr * 1024))))
        while self._next_hr_s <= t_end:
            t = self._next_hr_s
            rr_due = [rr for beat_t, rr in self._pending_rr if beat_t <= t]
            self._pending_rr = [(b, rr) for b, rr in self._pending_rr if b > t]
            hr = int(round(60 * 1024 / (sum(rr_due) / len(rr_due)))) if rr_due else 65
            raw = encode_heart_rate_measurement(hr, rr_due, contact=True)
            out.append(HrPacket(t_s=t, raw=raw, **self._who))
            out.extend(self._hrs.decode(t, raw))
            self._next_hr_s += 1.0
        if self._with_ecg:
            while (self._ecg_i + 1) * ECG_FRAME_SAMPLES / ECG_FS_HZ <= t_end:
                n0 = self._ecg_i * ECG_FRAME_SAMPLES
                k = np.arange(n0, n0 + ECG_FRAME_SAMPLES)
                ecg_uv = (1000 * np.exp(-((k % 120) - 60) ** 2 / 8.0) + self._rng.normal(0, 20, len(k)))
                t = (n0 + ECG_FRAME_SAMPLES) / ECG_FS_HZ
                raw = encode_ecg_frame(int(t * 1e9) + 10**18, ecg_uv.astype(np.int32))
                out.append(PmdPacket(t_s=t + 0.01, raw=raw, **self._who))
                out.extend(self._pmd.decode(t + 0.01, raw))
                self._ecg_i += 1
        if self._with_acc:
            while (self._acc_i + 1) * ACC_FRAME_SAMPLES / ACC_FS_HZ <= t_end:
                n0 = self._acc_i * ACC_FRAME_SAMPLES
                k = np.arange(n0, n0 + ACC_FRAME_SAMPLES)
                breath = 30 * np.sin(2 * np.pi * 0.1 * k / ACC_FS_HZ)
                xyz = np.stack([breath, -1000 + breath / 3, self._rng.normal(0, 5, len(k))], axis=1)
                t = (n0 + ACC_FRAME_SAMPLES) / ACC_FS_HZ
                raw = encode_acc_frame(int(t * 1e9) + 10**18, np.rint(xyz).astype(np.int16))
                out.append(PmdPacket(t_s=t + 0.012, raw=raw, **self._who))
                out.extend(self._pmd.decode(t + 0.012, raw))
                self._acc_i += 1
        if self._markers:
            while self._next_pacer_s <= t_end and self._next_pacer_s < self.duration_s:
                seg = ("inhale", "exhale")[self._segment]
                dur = 4.0 if seg == "inhale" else 6.0
                out.append(PacerMarker(t_s=self._next_pacer_s, participant=SESSION, segment=seg, rate_per_min=6.0,
                                       breath_index=self._breath, duration_s=dur))
                self._next_pacer_s += dur
                self._segment ^= 1
                if self._segment == 0:
                    self._breath += 1
            if t_s >= self.duration_s and not self._phase_ended:
                self._phase_ended = True
                out.append(PhaseMarker(t_s=self.duration_s, participant=SESSION, name="paced", index=0,
                                       state="end", duration_s=self.duration_s, paced=True, rate_per_min=6.0))
        combined = sorted(self._held + out, key=lambda e: e.t_s)
        due = [e for e in combined if e.t_s <= t_s]
        self._held = [e for e in combined if e.t_s > t_s]  # PMD latency puts a frame's arrival after its samples
        if t_s >= self.duration_s and not self._held:
            self._finished = True
        return due
