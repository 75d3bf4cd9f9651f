"""Reading RR and ECG files for offline analysis.

- RR: :func:`read_rr_file` is the import's reader, :func:`biotrainer.exchange.import_rr.read_rr` (one reader for
  ``import`` and ``analyze``): a plain text file with one interval per line (Kubios, Elite HRV, HRV Logger
  exports), or a CSV/TSV with a header and an RR column (``--column``, else ``rr_1024`` exactly, else the first
  column named like ``rr``, ``rr_ms``, ``RR (ms)``, ``ibi``, ``nn``, ``rri``), with optional ``beat_t_s`` and
  ``participant`` columns. Values are ms; values all below 10 (or a column named in seconds) are seconds.
- ECG: ``.npy`` (1-D), or ``.csv``/``.txt`` with one column, or the column named by ``column``. The sampling rate
  is not in these files: the caller passes it.

Errors are :class:`~biotrainer.errors.ImportFormatError` naming the file and the problem.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from biotrainer.errors import ImportFormatError

if TYPE_CHECKING:
    from biotrainer.exchange.import_rr import RrFile

log = logging.getLogger(__name__)

def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _sniff_delimiter(lines: list[str]) -> str | None:
    sample = lines[0]
    for d in ("\t", ";", ","):
        if d in sample:
            return d
    return None


def _to_float(path: Path, value: str, where: str) -> float:
    try:
        return float(value.strip().replace(",", ".") if value.count(",") == 1 and "." not in value else value)
    except ValueError:
        raise ImportFormatError(f"{path}: {where}: {value.strip()!r} is not a number") from None


def _table_column(path: Path, text: str, column: str | None, hints: tuple[str, ...]) -> np.ndarray:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    delim = _sniff_delimiter(lines) or ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    header = [h.strip() for h in rows[0]]
    has_header = any(not _is_number(h) for h in header if h)
    if not has_header:
        if column is not None:
            raise ImportFormatError(f"{path}: --column {column!r} given but the file has no header row")
        if len(header) != 1:
            raise ImportFormatError(f"{path}: {len(header)} columns and no header: name the column with --column")
        idx, body = 0, rows
    else:
        lower = [h.lower() for h in header]
        if column is not None:
            if column in header:
                idx = header.index(column)
            elif column.lower() in lower:
                idx = lower.index(column.lower())
            else:
                raise ImportFormatError(f"{path}: no column {column!r} (columns: {', '.join(header)})")
        elif len(header) == 1:
            idx = 0
        else:
            found = [i for i, h in enumerate(lower) if any(h == k or h.startswith(k + "_") or h.startswith(k + " ")
                                                            or h.startswith(k + "(") for k in hints)]
            if not found:
                raise ImportFormatError(f"{path}: cannot tell which column holds the data (columns: "
                                        f"{', '.join(header)}); name it with --column")
            idx = found[0]
        body = rows[1:]
    out = []
    for n, row in enumerate(body, start=2 if has_header else 1):
        if idx >= len(row) or not row[idx].strip():
            continue
        out.append(_to_float(path, row[idx], f"row {n}"))
    return np.asarray(out, dtype=float)


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


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

    rr = read_rr(Path(path), column)
    if rr.rr_ms.size < 2:
        raise ImportFormatError(f"{path}: {rr.rr_ms.size} RR value(s); at least 2 are needed")
    return rr


def read_ecg_file(path: str | Path, column: str | None = None) -> np.ndarray:
    """ECG samples from ``.npy`` or a one-column (or ``column``-named) CSV/text file."""
    p = Path(path)
    if not p.is_file():
        raise ImportFormatError(f"{p}: no such file")
    if p.suffix.lower() == ".npy":
        try:
            x = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ImportFormatError(f"{p}: not a readable .npy array ({exc})") from None
        x = np.asarray(x, dtype=float)
        if x.ndim == 2 and 1 in x.shape:
            x = x.ravel()
        if x.ndim != 1:
            raise ImportFormatError(f"{p}: ECG array has shape {x.shape}; expected one dimension")
    else:
        x = _table_column(p, _read_text(p), column, ("ecg", "mv", "uv", "signal"))
    if x.size == 0:
        raise ImportFormatError(f"{p}: no ECG samples in the file")
    if not np.all(np.isfinite(x)):
        raise ImportFormatError(f"{p}: ECG contains non-finite values")
    return x
