"""The contracts everything else builds on: read these first.

- :mod:`.events` — every event a session carries (raw packets, beats, frames, markers, metric updates) and its codec.
- :mod:`.bus` — the session bus: listeners in subscription order, a failing listener is counted, never fatal.
- :mod:`.clock` — real-time and virtual clocks (a session runs at 1× or as fast as the CPU allows).
- :mod:`.session_runner` — the loop that asks scheduled sources, drains pushed ones and publishes in time order.
- :mod:`.pacer` — the breathing pacer and the one breath-volume curve.
- :mod:`.phases` — protocol phases as run (:class:`~.phases.PhaseSpan`), built from phase markers one way.
- :mod:`.errors` — the one exception root, with one-line messages and reason enums.
- :mod:`.source` — what a source is: scheduled (asked for events up to a time) or pushing into a queue.
- :mod:`.lazy` — package faces whose names are imported on first use.
- :mod:`.data_files` — shipped data files (package data) and the user's folder beside them, one override rule.

Nothing here imports any other biotrainer package.
"""

__all__ = ["bus", "clock", "data_files", "errors", "events", "lazy", "pacer", "phases", "session_runner", "source"]
