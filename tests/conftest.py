"""Fixtures shared by several test modules."""

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def rr_file(tmp_path_factory) -> Path:
    """A 400-s RR text export (one interval in ms per line) with 0.25-Hz RSA and one premature beat."""
    rng = np.random.default_rng(5)
    t, rr = 0.0, []
    while t < 400:
        r = 900 + 50 * np.sin(2 * np.pi * 0.25 * t) + rng.normal(0, 8)
        rr.append(r)
        t += r / 1000
    rr[100] *= 0.6  # one premature beat
    path = tmp_path_factory.mktemp("rr") / "export.txt"
    path.write_text("\n".join(f"{x:.0f}" for x in rr) + "\n")
    return path
