"""Exchange with other tools: exports (CSV, BIDS physio, EDF+) and imports (RR files, XDF, EDF+, BIDS, CSV exports).

Everything goes through :class:`~biotrainer.exchange.model.ExchangeSession` (a session header + events);
:mod:`biotrainer.exchange.library` moves sessions between it and the store. Text tables of other apps (RR, ECG)
are read by :mod:`biotrainer.exchange.table` with one column rule.

- exports: :func:`export_csv`, :func:`export_bids`, :func:`export_edf` (formats :data:`EXPORT_FORMATS`);
- imports: :func:`import_path` (any supported file, by its kind), :func:`import_file` (straight into a library),
  :func:`read_rr` (an RR file's intervals, as ``analyze`` reads them);
- the store: :func:`load_session`, :func:`save_session`;
- writing: :class:`AtomicWrites` (:mod:`biotrainer.exchange.atomic`), the one way exports and reports write files:
  complete files or none;
- live: :class:`LslOutlets` (Lab Streaming Layer outlets for a running session).

The per-format importers stay in their modules (``biotrainer.exchange.import_rr.import_rr``…: a package name
that is also a module name would change meaning once the module is imported). The names are loaded on first use (``from biotrainer.exchange import export_edf`` imports only the EDF module;
pyedflib, pyxdf, pandas and pylsl load when a file of theirs is read or written).
"""

from __future__ import annotations

from biotrainer.core.lazy import lazy_face

EXPORT_FORMATS = ("csv", "bids", "edf")

_LAZY = {
    "AtomicWrites": "atomic",
    "BeatTable": "model",
    "ExchangeSession": "model",
    "Segment": "model",
    "export_bids": "bids",
    "export_csv": "csv_export",
    "export_edf": "edf",
    "import_bids": "bids",
    "import_csv_export": "import_rr",
    "import_path": "library",
    "load_session": "library",
    "LslOutlets": "lsl_outlet",
    "read_rr": "import_rr",
    "RrFile": "import_rr",
    "save_session": "library",
}

__all__ = ["EXPORT_FORMATS", "import_file", *sorted(_LAZY)]


__getattr__, __dir__ = lazy_face(__name__, _LAZY, globals())


def import_file(path, library=None, participant=None) -> str:  # noqa: ANN001 - called by the GUI with plain values
    """Import ``path`` (RR file, XDF, EDF+, biotrainer CSV export folder) as a new session of ``library``
    (a :class:`biotrainer.store.Library`; default: the default library); returns the new session's id.

    Raises :class:`biotrainer.core.errors.ImportFormatError` with a one-line message naming the file and the problem.
    """
    from pathlib import Path

    from biotrainer.exchange.library import import_path, save_session

    if library is None:
        from biotrainer.store import Library

        library = Library()
    return save_session(library, import_path(Path(path), participant=participant))
