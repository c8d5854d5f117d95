"""``AnswerScorer``: a scikit-learn estimator that scores Chinese interview answers on the raters' scale."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._featurize import FEATURE_GROUPS, AnswerFeaturizer
from ._tokenize import BACKENDS

__all__ = ["AnswerScorer", "FEATURE_GROUPS", "MODELS", "as_answer_frame"]

MODELS = ("ridge", "hgb")


def as_answer_frame(X) -> pd.DataFrame:
    """Accept a DataFrame with an ``answer`` column or a sequence of strings; return a clean frame."""
    if isinstance(X, pd.DataFrame):
        if "answer" not in X.columns:
            raise ValueError(
                f"X has no 'answer' column (columns: {list(X.columns)}); pass a DataFrame with the answer text in 'answer' "
                "(optionally 'competency', 'question_id', 'role') or a list of strings"
            )
        frame = X.copy()
    elif isinstance(X, (str, bytes)):
        raise TypeError("X must be a sequence of answers, not a single string; wrap it in a list: scorer.predict([text])")
    elif isinstance(X, (Sequence, np.ndarray, pd.Series)):
        frame = pd.DataFrame({"answer": list(X)})
    else:
        raise TypeError(f"X must be a DataFrame with an 'answer' column or a sequence of strings, got {type(X).__name__}")
    bad = [i for i, v in enumerate(frame["answer"]) if not (v is None or isinstance(v, str) or (isinstance(v, float) and np.isnan(v)))]
    if bad:
        raise TypeError(f"answers must be text; rows {bad[:5]} hold {type(frame['answer'].iloc[bad[0]]).__name__} values")
    frame["answer"] = [v if isinstance(v, str) else "" for v in frame["answer"]]
    if "competency" not in frame.columns:
        frame["competency"] = ""
    frame["competency"] = frame["competency"].fillna("").astype(str)
    return frame.reset_index(drop=True)


class AnswerScorer(RegressorMixin, BaseEstimator):
    """Score Chinese interview answers on the scale of the human ratings it was trained on.

    Parameters
    ----------
    model : {"ridge", "hgb"}
        ``ridge`` (default) is linear, so SHAP explanations are exact; ``hgb`` is gradient boosting on an SVD of
        the text features plus the hand-built features (non-linear alternative).
    alpha : float
        Ridge penalty.
    tokenizer : {"rjieba", "jieba"}
        Word segmentation backend; identical tokens on Han text, rjieba is ~10× faster.
    feature_groups : tuple of {"words", "chars", "evidence", "bei"}
        Word n-grams, character n-grams, dictionary evidence with negation scope, behavioural-interview cues.
    word_ngram_max, char_ngram_max : n-gram lengths.
    hash_bits : int or None
        log2 of the hashed feature space per text group. None: 20 for ``ridge``, 16 for ``hgb`` (its SVD holds
        about 2 × 2**hash_bits × svd_components floats several times over: ≈ 13 GB at 20 bits, < 1 GB at 16).
    svd_components, hgb_max_iter, hgb_learning_rate : settings of the ``hgb`` model.
    mask_terms : tuple of str
        Terms removed from every answer before scoring (e.g. regional dialect words that proxy for home region).
    random_state : int

    Examples
    --------
    >>> scorer = AnswerScorer().fit(train[["answer", "competency"]], train["rating"])   # doctest: +SKIP
    >>> scorer.predict(["我先核实了客户身份，又请同事双人复核……"])                       # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        model: str = "ridge",
        alpha: float = 30.0,
        tokenizer: str = "rjieba",
        feature_groups: tuple = FEATURE_GROUPS,
        word_ngram_max: int = 2,
        char_ngram_max: int = 3,
        hash_bits: int | None = None,
        svd_components: int = 200,
        hgb_max_iter: int = 300,
        hgb_learning_rate: float = 0.08,
        text_norm: str | None = "l2",
        relevance_filter: bool = True,
        mask_terms: tuple = (),
        random_state: int = 0,
    ):
        self.mask_terms = mask_terms
        self.text_norm = text_norm
        self.relevance_filter = relevance_filter
        self.model = model
        self.alpha = alpha
        self.tokenizer = tokenizer
        self.feature_groups = feature_groups
        self.word_ngram_max = word_ngram_max
        self.char_ngram_max = char_ngram_max
        self.hash_bits = hash_bits
        self.svd_components = svd_components
        self.hgb_max_iter = hgb_max_iter
        self.hgb_learning_rate = hgb_learning_rate
        self.random_state = random_state

    # -- construction --------------------------------------------------------------------------------------
    def _validate_params_(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.tokenizer not in BACKENDS:
            raise ValueError(f"tokenizer must be one of {BACKENDS}, got {self.tokenizer!r}")
        groups = tuple(self.feature_groups)
        unknown = set(groups) - set(FEATURE_GROUPS)
        if not groups or unknown:
            raise ValueError(f"feature_groups must be a non-empty subset of {FEATURE_GROUPS}, got {groups}")

    def _hash_bits(self) -> int:
        if self.hash_bits is not None:
            return self.hash_bits
        return 16 if self.model == "hgb" else 20

    def _features(self) -> AnswerFeaturizer:
        # Hashed n-grams + TF-IDF: no vocabulary to store (skops serialises a 100k-entry dict slowly and bulkily),
        # bounded memory at any corpus size, and identical transforms in every batch-scoring worker.
        return AnswerFeaturizer(feature_groups=tuple(self.feature_groups), tokenizer=self.tokenizer, word_ngram_max=self.word_ngram_max,
                                char_ngram_max=self.char_ngram_max, hash_bits=self._hash_bits(), text_norm=self.text_norm,
                                relevance_filter=self.relevance_filter, mask_terms=tuple(self.mask_terms))

    def _regressor(self):
        if self.model == "ridge":
            return Ridge(alpha=self.alpha, solver="auto")
        return Pipeline([
            ("svd", _DenseSVD(n_components=self.svd_components, random_state=self.random_state)),
            ("gbm", HistGradientBoostingRegressor(max_iter=self.hgb_max_iter, learning_rate=self.hgb_learning_rate, random_state=self.random_state)),
        ])

    # -- estimator API -----------------------------------------------------------------------------------
    def fit(self, X, y, *, rating_scale: tuple[int, int] | None = None, single_ratings=None):
        """Fit on answers ``X`` and their (consensus) ratings ``y``.

        ``single_ratings`` (optional, the individual human ratings, any length) sets the rating distribution that
        :meth:`predict_rating` reproduces; by default it is the distribution of ``y`` rounded. ``rating_scale``
        defaults to the observed integer range.
        """
        return self._fit(X, y, rating_scale=rating_scale, single_ratings=single_ratings)

    def _fit(self, X, y, *, rating_scale, single_ratings):
        self._validate_params_()
        frame = as_answer_frame(X)
        y = np.asarray(y, dtype=float)
        if y.ndim != 1 or len(y) != len(frame):
            raise ValueError(f"y must be one rating per answer: got {y.shape} for {len(frame)} answers")
        if not np.isfinite(y).all():
            raise ValueError("y contains missing or infinite ratings; drop those answers or impute a consensus rating first")
        if len(frame) < 10:
            raise ValueError(f"need at least 10 rated answers to fit, got {len(frame)}")
        self.y_min_, self.y_max_ = float(y.min()), float(y.max())
        self.offset_ = 0.0
        features, regressor = self._features(), self._regressor()
        matrix = features.fit_transform(frame)  # transformed once: reused for the rating cuts below
        regressor.fit(matrix, y - self.offset_)
        self.pipeline_ = Pipeline([("features", features), ("model", regressor)])
        self.n_features_in_ = frame.shape[1]
        self.feature_names_in_ = np.array(list(frame.columns), dtype=object)
        # Integer ratings by equipercentile mapping: cut the continuous scores where the human rating distribution
        # is cut, so machine ratings use the scale like raters do (rounding would squeeze them toward the middle).
        lo, hi = rating_scale or (int(np.floor(y.min())), int(np.ceil(y.max())))
        humans = np.round(np.asarray(single_ratings if single_ratings is not None else y, dtype=float))
        self.rating_scale_ = (lo, hi)
        shares = [float((humans <= k).mean()) for k in range(lo, hi)]
        train_scores = np.clip(regressor.predict(matrix) + self.offset_, self.y_min_, self.y_max_)
        self.rating_cuts_ = np.quantile(train_scores, shares) if len(shares) else np.array([])
        return self

    def predict_rating(self, X) -> np.ndarray:
        """Integer ratings on the human scale (equipercentile-mapped continuous scores)."""
        scores = self.predict(X)
        return (np.searchsorted(self.rating_cuts_, scores, side="left") + self.rating_scale_[0]).astype(int)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        # the featurizer validates X (as_answer_frame) at its own boundary: doing it here too would copy it twice
        return np.clip(self.pipeline_.predict(X) + self.offset_, self.y_min_, self.y_max_)

    def feature_names(self) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.named_steps["features"].get_feature_names_out()

    def transform_features(self, X):
        """The feature matrix the model sees (sparse for ridge), for explanations."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.named_steps["features"].transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


class _DenseSVD(TruncatedSVD):
    """TruncatedSVD that caps n_components at what the data allows (small training sets in tests/learning curves)."""

    def fit_transform(self, X, y=None):
        self.n_components = int(min(self.n_components, X.shape[1] - 1, X.shape[0] - 1))
        return super().fit_transform(X, y)
