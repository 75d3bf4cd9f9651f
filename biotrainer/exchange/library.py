"""Move sessions between the store and :class:`~biotrainer.exchange.model.ExchangeSession`.

- :func:`load_session` reads a stored session (header + every event) for export.
- :func:`save_session` writes imported data as a normal session through the store's
  :class:`~biotrainer.store.SessionWriter`, so it can be replayed, analysed and compared like a recorded one.
- :func:`import_path` picks the importer from the path (a BIDS ``*_physioevents.tsv.gz`` or its folder; another
  folder = biotrainer CSV export; ``.xdf``; ``.edf``/``.bdf``; anything else = RR file).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from biotrainer.errors import ImportFormatError
from biotrainer.events import SESSION, Event, SessionState
from biotrainer.exchange.model import ExchangeSession

log = logging.getLogger(__name__)


def load_session(library: Any, ref: str) -> ExchangeSession:
    """Read session ``ref`` (id, id prefix or path) of ``library`` (a :class:`biotrainer.store.Library`)."""
    with library.open(ref) as reader:
        meta = reader.meta.to_dict()
        events = list(reader.events())
    return ExchangeSession(meta, events)


def import_path(path: Path, *, participant: str | None = None) -> ExchangeSession:
    """Read ``path`` with the importer its name calls for. Raises ImportFormatError naming the file."""
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(f"{path}: file not found")
    if path.name.endswith("_physioevents.tsv.gz") or (path.is_dir() and any(path.glob("*_physioevents.tsv.gz"))):
        from biotrainer.exchange.bids import import_bids

        return import_bids(path, participant=participant)
    if path.is_dir():
        from biotrainer.exchange.import_rr import import_csv_export

        return import_csv_export(path, participant=participant)
    suffix = path.suffix.lower()
    if suffix in (".xdf", ".xdfz"):
        from biotrainer.exchange.import_xdf import import_xdf

        return import_xdf(path, participant=participant)
    if suffix in (".edf", ".bdf"):
        from biotrainer.exchange.import_edf import import_edf

        return import_edf(path, participant=participant)
    from biotrainer.exchange.import_rr import import_rr

    return import_rr(path, participant=participant)


def save_session(library: Any, session: ExchangeSession) -> str:
    """Write ``session`` into ``library`` as a new, complete session; returns its id.

    Session start/stop states are added when the imported data has none, so the session is complete and
    replayable. The header records where the data came from (``imported_from``).
    """
    meta = session.meta
    participants = {k: str(v) for k, v in (meta.get("participants") or {}).items()}
    writer = library.new_session(participants=participants, devices=list(meta.get("devices") or []),
                                 protocol_name=str(meta.get("protocol_name") or ""),
                                 title=str(meta.get("title") or ""), synthetic=bool(meta.get("synthetic", False)),
                                 anchor_unix_s=float(meta.get("anchor_unix_s", 0.0)),
                                 notes=str(meta.get("notes") or ""))
    extra = {k: meta[k] for k in ("imported_from",) if k in meta}
    if extra:
        writer.set_meta(**extra)
    events: list[Event] = sorted(session.events, key=lambda e: e.t_s)
    has_start = any(isinstance(e, SessionState) and e.state == "start" for e in events)
    has_stop = any(isinstance(e, SessionState) and e.state == "stop" for e in events)
    t_first = min((e.t_s for e in events), default=0.0)
    t_last = max((e.t_s for e in events), default=0.0)
    try:
        if not has_start:
            writer(SessionState(t_s=min(0.0, t_first), participant=SESSION, state="start"))
        for e in events:
            writer(e)
        if not has_stop:
            writer(SessionState(t_s=t_last, participant=SESSION, state="stop", reason="imported"))
    finally:
        writer.close()
    log.info("imported %d events as session %s", len(events), writer.meta.id)
    return str(writer.meta.id)
