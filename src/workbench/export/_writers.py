"""Streaming writers of one export batch: JSON Lines, CSV, XLSX and Parquet, chunk by chunk (flat memory).

Spreadsheet safety lives in one place, :func:`spreadsheet_frame`: every text cell a spreadsheet could evaluate
(``= + - @``, tab, CR, full-width variants) is neutralised by ``workbench._tabular.neutralise_formulas`` before it
reaches the CSV or XLSX writer; XLSX text cells are additionally stored with type "s" (text), never as formulas.
JSON Lines and Parquet are for machines and carry the values unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._tabular import neutralise_formulas, write_csv_safe
from ..errors import DataError

__all__ = ["FORMATS", "CSV_ENCODINGS", "BatchFileWriter", "spreadsheet_frame", "write_small_csv"]

FORMATS = ("jsonl", "csv", "xlsx", "parquet")
CSV_ENCODINGS = {"utf-8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030"}
INT_COLUMNS = ("rank", "population_size", "max_score")
FILE_NAMES = {"jsonl": "records.jsonl", "csv": "records.csv", "xlsx": "records.xlsx", "parquet": "records.parquet"}
_XLSX_MAX_ROWS = 1_048_575  # one row for the header
_XLSX_MAX_CELL = 32_767


def _is_float_column(name: str) -> bool:
    return name in ("overall_score", "percentile") or name.startswith("score_")


def typed_frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for col in columns:
        if col in INT_COLUMNS:
            frame[col] = pd.array(frame[col], dtype="Int64")
        elif _is_float_column(col):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        else:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The one place where export cells become spreadsheet-safe (formula triggers neutralised)."""
    return neutralise_formulas(frame)


def write_small_csv(frame: pd.DataFrame, path: Path, *, encoding: str) -> Path:
    """Small side tables (held back) through the project's safe CSV writer."""
    try:
        return write_csv_safe(frame, path, encoding=encoding)
    except UnicodeEncodeError as exc:
        raise DataError(f"{path.name}: a value cannot be encoded as {encoding} ({exc.reason}); nothing is replaced silently") from None


def _encode_error(rows: list[dict], encoding: str, first_row: int, name: str) -> DataError:
    """Name the first cell of ``rows`` that ``encoding`` cannot hold (rows numbered from ``first_row``)."""
    for i, row in enumerate(rows):
        for col, value in row.items():
            if isinstance(value, str):
                for codec in ("utf-8", encoding):
                    try:
                        value.encode(codec)
                    except UnicodeEncodeError as exc:
                        bad = value[exc.start: exc.end]
                        return DataError(
                            f"{name}: row {first_row + i} column {col!r} holds {bad!r} (U+{ord(bad[0]):04X}), which {codec} cannot encode; "
                            "the export refuses to replace characters. Fix the source value or choose another encoding"
                        )
    return DataError(f"{name}: a value cannot be encoded as {encoding}")


class BatchFileWriter:
    """Opens the requested formats in ``directory`` and appends chunks of records to all of them."""

    def __init__(self, directory: Path, *, formats: tuple[str, ...], columns: list[str], csv_encoding: str = "utf-8"):
        unknown = [f for f in formats if f not in FORMATS]
        if unknown or not formats:
            raise DataError(f"unknown export format(s) {unknown or formats}; choose from {', '.join(FORMATS)}")
        if csv_encoding not in CSV_ENCODINGS:
            raise DataError(f"CSV encoding must be one of {', '.join(CSV_ENCODINGS)} (never gbk: it cannot encode names such as 䶮 or 𠀀), got {csv_encoding!r}")
        self.directory = directory
        self.formats = formats
        self.columns = columns
        self.csv_encoding = CSV_ENCODINGS[csv_encoding]
        self.rows = 0
        self._handles: dict = {}
        if "jsonl" in formats:
            self._handles["jsonl"] = open(self.path("jsonl"), "wb")
        if "csv" in formats:
            self._handles["csv"] = open(self.path("csv"), "w", encoding=self.csv_encoding, errors="strict", newline="")
        if "xlsx" in formats:
            from openpyxl import Workbook

            from openpyxl.worksheet._writer import ALL_TEMP_FILES, WorksheetWriter

            self._workbook = Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("records")
            # openpyxl streams the sheet through a temporary file, by default in the system temp directory; keep
            # that plaintext inside the batch's private (0700) directory instead
            sheet_tmp = str(directory / ".records.sheet.xml")
            ALL_TEMP_FILES.append(sheet_tmp)
            self._sheet._writer = WorksheetWriter(self._sheet, out=sheet_tmp)
            self._sheet._writer.write_top()
            self._sheet.append(columns)
        if "parquet" in formats:
            import pyarrow as pa
            import pyarrow.parquet as pq

            fields = [pa.field(c, pa.int64() if c in INT_COLUMNS else pa.float64() if _is_float_column(c) else pa.string()) for c in columns]
            self._arrow_schema = pa.schema(fields)
            self._parquet = pq.ParquetWriter(self.path("parquet"), self._arrow_schema, compression="zstd")

    def path(self, fmt: str) -> Path:
        return self.directory / FILE_NAMES[fmt]

    def write(self, records: list[dict], flat_rows: list[dict]) -> None:
        first = self.rows + 1
        if "jsonl" in self.formats:
            out = self._handles["jsonl"]
            for i, record in enumerate(records):
                try:
                    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
                except UnicodeEncodeError as exc:
                    raise DataError(f"records.jsonl: record {first + i} (candidate_ref {record.get('candidate_ref')}) holds text that is not valid Unicode "
                                    f"({exc.reason}); fix the source value") from None
        target = next((FILE_NAMES[f] for f in ("csv", "xlsx", "parquet") if f in self.formats), "records.jsonl")
        try:
            frame = typed_frame(flat_rows, self.columns)
            safe = spreadsheet_frame(frame) if "csv" in self.formats or "xlsx" in self.formats else None
        except UnicodeEncodeError:  # not valid Unicode at all (a lone surrogate): no format can hold it
            raise _encode_error(flat_rows, "utf-8", first, target) from None
        if safe is not None:
            if "csv" in self.formats:
                try:
                    # CRLF rows (RFC 4180): the csv module then quotes any field holding a bare CR or LF
                    safe.to_csv(self._handles["csv"], header=self.rows == 0, index=False, lineterminator="\r\n")
                except UnicodeEncodeError:
                    raise _encode_error(flat_rows, self.csv_encoding, first, "records.csv") from None
            if "xlsx" in self.formats:
                self._xlsx_rows(safe, first)
        if "parquet" in self.formats:
            import pyarrow as pa

            try:
                self._parquet.write_table(pa.Table.from_pandas(frame, schema=self._arrow_schema, preserve_index=False))
            except (pa.ArrowInvalid, UnicodeEncodeError) as exc:
                raise DataError(f"records.parquet: rows {first}–{first + len(frame) - 1} cannot be written: {exc}") from None
        self.rows += len(records)

    def _xlsx_rows(self, frame: pd.DataFrame, first: int) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils.exceptions import IllegalCharacterError

        if self.rows + len(frame) > _XLSX_MAX_ROWS:
            raise DataError(f"records.xlsx: {self.rows + len(frame):,} rows exceed Excel's limit of {_XLSX_MAX_ROWS:,}; export CSV or Parquet instead")
        text_cols = {c for c in frame.columns if frame[c].dtype == object}
        for i, row in enumerate(frame.itertuples(index=False)):
            cells = []
            for col, value in zip(frame.columns, row):
                if value is None or (not isinstance(value, str) and pd.isna(value)):
                    cells.append(None)
                    continue
                if col in text_cols:
                    if len(value) > _XLSX_MAX_CELL:
                        raise DataError(f"records.xlsx: row {first + i} column {col!r} has {len(value):,} characters; Excel cells hold at most {_XLSX_MAX_CELL:,}")
                    try:
                        cell = WriteOnlyCell(self._sheet, value=value)
                    except IllegalCharacterError:
                        raise DataError(f"records.xlsx: row {first + i} column {col!r} holds a control character XLSX cannot store") from None
                    cell.data_type = "s"  # text stays text: never a formula, whatever it starts with
                    cells.append(cell)
                else:
                    cells.append(value.item() if hasattr(value, "item") else value)
            self._sheet.append(cells)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.flush()
            handle.close()
        self._handles = {}
        if "csv" in self.formats and self.rows == 0:
            # a batch without records still gets a header row
            with open(self.path("csv"), "w", encoding=self.csv_encoding, newline="") as handle:
                typed_frame([], self.columns).to_csv(handle, index=False, lineterminator="\r\n")
        if "xlsx" in self.formats:
            self._workbook.save(self.path("xlsx"))
        if "parquet" in self.formats:
            self._parquet.close()

    def abort(self) -> None:
        for handle in self._handles.values():
            handle.close()
        if "xlsx" in self.formats:
            try:
                self._sheet.close()  # finish openpyxl's row generator so it does not complain when collected
            except Exception:  # noqa: BLE001 — aborting anyway; the partial directory is removed by the caller
                pass
        if "parquet" in self.formats:
            try:
                self._parquet.close()
            except Exception:  # noqa: BLE001 — aborting anyway; the partial directory is removed by the caller
                pass
