"""Stage 04 — explanations: what the scorer learned, why each answer got its score, feedback for candidates.

Exact Shapley values of the linear scorer (``workbench.explain``; the background is the training answers' mean
feature vector the scorer keeps) — per competency, which words, phrases and evidence features drive scores; a
gallery of high, low and borderline answers with their highlights; the answers routed to a person and why; a proxy
check for words tied to protected attributes (dialect, gendered words, place names), whose flagged terms feed the
fairness stage's mitigation; a faithfulness test; and per candidate and dimension the feedback the export stage
carries into each record (``candidate_feedback.jsonl``).

Answer texts are personal data: the report shows them (gallery highlights, quotations in feedback examples) only
for a synthetic cohort, or when ``show_answer_texts`` is set for an internal HR-science report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._tabular import write_csv_safe
from ..i18n import label, t
from ..pipeline import StageContext
from ..reports import Report
from ._base import StageDef, StageParams, param

__all__ = ["Params", "Result", "run", "report", "STAGE", "FEEDBACK_FILE", "PROXY_FILE"]

FEEDBACK_FILE = "candidate_feedback.jsonl"
PROXY_FILE = "proxy_terms.json"


@dataclass(frozen=True)
class Params(StageParams):
    global_sample: int = param(3000, "answers explained for the global view and the proxy check (0: all)")
    top_k: int = param(10, "attributions kept per answer")
    gallery_per_kind: int = param(1, "answers per competency and kind (high, low, borderline) in the gallery")
    gallery_competencies: int = param(4, "competencies shown in the gallery (those with most answers)")
    faithfulness_sample: int = param(200, "answers in the faithfulness test")
    show_answer_texts: bool = param(False, "show answer texts (highlights, quotations) also for a bank's own data: an internal report")
    seed: int = param(7, "random seed")


@dataclass
class Result:
    summary: pd.DataFrame
    importance: pd.DataFrame
    shown: list  # competencies drawn in the global view and the gallery
    gallery_html: str | None
    routed: pd.DataFrame
    proxy: pd.DataFrame
    mask_terms: tuple
    faithfulness: pd.DataFrame
    feedback_examples: pd.DataFrame
    n_candidates: int
    show_texts: bool
    labels: dict


def run(ctx: StageContext, params: Params) -> Result:
    from ..explain import FeedbackEvidence, candidate_feedback, explain_answers, faithfulness, gallery, gallery_html, global_importance, proxy_check

    scorer = ctx.scorer
    scored = ctx.answer_dataset
    answers = ctx.tables["answers"][["answer_id", "answer_text"]]
    questions = ctx.questions[["question_id", "text"]].rename(columns={"text": "question_text"})
    data = scored.merge(answers, on="answer_id").merge(questions, on="question_id", how="left")
    data = data.rename(columns={"answer_text": "answer"})[["answer_id", "candidate_id", "competency", "question_id", "question_text", "answer",
                                                           "machine", "advisories", "route"]]
    synthetic = (ctx.run_dir / "inputs" / "cohort").is_dir()
    show_texts = synthetic or params.show_answer_texts
    labels = {c: ctx.dictionary.competencies[c].label(ctx.lang) for c in ctx.dictionary.competencies}

    # every answer: the feedback each candidate receives
    evidence = FeedbackEvidence(len(data))  # the feedback's quotations and cues from the same attributions
    everything = explain_answers(scorer, data, top_k=params.top_k, on_batch=evidence)
    feedback = candidate_feedback(everything, ctx.candidate_scores, lang=ctx.lang, evidence=evidence)
    with open(ctx.path(FEEDBACK_FILE), "w", encoding="utf-8") as handle:
        for record in feedback.records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    # a sample for the global view, the proxy check and the gallery (the same view as all answers, at a fraction of the cost)
    rng = np.random.default_rng(params.seed)
    rows = np.sort(rng.choice(len(data), size=params.global_sample, replace=False)) if 0 < params.global_sample < len(data) else np.arange(len(data))
    sample = explain_answers(scorer, data.iloc[rows].reset_index(drop=True), top_k=params.top_k)
    importance = global_importance(sample)
    write_csv_safe(importance, ctx.path("global_importance.csv"))
    counts = data["competency"].value_counts()
    shown = [c for c in counts.index[: params.gallery_competencies]]
    picks = gallery(sample, scorer, per_kind=params.gallery_per_kind, competencies=shown)
    write_csv_safe(picks.assign(answer_id=sample.answers["answer_id"].to_numpy()[picks["row"].to_numpy(int)]).drop(columns=["row"]),
                   ctx.path("gallery.csv"))
    gallery_fragment = gallery_html(sample, picks, lang=ctx.lang)._repr_html_() if show_texts else None

    proxy = proxy_check(sample)
    mask = proxy.mask_terms()
    ctx.path(PROXY_FILE).write_text(json.dumps({"mask_terms": list(mask), "reference": proxy.reference, "reference_kind": proxy.reference_kind},
                                               ensure_ascii=False, indent=2), encoding="utf-8")
    write_csv_safe(proxy.terms, ctx.path("proxy_check.csv"))

    faith = faithfulness(sample, sample=min(params.faithfulness_sample, len(sample)), seed=params.seed)
    write_csv_safe(faith.summary, ctx.path("faithfulness.csv"))

    routed = _routed(data)
    write_csv_safe(routed, ctx.path("routed_answers.csv"))
    examples = feedback.to_frame()
    examples = examples.head(6) if show_texts else examples.head(0)

    summary = everything.summary(ctx.lang)
    fs = faith.summary.iloc[0]
    ctx.publish_metrics({
        "answers_explained": len(everything), "method": everything.method, "seconds_all_answers": round(everything.cost.get("seconds", 0.0), 2),
        "additivity_error": float(everything.additivity_error()), "candidates_with_feedback": len({r["candidate_id"] for r in feedback.records}),
        "feedback_max_bytes": int(feedback.to_frame()["message_bytes"].max()) if len(feedback.records) else 0,
        "proxy_terms_flagged": len(mask), "faithfulness.drop_top": float(fs["mean_drop_top"]), "faithfulness.drop_random": float(fs["mean_drop_random"]),
        "faithfulness.p_value": float(fs["wilcoxon_p"]), "answers_routed_to_human": int((data["route"] == "human").sum()),
    })
    return Result(summary=summary, importance=importance, shown=shown, gallery_html=gallery_fragment, routed=routed,
                  proxy=proxy.display_table(ctx.lang), mask_terms=mask, faithfulness=faith.summary, feedback_examples=examples,
                  n_candidates=len({r["candidate_id"] for r in feedback.records}), show_texts=show_texts, labels=labels)


def _routed(data: pd.DataFrame) -> pd.DataFrame:
    """Answers routed to a person, by competency and advisory (counts only: no answer text, no candidate)."""
    routed = data[data["route"] == "human"]
    if routed.empty:
        return pd.DataFrame(columns=["competency", "advisory", "answers"])
    codes = routed.assign(advisory=routed["advisories"].fillna("").str.split(";")).explode("advisory")
    codes = codes[codes["advisory"] != ""]
    return codes.groupby(["competency", "advisory"]).size().rename("answers").reset_index().sort_values(["competency", "answers"], ascending=[True, False])


def report(result: Result, lang: str = "zh") -> Report:
    rep = Report(t("stage.04_explanations", lang), lang)
    rep.paragraph(t("s04.intro", lang))
    rep.table(result.summary, labels={"item": "", "value": ""})
    from ..explain import global_figure

    rep.heading(t("s04.h.global", lang)).paragraph(t("s04.global_note", lang))
    # the summed value of the n-grams an answer does not contain is part of every score but says nothing about words
    present = result.importance[result.importance["kind"] != "absent"]
    for comp in result.shown:
        rep.heading(result.labels.get(comp, comp), level=3)
        rep.figure(global_figure(present, comp, groups=("words", "chars"), lang=lang))
        rep.figure(global_figure(present, comp, groups=("evidence", "bei", "relevant"), lang=lang))
    rep.heading(t("s04.h.gallery", lang))
    if result.gallery_html:
        rep.note(t("s04.contains_answers", lang), "warn").html(result.gallery_html)
    else:
        rep.note(t("s04.texts_hidden", lang), "muted")
    rep.heading(t("s04.h.routed", lang)).paragraph(t("s04.routed_note", lang))
    routed = result.routed.copy()
    routed["competency"] = routed["competency"].map(lambda c: result.labels.get(c, c))
    routed["advisory"] = routed["advisory"].map(lambda c: label("advisory", c, lang))
    rep.table(routed, empty=t("s04.nothing_routed", lang))
    rep.heading(t("s04.h.proxy", lang)).paragraph(t("s04.proxy_note", lang))
    if result.mask_terms:
        rep.note(t("s04.proxy_flagged", lang, terms=t("report.list_sep", lang).join(result.mask_terms)), "warn")
    else:
        rep.note(t("s04.proxy_none", lang), "ok")
    flagged_first = result.proxy.sort_values(["flagged", "mean_abs_value"], ascending=[False, False])
    rep.table(flagged_first.head(30), formats={"mean_value": "{:+.4f}", "mean_abs_value": "{:.4f}"},
              classes={"flagged": lambda v, r: "wb-bad" if v else ""})
    rep.heading(t("s04.h.faithfulness", lang)).paragraph(t("s04.faithfulness_note", lang))
    rep.table(result.faithfulness, formats={"wilcoxon_p": "{:.1e}", "share_top_larger": "{:.0%}"})
    rep.heading(t("s04.h.feedback", lang)).paragraph(t("s04.feedback_note", lang, n=f"{result.n_candidates:,}"))
    if len(result.feedback_examples):
        examples = result.feedback_examples[["dimension", "score", "role_mean", "message", "message_bytes"]].copy()
        examples["dimension"] = examples["dimension"].map(lambda d: label("dimension", d, lang))
        rep.table(examples)
    return rep


STAGE = StageDef("04_explanations", Params, run, report, requires=("00_intake", "01_competency_model", "02_question_bank", "03_scoring"))
