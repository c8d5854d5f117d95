"""Apply a table contract to raw rows: typed accepted rows plus a quarantine with reasons.

Counts always reconcile: rows in = rows accepted + rows quarantined. A row with several problems is
quarantined once and listed once per problem. Rows the reader could not take (damaged quoting, NUL or undecodable
bytes, oversized fields …) arrive as the reader's problems and are listed the same way.

The quarantine holds codes (``reason_code``) and, for people, the reason rendered from the message catalog
(``workbench/messages/intake.yaml``) in the chosen language.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..errors import IntakeError
from ..i18n import catalog, label, resolve_lang, t
from .contracts import OPTIONAL_TABLES, TABLES, TableContract, is_blank, strip_invisible
from .readers import RawProblem, RawTable, ReadCounts, preview

__all__ = ["QUARANTINE_COLUMNS", "REASONS", "TableResult", "quarantine_record", "reason_text", "validate_table"]

#: One quarantine format for every entry point (intake, batch scoring, question sets). ``row``: the row number a
#: spreadsheet shows (header = 1); ``line``: the physical line where the record starts (CSV; empty otherwise).
QUARANTINE_COLUMNS = ["table", "source_file", "row", "line", "column", "value", "reason_code", "reason"]
_VALUE_CHARS = 1_000  # longer values are cut in the quarantine (the row number finds the original)


def reason_text(code: str, lang: str | None = None, detail: str | tuple | None = None) -> str:
    """The reason for ``code`` in ``lang``, with a detail: a ready string or ``(message key, params)``."""
    reason = label("intake.reason", code, lang)
    if isinstance(detail, tuple):
        key, params = detail
        detail = t(key, lang, **params)
    return t("intake.reason_with_detail", lang, reason=reason, detail=detail) if detail else reason


def _raw_detail(problem: RawProblem) -> tuple | None:
    p = problem.params
    if problem.code in ("unclosed_quote", "bad_quoting", "record_too_large"):
        return "intake.detail.span", {k: p[k] for k in ("first", "last", "first_line", "last_line")}
    if problem.code == "malformed_row":
        return "intake.detail.extra_fields", {"fields": p["fields"], "width": p["width"]}
    if problem.code == "field_too_large":
        return "intake.detail.limit", {"limit": f"{p['limit']:,}"}
    if problem.code == "undecodable_bytes" and p.get("encoding"):
        return "intake.detail.encoding", {"encoding": p["encoding"], "bytes": p.get("bytes", "")}
    return None


def quarantine_record(table: str, source: str, problem: RawProblem, lang: str | None = None) -> dict:
    """A reader problem as a quarantine record (the same columns for every entry point)."""
    return dict(
        table=table, source_file=source, row=problem.row, line=problem.line, column=problem.column, value=problem.value,
        reason_code=problem.code, reason=reason_text(problem.code, lang, _raw_detail(problem)),
    )


class _Reasons(Mapping):
    """``REASONS[code]`` → the reason in the current language, read from the message catalog (kept for older callers)."""

    def __getitem__(self, code: str) -> str:
        if f"intake.reason.{code}" not in catalog():
            raise KeyError(code)
        return label("intake.reason", code)

    def __iter__(self):
        return (key.removeprefix("intake.reason.") for key in catalog() if key.startswith("intake.reason."))

    def __len__(self) -> int:
        return sum(1 for _ in self)


REASONS: Mapping[str, str] = _Reasons()


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
    read_counts: ReadCounts = field(default_factory=ReadCounts)

    @property
    def lines_in(self) -> int | None:
        """Physical lines of the file (CSV), sheet rows (XLSX); None for Parquet."""
        return self.read_counts.lines

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
    def __init__(self, table: str, source: str, raw: RawTable, lang: str):
        self.table, self.source, self.raw, self.lang = table, source, raw, lang
        self.records: list[dict] = []
        self.seen: set[tuple[int, str]] = set()

    def add(self, index, column: str, code: str, detail: str | tuple | None = None) -> None:
        row = int(self.raw.rows.loc[index])
        if (row, column) in self.seen:
            return  # one reason per cell is enough; the first (most basic) wins
        self.seen.add((row, column))
        value = self.raw.frame.at[index, column] if column in self.raw.frame.columns else None
        if isinstance(value, str) and len(value) > _VALUE_CHARS:
            value = preview(value, _VALUE_CHARS)  # a 100,000-character answer is shown, not copied whole
        line = self.raw.lines.loc[index] if self.raw.lines is not None else None
        self.records.append(
            dict(table=self.table, source_file=self.source, row=row, line=None if pd.isna(line) else int(line), column=column,
                 value=value, reason_code=code, reason=reason_text(code, self.lang, detail))
        )

    def bad_index(self) -> set:
        rows = {r["row"] for r in self.records}
        return set(self.raw.rows.index[self.raw.rows.isin(rows)])

    def frame(self) -> pd.DataFrame:
        if not self.records:
            return _empty_quarantine()
        out = pd.DataFrame(self.records, columns=QUARANTINE_COLUMNS).sort_values(["row", "column"], kind="stable", ignore_index=True)
        out["row"] = out["row"].astype("int64")
        out["line"] = out["line"].astype("Int64")
        return out


def _empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "Int64" if c == "line" else object) for c in QUARANTINE_COLUMNS})


def _coerce(contract: TableContract, frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    typed = pd.DataFrame(index=frame.index)
    for col in contract.columns:
        if col.name not in frame.columns:
            continue
        # the contracts' normalisation: invisible characters trimmed at both ends, blank = empty
        text = frame[col.name].map(lambda v: strip_invisible(v) if isinstance(v, str) else v)
        text = text.where(text.notna() & (text != ""), None)
        present = text.notna()
        if col.dtype == "str":
            typed[col.name] = text.astype(object)
            continue
        text = text.map(lambda v: unicodedata.normalize("NFKC", v) if isinstance(v, str) and not v.isascii() else v)  # ４ → 4
        if col.dtype in ("int", "float"):
            numbers = pd.to_numeric(text, errors="coerce").astype(float)
            failed = present & numbers.isna()
            for idx in text.index[failed]:
                problems.add(idx, col.name, "not_integer" if col.dtype == "int" else "not_number")
            # inf, nan spelled out, or magnitudes no rating/score can have: a value problem, never a crash
            absurd = present & numbers.notna() & (~np.isfinite(numbers) | (numbers.abs() > 1e12))
            for idx in text.index[absurd]:
                problems.add(idx, col.name, "out_of_range", ("intake.detail.not_finite", {}))
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
    lang: str | None = None,
) -> TableResult:
    """Validate ``raw`` against ``contract``.

    ``references`` maps a foreign-key target (``"candidates.candidate_id"``, ``"dictionary.roles.id"``) to the set
    of known ids. ``row_check(typed_frame) -> list[(index, column, code, detail)]`` adds cross-field rules; ``detail``
    is a string or ``(message key, params)``. ``lang`` chooses the language of the ``reason`` column (default: the
    current language). Raises :class:`IntakeError` naming the file and column when a required column is missing.
    """
    lang = resolve_lang(lang)
    if isinstance(contract, str):
        contract = TABLES[contract] if contract in TABLES else OPTIONAL_TABLES[contract]
    source = str(raw.path)
    columns = set(raw.frame.columns)
    missing = [c for c in contract.required_columns if c not in columns]
    if missing:
        raise IntakeError(
            t("intake.error.missing_columns", table=contract.name, path=source, columns=", ".join(missing),
              present=", ".join(raw.frame.columns) or "-"),
            file=source, column=missing[0], code="missing_columns",
        )
    known = {c.name for c in contract.columns}
    extra = [c for c in raw.frame.columns if c not in known]
    problems = _Problems(contract.name, source, raw, lang)
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
            if code == "missing_value" and isinstance(original, str) and not is_blank(original):
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
                problems.add(idx, key[0], "duplicate_key", ("intake.detail.duplicate_of", {"row": first_rows[tuple(keyed.loc[idx])]}))

    for fk in contract.foreign_keys:
        target = f"{fk.table}.{fk.target_column}"
        if references is None or target not in references or fk.column not in typed.columns:
            continue
        allowed = references[target]
        values = typed[fk.column]
        unknown = values.notna() & ~values.isin(allowed)
        for idx in values.index[unknown]:
            problems.add(idx, fk.column, "unknown_reference", ("intake.detail.unknown_id", {"target": target, "value": values.loc[idx]}))

    if row_check is not None:
        for idx, column, code, detail in row_check(typed):
            problems.add(idx, column, code, detail)

    problems.records.extend(quarantine_record(contract.name, source, p, lang) for p in raw.problems)
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
        rows_in=raw.rows_in,
        extra_columns=extra,
        read_counts=raw.counts,
    )
