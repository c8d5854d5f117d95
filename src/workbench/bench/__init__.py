"""Vendor benchmark: score any question set the same way (``workbench bench questions``), benchmark a vendor's
answer scorer on a published answer set whose ratings the bank keeps (``workbench bench answers`` /
``workbench bench scorer``), and rank both (``workbench bench leaderboard``).

:func:`make_gaming_probes` builds the answers that try to fool a scorer; the workbench's own scorer tests reuse it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._bench import benchmark_question_set, build_leaderboard, read_pilot, scorer_leaderboard
    from ._probes import PROBE_COLUMNS, PROBE_KINDS, make_gaming_probes, probe_outcomes
    from ._scorers import AnswerSetSummary, ScorerEvaluation, evaluate_scorer, publish_answer_set, read_scores

# Loaded on first use: every `workbench` command imports bench._cli to register the bench commands, and the
# implementations import scikit-learn and SciPy (seconds), which the other commands do not need.
__getattr__, __dir__ = lazy_exports(__name__, {
    "benchmark_question_set": "_bench", "build_leaderboard": "_bench", "read_pilot": "_bench", "scorer_leaderboard": "_bench",
    "PROBE_COLUMNS": "_probes", "PROBE_KINDS": "_probes", "make_gaming_probes": "_probes", "probe_outcomes": "_probes",
    "AnswerSetSummary": "_scorers", "ScorerEvaluation": "_scorers", "evaluate_scorer": "_scorers", "publish_answer_set": "_scorers",
    "read_scores": "_scorers",
}, globals())

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
