"""Dyads of simulated straps: one person's slow heart-rate waves that another may follow (issue 10 validation).

In conversation, heart rate rises and falls with arousal over tens of seconds; in an attuned dyad one person's
waves reappear in the other's, a few seconds later (SCIENCE.md §11). A :class:`SharedDrive` is such a wave: an
Ornstein-Uhlenbeck process (time constant :data:`DRIVE_TAU_S`, SD :data:`DRIVE_BPM`) on the simulator's 20 Hz
grid, seeded, generated on demand and deterministic whatever order its users ask in. The leader's heart adds
``drive(t)``; a follower's adds ``coupling · drive(t − lag)``: coupling 0 is an independent pair whose leader still
has the waves (the uncoupled control), coupling 1 copies them whole.

A follower is configured on its own strap: ``client=sim:follow=therapist,coupling=0.5,follow_lag=3``.
:func:`link_dyads` connects the straps of one session; without any ``follow`` nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from biotrainer.core.errors import UsageError

#: Time constant (s) and SD (bpm) of the shared slow heart-rate waves.
DRIVE_TAU_S = 10.0
DRIVE_BPM = 3.0
_FS_HZ = 20.0
_T0_S = -60.0  # the drive starts before the session so a follower's lagged look-up exists from t = 0
_BLOCK = 1200


class SharedDrive:
    """Slow heart-rate waves (bpm) at any session time ≥ −60 s; values interpolated on a 20 Hz grid."""

    def __init__(self, seed: int, sd_bpm: float = DRIVE_BPM, tau_s: float = DRIVE_TAU_S) -> None:
        self._rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xD1AD]))
        self._rho = math.exp(-1.0 / (_FS_HZ * tau_s))
        self._innov_sd = sd_bpm * math.sqrt(1.0 - self._rho ** 2)
        self._values = np.array([float(self._rng.standard_normal()) * sd_bpm])

    def _extend_to(self, n: int) -> None:
        from scipy.signal import lfilter

        while self._values.size < n:
            innov = self._innov_sd * self._rng.standard_normal(_BLOCK)
            block, _ = lfilter([1.0], [1.0, -self._rho], innov, zi=[self._rho * self._values[-1]])
            self._values = np.concatenate((self._values, block))

    def __call__(self, t_s: np.ndarray) -> np.ndarray:
        k = (np.asarray(t_s, dtype=float) - _T0_S) * _FS_HZ
        if k.size and k.min() < 0:
            raise ValueError(f"the shared drive starts at {_T0_S:g} s")
        self._extend_to(int(np.ceil(k.max() if k.size else 0)) + 2)
        return np.interp(k, np.arange(self._values.size), self._values)


def link_dyads(straps: Sequence[Any]) -> None:
    """Give every strap whose config has ``follow=ROLE`` the waves of the strap worn by ``ROLE`` (same session).

    Raises :class:`~biotrainer.core.errors.UsageError` when the role is nobody's, or a strap follows itself.
    """
    by_role = {s.config.participant: s for s in straps}
    drives: dict[str, SharedDrive] = {}
    for strap in straps:
        cfg = strap.config
        if not cfg.follow:
            continue
        leader = by_role.get(cfg.follow)
        if leader is None or leader is strap:
            raise UsageError(f"sim follow={cfg.follow}: no other simulated strap is worn by {cfg.follow!r} "
                             f"(roles: {', '.join(by_role)})")
        if cfg.follow not in drives:
            drives[cfg.follow] = SharedDrive(leader.config.seed)
            leader.add_heart_rate_drive(drives[cfg.follow])
        drive = drives[cfg.follow]
        strap.add_heart_rate_drive(lambda t, d=drive, c=cfg: c.coupling * d(t - c.follow_lag_s))
