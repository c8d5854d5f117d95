"""Expectancy tables: the chance of a high rating by interview score band — observed among the hires, and implied
for the whole applicant pool by the corrected validity (Lawshe's theoretical chart under bivariate normality)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import multivariate_normal, norm
from statsmodels.stats.proportion import proportion_confint

__all__ = ["empirical_expectancy", "pool_expectancy", "MIN_BAND"]

MIN_BAND = 30  # hires per band: below this a band's rate is too noisy to read (merge into fewer bands)


def _trend_p(x: np.ndarray, success: np.ndarray) -> float:
    """p-value of the slope of a logistic regression of success on the score (does the chance rise with the score?)."""
    import statsmodels.api as sm

    if success.min() == success.max():
        return np.nan
    try:
        fit = sm.Logit(success.astype(float), sm.add_constant((x - x.mean()) / (x.std() or 1))).fit(disp=0)
        return float(fit.pvalues[1])
    except Exception:  # perfect separation or no convergence: no trend test rather than a wrong one
        return np.nan


def empirical_expectancy(frame: pd.DataFrame, *, predictor: str, criterion: str, high: float, confidence: float = 0.95, max_bands: int = 5) -> pd.DataFrame:
    """Bands of ``predictor`` among ``frame``'s rows (hires with the criterion): equal-count bands, as many as keep
    ≥ :data:`MIN_BAND` hires each (at most ``max_bands``, at least 2). Per band: score range, n, number and share with
    criterion ≥ ``high``, Wilson interval; ``base_rate`` and ``trend_p`` (logistic slope) repeat on every row."""
    data = frame[[predictor, criterion]].dropna()
    n = len(data)
    k = int(min(max_bands, n // MIN_BAND))
    if k < 2:
        return pd.DataFrame()
    x = data[predictor].to_numpy(dtype=float)
    success = (data[criterion].to_numpy(dtype=float) >= high).astype(int)
    bands = pd.qcut(pd.Series(x).rank(method="first"), k, labels=False).to_numpy()
    rows = []
    for b in range(k):
        m = bands == b
        hits, size = int(success[m].sum()), int(m.sum())
        low, upp = proportion_confint(hits, size, alpha=1 - confidence, method="wilson")
        rows.append({"band": b + 1, "score_low": float(x[m].min()), "score_high": float(x[m].max()), "n": size, "n_high": hits,
                     "p_high": hits / size, "ci_low": float(low), "ci_high": float(upp)})
    out = pd.DataFrame(rows)
    out["base_rate"] = success.mean()
    out["trend_p"] = _trend_p(x, success)
    return out


def _upper(a: float, c: float, rho: float) -> float:
    """P(X > a, Y > c) for standard bivariate normal with correlation rho (a may be ±inf)."""
    if a == -np.inf:
        return float(norm.sf(c))
    if a == np.inf:
        return 0.0
    return float(multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([-a, -c]))


def pool_expectancy(*, rho_x: float, rho_z: float, selection_ratio: float, hired_base_rate: float, bands: int = 5) -> pd.DataFrame:
    """Lawshe's theoretical expectancy chart for the applicant pool.

    ``rho_x``: the predictor's range-corrected validity against the *observed* criterion (success is an observed
    rating); ``rho_z``: the same for the score hiring used (``rho_x`` when hiring was on the predictor itself);
    ``selection_ratio``: share of applicants hired; ``hired_base_rate``: share of hires with a high rating. The pool's
    success threshold is solved from P(high | z above the hiring cut) = hired base rate; then, per pool quantile band
    of the predictor, P(high | band). Returns ``band, pool_share, p_high, pool_base_rate``.
    """
    if not (np.isfinite(rho_x) and np.isfinite(rho_z)) or not 0 < hired_base_rate < 1 or not 0 < selection_ratio < 1:
        return pd.DataFrame()
    z_cut = norm.ppf(1 - selection_ratio)

    def gap(c: float) -> float:
        return _upper(z_cut, c, rho_z) / selection_ratio - hired_base_rate

    try:
        c = brentq(gap, -8, 8)
    except ValueError:
        return pd.DataFrame()
    edges = norm.ppf(np.linspace(0, 1, bands + 1))
    rows = []
    for b in range(bands):
        a, top = edges[b], edges[b + 1]
        p = (_upper(a, c, rho_x) - _upper(top, c, rho_x)) / (norm.cdf(top) - norm.cdf(a))
        rows.append({"band": b + 1, "pool_share": 1 / bands, "p_high": p})
    out = pd.DataFrame(rows)
    out["pool_base_rate"] = float(norm.sf(c))
    return out
