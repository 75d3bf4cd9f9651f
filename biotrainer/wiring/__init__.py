"""The one place that builds and wires sessions: live recordings, replays and simulated runs.

Both the CLI and the GUI call these; neither wires a bus, runner or source itself.
"""

from __future__ import annotations

from biotrainer.wiring.live import (
    DeviceSpec,
    LiveSession,
    SessionPlan,
    build_session,
    make_metrics_engine,
    parse_device_specs,
    parse_participants,
    parse_speed,
)
from biotrainer.wiring.simulate import run_simulated_session

__all__ = [
    "DeviceSpec",
    "LiveSession",
    "SessionPlan",
    "build_session",
    "make_metrics_engine",
    "parse_device_specs",
    "parse_participants",
    "parse_speed",
    "run_simulated_session",
]
