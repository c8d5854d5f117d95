"""``AnswerScorer``: a scikit-learn estimator that scores Chinese interview answers on the raters' scale."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..errors import DataError
from ._advisories import apply_advisories, fit_advisories, fit_padding
from ._crossval import equipercentile_cuts, ratings_from_cuts
from ._featurize import FEATURE_GROUPS, UNSEEN_NGRAMS, AnswerFeatures, AnswerFeaturizer
from ._ridge import DEFAULT_ALPHAS, SparseRidge
from ._tokenize import BACKENDS

__all__ = ["AnswerScorer", "FEATURE_GROUPS", "MODELS", "as_answer_frame"]

MODELS = ("ridge", "hgb")
_OPTIONAL_COLUMNS = ("competency", "question_id", "question_text")


def as_answer_frame(X) -> pd.DataFrame:
    """Accept a DataFrame with an ``answer`` column or a sequence of strings; return a clean frame.

    Optional columns: ``competency`` (its evidence phrases and rubric), ``question_id`` and ``question_text``
    (for the advisories: topic centroids per question, copied-question detection).
    """
    if isinstance(X, pd.DataFrame):
        if "answer" not in X.columns:
            raise ValueError(
                f"X has no 'answer' column (columns: {list(X.columns)}); pass a DataFrame with the answer text in 'answer' "
                "(optionally 'competency', 'question_id', 'question_text') or a list of strings"
            )
        frame = X.copy()  # other columns (candidate_id …) ride along for callers such as explanations
    elif isinstance(X, (str, bytes)):
        raise TypeError("X must be a sequence of answers, not a single string; wrap it in a list: scorer.predict([text])")
    elif isinstance(X, (Sequence, np.ndarray, pd.Series)):
        frame = pd.DataFrame({"answer": pd.Series(list(X), dtype=object)})  # checked below (Arrow strings would refuse a lone surrogate)
    else:
        raise TypeError(f"X must be a DataFrame with an 'answer' column or a sequence of strings, got {type(X).__name__}")
    answers = frame["answer"].tolist()  # a list iterates far faster than the column
    bad = [i for i, v in enumerate(answers) if not (isinstance(v, str) or v is None or (isinstance(v, float) and np.isnan(v)))]
    if bad:
        raise TypeError(f"answers must be text; rows {bad[:5]} hold {type(frame['answer'].iloc[bad[0]]).__name__} values")
    frame["answer"] = _valid_unicode([v if isinstance(v, str) else "" for v in answers], "answer")
    if "competency" not in frame.columns:
        frame["competency"] = ""
    frame["competency"] = frame["competency"].fillna("").astype(str)
    if "question_text" in frame.columns:
        frame["question_text"] = _valid_unicode([v if isinstance(v, str) else "" for v in frame["question_text"].tolist()], "question_text")
    return frame.reset_index(drop=True)


def _valid_unicode(texts: list[str], column: str) -> list[str]:
    """``texts`` if every one is valid Unicode; else a DataError naming the rows that hold lone surrogates (what a JSON
    ``"\\ud800"`` escape or a decode with ``errors="surrogateescape"`` leaves): no tokenizer or file format takes them."""
    try:
        "".join(texts).encode("utf-8")  # one C-level pass; fails on any surrogate code point
    except UnicodeEncodeError:
        bad = {}  # row → first offending position
        for i, text in enumerate(texts):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad[i] = exc.start
        row, at = next(iter(bad.items()))
        raise DataError(
            f"{column} must be valid Unicode text: {len(bad)} row(s) hold lone surrogates, rows {list(bad)[:5]} (row {row}: "
            f"U+{ord(texts[row][at]):04X} at character {at}), usually bytes decoded with the wrong encoding; decode the source "
            f"with its real encoding (GBK, GB18030 …) or replace them: text.encode('utf-8', 'replace').decode('utf-8')"
        ) from None
    return texts


class AnswerScorer(RegressorMixin, BaseEstimator):
    """Score Chinese interview answers on the scale of the human ratings it was trained on.

    With no arguments it reads the whole answer (word and character n-grams, evidence with negation scope,
    behavioural-interview cues), chooses its ridge penalty by cross-validation inside ``fit`` and learns the
    advisory thresholds that send unusual answers to a human (see ``score``).

    Parameters
    ----------
    model : {"ridge", "hgb"}
        ``ridge`` (default) is linear, so SHAP explanations are exact; ``hgb`` is gradient boosting on an SVD of
        the text features plus the hand-built features (non-linear alternative).
    alpha : float or "auto"
        Ridge penalty, or ``"auto"`` (default): chosen by ``cv``-fold cross-validation over ``alphas`` (grouped by
        the ``groups`` given to ``fit``, e.g. candidates), extended while the best value is on the grid's edge.
    alphas, cv : the grid and the folds for ``alpha="auto"``.
    tokenizer : {"rjieba", "jieba"}
        Word segmentation backend; identical tokens on Han text, rjieba is ~10× faster.
    feature_groups : tuple of {"words", "chars", "evidence", "bei"}
        Word n-grams, character n-grams, dictionary evidence with negation scope, behavioural-interview cues.
    word_ngram_max, char_ngram_max : n-gram lengths.
    hash_bits : int or None
        log2 of the hashed feature space per text group. None: 20 for ``ridge``, 16 for ``hgb`` (its SVD holds
        about 2 × 2**hash_bits × svd_components floats several times over: ≈ 13 GB at 20 bits, < 1 GB at 16).
    svd_components, hgb_max_iter, hgb_learning_rate : settings of the ``hgb`` model.
    text_norm : "l2" or None
        L2 normalisation of each n-gram block per answer (what keeps length and repetition from buying score).
    relevance_filter : bool
        Drop sentences without job-related words (from the competency dictionary) before anything is counted.
        Off by default: it also drops real content in words the dictionary does not list; tuning may choose it.
    mask_terms : tuple of str
        Terms removed from every answer before scoring (e.g. regional dialect words that proxy for home region).
    unseen_ngrams : {"ignore", "weigh"}
        ``ignore`` (default): n-grams no training answer contained carry no weight when the model reads an answer
        (as with a fitted vocabulary), so an answer partly in words the model never saw is scored on the words it
        knows instead of being pulled toward the mean; the advisories still count them (an answer the model cannot
        read looks off-topic). ``weigh``: they count in the norm at the highest IDF (models saved before 2026-12-05).
    random_state : int

    Examples
    --------
    >>> scorer = AnswerScorer().fit(train[["answer", "competency"]], train["rating"])   # doctest: +SKIP
    >>> scorer.score(["我先核实了客户身份，又请同事双人复核……"])                         # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        model: str = "ridge",
        alpha: float | str = "auto",
        alphas: tuple = DEFAULT_ALPHAS,
        cv: int = 3,
        tokenizer: str = "rjieba",
        feature_groups: tuple = FEATURE_GROUPS,
        word_ngram_max: int = 2,
        char_ngram_max: int = 3,
        hash_bits: int | None = None,
        svd_components: int = 200,
        hgb_max_iter: int = 300,
        hgb_learning_rate: float = 0.08,
        text_norm: str | None = "l2",
        relevance_filter: bool = False,
        mask_terms: tuple = (),
        unseen_ngrams: str = "ignore",
        random_state: int = 0,
    ):
        self.model = model
        self.alpha = alpha
        self.alphas = alphas
        self.cv = cv
        self.tokenizer = tokenizer
        self.feature_groups = feature_groups
        self.word_ngram_max = word_ngram_max
        self.char_ngram_max = char_ngram_max
        self.hash_bits = hash_bits
        self.svd_components = svd_components
        self.hgb_max_iter = hgb_max_iter
        self.hgb_learning_rate = hgb_learning_rate
        self.text_norm = text_norm
        self.relevance_filter = relevance_filter
        self.mask_terms = mask_terms
        self.unseen_ngrams = unseen_ngrams
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
        if getattr(self, "unseen_ngrams", "weigh") not in UNSEEN_NGRAMS:
            raise ValueError(f"unseen_ngrams must be one of {UNSEEN_NGRAMS}, got {self.unseen_ngrams!r}")

    def _hash_bits(self) -> int:
        if self.hash_bits is not None:
            return self.hash_bits
        return 16 if self.model == "hgb" else 20

    def make_featurizer(self) -> AnswerFeaturizer:
        """A new, unfitted featurizer with this scorer's feature settings."""
        # Hashed n-grams + TF-IDF: no vocabulary to store (skops serialises a 100k-entry dict slowly and bulkily),
        # bounded memory at any corpus size, and identical transforms in every batch-scoring worker.
        return AnswerFeaturizer(feature_groups=tuple(self.feature_groups), tokenizer=self.tokenizer, word_ngram_max=self.word_ngram_max,
                                char_ngram_max=self.char_ngram_max, hash_bits=self._hash_bits(), text_norm=self.text_norm,
                                relevance_filter=self.relevance_filter, mask_terms=tuple(self.mask_terms),
                                unseen_ngrams=getattr(self, "unseen_ngrams", "weigh"))

    def make_regressor(self, *, alpha=None):
        """A new, unfitted regressor; ``alpha`` overrides the penalty (a number) for a fixed-penalty refit."""
        if self.model == "ridge":
            return SparseRidge(alpha=self.alpha if alpha is None else alpha, alphas=tuple(self.alphas), cv=self.cv, random_state=self.random_state)
        return Pipeline([
            ("svd", _DenseSVD(n_components=self.svd_components, random_state=self.random_state)),
            ("gbm", HistGradientBoostingRegressor(max_iter=self.hgb_max_iter, learning_rate=self.hgb_learning_rate, random_state=self.random_state)),
        ])

    def featurize(self, X, *, dictionary=None) -> AnswerFeatures:
        """Featurize answers once for several fits (CV folds, regimes): ``fit``/``predict``/``score`` accept the result.

        Before fitting the features use ``dictionary`` (default: the default competency dictionary); after fitting,
        the dictionary the scorer was trained with.
        """
        self._validate_params_()
        if hasattr(self, "pipeline_") and dictionary is None:
            return self.pipeline_.named_steps["features"].featurize(X)
        return self.make_featurizer().featurize(X, dictionary=dictionary)

    # -- estimator API -----------------------------------------------------------------------------------
    def fit(self, X, y, *, groups=None, dictionary=None, rating_scale: tuple[int, int] | None = None, single_ratings=None):
        """Fit on answers ``X`` and their (consensus) ratings ``y``.

        ``X``: answers (see :func:`as_answer_frame`) or :class:`AnswerFeatures` from :meth:`featurize`.
        ``groups`` (e.g. candidate ids) keep one candidate's answers in one fold when the penalty is chosen.
        ``dictionary`` (a ``CompetencyDictionary`` or path; default: the default dictionary) supplies evidence
        phrases, domain terms, user words and rubric wording, and is stored with the model.
        ``single_ratings`` (optional, the individual human ratings, any length) sets the rating distribution that
        :meth:`predict_rating` reproduces; by default it is the distribution of ``y`` rounded. ``rating_scale``
        defaults to the observed integer range.
        """
        self._validate_params_()
        featurizer = self.make_featurizer()
        features = featurizer._features_of(X, dictionary) if isinstance(X, AnswerFeatures) else featurizer.featurize(X, dictionary=dictionary)
        y = np.asarray(y, dtype=float)
        if y.ndim != 1 or len(y) != len(features):
            raise ValueError(f"y must be one rating per answer: got {y.shape} for {len(features)} answers")
        if not np.isfinite(y).all():
            raise ValueError("y contains missing or infinite ratings; drop those answers or impute a consensus rating first")
        if len(features) < 10:
            raise ValueError(f"need at least 10 rated answers to fit, got {len(features)}")
        self.y_min_, self.y_max_ = float(y.min()), float(y.max())
        featurizer.fit(features)
        matrix = featurizer.transform(features)  # transformed once: reused for the advisories and rating cuts
        regressor = self.make_regressor()
        if self.model == "ridge":
            regressor.fit(matrix, y, groups=groups)
            self.alpha_ = float(regressor.alpha_)
        else:
            regressor.fit(matrix, y)
            self.alpha_ = None
        self.pipeline_ = Pipeline([("features", featurizer), ("model", regressor)])
        # the training answers' mean feature vector: the background of exact (interventional) SHAP values
        self.feature_means_ = sp.csr_matrix(matrix.mean(axis=0))
        topic = featurizer.text_block(features, _topic_group(featurizer), whole=True)  # weighed once: both advisory fits read it
        self.advisory_state_ = fit_advisories(features.stats, features.frame, topic, y)
        if _topic_group(featurizer) == "words":
            self.advisory_state_.update(fit_padding(self.advisory_state_, featurizer, featurizer.sentence_features(features), y, len(features),
                                                    frame=features.frame, words=topic))
        self.n_features_in_ = features.frame.shape[1]
        self.feature_names_in_ = np.array(list(features.frame.columns), dtype=object)
        train_scores = np.clip(regressor.predict(matrix), self.y_min_, self.y_max_)
        self._set_rating_cuts(train_scores, y, rating_scale, single_ratings)
        return self

    def _set_rating_cuts(self, train_scores, y, rating_scale, single_ratings) -> None:
        # Integer ratings by equipercentile mapping: cut the continuous scores where the human rating distribution
        # is cut, so machine ratings use the scale like raters do (rounding would squeeze them toward the middle).
        lo, hi = rating_scale or (int(np.floor(np.min(y))), int(np.ceil(np.max(y))))
        self.rating_scale_ = (lo, hi)
        # the rule cross-validation uses, so the shipped model's cuts are its folds' (missing single ratings skipped)
        self.rating_cuts_ = equipercentile_cuts(train_scores, single_ratings if single_ratings is not None else y, (lo, hi))

    def _features_for_predict(self, X) -> AnswerFeatures:
        featurizer = self.pipeline_.named_steps["features"]
        return X if isinstance(X, AnswerFeatures) else featurizer.featurize(X)

    def predict(self, X) -> np.ndarray:
        """Scores on the rating scale (continuous, clipped to the training range)."""
        check_is_fitted(self, "pipeline_")
        features = self._features_for_predict(X)
        return self._predict_features(features)

    def _predict_features(self, features: AnswerFeatures, blocks: dict | None = None) -> np.ndarray:
        featurizer, model = self.pipeline_.named_steps["features"], self.pipeline_.named_steps["model"]
        blocks = featurizer.blocks(features) if blocks is None else blocks
        if isinstance(model, SparseRidge):  # linear: block by block, without stacking a copy of every block
            raw, offset = np.full(len(features), model.intercept_), 0
            for block in blocks.values():
                # dense rows go through the sparse product too: BLAS may sum them in an order that depends on
                # the batch's memory layout, and every engine and chunking must give the same scores
                block = block if sp.issparse(block) else sp.csr_matrix(block)
                raw += np.asarray(block @ model.coef_[offset:offset + block.shape[1]]).ravel()
                offset += block.shape[1]
        else:
            raw = model.predict(featurizer.stack(blocks))
        return np.clip(raw, self.y_min_, self.y_max_)

    def predict_rating(self, X) -> np.ndarray:
        """Integer ratings on the human scale (equipercentile-mapped continuous scores)."""
        return self.rating_of(self.predict(X))

    def rating_of(self, scores) -> np.ndarray:
        check_is_fitted(self, "rating_cuts_")
        return ratings_from_cuts(scores, self.rating_cuts_, self.rating_scale_[0])

    def advise(self, X) -> pd.DataFrame:
        """Advisory flags per answer: ``advisories`` (codes joined by ";"), ``route`` (machine | human), similarity."""
        check_is_fitted(self, "advisory_state_")
        features = self._features_for_predict(X)
        return self._advise(features, self._predict_features(features))

    def _advise(self, features: AnswerFeatures, scores: np.ndarray, topic=None) -> pd.DataFrame:
        """``topic``: the topic group's whole view when the caller has weighed it already."""
        featurizer = self.pipeline_.named_steps["features"]
        if topic is None:
            # the advisories read every n-gram: the model's view may leave out those no training answer contained
            topic = featurizer.text_block(features, _topic_group(featurizer), whole=True)
        return apply_advisories(self.advisory_state_, features.stats, features.frame, topic, scores, featurizer=featurizer, features=features)

    def score(self, X) -> pd.DataFrame:
        """Everything a decision needs per answer: ``score``, ``rating``, ``advisories`` and ``route``.

        An answer routed to a human (any advisory) must not be decided by its machine score alone.
        """
        check_is_fitted(self, "pipeline_")
        features = self._features_for_predict(X)
        featurizer = self.pipeline_.named_steps["features"]
        # weighed once, for the model and the advisories (which read the topic group's whole view)
        blocks, topic = featurizer.blocks_and_whole(features, _topic_group(featurizer))
        scores = self._predict_features(features, blocks)
        out = self._advise(features, scores, topic)
        out.insert(0, "rating", self.rating_of(scores))
        out.insert(0, "score", scores)
        return out

    def feature_names(self) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.named_steps["features"].get_feature_names_out()

    def transform_features(self, X):
        """The feature matrix the model sees (sparse for ridge), for explanations."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.named_steps["features"].transform(self._features_for_predict(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


def _topic_group(featurizer: AnswerFeaturizer) -> str:
    return "words" if "words" in tuple(featurizer.feature_groups) else "chars"


class _DenseSVD(TruncatedSVD):
    """TruncatedSVD that caps n_components at what the data allows (small training sets in tests/learning curves)."""

    def fit_transform(self, X, y=None):
        self.n_components = int(min(self.n_components, X.shape[1] - 1, X.shape[0] - 1))
        return super().fit_transform(X, y)
