"""One exception root for biotrainer, with kinds callers can branch on.

The CLI turns any :class:`BiotrainerError` into one line on stderr and a non-zero exit.
"""

from __future__ import annotations


class BiotrainerError(Exception):
    """Root of every error biotrainer raises on purpose. ``str(err)`` is a complete one-line message."""

    exit_code: int = 1


class UsageError(BiotrainerError):
    """The user asked for something that cannot be done as asked (bad option value, unknown name)."""

    exit_code = 2


class ProtocolError(BiotrainerError):
    """A protocol file is missing or does not match the schema. The message names the file and field."""


class RecordingError(BiotrainerError):
    """A recording or the library is missing, corrupt or not writable. The message names the file."""


class SessionNotFoundError(RecordingError):
    """No session with the given id or path exists in the library."""


class DeviceError(BiotrainerError):
    """A sensor could not be found, connected or read."""


class ImportFormatError(BiotrainerError):
    """An input file (RR list, ECG, XDF, EDF) cannot be read. The message names the file and the problem."""


class ExportError(BiotrainerError):
    """An export could not be written."""
