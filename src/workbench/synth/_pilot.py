"""Simulated pilot ratings for any question set: every candidate of a role answers every question of the role.

Only ratings are simulated (no texts): latent competency θ as in the cohort, answer level from θ, question
difficulty and the two-rater rating function of :mod:`workbench.synth._generator`. An optional planted DIF
makes chosen questions harder for a group at equal ability, so item-analysis reports can be checked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._config import CohortConfig
from ._generator import _latent, level_sd, rate, _LEVEL_CUTS

__all__ = ["simulate_pilot"]


def simulate_pilot(
    questions: pd.DataFrame,
    *,
    candidates_per_role: int = 300,
    seed: int = 7,
    dif_questions: tuple[str, ...] = (),
    dif_group: tuple[str, str] = ("gender", "女"),
    dif_sd: float = 0.6,
    bad_questions: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Long table: candidate_id, question_id, rater_id, rating, gender, hukou_type.

    ``dif_questions`` are ``dif_sd`` level-SDs harder for ``dif_group``; ``bad_questions`` measure nothing (their
    level is random), as a badly written question would.
    """
    config = CohortConfig()
    rng = np.random.default_rng([seed, 4242])
    rows = []
    sd_u = float(np.sqrt(1 + config.answer_noise_sd**2))
    serial = 0
    for role_id, qs in questions.groupby("role_id", sort=True):
        comps = sorted(set(qs["competency_id"]))
        n = candidates_per_role
        theta = _latent(rng, n, len(comps), config.general_factor_share)
        gender = rng.choice(np.array(["男", "女"], dtype=object), n)
        hukou = rng.choice(np.array(["城镇", "农村"], dtype=object), n, p=[0.68, 0.32])
        ids = [f"P{serial + i + 1:06d}" for i in range(n)]
        serial += n
        for q in qs.itertuples():
            k = comps.index(q.competency_id)
            b = rng.normal(0, 0.15)
            u = theta[:, k] - b + rng.normal(0, config.answer_noise_sd, n)
            if q.question_id in bad_questions:
                u = rng.standard_normal(n) * sd_u
            if q.question_id in dif_questions:
                group_values = gender if dif_group[0] == "gender" else hukou
                u = u - dif_sd * level_sd() * (group_values == dif_group[1]) * sd_u / level_sd()
            levels = np.searchsorted(_LEVEL_CUTS, u / sd_u) + 1
            noise = rng.uniform(*config.rater_noise_sd)
            for r in range(2):
                ratings = rate(rng, levels, rng.normal(0, config.rater_severity_sd, n), noise)
                rows.append(pd.DataFrame({"candidate_id": ids, "question_id": q.question_id, "rater_id": f"R{r + 1}", "rating": ratings, "gender": gender, "hukou_type": hukou}))
    return pd.concat(rows, ignore_index=True)
