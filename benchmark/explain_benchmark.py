"""Explanations at scale: top-10 attributions for 10,000 answers, next to shap.LinearExplainer, in one run.

Measured on the same answers, each case in a fresh subprocess (peak RSS = the kernel's ``VmHWM`` of that process):

1. ``explain_answers(scorer, answers, top_k=10)`` with the default scorer (hash_bits 20: 2 × 2**20 text columns),
   the answers' background means given — wall and CPU seconds (best of ``--repeat``), peak RSS, the non-zeros of the
   feature matrix; ``scorer.predict`` on the same answers for scale;
2. the same at ``--shap-bits`` (default 13: the largest hashed space for which shap's dense answers × features output
   for 10,000 answers stays near 1.3 GB), for ``explain_answers`` and for ``shap.LinearExplainer`` (Independent masker
   over the same background, every row kept) followed by the top 10 per answer from its dense output; both include
   featurisation; the two sets of values are compared (max |difference|);
3. peak RSS of ``explain_answers`` alone on ``--memory-sizes`` answers (default 10,000 and 40,000; nothing else in
   that process touches all answers at once): memory follows the non-zeros of one batch (``batch_size`` answers)
   plus the result (10 rows per answer), not the non-zeros of all answers;
4. the machine and its load (other processes on a shared machine make every figure noisy).

Target: ≤ 5 s for 10,000 answers on 2 cores, memory proportional to the non-zeros.

    .venv/bin/python benchmark/explain_benchmark.py
    .venv/bin/python benchmark/explain_benchmark.py --answers 10000 --repeat 3 --memory-sizes 10000 40000
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scoring_benchmark import ANSWERS_PER_CANDIDATE, load, machine  # noqa: E402

TARGET_SECONDS = 5.0

CHILD = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
mode, model, answers_file, means_file, n, repeat = sys.argv[1:7]
n, repeat = int(n), int(repeat)
from workbench.scoring import load_scorer
from workbench.explain import explain_answers
scorer = load_scorer(model)
answers = pd.read_parquet(answers_file).iloc[:n].reset_index(drop=True)
mean = np.load(means_file)
explain_answers(scorer, answers.iloc[:20], background=mean)  # warm: tokenizer dictionary, lexicon
out = {"answers": len(answers)}

def best(fn):
    wall = cpu = float("inf")
    for _ in range(repeat):
        s, c = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = min(wall, time.perf_counter() - s), min(cpu, time.process_time() - c)
    return result, wall, cpu

if mode == "memory":  # explain_answers only: the peak below is its own (plus the imports and the model)
    s, c = time.perf_counter(), time.process_time()
    ex = explain_answers(scorer, answers, top_k=10, background=mean)
    out["seconds"], out["cpu_seconds"] = time.perf_counter() - s, time.process_time() - c
    out["top_rows"] = len(ex.top)
    out["nnz"] = int(sum(scorer.transform_features(answers.iloc[lo:lo + 2000]).nnz for lo in range(0, len(answers), 2000)))
elif mode == "ours":
    ex, out["seconds"], out["cpu_seconds"] = best(lambda: explain_answers(scorer, answers, top_k=10, background=mean))
    out["additivity"] = ex.additivity_error()
    out["top_rows"] = len(ex.top)
    # scorer.predict over the same batches (one call on all answers would hold every non-zero at once)
    _, out["predict_seconds"], out["predict_cpu_seconds"] = best(lambda: [scorer.predict(answers.iloc[lo:lo + 2000]) for lo in range(0, len(answers), 2000)])
    out["nnz"] = int(sum(scorer.transform_features(answers.iloc[lo:lo + 2000]).nnz for lo in range(0, len(answers), 2000)))
    out["features"] = int(len(scorer.pipeline_.named_steps["model"].coef_))
    if sys.argv[7] != "-":  # dense values of the first 50 answers, for the comparison with shap (small models only)
        np.save(sys.argv[7], ex._engine.column_values(answers.iloc[:50]))
elif mode == "shap":
    import shap, scipy.sparse as sp
    features, model_ = scorer.pipeline_.named_steps["features"], scorer.pipeline_.named_steps["model"]
    background = sp.csr_matrix(mean[None, :])  # one row equal to the background means: the same independent background
    explainer = shap.LinearExplainer((model_.coef_, model_.intercept_), shap.maskers.Independent(background, max_samples=1))
    def run():
        X = features.transform(answers)
        values = explainer.shap_values(X)                      # dense answers × features
        top = np.argpartition(-np.abs(values), 10, axis=1)[:, :10]
        return values, top
    (values, _), out["seconds"], out["cpu_seconds"] = best(run)
    out["dense_mb"] = values.nbytes / 2**20
    np.save(sys.argv[7], values[:50])
try:
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["peak_rss_mb"] = peak
print(json.dumps(out))
"""


def child(mode: str, model: Path, answers: Path, means: Path, n: int, repeat: int, values_out) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(model), str(answers), str(means), str(n), str(repeat), str(values_out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--train", type=int, default=5_000)
    parser.add_argument("--shap-bits", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory-sizes", type=int, nargs="*", default=[10_000, 40_000])
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd

    from workbench.explain import background_means
    from workbench.scoring import AnswerScorer, save_scorer
    from workbench.synth import generate_cohort, scenario_config

    info = machine()
    load_before = load()
    work = Path(tempfile.mkdtemp(prefix="explain-bench-"))
    need = args.train + max([args.answers, *args.memory_sizes])
    print(f"generating a cohort with ≥ {need:,} answers …", flush=True)
    generate_cohort(scenario_config("fair", seed=args.seed, n_candidates=math.ceil(need / ANSWERS_PER_CANDIDATE * 1.05), employees_per_role=0),
                    work / "cohort", fmt="parquet")
    answers = pd.read_parquet(work / "cohort" / "answers.parquet")
    questions = pd.read_parquet(work / "cohort" / "questions.parquet")
    ratings = pd.read_parquet(work / "cohort" / "ratings.parquet")
    answers = answers[answers["status"] == "answered"].merge(questions[["question_id", "competency_id"]], on="question_id")
    answers["y"] = answers["answer_id"].map(ratings.groupby("answer_id")["rating"].mean())
    answers = answers.dropna(subset=["y"]).reset_index(drop=True)
    frame = pd.DataFrame({"answer": answers["answer_text"].astype(str), "competency": answers["competency_id"].astype(str)})
    train, rest = frame.iloc[: args.train], frame.iloc[args.train:].reset_index(drop=True)
    y = answers["y"].iloc[: args.train]
    rest.to_parquet(work / "answers.parquet", index=False)
    chars = rest["answer"].iloc[: args.answers].str.len().mean()
    print(f"train {len(train):,}; explain {args.answers:,} answers ({chars:.0f} characters on average)", flush=True)

    results = {}
    for bits in (None, args.shap_bits):
        scorer = AnswerScorer(alpha=1.0, hash_bits=bits).fit(train, y, rating_scale=(1, 5))
        name = f"bits{scorer._hash_bits()}"
        model, _ = save_scorer(scorer, work / name / "scorer.skops")
        mean, _ = background_means(scorer, train)
        np.save(work / f"{name}_mean.npy", mean)
        print(f"{name}: explain_answers on {args.answers:,} answers …", flush=True)
        results[f"ours_{name}"] = child("ours", model, work / "answers.parquet", work / f"{name}_mean.npy", args.answers, args.repeat, "-")
        if bits == args.shap_bits:
            print(f"{name}: shap.LinearExplainer on the same answers …", flush=True)
            results[f"shap_{name}"] = child("shap", model, work / "answers.parquet", work / f"{name}_mean.npy", args.answers, args.repeat,
                                            work / f"{name}_shap_values.npy")
            # exact values of the first 50 answers from both (ours from a small run that saves them)
            child("ours", model, work / "answers.parquet", work / f"{name}_mean.npy", 50, 1, work / f"{name}_ours_values.npy")
            ours_v, shap_v = np.load(work / f"{name}_ours_values.npy"), np.load(work / f"{name}_shap_values.npy")
            results["max_abs_difference"] = float(np.abs(ours_v - shap_v).max())
        if bits is None:
            default_model, default_mean = model, work / f"{name}_mean.npy"
    memory = {}
    for n in args.memory_sizes:
        print(f"peak memory, {n:,} answers …", flush=True)
        memory[n] = child("memory", default_model, work / "answers.parquet", default_mean, n, 1, "-")

    # ---- report ------------------------------------------------------------------------------------------------
    print("\nmachine")
    print(f"  CPU {info['cpu']}; {info['logical_cores']} logical / {info['physical_cores']} physical cores; {info['ram_gb']} GB RAM")
    print(f"  Python {info['python']} on {info['platform']}")
    print("  " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"  load average before {load_before}; after {load()}  (other processes share these cores)")
    print(f"\ntop-10 attributions for {args.answers:,} answers ({chars:.0f} chars on average; best of {args.repeat}; each case in a fresh process)")
    print(f"  {'case':<44}{'wall s':>8}{'CPU s':>8}{'peak RSS':>11}  notes")
    for key, r in results.items():
        if not isinstance(r, dict):
            continue
        note = ""
        if key.startswith("ours"):
            note = (f"{r['features']:,} features, {r['nnz']:,} non-zeros; predict {r['predict_seconds']:.2f} s; "
                    f"additivity {r['additivity']:.1e}")
        else:
            note = f"dense values {r['dense_mb']:,.0f} MB"
        label = {"ours": "explain_answers", "shap": "shap.LinearExplainer + top 10"}[key.split("_")[0]] + f" ({key.split('_')[1]})"
        print(f"  {label:<44}{r['seconds']:>8.2f}{r['cpu_seconds']:>8.2f}{r['peak_rss_mb']:>8.0f} MB  {note}")
    ours = results[f"ours_bits{AnswerScorer(alpha=1.0)._hash_bits()}"]
    verdict = "PASS" if ours["seconds"] <= TARGET_SECONDS else "FAIL"
    print(f"\n  default scorer: {ours['seconds']:.2f} s wall ({ours['cpu_seconds']:.2f} s CPU) for {args.answers:,} answers; target ≤ {TARGET_SECONDS:.0f} s  {verdict}")
    small_ours, small_shap = results[f"ours_bits{args.shap_bits}"], results[f"shap_bits{args.shap_bits}"]
    print(f"  at {args.shap_bits} bits: shap.LinearExplainer ÷ explain_answers = {small_shap['seconds'] / small_ours['seconds']:.2f}× time, "
          f"{small_shap['peak_rss_mb'] / small_ours['peak_rss_mb']:.2f}× peak memory; max |difference| of values {results['max_abs_difference']:.1e}")
    dense_default = args.answers * ours["features"] * 8 / 2**30
    print(f"  a dense answers × features array at the default size would need {dense_default:,.0f} GB")
    print("\npeak memory of explain_answers (default scorer, batch_size 2,000)")
    for n, r in memory.items():
        print(f"  {n:>8,} answers  {r['seconds']:>6.1f} s  {r['nnz']:>12,} non-zeros  peak RSS {r['peak_rss_mb']:>6.0f} MB")
    sizes = list(memory)
    if len(sizes) >= 2:
        a, b = memory[sizes[0]], memory[sizes[-1]]
        print(f"  ratio {sizes[-1]:,} ÷ {sizes[0]:,}: non-zeros {b['nnz'] / a['nnz']:.2f}×, peak RSS {b['peak_rss_mb'] / a['peak_rss_mb']:.2f}×")
    (work / "results.json").write_text(json.dumps({"results": results, "memory": {str(k): v for k, v in memory.items()}}, indent=2))
    print(f"\nraw results: {work / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
