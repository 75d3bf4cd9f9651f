"""Simulated straps, one place for every simulator.

- :mod:`.strap` — :class:`SimulatedStrap`, the physiological simulator (body model in :mod:`.body`, settings in
  :mod:`.config`: :class:`SimConfig`, parsed from ``--device sim:KEY=VALUE,...``).
- :mod:`.dyad` — two straps whose slow heart-rate waves one follows (:func:`link_dyads`).
- :mod:`.synthetic` — :class:`SyntheticStrap`, a cheap deterministic strap for store tests and benchmarks.
"""

from biotrainer.core.lazy import lazy_face

_WHERE = {"SimConfig": "config", "SimulatedStrap": "strap", "simulate": "strap", "link_dyads": "dyad",
          "SharedDrive": "dyad", "SyntheticStrap": "synthetic"}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_face(__name__, _WHERE, globals())
