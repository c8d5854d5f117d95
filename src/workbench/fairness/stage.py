"""Library side of the ``05_fairness_audit`` notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .._paths import DATA_DIR, REPORTS_DIR
from ..intake import load_accepted
from ..pipeline import StageContext
from ._auditlog import append_audit_record, verify_audit_log
from ._impact import impact_table
from .audit import AuditResult, add_region, advance_decision, run_audit

__all__ = ["run_audit_stage", "default_audit_log", "proxy_terms"]


def default_audit_log() -> Path:
    return Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPORTS_DIR)) / "audit_log.jsonl"


def proxy_terms(path: str | Path | None = None) -> tuple[str, ...]:
    data = yaml.safe_load(Path(path or DATA_DIR / "proxy_terms.yaml").read_text(encoding="utf-8"))
    return tuple(sorted({t for terms in data["dialect_by_region"].values() for t in terms}))


def _mitigation(stage: StageContext, candidates: pd.DataFrame, attributes: list[str], top_share: float, min_share: float, folds: int, seed: int) -> pd.DataFrame:
    """Retrain without regional proxy terms (a lawful, group-blind change) and compare impact ratios and validity."""
    from ..competency.model import load_competency_model
    from ..scoring import acceptance_table
    from ..scoring.stage import answer_dataset, cross_val_scores, dimension_scores

    tables = load_accepted(stage.upstream("00_intake"))
    data, _ = answer_dataset(tables)
    scoring_dir = stage.upstream("03_scoring")
    card = json.loads((scoring_dir / "scorer.card.json").read_text(encoding="utf-8"))
    from ..scoring import AnswerScorer

    known = AnswerScorer().get_params()  # a card from another workbench version may carry retired parameters
    params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in card["parameters"].items() if k in known}
    cmodel = load_competency_model(stage.upstream("01_competency_model") / "competency_model.json")
    base = pd.read_parquet(scoring_dir / "answer_scores.parquet")
    rows = []
    variants = {"现行评分器": None, "去除方言代理词": proxy_terms()}
    for label, mask in variants.items():
        if mask is None:
            scored = data.merge(base[["answer_id", "machine", "machine_rating"]], on="answer_id")
        else:
            oof = cross_val_scores(data, {**params, "mask_terms": mask}, groups="candidate_id", folds=folds, seed=seed)
            scored = data.merge(oof, on="answer_id")
        overall = acceptance_table(scored.assign(all="all"), by="all", overall=False).iloc[0]
        dims = dimension_scores(scored.rename(columns={}), cmodel, score_col="machine", prefix="machine_")
        merged = dims.merge(add_region(candidates)[["candidate_id", *attributes]], on="candidate_id")
        merged["advance"] = advance_decision(merged, top_share=top_share)
        row = {"评分器": label, "人机 QWK": round(float(overall["qwk"]), 3), "r": round(float(overall["r"]), 3)}
        for a in attributes:
            t = impact_table(merged, by=a, selected="advance", min_share=min_share)
            ratios = t.loc[~t["excluded"].fillna(False).astype(bool) & t["impact_ratio"].notna(), "impact_ratio"]
            row[f"最低影响比·{a}"] = round(float(ratios.min()), 3) if len(ratios) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def run_audit_stage(
    stage: StageContext,
    *,
    attributes: list | None = None,
    intersections: list | None = None,
    advance_top_share: float = 0.2,
    min_share: float = 0.02,
    alpha: float = 0.05,
    n_boot: int = 200,
    suppress_below: int = 5,
    mitigation: bool = True,
    mitigation_folds: int = 2,
    audit_log: str = "",
    seed: int = 7,
    lang: str = "zh",
) -> AuditResult:
    attributes = list(attributes or ["gender", "age_band", "hukou_type", "region", "ethnicity", "school_tier", "disability"])
    intake_dir, scoring_dir = stage.upstream("00_intake"), stage.upstream("03_scoring")
    candidates = load_accepted(intake_dir)["candidates"]
    scores = pd.read_parquet(scoring_dir / "candidate_scores.parquet")
    card = json.loads((scoring_dir / "scorer.card.json").read_text(encoding="utf-8"))
    for path in (intake_dir / "candidates.parquet", scoring_dir / "candidate_scores.parquet", scoring_dir / "scorer.skops"):
        stage.record_input(path, role="audit_input")
    manifest_run = stage.run_dir.name
    source = {
        "description": f"运行 {manifest_run} 的候选人与评分（{len(scores):,} 名候选人）",
        "run_id": manifest_run,
        "candidates_sha256": stage.inputs[0]["sha256"],
        "scores_sha256": stage.inputs[1]["sha256"],
        "model_sha256": card["sha256"],
        "model_version": card.get("model_version", ""),
    }
    mit = _mitigation(stage, candidates, [a for a in attributes if a in ("region", "gender")], advance_top_share, min_share, mitigation_folds, seed) if mitigation else None
    result = run_audit(
        candidates, scores, attributes=attributes, intersections=intersections or [], advance_top_share=advance_top_share, min_share=min_share,
        alpha=alpha, n_boot=n_boot, suppress_below=suppress_below, seed=seed, source=source, mitigation=mit, lang=lang,
    )
    stage.path("audit_report.html").write_text(result.to_html(lang=lang), encoding="utf-8")
    result.selection.to_csv(stage.path("impact_selection.csv"), index=False)
    for score, table in result.scoring.items():
        table.to_csv(stage.path(f"impact_scoring_{score}.csv"), index=False)
    log = Path(audit_log) if audit_log else default_audit_log()
    entry = append_audit_record(log, result.record())
    check = verify_audit_log(log)
    stage.publish_metrics({**result.metrics(), "audit_log": str(log), "audit_log_seq": entry["seq"], "audit_log_ok": check.ok})
    stage.finish()
    return result


def distribution_figures(stage: StageContext, attributes=("gender", "region"), *, lang: str = "zh") -> list:
    """Machine overall score distributions by attribute (no individual data points are shown)."""
    from ._scores import score_distribution_figure

    scores = pd.read_parquet(stage.upstream("03_scoring") / "candidate_scores.parquet")
    cands = add_region(load_accepted(stage.upstream("00_intake"))["candidates"])
    merged = scores.merge(cands[["candidate_id", *attributes]], on="candidate_id")
    return [score_distribution_figure(merged, by=a, score="machine_overall", lang=lang) for a in attributes]
