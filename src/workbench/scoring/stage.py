"""Library side of the ``03_scoring`` notebook: tune, evaluate in two held-out regimes, learning curve, persist."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from .._hashing import sha256_json
from ..competency import DIMENSION_NAMES, load_dictionary
from ..competency.model import load_competency_model
from ..intake import load_accepted
from ..pipeline import StageContext
from ._metrics import GATES, acceptance_table
from ._persist import save_scorer
from ._scorer import AnswerScorer

__all__ = ["ScoringResult", "answer_dataset", "cross_val_scores", "dimension_scores", "run_scoring_stage", "learning_curve_figure"]

DEMOGRAPHICS = ("gender", "age_band", "hukou_type", "ethnicity", "school_tier", "disability", "home_province")


def answer_dataset(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """One row per answered, double-rated answer: text, competency, role, the two ratings and their consensus,
    and the candidate's attributes. Returns (data, number of answers left out because not double-rated)."""
    answers = tables["answers"]
    answered = answers[answers["status"] == "answered"]
    ratings = tables["ratings"].sort_values(["answer_id", "rater_id"])
    ratings = ratings.assign(k=ratings.groupby("answer_id").cumcount())
    wide = ratings[ratings["k"] < 2].pivot(index="answer_id", columns="k", values="rating").rename(columns={0: "human1", 1: "human2"})
    data = answered.merge(wide, left_on="answer_id", right_index=True, how="inner")
    data = data.merge(tables["questions"][["question_id", "competency_id", "role_id", "type"]], on="question_id")
    cands = tables["candidates"][["candidate_id", *[c for c in DEMOGRAPHICS if c in tables["candidates"].columns]]]
    data = data.merge(cands, on="candidate_id", how="left")
    data = data.dropna(subset=["human1", "human2"]).reset_index(drop=True)
    data["human1"] = data["human1"].astype(int)
    data["human2"] = data["human2"].astype(int)
    data["human"] = (data["human1"] + data["human2"]) / 2
    data["answer"] = data["answer_text"].astype(str)
    data["competency"] = data["competency_id"].astype(str)
    for col in DEMOGRAPHICS:
        if col in data.columns:
            data[col] = data[col].astype(object).where(data[col].notna(), None)
    left_out = len(answered) - len(data)
    return data, left_out


def cross_val_scores(data: pd.DataFrame, params: dict, *, groups: str, folds: int, seed: int = 0) -> pd.DataFrame:
    """Out-of-fold machine scores: every answer is scored by a model that never saw its group (candidate or question)."""
    out = data[["answer_id"]].copy()
    out["machine"] = np.nan
    out["machine_rating"] = 0
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(data, groups=data[groups]):
        train, test = data.iloc[train_idx], data.iloc[test_idx]
        singles = np.concatenate([train["human1"], train["human2"]])
        scorer = AnswerScorer(**params).fit(train[["answer", "competency"]], train["human"], rating_scale=(1, 5), single_ratings=singles)
        out.iloc[test_idx, out.columns.get_loc("machine")] = scorer.predict(test[["answer", "competency"]])
        out.iloc[test_idx, out.columns.get_loc("machine_rating")] = scorer.predict_rating(test[["answer", "competency"]])
    return out


def _with_scores(data: pd.DataFrame, scores: pd.DataFrame, dictionary) -> pd.DataFrame:
    merged = data.merge(scores, on="answer_id")
    merged["dimension"] = merged["competency"].map(lambda c: DIMENSION_NAMES[dictionary.competencies[c].dimension])
    return merged


def dimension_scores(scored: pd.DataFrame, model: dict, *, score_col: str, prefix: str) -> pd.DataFrame:
    """Per candidate: 专业能力/综合素质/文化适配 on 0–100 (competency-model weights within each dimension) and an overall
    score (dimension weights). Competencies a candidate did not answer are left out and the weights renormalised."""
    rows = []
    for (cand, role), g in scored.groupby(["candidate_id", "role_id"], sort=True):
        dims = model["roles"][role]["dimensions"]
        row = {"candidate_id": cand, "role_id": role}
        overall_num = overall_den = 0.0
        for dim_id, dim in dims.items():
            weights = {c: v["weight"] for c, v in dim["competencies"].items()}
            sub = g[g["competency"].isin(weights)]
            per_comp = sub.groupby("competency")[score_col].mean()
            w = np.array([weights[c] for c in per_comp.index])
            if len(per_comp) == 0:
                row[f"{prefix}{dim_id}"] = np.nan
                continue
            if w.sum() <= 0:
                w = np.ones_like(w)
            value = float(((per_comp.to_numpy() - 1) / 4 * 100 * w).sum() / w.sum())
            row[f"{prefix}{dim_id}"] = round(value, 2)
            overall_num += value * dim["weight"]
            overall_den += dim["weight"]
        row[f"{prefix}overall"] = round(overall_num / overall_den, 2) if overall_den else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class ScoringResult:
    params: dict
    tuning: pd.DataFrame
    unseen_answers: pd.DataFrame
    unseen_answers_by_dimension: pd.DataFrame
    unseen_questions_by_dimension: pd.DataFrame
    unseen_questions: pd.DataFrame
    learning_curve: pd.DataFrame
    candidate_scores: pd.DataFrame
    model_path: Path
    card: dict
    left_out: int
    n_answers: int
    labels: dict = field(default_factory=dict)


def _config_label(cfg: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(cfg.items()))


def run_scoring_stage(
    stage: StageContext,
    *,
    model: str = "ridge",
    alpha: float = 1.0,
    tokenizer: str = "rjieba",
    feature_groups: list | None = None,
    tuning_grid: list | None = None,
    cv_folds: int = 5,
    tuning_folds: int = 3,
    learning_curve_sizes: list | None = None,
    demographics: list | None = None,
    seed: int = 7,
) -> ScoringResult:
    intake_dir = stage.upstream("00_intake")
    tables = load_accepted(intake_dir)
    dictionary = load_dictionary(json.loads((intake_dir / "dictionary.json").read_text(encoding="utf-8"))["path"])
    model_path = stage.upstream("01_competency_model") / "competency_model.json"
    cmodel = load_competency_model(model_path)
    for name in ("answers", "ratings", "questions", "candidates"):
        stage.record_input(intake_dir / f"{name}.parquet", role="table")
    stage.record_input(model_path, role="competency_model")
    data, left_out = answer_dataset(tables)
    demographics = tuple(demographics or [c for c in DEMOGRAPHICS if c in data.columns])
    base = {"model": model, "alpha": float(alpha), "tokenizer": tokenizer, "feature_groups": tuple(feature_groups or ("words", "chars", "evidence", "bei")), "random_state": seed}

    # 1. tuning: grouped CV by candidate over the grid (every entry overrides the base parameters)
    grid = tuning_grid or [{}]
    tuning_rows = []
    for cfg in grid:
        params = {**base, **{k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items()}}
        oof = cross_val_scores(data, params, groups="candidate_id", folds=tuning_folds, seed=seed)
        scored = data.merge(oof, on="answer_id")
        overall = acceptance_table(scored.assign(all="all"), by="all", overall=False).iloc[0]
        tuning_rows.append({"config": _config_label(cfg) or "(base)", **{k: overall[k] for k in ("qwk", "r", "smd", "degradation", "exact")}, "params": params})
    tuning = pd.DataFrame(tuning_rows)
    best = tuning.sort_values("qwk", ascending=False, kind="stable").iloc[0]
    chosen = dict(best["params"])

    # 2. unseen answers (grouped by candidate) and unseen questions (grouped by question)
    oof_answers = cross_val_scores(data, chosen, groups="candidate_id", folds=cv_folds, seed=seed)
    scored_a = _with_scores(data, oof_answers, dictionary)
    oof_questions = cross_val_scores(data, chosen, groups="question_id", folds=cv_folds, seed=seed)
    scored_q = _with_scores(data, oof_questions, dictionary)
    unseen_answers = acceptance_table(scored_a, by="competency", demographics=demographics)
    unseen_answers_dim = acceptance_table(scored_a, by="dimension", demographics=demographics)
    unseen_questions = acceptance_table(scored_q, by="competency", demographics=demographics)
    unseen_questions_dim = acceptance_table(scored_q, by="dimension", demographics=demographics)

    # 3. learning curve: k rated answers per question in training, evaluated on held-out candidates
    rng = np.random.default_rng(seed)
    test_cands = set(rng.choice(data["candidate_id"].unique(), size=max(1, data["candidate_id"].nunique() // 4), replace=False))
    train_pool, test = data[~data["candidate_id"].isin(test_cands)], data[data["candidate_id"].isin(test_cands)]
    curve_rows = []
    per_q = train_pool.groupby("question_id").size()
    for k in learning_curve_sizes or [10, 25, 50, 100]:
        sample = train_pool.groupby("question_id", group_keys=False).apply(lambda g: g.sample(n=min(k, len(g)), random_state=seed))
        if len(sample) < 50:
            continue
        scorer = AnswerScorer(**chosen).fit(sample[["answer", "competency"]], sample["human"], rating_scale=(1, 5), single_ratings=np.concatenate([sample["human1"], sample["human2"]]))
        t = test.assign(machine=scorer.predict(test[["answer", "competency"]]), machine_rating=scorer.predict_rating(test[["answer", "competency"]]))
        table = acceptance_table(t, by="competency", demographics=demographics)
        comp_rows = table[table["competency"] != "（全部）"]
        all_row = table[table["competency"] == "（全部）"].iloc[0]
        curve_rows.append({"answers_per_question": k, "train_answers": len(sample), "qwk": all_row["qwk"], "r": all_row["r"],
                           "share_competencies_passing": float(comp_rows["pass_all"].mean()), "max_available_per_question": int(per_q.max())})
    learning_curve = pd.DataFrame(curve_rows)

    # 4. final model on everything, persisted with its card
    final = AnswerScorer(**chosen).fit(data[["answer", "competency"]], data["human"], rating_scale=(1, 5), single_ratings=np.concatenate([data["human1"], data["human2"]]))
    training_hash = sha256_json(pd.util.hash_pandas_object(data[["answer_id", "answer", "competency", "human1", "human2"]], index=False).tolist())
    overall_a = unseen_answers[unseen_answers["competency"] == "（全部）"].iloc[0]
    card = {
        "model_version": f"scorer-{training_hash[:10]}",
        "training_data_sha256": training_hash,
        "training_answers": len(data),
        "target": "consensus (mean of two human ratings, 1–5 BARS)",
        "metrics_unseen_answers": {k: float(overall_a[k]) for k in ("qwk", "r", "smd", "degradation", "exact", "adjacent")},
        "metrics_unseen_questions_by_dimension": {r["dimension"]: float(r["qwk"]) for _, r in unseen_questions_dim.iterrows()},
        "competency_model_version": cmodel["version"],
        "intended_use": "Decision support for structured AI interviews at banks: scores answers to questions of the competency "
        "dictionary on the raters' 1–5 scale. A human reviews advance/reject decisions; not for use without the bank's own validation.",
        "known_limits": [
            "Trained on the data named by training_data_sha256; on a new question bank expect the unseen-question figures, not the unseen-answer ones.",
            "Learns whatever the raters did, including their biases: read the subgroup SMD columns and the fairness audit.",
            "Text only: speech-recognition errors, dialect and very long answers were only partly represented in training.",
            "Sentences with no job-related content are ignored by design (padding does not count); an answer made only of such text scores at the bottom.",
        ],
    }
    saved_model, card_file = save_scorer(final, stage.path("scorer.skops"), card=card)
    card = json.loads(card_file.read_text(encoding="utf-8"))

    # 5. scores for later stages: out-of-fold machine scores (never in-sample) and human consensus
    scored_a[["answer_id", "candidate_id", "question_id", "competency", "role_id", "human1", "human2", "human", "machine", "machine_rating"]].to_parquet(stage.path("answer_scores.parquet"), index=False)
    machine_dims = dimension_scores(scored_a, cmodel, score_col="machine", prefix="machine_")
    human_dims = dimension_scores(scored_a, cmodel, score_col="human", prefix="human_")
    candidate_scores = machine_dims.merge(human_dims, on=["candidate_id", "role_id"])
    candidate_scores.to_parquet(stage.path("candidate_scores.parquet"), index=False)
    for name, table in (("tuning", tuning.drop(columns=["params"])), ("acceptance_unseen_answers", unseen_answers), ("acceptance_unseen_questions", unseen_questions),
                        ("acceptance_unseen_answers_by_dimension", unseen_answers_dim), ("acceptance_unseen_questions_by_dimension", unseen_questions_dim),
                        ("learning_curve", learning_curve)):
        table.to_csv(stage.path(f"{name}.csv"), index=False)

    metrics = {
        "answers": len(data), "left_out_not_double_rated": left_out, "chosen_config": best["config"], "model_sha256": card["sha256"],
        "unseen_answers.qwk": float(overall_a["qwk"]), "unseen_answers.r": float(overall_a["r"]), "unseen_answers.smd": float(overall_a["smd"]),
        "unseen_answers.degradation": float(overall_a["degradation"]),
        "competencies_passing_all_gates": int(unseen_answers[unseen_answers["competency"] != "（全部）"]["pass_all"].sum()),
        "competencies_total": int((unseen_answers["competency"] != "（全部）").sum()),
    }
    for _, r in unseen_questions_dim.iterrows():
        metrics[f"unseen_questions.qwk[{r['dimension']}]"] = float(r["qwk"])
    for _, r in tuning.iterrows():
        metrics[f"tuning.qwk[{r['config']}]"] = float(r["qwk"])
    stage.publish_metrics(metrics)
    stage.finish()
    labels = {c: dictionary.competencies[c].name for c in dictionary.competencies}
    return ScoringResult(
        params=chosen, tuning=tuning.drop(columns=["params"]), unseen_answers=unseen_answers, unseen_answers_by_dimension=unseen_answers_dim,
        unseen_questions_by_dimension=unseen_questions_dim, unseen_questions=unseen_questions, learning_curve=learning_curve,
        candidate_scores=candidate_scores, model_path=saved_model, card=card, left_out=left_out, n_answers=len(data), labels=labels,
    )


def learning_curve_figure(curve: pd.DataFrame, *, lang: str = "zh"):
    import matplotlib.pyplot as plt

    from ..reports import setup_matplotlib

    setup_matplotlib()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(curve["answers_per_question"], curve["qwk"], marker="o", label="人机 QWK" if lang == "zh" else "H–M QWK")
    ax.plot(curve["answers_per_question"], curve["share_competencies_passing"], marker="s", label="通过全部门槛的胜任力占比" if lang == "zh" else "share of competencies passing all gates")
    ax.axhline(GATES.min_qwk, color="#c62828", linestyle="--", linewidth=1)
    ax.set_xlabel("每道题用于训练的人工评分作答数" if lang == "zh" else "rated answers per question used for training")
    ax.set_ylim(0, 1)
    ax.set_title("学习曲线：需要多少评分数据" if lang == "zh" else "Learning curve: how much rated data is needed")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
