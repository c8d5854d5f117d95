"""Vendor benchmark figures: name resolution, paraphrase duplicates, question-set and scorer leaderboards.

    .venv/bin/python benchmark/vendor_benchmark.py --out /tmp/vendor-bench [--run reports/<run_id>] [--candidates 1500]

With ``--run`` (a finished run directory with stages 00–03) it also (a) checks that ``bench scorer`` on the run's
out-of-fold scores reproduces notebook 03's acceptance table for the same answers and (b) enters the run's scorer
(``scorer.skops``) on the freshly published set as "workbench" — that set is a new cohort (another seed, other
question texts), so for the workbench these are unseen-question figures.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "vendor"


def names() -> None:
    from workbench.competency import load_dictionary
    from workbench.questions.names import AMBIGUITY_MARGIN, CLOSE_THRESHOLD, NameResolver

    d = load_dictionary()
    df = pd.read_csv(DATA / "name_variants.csv", dtype=str, keep_default_na=False)
    print(f"\n1. name resolution (threshold {CLOSE_THRESHOLD}, margin {AMBIGUITY_MARGIN}) on tests/data/vendor/name_variants.csv")
    for split, g in df.groupby("split", sort=False):
        r = NameResolver(d)
        right = wrong = missed = guessed = undecided = 0
        for kind, given, ctx, expected in g[["kind", "given", "role_context", "expected"]].itertuples(index=False):
            res = r.role(given) if kind == "role" else r.competency(given, ctx or None)
            if expected in ("AMBIGUOUS", "UNKNOWN"):
                guessed += res.resolved is not None
                undecided += 1
            elif res.resolved == expected:
                right += 1
            elif res.resolved is None:
                missed += 1
            else:
                wrong += 1
        n = right + wrong + missed
        print(f"   {split:8s} resolvable {n:3d}: right {right} ({right / n:.2f}), missed {missed}, wrong {wrong};"
              f"  ambiguous/unknown {undecided}: guessed {guessed}")


def paraphrase() -> None:
    from workbench.questions.paraphrase import DEFAULT_RESIDUAL_WEIGHT, DEFAULT_THRESHOLD, ParaphraseDetector

    d = pd.concat([pd.read_csv(DATA / name) for name in PARAPHRASE_DEV_SETS])
    print(f"\n2. paraphrase duplicates (threshold {DEFAULT_THRESHOLD}, residual weight {DEFAULT_RESIDUAL_WEIGHT}) on tests/data/vendor/paraphrase_pairs.csv (tune, heldout), paraphrase_pairs_heldout2.csv and paraphrase_pairs_heldout3.csv")
    for split, g in d.groupby("split", sort=False):
        texts = sorted(set(g["text_a"]) | set(g["text_b"]))
        idx = {t: i for i, t in enumerate(texts)}
        start = time.perf_counter()
        sims = ParaphraseDetector().fit(texts).similarity()
        elapsed = time.perf_counter() - start
        s = np.array([sims[idx[a], idx[b]] for a, b in zip(g["text_a"], g["text_b"])])
        y = g["label"].to_numpy()
        flagged = s >= DEFAULT_THRESHOLD
        upper = list(zip(*np.where(np.triu(sims, k=1) >= DEFAULT_THRESHOLD)))
        labelled = {(min(idx[a], idx[b]), max(idx[a], idx[b])): lab for a, b, lab in zip(g["text_a"], g["text_b"], y)}
        false_in_file = sum(labelled.get((int(i), int(j))) == 0 for i, j in upper)
        unlabelled = sum((int(i), int(j)) not in labelled for i, j in upper)
        by_kind = g.assign(flagged=flagged).groupby(["label", "kind"])["flagged"].mean().round(2).to_dict()
        print(f"   {split:8s} recall {flagged[y == 1].mean():.3f} ({flagged[y == 1].sum()}/{(y == 1).sum()}), "
              f"false pairs {flagged[y == 0].mean():.3f} ({flagged[y == 0].sum()}/{(y == 0).sum()}); "
              f"as one file of {len(texts)} questions: {len(upper)} pairs reported, {false_in_file} labelled distinct, "
              f"{unlabelled} unlabelled; {elapsed:.1f} s")
        print(f"            flagged share by (label, kind): {by_kind}")


PARAPHRASE_DEV_SETS = ("paraphrase_pairs.csv", "paraphrase_pairs_heldout2.csv", "paraphrase_pairs_heldout3.csv")


def paraphrase_speed(n: int = 2000) -> None:
    """Seconds to check ``n`` distinct questions for near-duplicates (``near_duplicates`` over one file, within roles
    and across them): the generated bank for seeds 0–39 (12 roles) topped up with the planted texts of the development
    pair sets (role "planted"); the held-out set 4 is never read. The first call warms up jieba and the background
    bank; the best of ``repeats`` timed calls is printed."""
    from workbench.competency import load_dictionary
    from workbench.questions.generate import generate_question_bank
    from workbench.questions.paraphrase import near_duplicates

    d = load_dictionary()
    bank = pd.concat([generate_question_bank(d, per_competency=3, seed=s) for s in range(40)]).drop_duplicates("text")
    planted = sorted(set().union(*(set(f["text_a"]) | set(f["text_b"]) for f in (pd.read_csv(DATA / name) for name in PARAPHRASE_DEV_SETS))))
    planted = [t for t in planted if t not in set(bank["text"])]
    frame = pd.concat([bank[["question_id", "role_id", "text"]],
                       pd.DataFrame({"question_id": [f"P{i:04d}" for i in range(len(planted))], "role_id": "planted", "text": planted})])
    frame = frame.head(n).reset_index(drop=True)
    near_duplicates(frame.head(50))  # warm-up: jieba, the tokenizer, the background bank
    start = time.perf_counter()
    pairs = near_duplicates(frame)
    elapsed = time.perf_counter() - start
    print(f"   speed: {len(frame)} distinct questions ({frame['role_id'].nunique()} roles) checked in {elapsed:.1f} s, "
          f"{len(pairs)} pairs reported")


def question_sets(out: Path) -> list[Path]:
    from workbench.bench import benchmark_question_set

    print("\n3. question sets")
    dirs = []
    for name, path in (("vendor_a", ROOT / "benchmark" / "vendor_sets" / "vendor_a.csv"), ("vendor_b", ROOT / "benchmark" / "vendor_sets" / "vendor_b.csv"),
                       ("vendor_c (GBK)", DATA / "vendor_c_names_gbk.csv"), ("vendor_c (XLSX)", DATA / "vendor_c_names.xlsx")):
        target = out / "sets" / path.name.replace(".", "_")
        start = time.perf_counter()
        ev = benchmark_question_set(path, target, name=name)
        s = ev.summary()
        print(f"   {name:16s} {s['score']:5.1f}  {s['verdict']:10s} questions {s['questions']:3d}  legal {s['legal_violations']}  "
              f"references {s['reference_problems']}  same-role duplicates {s['near_duplicate_pairs']}  ({time.perf_counter() - start:.1f} s)")
        dirs.append(target)
    return dirs


def scorers(out: Path, run: Path | None, candidates: int) -> list[Path]:
    from workbench.bench import evaluate_scorer, publish_answer_set

    print(f"\n4. scorers on a published set of {candidates} synthetic candidates (seed 11)")
    start = time.perf_counter()
    summary = publish_answer_set(out / "published", out / "key", seed=11, n_candidates=candidates)
    print(f"   published {summary.answers} answers ({summary.probes} probes) in {time.perf_counter() - start:.0f} s")
    key = pd.read_parquet(out / "key" / "answers_key.parquet")
    genuine, probes = key[key["probe_kind"].isna()], key[key["probe_kind"].notna()]
    rng = np.random.default_rng(0)
    entries = {
        "human ratings + noise (SD 0.35)": pd.concat([
            pd.DataFrame({"answer_id": genuine["answer_id"], "score": np.clip(genuine["human"] + rng.normal(0, 0.35, len(genuine)), 1, 5)}),
            pd.DataFrame({"answer_id": probes["answer_id"], "score": 1.0})]),
        "random numbers": pd.DataFrame({"answer_id": key["answer_id"], "score": rng.uniform(1, 5, len(key))}),
        "human + noise, 0.6 lower for women": pd.concat([
            pd.DataFrame({"answer_id": genuine["answer_id"], "score": np.clip(genuine["human"] + rng.normal(0, 0.35, len(genuine)) - 0.6 * (genuine["gender"] == "女"), 1, 5)}),
            pd.DataFrame({"answer_id": probes["answer_id"], "score": 1.0})]),
    }
    files = {}
    for name, frame in entries.items():
        path = out / "scores" / f"{len(files)}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        files[name] = path
    if run is not None:
        from workbench.scoring._batch import score_file

        path = out / "scores" / "workbench.csv"
        s = score_file(run / "artifacts" / "03_scoring" / "scorer.skops", out / "published" / "answers.csv", path, progress=False)
        print(f"   workbench scorer from {run.name}: {s.scored} scored in {s.seconds:.0f} s")
        files[f"workbench scorer ({run.name})"] = path
    dirs = []
    for i, (name, path) in enumerate(files.items()):
        ev = evaluate_scorer(path, out / "key", name=name)
        target = out / "scorers" / f"s{i}"
        ev.save(target)
        s = ev.summary()
        print(f"   {name:40s} {s['score']:5.1f} {s['verdict']:10s} QWK {s['qwk']:.3f} r {s['r']:.3f} gates {s['competencies_passing']}/{s['competencies_total']}"
              f"  flags {s['flagged_groups'] or '—'}  probes beaten {s['probes_beaten']}/{s['probes_judged']}")
        if name.startswith("workbench"):
            print("      probes beaten by kind:", ev.probe_table().set_index("kind")["beaten"].to_dict())
        dirs.append(target)
    return dirs


def reproduction(out: Path, run: Path) -> None:
    from workbench.bench import evaluate_scorer, publish_answer_set

    print(f"\n5. bench scorer vs notebook 03 on the same answers ({run.name})")
    publish_answer_set(out / "repro_pub", out / "repro_key", seed=5, cohort_dir=run / "artifacts" / "00_intake")
    key = pd.read_parquet(out / "repro_key" / "answers_key.parquet")
    oof = pd.read_parquet(run / "artifacts" / "03_scoring" / "answer_scores.parquet")
    ids = dict(zip(key["source_answer_id"], key["answer_id"]))
    path = out / "repro_scores.csv"
    pd.DataFrame({"answer_id": oof["answer_id"].map(ids), "score": oof["machine"], "rating": oof["machine_rating"]}).to_csv(path, index=False)
    ev = evaluate_scorer(path, out / "repro_key", name="notebook 03 out-of-fold")
    nb = pd.read_csv(run / "artifacts" / "03_scoring" / "acceptance_unseen_answers.csv")
    m = nb.merge(ev.acceptance, on="competency", suffixes=("_nb", "_bench"))
    cols = ["n", "qwk", "r", "exact", "adjacent", "smd", "sd_ratio", "qwk_hh", "degradation", "subgroup_smd_max"]
    diff = max(float((m[c + "_nb"] - m[c + "_bench"]).abs().max()) for c in cols)
    same_pass = bool((m["pass_all_nb"] == m["pass_all_bench"]).all())
    print(f"   {len(nb)} rows in notebook 03's table, {len(m)} matched; max |difference| over {cols}: {diff:.2e}; pass/fail identical: {same_pass}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--candidates", type=int, default=1500)
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    print(f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}, {platform.platform()}")
    names()
    paraphrase()
    paraphrase_speed()
    dirs = question_sets(args.out)
    dirs += scorers(args.out, args.run, args.candidates)
    if args.run is not None:
        reproduction(args.out, args.run)
    from workbench.bench import build_leaderboard

    tables = build_leaderboard(dirs, args.out / "leaderboard.html")
    print("\n6. leaderboard (HTML:", args.out / "leaderboard.html", ")")
    for key, frame in tables.items():
        print(frame.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
