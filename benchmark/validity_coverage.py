"""How often do the validity study's corrected intervals contain the true population validity?

Over many synthetic cohorts of the generator's model (``workbench.synth.simulate_applicants``: the same model as
``generate_cohort`` from θ to the human ratings, outcomes and hiring rule, without answer texts), run
``workbench.validity.run_validity_study`` on the legacy scores (mean human rating overall and per dimension,
learning agility), hiring on the mean rating, with the hires' criterion reliabilities, and compare every estimate
with the truth from one large simulation (``population_validity``).

Prints, per predictor × criterion (pooled within role): coverage of the 95 % intervals, mean estimate, truth and
mean observed r; then the per-role coverage.

    .venv/bin/python benchmark/validity_coverage.py --cohorts 40 --n 2000
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from workbench.competency import load_dictionary
from workbench.synth import PROBATION_FAILED, PROBATION_PASSED, population_validity, scenario_config, simulate_applicants
from workbench.validity import run_validity_study

PREDICTORS = ["mean_rating", "mean_rating_professional", "mean_rating_general", "mean_rating_culture", "mean_rating_learning_agility"]


def study_inputs(sim: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    from workbench.fairness.audit import advance_decision

    hired = advance_decision(sim, score="mean_rating", top_share=share).to_numpy(dtype=bool)
    h = sim[hired]
    rated = (h["probation_passed"] & ~h["left_before_rating"]).to_numpy()
    outcomes = pd.DataFrame(
        {
            "candidate_id": h["candidate_id"].to_numpy(),
            "performance_rating": np.where(rated, h["performance_rating_cf"], np.nan),
            "probation_result": np.where(h["probation_passed"], PROBATION_PASSED, PROBATION_FAILED),
            "potential_rating": np.where(rated, h["potential_rating_cf"], np.nan),
        }
    )
    return sim[["candidate_id", "role_id", *PREDICTORS]], outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohorts", type=int, default=40)
    parser.add_argument("--n", type=int, default=2000, help="applicants per cohort (the generator's default)")
    parser.add_argument("--truth-per-role", type=int, default=20000)
    parser.add_argument("--n-boot", type=int, default=300)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")
    dictionary = load_dictionary()
    config = scenario_config("fair", seed=7)
    truth, reliability = population_validity(simulate_applicants(config, dictionary, per_role=args.truth_per_role, rng=np.random.default_rng(99)), config)
    r_yy = {r.criterion: float(r.incumbents) for r in reliability[reliability["role_id"] == "all"].itertuples()}
    gc.freeze()
    start = time.perf_counter()
    rows = []
    for seed in range(args.cohorts):
        sim = simulate_applicants(config, dictionary, n_candidates=args.n, rng=np.random.default_rng([seed, 5]))
        scores, outcomes = study_inputs(sim, config.hire_share)
        study = run_validity_study(scores, outcomes, sim, selection_score="mean_rating", criterion_reliability=r_yy, truth=truth,
                                   procedure="mean_rating", shares=(0.2,), weight_step=0.5, n_boot=args.n_boot, seed=seed)
        rows.append(study.truth_comparison.assign(cohort=seed))
    data = pd.concat(rows, ignore_index=True)
    pooled = data[data["role_id"] == "all"]
    table = pooled.groupby(["predictor", "criterion"], sort=False).agg(
        measure=("measure", "first"), coverage=("covered", "mean"), estimate=("estimate", "mean"), truth=("truth", "mean"), observed=("observed", "mean"))
    print(f"\n{args.cohorts} cohorts of n = {args.n}, hiring the top {config.hire_share:.0%} per role on the mean rating; "
          f"r_yy among hires: " + ", ".join(f"{k} {v:.3f}" for k, v in r_yy.items()))
    print("\npooled within role (coverage of the 95 % intervals; mean estimate vs truth; mean observed r among hires):")
    print(table.round(3).to_string())
    hits, total = int(pooled["covered"].sum()), len(pooled)
    low, high = proportion_confint(hits, total, method="beta")
    print(f"\nall pooled intervals: {hits}/{total} = {hits / total:.1%} [{low:.1%}, {high:.1%}] contain the truth")
    roles = data[data["role_id"] != "all"]
    if len(roles):
        print(f"per role (roles with ≥ 50 hires with the criterion): {roles['covered'].mean():.1%} of {len(roles)} intervals")
        for name, part in (("pooled", pooled), ("per role", roles)):
            by = part.groupby(["correction", "criterion"])["covered"].agg(["mean", "size"])
            print(f"  {name} by correction and criterion: " + "; ".join(f"{c}/{k} {m:.1%} (n {int(n)})" for (c, k), (m, n) in by.iterrows()))
    print(f"\n{(time.perf_counter() - start) / args.cohorts:.1f} s per cohort")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
