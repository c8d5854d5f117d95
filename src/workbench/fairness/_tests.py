"""Significance tests and uncertainty for adverse-impact audits.

* :func:`two_proportion_z` — pooled two-proportion z test (the "2 standard deviations" rule, Hazelwood).
* :func:`chi2_test` — Pearson chi-square on a k×2 (or any r×c) table, with or without Yates' correction.
* :func:`cmh_test` — Cochran–Mantel–Haenszel test across strata (branches, batches, periods) with the
  Mantel–Haenszel pooled odds ratio and the Breslow–Day homogeneity test (plain and Tarone-corrected), via
  ``statsmodels.stats.contingency_tables.StratifiedTable``.
* :func:`adjust_pvalues` — Holm / Benjamini–Hochberg / Bonferroni via ``statsmodels``' ``multipletests``.
* :func:`bootstrap_intervals` — per-category selection-rate CIs from fairlearn's ``MetricFrame`` bootstrap and
  impact-ratio CIs from a seeded, category-stratified percentile bootstrap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ConfigurationError, DataError
from ._impact import (
    DEFAULT_UNKNOWN_VALUES,
    build_attributes,
    check_column,
    check_frame,
    decision_vector,
    normalise_by,
)

__all__ = ["two_proportion_z", "chi2_test", "cmh_test", "adjust_pvalues", "bootstrap_intervals"]

ADJUST_METHODS = ("holm", "fdr_bh", "bonferroni")


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return int(value)
        raise DataError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise DataError(f"{name} must not be negative, got {value!r}")
    return int(value)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> dict[str, float]:
    """Two-sided pooled two-proportion z test of ``x1/n1`` vs ``x2/n2``.

    Returns ``{"p1", "p2", "difference" (p1 - p2), "se" (pooled), "z", "p_value"}``. When the pooled rate is 0
    or 1 the two rates are necessarily equal: ``z = 0`` and ``p = 1``.
    """
    x1, n1, x2, n2 = (_count(v, k) for v, k in ((x1, "x1"), (n1, "n1"), (x2, "x2"), (n2, "n2")))
    if n1 == 0 or n2 == 0:
        raise DataError("two_proportion_z needs n1 > 0 and n2 > 0")
    if x1 > n1 or x2 > n2:
        raise DataError("two_proportion_z: selected count exceeds group size")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        z, p = 0.0, 1.0
    else:
        z = (p1 - p2) / se
        p = float(2 * stats.norm.sf(abs(z)))
    return {"p1": p1, "p2": p2, "difference": p1 - p2, "se": se, "z": float(z), "p_value": p}


def chi2_test(table: Any, *, correction: bool = True) -> dict[str, Any]:
    """Pearson chi-square test of independence (``scipy.stats.chi2_contingency``).

    ``table`` is an array or DataFrame of counts, e.g. one row per category with columns (selected, not
    selected). ``correction`` applies Yates' continuity correction (scipy applies it only when dof == 1).
    Returns ``{"chi2", "p_value", "dof", "expected", "correction", "min_expected"}``; ``min_expected`` < 5 is the
    classic warning sign that Fisher's exact test is the better choice.
    """
    arr = np.asarray(table.to_numpy() if isinstance(table, pd.DataFrame) else table, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise DataError(f"chi2_test needs a 2-D table with at least 2 rows and 2 columns, got shape {arr.shape}")
    if (arr < 0).any() or not np.isfinite(arr).all():
        raise DataError("chi2_test: counts must be finite and non-negative")
    if (arr.sum(axis=0) == 0).any() or (arr.sum(axis=1) == 0).any():
        raise DataError("chi2_test: a row or column of the table is all zero; the test is undefined")
    res = stats.chi2_contingency(arr, correction=correction)
    return {
        "chi2": float(res.statistic),
        "p_value": float(res.pvalue),
        "dof": int(res.dof),
        "expected": res.expected_freq,
        "correction": bool(correction and res.dof == 1),
        "min_expected": float(res.expected_freq.min()),
    }


def cmh_test(
    data: pd.DataFrame,
    *,
    group: str,
    selected: str,
    strata: str,
    focal: Any,
    reference: Any,
    correction: bool = True,
) -> dict[str, Any]:
    """Cochran–Mantel–Haenszel test of focal vs reference selection across strata, with Breslow–Day.

    Each stratum gives a 2×2 table ``[[focal selected, focal not], [reference selected, reference not]]``.
    Strata lacking the focal or the reference group carry no information and are dropped (and listed).

    Returns a dict:

    * ``odds_ratio`` — Mantel–Haenszel pooled odds ratio (> 1: focal candidates have higher odds of selection),
      with ``or_ci_low``/``or_ci_high`` (95 %, Robins–Breslow–Greenland);
    * ``chi2``, ``p_value`` — CMH statistic (1 df; continuity-corrected when ``correction``, as R's
      ``mantelhaen.test`` default) and its p-value;
    * ``breslow_day_chi2``, ``breslow_day_p`` — Breslow–Day test that the odds ratio is the same in every stratum;
      ``breslow_day_tarone_chi2``, ``breslow_day_tarone_p`` — the same with Tarone's correction;
      ``breslow_day_df`` — number of strata used for it minus one. Strata with a zero margin (nobody or everybody
      selected) are left out of Breslow–Day only. The Breslow–Day arithmetic is statsmodels'
      ``test_equal_odds`` with a numerically stable root (statsmodels returns NaN when the pooled odds ratio is
      exactly 1);
    * ``n_strata``, ``strata_used``, ``strata_dropped``, ``note`` (Chinese).
    """
    from statsmodels.stats.contingency_tables import StratifiedTable

    data = check_frame(data)
    for col, role in ((group, "group"), (strata, "strata")):
        check_column(data, col, role)
    sel = decision_vector(data, selected)
    if data[strata].isna().any():
        raise DataError(f"strata column {strata!r} has missing values")
    g = data[group].to_numpy(dtype=object)
    is_focal = np.array([v == focal for v in g], dtype=bool)
    is_ref = np.array([v == reference for v in g], dtype=bool)
    if not is_focal.any():
        raise DataError(f"group column {group!r} has no row equal to focal={focal!r}")
    if not is_ref.any():
        raise DataError(f"group column {group!r} has no row equal to reference={reference!r}")
    if focal == reference:
        raise ConfigurationError("focal and reference must be different categories")

    tables: list[np.ndarray] = []
    used: list[Any] = []
    dropped: list[Any] = []
    stratum_values = data[strata].to_numpy(dtype=object)
    for s in pd.unique(stratum_values):
        in_s = stratum_values == s
        f, r = in_s & is_focal, in_s & is_ref
        nf, nr = int(f.sum()), int(r.sum())
        if nf == 0 or nr == 0:
            dropped.append(s)
            continue
        xf, xr = int(sel[f].sum()), int(sel[r].sum())
        tables.append(np.array([[xf, nf - xf], [xr, nr - xr]], dtype=float))
        used.append(s)
    if not tables:
        raise DataError(f"strata column {strata!r}: no stratum contains both {focal!r} and {reference!r}")

    notes: list[str] = []
    if dropped:
        notes.append(f"{len(dropped)} 个分层缺少焦点组或参照组，未纳入检验")
    st = StratifiedTable([t for t in tables])
    with np.errstate(divide="ignore", invalid="ignore"):
        null = st.test_null_odds(correction=correction)
        odds = float(st.oddsratio_pooled)
        try:
            lo, hi = (float(v) for v in st.oddsratio_pooled_confint())
        except (ValueError, ZeroDivisionError, FloatingPointError):
            lo, hi = math.nan, math.nan
    if not math.isfinite(odds) or odds == 0:
        notes.append("合并优势比无定义或为 0/无穷（某一方向的乘积和为 0）")
    bd_tables = [t for t in tables if (t.sum(axis=0) > 0).all()]
    bd = {"breslow_day_chi2": math.nan, "breslow_day_p": math.nan, "breslow_day_tarone_chi2": math.nan, "breslow_day_tarone_p": math.nan}
    bd_df = len(bd_tables) - 1
    if len(bd_tables) < len(tables):
        notes.append(f"{len(tables) - len(bd_tables)} 个分层全员入选或全员未入选，未纳入 Breslow–Day 检验")
    if bd_df >= 1 and math.isfinite(odds) and odds > 0:
        plain, tarone = _breslow_day(np.stack(bd_tables, axis=2), odds)
        bd = {
            "breslow_day_chi2": plain,
            "breslow_day_p": float(stats.chi2.sf(plain, bd_df)),
            "breslow_day_tarone_chi2": tarone,
            "breslow_day_tarone_p": float(stats.chi2.sf(tarone, bd_df)),
        }
        if math.isfinite(bd["breslow_day_tarone_p"]) and bd["breslow_day_tarone_p"] < 0.05:
            notes.append("Breslow–Day 检验显示各分层优势比不一致（p < 0.05），合并优势比需谨慎解读")
    else:
        notes.append("可用于 Breslow–Day 检验的分层少于 2 个")
    return {
        "focal": focal,
        "reference": reference,
        "odds_ratio": odds,
        "or_ci_low": lo,
        "or_ci_high": hi,
        "chi2": float(null.statistic),
        "p_value": float(null.pvalue),
        "correction": bool(correction),
        **bd,
        "breslow_day_df": max(bd_df, 0),
        "n_strata": len(tables),
        "strata_used": used,
        "strata_dropped": dropped,
        "note": "；".join(notes),
    }


def _breslow_day(table: np.ndarray, odds: float) -> tuple[float, float]:
    """Breslow–Day statistic (and with Tarone's correction) for a 2×2×K table at the pooled odds ratio ``odds``.

    Same formula as ``StratifiedTable.test_equal_odds``, but the expected first cell is found with the
    numerically stable root of the quadratic: statsmodels divides by ``1 - odds`` and returns NaN when the pooled
    odds ratio is exactly 1 (e.g. two strata with reciprocal odds ratios, the most heterogeneous case).
    """
    a, b = table[0, 0, :], table[0, 1, :]
    c, d = table[1, 0, :], table[1, 1, :]
    row1, col1 = a + b, a + c
    qa = 1.0 - odds
    qb = odds * (row1 + col1) + (d - a)
    qc = -odds * row1 * col1
    disc = np.sqrt(qb**2 - 4 * qa * qc)
    with np.errstate(divide="ignore", invalid="ignore"):
        e11 = np.where(qb >= 0, (2 * qc) / (-qb - disc), (-qb + disc) / (2 * qa))
        v11 = 1.0 / (1.0 / e11 + 1.0 / (col1 - e11) + 1.0 / (row1 - e11) + 1.0 / ((d - a) + e11))
    plain = float(np.sum((a - e11) ** 2 / v11))
    tarone = plain - float((a.sum() - e11.sum()) ** 2 / v11.sum())
    return plain, tarone


def adjust_pvalues(p: Any, method: str = "holm") -> Any:
    """Multiple-comparison adjustment (``statsmodels.stats.multitest.multipletests``).

    ``method``: ``"holm"`` (family-wise error, default), ``"fdr_bh"`` (Benjamini–Hochberg false discovery rate)
    or ``"bonferroni"``. NaN entries (e.g. the reference row) are kept as NaN and are not counted in the family.
    Returns the same kind of object as given (Series with its index, or a numpy array).
    """
    from statsmodels.stats.multitest import multipletests

    if method not in ADJUST_METHODS:
        raise ConfigurationError(f"method must be one of {ADJUST_METHODS}, got {method!r}")
    index = p.index if isinstance(p, pd.Series) else None
    arr = np.asarray(p, dtype=float).ravel()
    finite = ~np.isnan(arr)
    if ((arr[finite] < 0) | (arr[finite] > 1)).any():
        raise DataError("p-values must lie in [0, 1]")
    out = np.full(arr.shape, np.nan)
    if finite.any():
        out[finite] = multipletests(arr[finite], method=method)[1]
    if index is not None:
        return pd.Series(out, index=index, name=getattr(p, "name", None))
    return out


def _quantiles(ci: float) -> list[float]:
    if isinstance(ci, bool) or not isinstance(ci, (int, float)) or not (0 < ci < 1):
        raise ConfigurationError(f"ci must be a number in (0, 1), got {ci!r}")
    return [(1 - ci) / 2, 1 - (1 - ci) / 2]


def _check_boot(n_boot: Any) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 20:
        raise ConfigurationError(f"n_boot must be an integer ≥ 20, got {n_boot!r}")
    return int(n_boot)


def _row_bootstrap_rates(codes: np.ndarray, y: np.ndarray, k: int, n_boot: int, quantiles: list[float], rng: np.random.Generator,
                         max_cells: int = 4_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of each category's selection rate over ``n_boot`` resamples of whole rows."""
    n = len(codes)
    counts = np.zeros((n_boot, k))
    chosen = np.zeros((n_boot, k))
    if n:
        step = max(1, max_cells // n)  # replicates per block, so the drawn indices stay a few million cells
        for start in range(0, n_boot, step):
            b = min(step, n_boot - start)
            idx = rng.integers(0, n, size=(b, n))
            cell = (np.arange(b)[:, None] * k + codes[idx]).ravel()
            counts[start:start + b] = np.bincount(cell, minlength=b * k).reshape(b, k)
            chosen[start:start + b] = np.bincount(cell, weights=y[idx].ravel().astype(float), minlength=b * k).reshape(b, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(counts > 0, chosen / counts, np.nan)
    lo, hi = np.full(k, np.nan), np.full(k, np.nan)
    for j in range(k):
        col = rates[:, j][~np.isnan(rates[:, j])]
        if col.size:
            lo[j], hi[j] = np.quantile(col, quantiles)
    return lo, hi


def bootstrap_intervals(
    data: pd.DataFrame,
    *,
    by: str | Sequence[str],
    selected: str,
    n_boot: int = 1000,
    ci: float = 0.95,
    random_state: int = 0,
    min_share: float = 0.02,
    unknown_values: Iterable[Any] = DEFAULT_UNKNOWN_VALUES,
) -> pd.DataFrame:
    """Bootstrap confidence intervals of each category's selection rate and impact ratio.

    * Rates: a percentile bootstrap that resamples whole rows (category sizes vary between replicates), the
      scheme of fairlearn's ``MetricFrame(n_boot=...)``, vectorised: every replicate's per-category counts come
      from one ``bincount`` over the drawn row indices. (fairlearn's own bootstrap builds a MetricFrame per
      replicate — about 15 ms each for 3,000 rows, over a minute for the default audit's 14 tables × 300
      replicates; this takes milliseconds.) Replicates in which a category drew no row are left out of its
      quantiles.
    * Impact ratios: a seeded percentile bootstrap that resamples candidates *within* each category (sizes fixed,
      so a small category never vanishes from a replicate) and recomputes ``rate / max(rate)`` over the
      non-excluded categories in every replicate. ``boot_share_adverse`` is the share of replicates with a ratio
      below 4/5.

    Rows whose attribute is unknown are left out (fairlearn ≥ 0.15 refuses missing sensitive values); categories
    under ``min_share`` get rate CIs but no ratio CI, as in :func:`impact_table`. Same ``random_state`` → same
    output.
    """
    data = check_frame(data)
    n_boot = _check_boot(n_boot)
    quantiles = _quantiles(ci)
    if isinstance(min_share, bool) or not isinstance(min_share, (int, float)) or not (0 <= min_share < 1):
        raise ConfigurationError(f"min_share must be a number in [0, 1), got {min_share!r}")
    columns = normalise_by(data, by)
    sel = decision_vector(data, selected)
    attributes = build_attributes(data, columns, unknown_values)
    ms = Fraction(repr(float(min_share)))

    frames = []
    for a_i, attr in enumerate(attributes):
        known = attr.known
        labels = pd.Series(attr.labels[known].astype(str), name=attr.name)
        y = sel[known].astype(int)
        cats = list(attr.categories)
        rate_lo, rate_hi = _row_bootstrap_rates(pd.Categorical(labels, categories=cats).codes, np.asarray(y), len(cats), n_boot, quantiles,
                                                np.random.default_rng([int(random_state), a_i, 1]))
        counts = np.array([(labels == c).sum() for c in cats], dtype=np.int64)
        chosen = np.array([y[(labels == c).to_numpy()].sum() for c in cats], dtype=np.int64)
        n_known = int(counts.sum())
        # the exact share test of impact_table
        eligible = np.array([Fraction(int(c), n_known) >= ms for c in counts], dtype=bool)

        rng = np.random.default_rng([int(random_state), a_i])
        boot_rates = np.empty((n_boot, len(cats)))
        for j, c in enumerate(cats):
            # resampling Bernoulli outcomes within the category = binomial draws of its selected count
            boot_rates[:, j] = rng.binomial(int(counts[j]), chosen[j] / counts[j], size=n_boot) / counts[j]
        point_rates = chosen / counts
        ratio = np.full(len(cats), np.nan)
        r_lo = np.full(len(cats), np.nan)
        r_hi = np.full(len(cats), np.nan)
        share_adv = np.full(len(cats), np.nan)
        if eligible.any():
            top = point_rates[eligible].max()
            boot_top = boot_rates[:, eligible].max(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                boot_ratio = np.where(boot_top[:, None] > 0, boot_rates / boot_top[:, None], np.nan)
            for j in np.flatnonzero(eligible):
                if top > 0:
                    ratio[j] = point_rates[j] / top
                col = boot_ratio[:, j]
                col = col[~np.isnan(col)]
                if col.size:
                    r_lo[j], r_hi[j] = np.quantile(col, quantiles)
                    share_adv[j] = float(np.mean(col < 0.8))
        frames.append(
            pd.DataFrame(
                {
                    "attribute": attr.name,
                    "category": cats,
                    "count": counts,
                    "selected": chosen,
                    "rate": point_rates,
                    "rate_ci_low": rate_lo,
                    "rate_ci_high": rate_hi,
                    "impact_ratio": ratio,
                    "ratio_ci_low": r_lo,
                    "ratio_ci_high": r_hi,
                    "boot_share_adverse": share_adv,
                    "excluded": ~eligible,
                    "n_boot": n_boot,
                    "ci": float(ci),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
