"""Answer scoring: the ``AnswerScorer`` estimator, advisories, cross-validation, ETS acceptance metrics, persistence, batch scoring."""

from ._advisories import ADVISORIES, ROUTES
from ._crossval import CrossValidation, cross_validate
from ._data import DEMOGRAPHICS, answer_dataset, dimension_scores
from ._featurize import AnswerFeatures, AnswerFeaturizer
from ._metrics import GATES, OVERALL, Gates, acceptance_table, qwk, render_acceptance
from ._persist import TRUSTED_TYPES, load_scorer, save_scorer
from ._ridge import SparseRidge
from ._scorer import FEATURE_GROUPS, MODELS, AnswerScorer
from ._tokenize import BACKENDS, tokenize_jieba, tokenize_rjieba

__all__ = [
    "ADVISORIES",
    "BACKENDS",
    "DEMOGRAPHICS",
    "FEATURE_GROUPS",
    "GATES",
    "MODELS",
    "OVERALL",
    "ROUTES",
    "TRUSTED_TYPES",
    "AnswerFeatures",
    "AnswerFeaturizer",
    "AnswerScorer",
    "CrossValidation",
    "Gates",
    "SparseRidge",
    "acceptance_table",
    "answer_dataset",
    "cross_validate",
    "dimension_scores",
    "load_scorer",
    "qwk",
    "render_acceptance",
    "save_scorer",
    "tokenize_jieba",
    "tokenize_rjieba",
]
