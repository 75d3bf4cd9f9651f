"""Text tables of other apps (CSV/TSV of RR intervals or ECG samples): one reader, one column-choice rule.

A table is the file's lines without blank lines and ``#`` comments; the delimiter is a tab if the first line has
one, else ``;`` if it has more ``;`` than ``,``, else ``,``. The first line is a header when one of its cells is
not a number. Cells are numbers with ``.`` (or one decimal comma when the delimiter is not ``,``).

The column rule, for RR (:func:`biotrainer.exchange.import_rr.read_rr_table`) and ECG
(:func:`biotrainer.analysis.inputs.read_ecg_file`) alike (:func:`choose_column`):

1. the column the user named (``--column``; exact name, else case-insensitive), which needs a header row;
2. else the first column whose header matches the data's names, trying the name rules in order (RR: ``rr_1024``,
   then ``rr``/``ibi``/``nn``/``rri`` with an optional unit; ECG: ``ecg``/``mv``/``uv``/``signal``);
3. else the only column of a one-column file.

Errors are one-line :class:`~biotrainer.core.errors.ImportFormatError` naming the file and the file's own line number
(counting blank and comment lines).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biotrainer.core.errors import ImportFormatError

NameRule = Callable[[str], object]  # header (as written) → truthy when it names the data

ECG_HINTS = ("ecg", "mv", "uv", "signal")


def ecg_name(header: str) -> bool:
    """The ECG name rule: ``ecg``, ``mv``, ``uv``, ``signal``, alone or followed by ``_``, space or ``(``
    (``ecg_uv``, ``ECG (mV)``, ``ecg [uV]`` of Polar Sensor Logger)."""
    h = header.lower()
    return any(h == k or h.startswith((k + "_", k + " ", k + "(")) for k in ECG_HINTS)


def ecg_scale_to_uv(header: str) -> float:
    """µV per unit of an ECG column named with its unit (``mV`` → 1000, ``V`` → 1e6); 1 for µV or no unit."""
    h = header.lower().replace("µ", "u")
    for unit, scale in (("uv", 1.0), ("mv", 1000.0)):
        if unit in h:
            return scale
    return 1e6 if h.rstrip(")]").endswith((" v", "(v", "[v", "_v")) else 1.0


def read_text(path: Path, what: str = "a data file") -> str:
    """The file's text (UTF-8, BOM dropped); a one-line error for a missing, folder, binary or unreadable file
    (``what`` the file should be, for the folder message)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFormatError(f"{path}: is a folder, not {what}") from None
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path}: not a text file") from None
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None


def number(s: str) -> float:
    """A number, accepting one decimal comma (``812,5``). Raises ValueError."""
    s = s.strip()
    return float(s.replace(",", ".") if s.count(",") == 1 and "." not in s else s)


def _is_number(s: str) -> bool:
    try:
        number(s)
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class TextTable:
    """A parsed text table: ``header`` (stripped names, empty without a header row), the data ``rows`` and each
    row's line number in the file."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    linenos: list[int]
    delimiter: str

    @property
    def n_columns(self) -> int:
        return len(self.header) if self.header else len(self.rows[0]) if self.rows else 0

    def name(self, i: int) -> str:
        """The header of column ``i`` (``column <i+1>`` without a header row)."""
        return self.header[i] if self.header else f"column {i + 1}"

    def values(self, i: int) -> np.ndarray:
        """Column ``i`` as floats; an error naming the line of a missing cell or a cell that is not a number."""
        out = np.empty(len(self.rows))
        parse = number if self.delimiter != "," else float
        for r, row in enumerate(self.rows):
            try:
                out[r] = parse(row[i])
            except (ValueError, IndexError):
                raise ImportFormatError(f"{self.path}: line {self.linenos[r]} column {self.name(i)!r} is not a "
                                        f"number: {(row[i] if i < len(row) else '')[:30]!r}") from None
        return out

    def strings(self, i: int) -> list[str]:
        """Column ``i`` as stripped text ('' where a row is short)."""
        return [row[i].strip() if i < len(row) else "" for row in self.rows]


def read_table(path: Path, text: str | None = None, what: str = "a data file") -> TextTable:
    """Parse a CSV/TSV text file (see the module docstring for delimiter and header rules)."""
    text = read_text(path, what) if text is None else text
    numbered = [(n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise ImportFormatError(f"{path}: empty file")
    first = numbered[0][1]
    delim = "\t" if "\t" in first else (";" if first.count(";") > first.count(",") else ",")
    parsed = list(csv.reader(io.StringIO("\n".join(ln for _, ln in numbered)), delimiter=delim))
    linenos = [n for n, _ in numbered]
    head = [h.strip() for h in parsed[0]]
    if any(h and not _is_number(h) for h in head):
        return TextTable(path, head, parsed[1:], linenos[1:], delim)
    return TextTable(path, [], parsed, linenos, delim)


def choose_column(table: TextTable, column: str | None, rules: Sequence[NameRule], what: str,
                  expected: str) -> int:
    """The index of the data column, by the one rule of the module docstring.

    Parameters
    ----------
    table : TextTable
    column : str, optional
        The column the user named.
    rules : sequence of callables
        Name rules in order of preference; the first rule that matches a header wins, at its first match.
    what : str
        The data, for messages (``RR``, ``ECG``).
    expected : str
        Example headers, for the message when no column matches.

    Raises
    ------
    ImportFormatError
        A named column without a header row or not in the header; several columns without header or match.
    """
    header, path = table.header, table.path
    if column is not None:
        if not header:
            raise ImportFormatError(f"{path}: --column {column!r} given but the file has no header row")
        if column in header:
            return header.index(column)
        lower = [h.lower() for h in header]
        if column.lower() in lower:
            return lower.index(column.lower())
        raise ImportFormatError(f"{path}: no column {column!r} (columns: {', '.join(header)[:80]})")
    for rule in rules:
        found = next((i for i, h in enumerate(header) if rule(h)), None)
        if found is not None:
            return found
    if table.n_columns == 1:
        return 0
    if not header:
        raise ImportFormatError(f"{path}: {table.n_columns} columns and no header: name the {what} column with "
                                "--column")
    raise ImportFormatError(f"{path}: no {what} column (expected a header like {expected}; found "
                            f"{', '.join(header)[:80]}); name it with --column")
