"""Vendor benchmark: score any question set the same way (``workbench bench questions``), benchmark a vendor's
answer scorer on a published answer set whose ratings the bank keeps (``workbench bench answers`` /
``workbench bench scorer``), and rank both (``workbench bench leaderboard``).

:func:`make_gaming_probes` builds the answers that try to fool a scorer; the workbench's own scorer tests reuse it.
"""

from ._bench import benchmark_question_set, build_leaderboard, read_pilot, scorer_leaderboard
from ._probes import PROBE_COLUMNS, PROBE_KINDS, make_gaming_probes, probe_outcomes
from ._scorers import AnswerSetSummary, ScorerEvaluation, evaluate_scorer, publish_answer_set, read_scores

__all__ = [
    "PROBE_COLUMNS",
    "PROBE_KINDS",
    "AnswerSetSummary",
    "ScorerEvaluation",
    "benchmark_question_set",
    "build_leaderboard",
    "evaluate_scorer",
    "make_gaming_probes",
    "probe_outcomes",
    "publish_answer_set",
    "read_pilot",
    "read_scores",
    "scorer_leaderboard",
]
