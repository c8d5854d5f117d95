"""Explanations of answer scores: exact SHAP attributions, highlights on the Chinese text, global views per
competency, a proxy check for protected attributes, candidate feedback and a faithfulness test.

    >>> ex = explain_answers(scorer, answers, background=training_answers)    # doctest: +SKIP
    >>> ex.top                        # row, rank, group, kind, feature, start, end, spans, value
    >>> highlight(ex, 0)              # the answer, its tokens shaded by contribution
    >>> shap.plots.text(ex.to_shap(0))
    >>> proxy_check(ex).mask_terms()  # protected terms the scorer leans on → AnswerScorer(mask_terms=...)
    >>> candidate_feedback(ex, candidate_scores).records
"""

from ._engine import background_means
from ._explanations import AnswerExplanations, explain_answers, feature_label
from ._faithfulness import Faithfulness, faithfulness
from ._feedback import CandidateFeedback, FeedbackEvidence, PhraseBank, candidate_feedback, load_phrase_bank
from ._global import gallery, gallery_html, global_figure, global_importance
from ._highlight import Highlight, highlight, highlight_competency
from ._proxy import ProxyCheck, protected_terms, proxy_check

__all__ = [
    "AnswerExplanations",
    "CandidateFeedback",
    "Faithfulness",
    "FeedbackEvidence",
    "Highlight",
    "PhraseBank",
    "ProxyCheck",
    "background_means",
    "candidate_feedback",
    "explain_answers",
    "faithfulness",
    "feature_label",
    "gallery",
    "gallery_html",
    "global_figure",
    "global_importance",
    "highlight",
    "highlight_competency",
    "load_phrase_bank",
    "protected_terms",
    "proxy_check",
]
