"""Fast sessions with a chosen start time and heart rate for the journey tests: RR intervals with a 6/min RSA wave
(40 ms) and seeded noise, a 60-s unpaced ``settle`` phase and a 120-s ``paced`` phase at 6/min."""

from __future__ import annotations

import numpy as np

from biotrainer.core.events import SESSION, Beat, PhaseMarker, rr_ms_to_1024
from biotrainer.exchange.model import ExchangeSession
from biotrainer.store.meta import iso_from_unix

START_UNIX_S = 1_772_437_800.0  # 2026-03-02 07:30 UTC
DAY_S = 86400.0


def rr_session(sid: str, day: float, hr_bpm: float, *, seed: int = 0, protocol: str = "reset",
               participant: str = "P01", settle_s: float = 60.0, paced_s: float = 120.0,
               self_report: dict | None = None, intention: str = "",
               paced_hr_bpm: float | None = None) -> ExchangeSession:
    rng = np.random.default_rng(seed)
    total = settle_s + paced_s
    t, rr, beats = 0.0, [], []
    while t < total:
        mean_rr = 60000.0 / (paced_hr_bpm if paced_hr_bpm is not None and t >= settle_s else hr_bpm)
        r = mean_rr + 40.0 * np.sin(2 * np.pi * 0.1 * t) + rng.normal(0.0, 6.0)
        t += r / 1000.0
        rr.append(r)
        beats.append(t)
    r1024 = rr_ms_to_1024(np.asarray(rr))
    events: list = [Beat(t_s=float(bt), participant="self", device="sim", rr_1024=int(x), beat_t_s=float(bt))
                    for bt, x in zip(beats, r1024.tolist(), strict=True)]
    events += [PhaseMarker(t_s=0.0, participant=SESSION, name="settle", index=0, state="start", duration_s=settle_s,
                           paced=False, feedback=False),
               PhaseMarker(t_s=settle_s, participant=SESSION, name="settle", index=0, state="end",
                           duration_s=settle_s),
               PhaseMarker(t_s=settle_s, participant=SESSION, name="paced", index=1, state="start",
                           duration_s=paced_s, paced=True, rate_per_min=6.0),
               PhaseMarker(t_s=total, participant=SESSION, name="paced", index=1, state="end", duration_s=paced_s)]
    anchor = START_UNIX_S + day * DAY_S
    meta = {"id": sid, "started_at": iso_from_unix(anchor), "anchor_unix_s": anchor, "synthetic": True,
            "participants": {"self": participant}, "protocol_name": protocol}
    if self_report:
        meta["self_report"] = self_report
    if intention:
        meta["intention"] = intention
    return ExchangeSession(meta, sorted(events, key=lambda e: e.t_s))
