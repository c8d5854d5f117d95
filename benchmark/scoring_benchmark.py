"""Batch-scoring throughput and memory, measured against the tokenizer and a naive pipeline on the same answers.

Everything is measured in one run on one machine, and the verdicts are ratios, never wall-clock constants:

1. raw tokenizer throughput: ``jieba.lcut`` and ``rjieba.cut`` over the N answers (chars/s, answers/s);
2. ``score_file`` (local engine, jobs=1 and jobs=2) on the same N answers with a trained ``AnswerScorer``;
3. the pipeline a user would write first, ``make_pipeline(TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None),
   Ridge())``, fitted on the same training answers, predicting the same N answers;
4. ratios batch ÷ raw rjieba (target ≥ 0.5×) and batch ÷ naive (target ≥ 8×), PASS/FAIL each;
5. peak RSS of ``score_file`` (jobs=1, default chunk size) on 100k and 1M answers from Parquet, each in a fresh
   subprocess (the kernel's ``VmHWM``; ``getrusage``'s ``ru_maxrss`` is only the fallback because on Linux it also
   counts the parent's resident memory at fork), and their ratio (targets ≤ 1.5 GB and ≤ 1.3× the 100k figure);
6. the machine: CPU model, cores, load average, Python and library versions.

Batch throughput is reported end to end and "steady" (after the first output chunk, i.e. without process start-up and
model loading, which the tokenizer and naive timings do not include either); the ratios use the steady figure of the
faster job count and also print the per-core (jobs=1) ratio. Other processes on a shared machine make every
figure noisy: the tokenizer and naive timings are best of ``--repeat`` runs, and the load average is printed.

    .venv/bin/python benchmark/scoring_benchmark.py --answers 20000 --skip-memory
    .venv/bin/python benchmark/scoring_benchmark.py --memory-sizes 100000 1000000
    .venv/bin/python benchmark/scoring_benchmark.py --answers 5000 --skip-memory --profile   # cProfile of the scorer
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ANSWERS_PER_CANDIDATE = 9.2  # measured average answers per candidate in the synthetic cohort
TARGET_VS_RJIEBA = 0.5
TARGET_VS_NAIVE = 8.0
TARGET_PEAK_GB = 1.5
TARGET_MEMORY_RATIO = 1.3

MEMORY_CHILD = r"""
import json, resource, sys, time
from workbench.scoring._batch import score_file
model, answers, questions, out, mode = sys.argv[1:6]
start = time.perf_counter()
if mode == "baseline":   # imports + verified model load + one tiny chunk: the floor under any run
    from workbench.scoring._batch import _cached_scorer, _model_identity
    from pathlib import Path
    sha, _ = _model_identity(Path(model))
    _cached_scorer(Path(model), sha).score(["我先核实了客户身份。"], [""])
    rows = 0
else:
    summary = score_file(model, answers, out, questions_path=questions, jobs=1, progress=False)
    rows = summary.rows_in
    assert summary.reconciled
# VmHWM is this process image's peak RSS; ru_maxrss would also count the parent's RSS at fork (kept across exec)
try:
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start, "peak_rss_mb": peak}))
"""


# ------------------------------------------------------------------------------------------------------------
def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil

    versions = {}
    for name in ("numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "skops", "jieba", "rjieba", "dask", "distributed", "workbench"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "—"
    return {
        "cpu": cpu, "logical_cores": os.cpu_count(), "physical_cores": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1), "python": platform.python_version(),
        "platform": platform.platform(), "versions": versions,
    }


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def best_of(fn, repeat: int) -> tuple[float, float]:
    """Fastest wall-clock and fastest CPU time (this process) of ``repeat`` runs."""
    wall = cpu = math.inf
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def keep_best(res: dict, key: str, timing: tuple[float, float]) -> None:
    old = res.get(key, (math.inf, math.inf))
    res[key] = (min(old[0], timing[0]), min(old[1], timing[1]))


def generate(n_answers: int, out: Path, seed: int) -> Path:
    from workbench.synth import generate_cohort, scenario_config

    n_candidates = max(1, math.ceil(n_answers / ANSWERS_PER_CANDIDATE * 1.03))
    generate_cohort(scenario_config("fair", seed=seed, n_candidates=n_candidates, employees_per_role=0), out, fmt="parquet")
    return out


# ------------------------------------------------------------------------------------------------------------
def throughput(args, work: Path) -> dict:
    import jieba
    import numpy as np
    import pandas as pd
    import rjieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    from workbench.scoring._batch import score_file
    from workbench.scoring._persist import save_scorer
    from workbench.scoring._scorer import AnswerScorer

    print(f"generating a cohort with ≥ {args.train + args.answers:,} answers …", flush=True)
    cohort = generate(args.train + args.answers, work / "cohort", seed=args.seed)
    answers = pd.read_parquet(cohort / "answers.parquet")
    questions = pd.read_parquet(cohort / "questions.parquet")
    ratings = pd.read_parquet(cohort / "ratings.parquet")
    answers = answers.merge(questions[["question_id", "competency_id"]], on="question_id", how="left")
    answers["y"] = answers["answer_id"].map(ratings.groupby("answer_id")["rating"].mean())
    train, test = answers.iloc[: args.train], answers.iloc[args.train: args.train + args.answers].reset_index(drop=True)
    n = len(test)
    texts = test["answer_text"].fillna("").tolist()
    chars = sum(map(len, texts))
    test_file = work / "score_me.parquet"
    test[["answer_id", "candidate_id", "question_id", "status", "answer_text"]].to_parquet(test_file, index=False)
    print(f"train {len(train):,} answers, score {n:,} answers ({chars / n:.0f} chars on average)", flush=True)

    print("fitting AnswerScorer and the naive pipeline …", flush=True)
    scorer = AnswerScorer().fit(pd.DataFrame({"answer": train["answer_text"], "competency": train["competency_id"]}), train["y"])
    model_path, _ = save_scorer(scorer, work / "model" / "scorer.skops")
    jieba.setLogLevel(60)
    jieba.initialize()
    naive = make_pipeline(TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None), Ridge()).fit(train["answer_text"].fillna(""), train["y"])

    res: dict = {"answers": n, "chars": chars, "train": len(train), "model_mb": model_path.stat().st_size / 2**20}

    def tokenizers():
        rjieba.cut("预热")
        keep_best(res, "jieba_s", best_of(lambda: [jieba.lcut(t) for t in texts], args.repeat))
        keep_best(res, "rjieba_s", best_of(lambda: [rjieba.cut(t) for t in texts], args.repeat))

    print("1. raw tokenizers …", flush=True)
    tokenizers()
    print("3. naive pipeline predict …", flush=True)
    naive.predict(texts[:100])
    keep_best(res, "naive_s", best_of(lambda: naive.predict(texts), args.repeat))

    print("2. score_file …", flush=True)
    for jobs in args.jobs:
        if jobs == 1:  # load once so the timed call measures scoring (the verified model stays cached in-process)
            score_file(model_path, test_file, work / "warm.parquet", questions_path=cohort / "questions.parquet", chunk_size=args.chunk_size,
                       progress=False)
        cpu = time.process_time()
        summary = score_file(model_path, test_file, work / f"scores_{jobs}.parquet", questions_path=cohort / "questions.parquet",
                             jobs=jobs, chunk_size=args.chunk_size, progress=False)
        cpu = time.process_time() - cpu
        assert summary.reconciled and summary.rows_in == n
        res[f"batch_{jobs}"] = summary.as_dict()
        if jobs == 1:  # everything ran in this process: CPU time is comparable with the tokenizers' and the naive one's
            res["batch_1_cpu_s"] = cpu
        print(f"   jobs={jobs}: {summary.seconds:.1f} s end to end (start-up {summary.startup_seconds:.1f} s), "
              f"{summary.steady_rows_per_s:,.0f} answers/s steady", flush=True)
    a = pd.read_parquet(work / f"scores_{args.jobs[0]}.parquet")
    for jobs in args.jobs[1:]:
        b = pd.read_parquet(work / f"scores_{jobs}.parquet")
        res[f"identical_{args.jobs[0]}_{jobs}"] = bool(np.array_equal(a["score"].to_numpy(), b["score"].to_numpy()))

    print("   (tokenizers again, best of both passes)", flush=True)
    tokenizers()
    res["load_after"] = load()

    if args.profile:
        import cProfile
        import pstats

        from workbench.scoring._batch import _ChunkScorer

        chunk = _ChunkScorer(scorer)
        chunk.score(texts[:300], test["competency_id"].tolist()[:300])
        profile = cProfile.Profile()
        profile.enable()
        chunk.score(texts, test["competency_id"].tolist())
        profile.disable()
        print("\ncProfile of _ChunkScorer.score on the same answers (cumulative, top 35):")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
    return res


def memory(args, work: Path) -> list[dict]:
    import pandas as pd

    from workbench.scoring._persist import save_scorer
    from workbench.scoring._scorer import AnswerScorer

    rows = []
    model_path = work / "memmodel" / "scorer.skops"
    for size in args.memory_sizes:
        cohort = work / f"mem_{size}"
        print(f"5. generating {size:,} answers for the memory run …", flush=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; sys.path[:0] = [sys.argv[3]]; import scoring_benchmark as b; "
                        "from pathlib import Path; b.generate(int(sys.argv[1]), Path(sys.argv[2]), 7)", str(size), str(cohort),
                        str(Path(__file__).parent)], check=True)
        print(f"   generated in {time.perf_counter() - start:.0f} s", flush=True)
        if not model_path.exists():  # trained once, on the first cohort
            answers = pd.read_parquet(cohort / "answers.parquet").iloc[: args.train]
            q = pd.read_parquet(cohort / "questions.parquet")
            r = pd.read_parquet(cohort / "ratings.parquet")
            answers = answers.merge(q[["question_id", "competency_id"]], on="question_id", how="left")
            y = answers["answer_id"].map(r.groupby("answer_id")["rating"].mean())
            scorer = AnswerScorer().fit(pd.DataFrame({"answer": answers["answer_text"], "competency": answers["competency_id"]}), y)
            save_scorer(scorer, model_path)
            base = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(model_path), "-", "-", "-", "baseline"], capture_output=True,
                                  text=True, check=True)
            rows.append({"size": 0, **json.loads(base.stdout.strip().splitlines()[-1])})
            print(f"   baseline (imports + model {model_path.stat().st_size / 2**20:.0f} MB loaded): peak RSS {rows[-1]['peak_rss_mb']:.0f} MB",
                  flush=True)
        out = work / f"mem_{size}_scores.parquet"
        run = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(model_path), str(cohort / "answers.parquet"),
                              str(cohort / "questions.parquet"), str(out), "score"], capture_output=True, text=True)
        if run.returncode:
            print(run.stderr[-3000:], file=sys.stderr)
            run.check_returncode()
        result = {"size": size, **json.loads(run.stdout.strip().splitlines()[-1])}
        rows.append(result)
        print(f"   {result['rows']:>10,d} answers  {result['seconds']:7.1f} s  {result['rows'] / result['seconds']:8,.0f} answers/s  "
              f"peak RSS {result['peak_rss_mb']:7.0f} MB", flush=True)
        out.unlink(missing_ok=True)
        shutil.rmtree(cohort, ignore_errors=True)
    return rows


# ------------------------------------------------------------------------------------------------------------
def batch_rate(b: dict) -> float:
    """Steady answers/s, or end to end when the input fitted in one chunk (no steady phase)."""
    return b["steady_rows_per_s"] if math.isfinite(b["steady_rows_per_s"]) else b["rows_per_s"]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args, res: dict | None, mem: list[dict] | None, info: dict, load_before: str) -> None:
    print("\n" + "=" * 100)
    print("machine")
    print(f"  CPU {info['cpu']}; {info['logical_cores']} logical / {info['physical_cores']} physical cores; {info['ram_gb']} GB RAM")
    print(f"  Python {info['python']} on {info['platform']}")
    print("  " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"  load average before {load_before}; after {res.get('load_after', load()) if res else load()}  (other processes share these cores)")
    if res:
        n, chars = res["answers"], res["chars"]
        print(f"\nthroughput on the same {n:,} answers ({chars:,} chars; scorer trained on {res['train']:,} answers, model file "
              f"{res['model_mb']:.0f} MB; chunk_size {args.chunk_size:,}; best of {args.repeat} for 1 and 3)")
        def cpu_rate(seconds):
            return f"{n / seconds:12,.0f}" if seconds else f"{'':12s}"

        lines = [
            ("1. jieba.lcut (raw)", n / res["jieba_s"][0], chars / res["jieba_s"][0], cpu_rate(res["jieba_s"][1]), ""),
            ("1. rjieba.cut (raw)", n / res["rjieba_s"][0], chars / res["rjieba_s"][0], cpu_rate(res["rjieba_s"][1]), ""),
        ]
        for jobs in args.jobs:
            b = res[f"batch_{jobs}"]
            lines.append((f"2. score_file local jobs={jobs} (steady)", batch_rate(b), batch_rate(b) * chars / n,
                          cpu_rate(res.get("batch_1_cpu_s") if jobs == 1 else None),
                          f"end to end {b['rows_per_s']:,.0f}/s incl. {b['startup_seconds']:.1f} s start-up"))
        lines.append(("3. naive TF-IDF(jieba)+Ridge predict", n / res["naive_s"][0], chars / res["naive_s"][0], cpu_rate(res["naive_s"][1]), ""))
        print(f"  {'':44s} {'answers/s':>12s} {'chars/s':>14s} {'answers/CPU-s':>14s}")
        for name, aps, cps, per_cpu, note in lines:
            print(f"  {name:44s} {aps:12,.0f} {cps:14,.0f} {per_cpu:>14s}  {note}")
        for key, same in res.items():
            if key.startswith("identical_"):
                print(f"  scores identical across job counts {key.removeprefix('identical_').replace('_', ' vs ')}: {same}")
        rj, naive = n / res["rjieba_s"][0], n / res["naive_s"][0]
        best_jobs = max(args.jobs, key=lambda j: batch_rate(res[f"batch_{j}"]))
        best = batch_rate(res[f"batch_{best_jobs}"])
        print("\n4. ratios (steady batch throughput)")
        if 1 in args.jobs:
            one = batch_rate(res["batch_1"])
            print(f"  per core, jobs=1 (wall): batch ÷ raw rjieba = {one / rj:.2f}×, batch ÷ naive = {one / naive:.2f}×")
            cpu_one = n / res["batch_1_cpu_s"]  # end to end incl. reading, checking and writing, per CPU-second
            print(f"  per core, jobs=1 (CPU time, robust to other load): batch ÷ raw rjieba = {cpu_one / (n / res['rjieba_s'][1]):.2f}×, "
                  f"batch ÷ naive = {cpu_one / (n / res['naive_s'][1]):.2f}×")
        print(f"  best (jobs={best_jobs}): batch ÷ raw rjieba = {best / rj:.2f}×  target ≥ {TARGET_VS_RJIEBA}×  {verdict(best / rj >= TARGET_VS_RJIEBA)}")
        print(f"  best (jobs={best_jobs}): batch ÷ naive      = {best / naive:.2f}×  target ≥ {TARGET_VS_NAIVE}×  {verdict(best / naive >= TARGET_VS_NAIVE)}")
    if mem:
        print("\n5. peak memory of score_file (jobs=1, Parquet in and out, fresh subprocess per size)")
        base = next((m for m in mem if m["size"] == 0), None)
        if base:
            print(f"  {'baseline (imports + model)':>28s}  peak RSS {base['peak_rss_mb']:7.0f} MB")
        runs = [m for m in mem if m["size"]]
        for m in runs:
            ok = m["peak_rss_mb"] <= TARGET_PEAK_GB * 1024
            print(f"  {m['rows']:>18,d} answers  {m['seconds']:7.0f} s  {m['rows'] / m['seconds']:7,.0f}/s  peak RSS {m['peak_rss_mb']:7.0f} MB  "
                  f"target ≤ {TARGET_PEAK_GB} GB {verdict(ok)}")
        if len(runs) > 1:
            ratio = runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]
            print(f"  ratio {runs[-1]['rows']:,} ÷ {runs[0]['rows']:,}: {ratio:.2f}×  target ≤ {TARGET_MEMORY_RATIO}×  {verdict(ratio <= TARGET_MEMORY_RATIO)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=100_000, help="answers for the throughput part (default 100,000: enough for a steady phase with 2 workers)")
    parser.add_argument("--train", type=int, default=5_000, help="training answers for the scorer and the naive pipeline (default 5,000)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="job counts for score_file (default 1 2)")
    parser.add_argument("--chunk-size", type=int, default=10_000, help="score_file chunk size in the throughput part (default 10,000)")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs for tokenizers and the naive pipeline")
    parser.add_argument("--memory-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--skip-memory", action="store_true", help="skip part 5 (the 1M cohort takes a few minutes to generate)")
    parser.add_argument("--skip-throughput", action="store_true", help="only run part 5")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the scorer on the throughput answers")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    info, load_before = machine(), load()
    res = mem = None
    with tempfile.TemporaryDirectory(prefix="scoring-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_throughput:
            res = throughput(args, work)
        if not args.skip_memory:
            mem = memory(args, work)
    report(args, res, mem, info, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
