"""Read an input table from CSV (encoding detected), XLSX or Parquet into a frame of text cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import IntakeError

__all__ = ["RawTable", "read_raw_table", "detect_encoding", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")


@dataclass
class RawTable:
    """A file's rows as text, before any contract is applied.

    ``rows`` holds the 1-based row number each record has in the file, counting the header as row 1 —
    the number a user sees in Excel/WPS.
    """

    path: Path
    frame: pd.DataFrame
    rows: pd.Series
    encoding: str | None
    file_format: str
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (row, reason) of records that could not be split


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 (BOM) first, then GB18030 (a superset of GBK/GB2312), then a guess.

    GB18030 decodes almost any byte string, so text that decodes only into private-use characters there (a sign
    of Big5 or another encoding) is handed to charset-normalizer instead.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            data[3:].decode("utf-8")
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if not any("\ue000" <= ch <= "\uf8ff" for ch in text):
            return "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnicodeError("no text encoding fits")
    return best.encoding


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        out[str(col).strip()] = [None if _missing(v) else (v if isinstance(v, str) else _fmt(v)) for v in frame[col].tolist()]
    return out


def _missing(value: object) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other containers are values, not missing
        return False


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_csv_text(text: str) -> tuple[pd.DataFrame, pd.Series, list[tuple[int, str]]]:
    """Parse CSV with the csv module so every record keeps its row number and malformed records are caught.

    Blank records are skipped but still counted in the numbering (Excel shows them as empty rows). A record with
    more fields than the header (and non-empty extras) is returned in ``malformed`` instead of failing the file.
    """
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError("no header row") from None
    header = [h.strip() for h in header]
    width = len(header)
    records, rows, malformed = [], [], []
    for number, record in enumerate(reader, start=2):
        if not record or all(not field.strip() for field in record):
            continue
        if len(record) > width:
            if any(field.strip() for field in record[width:]):
                malformed.append((number, f"字段数 {len(record)} 多于表头的 {width} 列"))
                continue
            record = record[:width]
        elif len(record) < width:
            record = record + [""] * (width - len(record))
        records.append(record)
        rows.append(number)
    frame = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(columns=header, dtype=object)
    return frame, pd.Series(rows, dtype="int64", name="row"), malformed


def read_raw_table(path: str | Path, *, table: str) -> RawTable:
    """Read ``path`` as text cells. Raises :class:`IntakeError` naming the file if it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise IntakeError(f"[{table}] 找不到输入文件 / input file not found: {path}", file=str(path))
    if not path.is_file():
        raise IntakeError(f"[{table}] 不是文件 / not a file: {path}", file=str(path))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IntakeError(
            f"[{table}] 不支持的文件类型 {suffix or '(无扩展名)'}：{path}；请提供 CSV、XLSX 或 Parquet",
            file=str(path),
        )
    encoding = None
    try:
        if suffix == ".csv":
            data = path.read_bytes()
            if not data.strip():
                raise IntakeError(f"[{table}] 文件为空 / file is empty: {path}", file=str(path))
            if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise IntakeError(f"[{table}] 文件不是文本 CSV（含二进制内容）/ not a text CSV: {path}", file=str(path))
            encoding = detect_encoding(data)
            frame, rows, malformed = _read_csv_text(data.decode(encoding))
            frame = _as_text(frame)
            frame.index = range(len(frame))
            rows.index = frame.index
            return RawTable(path=path, frame=frame, rows=rows, encoding=encoding, file_format="csv", malformed=malformed)
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=object, engine="openpyxl")
            fmt = "xlsx"
        else:
            frame = pd.read_parquet(path)
            if not isinstance(frame.index, pd.RangeIndex) or any(frame.index.names):
                frame = frame.reset_index()  # a named index is a column the writer chose to store as index
            fmt = "parquet"
    except IntakeError:
        raise
    except (UnicodeError, ValueError, OSError, pd.errors.ParserError, KeyError, TypeError, ImportError) as exc:
        raise IntakeError(f"[{table}] 无法读取文件 / cannot read {path}: {exc}", file=str(path)) from exc
    except Exception as exc:  # corrupt archives raise library-specific errors (zipfile.BadZipFile, ArrowInvalid, …)
        raise IntakeError(f"[{table}] 无法读取文件 / cannot read {path}: {type(exc).__name__}: {exc}", file=str(path)) from exc
    frame = _as_text(frame.reset_index(drop=True))
    blank = [all(v is None or not str(v).strip() for v in row) for row in frame.itertuples(index=False)]
    rows = pd.Series(range(2, len(frame) + 2), index=frame.index, name="row")
    keep = [not b for b in blank]
    frame, rows = frame[keep].reset_index(drop=True), rows[keep].reset_index(drop=True)
    return RawTable(path=path, frame=frame, rows=rows, encoding=encoding, file_format=fmt)
