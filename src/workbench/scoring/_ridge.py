"""``SparseRidge``: ridge regression for wide, sparse TF-IDF matrices, with the penalty chosen from the data.

Why not ``sklearn.linear_model.Ridge`` + ``RidgeCV``? On an interview cohort the matrix is ~50,000 answers ×
2 million hashed columns (~700 non-zeros per answer): ``RidgeCV``'s efficient leave-one-out needs an n × n Gram
matrix (20 GB here), and refitting ``Ridge`` for every penalty and fold costs minutes. This solver does the same
optimisation (centred least squares with an L2 penalty, solved by LSQR as ``Ridge(solver="lsqr")`` does) but

* only on the columns the training answers use (hashing leaves most of the 2**20 columns empty),
* in float32 with the transpose stored once, and the two matrix–vector products of each LSQR step split over
  threads by rows (scipy releases the GIL; results do not depend on the number of threads),
* and, with ``alpha="auto"``, chooses the penalty by K-fold cross-validation (grouped when ``groups`` are given,
  e.g. by candidate) over a grid that is extended when the best value lies on its edge; each fold walks the
  grid from the strongest penalty down, starting every solve from the previous solution, and the final fit
  starts from the folds' average solution. A warm-started solve runs LSQR undamped on the stacked system
  [X; √α·I] x ≈ [y; 0]: LSQR's own damping with a start x0 would penalise ||x − x0|| instead of ||x|| (until
  2026-12-05 it did, so the final model was shrunk toward the folds' average rather than toward zero).

The fitted model is plain: ``predict(X) = X @ coef_ + intercept_`` with ``coef_`` over all input columns, so
explanations (SHAP values of a linear model) and persistence need nothing special.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, lsqr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._beside import usable_cpus

__all__ = ["SparseRidge", "DEFAULT_ALPHAS", "ridge_path"]

DEFAULT_ALPHAS = (0.3, 1.0, 3.0, 10.0, 30.0)
_MAX_EXTENSIONS = 3  # grid steps added beyond each edge before giving up (the card then says the edge was chosen)


def _threads() -> int:
    return max(1, min(4, usable_cpus()))


@contextmanager
def _solver_threads():
    """The pool that splits each sparse product, with BLAS on one thread while it runs (see the module docstring)."""
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(_threads()) as pool:
        yield pool


class _CentredDesign:
    """X − 1·μᵀ as a linear operator (never formed: centring a sparse matrix would make it dense)."""

    def __init__(self, X: sp.csr_matrix, pool: ThreadPoolExecutor | None, parts: int):
        self.mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        self.pool = pool if parts > 1 else None
        self.rows = [X[a:b] for a, b in _blocks(X, parts)]  # sliced once: each product then runs per block
        XT = X.T.tocsr()
        self.cols = [XT[a:b] for a, b in _blocks(XT, parts)]
        self.shape = X.shape

    def _product(self, blocks: list, vector: np.ndarray) -> np.ndarray:
        v = vector.astype(np.float32, copy=False)
        if self.pool is None or len(blocks) == 1:
            return np.concatenate([b @ v for b in blocks]).astype(np.float64)
        return np.concatenate(list(self.pool.map(lambda b: b @ v, blocks))).astype(np.float64)

    def matvec(self, v: np.ndarray) -> np.ndarray:
        return self._product(self.rows, v) - float(self.mean @ v)

    def rmatvec(self, u: np.ndarray) -> np.ndarray:
        return self._product(self.cols, u) - self.mean * float(u.sum())

    def operator(self) -> LinearOperator:
        return LinearOperator(self.shape, matvec=self.matvec, rmatvec=self.rmatvec, dtype=np.float64)


def _stacked(design: _CentredDesign, root_alpha: float) -> LinearOperator:
    """[X − 1·μᵀ; √α·I] as a linear operator: ridge as an undamped least-squares problem."""
    n, p = design.shape

    def matvec(v: np.ndarray) -> np.ndarray:
        return np.concatenate([design.matvec(v), root_alpha * v])

    def rmatvec(u: np.ndarray) -> np.ndarray:
        return design.rmatvec(u[:n]) + root_alpha * u[n:]

    return LinearOperator((n + p, p), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)


def _compact(X: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """X restricted to its non-empty columns (float32, indices renumbered in O(nnz)), and those columns."""
    used = np.unique(X.indices)
    remap = np.zeros(X.shape[1], dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    compact = sp.csr_matrix((X.data.astype(np.float32), remap[X.indices], X.indptr), shape=(X.shape[0], len(used)))
    compact.sort_indices()
    return compact, used


def _blocks(matrix: sp.csr_matrix, parts: int) -> list[tuple[int, int]]:
    """Row ranges with about the same number of non-zeros each."""
    n = matrix.shape[0]
    if parts <= 1 or n < 2 * parts:
        return [(0, n)]
    cuts = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, parts + 1)[1:-1])
    edges = [0, *sorted(set(int(c) for c in cuts if 0 < c < n)), n]
    return list(zip(edges[:-1], edges[1:]))


class SparseRidge(RegressorMixin, BaseEstimator):
    """Ridge regression (with intercept) for sparse matrices; ``alpha="auto"`` chooses the penalty by CV.

    Parameters
    ----------
    alpha : float or "auto"
        The L2 penalty, or ``"auto"``: chosen by ``cv``-fold cross-validation (mean squared error) from ``alphas``.
    alphas : tuple of float
        Starting grid for ``"auto"``; extended by its own step (up to three times) while the best value is on an edge.
    cv : int
        Folds for ``"auto"`` (grouped by the ``groups`` passed to ``fit``, when given).
    tol : float
        LSQR stopping tolerance (``atol = btol = tol``), as ``Ridge(solver="lsqr", tol=...)``.
    random_state : int
        Shuffling of the folds.

    Fitted attributes: ``coef_``, ``intercept_``, ``alpha_``, ``cv_results_`` (dict: alpha, mse per fold and mean,
    iterations), ``n_iter_``, ``n_features_in_``.
    """

    def __init__(self, *, alpha="auto", alphas: tuple = DEFAULT_ALPHAS, cv: int = 3, tol: float = 1e-4, random_state: int = 0):
        self.alpha = alpha
        self.alphas = alphas
        self.cv = cv
        self.tol = tol
        self.random_state = random_state

    def _validate(self) -> None:
        if not (self.alpha == "auto" or (isinstance(self.alpha, (int, float)) and not isinstance(self.alpha, bool) and self.alpha > 0)):
            raise ValueError(f"alpha must be a positive number or 'auto', got {self.alpha!r}")
        alphas = tuple(self.alphas)
        if not alphas or any(not (isinstance(a, (int, float)) and a > 0) for a in alphas):
            raise ValueError(f"alphas must be positive numbers, got {alphas!r}")
        if not (isinstance(self.cv, (int, np.integer)) and self.cv >= 2):
            raise ValueError(f"cv must be an integer ≥ 2, got {self.cv!r}")

    def fit(self, X, y, groups=None):
        self._validate()
        X = sp.csr_matrix(X)
        y = np.asarray(y, dtype=np.float64)
        if X.shape[0] != len(y):
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y)} values")
        compact, used = _compact(X)  # hashing leaves most columns empty: solve only on the used ones
        with _solver_threads() as pool:
            if self.alpha == "auto":
                alpha, start, results = self._choose_alpha(compact, y, groups, pool)
            else:
                alpha, start, results = float(self.alpha), None, None
            coef, intercept, iterations = self._solve(_CentredDesign(compact, pool, _threads()), y, alpha, start, self.tol)
        self.coef_ = np.zeros(X.shape[1], dtype=np.float64)
        self.coef_[used] = coef
        self.intercept_ = float(intercept)
        self.alpha_ = alpha
        self.cv_results_ = results
        self.n_iter_ = iterations
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        return np.asarray(X @ self.coef_, dtype=np.float64).ravel() + self.intercept_

    # ------------------------------------------------------------------------------------------------------
    @staticmethod
    def _solve(design, y, alpha, start, tol):
        mean_y = float(y.mean()) if len(y) else 0.0
        iter_lim = 10 * design.shape[0] + 100
        if start is None:
            out = lsqr(design.operator(), y - mean_y, damp=float(np.sqrt(alpha)), atol=tol, btol=tol, iter_lim=iter_lim)
        else:
            # lsqr's damp with an x0 penalises ||x − x0||, not ||x|| (scipy documents min ||Ax − b||² + d²||x − x0||²):
            # a warm start must solve the stacked system [X; √α·I] x ≈ [y; 0] undamped, which is the ridge problem
            out = lsqr(_stacked(design, float(np.sqrt(alpha))), np.concatenate([y - mean_y, np.zeros(design.shape[1])]),
                       atol=tol, btol=tol, iter_lim=iter_lim, x0=np.asarray(start, dtype=np.float64))
        coef = out[0]
        return coef, mean_y - float(design.mean @ coef), int(out[2])

    def _folds(self, n, groups):
        if groups is not None:
            groups = np.asarray(groups)
            if len(groups) != n:
                raise ValueError(f"groups has {len(groups)} values for {n} answers")
            k = min(self.cv, len(np.unique(groups)))
            if k >= 2:
                return list(GroupKFold(n_splits=k, shuffle=True, random_state=self.random_state).split(np.zeros(n), groups=groups))
        k = min(self.cv, n)
        return list(KFold(n_splits=k, shuffle=True, random_state=self.random_state).split(np.zeros(n)))

    def _choose_alpha(self, X, y, groups, pool):
        folds = self._folds(X.shape[0], groups)
        alphas = sorted(float(a) for a in self.alphas)
        step = (alphas[-1] / alphas[0]) ** (1 / (len(alphas) - 1)) if len(alphas) > 1 else 3.0
        mse: dict[float, list[float]] = {}
        iterations: dict[float, int] = {}
        solutions: dict[float, list[np.ndarray]] = {}
        fold_data = [(_CentredDesign(X[train], pool, _threads()), y[train], X[test], y[test]) for train, test in folds]
        last = [None] * len(folds)  # warm starts along the path, per fold

        def evaluate(grid):
            for alpha in sorted(grid, reverse=True):  # strong penalty first: the easiest solve warms up the next
                if alpha in mse:
                    continue
                mse[alpha], solutions[alpha], iterations[alpha] = [], [], 0
                for f, (Xtr, ytr, Xte, yte) in enumerate(fold_data):
                    start = last[f] if last[f] is not None else None
                    coef, intercept, its = self._solve(Xtr, ytr, alpha, start, max(self.tol, 1e-3))
                    last[f] = coef
                    pred = np.asarray(Xte @ coef.astype(np.float32), dtype=np.float64) + intercept
                    mse[alpha].append(float(np.mean((yte - pred) ** 2)))
                    solutions[alpha].append(coef)
                    iterations[alpha] += its

        evaluate(alphas)
        for _ in range(_MAX_EXTENSIONS):
            best = min(mse, key=lambda a: np.mean(mse[a]))
            grid = sorted(mse)
            if best == grid[0]:
                last = [solutions[grid[0]][f] for f in range(len(folds))]
                evaluate([grid[0] / step])
            elif best == grid[-1]:
                last = [None] * len(folds)
                evaluate([grid[-1] * step])
            else:
                break
        best = min(mse, key=lambda a: np.mean(mse[a]))
        grid = sorted(mse)
        results = {
            "alpha": np.array(grid), "mean_mse": np.array([np.mean(mse[a]) for a in grid]),
            "fold_mse": np.array([mse[a] for a in grid]), "iterations": np.array([iterations[a] for a in grid]),
            "folds": len(folds), "grouped": groups is not None, "best_on_edge": bool(best in (grid[0], grid[-1])),
        }
        return best, np.mean(solutions[best], axis=0), results


def ridge_path(X, y, alphas, *, tol: float = 1e-3):
    """Solve ridge for every penalty in ``alphas`` (strongest first, each solve warm-started from the previous one).

    Returns a list of ``(alpha, coef, intercept, iterations)`` in the order of ``alphas`` sorted descending, with
    ``coef`` over all columns of ``X`` (zeros where the training rows have no entry).
    """
    X = sp.csr_matrix(X)
    y = np.asarray(y, dtype=np.float64)
    compact, used = _compact(X)
    out, start = [], None
    with _solver_threads() as pool:
        design = _CentredDesign(compact, pool, _threads())
        for alpha in sorted((float(a) for a in alphas), reverse=True):
            coef, intercept, its = SparseRidge._solve(design, y, alpha, start, tol)
            start = coef
            full = np.zeros(X.shape[1], dtype=np.float64)
            full[used] = coef
            out.append((alpha, full, intercept, its))
    return out
