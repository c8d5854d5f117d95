"""Small table helpers shared by every stage: the one safe CSV writer and HTML escaping.

Every CSV the workbench writes (quarantine lists, stage artifacts, batch scores, exports) goes through
:class:`SafeCsvWriter` / :func:`write_csv_safe`:

* **RFC 4180**: records end in CRLF; a field holding a comma, a double quote, a CR or an LF is quoted and its quotes
  doubled — so a bare carriage return inside a value (old-Mac line breaks, a planted ``\\r=1+1``) can never split a
  record in Excel, WPS, LibreOffice, pandas or the workbench's own reader.
* **No formulas**: a text cell whose first visible character is ``=``, ``+``, ``-``, ``@`` (or their full-width
  forms ``＝＋－＠``), also after leading spaces, tabs, control or zero-width characters, or that starts with a tab
  or CR, gets a leading apostrophe, so spreadsheets show it as text (CSV injection). A cell that already starts with
  an apostrophe gets one more, which makes the change reversible: :func:`restore_cell` undoes it exactly.
* **Round trip**: what it writes, the intake reader (:func:`workbench.intake.read_raw_table`) reads back cell for
  cell as :func:`neutralise_cell` left it. Two things cannot travel in a text file for humans and are escaped
  visibly instead: NUL (written as the four characters ``\\x00``) and lone surrogates (``\\udcxx``).
* UTF-8 with BOM by default, so Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._text import is_invisible

__all__ = [
    "SafeCsvWriter",
    "csv_text",
    "escape",
    "neutralise_cell",
    "neutralise_formulas",
    "restore_cell",
    "restore_formulas",
    "write_csv_safe",
]

# First visible characters that make Excel/WPS/LibreOffice evaluate a cell (CSV injection), full-width forms included.
_FORMULA_START = frozenset("=+-@＝＋－＠")
# Leading characters dangerous by themselves (OWASP: tab and carriage return); the apostrophe is escaped too so the
# neutralisation can be undone exactly.
_ALWAYS_QUOTE = frozenset("\t\r'")


def neutralise_cell(text: str) -> str:
    """``text`` as a spreadsheet-safe cell: prefixed with ``'`` if a spreadsheet could run it as a formula.

    >>> neutralise_cell("=1+1"), neutralise_cell(" \\u200b＝SUM(A1)"), neutralise_cell("-3"), neutralise_cell("王小明")
    ("'=1+1", "' \\u200b＝SUM(A1)", "'-3", '王小明')
    """
    if not text:
        return text
    if text[0] in _ALWAYS_QUOTE:
        return "'" + text
    for ch in text:  # skip leading whitespace/control/zero-width characters: spreadsheets skip some of them too
        if ch in _FORMULA_START:
            return "'" + text
        if not is_invisible(ch):
            return text
    return text


def restore_cell(text: str) -> str:
    """The inverse of :func:`neutralise_cell`: ``restore_cell(neutralise_cell(x)) == x`` for every string."""
    return text[1:] if text.startswith("'") else text


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are passed through :func:`neutralise_cell` (numbers are left alone)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [neutralise_cell(v) if isinstance(v, str) else v for v in out[col].tolist()]
            out[col] = out[col].astype(object)
    return out


def restore_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with :func:`restore_cell` applied to every text cell (undoes :func:`neutralise_formulas`)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = pd.Series([restore_cell(v) if isinstance(v, str) else v for v in out[col].tolist()], index=out.index, dtype=object)
    return out


def _visible_escapes(text: str) -> str:
    """NUL and lone surrogates written as backslash escapes (they cannot travel in a CSV meant for people)."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _text_cell(value: str, neutralise: bool) -> str:
    value = _visible_escapes(value)
    return neutralise_cell(value) if neutralise else value


def _cell(value, neutralise: bool) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return _text_cell(value, neutralise)
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, bytes):
        return _text_cell(value.decode("utf-8", "backslashreplace"), neutralise)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return _text_cell(str(value), neutralise)


def _column_cells(series: pd.Series, neutralise: bool) -> list[str]:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not series.isna().any():
        return ["True" if v else "False" for v in series.tolist()]
    if pd.api.types.is_integer_dtype(dtype) and not series.isna().any():
        return [str(v) for v in series.tolist()]
    return [_cell(v, neutralise) for v in series.tolist()]


class SafeCsvWriter:
    """Write records to a CSV file safely (RFC 4180 quoting, formulas neutralised), in as many pieces as needed.

    ``target`` is a path (opened here; ``append=True`` adds records to an existing file without a second header) or
    an open text handle (opened with ``newline=""``). Use as a context manager or call :meth:`close`.

        with SafeCsvWriter(path, ["answer_id", "score"]) as out:
            for chunk in chunks:
                out.write_frame(chunk)
    """

    def __init__(
        self,
        target,
        columns: Sequence[str],
        *,
        encoding: str = "utf-8-sig",
        append: bool = False,
        header: bool = True,
        neutralise: bool = True,
    ):
        self.columns = [str(c) for c in columns]
        self.neutralise = neutralise
        if isinstance(target, (str, os.PathLike)):
            self.path = Path(target)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            existing = append and self.path.exists() and self.path.stat().st_size > 0
            # errors="strict": every cell is made encodable first; an unencodable character here is a bug, not data
            self._handle = open(self.path, "a" if append else "w", encoding=encoding, newline="")
            self._owns = True
            header = header and not existing
        else:
            self.path = None
            self._handle = target
            self._owns = False
        # CRLF as the record end: the csv module then quotes every field holding CR or LF (with "\n" alone it would
        # leave a bare CR unquoted — the quarantine.csv defect of issue 17)
        self._writer = csv.writer(self._handle, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL, doublequote=True)
        if header:
            self._writer.writerow([_text_cell(c, neutralise) for c in self.columns])

    def write_frame(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (its columns must be this writer's columns, in order)."""
        if [str(c) for c in frame.columns] != self.columns:
            raise ValueError(f"frame columns {list(frame.columns)} differ from the writer's {self.columns}")
        if not len(frame):
            return
        cells = [_column_cells(frame[col], self.neutralise) for col in frame.columns]
        self._writer.writerows(zip(*cells))

    def write_rows(self, rows: Iterable[Sequence]) -> None:
        """Append rows given as sequences of values in column order."""
        width = len(self.columns)
        for row in rows:
            if len(row) != width:
                raise ValueError(f"row has {len(row)} values, the writer has {width} columns")
            self._writer.writerow([_cell(v, self.neutralise) for v in row])

    def close(self) -> None:
        if self._owns and not self._handle.closed:
            self._handle.close()
        elif not self._owns:
            self._handle.flush()

    def __enter__(self) -> SafeCsvWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_csv_safe(df: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8-sig", append: bool = False) -> Path:
    """Write ``df`` (no index) as a safe CSV for people: UTF-8 with BOM, RFC 4180, formulas neutralised.

    ``append=True`` adds the rows to an existing file (the header only if the file is new or empty).
    """
    with SafeCsvWriter(path, list(df.columns), encoding=encoding, append=append) as out:
        out.write_frame(df)
    return Path(path)


def csv_text(df: pd.DataFrame) -> str:
    """The safe CSV text of ``df`` (for downloads embedded in reports)."""
    buffer = io.StringIO(newline="")
    with SafeCsvWriter(buffer, list(df.columns)) as out:
        out.write_frame(df)
    return buffer.getvalue()


def escape(value: object) -> str:
    """HTML-escape anything shown in a report."""
    return html.escape("" if value is None else str(value), quote=True)
