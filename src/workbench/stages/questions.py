"""Stage 02 — question bank: lint the questions this run's candidates answered, and generate the next bank.

Two question sets, two purposes:

* **questions in use** — the run's question table (intake). They have answers and human ratings, so they are what
  the scorer trains on. Each is linted with the vendor-benchmark rules (legal red lines: 婚育, 年龄, 户籍地域, 民族,
  宗教, 健康残疾, 性别 …; quality), checked for coverage and near-duplicates. A question with a legal violation is
  marked unusable: stage 03 does not train on its answers and says so. Written as ``questions_in_use.parquet``.
* **a generated bank** for the next round — ≥ 3 questions per competency and role (情景/行为/文化), each tied to a
  behavioural indicator with a BARS rubric, evaluated the same way and with item statistics on a simulated pilot
  (two planted faults show what item analysis catches). It has no answers yet: it is the input of the next intake
  (``table_files={"questions": ".../question_bank.csv"}``) once a pilot has rated it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from .._tabular import write_csv_safe
from ..i18n import t
from ..pipeline import StageContext
from ..questions.evaluate import QuestionSetEvaluation, evaluate_question_set
from ..questions.generate import generate_question_bank
from ..reports import Report
from ._base import StageDef, StageParams, param

__all__ = ["Params", "Result", "run", "report", "STAGE"]

BANK_COLUMNS = ["question_id", "role_id", "competency_id", "dimension", "type", "indicator_id", "text", "rubric"]


@dataclass(frozen=True)
class Params(StageParams):
    per_competency: int = param(3, "generated questions per competency and role (3 to 5)")
    roles: list = param(["teller", "retail_rm"], "role ids to generate for (empty: all roles)")
    pilot_candidates_per_role: int = param(200, "simulated pilot candidates per role for item statistics of the generated bank (0: skip)")
    plant_pilot_faults: bool = param(True, "plant one DIF item and one non-measuring item in the simulated pilot")
    seed: int = param(7, "random seed")


@dataclass
class Result:
    in_use: QuestionSetEvaluation
    usable: pd.DataFrame
    bank: QuestionSetEvaluation
    planted: dict


def _errors_per_question(evaluation: QuestionSetEvaluation) -> pd.Series:
    findings = evaluation.findings
    if not len(findings):
        return pd.Series(dtype=int)
    legal = findings[(findings["category"] == "legal") & (findings["severity"] == "error")]
    return legal.groupby("question_id").size()


def run(ctx: StageContext, params: Params) -> Result:
    from ..synth import simulate_pilot

    dictionary, model = ctx.dictionary, ctx.competency_model
    questions = ctx.tables["questions"]
    in_use = evaluate_question_set(questions, name=t("s02.in_use_name", ctx.lang), dictionary=dictionary, model=model,
                                   source={"table": "intake questions"}, lang=ctx.lang)
    errors = _errors_per_question(in_use)
    usable = questions.assign(lint_errors=questions["question_id"].map(errors).fillna(0).astype(int))
    usable["usable"] = usable["lint_errors"] == 0
    usable.to_parquet(ctx.path("questions_in_use.parquet"), index=False)
    in_use.save(ctx.path("in_use"))

    bank = generate_question_bank(dictionary, roles=params.roles or None, per_competency=params.per_competency, seed=params.seed)
    pilot, planted = None, {"dif": [], "bad": []}
    if params.pilot_candidates_per_role > 0:
        if params.plant_pilot_faults:
            first_role = bank["role_id"].iloc[0]
            ids = bank.loc[bank["role_id"] == first_role, "question_id"].tolist()
            planted = {"dif": [ids[0]], "bad": [ids[4]]}
        pilot = simulate_pilot(bank, candidates_per_role=params.pilot_candidates_per_role, seed=params.seed,
                               dif_questions=tuple(planted["dif"]), bad_questions=tuple(planted["bad"]))
    evaluation = evaluate_question_set(bank, name=t("s02.bank_name", ctx.lang), dictionary=dictionary, model=model, pilot=pilot,
                                       source={"generator": "workbench.questions.generate", "seed": params.seed, "competency_model": model["version"]},
                                       dif_columns=("gender",) if pilot is not None else (), lang=ctx.lang)
    write_csv_safe(bank[BANK_COLUMNS], ctx.path("question_bank.csv"))
    evaluation.save(ctx.path("evaluation"))
    ctx.path("pilot_faults.json").write_text(json.dumps(planted, ensure_ascii=False, indent=2), encoding="utf-8")
    metrics = {"in_use.questions": len(usable), "in_use.unusable": int((~usable["usable"]).sum())}
    for prefix, ev in (("in_use", in_use), ("bank", evaluation)):
        summary = ev.summary()
        metrics.update({f"{prefix}.{k}": v for k, v in summary.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)})
    if evaluation.item_stats is not None and len(evaluation.item_stats.dif):
        dif = evaluation.item_stats.dif
        metrics["bank.dif_class_C"] = int((dif["ets_class"] == "C").sum())
        metrics["bank.planted_dif_detected"] = bool(dif.loc[dif["question_id"].isin(planted["dif"]), "ets_class"].isin(["B", "C"]).all()) if planted["dif"] else None
    ctx.publish_metrics(metrics)
    return Result(in_use=in_use, usable=usable, bank=evaluation, planted=planted)


def report(result: Result, lang: str = "zh") -> Report:
    rep = Report(t("stage.02_question_bank", lang), lang)
    rep.paragraph(t("s02.intro", lang))
    unusable = result.usable[~result.usable["usable"]]
    rep.heading(t("s02.h.in_use", lang)).paragraph(t("s02.in_use_note", lang, n=len(result.usable), unusable=len(unusable)))
    rep.html(result.in_use._repr_html_())
    rep.heading(t("s02.h.bank", lang)).paragraph(t("s02.bank_note", lang))
    rep.html(result.bank._repr_html_())
    return rep


STAGE = StageDef("02_question_bank", Params, run, report, requires=("00_intake", "01_competency_model"))
