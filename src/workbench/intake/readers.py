"""Read an input table — CSV, XLSX or Parquet — as text cells, accounting for every record from the bytes up.

One reader serves every entry point (intake, ``workbench score``, ``workbench bench questions``)::

    from workbench.intake.readers import open_table, read_raw_table

    raw = read_raw_table("answers.csv", table="answers")     # the whole file
    raw.frame, raw.rows, raw.lines, raw.problems, raw.counts

    with open_table("answers.csv", table="answers", columns=["answer_id", "answer_text"]) as stream:
        stream.columns                                         # the header, normalised
        for chunk in stream.chunks(20_000):                    # bounded memory
            chunk.frame, chunk.rows, chunk.problems
        stream.counts                                          # complete after the last chunk

**Accounting.** CSV is read line by line from the decoded byte stream; every physical line ends up in exactly one
of: the header, a blank record, a data record, or a damaged span — ``counts.lines == header_lines + blank_lines +
record_lines`` is checked at the end of every file. Every data record ends up either in a chunk's ``frame`` or in
its ``problems`` (one entry per problem, several for one record are possible): ``rows_in == len(frame) + rows with
problems``. Nothing can disappear between the file and ``rows_in``.

**Row numbers** are what a spreadsheet shows (header = row 1; blank records counted), ``line`` is the physical line
where a record starts (what a text editor shows). A *damaged span* — an unclosed quote that swallowed later lines —
is quarantined line by line: each of its physical lines gets its own row number, the number it would have if the
quote were closed, so the rows it covers are listed and the records after it keep their numbers.

**What stays row-level**: NUL bytes, bytes that do not decode in the file's encoding, fields over
:data:`MAX_FIELD_CHARS`, records with more non-empty fields than the header, broken quoting, binary Parquet cells that
are not UTF-8, nested Parquet values. **What stops the file** (:class:`~workbench.errors.IntakeError` with a ``code``):
a missing, empty, binary or undecodable file, a corrupt XLSX/Parquet, a damaged or duplicated header.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._text import is_blank, normalize_column_name
from ..errors import IntakeError
from ..i18n import t

__all__ = [
    "xlsx_sheet_headers",
    "MAX_FIELD_CHARS",
    "MAX_RECORD_CHARS",
    "SUPPORTED_SUFFIXES",
    "RawChunk",
    "RawProblem",
    "RawTable",
    "ReadCounts",
    "TableStream",
    "decode_bytes",
    "detect_encoding",
    "open_table",
    "preview",
    "read_raw_table",
]

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")
_COMPRESSED_CSV = (".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")

#: A field longer than this is quarantined by the reader itself (``field_too_large``), whatever the contract says.
MAX_FIELD_CHARS = 1_000_000
#: A record longer than this is quarantined as ``record_too_large`` and reading resumes at the next line; it bounds
#: the memory an unclosed quote at the top of a huge file can take.
MAX_RECORD_CHARS = 4_000_000
WHOLE_RECORD = "*"  # the ``column`` of a problem that concerns the whole record

_BLOCK = 1 << 20
_PREVIEW_CHARS = 200
# C0 control bytes other than TAB, LF, VT, FF, CR: with NUL bytes among them, their share decides whether a .csv is
# text with a few damaged records or not text at all.
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x20))
_BINARY_SHARE = 0.05
_BINARY_MIN = 8
_MARK = re.compile("[\udc00-\udcff]")  # an undecodable byte, marked by the error handler below
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# ------------------------------------------------------------------------------------------------------------------
# decoding: undecodable bytes become marks (lone surrogates U+DC00+byte) so they can be pinned to a record
# ------------------------------------------------------------------------------------------------------------------
def _mark_errors(exc: UnicodeError):
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    # GB18030's error ranges can include a following ASCII byte (an incomplete four-byte sequence): mark one byte and
    # let the decoder retry from the next, so a delimiter or line break is never swallowed by a mark.
    stop = exc.start + 1 if exc.encoding.replace("_", "").lower() in ("gb18030", "gbk") else exc.end
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start:stop]), stop


def _mark_errors_cp936(exc: UnicodeError):
    # Windows code page 936 is GBK plus the euro sign at 0x80, which GB18030 (and Python's gbk) do not decode
    if isinstance(exc, UnicodeDecodeError) and exc.object[exc.start] == 0x80:
        return "€", exc.start + 1
    return _mark_errors(exc)


codecs.register_error("workbench.mark", _mark_errors)
codecs.register_error("workbench.mark_cp936", _mark_errors_cp936)
# The csv module's per-field limit (131,072 characters by default) would reject a whole file for one oversized field.
# The reader enforces its own limits record by record (MAX_FIELD_CHARS, MAX_RECORD_CHARS), so the module's limit is
# raised above them; it is process-wide and only ever raised here.
if csv.field_size_limit() < MAX_RECORD_CHARS + 1:
    csv.field_size_limit(MAX_RECORD_CHARS + 1)


@dataclass(frozen=True)
class _Encoding:
    label: str  # what the report shows: utf-8, utf-8-sig, utf-16, gb18030, cp936, big5 …
    codec: str  # the Python codec that decodes it
    errors: str = "workbench.mark"


def _encoding_for(label: str) -> _Encoding:
    if label == "cp936":
        return _Encoding("cp936", "gb18030", "workbench.mark_cp936")
    return _Encoding(label, label)


def decode_bytes(data: bytes, encoding: str) -> str:
    """``data`` decoded as :func:`detect_encoding` named it (``cp936`` included); undecodable bytes become U+DCxx."""
    enc = _encoding_for(encoding)
    return data.decode(enc.codec, enc.errors)


@dataclass
class _Stats:
    marks: int = 0
    non_ascii: int = 0
    private_use: int = 0
    lone_0x80: int = 0
    stopped: bool = False  # gave up early: this encoding is clearly wrong


def _decode_stats(blocks, codec: str, errors: str = "workbench.mark") -> _Stats:
    stats = _Stats()
    decoder = codecs.getincrementaldecoder(codec)(errors)
    for block, final in blocks:
        text = decoder.decode(block, final)
        ascii_chars = len(text.encode("ascii", "ignore"))
        marks = len(_MARK.findall(text)) if _MARK.search(text) else 0
        stats.marks += marks
        stats.non_ascii += len(text) - ascii_chars - marks
        if _PRIVATE_USE.search(text):
            stats.private_use += len(_PRIVATE_USE.findall(text))
        if marks:
            stats.lone_0x80 += text.count("\udc80")
        if stats.marks > 1000 and stats.non_ascii < 10 * (stats.marks - stats.lone_0x80):
            stats.stopped = True  # thousands of undecodable bytes: not this encoding; stop paying for the decode
            break
    return stats


class _ByteSource:
    """Re-openable raw bytes of a CSV (a plain or compressed file, or bytes in memory), read in blocks."""

    def __init__(self, path: Path, data: bytes | None = None):
        self.path, self.data = path, data
        name = path.name.lower()
        self.kind = next((s for s in _COMPRESSED_CSV if name.endswith(s)), ".csv")

    def open(self):
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.kind == ".csv":
            return open(self.path, "rb")
        if self.kind == ".csv.gz":
            import gzip

            return gzip.open(self.path, "rb")
        if self.kind == ".csv.bz2":
            import bz2

            return bz2.open(self.path, "rb")
        if self.kind == ".csv.xz":
            import lzma

            return lzma.open(self.path, "rb")
        import zipfile

        archive = zipfile.ZipFile(self.path)
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            raise ValueError(f"a .csv.zip must hold exactly one file, it holds {len(members)}")
        return archive.open(members[0])

    def blocks(self, limit: int | None = None):
        """(block, is_last) pairs; ``limit`` stops after that many bytes."""
        read = 0
        with self.open() as handle:
            block = handle.read(_BLOCK)
            while block:
                nxt = handle.read(_BLOCK) if limit is None or read + len(block) < limit else b""
                read += len(block)
                yield block, not nxt
                block = nxt


def _detect(source: _ByteSource, table: str) -> _Encoding:
    """Choose the encoding of a CSV from its bytes (one streaming pass for UTF-8 files, more only when needed)."""
    path = str(source.path)
    size = control = nul = 0
    visible = False
    head = b""
    utf8 = _Stats()
    decoder = codecs.getincrementaldecoder("utf-8")("workbench.mark")
    for block, final in source.blocks():
        if not size:
            head = block[:4]
        size += len(block)
        if not visible and block.strip():
            visible = True
        control += len(block) - len(block.translate(None, _CONTROL_BYTES))
        nul += block.count(0)
        if not utf8.stopped:
            text = decoder.decode(block, final)
            marks = len(_MARK.findall(text)) if _MARK.search(text) else 0
            utf8.marks += marks
            utf8.non_ascii += len(text) - len(text.encode("ascii", "ignore")) - marks
            if utf8.marks > 1000 and utf8.non_ascii < 10 * utf8.marks:
                utf8.stopped = True
    if not visible:
        raise _error("empty_file", table, path)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _Encoding("utf-16", "utf-16")
    # binary: NUL bytes and many control bytes (text never has NUL; the workbench's own CSVs write it as \x00, so
    # text with other control characters in its values always reads back)
    if nul and control >= _BINARY_MIN and control / size >= _BINARY_SHARE:
        raise _error("not_text", table, path, share=f"{control / size:.0%}")
    if head.startswith(b"\xef\xbb\xbf"):
        return _Encoding("utf-8-sig", "utf-8-sig")
    if utf8.marks == 0:
        return _Encoding("utf-8", "utf-8")
    gb = _decode_stats(source.blocks(), "gb18030")
    gb_bad = gb.marks - gb.lone_0x80  # 0x80 is the euro sign of code page 936, not an error
    gb_label = "cp936" if gb.lone_0x80 else "gb18030"
    # GBK maps user-defined characters (rare name characters in older bank systems) to private use: a few are data;
    # many mean the bytes are another encoding (Big5 text decodes into GB18030's private-use area)
    gb_plausible = not gb.stopped and gb.private_use * 100 <= gb.non_ascii
    if gb_bad == 0 and gb_plausible:
        return _encoding_for(gb_label)
    # both damaged: the encoding with fewer undecodable bytes, if they are few (each is pinned to its record);
    # a tie goes to UTF-8, whose multi-byte sequences almost never form by chance
    utf8_ok = not utf8.stopped and utf8.marks <= max(2, utf8.non_ascii // 10)
    gb_ok = gb_plausible and gb_bad <= max(2, gb.non_ascii // 10)
    if utf8_ok and (not gb_ok or utf8.marks <= gb_bad):
        return _Encoding("utf-8", "utf-8")
    if gb_ok:
        return _encoding_for(gb_label)
    from charset_normalizer import from_bytes

    sample = b"".join(block for block, _ in source.blocks(limit=4 * _BLOCK))
    best = from_bytes(sample).best()
    if best is not None and best.encoding:
        try:
            codec = codecs.lookup(best.encoding).name
        except LookupError:
            codec = None
        if codec is not None:
            stats = _decode_stats(source.blocks(), codec)
            if stats.marks == 0 and not stats.stopped:
                return _Encoding(best.encoding, codec)
    raise _error("unknown_encoding", table, path)


def detect_encoding(data: bytes) -> str:
    """The encoding of CSV bytes: UTF-8 (BOM or not), UTF-16 (BOM), GB18030/GBK, CP936 (GBK with € at 0x80), else a guess.

    GB18030 decodes almost any byte string, so text that decodes only into private-use characters there (a sign of
    Big5 or another encoding) is handed to charset-normalizer. Decode the result with :func:`decode_bytes` (Python's
    own ``cp936`` codec lacks the euro sign). Raises :class:`UnicodeError` if no encoding fits.
    """
    try:
        return _detect(_ByteSource(Path("<bytes>"), data), "-").label
    except IntakeError as exc:
        if exc.code in ("unknown_encoding", "not_text", "empty_file"):
            raise UnicodeError(f"no text encoding fits ({exc.code})") from exc
        raise


# ------------------------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RawProblem:
    """A record the reader could not take as it is. ``column`` is ``"*"`` when the whole record is concerned."""

    row: int
    line: int | None
    column: str
    code: str
    value: str | None = None
    params: dict = field(default_factory=dict)


@dataclass
class ReadCounts:
    """What the reader saw. ``records`` is *rows in*: every data record, taken or quarantined by the reader."""

    lines: int | None = 0  # physical lines (CSV), sheet rows up to the last one (XLSX); None for Parquet
    header_lines: int = 0
    blank_records: int = 0  # records with no visible character (not rows in; Excel shows them as empty rows)
    blank_lines: int = 0
    records: int = 0
    record_lines: int = 0  # lines taken by data records and damaged spans
    multiline_records: int = 0  # records whose quoted fields span lines
    damaged_rows: int = 0  # rows quarantined by the reader itself (damaged spans count one per line)

    @property
    def reconciles(self) -> bool:
        return self.lines is None or self.lines == self.header_lines + self.blank_lines + self.record_lines

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class RawChunk:
    """Up to ``chunk_size`` records: the good ones as text cells, the damaged ones as problems."""

    frame: pd.DataFrame  # text cells (str) or None; index 0..n-1
    rows: pd.Series  # row number of each frame record
    lines: pd.Series  # physical line where it starts (<NA> for Parquet)
    problems: list[RawProblem]

    @property
    def rows_in(self) -> int:
        return len(self.frame) + len({p.row for p in self.problems})


@dataclass
class RawTable:
    """A file's records as text, before any contract is applied (see the module docstring for the numbering)."""

    path: Path
    frame: pd.DataFrame
    rows: pd.Series
    encoding: str | None
    file_format: str
    problems: list[RawProblem] = field(default_factory=list)
    lines: pd.Series | None = None
    counts: ReadCounts = field(default_factory=ReadCounts)
    column_kinds: dict[str, str] = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        """Data records in the file: those in ``frame`` plus those the reader quarantined."""
        return len(self.frame) + len({p.row for p in self.problems})



def preview(text: str | None, limit: int = _PREVIEW_CHARS) -> str | None:
    """A value as it may be shown and written: NUL and undecodable bytes escaped, cut to ``limit`` characters."""
    if text is None:
        return None
    if len(text) > limit:
        text = text[:limit] + f"…(+{len(text) - limit:,})"
    text = text.replace("\x00", "\\x00")
    if _MARK.search(text):
        text = _MARK.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)
    return text


def _error(code: str, table: str, path: str, *, column: str | None = None, **params) -> IntakeError:
    return IntakeError(t(f"intake.error.{code}", table=table, path=path, column=column, **params), file=path, column=column, code=code)


# ------------------------------------------------------------------------------------------------------------------
# record sources: each yields _Item(kind, row, line, nlines, cells|texts, code)
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class _Item:
    kind: str  # "header" | "blank" | "record" | "span"
    row: int
    line: int | None
    nlines: int
    cells: list | None = None
    texts: list[str] | None = None  # the physical lines of a damaged span
    code: str = ""


class _RecordTooLarge(Exception):
    pass


class _LineFeed:
    """The csv module's line source: counts physical lines and keeps those of the record being parsed."""

    def __init__(self, readline, limit: int):
        self._readline = readline
        self.limit = limit
        self.count = 0
        self._start = 1
        self._buffer: list[str] = []
        self._size = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self._readline()
        if not line:
            raise StopIteration
        self.count += 1
        self._buffer.append(line)
        self._size += len(line)
        if self._size > self.limit:
            raise _RecordTooLarge
        return line

    def take(self) -> tuple[int, list[str]]:
        start, lines = self._start, self._buffer
        self._start, self._buffer, self._size = self.count + 1, [], 0
        return start, lines


_DIGITS = re.compile(r"[0-9]+")
_LETTERS = re.compile(r"[A-Za-z]+")


def _shape(text: str) -> str:
    """The shape of an id, runs collapsed (``C0000001-wealth_product.q2`` → ``a9-a_a.a9``), to tell a swallowed
    record's first field from prose."""
    return _LETTERS.sub("a", _DIGITS.sub("9", text.strip()))


def _swallowed(cells: list[str], texts: list[str], single_line: set[int], width: int) -> bool:
    """Does this multi-line record hold later records inside a quoted field (an unclosed quote)?

    Only a line inside the field that has a whole record's worth of delimiters can be a swallowed record; it is one if
    the field sits in a column that cannot span lines (ids, numbers, allowed values), or — in free text — if the line
    also starts with an id shaped like the record's own first field.
    """
    if width < 2:
        return False
    first_shape = _shape(cells[0]) if cells else ""
    for i, value in enumerate(cells):
        if "\n" not in value and "\r" not in value:
            continue
        for piece in _LINE_BREAK.split(value)[1:]:
            if piece.count(",") < width - 1:
                continue
            if i in single_line or (first_shape and _shape(piece.split(",", 1)[0]) == first_shape):
                return True
    return False


def _csv_items(stream: io.TextIOBase, *, path: str, table: str, single_line_names: set[str] | None, state: dict) -> Iterator[_Item]:
    feed = _LineFeed(stream.readline, MAX_RECORD_CHARS)
    reader = csv.reader(feed, strict=True)
    row = 0
    header: list[str] | None = None
    single_line: set[int] = set()
    width = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except (_RecordTooLarge, csv.Error) as exc:
            start, texts = feed.take()
            if header is None:
                raise _error("bad_header", table, path, row=row + 1, detail=t("intake.error.detail.header_quote")) from exc
            if isinstance(exc, _RecordTooLarge):
                code = "record_too_large"
            elif len(texts) > 1 or "unexpected end of data" in str(exc):
                code = "unclosed_quote"
            else:
                code = "bad_quoting"
            yield _Item("span", row + 1, start, len(texts), texts=texts, code=code)
            row += len(texts)
            continue
        start, texts = feed.take()
        n = len(texts)
        if header is None:
            row += 1
            if not cells or all(is_blank(c) for c in cells):
                yield _Item("blank", row, start, n)
                continue
            if n > 1 and any("," in piece for c in cells for piece in _LINE_BREAK.split(c)[1:]):
                raise _error("bad_header", table, path, row=row, detail=t("intake.error.detail.header_lines"))
            header = cells
            yield _Item("header", row, start, n, cells=cells)
            names = state["columns"]
            width = len(names)
            single_line = {i for i, name in enumerate(names) if single_line_names and name in single_line_names}
            continue
        if n > 1 and _swallowed(cells, texts, single_line, width):
            yield _Item("span", row + 1, start, n, texts=texts, code="unclosed_quote")
            row += n
            continue
        row += 1
        if not cells or all(is_blank(c) for c in cells):
            yield _Item("blank", row, start, n)
        else:
            yield _Item("record", row, start, n, cells=cells)
    state["lines"] = feed.count


def _plain_number(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
    return str(value)


_FORMAT_TOKEN = re.compile(r'"[^"]*"|\\.|[0#]|.', re.S)


def _xlsx_display(value, number_format: str | None) -> str:
    """A numeric XLSX cell as text; with a zero-padding number format (``000000``, ``"E"00000``) as Excel shows it.

    Only formats made of digit placeholders (``0``, ``#``) between literal text are rendered; anything else (decimals,
    thousands separators, dates, percentages) keeps the plain number.
    """
    if not number_format or isinstance(value, bool) or not isinstance(value, (int, float)):
        return _plain_number(value)
    section = number_format.split(";", 1)[0]
    if "0" not in section or not float(value).is_integer() or value < 0:
        return _plain_number(value)
    prefix, digits, suffix = [], [], []
    for token in _FORMAT_TOKEN.findall(section):
        if token in ("0", "#"):
            if suffix:
                return _plain_number(value)  # placeholders after literal text: not a padding format
            digits.append(token)
        elif token.startswith('"') and len(token) >= 2:
            (suffix if digits else prefix).append(token[1:-1])
        elif token.startswith("\\") and len(token) == 2:
            (suffix if digits else prefix).append(token[1])
        else:
            return _plain_number(value)
    zeros = "".join(digits).lstrip("#").count("0")
    return f"{''.join(prefix)}{int(value):0{zeros}d}{''.join(suffix)}"


def _xlsx_cell(cell) -> str | None:
    value = getattr(cell, "value", None)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return _xlsx_display(value, getattr(cell, "number_format", None))
    return str(value)


def xlsx_sheet_headers(path: str | Path, *, table: str = "workbook") -> dict[str, list[str]]:
    """The first non-blank row of every sheet of a workbook, by sheet name (vendors put an instructions sheet first)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise _error("unreadable", table, str(path), detail=f"{type(exc).__name__}: {exc}") from exc
    try:
        out = {}
        for sheet in book.worksheets:
            out[sheet.title] = []
            for cells in sheet.iter_rows(values_only=True):
                values = ["" if v is None else str(v) for v in cells]
                if any(v.strip() for v in values):
                    out[sheet.title] = [v.strip() for v in values]
                    break
        return out
    finally:
        book.close()


def _xlsx_items(path: Path, *, table: str, state: dict, sheet: str | int | None = None) -> Iterator[_Item]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, …: the file as a whole is unreadable
        raise _error("unreadable", table, str(path), detail=f"{type(exc).__name__}: {exc}") from exc
    try:
        if isinstance(sheet, str):
            if sheet not in book.sheetnames:
                raise _error("unreadable", table, str(path), detail=f"no sheet named {sheet!r}; sheets: {book.sheetnames}")
            sheet = book[sheet]
        else:
            sheet = book.worksheets[sheet or 0]
        if getattr(sheet, "reset_dimensions", None) is not None:
            sheet.reset_dimensions()  # some writers record a wrong sheet size; read what is there
        header_seen = False
        last = 0
        for position, cells in enumerate(sheet.iter_rows(), start=1):
            row = next((c.row for c in cells if getattr(c, "row", None)), position)
            if row > last + 1:  # rows the sheet does not store are empty rows
                for gap in range(last + 1, row):
                    yield _Item("blank", gap, gap, 1)
            last = row
            values = [_xlsx_cell(c) for c in cells]
            while values and values[-1] is None:
                values.pop()
            if not values or all(is_blank(v) for v in values):
                yield _Item("blank", row, row, 1)
            elif not header_seen:
                header_seen = True
                yield _Item("header", row, row, 1, cells=["" if v is None else v for v in values])
            else:
                yield _Item("record", row, row, 1, cells=values)
        state["lines"] = last
    except IntakeError:
        raise
    except Exception as exc:
        raise _error("unreadable", table, str(path), detail=f"{type(exc).__name__}: {exc}") from exc
    finally:
        book.close()


# ------------------------------------------------------------------------------------------------------------------
# the stream
# ------------------------------------------------------------------------------------------------------------------
def _kind_of(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return _kind_of(arrow_type.value_type)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type):
        return "text"
    if getattr(pa.types, "is_string_view", lambda _t: False)(arrow_type):
        return "text"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type) or pa.types.is_fixed_size_binary(arrow_type):
        return "binary"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "number"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_temporal(arrow_type):
        return "datetime"
    if pa.types.is_nested(arrow_type):
        return "nested"
    return "other"


class _Bad:
    """A Parquet cell that cannot be text; carries the problem code and a preview."""

    __slots__ = ("code", "value")

    def __init__(self, code: str, value: str):
        self.code, self.value = code, value


def _parquet_values(array, kind: str) -> list:
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    values = array.to_pylist()
    if kind == "text":
        return values
    if kind == "binary":
        out = []
        for v in values:
            if v is None:
                out.append(None)
                continue
            try:
                out.append(bytes(v).decode("utf-8"))
            except UnicodeDecodeError:
                out.append(_Bad("binary_not_utf8", bytes(v)[:64].hex(" ") + (" …" if len(v) > 64 else "")))
        return out
    if kind == "number":
        return [None if v is None else _plain_number(v) for v in values]
    if kind == "nested":
        return [None if v is None else _Bad("not_scalar", preview(repr(v)) or "") for v in values]
    return [None if v is None else str(v) for v in values]


def _text_suspect(array) -> bool:
    """Could a value of this Arrow array hold a NUL or exceed MAX_FIELD_CHARS? (vectorised; text columns only)"""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = array.dictionary
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return False  # numbers, booleans and dates become short text without NUL
    if not len(array) or array.null_count == len(array):
        return False
    longest = pc.max(pc.utf8_length(array)).as_py() or 0
    return longest > MAX_FIELD_CHARS or bool(pc.any(pc.match_substring(array, "\x00")).as_py())


class TableStream:
    """An open table file: the header is read (and checked) on opening, records come in :meth:`chunks`.

    Use :func:`open_table` to create one; close it (or use ``with``) when done.
    """

    def __init__(self, path: Path, *, table: str, file_format: str, single_line_columns: Sequence[str] | None, sheet: str | int | None = None):
        self.path, self.table, self.file_format = path, table, file_format
        self.sheet = sheet
        self.encoding: str | None = None
        self.columns: list[str] = []
        self.column_kinds: dict[str, str] = {}
        self.counts = ReadCounts(lines=None if file_format == "parquet" else 0)
        self._single_line = set(single_line_columns) if single_line_columns else None
        self._items: Iterator[_Item] | None = None
        self._state: dict = {}
        self._closers: list = []
        self._parquet = None
        self._done = False

    # opening -------------------------------------------------------------------------------------------------------
    def _open(self) -> None:
        path = str(self.path)
        if self.file_format == "csv":
            source = _ByteSource(self.path)
            try:
                encoding = _detect(source, self.table)
                binary = source.open()
            except IntakeError:
                raise
            except (OSError, ValueError, EOFError) as exc:
                raise _error("unreadable", self.table, path, detail=f"{type(exc).__name__}: {exc}") from exc
            self.encoding = encoding.label
            stream = io.TextIOWrapper(binary, encoding=encoding.codec, errors=encoding.errors, newline="")
            self._closers.append(stream.close)
            self._items = _csv_items(stream, path=path, table=self.table, single_line_names=self._single_line, state=self._state)
            self._closers.append(self._items.close)
            self._read_header()
            self.column_kinds = {c: "text" for c in self.columns}
        elif self.file_format == "xlsx":
            self._items = _xlsx_items(self.path, table=self.table, state=self._state, sheet=self.sheet)
            self._closers.append(self._items.close)
            self._read_header()
            self.column_kinds = {c: "text" for c in self.columns}
        else:
            import pyarrow.parquet as pq

            try:
                self._parquet = pq.ParquetFile(self.path)
                schema = self._parquet.schema_arrow
            except Exception as exc:  # ArrowInvalid, OSError …
                raise _error("unreadable", self.table, path, detail=f"{type(exc).__name__}: {exc}") from exc
            self._closers.append(self._parquet.close)
            self._parquet_names = [n for n in schema.names if not n.startswith("__index_level_")]
            self.columns = self._names(self._parquet_names, row=1)
            self.column_kinds = {name: _kind_of(schema.field(raw).type) for name, raw in zip(self.columns, self._parquet_names)}
            self.counts.header_lines = 0

    def _read_header(self) -> None:
        self._state["columns"] = None
        for item in self._items_with_errors():
            if item.kind == "blank":
                self._count_blank(item)
                continue
            if item.kind == "header":
                if any(isinstance(c, str) and ("\x00" in c or _MARK.search(c)) for c in item.cells):
                    raise _error("bad_header", self.table, str(self.path), row=item.row, detail=t("intake.error.detail.header_bytes"))
                self.columns = self._names(item.cells, row=item.row)
                self._state["columns"] = self.columns
                self.counts.header_lines = item.nlines
                self._header_row = item.row
                return
        raise _error("no_header", self.table, str(self.path))

    def _names(self, cells: Sequence, *, row: int) -> list[str]:
        names: list[str] = []
        seen: dict[str, int] = {}
        for i, cell in enumerate(cells):
            name = normalize_column_name(cell) or f"_unnamed_{i + 1}"
            if name in seen:
                first = seen[name]
                raise _error(
                    "duplicate_column", self.table, str(self.path), column=name,
                    first=first + 1, second=i + 1, first_name=str(cells[first]), second_name=str(cell),
                )
            seen[name] = i
            names.append(name)
        return names

    def _items_with_errors(self) -> Iterator[_Item]:
        # next() rather than ``yield from``: leaving this loop (after the header) must not close the record source
        while True:
            try:
                item = next(self._items)
            except StopIteration:
                return
            except IntakeError:
                raise
            except (UnicodeError, OSError, EOFError, ValueError) as exc:  # a truncated archive, an I/O error mid-file
                raise _error("unreadable", self.table, str(self.path), detail=f"{type(exc).__name__}: {exc}") from exc
            yield item

    def _count_blank(self, item: _Item) -> None:
        self.counts.blank_records += 1
        self.counts.blank_lines += item.nlines

    # reading -------------------------------------------------------------------------------------------------------
    def chunks(self, chunk_size: int = 20_000, *, columns: Sequence[str] | None = None) -> Iterator[RawChunk]:
        """Records in chunks of at most ``chunk_size`` rows (good + quarantined). ``columns`` selects (and orders)
        the columns of the frames; reader checks (NUL, undecodable bytes, oversized fields) apply to those columns,
        the record structure (quoting, field count) to the whole record."""
        if self._done:
            raise RuntimeError("this table has been read already; open it again")
        self._done = True
        wanted = list(self.columns if columns is None else [normalize_column_name(c) for c in columns])
        missing = [c for c in wanted if c not in self.columns]
        if missing:
            raise _error("missing_columns", self.table, str(self.path), column=missing[0], columns=", ".join(missing), present=", ".join(self.columns))
        if self.file_format == "parquet":
            yield from self._parquet_chunks(chunk_size, wanted)
        else:
            yield from self._record_chunks(chunk_size, wanted)
        if not self.counts.reconciles:  # pragma: no cover - an internal error: some line was not accounted for
            raise AssertionError(f"reader lost lines in {self.path}: {self.counts}")

    def _record_chunks(self, chunk_size: int, wanted: list[str]) -> Iterator[RawChunk]:
        width = len(self.columns)
        index = [self.columns.index(c) for c in wanted]
        records: list[list] = []
        rows: list[int] = []
        lines: list[int] = []
        problems: list[RawProblem] = []
        damaged: set[int] = set()
        counts = self.counts
        yielded = False

        def flush():
            frame = pd.DataFrame(records, columns=wanted, dtype=object) if records else pd.DataFrame({c: pd.Series(dtype=object) for c in wanted})
            return RawChunk(frame, pd.Series(rows, dtype="int64", name="row"), pd.Series(lines, dtype="Int64", name="line"), list(problems))

        for item in self._items_with_errors():
            if item.kind == "blank":
                self._count_blank(item)
                continue
            if item.kind == "span":
                counts.records += len(item.texts)
                counts.record_lines += len(item.texts)
                counts.damaged_rows += len(item.texts)
                last_row, last_line = item.row + len(item.texts) - 1, item.line + len(item.texts) - 1
                for k, text in enumerate(item.texts):
                    problems.append(RawProblem(item.row + k, item.line + k, WHOLE_RECORD, item.code, preview(text.rstrip("\r\n")),
                                               dict(first=item.row, last=last_row, first_line=item.line, last_line=last_line, limit=MAX_RECORD_CHARS)))
                    damaged.add(item.row + k)
            else:
                counts.records += 1
                counts.record_lines += item.nlines
                if item.nlines > 1:
                    counts.multiline_records += 1
                cells = item.cells
                found = []
                if len(cells) > width:
                    if any(not is_blank(c) for c in cells[width:]):
                        found.append(RawProblem(item.row, item.line, WHOLE_RECORD, "malformed_row", preview(",".join(c or "" for c in cells)),
                                                dict(fields=len(cells), width=width)))
                    cells = cells[:width]
                elif len(cells) < width:
                    cells = list(cells) + [None if self.file_format == "xlsx" else ""] * (width - len(cells))
                picked = [cells[i] for i in index]
                if not found:
                    for name, value in zip(wanted, picked):
                        code = _cell_problem(value)
                        if code:
                            found.append(RawProblem(item.row, item.line, name, code, preview(value),
                                                    dict(limit=MAX_FIELD_CHARS, encoding=self.encoding or "", bytes=_marked_bytes(value))))
                if found:
                    counts.damaged_rows += 1
                    problems.extend(found)
                    damaged.add(item.row)
                else:
                    records.append(picked)
                    rows.append(item.row)
                    lines.append(item.line)
            if len(records) + len(damaged) >= chunk_size:
                yield flush()
                yielded = True
                records, rows, lines, problems, damaged = [], [], [], [], set()
        self.counts.lines = self._state.get("lines", 0)
        if records or problems or not yielded:
            yield flush()

    def _parquet_chunks(self, chunk_size: int, wanted: list[str]) -> Iterator[RawChunk]:
        raw_names = dict(zip(self.columns, self._parquet_names))
        position = 0
        any_yielded = False
        try:
            batches = self._parquet.iter_batches(batch_size=chunk_size, columns=[raw_names[c] for c in wanted] or None)
            for batch in batches:
                n = batch.num_rows
                rows = list(range(position + 2, position + 2 + n))  # header = row 1, as a spreadsheet would show it
                position += n
                columns = {}
                problems: list[RawProblem] = []
                bad_rows: set[int] = set()
                for name in wanted:
                    array = batch.column(raw_names[name])
                    values = _parquet_values(array, self.column_kinds[name])
                    if self.column_kinds[name] in ("text", "number", "bool", "datetime") and not _text_suspect(array):
                        columns[name] = values  # no NUL, no oversized value: nothing to check value by value
                        continue
                    for i, value in enumerate(values):
                        if isinstance(value, _Bad):
                            problems.append(RawProblem(rows[i], None, name, value.code, value.value))
                            bad_rows.add(i)
                            values[i] = None
                        elif isinstance(value, str):
                            code = _cell_problem(value)
                            if code:
                                problems.append(RawProblem(rows[i], None, name, code, preview(value), dict(limit=MAX_FIELD_CHARS)))
                                bad_rows.add(i)
                    columns[name] = values
                keep = [i for i in range(n) if i not in bad_rows]
                frame = pd.DataFrame({c: pd.Series([columns[c][i] for i in keep] if bad_rows else columns[c], dtype=object) for c in wanted})
                if not wanted:
                    frame = pd.DataFrame(index=range(len(keep)))
                self.counts.records += n
                self.counts.damaged_rows += len(bad_rows)
                problems.sort(key=lambda p: p.row)
                any_yielded = True
                yield RawChunk(frame, pd.Series([rows[i] for i in keep], dtype="int64", name="row"),
                               pd.Series([pd.NA] * len(keep), dtype="Int64", name="line"), problems)
        except IntakeError:
            raise
        except Exception as exc:  # a corrupt row group: the file cannot be read to the end
            raise _error("unreadable", self.table, str(self.path), detail=f"{type(exc).__name__}: {exc}") from exc
        if not any_yielded:
            yield RawChunk(pd.DataFrame({c: pd.Series(dtype=object) for c in wanted}), pd.Series([], dtype="int64", name="row"),
                           pd.Series([], dtype="Int64", name="line"), [])

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:  # pragma: no cover - closing must not hide the real error
                pass
        self._closers = []

    def __enter__(self) -> TableStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cell_problem(value) -> str | None:
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        return "nul_byte"
    if _MARK.search(value):
        return "undecodable_bytes"
    if len(value) > MAX_FIELD_CHARS:
        return "field_too_large"
    return None


def _marked_bytes(value) -> str:
    if not isinstance(value, str) or not _MARK.search(value):
        return ""
    return " ".join(f"0x{ord(ch) - 0xDC00:02X}" for ch in _MARK.findall(value)[:8])


def _format_of(path: Path, table: str) -> str:
    name = path.name.lower()
    if name.endswith(".csv") or name.endswith(_COMPRESSED_CSV):
        return "csv"
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise _error("unsupported_type", table, str(path), suffix=path.suffix or "(none)")


def open_table(path: str | Path, *, table: str, single_line_columns: Sequence[str] | None = None, sheet: str | int | None = None) -> TableStream:
    """Open ``path`` for streaming; the header is read and checked now (:class:`IntakeError` names the file).

    ``single_line_columns``: columns whose values cannot span lines (ids, numbers, allowed values — a contract's
    :attr:`~workbench.intake.contracts.TableContract.single_line_columns`); a quoted line break in one of them
    followed by more fields marks an unclosed quote. Other columns are free text.
    """
    path = Path(path)
    if not path.exists():
        raise _error("file_not_found", table, str(path))
    if not path.is_file():
        raise _error("not_a_file", table, str(path))
    stream = TableStream(path, table=table, file_format=_format_of(path, table), single_line_columns=single_line_columns, sheet=sheet)
    try:
        stream._open()
    except BaseException:
        stream.close()
        raise
    return stream


def read_raw_table(path: str | Path, *, table: str, single_line_columns: Sequence[str] | None = None, sheet: str | int | None = None) -> RawTable:
    """Read the whole of ``path`` as text cells, with the reader's problems and counts (see :func:`open_table`)."""
    with open_table(path, table=table, single_line_columns=single_line_columns, sheet=sheet) as stream:
        frames, rows, lines, problems = [], [], [], []
        for chunk in stream.chunks(1 << 62):
            frames.append(chunk.frame)
            rows.append(chunk.rows)
            lines.append(chunk.lines)
            problems.extend(chunk.problems)
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        row_series = pd.concat(rows, ignore_index=True) if len(rows) > 1 else rows[0]
        line_series = pd.concat(lines, ignore_index=True) if len(lines) > 1 else lines[0]
        row_series.index = line_series.index = frame.index = range(len(frame))
        return RawTable(
            path=path if isinstance(path, Path) else Path(path), frame=frame, rows=row_series.rename("row"), encoding=stream.encoding,
            file_format=stream.file_format, problems=problems, lines=line_series.rename("line"), counts=stream.counts,
            column_kinds=dict(stream.column_kinds),
        )
