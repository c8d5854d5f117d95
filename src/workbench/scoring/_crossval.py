"""Cross-validated machine scores: every answer scored by a model that never saw its group (candidate, question).

The answers are featurized once (:meth:`AnswerScorer.featurize`); each fold refits only what is learnt — the IDF
and scaling of the features, the regressor and the advisory thresholds — on its training rows. For the ridge
scorer with ``alpha="auto"`` each fold solves the whole penalty path (strongest first, warm-started), so one pass
gives out-of-fold predictions for every penalty. The penalty used for fold *k* is the one with the lowest mean
squared error on the *other* folds: the choice never looks at fold *k*'s own errors, so its scores are honest
held-out scores (a nested choice without a second level of refits). The penalty with the lowest error over all
folds is what ``AnswerScorer(alpha="auto")`` would choose on this data with these folds; the stage refits the
final model with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ._advisories import apply_advisories, fit_advisories, fit_padding
from ._featurize import AnswerFeatures
from ._ridge import ridge_path

__all__ = ["CrossValidation", "cross_validate", "equipercentile_cuts", "ratings_from_cuts"]

_MAX_EXTENSIONS = 3


def equipercentile_cuts(train_scores, single_ratings, rating_scale: tuple[int, int]) -> np.ndarray:
    """Score cuts that reproduce the human rating distribution (see ``AnswerScorer.predict_rating``)."""
    lo, hi = rating_scale
    humans = np.round(np.asarray(single_ratings, dtype=float).ravel())
    humans = humans[np.isfinite(humans)]
    shares = [float((humans <= k).mean()) for k in range(lo, hi)]
    return np.quantile(train_scores, shares) if len(shares) else np.array([])


def ratings_from_cuts(scores, cuts, lowest: int) -> np.ndarray:
    """Integer ratings of continuous scores: ``lowest`` plus the number of cuts below each score (a score on a cut
    takes the lower rating)."""
    return (np.searchsorted(cuts, np.asarray(scores), side="left") + lowest).astype(np.int64)


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold results. ``scores``: one row per answer in input order (fold, machine, machine_rating,
    advisories, route, alpha); ``path``: one row per fold and penalty (mse, iterations)."""

    scores: pd.DataFrame
    path: pd.DataFrame
    groups: str
    alphas: np.ndarray = field(repr=False)  # the penalties of the path, ascending
    errors: np.ndarray = field(repr=False)  # per answer × penalty: out-of-fold squared error

    @property
    def best_alpha(self) -> float | None:
        """The penalty with the lowest mean out-of-fold squared error (None for non-ridge models)."""
        table = self.alpha_table()
        if table["alpha"].isna().all():
            return None
        return float(table.loc[table["mean_mse"].idxmin(), "alpha"])

    def alpha_table(self) -> pd.DataFrame:
        table = self.path.groupby("alpha", dropna=False).agg(mean_mse=("mse", "mean"), sd_mse=("mse", "std"), iterations=("iterations", "sum"))
        table = table.reset_index()
        best = table["mean_mse"].idxmin()
        table["chosen"] = table.index == best
        table["on_edge"] = bool(best in (table.index.min(), table.index.max())) and len(table) > 1
        return table

    def best_alpha_on(self, rows) -> float | None:
        """The penalty with the lowest out-of-fold squared error on ``rows`` only (a boolean mask or indices)."""
        if np.isnan(self.alphas).all():
            return None
        return float(self.alphas[int(np.argmin(self.errors[np.asarray(rows)].mean(axis=0)))])


def _folds(groups, n_folds: int, seed: int):
    groups = np.asarray(groups)
    k = min(n_folds, len(np.unique(groups)))
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 groups, got {len(np.unique(groups))}")
    return list(GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(groups)), groups=groups))


def cross_validate(scorer, features: AnswerFeatures, y, *, groups, group_name: str = "group", folds: int = 5, seed: int = 0,
                   rating_scale: tuple[int, int] = (1, 5), single_ratings=None, fold_alpha=None, advisories: bool = True,
                   progress=None) -> CrossValidation:
    """Out-of-fold scores of ``scorer``'s configuration on ``features`` (see the module docstring).

    ``single_ratings``: per-answer individual human ratings, shape (n,) or (n, raters); their distribution on the
    training rows sets each fold's rating cuts (default: ``y``). ``fold_alpha``: for a ridge scorer, a callable
    that takes a fold's training rows (indices) and returns the penalty to fit that fold with, instead of solving
    the whole path — e.g. ``other_cv.best_alpha_on``, the penalty another cross-validation found best on those
    rows; one solve per fold instead of one per penalty. ``advisories=False`` leaves the advisory columns empty
    (route "machine") when only the scores are needed. ``progress``: a callable taking a message.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(features)
    if len(y) != n:
        raise ValueError(f"y has {len(y)} values for {n} answers")
    singles = np.asarray(y if single_ratings is None else single_ratings, dtype=np.float64).reshape(n, -1)
    splits = _folds(groups, folds, seed)
    if advisories and "words" in features.text:  # every answer's sentences featurized once, for the padding advisory of every fold
        scorer.make_featurizer().sentence_features(features)
    if fold_alpha is not None and scorer.model != "ridge":
        raise ValueError("fold_alpha applies to the ridge scorer only (model='ridge')")
    auto = scorer.model == "ridge" and scorer.alpha == "auto" and fold_alpha is None
    if auto:
        alphas = sorted(float(a) for a in scorer.alphas)
    elif fold_alpha is not None:
        alphas = []  # each fold's own, from fold_alpha
    else:
        alphas = [float(scorer.alpha) if scorer.model == "ridge" else np.nan]
    # out-of-fold predictions per penalty (test rows) and what each fold needs to finish them later
    test_pred: dict[float, np.ndarray] = {}
    fold_state = []
    path_rows = []

    def run_fold(f: int, fold_alphas: list[float]):
        train, test = splits[f]
        featurizer = scorer.make_featurizer()
        ftr, fte = features.take(train), features.take(test)
        featurizer.fit(ftr)
        Xtr, Xte = featurizer.transform(ftr), featurizer.transform(fte)
        results = []
        if auto:
            for alpha, coef, intercept, its in ridge_path(Xtr, y[train], fold_alphas, tol=1e-3):
                results.append((alpha, np.asarray(Xtr @ coef).ravel() + intercept, np.asarray(Xte @ coef).ravel() + intercept, its))
        else:
            regressor = scorer.make_regressor(alpha=None if scorer.model != "ridge" else fold_alphas[0])
            regressor.fit(Xtr, y[train])
            results.append((fold_alphas[0], regressor.predict(Xtr), regressor.predict(Xte), int(getattr(regressor, "n_iter_", 0) or 0)))
        group = "words" if "words" in ftr.text else "chars"
        advice = None
        if advisories and len(fold_state) <= f:  # advisories fitted once per fold, applied once the fold's penalty (and scores) are known
            block = featurizer.text_block(ftr, group, whole=True)  # the advisories read every n-gram
            state = fit_advisories(ftr.stats, ftr.frame, block, y[train])
            if group == "words":
                state.update(fit_padding(state, featurizer, featurizer.sentence_features(ftr), y[train], len(ftr), frame=ftr.frame, words=block))
            advice = (state, fte.stats, fte.frame, featurizer.text_block(fte, group, whole=True), featurizer, fte)
        return results, advice

    for f, (train, test) in enumerate(splits):
        if progress:
            progress(f"fold {f + 1}/{len(splits)}")
        results, advice = run_fold(f, [float(fold_alpha(train))] if fold_alpha is not None else alphas)
        fold_state.append({"advice": advice, "train_pred": {}})
        for alpha, ptr, pte, its in results:
            test_pred.setdefault(alpha, np.full(n, np.nan))[test] = pte
            fold_state[f]["train_pred"][alpha] = ptr
            path_rows.append({"fold": f, "alpha": alpha, "mse": float(np.mean((y[test] - pte) ** 2)), "iterations": its})

    def mean_mse(alpha):
        return np.mean([r["mse"] for r in path_rows if r["alpha"] == alpha])

    for _ in range(_MAX_EXTENSIONS if auto else 0):  # extend the grid while the best penalty is on its edge
        grid = sorted(test_pred)
        best = min(grid, key=mean_mse)
        if best not in (grid[0], grid[-1]) or len(grid) < 2:
            break
        step = grid[1] / grid[0] if best == grid[0] else grid[-1] / grid[-2]
        new = best / step if best == grid[0] else best * step
        for f, (train, test) in enumerate(splits):
            results, _ = run_fold(f, [new])
            for alpha, ptr, pte, its in results:
                test_pred.setdefault(alpha, np.full(n, np.nan))[test] = pte
                fold_state[f]["train_pred"][alpha] = ptr
                path_rows.append({"fold": f, "alpha": alpha, "mse": float(np.mean((y[test] - pte) ** 2)), "iterations": its})

    path = pd.DataFrame(path_rows)
    grid = sorted(test_pred)
    scores = pd.DataFrame({"fold": -1, "machine": np.nan, "machine_rating": 0, "advisories": "", "route": "machine", "alpha": np.nan}, index=range(n))
    for f, (train, test) in enumerate(splits):
        if fold_alpha is not None:
            alpha = float(path.loc[path["fold"] == f, "alpha"].iat[0])
        else:
            others = path[path["fold"] != f].groupby("alpha")["mse"].mean() if len(splits) > 1 else path.groupby("alpha")["mse"].mean()
            alpha = float(others.idxmin()) if others.notna().any() else grid[0]
        lo, hi = float(y[train].min()), float(y[train].max())
        pte = np.clip(test_pred[alpha][test], lo, hi)
        cuts = equipercentile_cuts(np.clip(fold_state[f]["train_pred"][alpha], lo, hi), singles[train], rating_scale)
        scores.loc[test, "fold"] = f
        scores.loc[test, "machine"] = pte
        scores.loc[test, "machine_rating"] = ratings_from_cuts(pte, cuts, rating_scale[0])
        scores.loc[test, "alpha"] = alpha
        if fold_state[f]["advice"] is not None:
            state, stats, frame, block, fold_featurizer, fte = fold_state[f]["advice"]
            advice = apply_advisories(state, stats, frame, block, pte, featurizer=fold_featurizer, features=fte)
            scores.loc[test, "advisories"] = advice["advisories"].to_numpy()
            scores.loc[test, "route"] = advice["route"].to_numpy()
    # per answer × penalty; with fold_alpha each answer has a prediction at its own fold's penalty only (NaN elsewhere)
    errors = np.column_stack([(test_pred[a] - y) ** 2 for a in grid])
    return CrossValidation(scores=scores, path=path, groups=group_name, alphas=np.array(grid), errors=errors)
