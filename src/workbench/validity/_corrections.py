"""Corrections of an observed validity coefficient: range restriction (Thorndike Case II and III) and criterion
unreliability, in the order that matters; Fisher-z intervals.

Conventions (``/work/shared/reference/validity.md`` §1):

* ``u`` / ``u_z`` is the **unrestricted ÷ restricted** SD ratio (applicant pool SD / selected-group SD, ≥ 1), as in
  the ``selection`` R package's ``caseII(rxy, sx, sxs)``; psychmeta's ``ux`` is the inverse.
* Operational validity corrects for the criterion's unreliability only — never for the predictor's, because
  decisions are made on observed scores — and divides by √r_yy **in the restricted (incumbent) group first, then**
  corrects for range restriction (psychmeta ``.correct_r_uvdrr``). The other order over-corrects.

Every function takes scalars or numpy arrays (broadcast) and returns the same shape.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from ..errors import ConfigurationError

__all__ = [
    "correct_range_restriction",
    "correct_indirect_range_restriction",
    "correct_criterion_unreliability",
    "operational_validity",
    "correlation_ci",
]


def _check_r(r, name: str = "r") -> np.ndarray:
    arr = np.asarray(r, dtype=float)
    finite = arr[np.isfinite(arr)]
    if finite.size and (np.abs(finite) > 1).any():
        raise ConfigurationError(f"{name} must be a correlation in [-1, 1], got {r!r}")
    return arr


def _check_u(u, name: str = "u") -> np.ndarray:
    arr = np.asarray(u, dtype=float)
    finite = arr[np.isfinite(arr)]
    if finite.size and (finite <= 0).any():
        raise ConfigurationError(
            f"{name} must be a positive SD ratio (applicant-pool SD ÷ selected-group SD, normally ≥ 1), got {u!r}"
        )
    return arr


def _out(value: np.ndarray, *inputs):
    return float(value) if all(np.ndim(i) == 0 for i in inputs) else value


def correct_range_restriction(r, u):
    """Thorndike Case II (direct selection on the predictor): R = r·U / √(1 + r²(U² − 1)).

    ``r`` is the validity in the selected group, ``u`` the applicant-pool SD of the predictor divided by its SD in
    the selected group. Example (validity.md §1.1): r = .25, SD 10 vs 6 →

    >>> round(correct_range_restriction(0.25, 10 / 6), 3)
    0.395
    """
    r, u = _check_r(r), _check_u(u)
    return _out(r * u / np.sqrt(1 + r**2 * (u**2 - 1)), r, u)


def correct_indirect_range_restriction(r_xy, r_xz, r_zy, u_z):
    """Thorndike Case III: selection was on z (e.g. the score hiring used), the validity wanted is that of x.

    All three correlations are from the selected group; ``u_z`` = applicant-pool SD of z ÷ selected-group SD of z.
    R_xy = [r_xy − r_xz·r_zy + r_xz·r_zy·U²] / √[(1 − r_xz² + r_xz²U²)(1 − r_zy² + r_zy²U²)].

    >>> round(correct_indirect_range_restriction(0.25, 0.40, 0.20, 1.667), 3)
    0.334
    """
    r_xy, r_xz, r_zy = _check_r(r_xy, "r_xy"), _check_r(r_xz, "r_xz"), _check_r(r_zy, "r_zy")
    u2 = _check_u(u_z, "u_z") ** 2
    num = r_xy - r_xz * r_zy + r_xz * r_zy * u2
    den = np.sqrt((1 - r_xz**2 + r_xz**2 * u2) * (1 - r_zy**2 + r_zy**2 * u2))
    return _out(num / den, r_xy, r_xz, r_zy, u_z)


def correct_criterion_unreliability(r, r_yy):
    """Disattenuate for the criterion only: r / √r_yy (use r_yy from the same — restricted — group as r)."""
    r = _check_r(r)
    ryy = np.asarray(r_yy, dtype=float)
    if ((ryy <= 0) | (ryy > 1)).any():
        raise ConfigurationError(f"criterion reliability r_yy must be in (0, 1], got {r_yy!r}")
    return _out(r / np.sqrt(ryy), r, r_yy)


def operational_validity(r, u, r_yy=None):
    """Observed validity → operational validity: ÷ √r_yy in the selected group first, then Case II.

    >>> round(operational_validity(0.25, 10 / 6, 0.52), 3)   # validity.md §1.1; the wrong order gives .548
    0.524
    """
    if r_yy is not None:
        r = correct_criterion_unreliability(r, r_yy)
    return correct_range_restriction(r, u)


def correlation_ci(r, n, *, confidence: float = 0.95):
    """Fisher-z interval ``(low, high)`` for a Pearson correlation from ``n`` pairs (NaN when n ≤ 3)."""
    r = _check_r(r)
    n = np.asarray(n, dtype=float)
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must be in (0, 1), got {confidence!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.arctanh(np.clip(r, -0.999999, 0.999999))
        half = norm.ppf(0.5 + confidence / 2) / np.sqrt(n - 3)
        low, high = np.tanh(z - half), np.tanh(z + half)
    bad = n <= 3
    low, high = np.where(bad, np.nan, low), np.where(bad, np.nan, high)
    return _out(low, r, n), _out(high, r, n)
