"""Recording store: crash-safe session files, the session library, participants.

- :class:`SessionWriter` — bus listener that appends every event to a session file as it happens.
- :class:`SessionReader` — header, events in order, numpy accessors (beats, hr, ecg, acc, phases, markers).
- :class:`Library` — list/open/rename/annotate/delete sessions; ``new_session`` creates a writer.
- :class:`ParticipantStore` — pseudonymous participants and their resonance rate.

The file format is documented for researchers in ``docs/recording-format.md``.
"""

from __future__ import annotations

from biotrainer.store.library import Library, SessionSummary, summarize
from biotrainer.store.meta import SessionMeta, new_session_id
from biotrainer.store.participants import Participant, ParticipantNotFoundError, ParticipantStore
from biotrainer.store.paths import LIBRARY_ENV, default_library_dir, library_dir
from biotrainer.store.reader import BeatArrays, HeartRateArrays, SampleArrays, SessionReader
from biotrainer.store.writer import COMMIT_INTERVAL_S, SessionWriter

__all__ = [
    "COMMIT_INTERVAL_S",
    "LIBRARY_ENV",
    "BeatArrays",
    "HeartRateArrays",
    "Library",
    "Participant",
    "ParticipantNotFoundError",
    "ParticipantStore",
    "SampleArrays",
    "SessionMeta",
    "SessionReader",
    "SessionSummary",
    "SessionWriter",
    "default_library_dir",
    "library_dir",
    "new_session_id",
    "summarize",
]
