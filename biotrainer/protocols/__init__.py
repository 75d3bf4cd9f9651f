"""Guided breathing protocols: TOML files, one schema, and the runner that turns them into session markers.

- :func:`load_protocol` / :func:`list_protocols` find protocols by name (shipped ``biotrainer/protocols/shipped/`` folder or the user
  folder ``$BIOTRAINER_PROTOCOLS`` / ``user_config_dir("biotrainer")/protocols``) or by path.
- :class:`Protocol` is the validated, immutable file content (``text`` keeps the raw TOML for the recording).
- :class:`ProtocolRunner` is the scheduled source given to ``SessionRunner(protocol=…)``: it emits
  :class:`~biotrainer.core.events.PhaseMarker`, :class:`~biotrainer.core.events.PacerMarker` and
  :class:`~biotrainer.core.events.Cue` events at their exact scheduled times and answers ``pacer_at`` / ``phase_at``
  for views and the simulator.
- The schema is data in :mod:`biotrainer.protocols.schema`; errors are :class:`~biotrainer.core.errors.ProtocolError`
  naming the file and the field path (or the TOML line and column).
"""

from biotrainer.protocols.loader import (
    ProtocolSummary,
    list_protocols,
    load_protocol,
    protocol_files,
    shipped_protocols_dir,
    user_protocols_dir,
)
from biotrainer.protocols.model import (
    AdaptiveSpec,
    CueSpec,
    PacerSpec,
    PhaseSpec,
    Protocol,
    format_duration,
    parse_protocol,
    read_protocol_file,
)
from biotrainer.protocols.runner import PhaseState, ProtocolRunner
from biotrainer.protocols.schema import FEEDBACK_SIGNALS, PERSONAL_RATE, PROTOCOL_SCHEMA

__all__ = [
    "FEEDBACK_SIGNALS",
    "PERSONAL_RATE",
    "PROTOCOL_SCHEMA",
    "AdaptiveSpec",
    "CueSpec",
    "PacerSpec",
    "PhaseSpec",
    "PhaseState",
    "Protocol",
    "ProtocolRunner",
    "ProtocolSummary",
    "format_duration",
    "list_protocols",
    "load_protocol",
    "parse_protocol",
    "protocol_files",
    "read_protocol_file",
    "shipped_protocols_dir",
    "user_protocols_dir",
]
