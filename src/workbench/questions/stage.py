"""Library side of the ``02_question_bank`` notebook: generate the bank from the competency model, evaluate it."""

from __future__ import annotations

import json

import pandas as pd

from ..competency import load_dictionary
from ..competency.model import load_competency_model
from ..pipeline import StageContext
from .evaluate import QuestionSetEvaluation, evaluate_question_set
from .generate import generate_question_bank

__all__ = ["run_question_stage", "bank_overview"]

BANK_COLUMNS = ["question_id", "role_id", "competency_id", "dimension", "type", "indicator_id", "text", "rubric"]


def run_question_stage(
    stage: StageContext,
    *,
    per_competency: int = 3,
    roles: list | None = None,
    redundancy_threshold: float = 0.7,
    pilot_candidates_per_role: int = 300,
    plant_pilot_faults: bool = True,
    seed: int = 7,
) -> QuestionSetEvaluation:
    from ..synth import simulate_pilot

    model_path = stage.upstream("01_competency_model") / "competency_model.json"
    model = load_competency_model(model_path)
    stage.record_input(model_path, role="competency_model")
    intake_dir = stage.upstream("00_intake")
    dictionary = load_dictionary(json.loads((intake_dir / "dictionary.json").read_text(encoding="utf-8"))["path"])
    bank = generate_question_bank(dictionary, roles=roles or None, per_competency=per_competency, seed=seed)
    pilot = None
    planted = {"dif": [], "bad": []}
    if pilot_candidates_per_role > 0:
        if plant_pilot_faults:
            # Two known faults so the report demonstrates what item analysis catches (documented in the report).
            first_role = bank["role_id"].iloc[0]
            ids = bank.loc[bank["role_id"] == first_role, "question_id"].tolist()
            planted = {"dif": [ids[0]], "bad": [ids[4]]}
        pilot = simulate_pilot(
            bank, candidates_per_role=pilot_candidates_per_role, seed=seed, dif_questions=tuple(planted["dif"]), bad_questions=tuple(planted["bad"])
        )
    evaluation = evaluate_question_set(
        bank,
        name="workbench 生成题库",
        dictionary=dictionary,
        model=model,
        pilot=pilot,
        source={"generator": "workbench.questions.generate", "seed": seed, "competency_model": model["version"]},
        redundancy_threshold=redundancy_threshold,
        dif_columns=("gender",) if pilot is not None else (),
    )
    bank[BANK_COLUMNS].to_csv(stage.path("question_bank.csv"), index=False, encoding="utf-8")
    evaluation.save(stage.path("evaluation"))
    (stage.path("pilot_faults.json")).write_text(json.dumps(planted, ensure_ascii=False, indent=2), encoding="utf-8")
    summary = evaluation.summary()
    metrics = {k: v for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    metrics["lint_errors"] = int((evaluation.findings["severity"] == "error").sum()) if len(evaluation.findings) else 0
    metrics["lint_warnings"] = int((evaluation.findings["severity"] == "warning").sum()) if len(evaluation.findings) else 0
    for qtype, count in bank["type"].value_counts().items():
        metrics[f"type.{qtype}"] = int(count)
    if evaluation.item_stats is not None and len(evaluation.item_stats.dif):
        dif = evaluation.item_stats.dif
        metrics["dif_class_C"] = int((dif["ets_class"] == "C").sum())
        metrics["planted_dif_detected"] = bool(dif.loc[dif["question_id"].isin(planted["dif"]), "ets_class"].isin(["B", "C"]).all()) if planted["dif"] else None
    stage.publish_metrics(metrics)
    stage.finish()
    return evaluation


def bank_overview(evaluation: QuestionSetEvaluation) -> pd.DataFrame:
    """Questions per role and type, for the report."""
    q = evaluation.questions
    table = q.pivot_table(index="role_id", columns="type", values="question_id", aggfunc="count", fill_value=0)
    table["合计"] = table.sum(axis=1)
    dictionary = load_dictionary()
    table.index = [dictionary.roles[r].name for r in table.index]
    return table.reset_index(names="岗位")
