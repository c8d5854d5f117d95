"""SparseRidge and ridge_path against the closed-form ridge solution, and the solver's thread discipline."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

from workbench.scoring._ridge import SparseRidge, ridge_path


def _problem(seed: int = 0, n: int = 300, width: int = 5_000, used: int = 400):
    """A wide sparse design whose rows touch only ``used`` of ``width`` columns (as hashed n-grams do)."""
    rng = np.random.default_rng(seed)
    columns = rng.choice(width, size=used, replace=False)
    rows = np.repeat(np.arange(n), 12)
    cols = rng.choice(columns, size=len(rows))
    X = sp.csr_matrix((rng.random(len(rows)) + 0.1, (rows, cols)), shape=(n, width))
    X.sum_duplicates()
    truth = np.zeros(width)
    truth[columns] = rng.normal(size=used)
    y = X @ truth + 3.0 + rng.normal(scale=0.3, size=n)
    return X, y


def _closed_form(X: sp.csr_matrix, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Centred ridge: (XcᵀXc + αI) w = Xcᵀ(y − ȳ), intercept ȳ − x̄ᵀw (columns without entries get w = 0)."""
    dense = X.toarray()
    centred = dense - dense.mean(axis=0)
    w = np.linalg.solve(centred.T @ centred + alpha * np.eye(dense.shape[1]), centred.T @ (y - y.mean()))
    return w, float(y.mean() - dense.mean(axis=0) @ w)


@pytest.mark.parametrize("alpha", [0.3, 3.0, 30.0])
def test_fixed_penalty_solves_the_centred_ridge_problem(alpha):
    X, y = _problem()
    model = SparseRidge(alpha=alpha, tol=1e-8).fit(X, y)
    w, b = _closed_form(X, y, alpha)
    assert np.allclose(model.coef_, w, atol=1e-4 * max(1.0, np.abs(w).max()))
    assert model.intercept_ == pytest.approx(b, abs=1e-4)
    assert np.allclose(model.predict(X), X @ w + b, atol=1e-3)
    assert model.alpha_ == alpha and model.cv_results_ is None


def test_auto_penalty_picks_the_lowest_cross_validated_error_and_records_the_path():
    X, y = _problem(seed=1, n=400)
    model = SparseRidge(alpha="auto", alphas=(0.3, 1.0, 3.0, 10.0, 30.0), cv=3).fit(X, y, groups=np.arange(400) // 4)
    res = model.cv_results_
    assert res["grouped"] and res["folds"] == 3
    assert model.alpha_ == res["alpha"][np.argmin(res["mean_mse"])]
    assert res["fold_mse"].shape == (len(res["alpha"]), 3)
    # the final model is the fixed-penalty fit at the chosen penalty (warm start changes nothing beyond the tolerance)
    again = SparseRidge(alpha=model.alpha_).fit(X, y)
    assert np.allclose(model.predict(X), again.predict(X), atol=5e-3)


def test_ridge_path_equals_one_fit_per_penalty():
    X, y = _problem(seed=2)
    for alpha, coef, intercept, _ in ridge_path(X, y, [1.0, 10.0], tol=1e-8):
        w, b = _closed_form(X, y, alpha)
        assert np.allclose(coef, w, atol=1e-4 * max(1.0, np.abs(w).max()))
        assert intercept == pytest.approx(b, abs=1e-4)


def _blas_threads() -> list[int]:
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_blas_is_held_to_one_thread_while_the_solver_runs_and_restored_after(monkeypatch):
    """OpenBLAS threads spinning between LSQR's short vector steps starve the solver's own product threads."""
    if not _blas_threads():
        pytest.fail("no BLAS library found by threadpoolctl: numpy should bring OpenBLAS")
    seen: list[list[int]] = []
    solve = SparseRidge._solve

    def spy(design, y, alpha, start, tol):
        seen.append(_blas_threads())
        return solve(design, y, alpha, start, tol)

    monkeypatch.setattr(SparseRidge, "_solve", staticmethod(spy))
    X, y = _problem(seed=3)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        SparseRidge(alpha="auto").fit(X, y)
        ridge_path(X, y, [1.0, 3.0])
        assert _blas_threads() == before == [2] * len(before)
    assert seen and all(threads == [1] * len(threads) for threads in seen)
