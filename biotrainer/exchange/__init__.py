"""Exchange with other tools: exports (CSV, BIDS physio, EDF+) and imports (RR files, XDF, EDF+).

Everything goes through :class:`biotrainer.exchange.model.ExchangeSession` (a session header + events);
:mod:`biotrainer.exchange.library` moves sessions between it and the store.
"""

EXPORT_FORMATS = ("csv", "bids", "edf")
