"""Stage 03 — answer scoring: train the scorer, prove it on held-out answers, questions and phrasing, save it.

The answers are featurized once; every evaluation refits only what is learnt (IDF, scaling, penalty, regressor,
advisory thresholds) on its training rows:

* **unseen answers** — cross-validation grouped by candidate; the penalty of each fold is chosen on the other
  folds (see ``workbench.scoring.cross_validate``);
* **unseen questions** — grouped by question: what to expect when a new question bank goes live;
* **unseen phrasing** — when the synthetic cohort mixes two disjoint phrase banks: trained on phrasing A only,
  evaluated on phrasing B (answers in words the training data never used);
* the ETS acceptance table for each, the advisory flags on genuine answers, gaming probes, a learning curve.

The final model is refitted on every answer with the penalty the unseen-answer CV chose and saved with skops and
a model card. Later stages read ``answer_scores.parquet`` (out-of-fold scores, advisories, route) and
``candidate_scores.parquet``; they never rerun this stage's cross-validation.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._beside import Beside
from .._hashing import sha256_json
from .._tabular import write_csv_safe
from ..i18n import label, t
from ..pipeline import StageContext
from ..reports import Report, setup_matplotlib
from ..scoring import ADVISORIES, GATES, OVERALL, AnswerScorer, acceptance_table, cross_validate, render_acceptance, save_scorer
from ..scoring._crossval import equipercentile_cuts, ratings_from_cuts
from ..scoring._data import DEMOGRAPHICS, answer_dataset, dimension_scores
from ._base import StageDef, StageParams, param

__all__ = ["Params", "Result", "run", "report", "STAGE"]

_SCORER_KEYS = {"model", "alpha", "tokenizer", "feature_groups", "relevance_filter", "char_ngram_max", "word_ngram_max", "text_norm", "cv",
                "unseen_ngrams"}
_SCORE_COLUMNS = ["answer_id", "candidate_id", "question_id", "competency", "role_id", "human1", "human2", "human", "machine",
                  "machine_rating", "advisories", "route", "fold"]


@dataclass(frozen=True)
class Params(StageParams):
    model: str = param("ridge", "model family: ridge (linear, exact explanations) | hgb (gradient boosting)")
    penalty: str = param("auto", "ridge penalty: auto (chosen by grouped cross-validation) or a number, e.g. \"3\"")
    tokenizer: str = param("rjieba", "word segmentation backend: rjieba | jieba")
    feature_groups: list = param(["words", "chars", "evidence", "bei"], "feature groups to use")
    relevance_filter: bool = param(False, "drop sentences without job-related dictionary words before scoring")
    tuning_grid: list = param([], "further configurations compared by grouped CV, e.g. [{\"relevance_filter\": True}]")
    cv_folds: int = param(3, "folds for the unseen-answer and unseen-question evaluations")
    learning_curve_sizes: list = param([10, 25], "rated answers per question in the learning curve")
    gaming_probes: bool = param(True, "score gaming probes (copied question, keyword lists, padding …) with the final model")
    workers: int = param(2, "processes: 2 runs the unseen-question and unseen-phrasing regimes in a forked child beside the rest (same results), 1 runs them in turn")
    demographics: list = param([], "columns for subgroup SMD (empty: all audit attributes present)")
    seed: int = param(7, "random seed")


@dataclass
class Result:
    config: dict
    n_answers: int
    left_out: int
    excluded_questions: pd.DataFrame
    tuning: pd.DataFrame
    penalty: pd.DataFrame
    regimes: dict  # name → {"competency": table, "dimension": table, "n": int}
    advisories: pd.DataFrame  # per competency: answers, routed, rate and counts per code
    advisory_rate: float
    gaming: pd.DataFrame
    learning_curve: pd.DataFrame
    candidate_scores: pd.DataFrame
    card: dict
    model_path: Path
    labels: dict
    timings: dict = field(default_factory=dict)
    advisories_by_question: pd.DataFrame = field(default_factory=pd.DataFrame)  # the same per question (and its competency)


def _scorer_params(params: Params, override: dict | None = None) -> dict:
    alpha = params.penalty if params.penalty == "auto" else float(params.penalty)
    base = {"model": params.model, "alpha": alpha, "tokenizer": params.tokenizer, "feature_groups": tuple(params.feature_groups),
            "relevance_filter": params.relevance_filter, "random_state": params.seed}
    for key, value in (override or {}).items():
        if key not in _SCORER_KEYS:
            raise ValueError(f"tuning_grid entry {override}: {key!r} is not a scorer setting; use one of {sorted(_SCORER_KEYS)}")
        base[key] = tuple(value) if isinstance(value, list) else value
    return base


def _label(cfg: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(cfg.items())) or "base"


def _phrasing(ctx: StageContext, data: pd.DataFrame) -> pd.Series | None:
    """Each answer's phrase bank (A/B) when the run used a synthetic cohort that mixes both, else None."""
    path = ctx.run_dir / "inputs" / "cohort" / "truth" / "answers.parquet"
    if not path.is_file():
        return None
    truth = pd.read_parquet(path)
    if "phrasing" not in truth.columns:
        return None
    ctx.record_input(path, role="ground_truth")
    values = data["answer_id"].map(truth.set_index("answer_id")["phrasing"])
    return values if values.notna().all() and values.nunique() > 1 else None


def _acceptance(scored: pd.DataFrame, dictionary, demographics) -> dict:
    scored = scored.assign(dimension=scored["competency"].map(lambda c: dictionary.competencies[c].dimension))
    return {"competency": acceptance_table(scored, by="competency", demographics=demographics),
            "dimension": acceptance_table(scored, by="dimension", demographics=demographics), "n": len(scored)}


def run(ctx: StageContext, params: Params) -> Result:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    dictionary = ctx.dictionary
    questions = ctx.questions
    usable = questions[questions["usable"]]
    data, left_out = answer_dataset(ctx.tables, usable)
    excluded = questions.loc[~questions["usable"], ["question_id", "competency_id", "lint_errors"]]
    if len(data) < 50 or data["candidate_id"].nunique() < 2 * params.cv_folds:
        raise ValueError(t("s03.too_few_answers", ctx.lang, n=len(data)))
    demographics = tuple(params.demographics or [c for c in DEMOGRAPHICS if c in data.columns])
    y = data["human"].to_numpy()
    singles = data[["human1", "human2"]].to_numpy(float)
    columns = ["answer", "competency", "question_id", "question_text"]
    lap("data")

    # 1. configurations compared by grouped CV over candidates (features computed once per featurizer setting)
    features_by_key: dict = {}
    tuning_rows, cvs = [], {}
    for override in [{}, *params.tuning_grid]:
        scorer = AnswerScorer(**_scorer_params(params, override))
        probe = scorer.make_featurizer()
        key = probe._key(probe._tables_for(dictionary))
        if key not in features_by_key:
            features_by_key[key] = scorer.featurize(data[columns], dictionary=dictionary)
        cv = cross_validate(scorer, features_by_key[key], y, groups=data["candidate_id"], group_name="candidate", folds=params.cv_folds,
                            seed=params.seed, single_ratings=singles)
        scored = data.join(cv.scores[["machine", "machine_rating"]])
        overall = acceptance_table(scored.assign(all="all"), by="all", overall=False).iloc[0]
        tuning_rows.append({"config": _label(override), "qwk": overall["qwk"], "r": overall["r"], "smd": overall["smd"],
                            "mse": float(np.mean((scored["machine"] - y) ** 2)), "alpha": cv.best_alpha})
        cvs[_label(override)] = (override, scorer, key, cv)
    tuning = pd.DataFrame(tuning_rows)
    best_label = tuning.sort_values("qwk", ascending=False, kind="stable").iloc[0]["config"]
    override, scorer, key, cv_answers = cvs[best_label]
    features = features_by_key[key]
    chosen = _scorer_params(params, override)
    lap("unseen_answers")

    # 2. the three held-out regimes; the unseen-question and unseen-phrasing ones need nothing of what follows, so
    # they run in a forked child beside the learning curve and the final model (the second core is idle otherwise)
    scored_a = data.join(cv_answers.scores[["machine", "machine_rating", "advisories", "route", "fold"]])
    regimes = {"unseen_answers": _acceptance(scored_a, dictionary, demographics)}
    phrasing = _phrasing(ctx, data)

    def other_regimes() -> tuple[dict, dict]:
        return _other_regimes(scorer, chosen, features, data, y, singles, cv_answers, phrasing, params, dictionary, demographics)

    beside = Beside(other_regimes, enabled=params.workers > 1)

    # 3. learning curve: k rated answers per question in training, evaluated on held-out candidates
    rng = np.random.default_rng(params.seed)
    candidates = data["candidate_id"].unique()
    test_cands = set(rng.choice(candidates, size=max(1, len(candidates) // 4), replace=False))
    is_test = data["candidate_id"].isin(test_cands).to_numpy()
    curve_rows = []
    pool = data[~is_test]
    for k in params.learning_curve_sizes:
        rows = pool.groupby("question_id", group_keys=False).apply(lambda g: g.sample(n=min(k, len(g)), random_state=params.seed)).index.to_numpy()
        if len(rows) < 50:
            continue
        model_k = AnswerScorer(**chosen).fit(features.take(rows), y[rows], groups=data["candidate_id"].to_numpy()[rows], rating_scale=(1, 5),
                                             single_ratings=singles[rows])
        test_scores = model_k.predict(features.take(is_test))  # the curve reads scores and ratings only, not the advisories
        tested = data[is_test].reset_index(drop=True).assign(machine=test_scores, machine_rating=model_k.rating_of(test_scores))
        table = acceptance_table(tested, by="competency", demographics=demographics)
        comp_rows = table[table["competency"] != OVERALL]
        all_row = table[table["competency"] == OVERALL].iloc[0]
        curve_rows.append({"answers_per_question": k, "train_answers": len(rows), "qwk": all_row["qwk"], "r": all_row["r"],
                           "share_competencies_passing": float(comp_rows["pass_all"].mean())})
    learning_curve = pd.DataFrame(curve_rows)
    lap("learning_curve")

    # 4. the final model: every answer, the penalty the unseen-answer CV chose
    final_params = {**chosen, "alpha": cv_answers.best_alpha if chosen["alpha"] == "auto" and cv_answers.best_alpha is not None else chosen["alpha"]}
    final = AnswerScorer(**final_params).fit(features, y, groups=data["candidate_id"], rating_scale=(1, 5), single_ratings=singles)
    lap("final_model")
    penalty = cv_answers.alpha_table()
    advisory = _advisory_table(scored_a)
    advisory_by_question = _advisory_table(scored_a, by=["question_id", "competency"])
    advisory_rate = float((scored_a["route"] == "human").mean())
    gaming, gaming_probes = _gaming(final, data, scored_a, usable, dictionary, params.seed) if params.gaming_probes else (pd.DataFrame(), pd.DataFrame())
    lap("gaming")
    more, more_timings = beside.result()
    regimes.update(more)
    timings.update(more_timings)
    lap("waiting_for_regimes")

    training_hash = sha256_json(pd.util.hash_pandas_object(data[["answer_id", "answer", "competency", "human1", "human2"]], index=False).tolist())
    overall_a = regimes["unseen_answers"]["competency"].set_index("competency").loc[OVERALL]
    card = {
        "model_version": f"scorer-{training_hash[:10]}",
        "training_data_sha256": training_hash,
        "training_answers": len(data),
        "target": "consensus (mean of two human ratings, 1–5 BARS)",
        "chosen_config": best_label,
        "penalty": {"alpha": final_params.get("alpha"), "chosen_by": f"{params.cv_folds}-fold CV grouped by candidate" if chosen["alpha"] == "auto" else "fixed",
                    "path": penalty[["alpha", "mean_mse", "sd_mse"]].to_dict(orient="records")},
        "dictionary": {"version": dictionary.version, "sha256": dictionary.sha256},
        "metrics_unseen_answers": {k: float(overall_a[k]) for k in ("qwk", "r", "smd", "degradation", "exact", "adjacent")},
        "metrics_unseen_questions_by_dimension": {r["dimension"]: float(r["qwk"]) for _, r in regimes["unseen_questions"]["dimension"].iterrows()},
        "advisory_rate_genuine_answers": advisory_rate,
        "competency_model_version": ctx.competency_model["version"],
        "intended_use": "Decision support for structured AI interviews at banks: scores answers to questions of the competency "
        "dictionary on the raters' 1–5 scale. Answers with an advisory go to a human; a human reviews advance/reject decisions; "
        "not for use without the bank's own validation.",
        "known_limits": [
            "Trained on the data named by training_data_sha256; on a new question bank expect the unseen-question figures, not the unseen-answer ones.",
            "Learns whatever the raters did, including their biases: read the subgroup SMD columns and the fairness audit.",
            "Text only: speech-recognition errors, dialect and very long answers were only partly represented in training.",
            "Advisory flags (too short/long, repetition, keyword stuffing, copied question or rubric, non-Chinese, off-topic) route an answer "
            "to a human instead of scoring it; they are calibrated on the training answers and can be wrong in both directions.",
        ],
    }
    if "unseen_phrasing" in regimes:
        card["metrics_unseen_phrasing_by_dimension"] = {r["dimension"]: float(r["qwk"]) for _, r in regimes["unseen_phrasing"]["dimension"].iterrows()}
    model_path, card_file = save_scorer(final, ctx.path("scorer.skops"), card=card)
    card = json.loads(card_file.read_text(encoding="utf-8"))

    # 5. scores for later stages: out-of-fold machine scores (never in-sample), advisories, route, human consensus
    keep = [c for c in _SCORE_COLUMNS if c in scored_a.columns] + [c for c in demographics if c in scored_a.columns]
    scored_a[keep].to_parquet(ctx.path("answer_scores.parquet"), index=False)
    cmodel = ctx.competency_model
    machine = dimension_scores(scored_a, cmodel, score_col="machine", prefix="machine_")
    human = dimension_scores(scored_a, cmodel, score_col="human", prefix="human_")
    routed = scored_a.groupby("candidate_id")["route"].agg(lambda r: int((r == "human").sum())).rename("answers_routed_to_human")
    candidate_scores = machine.merge(human, on=["candidate_id", "role_id"]).merge(routed, left_on="candidate_id", right_index=True, how="left")
    candidate_scores.to_parquet(ctx.path("candidate_scores.parquet"), index=False)
    tables = {"tuning": tuning, "penalty_path": penalty, "advisories": advisory, "advisories_by_question": advisory_by_question, "gaming": gaming,
              "gaming_probes": gaming_probes, "learning_curve": learning_curve}
    for name, regime in regimes.items():
        tables[f"acceptance_{name}"] = regime["competency"]
        tables[f"acceptance_{name}_by_dimension"] = regime["dimension"]
    for name, table in tables.items():
        write_csv_safe(table, ctx.path(f"{name}.csv"))

    metrics = {
        "answers": len(data), "left_out_not_double_rated": left_out, "questions_excluded": len(excluded), "chosen_config": best_label,
        "alpha": final_params.get("alpha"), "model_sha256": card["sha256"], "advisory_rate": advisory_rate,
        "competencies_passing_all_gates": int(regimes["unseen_answers"]["competency"].query("competency != @OVERALL")["pass_all"].sum()),
        "competencies_total": int((regimes["unseen_answers"]["competency"]["competency"] != OVERALL).sum()),
    }
    for name, regime in regimes.items():
        for _, r in regime["dimension"].iterrows():
            metrics[f"{name}.qwk[{r['dimension']}]"] = float(r["qwk"])
    for k in ("qwk", "r", "smd", "degradation"):
        metrics[f"unseen_answers.{k}"] = float(overall_a[k])
    if len(gaming):
        metrics["gaming_machine_high"] = int(gaming["machine_high"].sum())
    metrics.update({f"seconds.{k}": v for k, v in timings.items()})
    ctx.publish_metrics(metrics)
    labels = {c: dictionary.competencies[c].label(ctx.lang) for c in dictionary.competencies}
    return Result(config=chosen, n_answers=len(data), left_out=left_out, excluded_questions=excluded, tuning=tuning, penalty=penalty,
                  regimes=regimes, advisories=advisory, advisory_rate=advisory_rate, gaming=gaming, learning_curve=learning_curve,
                  candidate_scores=candidate_scores, card=card, model_path=model_path, labels=labels, timings=timings,
                  advisories_by_question=advisory_by_question.merge(data[["question_id", "question_text"]].drop_duplicates("question_id"),
                                                                    on="question_id", how="left"))


def _other_regimes(scorer: AnswerScorer, chosen: dict, features, data: pd.DataFrame, y: np.ndarray, singles: np.ndarray, cv_answers,
                   phrasing: pd.Series | None, params: Params, dictionary, demographics: tuple) -> tuple[dict, dict]:
    """The unseen-question and unseen-phrasing regimes: {name: acceptance tables} and their seconds."""
    timings, clock = {}, time.perf_counter()
    # each question fold is fitted at the penalty the candidate CV found best on that fold's training rows: one solve
    # per fold instead of the whole path; only the scores are needed here, so no advisories
    auto = chosen["alpha"] == "auto" and chosen.get("model", "ridge") == "ridge"
    cv_questions = cross_validate(scorer, features, y, groups=data["question_id"], group_name="question", folds=params.cv_folds,
                                  seed=params.seed, single_ratings=singles, fold_alpha=cv_answers.best_alpha_on if auto else None,
                                  advisories=False)
    regimes = {"unseen_questions": _acceptance(data.join(cv_questions.scores[["machine", "machine_rating"]]), dictionary, demographics)}
    timings["unseen_questions"] = round(time.perf_counter() - clock, 2)
    clock = time.perf_counter()
    if phrasing is not None:
        in_a, in_b = (phrasing == "A").to_numpy(), (phrasing == "B").to_numpy()
        alpha = cv_answers.best_alpha_on(in_a) if chosen["alpha"] == "auto" else chosen["alpha"]
        model_a = AnswerScorer(**{**chosen, "alpha": alpha if alpha is not None else chosen["alpha"]})
        model_a.fit(features.take(in_a), y[in_a], rating_scale=(1, 5), single_ratings=singles[in_a])
        b_scores = model_a.score(features.take(in_b))
        scored_b = data[in_b].reset_index(drop=True).assign(machine=b_scores["score"].to_numpy(), machine_rating=b_scores["rating"].to_numpy())
        regimes["unseen_phrasing"] = _acceptance(scored_b, dictionary, demographics)
        regimes["unseen_phrasing"]["advisory_rate"] = float((b_scores["route"] == "human").mean())
        # the same B scores with rating cuts re-equated on B's own (unlabelled) score distribution: random-groups
        # equipercentile equating, valid here because phrasing is assigned to candidates at random; it shows how much
        # of the B gap is a squeezed scale rather than a wrong ranking (continuous scores, r and SMD are unchanged)
        equated = equipercentile_cuts(b_scores["score"].to_numpy(), singles[in_a], (1, 5))
        b_equated = scored_b.assign(machine_rating=ratings_from_cuts(scored_b["machine"], equated, 1))
        regimes["unseen_phrasing_equated"] = _acceptance(b_equated, dictionary, demographics)
        timings["unseen_phrasing"] = round(time.perf_counter() - clock, 2)
    return regimes, timings


_TOP_QUESTIONS = 10  # questions shown in the report's by-question advisory table (the artifact has all)
_MIN_QUESTION_ANSWERS = 20  # answers a question needs before its routed share is ranked
_QUESTION_CHARS = 40  # question text shown in that table, "…" included


def _advisory_table(scored: pd.DataFrame, by="competency") -> pd.DataFrame:
    """Per competency (or other keys): answers, answers routed to a human, the rate, and how often each advisory fired."""
    keys = [by] if isinstance(by, str) else list(by)
    fired = scored["advisories"].fillna("").str.split(";")
    flags = pd.DataFrame({code: fired.map(lambda c, code=code: code in c).astype(int) for code in ADVISORIES}, index=scored.index)
    frame = pd.concat([scored[keys], flags], axis=1).assign(answers=1, routed=(scored["route"] == "human").astype(int))
    out = frame.groupby(keys, sort=True)[["answers", "routed", *ADVISORIES]].sum()
    out["rate"] = out["routed"] / out["answers"]
    return out.reset_index()


def _gaming(final: AnswerScorer, data: pd.DataFrame, scored: pd.DataFrame, questions: pd.DataFrame, dictionary,
            seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gaming probes per question, scored by the final model; each is compared with the genuine middling answers to
    the same question (the median of their out-of-fold scores). A probe is handled when it is routed to a human or
    scores no higher. Returns the summary per kind and one row per probe (ids, codes and scores, no answer text)."""
    from ..bench import make_gaming_probes
    from ..bench._probes import reference_scores

    genuine = scored[["answer_id", "question_id", "human"]].assign(answer_text=data["answer"].to_numpy())
    probes = make_gaming_probes(questions, dictionary, genuine, seed=seed)
    if probes.empty:
        return pd.DataFrame(), pd.DataFrame()
    qtext = questions.set_index("question_id")["text"]
    frame = pd.DataFrame({"answer": probes["answer_text"], "competency": probes["competency_id"], "question_id": probes["question_id"],
                          "question_text": probes["question_id"].map(qtext)})
    result = final.score(frame)
    # the reference: the median out-of-fold score of the question's genuine middling answers (see
    # bench.reference_scores); for padded_strong the same strong answer without the padding, scored by the same
    # final model (padding must not add points)
    oof = scored.set_index("answer_id")["machine"]
    padded = (probes["kind"] == "padded_strong").to_numpy()
    reference = reference_scores(probes, oof)
    if padded.any():
        text = data.set_index("answer_id")["answer"]
        strong = probes.loc[padded, "reference_answer_id"]
        reference[padded] = final.predict(frame.loc[padded].assign(answer=strong.map(text).to_numpy()))
    probes = probes.assign(score=result["score"].to_numpy(), route=result["route"].to_numpy(), advisories=result["advisories"].to_numpy(),
                           middling=reference)
    probes["machine_high"] = (probes["route"] == "machine") & (probes["score"] > probes["middling"])
    summary = probes.groupby("kind").agg(probes=("probe_id", "size"), routed=("route", lambda r: float((r == "human").mean())),
                                         mean_score=("score", "mean"), mean_middling=("middling", "mean"), machine_high=("machine_high", "sum"),
                                         top_advisory=("advisories", lambda a: a.str.split(";").explode().replace("", np.nan).mode().iat[0]
                                                       if a.str.len().gt(0).any() else ""))
    detail = probes[["probe_id", "kind", "question_id", "competency_id", "reference_answer_id", "score", "middling", "route", "advisories",
                     "machine_high"]]
    return summary.reset_index(), detail.reset_index(drop=True)


# ------------------------------------------------------------------------------------------------------------
def learning_curve_figure(curve: pd.DataFrame, lang: str):
    import matplotlib.pyplot as plt

    setup_matplotlib()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(curve["answers_per_question"], curve["qwk"], marker="o", label=t("s03.fig.qwk", lang))
    ax.plot(curve["answers_per_question"], curve["share_competencies_passing"], marker="s", label=t("s03.fig.share_passing", lang))
    ax.axhline(GATES.min_qwk, color="#c62828", linestyle="--", linewidth=1)
    ax.set_xlabel(t("s03.fig.per_question", lang))
    ax.set_ylim(0, 1.05)
    ax.set_title(t("s03.fig.learning_curve", lang))
    ax.legend(loc="lower right", framealpha=0.9)
    fig.tight_layout()
    return fig


def acceptance_block(rep: Report, table: pd.DataFrame, by: str, labels: dict, lang: str) -> None:
    rep.html(render_acceptance(table, by=by, labels=labels, lang=lang))


def _advisories_by_question_section(rep: Report, by_question: pd.DataFrame, labels: dict, lang: str) -> None:
    """The questions that route the largest share of their answers to a person (those with enough answers to rank)."""
    from ..wecom._text import truncate_chars  # never splits a character cluster; ends with "…"

    rep.heading(t("s03.h.advisories_by_question", lang))
    file = "artifacts/03_scoring/advisories_by_question.csv"
    ranked = by_question[by_question["answers"] >= _MIN_QUESTION_ANSWERS]  # a share of a handful of answers is noise
    if not len(ranked):
        rep.note(t("s03.advisories_by_question_few", lang, total=len(by_question), min=_MIN_QUESTION_ANSWERS, file=file), "muted")
        return
    top = ranked.sort_values(["rate", "answers", "question_id"], ascending=[False, False, True]).head(_TOP_QUESTIONS)
    codes = [c for c in ADVISORIES if c in top.columns and top[c].any()]  # the flags these questions fired
    top = top.assign(competency=top["competency"].map(lambda c: labels.get(c, c)),
                     question_text=top.get("question_text", pd.Series("", index=top.index)).map(
                         lambda q: truncate_chars(q if isinstance(q, str) else "", _QUESTION_CHARS)))
    rep.paragraph(t("s03.advisories_by_question_note", lang, n=len(top), ranked=len(ranked), total=len(by_question), min=_MIN_QUESTION_ANSWERS,
                    file=file))
    rep.table(top[["question_id", "question_text", "competency", "answers", "routed", "rate", *codes]], formats={"rate": "{:.1%}"},
              labels={c: label("advisory", c, lang) for c in codes})


def report(result: Result, lang: str = "zh") -> Report:
    rep = Report(t("stage.03_scoring", lang), lang)
    rep.paragraph(t("s03.intro", lang))
    cfg = result.config
    rep.note(t("s03.summary", lang, n=f"{result.n_answers:,}", left_out=result.left_out, model=cfg["model"],
               alpha=result.card.get("penalty", {}).get("alpha"), features=t("report.list_sep", lang).join(cfg["feature_groups"]),
               relevance=t("report.yes" if cfg["relevance_filter"] else "report.no", lang), sha=result.card["sha256"][:16]))
    if len(result.excluded_questions):
        rep.note(t("s03.excluded_questions", lang, n=len(result.excluded_questions)), "warn")
    for name in ("unseen_answers", "unseen_questions", "unseen_phrasing", "unseen_phrasing_equated"):
        if name not in result.regimes:
            if name == "unseen_phrasing":
                rep.heading(t("s03.h.unseen_phrasing", lang)).note(t("s03.no_phrasing", lang), "muted")
            continue
        regime = result.regimes[name]
        rep.heading(t(f"s03.h.{name}", lang)).paragraph(t(f"s03.{name}_note", lang, n=f"{regime['n']:,}"))
        if name == "unseen_answers":
            acceptance_block(rep, regime["competency"], "competency", result.labels, lang)
        acceptance_block(rep, regime["dimension"], "dimension", result.labels, lang)
        if "advisory_rate" in regime:
            rep.paragraph(t("s03.phrasing_advisory_rate", lang, rate=f"{regime['advisory_rate']:.1%}"))
    rep.heading(t("s03.h.advisories", lang)).paragraph(t("s03.advisories_note", lang, rate=f"{result.advisory_rate:.1%}"))
    adv = result.advisories.copy()
    adv["competency"] = adv["competency"].map(lambda c: result.labels.get(c, c))
    rep.table(adv, formats={"rate": "{:.1%}"}, labels={c: label("advisory", c, lang) for c in adv.columns if c not in ("competency", "answers", "routed", "rate")})
    if len(result.advisories_by_question):
        _advisories_by_question_section(rep, result.advisories_by_question, result.labels, lang)
    if len(result.gaming):
        rep.heading(t("s03.h.gaming", lang)).paragraph(t("s03.gaming_note", lang))
        gaming = result.gaming.copy()
        gaming["kind"] = gaming["kind"].map(lambda k: label("probe", k, lang))
        gaming["top_advisory"] = gaming["top_advisory"].map(lambda c: label("advisory", c, lang) if c else "")
        rep.table(gaming, formats={"routed": "{:.1%}", "mean_score": "{:.2f}", "mean_middling": "{:.2f}"},
                  classes={"machine_high": lambda v, r: "wb-bad" if v else "wb-ok"})
    rep.heading(t("s03.h.tuning", lang)).paragraph(t("s03.tuning_note", lang))
    rep.table(result.penalty.drop(columns=["on_edge"]), formats={"mean_mse": "{:.4f}", "sd_mse": "{:.4f}"})
    if len(result.tuning) > 1:
        rep.table(result.tuning, formats={"qwk": "{:.3f}", "r": "{:.3f}", "smd": "{:+.3f}", "mse": "{:.4f}"})
    if len(result.learning_curve):
        rep.figure(learning_curve_figure(result.learning_curve, lang)).table(result.learning_curve, formats={"share_competencies_passing": "{:.0%}"})
    rep.heading(t("s03.h.candidates", lang)).paragraph(t("s03.candidates_note", lang))
    cols = [c for c in result.candidate_scores.columns if c.startswith(("machine_", "human_"))]
    described = result.candidate_scores[cols].describe().T.reset_index(names="score")
    described["score"] = described["score"].map(lambda c: label("score", c, lang))
    rep.table(described.rename(columns={"count": "n"}), formats={c: "{:.1f}" for c in ("mean", "std", "min", "25%", "50%", "75%", "max")})
    return rep


STAGE = StageDef("03_scoring", Params, run, report, requires=("00_intake", "01_competency_model", "02_question_bank"))
