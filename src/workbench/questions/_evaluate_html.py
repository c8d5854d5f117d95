"""HTML of a question-set evaluation (:class:`workbench.questions.evaluate.QuestionSetEvaluation`): presentation only."""

from __future__ import annotations

import pandas as pd

from .._tabular import escape
from ..i18n import label, t
from .evaluate import _isna

__all__ = ["render_question_set"]


def render_question_set(self, lang: str) -> str:
    """A question-set evaluation as an HTML fragment in ``lang`` (text from the catalog, tables through the one renderer)."""
    s = self.summary()
    h = lambda key: t(key, lang)  # noqa: E731
    verdict_cls = "wb-bad" if s["verdict"] == "fail" else ("wb-warn" if s["verdict"] != "good" else "wb-ok")
    score_line = t("bench.q.score_line", lang, verdict=label("bench.verdict", s["verdict"], lang),
                   reason=t("bench.verdict_reason." + s["verdict"], lang), score=f"{s['score']:.1f}")
    coverage_value = t("bench.q.coverage_value", lang, rate=f"{s['coverage_rate']:.0%}", weighted=f"{s['weighted_coverage_rate']:.0%}",
                       missing=s["missing_competencies"])
    quality_value = t("bench.q.quality_value", lang, n=s["quality_flagged"], rate=f"{s['quality_flag_rate']:.0%}")

    def line(key: str, value: str, cls: str = "") -> str:
        return f"<tr><th>{escape(key)}</th><td{f' class={cls}' if cls else ''}>{escape(value)}</td></tr>"

    parts = [
        f"<h2>{escape(t('bench.q.title', lang, name=self.name))}</h2>",
        f"<p class='{verdict_cls}' style='font-size:16px'>{escape(score_line)}</p>",
        "<table><tbody>",
        line(h("bench.q.n_questions"), t("bench.q.n_questions_value", lang, n=s["questions"], q=s["quarantined_rows"])),
        line(h("bench.q.roles"), str(s["roles"])),
        line(t("bench.q.coverage", lang, k=self.params.get("min_per_competency", 3)), coverage_value),
        line(h("bench.q.legal"), t("bench.q.legal_value", lang, n=s["legal_violations"]), "wb-bad" if s["legal_violations"] else "wb-ok"),
        line(h("bench.q.quality"), quality_value),
        line(h("bench.q.duplicates"), t("bench.q.duplicates_value", lang, same=s["near_duplicate_pairs"], cross=s["cross_role_duplicate_pairs"])),
        line(h("bench.q.references"), t("bench.q.references_value", lang, n=s["reference_problems"]), "wb-warn" if s["reference_problems"] else "wb-ok"),
        line(h("bench.q.rubric"), f"{s['with_rubric_share']:.0%}"),
    ]
    if "median_alpha" in s:
        parts.append(f"<tr><th>{escape(h('bench.q.pilot'))}</th><td>{_pct(s.get('items_flagged_share'))} / {_fmt(s.get('median_alpha'))}</td></tr>")
    parts.append("</tbody></table>")
    cols = lambda *keys: [h(f"bench.col.{k}") for k in keys]  # noqa: E731
    legal, quality = self._of("legal"), self._of("quality")
    if len(legal):
        parts.append(f"<h3>{escape(h('bench.q.sec_legal'))}</h3>" + _table(legal, ["question_id", "row", "title", "evidence", "message", "legal_basis", "suggestion"],
                                                                        cols("question", "row", "problem", "evidence", "message", "basis", "suggestion")))
    refs = self.findings[self.findings["category"].isin(["reference", "data"])] if len(self.findings) else self.findings
    if len(refs):
        lint = self.findings[self.findings["category"].isin(["legal", "quality"])] if len(self.findings) else self.findings
        beside = {qid: "；".join(("⚠ " if c == "legal" else "") + str(ti) for ti, c in zip(g["title"], g["category"])) for qid, g in lint.groupby("question_id")}
        shown = refs.assign(lint=refs["question_id"].map(beside).fillna(""))
        parts.append(f"<h3>{escape(h('bench.q.sec_references'))}</h3>" + _table(shown, ["question_id", "row", "message", "lint"], cols("question", "row", "problem", "lint_beside")))
    if len(self.mapping):
        m = self.mapping.assign(
            kind=self.mapping["kind"].map(lambda k: label("bench.kind", k, lang)),
            method=self.mapping["method"].map(lambda k: label("bench.method", k, lang)),
            resolved=[f"{n}（{i}）" if i else "" for i, n in zip(self.mapping["resolved"], self.mapping["resolved_name"])],
        )
        parts.append(f"<h3>{escape(h('bench.q.sec_mapping'))}</h3><p>{escape(h('bench.q.mapping_hint'))}</p>"
                     + _table(m, ["kind", "given", "resolved", "method", "confidence", "candidate_names", "rows"], cols("kind", "given", "resolved", "method", "confidence", "candidates", "rows")))
    if len(quality):
        parts.append(f"<h3>{escape(h('bench.q.sec_quality'))}</h3>" + _table(quality, ["question_id", "row", "title", "evidence", "message", "suggestion"],
                                                                           cols("question", "row", "problem", "evidence", "message", "suggestion")))
    gaps = self.coverage[self.coverage["status"] != "ok"]
    parts.append(f"<h3>{escape(h('bench.q.sec_gaps'))}</h3>" + (_table(gaps, ["role", "dimension", "competency", "n_questions", "types"], cols("role", "dimension", "competency", "n_questions", "types"))
                                                                if len(gaps) else f"<p class='wb-ok'>{escape(h('bench.q.no_gaps'))}</p>"))
    flagged_balance = self.type_balance[self.type_balance["flags"] != ""]
    if len(flagged_balance):
        parts.append(f"<h3>{escape(h('bench.q.sec_types'))}</h3>" + _table(flagged_balance, ["role_id", "情景", "行为", "文化", "flags"], [*cols("role"), "情景", "行为", "文化", *cols("flags")]))
    if len(self.redundancy):
        r = self.redundancy.assign(scope=self.redundancy["scope"].map(lambda k: label("bench.scope", k, lang)))
        parts.append(f"<h3>{escape(h('bench.q.sec_duplicates'))}</h3>" + _table(r, ["question_a", "question_b", "scope", "similarity", "text_a", "text_b"],
                                                                              cols("question_a", "question_b", "scope", "similarity", "text_a", "text_b")))
    if len(self.quarantine):
        parts.append(f"<h3>{escape(h('bench.q.sec_quarantine'))}</h3>" + _table(self.quarantine, ["row", "column", "reason"], cols("row", "column", "reason")))
    if self.item_stats is not None:
        parts.append(self.item_stats.to_html(lang))
    return "<div class='wb-qset'>" + "".join(parts) + "</div>"


def _pct(v) -> str:
    return "—" if v is None else f"{v:.0%}"


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def _table(frame: pd.DataFrame, cols: list[str], headers: list[str]) -> str:
    """One table through the reports' table renderer (the one escaping path); every row is shown."""
    from ..reports import render_table

    shown = frame[cols].astype(object)
    return render_table(shown, labels=dict(zip(cols, headers)), formats=dict.fromkeys(cols, lambda v: "" if _isna(v) else str(v)),
                        max_rows=max(len(shown), 1))
