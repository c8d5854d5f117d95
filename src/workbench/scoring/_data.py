"""From intake tables to the scorer's training data, and from answer scores to candidate dimension scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DEMOGRAPHICS", "answer_dataset", "dimension_scores"]

DEMOGRAPHICS = ("gender", "age_band", "hukou_type", "ethnicity", "school_tier", "disability", "home_province")


def answer_dataset(tables: dict[str, pd.DataFrame], questions: pd.DataFrame | None = None) -> tuple[pd.DataFrame, int]:
    """One row per answered, double-rated answer: text, question (id, text), competency, role, the two ratings and
    their consensus, and the candidate's attributes. Returns (data, number of answers left out: not double-rated).

    ``questions`` (default: the intake question table) supplies ``competency_id``, ``role_id``, ``type`` and
    ``text`` per question; answers to questions it does not list are left out (and counted).
    """
    answers = tables["answers"]
    answered = answers[answers["status"] == "answered"]
    ratings = tables["ratings"].sort_values(["answer_id", "rater_id"])
    ratings = ratings.assign(k=ratings.groupby("answer_id").cumcount())
    wide = ratings[ratings["k"] < 2].pivot(index="answer_id", columns="k", values="rating").rename(columns={0: "human1", 1: "human2"})
    for col in ("human1", "human2"):
        if col not in wide.columns:
            wide[col] = np.nan
    data = answered.merge(wide, left_on="answer_id", right_index=True, how="inner")
    q = (questions if questions is not None else tables["questions"])[["question_id", "competency_id", "role_id", "type", "text"]]
    data = data.merge(q.rename(columns={"text": "question_text"}), on="question_id")
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
