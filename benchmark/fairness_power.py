"""False alarms and power of the fairness audit's decision rule over many synthetic cohorts, with 95 % intervals.

For each cohort: n applicants of the synthetic bank (roles, audit attributes with their unknown shares, human
ratings of every answer — the generator's model, simulated without answer texts by
``workbench.synth.simulate_applicants``, which ``tests/test_validity_synth.py`` checks against the generator), a
human overall score per candidate (mean of all ratings: the decision a rater-driven process makes), the top 20 % of
each role advance, and the audit stage's rule decides: an attribute is **flagged** when some category is adverse
(exact 4/5) and the attribute's χ² test of independence is significant after Holm correction across the attributes
(``workbench.fairness.audit.flagged_attributes`` — the same function the stage uses).

* false alarms: all knobs off → share of cohorts in which ANY attribute is flagged (target: estimate ≤ 5 %);
* power: rater bias of 0.2 SD and 0.3 SD against women → share of cohorts in which gender is flagged
  (targets ≥ 80 % and ≥ 90 %).

Intervals are exact (Clopper–Pearson) 95 % binomial intervals.

    .venv/bin/python benchmark/fairness_power.py                      # 200 fair + 200 per bias level, n = 2,000
    .venv/bin/python benchmark/fairness_power.py --fair 400 --biased 100 --n 2000 --bias 0.1 0.2 0.3
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from collections import Counter

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from workbench.competency import load_dictionary
from workbench.fairness import impact_table
from workbench.fairness.audit import add_region, advance_decision, flagged_attributes
from workbench.synth import scenario_config, simulate_applicants

ATTRIBUTES = ["gender", "age_band", "hukou_type", "region", "ethnicity", "school_tier", "disability"]


def cohort_flags(applicants: pd.DataFrame, alpha: float = 0.05, top_share: float = 0.2) -> set[str]:
    """The audit stage's decision on one cohort: advance the top share per role by the human overall score."""
    data = add_region(applicants.drop(columns=["region"]))  # the audit's seven regions, from the reported province
    data["human_overall"] = data["mean_rating"]
    data["advance"] = advance_decision(data, score="human_overall", top_share=top_share)
    table = pd.concat([impact_table(data, by=a, selected="advance") for a in ATTRIBUTES], ignore_index=True)
    return flagged_attributes(table, alpha)


def run(seeds: range, n: int, bias: float, dictionary, alpha: float = 0.05) -> list[set[str]]:
    config = scenario_config("fair", seed=7, rater_bias_sd=bias) if bias else scenario_config("fair", seed=7)
    out = []
    for seed in seeds:
        applicants = simulate_applicants(config, dictionary, n_candidates=n, rng=np.random.default_rng([seed, 31]))
        out.append(cohort_flags(applicants, alpha=alpha))
    return out


def interval(hits: int, total: int) -> str:
    low, high = proportion_confint(hits, total, alpha=0.05, method="beta")
    return f"{hits / total:6.1%}  [{low:.1%}, {high:.1%}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fair", type=int, default=200, help="fair cohorts (false alarms)")
    parser.add_argument("--biased", type=int, default=200, help="cohorts per bias level (power); 0 = false alarms only")
    parser.add_argument("--n", type=int, default=2000, help="applicants per cohort")
    parser.add_argument("--bias", type=float, nargs="+", default=[0.2, 0.3], help="rater bias against women, in SD of the answer level")
    parser.add_argument("--alpha", type=float, default=0.05, help="the audit's significance level (the stage's default is 0.05)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")
    dictionary = load_dictionary()
    gc.freeze()  # statsmodels' Holm adjustment calls gc.collect() on every call; keep it cheap (see validity/_incremental.py)
    start = time.perf_counter()
    fair = run(range(1, args.fair + 1), args.n, 0.0, dictionary, args.alpha)
    alarms = sum(bool(f) for f in fair)
    by_attribute = Counter(a for f in fair for a in f)
    print(f"\nfalse alarms (any attribute flagged, all knobs off), {args.fair} cohorts of n = {args.n}, alpha {args.alpha}:")
    print(f"  {interval(alarms, args.fair)}   target: estimate ≤ 5 %   {'PASS' if alarms / args.fair <= 0.05 else 'FAIL'}")
    print("  by attribute: " + (", ".join(f"{a} {k}" for a, k in by_attribute.most_common()) or "none"))
    for bias in args.bias if args.biased else ():
        flags = run(range(10_001, 10_001 + args.biased), args.n, bias, dictionary, args.alpha)
        hits = sum("gender" in f for f in flags)
        others = Counter(a for f in flags for a in f if a != "gender")
        target = 0.9 if bias >= 0.3 else (0.8 if bias >= 0.2 else None)
        verdict = "" if target is None else f"target ≥ {target:.0%}   {'PASS' if hits / args.biased >= target else 'FAIL'}"
        print(f"\npower (gender flagged, rater bias {bias} SD against women), {args.biased} cohorts of n = {args.n}:")
        print(f"  {interval(hits, args.biased)}   {verdict}")
        print("  other attributes flagged in these cohorts: " + (", ".join(f"{a} {k}" for a, k in others.most_common()) or "none"))
    elapsed = time.perf_counter() - start
    total = args.fair + (args.biased * len(args.bias))
    print(f"\n{total} cohorts in {elapsed:.0f} s ({elapsed / total:.2f} s per cohort)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
