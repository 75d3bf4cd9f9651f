"""Exchange with other tools: exports (CSV, BIDS physio, EDF+) and imports (RR files, XDF, EDF+).

Everything goes through :class:`biotrainer.exchange.model.ExchangeSession` (a session header + events);
:mod:`biotrainer.exchange.library` moves sessions between it and the store.
"""

EXPORT_FORMATS = ("csv", "bids", "edf")


def import_file(path, library=None, participant=None) -> str:
    """Import ``path`` (RR file, XDF, EDF+, biotrainer CSV export folder) as a new session of ``library``
    (a :class:`biotrainer.store.Library`; default: the default library); returns the new session's id.

    Raises :class:`biotrainer.errors.ImportFormatError` with a one-line message naming the file and the problem.
    """
    from pathlib import Path

    from biotrainer.exchange.library import import_path, save_session

    if library is None:
        from biotrainer.store import Library

        library = Library()
    return save_session(library, import_path(Path(path), participant=participant))
