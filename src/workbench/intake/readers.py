"""Read an input table from CSV (encoding detected), XLSX or Parquet into a frame of text cells."""

from __future__ import annotations

from dataclasses import dataclass
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


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK/GB2312), then a statistical guess."""
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
        data.decode("gb18030")
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
        values = frame[col]
        text = values.astype(object).where(values.notna(), None)
        out[str(col).strip()] = [None if v is None else (v if isinstance(v, str) else _fmt(v)) for v in text]
    return out


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
            if b"\x00" in data[:4096]:
                raise IntakeError(f"[{table}] 文件不是文本 CSV（含二进制内容）/ not a text CSV: {path}", file=str(path))
            encoding = detect_encoding(data)
            from io import StringIO

            frame = pd.read_csv(
                StringIO(data.decode(encoding)), dtype=str, keep_default_na=False, na_values=[], skipinitialspace=False
            )
            fmt = "csv"
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=object, engine="openpyxl")
            fmt = "xlsx"
        else:
            frame = pd.read_parquet(path)
            fmt = "parquet"
    except IntakeError:
        raise
    except (UnicodeError, ValueError, OSError, pd.errors.ParserError, KeyError, TypeError, ImportError) as exc:
        raise IntakeError(f"[{table}] 无法读取文件 / cannot read {path}: {exc}", file=str(path)) from exc
    except Exception as exc:  # corrupt archives raise library-specific errors (zipfile.BadZipFile, ArrowInvalid, …)
        raise IntakeError(f"[{table}] 无法读取文件 / cannot read {path}: {type(exc).__name__}: {exc}", file=str(path)) from exc
    frame = _as_text(frame.reset_index(drop=True))
    rows = pd.Series(range(2, len(frame) + 2), index=frame.index, name="row")
    return RawTable(path=path, frame=frame, rows=rows, encoding=encoding, file_format=fmt)
