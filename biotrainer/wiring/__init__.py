"""The one place that builds and wires runs: live sessions, replays and simulated runs.

The CLI and the GUI call these; neither wires a bus, runner or source itself.

- :func:`build_session` — a live (or simulated, recorded) session from a :class:`SessionPlan`;
- :func:`build_replay` — a recorded session played back through the same bus and metrics;
- :func:`run_simulated_session` — a simulated run as fast as possible, with the simulator's ground truth;
- :func:`parse_speed`, :func:`parse_device_specs`, :func:`parse_participants` — the command-line rules.

All three are assembled from the same pieces (:mod:`biotrainer.wiring.parts`); the metrics engine always comes
from :meth:`biotrainer.metrics.engine.MetricsEngine.for_protocol`.
"""

from __future__ import annotations

from biotrainer.wiring.live import LiveSession, build_session
from biotrainer.wiring.plan import DeviceSpec, SessionPlan, parse_device_specs, parse_participants
from biotrainer.wiring.replay import Replay, build_replay, recorded_protocol
from biotrainer.wiring.simulate import run_simulated_session
from biotrainer.wiring.speed import SPEED_WORDS, parse_speed

__all__ = [
    "SPEED_WORDS",
    "DeviceSpec",
    "LiveSession",
    "Replay",
    "SessionPlan",
    "build_replay",
    "build_session",
    "parse_device_specs",
    "parse_participants",
    "parse_speed",
    "recorded_protocol",
    "run_simulated_session",
]
