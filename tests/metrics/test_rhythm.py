"""'In rhythm with the pacer': low / medium / high from adherence and RSA (literal thresholds)."""

from __future__ import annotations

import pytest

from biotrainer.metrics.rhythm import rhythm_level


@pytest.mark.parametrize(("breathing", "pacer", "rsa", "level"), [
    (6.0, 6.0, 120.0, "high"), (6.5, 6.0, 60.0, "high"), (5.5, 6.0, 59.9, "medium"), (7.5, 6.0, 150.0, "medium"),
    (7.6, 6.0, 150.0, "low"), (12.0, 6.0, None, "low"), (None, 6.0, 100.0, None), (12.0, None, 100.0, None),
    (float("nan"), 6.0, 100.0, None), (6.0, 6.0, float("nan"), "medium"),
])
def test_levels(breathing, pacer, rsa, level):
    assert rhythm_level(breathing, pacer, rsa) == level
