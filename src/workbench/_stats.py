"""Statistics used in more than one package (one implementation each)."""

from __future__ import annotations

import numpy as np

__all__ = ["qwk"]


def qwk(a, b) -> float:
    """Quadratic weighted kappa of two paired rating vectors, weighting disagreements by the rating values.

    Closed form 2·cov(a, b) / (var a + var b + (mean a − mean b)²) with population moments, i.e. weights
    (a − b)² on the ratings themselves. It equals ``sklearn.metrics.cohen_kappa_score(a, b, weights="quadratic",
    labels=range(min, max + 1))``; without ``labels`` sklearn weights by the index of the categories that occur, so
    when a middle rating is never used (nobody gave a 3) sklearn counts 2 → 4 as one step and this counts two.
    Pairs with a missing value are dropped; NaN with fewer than 2 pairs or when both raters are constant.
    """
    x = np.asarray(a, dtype="float64").ravel()
    y = np.asarray(b, dtype="float64").ravel()
    if x.shape != y.shape:
        raise ValueError(f"qwk needs paired ratings of equal length, got {x.size} and {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 2:
        return float("nan")
    mx, my = x.mean(), y.mean()
    cov = float(((x - mx) * (y - my)).mean())
    den = float(((x - mx) ** 2).mean() + ((y - my) ** 2).mean() + (mx - my) ** 2)
    return 2.0 * cov / den if den > 0 else float("nan")
