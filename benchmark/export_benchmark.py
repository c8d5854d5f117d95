"""EHR export: does writing a batch stream? Records/s and memory for growing cohorts, next to a naive writer.

Each size runs in a fresh subprocess. The child fabricates a scored cohort (candidates, one answer per competency of
their role, dimension and overall scores — shaped like stage 03's output, built with numpy because training a scorer
is not what is measured), computes the decisions, and then writes one batch. What matters is the memory the *write*
adds on top of the inputs and decisions already in memory (sampled every 20 ms): the streaming writer holds one chunk
of records at a time, so that increment stays flat as the cohort grows, while a naive writer that builds every record
first grows with the cohort.

    .venv/bin/python benchmark/export_benchmark.py                       # 10k, 30k, 100k candidates
    .venv/bin/python benchmark/export_benchmark.py --candidates 5000 50000 --formats jsonl csv parquet
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, sys, threading, time
import numpy as np, pandas as pd, psutil
from workbench.competency import load_dictionary
from workbench.decisions import make_decisions
from workbench.export import ExportConfig, Pseudonymizer, RunTables, build_export_batch
from workbench.export._records import RecordBuilder, flat_columns, flatten

n, out, mode, formats = int(sys.argv[1]), sys.argv[2], sys.argv[3], tuple(sys.argv[4].split(","))
proc = psutil.Process()
rng = np.random.default_rng(7)
d = load_dictionary()
roles = np.array(sorted(d.roles))
role = rng.choice(roles, n)
ids = np.array([f"C{i:07d}" for i in range(n)])
candidates = pd.DataFrame({"candidate_id": ids, "role_id": role, "name": rng.choice(["张伟", "李䶮", "王𠀀", "赵敏😀", "=SUM(A1)"], n),
                           "batch": rng.choice(["2026秋招-第1批", "2026秋招-第2批", "2026社招"], n)})
comps = {r: list(d.roles[r].competency_ids) for r in roles}
lengths = np.array([len(comps[r]) for r in role])
cand_rep = np.repeat(ids, lengths)
role_rep = np.repeat(role, lengths)
comp_rep = np.concatenate([comps[r] for r in role])
latent = np.repeat(rng.normal(3, 0.7, n), lengths)
machine = np.clip(latent + rng.normal(0, 0.6, len(cand_rep)), 1, 5)
answer_scores = pd.DataFrame({"answer_id": [f"{c}-{k}" for c, k in zip(cand_rep, comp_rep)], "candidate_id": cand_rep, "role_id": role_rep,
                              "competency": comp_rep, "machine": machine})
answers = pd.DataFrame({"answer_id": answer_scores["answer_id"], "candidate_id": cand_rep, "question_id": comp_rep, "status": "answered", "answer_text": "…"})
dim = pd.Series({c: x.dimension for c, x in d.competencies.items()})
per = answer_scores.assign(dimension=dim.reindex(comp_rep).to_numpy(), score=(machine - 1) / 4 * 100)
wide = per.pivot_table(index=["candidate_id", "role_id"], columns="dimension", values="score", aggfunc="mean").round(2)
wide.columns = [f"machine_{c}" for c in wide.columns]
scores = wide.reset_index()
scores["machine_overall"] = scores[["machine_professional", "machine_general", "machine_culture"]].mean(axis=1).round(2)
tables = RunTables(run_id="bench", candidate_scores=scores, answer_scores=answer_scores, candidates=candidates, answers=answers,
                   card={"sha256": "ab" * 32, "model_version": "bench"}, dictionary=d, scored_at="2026-12-01T00:00:00+00:00")
config = ExportConfig(formats=formats, include_personal=("name",), chunk_size=5000)
decisions = make_decisions(scores, answer_scores, candidates=candidates, dictionary=d, rule=config.rule)
before = proc.memory_info().rss
peak = [before]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.02)
t = threading.Thread(target=sample, daemon=True); t.start()
pseudo = Pseudonymizer(os.urandom(32).hex().encode())
start = time.perf_counter()
if mode == "stream":
    batch = build_export_batch(tables, out, config=config, decisions=decisions, pseudonymizer=pseudo)
    records = batch.counts["records_out"]
else:  # naive: every record built first, then each format written from the whole table
    builder = RecordBuilder(tables, decisions, pseudonymizer=pseudo, batch_id="eb-naive", exported_at="2026-12-01T08:00:00+08:00", include_personal=("name",))
    export, held = builder.partition()
    everything = [r for chunk in builder.iter_chunks(export, len(export)) for r in chunk]
    cols = flat_columns(d, ("name",))
    frame = pd.DataFrame([flatten(r, cols) for r in everything], columns=cols)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "records.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r, ensure_ascii=False) for r in everything))
    if "csv" in formats:
        frame.to_csv(os.path.join(out, "records.csv"), index=False, encoding="utf-8-sig")
    if "parquet" in formats:
        frame.to_parquet(os.path.join(out, "records.parquet"), index=False)
    if "xlsx" in formats:
        frame.to_excel(os.path.join(out, "records.xlsx"), index=False)
    records = len(everything)
elapsed = time.perf_counter() - start
stop.set(); t.join()
print(json.dumps({"candidates": n, "mode": mode, "records": records, "seconds": elapsed, "inputs_rss_mb": before / 2**20,
                  "write_increment_mb": (peak[0] - before) / 2**20, "peak_rss_mb": peak[0] / 2**20}))
"""


def run(n: int, mode: str, formats: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), os.path.join(tmp, "out"), mode, ",".join(formats)],
                             capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(out.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--formats", nargs="+", default=["jsonl", "csv", "xlsx", "parquet"])
    parser.add_argument("--no-naive", action="store_true", help="skip the naive in-memory writer")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results: dict[str, list[dict]] = {"stream": [], "naive": []}
    for n in args.candidates:
        for mode in ("stream",) if args.no_naive else ("stream", "naive"):
            r = run(n, mode, args.formats)
            results[mode].append(r)
            print(f"{mode:6s} {n:>8,d} candidates  {r['seconds']:7.1f} s  {r['records'] / r['seconds']:7,.0f} records/s  "
                  f"inputs+decisions {r['inputs_rss_mb']:6.0f} MB  write adds {r['write_increment_mb']:6.0f} MB  peak {r['peak_rss_mb']:6.0f} MB", flush=True)
    for mode, rows in results.items():
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            print(f"{mode}: memory the write adds, largest/smallest: {max(last['write_increment_mb'], 1) / max(first['write_increment_mb'], 1):.2f} "
                  f"for {last['candidates'] / first['candidates']:.0f}× the candidates")
    print(f"formats: {', '.join(args.formats)}; chunk 5,000 records; every record validated against the schema (stream mode)")
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, {os.cpu_count()} cores; "
          f"load average before {' '.join(f'{x:.2f}' for x in load_before)}, after {' '.join(f'{x:.2f}' for x in os.getloadavg())} (shared cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
