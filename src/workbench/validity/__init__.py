"""Predictive validity study: do interview scores predict later performance, probation and potential?

* :func:`run_validity_study` → :class:`ValidityStudy` (tidy tables, renders itself; figures in this module);
* corrections: :func:`correct_range_restriction` (Thorndike Case II), :func:`correct_indirect_range_restriction`
  (Case III), :func:`correct_criterion_unreliability`, :func:`operational_validity` (the right order),
  :func:`correlation_ci`;
* inputs: :func:`read_outcomes` (a bank's outcomes file through the intake contract), :func:`mean_rating_scores`
  (the legacy score hiring used), :func:`competency_scores` (e.g. learning agility from stage 03's answer scores).

Background and formulas: ``/work/shared/reference/validity.md`` (Case II/III, order of corrections, expectancy
charts, incremental validity, less discriminatory alternatives).
"""

from ._corrections import (
    correct_criterion_unreliability,
    correct_indirect_range_restriction,
    correct_range_restriction,
    correlation_ci,
    operational_validity,
)
from ._figures import expectancy_figure, machine_vs_human_figure, potential_figure, tradeoff_figure, validity_figure
from ._inputs import competency_scores, mean_rating_scores, read_outcomes
from ._study import CRITERIA, MIN_N, POOLED, ValidityStudy, run_validity_study

__all__ = [
    "CRITERIA",
    "MIN_N",
    "POOLED",
    "ValidityStudy",
    "competency_scores",
    "correct_criterion_unreliability",
    "correct_indirect_range_restriction",
    "correct_range_restriction",
    "correlation_ci",
    "expectancy_figure",
    "machine_vs_human_figure",
    "mean_rating_scores",
    "operational_validity",
    "potential_figure",
    "read_outcomes",
    "run_validity_study",
    "tradeoff_figure",
    "validity_figure",
]
