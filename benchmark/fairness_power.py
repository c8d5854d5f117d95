"""Power and false alarms of the fairness audit over many synthetic cohorts.

For each seed: generate a cohort of n candidates, score each candidate by the human raters (mean of all ratings —
the decision a rater-driven process would make), advance the top 20 % of each role, and run the audit's
attribute-level test (
the audit): an attribute is *flagged* when some category is adverse (exact 4/5) and the attribute's χ² test of
independence is significant after Holm correction across attributes — the audit stage's own rule.

* power: rater bias of 0.3 SD against women → share of seeds in which gender is flagged (target ≥ 90 %);
* false alarms: all knobs off → share of seeds in which ANY attribute is flagged (target ≤ 5 %).

    .venv/bin/python benchmark/fairness_power.py --seeds 20 --n 2000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.fairness import impact_table
from workbench.fairness.audit import add_region, advance_decision, flagged_attributes
from workbench.synth import generate_cohort, scenario_config

ATTRIBUTES = ["gender", "age_band", "hukou_type", "region", "ethnicity", "school_tier", "disability"]


def cohort_flags(cohort: Path, alpha: float = 0.05) -> set[str]:
    cands = add_region(pd.read_csv(cohort / "candidates.csv", keep_default_na=False).replace({"": None}))
    answers = pd.read_csv(cohort / "answers.csv", keep_default_na=False, usecols=["answer_id", "candidate_id"])
    ratings = pd.read_csv(cohort / "ratings.csv").merge(answers, on="answer_id")
    score = ratings.groupby("candidate_id")["rating"].mean().rename("human_overall").reset_index()
    data = score.merge(cands[["candidate_id", "role_id", *ATTRIBUTES]], on="candidate_id")
    data["advance"] = advance_decision(data, score="human_overall", top_share=0.2)
    table = pd.concat([impact_table(data, by=a, selected="advance") for a in ATTRIBUTES], ignore_index=True)
    return flagged_attributes(table, alpha)  # the same decision rule as the audit stage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--bias", type=float, default=0.3)
    args = parser.parse_args()
    power_hits, false_alarms = 0, 0
    details = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            biased = Path(tmp) / f"b{seed}"
            fair = Path(tmp) / f"f{seed}"
            generate_cohort(scenario_config("fair", seed=seed, n_candidates=args.n, employees_per_role=0, rater_bias_sd=args.bias), biased)
            generate_cohort(scenario_config("fair", seed=1000 + seed, n_candidates=args.n, employees_per_role=0), fair)
            fb, ff = cohort_flags(biased), cohort_flags(fair)
            power_hits += "gender" in fb
            false_alarms += bool(ff)
            details.append((seed, sorted(fb), sorted(ff)))
            print(f"seed {seed:3d}: biased flags {sorted(fb) or '—'}; fair flags {sorted(ff) or '—'}", flush=True)
    power = power_hits / args.seeds
    fa = false_alarms / args.seeds
    print(f"\npower (gender flagged with {args.bias} SD rater bias, n = {args.n}): {power:.0%}  target ≥ 90 %  {'PASS' if power >= 0.9 else 'FAIL'}")
    print(f"false alarms (any attribute flagged, all knobs off):            {fa:.0%}  target ≤ 5 %   {'PASS' if fa <= 0.05 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
