"""Per-table profile for the intake report: counts, missingness and distributions, labelled in Chinese."""

from __future__ import annotations

import pandas as pd

from .contracts import TableContract

__all__ = ["profile_table"]


def profile_table(frame: pd.DataFrame, contract: TableContract) -> pd.DataFrame:
    rows = []
    n = len(frame)
    for col in contract.columns:
        if col.name not in frame.columns:
            continue
        values = frame[col.name]
        missing = int(values.isna().sum())
        row = {
            "列": col.name,
            "说明": col.description,
            "非空": n - missing,
            "缺失/未知": missing,
            "缺失率": f"{(missing / n if n else 0):.1%}",
            "不同取值数": int(values.nunique(dropna=True)),
        }
        if col.dtype in ("int", "float"):
            numeric = pd.to_numeric(values, errors="coerce").astype(float)
            sd = f"{numeric.std():.2f}" if numeric.notna().sum() > 1 else "—"  # one value has no spread
            row["分布"] = (
                f"均值 {numeric.mean():.2f}，标准差 {sd}，最小 {numeric.min():g}，最大 {numeric.max():g}" if n - missing else "—"
            )
        elif col.pii:
            row["分布"] = "（个人信息，不展示取值）"
        elif col.name in contract.key or col.name in ("answer_text", "text", "rubric"):
            lengths = values.dropna().astype(str).str.len()
            row["分布"] = f"长度中位数 {lengths.median():.0f} 字，最长 {lengths.max():.0f} 字" if len(lengths) else "—"
        else:
            top = values.value_counts(dropna=True).head(6)
            row["分布"] = "，".join(f"{k}：{v}" for k, v in top.items()) + ("…" if values.nunique() > 6 else "")
        rows.append(row)
    return pd.DataFrame(rows)
