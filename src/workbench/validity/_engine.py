"""Validity coefficients of many predictors against one criterion in one group (a role, or all roles pooled within
role), observed and corrected, as point estimates and bootstrap replicates computed by the same code.

Pooling is *within role*: predictor, selection score and criterion are centred on their role means before the
moments are summed, so differences between roles' score levels or rating habits do not masquerade as validity.
The bootstrap resamples hires within each role (stratified) and keeps the applicant-pool variances fixed (the pool
is far larger than the selected group, so its sampling error is small next to that of the hires).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._corrections import correct_indirect_range_restriction, correct_range_restriction

__all__ = ["GroupSample", "pooled_variance", "CASE_II", "CASE_II_ASSUMED", "CASE_III", "NO_CORRECTION"]

CASE_II = "case_ii"  # direct selection on this predictor
CASE_II_ASSUMED = "case_ii_assumed"  # selection variable unknown: treated as direct selection on this predictor
CASE_III = "case_iii"  # selection on another, known score (indirect for this predictor)
NO_CORRECTION = "none"  # range-restriction correction switched off (e.g. a concurrent study)


def pooled_variance(values: np.ndarray, roles: np.ndarray) -> tuple[float, int]:
    """Within-role variance (sum of squares about each role's mean ÷ (n − number of roles)) and n, NaN-aware."""
    ss, n, k = 0.0, 0, 0
    for role in pd.unique(roles):
        v = values[(roles == role) & ~np.isnan(values)]
        if len(v) >= 2:
            ss += float(((v - v.mean()) ** 2).sum())
            n += len(v)
            k += 1
    return (ss / (n - k) if n - k > 0 else np.nan), n


@dataclass
class _Moments:
    sxx: np.ndarray
    syy: np.ndarray
    sxy: np.ndarray
    szz: np.ndarray
    sxz: np.ndarray
    szy: np.ndarray
    n: np.ndarray
    k: np.ndarray

    @property
    def df(self) -> np.ndarray:
        return self.n - self.k


class GroupSample:
    """The hires of one group who have the criterion, ready for point estimates and bootstrap replicates.

    ``frame`` holds ``role_id``, the predictor columns, optionally the selection score, and the criterion.
    """

    def __init__(self, frame: pd.DataFrame, *, criterion: str, selection: str | None, n_boot: int, rng: np.random.Generator):
        self.frame = frame
        self.y = frame[criterion].to_numpy(dtype=float)
        self.z = frame[selection].to_numpy(dtype=float) if selection else None
        roles = frame["role_id"].to_numpy(dtype=object)
        self.blocks = [np.flatnonzero(roles == r) for r in pd.unique(roles)]
        self.point = [rows[None, :] for rows in self.blocks]
        self.boot = [rows[rng.integers(len(rows), size=(n_boot, len(rows)))] for rows in self.blocks] if n_boot else []

    def moments(self, predictor: str, replicates: bool) -> _Moments:
        x_all = self.frame[predictor].to_numpy(dtype=float)
        blocks = self.boot if replicates else self.point
        size = blocks[0].shape[0] if blocks else 0
        acc = {name: np.zeros(size) for name in ("sxx", "syy", "sxy", "szz", "sxz", "szy", "n", "k")}
        for idx in blocks:
            x, y = x_all[idx], self.y[idx]
            z = self.z[idx] if self.z is not None else np.zeros_like(x)
            m = ~(np.isnan(x) | np.isnan(y) | np.isnan(z))
            cnt = m.sum(axis=1)
            use = cnt >= 2
            safe = np.maximum(cnt, 1)[:, None]
            xc = np.where(m, x - np.where(m, x, 0).sum(axis=1)[:, None] / safe, 0)
            yc = np.where(m, y - np.where(m, y, 0).sum(axis=1)[:, None] / safe, 0)
            zc = np.where(m, z - np.where(m, z, 0).sum(axis=1)[:, None] / safe, 0)
            for name, value in (
                ("sxx", (xc * xc).sum(1)), ("syy", (yc * yc).sum(1)), ("sxy", (xc * yc).sum(1)),
                ("szz", (zc * zc).sum(1)), ("sxz", (xc * zc).sum(1)), ("szy", (zc * yc).sum(1)),
                ("n", cnt), ("k", np.ones_like(cnt)),
            ):
                acc[name] += np.where(use, value, 0)
        return _Moments(**acc)

    def count(self, predictor: str) -> int:
        x = self.frame[predictor].to_numpy(dtype=float)
        ok = ~(np.isnan(x) | np.isnan(self.y))
        if self.z is not None:
            ok &= ~np.isnan(self.z)
        return int(ok.sum())


def _ratio(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def biserial_factor(p: float) -> float:
    """Point-biserial → biserial: r_b = r_pb · √(p(1 − p)) / φ(Φ⁻¹(p)), p the share of 1s."""
    return float(np.sqrt(p * (1 - p)) / norm.pdf(norm.ppf(p))) if 0 < p < 1 else np.nan


def pool_threshold(rho_latent: float, selection_ratio: float, p_selected: float) -> float:
    """Latent threshold c of a dichotomous criterion in the applicant pool: P(Y* > c | Z above the hiring cut) equals
    the share of 1s among the selected, for a standard bivariate normal (Z, Y*) with correlation ``rho_latent``."""
    from scipy.optimize import brentq
    from scipy.stats import multivariate_normal

    if not (np.isfinite(rho_latent) and 0 < selection_ratio < 1 and 0 < p_selected < 1):
        return np.nan
    z_cut = norm.ppf(1 - selection_ratio)
    rho = float(np.clip(rho_latent, -0.999, 0.999))
    dist = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]])

    def gap(c: float) -> float:
        return float(dist.cdf([-z_cut, -c])) / selection_ratio - p_selected

    try:
        return float(brentq(gap, -8, 8))
    except ValueError:
        return np.nan


def threshold_curve(selection_ratio: float, p_selected: float):
    """c as a function of the latent correlation (vectorised, by interpolation on a grid), so that every bootstrap
    replicate converts with its own threshold."""
    grid = np.linspace(-0.9, 0.98, 48)
    cs = np.array([pool_threshold(g, selection_ratio, p_selected) for g in grid])
    ok = np.isfinite(cs)
    if ok.sum() < 2:
        return lambda rho: np.full_like(np.asarray(rho, dtype=float), np.nan)
    g, c = grid[ok], cs[ok]
    return lambda rho: np.interp(np.clip(np.asarray(rho, dtype=float), g[0], g[-1]), g, c)


def dichotomous(r_latent_pool: np.ndarray, c: float) -> np.ndarray:
    """Biserial (latent) correlation in the pool → point-biserial at the pool's share of 1s, 1 − Φ(c)."""
    p = norm.sf(c)
    return r_latent_pool * norm.pdf(c) / np.sqrt(p * (1 - p))


def corrected(m: _Moments, *, method: str, pool_var_x: float, pool_var_z: float | None, r_yy: float | None,
              binary: dict | None = None) -> dict[str, np.ndarray]:
    """Observed r and its corrections from moments: r, r_rel (criterion only), r_rr (range restriction only), r_op
    (both, criterion first), u (the SD ratio used), and for Case III the restricted r_xz and r_zy.

    ``binary`` (a 0/1 criterion such as passing probation: ``{"p": share of 1s among the selected, "sr": selection
    ratio, "curve": optional cached :func:`threshold_curve`}``): the point-biserial r is not corrected directly — selection changes the
    share of 1s, which Case II/III ignore — but through the biserial (latent) correlation, corrected, and turned back
    into a point-biserial at the pool's estimated share of 1s (from the selection score's corrected latent
    correlation, per replicate). ``out["c"]`` returns the latent threshold used.
    """
    r = _ratio(m.sxy, np.sqrt(m.sxx * m.syy))
    if binary is not None:
        return _corrected_binary(m, r, method=method, pool_var_x=pool_var_x, pool_var_z=pool_var_z, binary=binary)
    rel = np.nan if r_yy is None else np.sqrt(r_yy)
    r_rel = r / rel
    out = {"r": r, "r_rel": r_rel}
    if method == NO_CORRECTION:
        out.update(r_rr=r, r_op=r_rel, u=np.full_like(r, np.nan))
    elif method in (CASE_II, CASE_II_ASSUMED):
        u = np.sqrt(_ratio(pool_var_x, m.sxx / np.maximum(m.df, 1)))
        out.update(r_rr=correct_range_restriction(r, u), r_op=correct_range_restriction(np.clip(r_rel, -1, 1), u), u=u)
    elif method == CASE_III:
        u = np.sqrt(_ratio(pool_var_z, m.szz / np.maximum(m.df, 1)))
        r_xz = _ratio(m.sxz, np.sqrt(m.sxx * m.szz))
        r_zy = _ratio(m.szy, np.sqrt(m.szz * m.syy))
        out.update(
            r_rr=correct_indirect_range_restriction(r, r_xz, r_zy, u),
            r_op=correct_indirect_range_restriction(np.clip(r_rel, -1, 1), r_xz, np.clip(r_zy / rel, -1, 1), u),
            u=u,
            r_xz=r_xz,
            r_zy=r_zy,
        )
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(method)
    return {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in out.items()}


def _corrected_binary(m: _Moments, r: np.ndarray, *, method: str, pool_var_x: float, pool_var_z: float | None, binary: dict) -> dict[str, np.ndarray]:
    k = biserial_factor(binary["p"])
    nan = np.full_like(r, np.nan)
    out = {"r": r, "r_rel": nan, "r_op": nan}
    r_b = np.clip(r * k, -0.999, 0.999)
    curve = binary.get("curve") or threshold_curve(binary["sr"], binary["p"])
    if method == NO_CORRECTION:
        out.update(r_rr=r, u=nan, c=nan)
    elif method in (CASE_II, CASE_II_ASSUMED):
        u = np.sqrt(_ratio(pool_var_x, m.sxx / np.maximum(m.df, 1)))
        latent = correct_range_restriction(r_b, u)
        c = curve(latent)
        out.update(r_rr=dichotomous(latent, c), u=u, c=c)
    else:
        u = np.sqrt(_ratio(pool_var_z, m.szz / np.maximum(m.df, 1)))
        r_xz = _ratio(m.sxz, np.sqrt(m.sxx * m.szz))
        r_zy = _ratio(m.szy, np.sqrt(m.szz * m.syy))
        r_zb = np.clip(r_zy * k, -0.999, 0.999)
        latent = correct_indirect_range_restriction(r_b, r_xz, r_zb, u)
        c = curve(correct_range_restriction(r_zb, u))  # the pool's share of 1s follows from the selection score
        out.update(r_rr=dichotomous(latent, c), u=u, r_xz=r_xz, r_zy=r_zy, c=c)
    return {key: np.atleast_1d(np.asarray(v, dtype=float)) for key, v in out.items()}
