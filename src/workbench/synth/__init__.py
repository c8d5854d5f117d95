"""Synthetic bank recruiting data with known ground truth (``workbench synth``).

Example::

    from workbench.synth import generate_cohort, scenario_config
    generate_cohort(scenario_config("fair", seed=7, n_candidates=2000), "data/cohorts/fair-7")
"""

from ._config import REGION_GROUPS, SCENARIOS, CohortConfig, RaterBias, scenario_config
from ._pilot import simulate_pilot
from ._outcomes import OUTCOME_COLUMNS, PROBATION_FAILED, PROBATION_PASSED, population_validity, potential_weights, simulate_applicants
from ._generator import LEVEL_PROBS, CohortSummary, generate_cohort, generate_questions, level_sd, rate, sample_levels

__all__ = [
    "LEVEL_PROBS",
    "OUTCOME_COLUMNS",
    "PROBATION_FAILED",
    "PROBATION_PASSED",
    "REGION_GROUPS",
    "SCENARIOS",
    "CohortConfig",
    "CohortSummary",
    "RaterBias",
    "generate_cohort",
    "generate_questions",
    "level_sd",
    "population_validity",
    "potential_weights",
    "rate",
    "sample_levels",
    "scenario_config",
    "simulate_applicants",
    "simulate_pilot",
]
