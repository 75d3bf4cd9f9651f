"""Simulated straps: :mod:`.strap` (physiological simulator, with :mod:`.body` and :mod:`.config`) and
:mod:`.synthetic` (a cheap deterministic strap for store tests and benchmarks)."""
