""""In rhythm with the pacer": a low / medium / high level from how closely the breathing follows the pacer
(adherence: estimated breathing rate minus the pacer's rate) and how large the heart-rate swing with each breath is
(RSA peak-to-trough).

Design choice (a practice signal, not a score): **high** when the breathing is within
:data:`CLOSE_PER_MIN` of the pacer and the RSA is at least :data:`RSA_HIGH_MS`; **medium** when it is within
:data:`NEAR_PER_MIN` (or close but with a small RSA); **low** otherwise. No level when the phase is unpaced or
the breathing rate is withheld. RSA differs between people; the threshold is only a hint that the heart follows
the breath, and the bar never says more than three words.
"""

from __future__ import annotations

import math

LEVELS = ("low", "medium", "high")
CLOSE_PER_MIN = 0.5
NEAR_PER_MIN = 1.5
RSA_HIGH_MS = 60.0


def rhythm_level(breathing_rate_per_min: float | None, pacer_rate_per_min: float | None,
                 rsa_ms: float | None = None) -> str | None:
    """``"low"``, ``"medium"``, ``"high"``, or None without a pacer or a breathing rate.

    >>> rhythm_level(6.1, 6.0, 95.0), rhythm_level(6.1, 6.0, 20.0), rhythm_level(7.0, 6.0), rhythm_level(9.0, 6.0)
    ('high', 'medium', 'medium', 'low')
    >>> rhythm_level(None, 6.0) is None and rhythm_level(12.0, None) is None
    True
    """
    if breathing_rate_per_min is None or pacer_rate_per_min is None:
        return None
    if not (math.isfinite(breathing_rate_per_min) and math.isfinite(pacer_rate_per_min)) or pacer_rate_per_min <= 0:
        return None
    off = abs(breathing_rate_per_min - pacer_rate_per_min)
    if off <= CLOSE_PER_MIN:
        return "high" if rsa_ms is not None and math.isfinite(rsa_ms) and rsa_ms >= RSA_HIGH_MS else "medium"
    return "medium" if off <= NEAR_PER_MIN else "low"
