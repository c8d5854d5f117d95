"""Apply a table contract to raw rows: typed accepted rows plus a quarantine with reasons.

Counts always reconcile: rows in = rows accepted + rows quarantined. A row with several problems is
quarantined once and listed once per problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..errors import IntakeError
from .contracts import TABLES, TableContract
from .readers import RawTable

__all__ = ["QUARANTINE_COLUMNS", "TableResult", "validate_table", "REASONS"]

QUARANTINE_COLUMNS = ["table", "source_file", "row", "column", "value", "reason_code", "reason"]

REASONS = {
    "missing_value": "必填值为空",
    "empty_answer": "已作答但作答文本为空",
    "not_integer": "不是整数",
    "not_number": "不是数字",
    "not_date": "不是日期",
    "out_of_range": "超出允许范围",
    "not_allowed": "不在允许取值中",
    "too_long": "超过最大长度",
    "duplicate_key": "主键重复",
    "unknown_reference": "引用的编号不存在",
    "inconsistent": "与其他字段或表不一致",
    "malformed_row": "整行无法按表头拆分",
}


@dataclass
class TableResult:
    contract: TableContract
    source_file: str
    file_format: str
    encoding: str | None
    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    rows_in: int
    extra_columns: list[str] = field(default_factory=list)

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted)

    @property
    def rows_quarantined(self) -> int:
        return int(self.quarantine["row"].nunique()) if len(self.quarantine) else 0

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.rows_accepted + self.rows_quarantined


class _Problems:
    def __init__(self, table: str, source: str, raw: RawTable):
        self.table, self.source, self.raw = table, source, raw
        self.records: list[dict] = []
        self.seen: set[tuple[int, str]] = set()

    def add(self, index, column: str, code: str, detail: str = "") -> None:
        row = int(self.raw.rows.loc[index])
        if (row, column) in self.seen:
            return  # one reason per cell is enough; the first (most basic) wins
        self.seen.add((row, column))
        value = self.raw.frame.at[index, column] if column in self.raw.frame.columns else None
        reason = REASONS[code] + (f"：{detail}" if detail else "")
        self.records.append(
            dict(table=self.table, source_file=self.source, row=row, column=column, value=value, reason_code=code, reason=reason)
        )

    def bad_index(self) -> set:
        rows = {r["row"] for r in self.records}
        return set(self.raw.rows.index[self.raw.rows.isin(rows)])

    def frame(self) -> pd.DataFrame:
        if not self.records:
            return pd.DataFrame(columns=QUARANTINE_COLUMNS)
        return pd.DataFrame(self.records, columns=QUARANTINE_COLUMNS).sort_values(["row", "column"], kind="stable")


def _coerce(contract: TableContract, frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    typed = pd.DataFrame(index=frame.index)
    for col in contract.columns:
        if col.name not in frame.columns:
            continue
        text = frame[col.name].map(lambda v: v.strip() if isinstance(v, str) else v)
        text = text.where(text.notna() & (text != ""), None)
        present = text.notna()
        if col.dtype == "str":
            typed[col.name] = text.astype(object)
            continue
        if col.dtype in ("int", "float"):
            numbers = pd.to_numeric(text, errors="coerce").astype(float)
            failed = present & numbers.isna()
            for idx in text.index[failed]:
                problems.add(idx, col.name, "not_integer" if col.dtype == "int" else "not_number")
            # inf, nan spelled out, or magnitudes no rating/score can have: a value problem, never a crash
            absurd = present & numbers.notna() & (~np.isfinite(numbers) | (numbers.abs() > 1e12))
            for idx in text.index[absurd]:
                problems.add(idx, col.name, "out_of_range", "非有限数或数值过大")
            numbers = numbers.where(~absurd)
            if col.dtype == "int":
                frac = present & numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
                for idx in text.index[frac]:
                    problems.add(idx, col.name, "not_integer")
                numbers = numbers.where(~frac)
                typed[col.name] = pd.array(numbers.round(), dtype="Int64")
            else:
                typed[col.name] = numbers.astype("Float64")
        elif col.dtype == "datetime":
            stamps = pd.to_datetime(text, errors="coerce")
            for idx in text.index[present & stamps.isna()]:
                problems.add(idx, col.name, "not_date")
            typed[col.name] = stamps
    return typed


def _check_code(check: str) -> tuple[str, str]:
    if check == "not_nullable":
        return "missing_value", ""
    if check.startswith("isin"):
        return "not_allowed", ""
    if check.startswith("in_range"):
        return "out_of_range", check.removeprefix("in_range")
    if check.startswith("str_length"):
        lo = check.startswith("str_length(1,")
        return ("missing_value", "") if lo else ("too_long", "")
    return "inconsistent", check


def validate_table(
    raw: RawTable,
    contract: TableContract | str,
    *,
    references: dict[str, set[str]] | None = None,
    row_check=None,
) -> TableResult:
    """Validate ``raw`` against ``contract``.

    ``references`` maps a foreign-key target (``"candidates.candidate_id"``, ``"dictionary.roles.id"``) to the set
    of known ids. ``row_check(typed_frame) -> list[(index, column, code, detail)]`` adds cross-field rules.
    Raises :class:`IntakeError` naming the file and column when a required column is missing.
    """
    if isinstance(contract, str):
        contract = TABLES[contract]
    source = str(raw.path)
    columns = set(raw.frame.columns)
    missing = [c for c in contract.required_columns if c not in columns]
    if missing:
        raise IntakeError(
            f"[{contract.name}] 文件 {source} 缺少必需列：{', '.join(missing)}（现有列：{', '.join(raw.frame.columns) or '无'}）"
            f" / missing required column(s) {', '.join(missing)} in {source}",
            file=source,
            column=missing[0],
        )
    known = {c.name for c in contract.columns}
    extra = [c for c in raw.frame.columns if c not in known]
    problems = _Problems(contract.name, source, raw)
    typed = _coerce(contract, raw.frame, problems)

    try:
        contract.schema().validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        for case in cases.itertuples(index=False):
            if pd.isna(case.index) or case.column not in typed.columns:
                continue
            code, detail = _check_code(str(case.check))
            idx = int(case.index)
            original = raw.frame.at[idx, case.column]
            if code == "missing_value" and isinstance(original, str) and original.strip():
                continue  # value was present but failed type coercion; already recorded
            problems.add(idx, str(case.column), code, detail)

    # duplicate keys: keep the first occurrence, quarantine the rest
    key = list(contract.key)
    if all(k in typed.columns for k in key):
        keyed = typed[key]
        dup = keyed.notna().all(axis=1) & keyed.duplicated(keep="first")
        if dup.any():
            first_rows = {}
            for idx in keyed.index[~keyed.duplicated(keep="first")]:
                first_rows[tuple(keyed.loc[idx])] = int(raw.rows.loc[idx])
            for idx in keyed.index[dup]:
                problems.add(idx, key[0], "duplicate_key", f"与第 {first_rows[tuple(keyed.loc[idx])]} 行重复")

    for fk in contract.foreign_keys:
        target = f"{fk.table}.{fk.target_column}"
        if references is None or target not in references or fk.column not in typed.columns:
            continue
        allowed = references[target]
        values = typed[fk.column]
        unknown = values.notna() & ~values.isin(allowed)
        for idx in values.index[unknown]:
            problems.add(idx, fk.column, "unknown_reference", f"{target} 中没有 {values.loc[idx]}")

    if row_check is not None:
        for idx, column, code, detail in row_check(typed):
            problems.add(idx, column, code, detail)

    malformed = [
        dict(table=contract.name, source_file=source, row=row, column="(整行)", value=None, reason_code="malformed_row", reason=f"{REASONS['malformed_row']}：{why}")
        for row, why in raw.malformed
    ]
    problems.records.extend(malformed)
    bad = problems.bad_index()
    accepted = typed.loc[[i for i in typed.index if i not in bad]].reset_index(drop=True)
    for col in contract.columns:
        if col.name in accepted.columns and col.dtype == "str":
            accepted[col.name] = accepted[col.name].astype("string")
    return TableResult(
        contract=contract,
        source_file=source,
        file_format=raw.file_format,
        encoding=raw.encoding,
        accepted=accepted,
        quarantine=problems.frame(),
        rows_in=len(raw.frame) + len(raw.malformed),
        extra_columns=extra,
    )
