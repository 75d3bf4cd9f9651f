"""The one ``--speed`` rule, for ``record``, ``demo``, ``replay`` and ``gui``.

A speed is a positive, finite factor of real time (``1``, ``4``, ``0.5``) or one of :data:`SPEED_WORDS`
(``max``, and the older spellings ``fast``, ``fastest``, ``inf``) for "as fast as the CPU allows", returned as None.
"""

from __future__ import annotations

import math
from typing import Final

from biotrainer.core.errors import UsageError

SPEED_WORDS: Final = ("max", "fast", "fastest", "inf")


def parse_speed(value: str | float | None, *, allow_max: bool = True) -> float | None:
    """Parse a ``--speed`` value.

    Parameters
    ----------
    value : str, float or None
        The option's text (or a number); None means real time.
    allow_max : bool
        False when the caller can only run at a finite speed (the GUI window).

    Returns
    -------
    float or None
        The speed factor; None for as fast as possible.

    Raises
    ------
    UsageError
        For anything else, with the value in the message.
    """
    if value is None:
        return 1.0
    if isinstance(value, str) and value.strip().lower() in SPEED_WORDS:
        if not allow_max:
            raise UsageError(f"--speed {value!r}: expected a positive number (this runs in real time, or faster)")
        return None
    try:
        speed = float(value)
    except (TypeError, ValueError):
        speed = math.nan
    if not (speed > 0 and math.isfinite(speed)):
        raise UsageError(f"--speed {value!r}: expected a positive number or 'max'")
    return speed
