"""Preallocated ring buffers for plots: fixed memory, O(1) append, a contiguous view without copying.

Each value is written twice (at ``i`` and ``i + capacity``) so the last ``n`` values are always one contiguous slice;
the plots hand that slice to pyqtgraph as is. A long session therefore never grows memory or drawing cost.
"""

from __future__ import annotations

import numpy as np


class Ring:
    """A ring of ``(t_s, value)`` pairs with room for ``capacity`` points (oldest dropped first).

    Parameters
    ----------
    capacity : int
        Number of points kept.
    columns : int
        Values per point besides time (1 for a plain series).
    """

    def __init__(self, capacity: int, columns: int = 1) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.columns = columns
        self._t = np.full(2 * capacity, np.nan)
        self._v = np.full((2 * capacity, columns), np.nan)
        self._next = 0  # index of the next write in [0, capacity)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def clear(self) -> None:
        self._next = 0
        self._count = 0

    def append(self, t_s: float, *values: float) -> None:
        """Add one point. ``None`` values are stored as NaN (a gap in the plot)."""
        i = self._next
        j = i + self.capacity
        self._t[i] = self._t[j] = t_s
        row = [np.nan if v is None else v for v in values]
        self._v[i, :] = self._v[j, :] = row
        self._next = (i + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def _slice(self) -> slice:
        start = self._next if self._count == self.capacity else 0  # oldest point
        return slice(start, start + self._count)

    @property
    def t_s(self) -> np.ndarray:
        """Times, oldest first (a view: do not modify)."""
        return self._t[self._slice()]

    def values(self, column: int = 0) -> np.ndarray:
        """Values of ``column``, oldest first (a view: do not modify)."""
        return self._v[self._slice(), column]

    def last(self, column: int = 0) -> float | None:
        """The newest value of ``column`` or None when empty."""
        if not self._count:
            return None
        return float(self._v[(self._next - 1) % self.capacity, column])

    def window(self, from_s: float, column: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(t_s, values)`` of points with ``t_s >= from_s`` (views; times must be appended in order)."""
        t = self.t_s
        k = int(np.searchsorted(t, from_s, side="left"))
        return t[k:], self.values(column)[k:]
