"""The validity–diversity trade-off and the search for a less discriminatory alternative (UGESP 1607.3(B)).

For alternative dimension weightings and cut-offs of the interview, the expected performance of the group each would
select is set next to its adverse-impact ratios (the fairness stage's functions and decision rule).

Expected performance of a group that was never hired is model-based: the criterion is regressed, among the hires,
on the interview's dimension scores, the score hiring was based on and role effects. Because selection depended
only on variables in that regression, its coefficients hold in the applicant pool too (the Lawley condition behind
the multivariate range-restriction correction), so the model's prediction ŷ can be averaged over any selected
group. A composite's pool validity is corr(composite, ŷ)·SD(ŷ)/SD(y), SD(y)² = Var(ŷ) + residual variance.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..fairness.audit import advance_decision
from ._incremental import frozen_heap, impact_summary
from ._inputs import DIMENSIONS

__all__ = ["tradeoff_study", "weight_grid", "LDA_FOUND", "LDA_NOT_FOUND", "LDA_NOT_NEEDED", "LDA_NOT_AVAILABLE"]

LDA_FOUND, LDA_NOT_FOUND, LDA_NOT_NEEDED, LDA_NOT_AVAILABLE = "found", "not_found", "not_needed", "not_available"
CURRENT = "current"


def weight_grid(k: int, step: float) -> list[tuple[float, ...]]:
    """All weight vectors of ``k`` non-negative multiples of ``step`` summing to 1 (step .25, k 3 → 15 vectors)."""
    m = int(round(1 / step))
    if abs(m * step - 1) > 1e-9:
        raise ValueError(f"weight_step must divide 1 (e.g. 0.25, 0.2, 0.1), got {step}")
    return [tuple(c / m for c in combo) for combo in itertools.product(range(m + 1), repeat=k) if sum(combo) == m]


def _zscore_within_role(values: pd.Series, roles: pd.Series) -> np.ndarray:
    grouped = values.groupby(roles)
    z = (values - grouped.transform("mean")) / grouped.transform("std").replace(0, np.nan)
    return z.fillna(0).to_numpy(dtype=float)  # a missing dimension counts as the role's average


def _within(values: np.ndarray, roles: np.ndarray) -> np.ndarray:
    out = values.astype(float).copy()
    for r in pd.unique(roles):
        m = roles == r
        out[m] -= out[m].mean()
    return out


def tradeoff_study(
    applicants: pd.DataFrame,
    *,
    procedure: str,
    selection: str | None,
    criterion: str,
    attributes: list[str],
    current_share: float,
    shares: tuple[float, ...],
    weight_step: float,
    tolerance: float,
    alpha: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Options (weightings × cut-offs, plus the current rule), their impact per attribute, and the LDA verdict.

    ``applicants`` holds every applicant (``candidate_id, role_id``, the procedure's dimension and overall scores,
    the selection score, the criterion — NaN for applicants without it — and the attributes).
    """
    import statsmodels.api as sm

    dims = [f"{procedure}_{d}" for d in DIMENSIONS if f"{procedure}_{d}" in applicants.columns]
    overall = f"{procedure}_overall" if f"{procedure}_overall" in applicants.columns else procedure  # legacy: mean_rating
    if len(dims) < 2 or overall not in applicants.columns:
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame([{"verdict": LDA_NOT_AVAILABLE, "reason": "missing_dimension_scores"}])
    data = applicants.reset_index(drop=True).copy()
    roles = data["role_id"]
    z = {d: _zscore_within_role(data[d], roles) for d in dims}
    features = dict(z)
    if selection and selection not in dims:
        features[selection] = _zscore_within_role(data[selection], roles)
    x = pd.DataFrame(features)
    if roles.nunique() > 1:
        x = pd.concat([x, pd.get_dummies(roles, prefix="role", drop_first=True, dtype=float)], axis=1)
    x = sm.add_constant(x, has_constant="add")
    rated = data[criterion].notna().to_numpy()
    if rated.sum() < x.shape[1] + 10:
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame([{"verdict": LDA_NOT_AVAILABLE, "reason": "insufficient_data"}])
    fit = sm.OLS(data.loc[rated, criterion].to_numpy(dtype=float), x[rated].to_numpy(dtype=float)).fit()
    yhat = x.to_numpy(dtype=float) @ fit.params
    role_arr = roles.to_numpy(dtype=object)
    yhat_c = _within(yhat, role_arr)
    sd_y = float(np.sqrt(yhat_c.var(ddof=1) + fit.mse_resid))
    data["_yhat"] = yhat

    aspect = {d: d[len(procedure) + 1:] for d in dims}  # machine_professional → professional
    options: list[dict] = [{"option_id": CURRENT, "kind": CURRENT, "share": current_share, **{f"w_{aspect[d]}": np.nan for d in dims}}]
    for share in sorted(set(shares) | {current_share}):
        for w in weight_grid(len(dims), weight_step):
            label = "-".join(f"{aspect[d][0]}{round(v * 100)}" for d, v in zip(dims, w))
            options.append({"option_id": f"{label}@{round(share * 100)}", "kind": "weights", "share": share,
                            **{f"w_{aspect[d]}": v for d, v in zip(dims, w)}})
    impact_rows = []
    with frozen_heap():
        _evaluate(options, data, dims, aspect, z, overall, role_arr, yhat, yhat_c, sd_y, attributes, alpha, impact_rows)
    table = pd.DataFrame(options)
    table["pareto"] = False
    for share, g in table.groupby("share"):
        for i, row in g.iterrows():
            dominated = ((g["gain_sd"] >= row["gain_sd"]) & (g["worst_ratio"] >= row["worst_ratio"])
                         & ((g["gain_sd"] > row["gain_sd"]) | (g["worst_ratio"] > row["worst_ratio"]))).any()
            table.loc[i, "pareto"] = not dominated
    current = table.iloc[0]
    same = table[(table["kind"] != CURRENT) & np.isclose(table["share"], current_share)]
    similar = same["validity"] >= current["validity"] - tolerance
    # "less discriminatory" = a better audit outcome, not a noisier ratio: fewer attributes flagged, or every ratio
    # lifted to 4/5 where the current rule has one below it
    fewer_flags = same["n_flagged"] < current["n_flagged"]
    lifted = (same["n_flagged"] == current["n_flagged"]) & (same["worst_ratio"] >= 0.8) & (current["worst_ratio"] < 0.8)
    candidates = same[similar & (fewer_flags | lifted)]
    table["lda_candidate"] = table["option_id"].isin(candidates["option_id"])
    needed = current["n_flagged"] > 0 or current["worst_ratio"] < 0.8
    best = candidates.sort_values(["n_flagged", "worst_ratio", "validity"], ascending=[True, False, False]).head(1)
    verdict = (LDA_FOUND if len(best) else LDA_NOT_FOUND) if needed else LDA_NOT_NEEDED
    lda = pd.DataFrame(
        [
            {
                "verdict": verdict,
                "reason": "",
                "current_validity": float(current["validity"]),
                "current_worst_ratio": float(current["worst_ratio"]),
                "current_worst_attribute": current["worst_attribute"],
                "current_n_flagged": int(current["n_flagged"]),
                "best_option": best["option_id"].iloc[0] if len(best) else None,
                "best_validity": float(best["validity"].iloc[0]) if len(best) else np.nan,
                "best_worst_ratio": float(best["worst_ratio"].iloc[0]) if len(best) else np.nan,
                "best_n_flagged": int(best["n_flagged"].iloc[0]) if len(best) else np.nan,
                "n_candidates": int(len(candidates)),
                "tolerance": tolerance,
                "share": current_share,
                "model_r2": float(fit.rsquared),
                "model_n": int(rated.sum()),
            }
        ]
    )
    return table, pd.concat(impact_rows, ignore_index=True), lda



def _evaluate(options, data, dims, aspect, z, overall, role_arr, yhat, yhat_c, sd_y, attributes, alpha, impact_rows) -> None:
    """Fill in each option's selection, expected performance, validity and audit outcome (in place)."""
    for opt in options:
        if opt["kind"] == CURRENT:
            composite = data[overall].fillna(data.groupby("role_id")[overall].transform("mean")).to_numpy(dtype=float)
        else:
            composite = sum(opt[f"w_{aspect[d]}"] * z[d] for d in dims)
        data["_composite"] = composite
        data["_selected"] = advance_decision(data, score="_composite", top_share=opt["share"]).to_numpy()
        sel = data["_selected"].to_numpy(dtype=bool)
        comp_c = _within(np.asarray(composite, dtype=float), role_arr)
        denom = comp_c.std(ddof=1) * yhat_c.std(ddof=1)
        corr = float((comp_c * yhat_c).sum() / (len(comp_c) - 1) / denom) if denom > 0 else np.nan
        summary = impact_summary(data, "_selected", attributes, alpha, with_p=False)
        summary.insert(0, "option_id", opt["option_id"])
        impact_rows.append(summary)
        worst = summary.loc[summary["min_ratio"].idxmin()] if summary["min_ratio"].notna().any() else None
        opt.update(
            n_selected=int(sel.sum()),
            expected_rating=float(yhat[sel].mean()),
            gain_sd=float(yhat_c[sel].mean() / sd_y),
            validity=corr * float(yhat_c.std(ddof=1)) / sd_y,
            worst_ratio=float(worst["min_ratio"]) if worst is not None else np.nan,
            worst_attribute=worst["attribute"] if worst is not None else None,
            n_flagged=int(summary["flagged"].sum()),
        )
