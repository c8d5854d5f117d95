"""Per-category selection / scoring rates and impact ratios (EEOC four-fifths rule, NYC LL144 bias audit).

The arithmetic follows the primary texts:

* **Selection rate** (LL144 §5-300): selected in the category / candidates in the category.
* **Scoring rate** (LL144 §5-300): share of the category whose score is **strictly above the median of the
  full sample** (every row, including rows whose attribute is unknown). Ties at the median are not counted.
* **Impact ratio**: category rate / rate of the most-selected (highest-scoring) category, computed per
  attribute and for the intersection of the attributes (LL144 §5-301(b)(3), (c)(4)).
* **Adverse impact** (29 CFR 1607.4D): impact ratio *less than* 4/5. Decided exactly on integer counts, so
  3/5 vs 6/8 (= 0.8 exactly, 0.7999999999999999 in floating point) is *not* adverse.
* **Unknown category** (LL144 §5-301(b)(5)): counted and reported, never a category of its own.
* **Small categories** (LL144 §5-301(d)): a category under ``min_share`` of the rows with a known value may be
  excluded from the impact-ratio calculation; its count and rate are still reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact

from ..errors import ConfigurationError, DataError

__all__ = ["impact_table", "UNKNOWN_LABEL", "INTERSECTION_SEP", "DEFAULT_UNKNOWN_VALUES"]

UNKNOWN_LABEL = "(未知)"
INTERSECTION_SEP = " × "
DEFAULT_UNKNOWN_VALUES: tuple = ("", "未知", "unknown", None)

_P_ADJUST_METHODS = ("holm", "fdr_bh", "bonferroni")


# --------------------------------------------------------------------------------------------------------------
# input preparation shared by every fairness function
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """One audited attribute: a single column or the intersection of several.

    ``labels`` holds the category label (str) per row of ``data`` or ``None`` when the value is unknown;
    ``categories`` lists the known categories in report order.
    """

    name: str
    columns: tuple[str, ...]
    labels: np.ndarray  # object array of str | None, aligned with the rows of the data
    categories: tuple[str, ...]

    @property
    def known(self) -> np.ndarray:
        return np.array([v is not None for v in self.labels], dtype=bool)


def check_frame(data: Any) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise DataError("data is empty: there are no candidates to audit")
    return data


def check_column(data: pd.DataFrame, column: Any, role: str) -> str:
    if not isinstance(column, str) or not column:
        raise ConfigurationError(f"{role} must be a column name (str), got {column!r}")
    if column not in data.columns:
        raise DataError(f"{role} column {column!r} is not in the data; columns: {', '.join(map(str, data.columns))}")
    return column


def normalise_by(data: pd.DataFrame, by: Any) -> list[str]:
    if isinstance(by, str):
        columns = [by]
    elif isinstance(by, Iterable):
        columns = list(by)
    else:
        raise ConfigurationError(f"by must be a column name or a list of column names, got {by!r}")
    if not columns:
        raise ConfigurationError("by is empty: name at least one attribute column")
    if len(set(columns)) != len(columns):
        raise ConfigurationError(f"by lists a column twice: {columns}")
    for column in columns:
        check_column(data, column, "by")
    return columns


def unknown_mask(values: pd.Series, unknown_values: Iterable[Any]) -> np.ndarray:
    """True where a value is missing (NaN/None/NA, always) or listed in ``unknown_values``.

    Strings are compared after stripping whitespace and case-folding, so ``" Unknown "`` matches ``"unknown"``.
    """
    mask = values.isna().to_numpy(dtype=bool, copy=True)
    text = set()
    other = []
    for item in unknown_values:
        if item is None or (isinstance(item, float) and math.isnan(item)):
            continue
        if isinstance(item, str):
            text.add(item.strip().casefold())
        else:
            other.append(item)
    objs = values.to_numpy(dtype=object)
    if text:
        mask |= np.array([isinstance(v, str) and v.strip().casefold() in text for v in objs], dtype=bool)
    if other:
        mask |= values.isin(other).to_numpy(dtype=bool)
    return mask


def _label(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _ordered_categories(values: pd.Series, known: np.ndarray) -> list[Any]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values[known].unique())
        return [c for c in values.cat.categories if c in present]
    uniques = list(pd.unique(values[known]))
    try:
        return sorted(uniques)
    except TypeError:
        return sorted(uniques, key=_label)


def build_attributes(
    data: pd.DataFrame, by: Any, unknown_values: Iterable[Any] = DEFAULT_UNKNOWN_VALUES, *, intersection: bool = True
) -> list[Attribute]:
    """One :class:`Attribute` per ``by`` column, plus their intersection when ``by`` lists several.

    Raises :class:`DataError` naming the column when every value is unknown or only one category is known.
    """
    columns = normalise_by(data, by)
    unknown_values = tuple(unknown_values)
    singles: list[Attribute] = []
    for column in columns:
        values = data[column]
        unknown = unknown_mask(values, unknown_values)
        known = ~unknown
        if not known.any():
            raise DataError(f"by column {column!r}: every value is missing or unknown; nothing to compare")
        order = _ordered_categories(values, known)
        categories: list[str] = []
        for c in order:  # two raw values may share a label (1 and "1"); keep the first
            if _label(c) not in categories:
                categories.append(_label(c))
        if len(categories) < 2:
            raise DataError(
                f"by column {column!r} has a single known category ({categories[0]!r}); an impact ratio needs at least two"
            )
        objs = values.to_numpy(dtype=object)
        labels = np.array([None if u else _label(v) for v, u in zip(objs, unknown)], dtype=object)
        singles.append(Attribute(column, (column,), labels, tuple(categories)))
    if not intersection or len(singles) < 2:
        return singles
    parts = [a.labels for a in singles]
    combined = np.array(
        [None if any(p is None for p in row) else INTERSECTION_SEP.join(row) for row in zip(*parts)], dtype=object
    )
    present = {c for c in combined if c is not None}
    order: list[str] = [""]
    for a in singles:
        order = [f"{prefix}{INTERSECTION_SEP}{c}" if prefix else c for prefix in order for c in a.categories]
    inter_categories = tuple(c for c in order if c in present)
    name = INTERSECTION_SEP.join(columns)
    if not inter_categories:
        raise DataError(f"intersection {name!r}: no row has a known value for every column")
    return singles + [Attribute(name, tuple(columns), combined, inter_categories)]


def decision_vector(data: pd.DataFrame, selected: str) -> np.ndarray:
    """The 0/1 (or boolean) decision column as a bool array; rejects anything else, naming the column."""
    check_column(data, selected, "selected")
    s = data[selected]
    if s.isna().any():
        raise DataError(
            f"selected column {selected!r} has {int(s.isna().sum())} missing value(s); every assessed candidate needs a decision"
        )
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=bool)
    objs = s.to_numpy(dtype=object)
    bad = [v for v in objs if isinstance(v, str) or not (v is True or v is False or v in (0, 1))]
    if bad:
        example = ", ".join(repr(v) for v in list(dict.fromkeys(bad))[:3])
        raise DataError(
            f"selected column {selected!r} must hold only 0/1/True/False, found e.g. {example}; "
            f"for a continuous score use score={selected!r} (scoring rate: share strictly above the full-sample median)"
        )
    return np.array([bool(v) for v in objs], dtype=bool)


def score_vector(data: pd.DataFrame, score: str) -> np.ndarray:
    """The numeric score column as float; rejects text, booleans, missing and infinite values, naming the column."""
    check_column(data, score, "score")
    s = data[score]
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        raise DataError(f"score column {score!r} must be numeric, has dtype {s.dtype}; for a 0/1 decision use selected={score!r}")
    values = s.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).any():
        raise DataError(f"score column {score!r} has {int(np.isnan(values).sum())} missing value(s)")
    if not np.isfinite(values).all():
        raise DataError(f"score column {score!r} has infinite values")
    return values


# --------------------------------------------------------------------------------------------------------------
# exact four-fifths arithmetic
# --------------------------------------------------------------------------------------------------------------


def is_adverse(x: int, n: int, x_ref: int, n_ref: int) -> bool:
    """Exact ``(x/n) / (x_ref/n_ref) < 4/5`` on integers: ``5·x·n_ref < 4·x_ref·n``."""
    return 5 * x * n_ref < 4 * x_ref * n


def flip_needed(x: int, n: int, x_ref: int, n_ref: int) -> int:
    """Smallest k ≥ 0 with ``(x+k)/n ≥ 4/5 · x_ref/n_ref`` (reference held fixed), exactly on integers."""
    need = -(-(4 * x_ref * n) // (5 * n_ref))  # ceil(4·x_ref·n / (5·n_ref))
    return max(0, need - x)


def _rate_key(x: int, n: int) -> Fraction:
    return Fraction(x, n)


# --------------------------------------------------------------------------------------------------------------
# impact_table
# --------------------------------------------------------------------------------------------------------------

_COLUMNS = [
    "attribute",
    "category",
    "count",
    "selected",
    "rate",
    "share",
    "impact_ratio",
    "adverse",
    "excluded",
    "is_unknown",
    "p_value",
    "flip",
    "flip_possible",
    "reference",
    "unknown_count",
    "ties_at_median",
    "note",
]


def impact_table(
    data: pd.DataFrame,
    *,
    by: str | Sequence[str],
    selected: str | None = None,
    score: str | None = None,
    min_share: float = 0.02,
    unknown_values: Iterable[Any] = DEFAULT_UNKNOWN_VALUES,
    p_adjust: str | None = None,
) -> pd.DataFrame:
    """Selection (or scoring) rate and impact ratio per category, LL144 / EEOC style, as a tidy DataFrame.

    Parameters
    ----------
    data
        One row per assessed candidate.
    by
        Attribute column, or a list of columns: a list yields one block per column **plus** a block for their
        intersection (attribute ``"gender × hukou_type"``, categories like ``"女 × 农村"``).
    selected
        Name of a 0/1 or boolean decision column (selection rate).
    score
        Name of a numeric score column (scoring rate: strictly above the median of the *full* sample, i.e. all
        rows including those whose attribute is unknown). Give exactly one of ``selected`` and ``score``.
    min_share
        Categories with fewer than this share of the rows with a known value of the attribute are excluded from
        the impact-ratio calculation (LL144 §5-301(d)); their count and rate are still reported. ``0`` keeps all.
    unknown_values
        Values treated as an unknown category (in addition to NaN/None, which are always unknown). Strings match
        after stripping and case-folding.
    p_adjust
        ``None``, ``"holm"``, ``"fdr_bh"`` or ``"bonferroni"``: adds ``p_adjusted``, adjusting every Fisher
        p-value of the returned table as one family.

    Returns
    -------
    DataFrame with one row per (attribute, category) and a final ``"(未知)"`` row per attribute:

    ``attribute, category, count, selected, rate, share`` (of the known rows), ``impact_ratio`` (rate / highest
    rate among non-excluded categories), ``adverse`` (exact ``impact_ratio < 4/5``), ``excluded`` (under
    ``min_share``), ``is_unknown``, ``p_value`` (two-sided Fisher exact test of the category vs the reference),
    [``p_adjusted``], ``flip`` (additional selections needed in the category to reach 4/5, reference fixed;
    0 when not adverse — a flip of 1 or 2 is the EEOC "small numbers" situation), ``flip_possible`` (the category
    is large enough for that; with the reference fixed this always holds, since ceil(4/5 · rate_ref · n) ≤ n, and
    is kept as an explicit check), ``reference`` (highest-rate non-excluded category; ties go to the larger one),
    ``unknown_count`` (rows with an unknown value of the attribute), ``ties_at_median`` (scoring mode: rows with
    score equal to the median; they count as not selected) and ``note`` (Chinese, for the report).

    ``DataFrame.attrs`` records ``mode`` ("selection"/"scoring"), ``median`` (scoring mode), ``n_rows``,
    ``n_ties_at_median``, ``n_selected``, ``min_share`` and ``p_adjust``.
    """
    data = check_frame(data)
    if (selected is None) == (score is None):
        raise ConfigurationError("give exactly one of selected= (a 0/1 decision column) or score= (a numeric score column)")
    if isinstance(min_share, bool) or not isinstance(min_share, (int, float)) or not (0 <= min_share < 1):
        raise ConfigurationError(f"min_share must be a number in [0, 1), got {min_share!r}")
    if p_adjust is not None and p_adjust not in _P_ADJUST_METHODS:
        raise ConfigurationError(f"p_adjust must be None or one of {_P_ADJUST_METHODS}, got {p_adjust!r}")
    decision_col = selected if selected is not None else score
    columns = normalise_by(data, by)
    if decision_col in columns:
        raise ConfigurationError(f"column {decision_col!r} is both an attribute (by=) and the outcome")

    median = None
    ties = None
    if selected is not None:
        sel = decision_vector(data, selected)
        mode = "selection"
    else:
        values = score_vector(data, score)
        median = float(np.median(values))
        sel = values > median
        ties = values == median
        mode = "scoring"

    attributes = build_attributes(data, columns, unknown_values)
    min_share_exact = Fraction(repr(float(min_share)))
    rows: list[dict[str, Any]] = []
    for attr in attributes:
        rows.extend(_attribute_rows(attr, sel, ties, min_share_exact, float(min_share), mode))

    out = pd.DataFrame(rows, columns=_COLUMNS)
    out["count"] = out["count"].astype("int64")
    out["selected"] = out["selected"].astype("int64")
    out["unknown_count"] = out["unknown_count"].astype("int64")
    for col in ("rate", "share", "impact_ratio", "p_value"):
        out[col] = out[col].astype("float64")
    for col in ("adverse", "flip_possible"):
        out[col] = out[col].astype("boolean")
    for col in ("excluded", "is_unknown"):
        out[col] = out[col].astype(bool)
    out["flip"] = out["flip"].astype("Int64")
    out["ties_at_median"] = out["ties_at_median"].astype("Int64")
    if p_adjust is not None:
        from ._tests import adjust_pvalues

        out.insert(out.columns.get_loc("p_value") + 1, "p_adjusted", adjust_pvalues(out["p_value"].to_numpy(), method=p_adjust))
    out.attrs.update(
        {
            "mode": mode,
            "median": median,
            "n_rows": int(len(data)),
            "n_selected": int(sel.sum()),
            "n_ties_at_median": None if ties is None else int(ties.sum()),
            "min_share": float(min_share),
            "p_adjust": p_adjust,
        }
    )
    return out


def _attribute_rows(
    attr: Attribute, sel: np.ndarray, ties: np.ndarray | None, min_share: Fraction, min_share_float: float, mode: str
) -> list[dict[str, Any]]:
    labels = attr.labels
    known = attr.known
    n_known = int(known.sum())
    unknown_count = int(len(labels) - n_known)
    index = {c: i for i, c in enumerate(attr.categories)}
    codes = np.array([index[v] if v is not None else -1 for v in labels], dtype=np.int64)
    k = len(attr.categories)
    counts = np.bincount(codes[known], minlength=k)
    chosen = np.bincount(codes[known], weights=sel[known].astype(np.int64), minlength=k).astype(np.int64)
    tie_counts = None if ties is None else np.bincount(codes[known], weights=ties[known].astype(np.int64), minlength=k).astype(np.int64)

    excluded = [Fraction(int(counts[i]), n_known) < min_share for i in range(k)]
    eligible = [i for i in range(k) if not excluded[i]]
    ref = None
    if eligible:
        # highest rate (exact); ties broken by the larger category, then report order
        ref = max(eligible, key=lambda i: (_rate_key(int(chosen[i]), int(counts[i])), int(counts[i]), -i))
    ref_label = attr.categories[ref] if ref is not None else None
    undefined = ref is None or chosen[ref] == 0
    word = "选中率" if mode == "selection" else "评分率"

    rows: list[dict[str, Any]] = []
    for i, category in enumerate(attr.categories):
        x, n = int(chosen[i]), int(counts[i])
        notes: list[str] = []
        row: dict[str, Any] = {
            "attribute": attr.name,
            "category": category,
            "count": n,
            "selected": x,
            "rate": x / n,
            "share": n / n_known,
            "impact_ratio": np.nan,
            "adverse": pd.NA,
            "excluded": excluded[i],
            "is_unknown": False,
            "p_value": np.nan,
            "flip": pd.NA,
            "flip_possible": pd.NA,
            "reference": ref_label,
            "unknown_count": unknown_count,
            "ties_at_median": pd.NA if tie_counts is None else int(tie_counts[i]),
            "note": "",
        }
        if excluded[i]:
            notes.append(
                f"占已知样本 {n / n_known:.2%}，低于 {min_share_float:.0%}，按 LL144 §5-301(d) 不计算影响比（仍报告人数与{word}）"
            )
        elif undefined:
            notes.append(f"参与比较的类别均无人{'被选中' if mode == 'selection' else '高于中位数'}，影响比无定义")
            if ref is not None:
                xr, nr = int(chosen[ref]), int(counts[ref])
                row["p_value"] = float(fisher_exact([[x, n - x], [xr, nr - xr]]).pvalue) if i != ref else np.nan
        else:
            xr, nr = int(chosen[ref]), int(counts[ref])
            row["impact_ratio"] = float(Fraction(x * nr, n * xr))
            adverse = is_adverse(x, n, xr, nr)
            flip = flip_needed(x, n, xr, nr)
            row["adverse"] = adverse
            row["flip"] = flip
            row["flip_possible"] = x + flip <= n
            if i == ref:
                notes.append(f"参照组（{word}最高）")
            else:
                row["p_value"] = float(fisher_exact([[x, n - x], [xr, nr - xr]]).pvalue)
            if adverse:
                notes.append(f"影响比低于五分之四；该类别再有 {flip} 人入选即可达到 4/5")
                if row["p_value"] >= 0.05:
                    notes.append(f"但与参照组的差异在统计上不显著（Fisher 精确检验 p = {row['p_value']:.3f}），可能源于样本量小")
        row["note"] = "；".join(notes)
        rows.append(row)

    x_unknown = int(sel[~known].sum())
    rows.append(
        {
            "attribute": attr.name,
            "category": UNKNOWN_LABEL,
            "count": unknown_count,
            "selected": x_unknown,
            "rate": x_unknown / unknown_count if unknown_count else np.nan,
            "share": np.nan,
            "impact_ratio": np.nan,
            "adverse": pd.NA,
            "excluded": False,
            "is_unknown": True,
            "p_value": np.nan,
            "flip": pd.NA,
            "flip_possible": pd.NA,
            "reference": ref_label,
            "unknown_count": unknown_count,
            "ties_at_median": pd.NA if ties is None else int(ties[~known].sum()),
            "note": "类别未知：计入人数，但不参与影响比计算（LL144 §5-301(b)(5)）",
        }
    )
    return rows
