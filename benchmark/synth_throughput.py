"""Synthetic-cohort generator throughput and memory: does it stream?

Runs the generator in a fresh subprocess per size (so peak RSS is that size's own) and prints answers/second and
peak memory. The ratio of peak memory at the largest vs the smallest size is the streaming check: it should stay
close to 1 while the output grows tenfold.

    .venv/bin/python benchmark/synth_throughput.py                 # 100k and 1M answers, Parquet
    .venv/bin/python benchmark/synth_throughput.py --answers 20000 200000
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from workbench.synth import generate_cohort, scenario_config
n, out, fmt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
start = time.perf_counter()
summary = generate_cohort(scenario_config("fair", seed=7, n_candidates=n, employees_per_role=0), out, fmt=fmt)
elapsed = time.perf_counter() - start
print(json.dumps({"candidates": n, "answers": summary.rows["answers"], "seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

ANSWERS_PER_CANDIDATE = 9.2  # measured average answers per candidate (role mix × competencies per role)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--format", choices=["csv", "parquet"], default="parquet")
    args = parser.parse_args()
    rows = []
    for target in args.answers:
        with tempfile.TemporaryDirectory() as tmp:
            n = max(1, round(target / ANSWERS_PER_CANDIDATE))
            out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(Path(tmp) / "c"), args.format], capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["answers_per_s"] = result["answers"] / result["seconds"]
            rows.append(result)
            print(f"{result['answers']:>10,d} answers  {result['seconds']:7.1f} s  {result['answers_per_s']:8,.0f} answers/s  peak RSS {result['peak_rss_mb']:7.0f} MB", flush=True)
    if len(rows) > 1:
        print(f"memory ratio largest/smallest: {rows[-1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f} for {rows[-1]['answers'] / rows[0]['answers']:.0f}× the answers")
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, {__import__('os').cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
