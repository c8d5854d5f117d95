"""Inputs of a validity study: a bank's outcomes file (through the intake contract), the legacy selection score, and
competency-level scores such as learning agility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..intake.contracts import OPTIONAL_TABLES, PROBATION_RESULTS
from ..intake.readers import read_raw_table
from ..intake.validate import TableResult, validate_table

__all__ = ["read_outcomes", "mean_rating_scores", "competency_scores", "check_outcomes", "DIMENSIONS"]

DIMENSIONS = ("professional", "general", "culture")


def read_outcomes(path: str | Path, candidates: pd.DataFrame) -> TableResult:
    """Read and validate a bank's outcomes file (CSV in UTF-8/GB18030, XLSX or Parquet) against the ``outcomes``
    contract: rows with an unknown candidate id, an out-of-range rating, an unknown probation code or a duplicate
    candidate go to ``result.quarantine`` with file, row, column and reason; ``result.accepted`` holds the rest and
    ``result.reconciles`` checks rows in = accepted + quarantined."""
    raw = read_raw_table(Path(path), table="outcomes")
    ids = set(candidates["candidate_id"].dropna().astype(str))
    return validate_table(raw, OPTIONAL_TABLES["outcomes"], references={"candidates.candidate_id": ids})


def check_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Boundary check of an in-memory outcomes frame (the file route is :func:`read_outcomes`); returns a typed copy.

    Raises :class:`~workbench.errors.DataError` naming the column and the first offending row.
    """
    if not isinstance(outcomes, pd.DataFrame):
        raise DataError(f"outcomes must be a pandas DataFrame, got {type(outcomes).__name__}")
    contract = OPTIONAL_TABLES["outcomes"]
    missing = [c for c in contract.required_columns if c not in outcomes.columns]
    if missing:
        raise DataError(f"outcomes lacks required column(s) {missing}; the contract is in data/README.md (`outcomes`)")
    out = outcomes.copy()
    ids = out["candidate_id"]
    if ids.isna().any():
        raise DataError(f"outcomes.candidate_id is empty in row {int(np.flatnonzero(ids.isna())[0])} (0-based)")
    out["candidate_id"] = ids.astype(str)
    dup = out["candidate_id"].duplicated()
    if dup.any():
        raise DataError(f"outcomes.candidate_id {out.loc[dup, 'candidate_id'].iloc[0]!r} appears twice; one row per hired candidate")
    for col in ("performance_rating", "potential_rating"):
        if col not in out.columns:
            continue
        values = pd.to_numeric(out[col], errors="coerce")
        bad = (values.isna() & out[col].notna()) | ~(values.isna() | values.isin([1, 2, 3, 4, 5]))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"outcomes.{col} must be an integer 1–5 or empty; row {row} (0-based) has {out[col].iloc[row]!r}")
        out[col] = values.astype(float)
    if "probation_result" in out.columns:
        bad = out["probation_result"].notna() & ~out["probation_result"].isin(PROBATION_RESULTS)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"outcomes.probation_result must be one of {PROBATION_RESULTS} or empty; row {row} (0-based) has {out['probation_result'].iloc[row]!r}"
            )
    return out


def mean_rating_scores(
    answers: pd.DataFrame, ratings: pd.DataFrame, questions: pd.DataFrame | None = None, dictionary=None
) -> pd.DataFrame:
    """The legacy interview score per candidate: the mean of every human rating of their answers (``mean_rating``,
    1–5) — the score the synthetic bank hires on — and, given ``questions`` and the competency ``dictionary``, the
    same mean per dimension (``mean_rating_professional`` …) and for learning agility
    (``mean_rating_learning_agility``; NaN where the role does not assess it)."""
    for name, frame, cols in (("answers", answers, ("answer_id", "candidate_id", "question_id")), ("ratings", ratings, ("answer_id", "rating"))):
        lost = [c for c in cols if c not in frame.columns]
        if lost:
            raise DataError(f"{name} lacks column(s) {lost}")
    data = ratings[["answer_id", "rating"]].merge(answers[["answer_id", "candidate_id", "question_id"]], on="answer_id")
    data["rating"] = pd.to_numeric(data["rating"], errors="coerce").astype(float)
    out = data.groupby("candidate_id")["rating"].mean().rename("mean_rating").to_frame()
    if questions is not None and dictionary is not None:
        comp = dict(zip(questions["question_id"], questions["competency_id"]))
        data["competency_id"] = data["question_id"].map(comp)
        data["dimension"] = data["competency_id"].map(lambda c: dictionary.competencies[c].dimension if c in dictionary.competencies else None)
        dims = data.groupby(["candidate_id", "dimension"])["rating"].mean().unstack()
        for d in DIMENSIONS:
            out[f"mean_rating_{d}"] = dims[d] if d in dims.columns else np.nan
        la = data[data["competency_id"] == "learning_agility"].groupby("candidate_id")["rating"].mean()
        out["mean_rating_learning_agility"] = la
    return out.reset_index()


def competency_scores(answer_scores: pd.DataFrame, competencies=("learning_agility",), sources=("machine", "human")) -> pd.DataFrame:
    """Per candidate and competency, the 0–100 score of each source (``machine_learning_agility`` …) from stage 03's
    ``answer_scores`` (one row per answer: ``candidate_id, competency`` and one 1–5 column per source), on the scale
    of the dimension scores: (mean − 1) / 4 × 100. Candidates whose role does not assess a competency get NaN."""
    need = ["candidate_id", "competency", *sources]
    lost = [c for c in need if c not in answer_scores.columns]
    if lost:
        raise DataError(f"answer_scores lacks column(s) {lost}")
    out = pd.DataFrame({"candidate_id": pd.unique(answer_scores["candidate_id"])})
    for comp in competencies:
        sub = answer_scores[answer_scores["competency"] == comp]
        means = sub.groupby("candidate_id")[list(sources)].mean()
        for src in sources:
            out[f"{src}_{comp}"] = out["candidate_id"].map((means[src] - 1) / 4 * 100).astype(float)
    return out
