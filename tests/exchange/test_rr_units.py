"""One 1/1024 s → ms conversion (biotrainer.core.events.rr_1024_to_ms) for the store, the exports and the imports."""

from __future__ import annotations

import numpy as np

from biotrainer.core.events import Beat, rr_1024_to_ms
from biotrainer.exchange.model import ExchangeSession


def test_rr_1024_to_ms_is_bit_identical_to_the_formula_the_exports_wrote() -> None:
    raw = np.arange(0, 65536, dtype=np.int64)  # every value a Heart Rate Measurement can carry
    expected = raw * 1000.0 / 1024.0
    assert rr_1024_to_ms(raw).tobytes() == expected.tobytes()
    assert all(repr(rr_1024_to_ms(int(r))) == repr(float(e)) for r, e in zip(raw[::97], expected[::97], strict=True))


def test_the_beat_table_uses_it() -> None:
    beats = [Beat(t_s=1.0 + i, rr_1024=800 + i, beat_t_s=0.9 + i, device="D") for i in range(5)]
    table = ExchangeSession({}, beats).beats(correct=False)
    assert table.rr_ms.tobytes() == rr_1024_to_ms(table.rr_1024).tobytes()
    assert table.rr_ms.tolist() == [b.rr_ms for b in beats]
