"""Answer scoring: the ``AnswerScorer`` estimator, ETS-style acceptance metrics, safe persistence, batch scoring."""

from ._metrics import GATES, Gates, acceptance_table, qwk, render_acceptance
from ._persist import TRUSTED_TYPES, load_scorer, save_scorer
from ._scorer import FEATURE_GROUPS, MODELS, AnswerScorer
from ._tokenize import BACKENDS, tokenize_jieba, tokenize_rjieba

__all__ = [
    "BACKENDS",
    "FEATURE_GROUPS",
    "GATES",
    "MODELS",
    "TRUSTED_TYPES",
    "AnswerScorer",
    "Gates",
    "acceptance_table",
    "load_scorer",
    "qwk",
    "render_acceptance",
    "save_scorer",
    "tokenize_jieba",
    "tokenize_rjieba",
]
