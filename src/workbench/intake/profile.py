"""Per-table profile for the intake report: counts, missingness and distributions, labelled from the message catalog."""

from __future__ import annotations

import pandas as pd

from ..i18n import has, t
from .contracts import TableContract

__all__ = ["profile_table"]


def profile_table(frame: pd.DataFrame, contract: TableContract, lang: str | None = None) -> pd.DataFrame:
    rows = []
    h = {k: t(f"col.profile_{k}", lang) for k in ("column", "description", "non_null", "missing", "missing_rate", "distinct", "distribution")}
    dist = h["distribution"]
    n = len(frame)
    for col in contract.columns:
        if col.name not in frame.columns:
            continue
        values = frame[col.name]
        missing = int(values.isna().sum())
        row = {
            h["column"]: col.name,
            h["description"]: t(desc, lang) if has(desc := f"coldesc.{contract.name}.{col.name}") else col.description,
            h["non_null"]: n - missing,
            h["missing"]: missing,
            h["missing_rate"]: f"{(missing / n if n else 0):.1%}",
            h["distinct"]: int(values.nunique(dropna=True)),
        }
        if col.dtype in ("int", "float"):
            numeric = pd.to_numeric(values, errors="coerce").astype(float)
            sd = f"{numeric.std():.2f}" if numeric.notna().sum() > 1 else "—"  # one value has no spread
            row[dist] = (
                t("profile.numeric", lang, mean=f"{numeric.mean():.2f}", sd=sd, min=f"{numeric.min():g}", max=f"{numeric.max():g}")
                if n - missing else "—"
            )
        elif col.pii:
            row[dist] = t("profile.pii", lang)
        elif col.name in contract.key or col.name in ("answer_text", "text", "rubric"):
            lengths = values.dropna().astype(str).str.len()
            row[dist] = t("profile.lengths", lang, median=f"{lengths.median():.0f}", max=f"{lengths.max():.0f}") if len(lengths) else "—"
        else:
            top = values.value_counts(dropna=True).head(6)
            row[dist] = t("profile.sep", lang).join(t("profile.count", lang, value=k, n=v) for k, v in top.items()) + ("…" if values.nunique() > 6 else "")
        rows.append(row)
    return pd.DataFrame(rows)
