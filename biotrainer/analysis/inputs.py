"""Reading RR and ECG files for offline analysis.

- RR: :func:`read_rr_file` is the import's reader, :func:`biotrainer.exchange.import_rr.read_rr` (one reader for
  ``import`` and ``analyze``): a plain text file with one interval per line (Kubios, Elite HRV, HRV Logger
  exports), or a CSV/TSV with a header and an RR column (``--column``, else ``rr_1024`` exactly, else the first
  column named like ``rr``, ``rr_ms``, ``RR (ms)``, ``ibi``, ``nn``, ``rri``), with optional ``beat_t_s`` and
  ``participant`` columns. Values are ms; values all below 10 (or a column named in seconds) are seconds.
- ECG: ``.npy`` (1-D), or a ``.csv``/``.txt`` table read by :mod:`biotrainer.exchange.table` with the same column
  rule as RR tables: the column named by ``column``, else the first named like ``ecg``, ``ecg_uv``, ``ECG (mV)``,
  ``signal``, else the only column. The sampling rate is not in these files: the caller passes it.

Errors are :class:`~biotrainer.core.errors.ImportFormatError` naming the file and the problem. Before reading,
:func:`check_data_file` refuses what would hang or mislead: a pipe or device (a read that may never end), and files
that are recordings to import first (EDF, XDF, gzip, a session file) or UTF-16 text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from biotrainer.core.errors import ImportFormatError
from biotrainer.exchange.table import choose_column, ecg_name, read_table

if TYPE_CHECKING:
    from biotrainer.exchange.import_rr import RrFile

_IMPORT_FIRST = (
    (b"0       ", "an EDF recording"),
    (b"XDF:", "an XDF recording"),
    (b"\x1f\x8b", "a gzip file (a BIDS export?)"),
    (b"SQLite format 3\x00", "a SQLite file (a biotrainer session?)"),
)


def check_data_file(path: str | Path) -> Path:
    """``path`` if it is a regular file worth reading as RR or ECG data; else a one-line ImportFormatError.

    A pipe, socket or device is refused (reading it may never end); an EDF/XDF/gzip/SQLite file is named with
    "import it first"; UTF-16 text is named (save it as UTF-8)."""
    import stat

    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise ImportFormatError(f"{p}: no such file") from None
    except OSError as exc:
        raise ImportFormatError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        return p  # the table reader says "is a folder" in its words
    if not stat.S_ISREG(mode):
        raise ImportFormatError(f"{p}: not a regular file (a pipe or a device); save the data to a file first")
    try:
        with p.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ImportFormatError(f"{p}: cannot read ({exc.strerror or exc})") from None
    for magic, what in _IMPORT_FIRST:
        if head.startswith(magic):
            raise ImportFormatError(f"{p}: is {what}, not an RR or ECG table: import it first "
                                    f"('biotrainer import {p}'), then analyze the session")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFormatError(f"{p}: UTF-16 text; save it as UTF-8 (plain text) and try again")
    return p


def read_rr_file(path: str | Path, column: str | None = None) -> RrFile:
    """An RR file for analysis (:func:`biotrainer.exchange.import_rr.read_rr`): at least 2 intervals.

    Returns
    -------
    RrFile
        ``rr_ms`` (exact from ``rr_1024`` when the file has it), and ``beat_t_s``/``participant`` when present.

    Raises
    ------
    ImportFormatError
        Missing/unreadable file, no numbers, a value that is not a number (with its line), non-positive
        intervals, fewer than 2 intervals.
    """
    from biotrainer.exchange.import_rr import read_rr

    rr = read_rr(check_data_file(path), column)
    if rr.rr_ms.size < 2:
        raise ImportFormatError(f"{path}: {rr.rr_ms.size} RR value(s); at least 2 are needed")
    return rr


def read_ecg_file(path: str | Path, column: str | None = None) -> np.ndarray:
    """ECG samples from ``.npy`` or a one-column (or ``column``-named) CSV/text file."""
    p = check_data_file(path)
    if not p.is_file():
        raise ImportFormatError(f"{p}: no such file")
    if p.suffix.lower() == ".npy":
        try:
            x = np.load(p, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError, EOFError) as exc:
            raise ImportFormatError(f"{p}: not a readable .npy array ({exc or 'empty file'})") from None
        if not isinstance(x, np.ndarray):
            raise ImportFormatError(f"{p}: not a single .npy array ({type(x).__name__})")
        if x.dtype.kind not in "iuf":
            what = {"U": "text", "S": "bytes", "b": "true/false", "c": "complex"}.get(x.dtype.kind, str(x.dtype))
            raise ImportFormatError(f"{p}: the array holds {what} values ({x.dtype}); an ECG is numbers")
        x = np.asarray(x, dtype=float)
        if x.ndim == 2 and 1 in x.shape:
            x = x.ravel()
        if x.ndim != 1:
            raise ImportFormatError(f"{p}: ECG array has shape {x.shape}; expected one dimension")
    else:
        table = read_table(p, what="an ECG file")
        x = table.values(choose_column(table, column, (ecg_name,), "ECG", "ecg, ecg_uv, ECG (mV) or signal"))
    if x.size == 0:
        raise ImportFormatError(f"{p}: no ECG samples in the file")
    if not np.all(np.isfinite(x)):
        raise ImportFormatError(f"{p}: ECG contains non-finite values")
    return x
