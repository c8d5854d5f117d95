"""Stage 05 — fairness and compliance audit, for a compliance reviewer (no code, no personal data).

The decisions of the export stage's one rule (:class:`workbench.decisions.DecisionRule` built from the same
parameters as stage 06: top share of each role, or a cut score, with a borderline band; candidates with an answer
the scorer routed to a human, or who asked for a person, go to human review) are audited as three outcomes — what
the machine alone would select, the recorded ``advance`` and being sent to ``human_review`` — together with the
dimension scores, by gender, age band, hukou, home region, ethnicity, school tier, disability and intersections:
impact ratios with the bank's four-fifths benchmark, Holm-corrected tests, bootstrap intervals, a CMH test across interview sites, scorer versus human raters,
and a lawful mitigation (retraining without proxy terms). Every audit is appended to the hash-chained audit log.
It reads stage 03's scores; only the mitigation retrains, with the same cross-validation.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._paths import REPORTS_DIR
from ..fairness import append_audit_record, verify_audit_log
from ..fairness._impact import impact_table
from ..fairness.audit import AUDITED_OUTCOMES, AuditResult, add_region, decision_outcomes, run_audit
from .._tabular import write_csv_safe
from ..i18n import t
from ..pipeline import StageContext
from ..reports import Report
from ._base import StageDef, StageParams, param

__all__ = ["Params", "Result", "run", "report", "STAGE", "default_audit_log"]


@dataclass(frozen=True)
class Params(StageParams):
    attributes: list = param(["gender", "age_band", "hukou_type", "region", "ethnicity", "school_tier", "disability"], "audited attributes")
    intersections: list = param([["gender", "hukou_type"]], "attribute combinations audited together")
    advance_top_share: float = param(0.2, "share of each role that advances (top by machine overall score); the same rule as 06_export")
    cut_score: float = param(0.0, "advance everyone at or above this 0–100 score instead of the top share (0: use advance_top_share)")
    borderline_points: float = param(2.5, "half-width in points of the band around the cut that goes to human review (0: off)")
    min_share: float = param(0.02, "categories under this share of known values are excluded from ratios (LL144)")
    alpha: float = param(0.05, "significance level after Holm correction")
    n_boot: int = param(50, "bootstrap resamples for intervals")
    suppress_below: int = param(5, "cells with fewer people are suppressed in the published report")
    mitigation: bool = param(True, "retrain the scorer without the proxy terms the explanation stage flagged, and compare")
    mitigation_folds: int = param(2, "cross-validation folds for the mitigation comparison")
    audit_log: str = param("", "audit log file (empty: reports/audit_log.jsonl)")
    seed: int = param(7, "random seed")


@dataclass
class Result:
    audit: AuditResult
    audit_log: Path
    log_seq: int
    log_ok: bool
    distributions: pd.DataFrame  # machine overall score with gender and region (drawn as distributions, no individual points)


def default_audit_log() -> Path:
    return Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPORTS_DIR)) / "audit_log.jsonl"


def decision_rule(params: Params):
    """The export stage's rule from this stage's parameters (same names, defaults and meaning as 06_export)."""
    from ..decisions import DecisionRule

    return DecisionRule.from_params(advance_top_share=params.advance_top_share, cut_score=params.cut_score, borderline_points=params.borderline_points)


def _mitigation(ctx: StageContext, candidates: pd.DataFrame, attributes: list[str], params: Params) -> pd.DataFrame:
    """Retrain without proxy terms (a lawful, group-blind change); compare impact ratios (same decision rule, same
    routing of answers to people) and validity."""
    from ..scoring import AnswerScorer, acceptance_table, cross_validate
    from ..scoring._data import answer_dataset, dimension_scores

    scored = ctx.answer_dataset
    questions = ctx.questions
    data, _ = answer_dataset(ctx.tables, questions[questions["usable"]])
    data = data[data["answer_id"].isin(scored["answer_id"])].reset_index(drop=True)
    card = ctx.scorer_card
    known = AnswerScorer().get_params()
    base = {k: (tuple(v) if isinstance(v, list) else v) for k, v in card["parameters"].items() if k in known}
    rows = []
    mask_terms = tuple(json.loads(ctx.read_upstream("04_explanations", "proxy_terms.json").read_text(encoding="utf-8"))["mask_terms"])
    if not mask_terms:  # the explanation stage found no proxy term the scorer leans on: nothing to mitigate
        return pd.DataFrame()
    rule = decision_rule(params)
    routing = [c for c in ("route", "advisories") if c in scored.columns]
    for code, mask in (("current", None), ("without_proxy_terms", mask_terms)):
        if mask is None:
            current = data.merge(scored[["answer_id", "machine", "machine_rating", *routing]], on="answer_id")
        else:
            scorer = AnswerScorer(**{**base, "mask_terms": mask})
            features = scorer.featurize(data[["answer", "competency", "question_id", "question_text"]], dictionary=ctx.dictionary)
            cv = cross_validate(scorer, features, data["human"], groups=data["candidate_id"], folds=params.mitigation_folds, seed=params.seed,
                                single_ratings=data[["human1", "human2"]].to_numpy(float))
            current = data.join(cv.scores[["machine", "machine_rating"]])
            # the retrained scorer's own routing when it reports one, else the current routing of the same answers
            own = [c for c in routing if c in cv.scores.columns]
            current = current.join(cv.scores[own]) if own else current
            missing = [c for c in routing if c not in current.columns]
            if missing:
                current = current.merge(scored[["answer_id", *missing]], on="answer_id", how="left")
        overall = acceptance_table(current.assign(all="all"), by="all", overall=False).iloc[0]
        dims = dimension_scores(current, ctx.competency_model, score_col="machine", prefix="machine_")
        merged = dims.merge(add_region(candidates)[["candidate_id", *attributes]], on="candidate_id").reset_index(drop=True)
        merged["candidate_id"] = merged["candidate_id"].astype(str)
        outcomes = decision_outcomes(merged, rule=rule, answer_scores=current if routing else None, candidates=candidates)
        row = {"scorer": code, "qwk": round(float(overall["qwk"]), 3), "r": round(float(overall["r"]), 3)}
        for outcome in AUDITED_OUTCOMES:
            merged[outcome] = outcomes[outcome].to_numpy()
            for a in attributes:
                table = impact_table(merged, by=a, selected=outcome, min_share=params.min_share)
                ratios = table.loc[~table["excluded"].fillna(False).astype(bool) & table["impact_ratio"].notna(), "impact_ratio"]
                row[f"min_impact_ratio[{outcome}|{a}]"] = round(float(ratios.min()), 3) if len(ratios) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def run(ctx: StageContext, params: Params) -> Result:
    candidates = ctx.tables["candidates"]
    scores = ctx.candidate_scores
    card = ctx.scorer_card
    source = {
        "run_id": ctx.run_dir.name, "n_candidates_scored": len(scores),
        "candidates_sha256": next(i["sha256"] for i in ctx.inputs if i["path"].endswith("candidates.parquet")),
        "scores_sha256": next(i["sha256"] for i in ctx.inputs if i["path"].endswith("candidate_scores.parquet")),
        "model_sha256": card["sha256"], "model_version": card.get("model_version", ""),
    }
    # what the reviewer's "data source" row shows: the run and the hashes of the two tables audited (no sentence)
    source["description"] = (f"{source['run_id']} · candidates.parquet sha256 {source['candidates_sha256'][:12]}… · "
                             f"candidate_scores.parquet sha256 {source['scores_sha256'][:12]}…")
    attributes = list(params.attributes)
    mitigation = _mitigation(ctx, candidates, [a for a in attributes if a in ("region", "gender")], params) if params.mitigation else None
    audit = run_audit(candidates, scores, attributes=attributes, intersections=params.intersections, rule=decision_rule(params), answer_scores=ctx.answer_dataset,
                      min_share=params.min_share, alpha=params.alpha, n_boot=params.n_boot, suppress_below=params.suppress_below, seed=params.seed,
                      source=source, mitigation=mitigation, lang=ctx.lang)
    ctx.path("audit_report.html").write_text(audit.to_html(lang=ctx.lang), encoding="utf-8")
    write_csv_safe(audit.selection.drop(columns=["note"]), ctx.path("impact_selection.csv"))  # codes and numbers; the sentences are the report's
    for score, table in audit.scoring.items():
        write_csv_safe(table.drop(columns=["note"]), ctx.path(f"impact_scoring_{score}.csv"))
    log = Path(params.audit_log) if params.audit_log else default_audit_log()
    entry = append_audit_record(log, audit.record())
    check = verify_audit_log(log)
    ctx.publish_metrics({**audit.metrics(), "audit_log": str(log), "audit_log_seq": entry["seq"], "audit_log_ok": check.ok})
    merged = scores.merge(add_region(candidates)[["candidate_id", "gender", "region"]], on="candidate_id")
    return Result(audit=audit, audit_log=log, log_seq=entry["seq"], log_ok=check.ok, distributions=merged[["machine_overall", "gender", "region"]])


def report(result: Result, lang: str = "zh") -> Report:
    rep = Report(t("stage.05_fairness_audit", lang), lang)
    rep.paragraph(t("s05.intro", lang))
    rep.note(t("s05.logged" if result.log_ok else "s05.log_failed", lang, seq=result.log_seq), "ok" if result.log_ok else "error")
    rep.html(result.audit.render(lang=lang))
    from ..fairness._scores import score_distribution_figure

    rep.heading(t("s05.h.distributions", lang))
    for attribute in ("gender", "region"):
        rep.figure(score_distribution_figure(result.distributions, by=attribute, score="machine_overall", lang=lang))
    return rep


STAGE = StageDef("05_fairness_audit", Params, run, report, requires=("00_intake", "01_competency_model", "02_question_bank", "03_scoring", "04_explanations"))
