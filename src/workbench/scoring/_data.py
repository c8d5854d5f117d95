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
    score (dimension weights). Competencies a candidate did not answer are left out and the weights renormalised.

    One row per (candidate_id, role_id) present in ``scored``, sorted; computed with group-bys over the whole table
    (a loop over 5,000 candidates' groups took half a minute)."""
    weights = pd.DataFrame(
        [{"role_id": role_id, "dimension": dim_id, "competency": comp, "w": float(v["weight"]), "dim_w": float(dim["weight"])}
         for role_id, role in model["roles"].items() for dim_id, dim in role["dimensions"].items()
         for comp, v in dim["competencies"].items()],
        columns=["role_id", "dimension", "competency", "w", "dim_w"],
    )
    keys = ["candidate_id", "role_id"]
    base = scored[keys].drop_duplicates().sort_values(keys, kind="stable").reset_index(drop=True)
    per_comp = scored.groupby([*keys, "competency"], sort=True)[score_col].mean().rename("value").reset_index()
    m = per_comp.merge(weights, on=["role_id", "competency"], how="inner")
    dim_keys = [*keys, "dimension"]
    # a dimension whose weights sum to zero counts its competencies equally (as the weights would if renormalised)
    m["w"] = np.where(m.groupby(dim_keys)["w"].transform("sum") > 0, m["w"], 1.0)
    m["points"] = (m["value"] - 1) / 4 * 100 * m["w"]
    m["missing"] = m["value"].isna()
    dims = m.groupby(dim_keys, sort=False).agg(points=("points", "sum"), w=("w", "sum"), dim_w=("dim_w", "first"), missing=("missing", "any"))
    dims["value"] = np.where(dims["missing"], np.nan, dims["points"] / dims["w"])  # a competency without a score spoils its dimension, as before
    dims = dims.reset_index()
    # overall: dimension values (unrounded) weighted by the dimension weights of the dimensions present
    dims["num"] = dims["value"] * dims["dim_w"]
    overall = dims.groupby(keys, sort=False).agg(num=("num", lambda x: x.sum(min_count=1) if x.notna().all() else np.nan), den=("dim_w", "sum"))
    overall["overall"] = overall["num"] / overall["den"].where(overall["den"] != 0)
    order = list(dict.fromkeys(dim for role in model["roles"].values() for dim in role["dimensions"]))
    present = [d for d in order if d in set(dims["dimension"])]
    wide = dims.pivot_table(index=keys, columns="dimension", values="value", aggfunc="first", dropna=False).reindex(columns=present)
    out = base.merge(wide.reset_index(), on=keys, how="left").merge(overall[["overall"]].reset_index(), on=keys, how="left")
    for col in [*present, "overall"]:
        out[col] = out[col].map(lambda v: round(float(v), 2) if pd.notna(v) else np.nan)
    out.columns = [*keys, *(f"{prefix}{c}" for c in [*present, "overall"])]
    return out
