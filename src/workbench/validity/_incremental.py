"""Incremental validity of the interview over the school-tier screen (985/211) by nested regressions, and the
screen's own adverse impact next to the interview's at the same selection ratio."""

from __future__ import annotations

import gc
from contextlib import contextmanager

import numpy as np
import pandas as pd

from ..fairness import impact_table
from ..fairness.audit import flagged_attributes, omnibus_tests

__all__ = ["incremental_validity", "screen_impact", "top_k_per_role", "frozen_heap", "ORDER_INTERVIEW_OVER_SCREEN", "ORDER_SCREEN_OVER_INTERVIEW"]


@contextmanager
def frozen_heap():
    """Repeated audits in a loop: statsmodels' Holm adjustment (used by the audit's omnibus tests) runs a full
    ``gc.collect()`` on every call, ≈ 0.05–0.3 s in a notebook-sized heap. Freezing the objects that exist before
    the loop makes those collections cheap; objects created inside are still collected."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()

ORDER_INTERVIEW_OVER_SCREEN = "interview_over_screen"
ORDER_SCREEN_OVER_INTERVIEW = "screen_over_interview"


def _design(frame: pd.DataFrame, columns: list[str], role_effects: bool) -> np.ndarray:
    import statsmodels.api as sm

    parts = [frame[columns].astype(float)]
    if role_effects and frame["role_id"].nunique() > 1:
        parts.append(pd.get_dummies(frame["role_id"], prefix="role", drop_first=True, dtype=float))
    return sm.add_constant(pd.concat(parts, axis=1), has_constant="add").to_numpy(dtype=float)


def incremental_validity(frame: pd.DataFrame, *, predictor: str, criterion: str, screen: str, role_effects: bool) -> list[dict]:
    """Two nested-regression steps on ``frame`` (hires with the criterion, a known screen result and the predictor):
    the interview's ΔR² over the screen, and the screen's ΔR² over the interview; each with the F test
    F = (ΔR²/Δk) / ((1 − R²_full)/(n − k_full − 1)). With ``role_effects`` (pooled analysis) both models include role
    dummies, so only within-role differences count."""
    import statsmodels.api as sm

    data = frame[["role_id", predictor, criterion, screen]].dropna()
    y = data[criterion].to_numpy(dtype=float)
    rows = []
    for order, base, added in ((ORDER_INTERVIEW_OVER_SCREEN, screen, predictor), (ORDER_SCREEN_OVER_INTERVIEW, predictor, screen)):
        row = {"order": order, "n": len(data), "screen_share": float(data[screen].mean()) if len(data) else np.nan}
        if len(data) < 10 or data[screen].nunique() < 2 or data[predictor].std() == 0:
            rows.append({**row, "status": "no_variance" if len(data) >= 10 else "insufficient_data"})
            continue
        restricted = sm.OLS(y, _design(data, [base], role_effects)).fit()
        full = sm.OLS(y, _design(data, [base, added], role_effects)).fit()
        f, p, df_diff = full.compare_f_test(restricted)
        rows.append(
            {
                **row,
                "status": "ok",
                "r2_base": float(restricted.rsquared),
                "r2_full": float(full.rsquared),
                "delta_r2": float(full.rsquared - restricted.rsquared),
                "adj_r2_full": float(full.rsquared_adj),
                "f": float(f),
                "df1": int(df_diff),
                "df2": int(full.df_resid),
                "p_value": float(p),
                "coef_added": float(full.params[2]),
            }
        )
    return rows


def top_k_per_role(frame: pd.DataFrame, score: str, k_by_role: dict[str, int]) -> np.ndarray:
    """1 for the k highest ``score`` in each role (ties by candidate id), k given per role."""
    ordered = frame.sort_values(["role_id", score, "candidate_id"], ascending=[True, False, True], kind="stable")
    rank = ordered.groupby("role_id").cumcount()
    k = ordered["role_id"].map(k_by_role).fillna(0)
    return (rank < k).astype(int).reindex(frame.index).to_numpy()


def _summary(table: pd.DataFrame, alpha: float, with_p: bool) -> pd.DataFrame:
    # omnibus p-values only when shown: every Holm adjustment (statsmodels) runs a full gc.collect()
    tests = omnibus_tests(table, alpha).set_index("attribute") if with_p else pd.DataFrame()
    flagged = flagged_attributes(table, alpha)
    rows = []
    for attribute, t in table.groupby("attribute", sort=False):
        known = t[~t["is_unknown"] & ~t["excluded"] & t["impact_ratio"].notna()]
        worst = known.loc[known["impact_ratio"].idxmin()] if len(known) else None
        rows.append(
            {
                "attribute": attribute,
                "min_ratio": float(worst["impact_ratio"]) if worst is not None else np.nan,
                "min_category": worst["category"] if worst is not None else None,
                "reference": worst["reference"] if worst is not None else None,
                "adverse": bool(known["adverse"].fillna(False).astype(bool).any()),
                "p_adjusted": float(tests.loc[attribute, "p_adjusted"]) if attribute in tests.index else np.nan,
                "flagged": attribute in flagged,
            }
        )
    return pd.DataFrame(rows)


def impact_summary(data: pd.DataFrame, selected: str, attributes: list[str], alpha: float, *, with_p: bool = True) -> pd.DataFrame:
    """Per attribute: lowest impact ratio (and its category), any adverse category, omnibus p (Holm across the
    attributes; NaN unless ``with_p``) and the audit's flag — the fairness stage's decision rule on ``selected``."""
    table = pd.concat([impact_table(data, by=a, selected=selected) for a in attributes], ignore_index=True)
    return _summary(table, alpha, with_p)


def screen_impact(applicants: pd.DataFrame, *, screen: str, procedures: list[str], attributes: list[str], alpha: float) -> pd.DataFrame:
    """Adverse impact of passing the screen, and of each interview score used at the *same* selection ratio per role
    (the k best, where k is the number of the role's applicants who pass the screen)."""
    data = applicants.copy()
    data["_screen"] = data[screen].fillna(0).astype(int)
    k_by_role = data.groupby("role_id")["_screen"].sum().to_dict()
    blocks = []
    with frozen_heap():
        for procedure, column in (("screen", "_screen"), *((p, None) for p in procedures)):
            blocks.append(_procedure_impact(data, procedure, column, k_by_role, attributes, alpha))
    return pd.concat(blocks, ignore_index=True)


def _procedure_impact(data, procedure, column, k_by_role, attributes, alpha) -> pd.DataFrame:
    if column is None:
        column = f"_sel_{procedure}"
        data[column] = _top_k_nan(data, procedure, k_by_role)
    summary = impact_summary(data, column, attributes, alpha)
    summary.insert(0, "procedure", procedure)
    summary.insert(1, "selection_rate", float(data[column].mean()))
    return summary


def _top_k_nan(data: pd.DataFrame, score: str, k_by_role: dict[str, int]) -> np.ndarray:
    """Candidates without the score are never selected; the k best of those with it are."""
    out = np.zeros(len(data), dtype=int)
    has = data[score].notna().to_numpy()
    out[has] = top_k_per_role(data[has], score, k_by_role)
    return out
