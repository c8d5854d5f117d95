"""Stage 07 — predictive validity: do the interview's scores predict later performance, probation and potential?

Reads stage 03's candidate scores (machine and human, per dimension and overall), the legacy mean rating the bank
hired on (from intake's answers and ratings), learning-agility scores, and the bank's ``outcomes`` table (optional
intake table: one row per hire). The computation is :func:`workbench.validity.run_validity_study` — observed and
corrected validities (range restriction, criterion unreliability, in the right order), incremental validity over
the school-tier screen, expectancy charts, the validity–adverse-impact trade-off and the machine-vs-human comparison.

Without an outcomes table the stage does not fail: its report says what is missing and how to provide it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .._tabular import write_csv_safe
from ..i18n import t
from ..pipeline import StageContext
from ..reports import Report
from ._base import StageDef, StageParams, param

__all__ = ["Params", "Result", "run", "report", "STAGE"]

_TABLES = ("samples", "validity", "sensitivity", "incremental", "screen_impact", "expectancy", "expectancy_pool", "tradeoff",
           "tradeoff_impact", "lda", "machine_vs_human", "suggestion_rule", "truth_comparison")


@dataclass(frozen=True)
class Params(StageParams):
    selection_score: str = param("mean_rating", "the score hiring was based on, for every applicant (empty: assume direct selection on each predictor)")
    performance_reliability: float = param(0.52, "inter-rater reliability of performance ratings among hires (0: no operational validity)")
    range_correction: bool = param(True, "correct for range restriction (False for a concurrent design the interview did not select)")
    min_n: int = param(50, "fewest hires with a rating for a role's estimate")
    high_rating: int = param(4, "performance rating that counts as a high performer")
    current_share: float = param(0.2, "selection ratio in use (the trade-off's reference)")
    n_boot: int = param(200, "bootstrap replicates for intervals")
    seed: int = param(7, "random seed")


@dataclass
class Result:
    study: object | None  # workbench.validity.ValidityStudy, or None without outcomes
    missing: str | None  # why there is no study (a message code)


def run(ctx: StageContext, params: Params) -> Result:
    from ..validity import competency_scores, mean_rating_scores, run_validity_study

    tables = ctx.tables
    outcomes = tables.get("outcomes")
    if outcomes is None or outcomes.empty:
        ctx.publish_metrics({"status": "no_outcomes"})
        return Result(study=None, missing="s07.no_outcomes")
    dictionary = ctx.dictionary
    scores = ctx.candidate_scores.drop(columns=["answers_routed_to_human"], errors="ignore")
    legacy = mean_rating_scores(tables["answers"], tables["ratings"], tables["questions"], dictionary)
    agility = competency_scores(ctx.answer_dataset)
    scores = scores.merge(legacy, on="candidate_id", how="left").merge(agility, on="candidate_id", how="left")
    truth = ctx.run_dir / "inputs" / "cohort" / "truth"
    selection = params.selection_score or None
    if selection and selection not in scores.columns:
        raise ValueError(t("s07.unknown_selection", ctx.lang, name=selection, columns=", ".join(sorted(scores.columns))))
    study = run_validity_study(
        scores, outcomes, tables["candidates"], selection_score=selection,
        criterion_reliability={"performance_rating": params.performance_reliability} if params.performance_reliability > 0 else None,
        range_correction=params.range_correction, min_n=params.min_n, high_rating=params.high_rating, current_share=params.current_share,
        n_boot=params.n_boot, seed=params.seed, truth=truth if truth.is_dir() else None,
        role_names={r.id: r.label(ctx.lang) for r in dictionary.roles.values()}, lang=ctx.lang,
    )
    for name in _TABLES:
        frame = getattr(study, name)
        if isinstance(frame, pd.DataFrame) and len(frame):
            write_csv_safe(frame, ctx.path(f"{name}.csv"))
    ctx.publish_metrics(study.metrics())
    return Result(study=study, missing=None)


def report(result: Result, lang: str = "zh") -> Report:
    rep = Report(t("stage.07_validity", lang), lang)
    if result.study is None:
        rep.note(t(result.missing, lang), "warn")
        return rep
    from ..validity._report import render_body

    return rep.html(render_body(result.study, lang=lang, figures=True))


STAGE = StageDef("07_validity", Params, run, report, requires=("00_intake", "01_competency_model", "02_question_bank", "03_scoring"))
