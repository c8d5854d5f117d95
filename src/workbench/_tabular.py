"""Small table helpers shared by every stage: safe CSV output and HTML escaping."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

__all__ = ["neutralise_formulas", "write_csv_safe", "escape"]

# A cell starting with one of these is executed as a formula by Excel/WPS/LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy where text cells that a spreadsheet would run as a formula are prefixed with a quote."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            values = out[col]
            mask = values.notna() & values.astype(str).str.startswith(_FORMULA_START)
            if mask.any():
                out[col] = values.astype(object)
                out.loc[mask, col] = "'" + values[mask].astype(str)
    return out


def write_csv_safe(df: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8-sig") -> Path:
    """Write CSV for humans (UTF-8 with BOM so Excel shows Chinese) with formulas neutralised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(df).to_csv(path, index=False, encoding=encoding, lineterminator="\n")
    return path


def escape(value: object) -> str:
    """HTML-escape anything shown in a report."""
    return html.escape("" if value is None else str(value), quote=True)
