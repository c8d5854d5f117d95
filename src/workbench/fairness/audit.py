"""The fairness audit a compliance reviewer reads: the decisions of the one decision rule and the dimension scores by
protected attribute, with the regulatory layer (impact ratios, exact four-fifths verdicts, significance, intervals,
small samples, one-person flips), the scorer-versus-human comparison, a lawful mitigation and a plain-language verdict.

The decisions come from :func:`workbench.decisions.decide` with the same :class:`~workbench.decisions.DecisionRule`
as the export stage, and three outcomes are audited per attribute:

* ``machine_advance`` — what the machine alone would do (the rule's ranking, before any review);
* ``advance`` — the recorded outcome ``decision == "advance"`` (a candidate sent to human review does not count);
* ``human_review`` — ``decision == "human_review"``: being sent to a person, by group (rates and ratios, no verdict).

Data (tables, metrics, the audit-log record) holds codes; sentences come from the message catalog
(``workbench/messages/fairness.yaml``) when the report is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .._tabular import escape
from ..errors import DataError
from ..i18n import label, resolve_lang, t
from ._impact import UNKNOWN_LABEL, impact_table
from ._scores import scorer_vs_human
from ._tests import adjust_pvalues, bootstrap_intervals, cmh_test

__all__ = [
    "AuditResult", "OUTCOMES", "AUDITED_OUTCOMES", "PROVINCE_REGION", "VERDICT_FLAG", "VERDICT_WATCH", "VERDICT_OK",
    "add_region", "advance_decision", "attribute_name", "decision_outcomes", "flagged_attributes", "omnibus_tests", "run_audit",
]

PROVINCE_REGION = {
    **dict.fromkeys(("北京", "天津", "河北", "山西", "内蒙古"), "华北"),
    **dict.fromkeys(("辽宁", "吉林", "黑龙江"), "东北"),
    **dict.fromkeys(("上海", "江苏", "浙江", "安徽", "福建", "江西", "山东", "台湾"), "华东"),
    **dict.fromkeys(("河南", "湖北", "湖南"), "华中"),
    **dict.fromkeys(("广东", "广西", "海南", "香港", "澳门"), "华南"),
    **dict.fromkeys(("重庆", "四川", "贵州", "云南", "西藏"), "西南"),
    **dict.fromkeys(("陕西", "甘肃", "青海", "宁夏", "新疆"), "西北"),
}
# verdict codes (labels: fairness.verdict.<code>), worst first
VERDICT_FLAG, VERDICT_WATCH, VERDICT_OK = "adverse_impact", "monitor", "no_adverse_impact"
VERDICTS = (VERDICT_FLAG, VERDICT_WATCH, VERDICT_OK)
# outcome codes (labels: fairness.outcome.<code>); the first two get impact ratios, tests and verdicts
OUTCOMES = ("machine_advance", "advance", "human_review")
AUDITED_OUTCOMES = ("machine_advance", "advance")
SCORES = ("machine_professional", "machine_general", "machine_culture", "machine_overall")


def attribute_name(attribute: str, lang: str | None = None) -> str:
    """Display name of an attribute code, or of an intersection ``"gender × hukou_type"`` (each part labelled)."""
    return " × ".join(label("fairness.attribute", part.strip(), lang) for part in str(attribute).split("×"))


def _flag(value) -> bool:
    """Nullable booleans (adverse is NA where no ratio exists) → plain bool."""
    return False if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else bool(value)


def _flags(series: pd.Series) -> pd.Series:
    return series.map(_flag).astype(bool)


def add_region(candidates: pd.DataFrame) -> pd.DataFrame:
    out = candidates.copy()
    if "home_province" in out.columns:
        out["region"] = pd.Series([PROVINCE_REGION.get(p) if isinstance(p, str) else None for p in out["home_province"]], index=out.index, dtype=object)
    else:
        out["region"] = None
    return out


def advance_decision(scores: pd.DataFrame, *, score: str = "machine_overall", top_share: float = 0.2, by: str = "role_id") -> pd.Series:
    """1 for the top ``top_share`` of each role by ``score`` (ties broken by candidate id, deterministically).

    The machine's selection of :func:`workbench.decisions.advance` (no review); the audit itself audits the full rule
    through :func:`decision_outcomes`.
    """
    from ..decisions import DecisionRule, advance

    if not 0 < top_share < 1:
        raise DataError(f"top_share must be between 0 and 1, got {top_share}")
    return advance(scores, rule=DecisionRule(top_share=top_share, score=score, by=by))


def decision_outcomes(scores: pd.DataFrame, *, rule=None, answer_scores: pd.DataFrame | None = None, candidates: pd.DataFrame | None = None,
                      review_requested=None) -> pd.DataFrame:
    """Per row of ``scores`` (one per candidate, stage 03): the outcomes the audit tests, from
    :func:`workbench.decisions.decide` — exactly what :func:`workbench.decisions.make_decisions` records for the
    same inputs and rule.

    ``answer_scores`` (per answer, the scorer's ``route`` / ``advisories``) routes candidates to human review;
    ``candidates`` contributes ``human_review_requested`` when present. Columns: candidate_id, machine_advance
    (0/1, the machine alone), advance (0/1, ``decision == "advance"``), human_review (0/1), decision, review_reasons.
    """
    from ..decisions import DecisionRule, decide

    rule = rule or DecisionRule()
    frame = scores.reset_index(drop=True).copy()
    frame["candidate_id"] = frame["candidate_id"].astype(str)
    if candidates is not None and "human_review_requested" in candidates.columns and "human_review_requested" not in frame.columns:
        info = candidates[["candidate_id", "human_review_requested"]].assign(candidate_id=lambda d: d["candidate_id"].astype(str))
        frame = frame.merge(info, on="candidate_id", how="left")
    decided = decide(frame, rule=rule, answer_scores=answer_scores, review_requested=review_requested)
    return pd.DataFrame({
        "candidate_id": decided["candidate_id"].to_numpy(),
        "machine_advance": decided["machine_advance"].astype(int).to_numpy(),
        "advance": (decided["decision"] == "advance").astype(int).to_numpy(),
        "human_review": (decided["decision"] == "human_review").astype(int).to_numpy(),
        "decision": decided["decision"].to_numpy(),
        "review_reasons": decided["review_reasons"].to_numpy(),
    })


def omnibus_tests(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One χ² test of independence per attribute (its non-excluded, known categories × selected/not), Holm-corrected
    across the attributes of the table.

    Significance is decided here and not by the pairwise Fisher tests against the highest-rate category: that
    reference is picked from the data, so with many categories its pairwise p-values are anti-conservative
    (a range statistic); the omnibus test has the nominal false-alarm rate.
    """
    from scipy.stats import chi2_contingency

    from ._tests import adjust_pvalues

    rows = []
    for attribute, t in table.groupby("attribute", sort=False):
        known = t[(t["category"] != UNKNOWN_LABEL) & ~_flags(t["excluded"])]
        counts = np.array([[int(r.selected), int(r.count) - int(r.selected)] for r in known.itertuples()])
        if len(counts) < 2 or (counts.sum(axis=0) == 0).any():
            rows.append({"attribute": attribute, "chi2": np.nan, "df": len(counts) - 1, "p_value": np.nan})
            continue
        chi2, p, df, _ = chi2_contingency(counts, correction=len(counts) == 2)
        rows.append({"attribute": attribute, "chi2": float(chi2), "df": int(df), "p_value": float(p)})
    out = pd.DataFrame(rows)
    mask = out["p_value"].notna()
    out["p_adjusted"] = np.nan
    if mask.any():
        out.loc[mask, "p_adjusted"] = adjust_pvalues(out.loc[mask, "p_value"].to_numpy(), method="holm")
    out["significant"] = out["p_adjusted"] < alpha
    return out


def flagged_attributes(table: pd.DataFrame, alpha: float = 0.05) -> set[str]:
    """Attributes with an adverse category (exact 4/5) whose selection differs significantly (omnibus, Holm)."""
    tests = omnibus_tests(table, alpha).set_index("attribute")
    out = set()
    for attribute, t in table.groupby("attribute", sort=False):
        rows = t[(~_flags(t["excluded"])) & (t["category"] != UNKNOWN_LABEL)]
        if _flags(rows["adverse"]).any() and bool(tests.loc[attribute, "significant"]):
            out.add(attribute)
    return out


def _attribute_verdict(table: pd.DataFrame, alpha: float, significant_attribute: bool = False) -> tuple[str, list[dict]]:
    """(verdict code, reasons): each reason is a record of codes and numbers, rendered by the report."""
    rows = table[(~_flags(table["excluded"])) & (table["category"] != UNKNOWN_LABEL) & table["impact_ratio"].notna()]
    adverse = rows[_flags(rows["adverse"])]
    reasons = [
        {"category": str(r.category), "rate": float(r.rate), "impact_ratio": float(r.impact_ratio), "reference": str(r.reference),
         "significant": bool(significant_attribute), "flip": int(r.flip) if _flag(r.flip) and r.flip <= 3 else None}
        for r in adverse.itertuples()
    ]
    if len(adverse) and significant_attribute:
        return VERDICT_FLAG, reasons
    if len(adverse):
        return VERDICT_WATCH, reasons
    return VERDICT_OK, reasons


def _holm(table: pd.DataFrame) -> pd.DataFrame:
    mask = table["p_value"].notna()
    table["p_adjusted"] = np.nan
    if mask.any():
        table.loc[mask, "p_adjusted"] = adjust_pvalues(table.loc[mask, "p_value"].to_numpy(), method="holm")
    return table


def _num(value, fmt: str) -> str:
    return "—" if value is None or pd.isna(value) else format(value, fmt)


@dataclass
class AuditResult:
    config: dict
    selection: pd.DataFrame  # impact rows of every outcome (column ``outcome``: machine_advance | advance | human_review)
    intervals: pd.DataFrame  # bootstrap intervals of the audited outcomes (column ``outcome``)
    scoring: dict[str, pd.DataFrame]
    verdicts: pd.DataFrame  # outcome, attribute, verdict (code), reasons (records), min_ratio
    score_verdicts: pd.DataFrame
    stratified: pd.DataFrame
    machine_vs_human: pd.DataFrame
    mitigation: pd.DataFrame | None
    source: dict
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)  # per candidate (internal ids): never rendered or logged
    audit_date: str = field(default_factory=lambda: datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d"))

    @property
    def overall_verdict(self) -> str:
        all_verdicts = set(self.verdicts["verdict"]) | set(self.score_verdicts["verdict"] if len(self.score_verdicts) else [])
        return next((v for v in VERDICTS if v in all_verdicts), VERDICT_OK)

    def outcome_counts(self) -> dict:
        d = self.decisions
        if not len(d):
            return {}
        return {"machine_advance": int(d["machine_advance"].sum()), "advance": int((d["decision"] == "advance").sum()),
                "reject": int((d["decision"] == "reject").sum()), "human_review": int((d["decision"] == "human_review").sum())}

    def record(self) -> dict:
        """What the audit log keeps: no personal data, only the decision-relevant summary (codes and numbers)."""
        return {
            "audit_date": self.audit_date,
            "source": self.source,
            "parameters": self.config,
            "overall_verdict": self.overall_verdict,
            "verdicts": {f"{r.outcome}|{r.attribute}": r.verdict for r in self.verdicts.itertuples()},
            "score_verdicts": {f"{r.score}|{r.attribute}": r.verdict for r in self.score_verdicts.itertuples()},
            "outcome_counts": self.outcome_counts(),
        }

    def metrics(self) -> dict:
        flagged = self.verdicts[self.verdicts["verdict"] == VERDICT_FLAG]
        out = {"overall_verdict": self.overall_verdict, "attributes_flagged": int(flagged["attribute"].nunique())}
        for r in self.verdicts.itertuples():
            out[f"verdict[{r.outcome}|{r.attribute}]"] = r.verdict
            out[f"min_impact_ratio[{r.outcome}|{r.attribute}]"] = None if pd.isna(r.min_ratio) else round(float(r.min_ratio), 4)
        counts = self.outcome_counts()
        out.update({f"outcome.{k}": v for k, v in counts.items()})
        review = self.selection[(self.selection["outcome"] == "human_review") & (self.selection["category"] != UNKNOWN_LABEL)]
        for attribute, table in review.groupby("attribute", sort=False):
            rates = table.loc[~_flags(table["excluded"]), "rate"]
            out[f"human_review_rate_range[{attribute}]"] = None if rates.empty else round(float(rates.max() - rates.min()), 4)
        return out

    # -- rendering ------------------------------------------------------------------------------------------
    def to_html(self, *, lang: str = "zh") -> str:
        """A standalone offline page with the report."""
        from ..reports import render_page

        return render_page(t("fairness.page_title", lang), self.render(lang=lang), lang=lang)

    def _repr_html_(self) -> str:
        return self.render(lang=self.config.get("lang", "zh"))

    def rule_text(self, lang: str | None = None) -> str:
        rule = self.config.get("decision_rule") or {"mode": "top_share", "top_share": self.config["advance_top_share"], "borderline_points": 0}
        points = rule.get("borderline_points") or 0
        if rule.get("mode") == "cut_score":
            text = t("fairness.rule.cut_score", lang, cut=f"{rule['cut_score']:g}", points=f"{points:g}")
        else:
            text = t("fairness.rule.top_share", lang, share=f"{rule['top_share']:.0%}", points=f"{points:g}")
        return text + ("" if points else t("fairness.rule.no_band", lang))

    def render(self, *, lang: str = "zh") -> str:
        """The reviewer's report as an HTML fragment (every text from the catalog, escaped in the report layer)."""
        from ..reports import Report

        lang = resolve_lang(lang)
        k = self.config["suppress_below"]
        rep = Report("", lang)
        rep.heading(t("fairness.title", lang), 2)
        rep.html(self._meta_html(lang))
        v = self.overall_verdict
        rep.note(label("fairness.verdict", v, lang), {VERDICT_FLAG: "error", VERDICT_WATCH: "warn", VERDICT_OK: "ok"}[v])
        rep.heading(t("fairness.h.verdict", lang), 3)
        rep.html(self._reasons_html(lang))
        rep.note(t("fairness.benchmark", lang), "muted")
        iv = self.intervals.set_index(["outcome", "attribute", "category"]) if len(self.intervals) else None
        for outcome in OUTCOMES:
            rows = self.selection[self.selection["outcome"] == outcome]
            if not len(rows):
                continue
            rep.heading(t(f"fairness.h.outcome.{outcome}", lang), 3)
            rep.paragraph(t(f"fairness.outcome_note.{outcome}", lang))
            if outcome == "human_review":
                counts = self.outcome_counts()
                n = len(self.decisions)
                if n:
                    rep.paragraph(t("fairness.human_review_overall", lang, rate=f"{counts['human_review'] / n:.1%}", n=n, k=counts["human_review"]))
            omnibus = omnibus_tests(rows, self.config["alpha"]).set_index("attribute")
            for attribute, table in rows.groupby("attribute", sort=False):
                rep.heading(attribute_name(attribute, lang), 4)
                caption = t("fairness.omnibus", lang, p=_num(omnibus.loc[attribute, "p_adjusted"], ".3f")) if outcome == "human_review" else ""
                rep.html(self._impact_table(outcome, attribute, table, iv, k, lang, caption))
                unknown = int(table["unknown_count"].iloc[0]) if "unknown_count" in table.columns else 0
                rep.note(t("fairness.foot", lang, unknown=unknown, k=k), "muted")
        rep.heading(t("fairness.h.scoring", lang), 3)
        for score, table in self.scoring.items():
            rep.heading(label("fairness.score", score, lang), 4)
            rep.html(self._scoring_table(table[table["category"] != UNKNOWN_LABEL], k, lang))
        if len(self.stratified):
            rep.heading(t("fairness.h.stratified", lang), 3)
            rep.html(self._stratified_table(lang))
        rep.heading(t("fairness.h.scorer_vs_human", lang), 3)
        rep.paragraph(t("fairness.scorer_vs_human_note", lang))
        rep.html(self._mvh_table(k, lang))
        if self.mitigation is not None and len(self.mitigation):
            rep.heading(t("fairness.h.mitigation", lang), 3)
            rep.paragraph(t("fairness.mitigation_note", lang))
            rep.html(self._mitigation_table(lang))
        rep.heading(t("fairness.h.appendix", lang), 3)
        rep.html(self._appendix(lang))
        return "<div class='wb-audit'>" + rep._body() + "</div>"

    def _meta_html(self, lang: str) -> str:
        items = [
            ("audit_date", self.audit_date),
            ("source", self.source.get("description", "")),
            ("scorer", t("fairness.meta.scorer_value", lang, version=self.source.get("model_version", ""), sha=str(self.source.get("model_sha256", ""))[:16])),
            ("rule", self.rule_text(lang)),
            ("candidates", f"{self.source.get('n_candidates', 0):,}"),
        ]
        counts = self.outcome_counts()
        if counts:
            items.append(("outcomes", t("fairness.meta.outcomes_value", lang, **counts)))
        body = "".join(f"<tr><th>{escape(t(f'fairness.meta.{key}', lang))}</th><td>{escape(value)}</td></tr>" for key, value in items)
        return f"<table><tbody>{body}</tbody></table>"

    def _reason_text(self, reason: dict, mode: str, lang: str) -> str:
        text = t("fairness.reason", lang, category=reason["category"], rate_word=t(f"fairness.rate_word.{mode}", lang), rate=f"{reason['rate']:.1%}",
                 ratio=f"{reason['impact_ratio']:.3f}", reference=reason["reference"],
                 significance=t("fairness.significant" if reason["significant"] else "fairness.not_significant", lang))
        return text + (t("fairness.reason.flip", lang, flip=reason["flip"]) if reason.get("flip") is not None else "")

    def _reasons_html(self, lang: str) -> str:
        items = []
        for r in self.verdicts.itertuples():
            head = t("fairness.reason_line", lang, name=attribute_name(r.attribute, lang), outcome=label("fairness.outcome_short", r.outcome, lang),
                     verdict=label("fairness.verdict", r.verdict, lang))
            items.append((head, [self._reason_text(x, "selection", lang) for x in r.reasons]))
        for r in self.score_verdicts[self.score_verdicts["verdict"] != VERDICT_OK].itertuples() if len(self.score_verdicts) else ():
            head = t("fairness.reason_line_score", lang, score=label("fairness.score", r.score, lang), name=attribute_name(r.attribute, lang),
                     verdict=label("fairness.verdict", r.verdict, lang))
            items.append((head, [self._reason_text(x, "scoring", lang) for x in r.reasons]))
        lis = "".join(f"<li><b>{escape(head)}</b>" + "".join(f"<br>· {escape(x)}" for x in reasons) + "</li>" for head, reasons in items)
        return f"<ul>{lis}</ul>"

    def _impact_table(self, outcome: str, attribute: str, table: pd.DataFrame, iv, k: int, lang: str, caption: str = "") -> str:
        from ..reports import render_table

        review = outcome == "human_review"
        rows = []
        for r in table[table["category"] != UNKNOWN_LABEL].itertuples():
            small = r.count < k
            key = (outcome, attribute, r.category)
            ci = iv.loc[key] if iv is not None and key in iv.index else None
            excluded, adverse = _flag(r.excluded), _flag(r.adverse)
            p = getattr(r, "p_adjusted", r.p_value)
            notes = []
            if r.count < 30 and not small:
                notes.append(t("fairness.note.small_sample", lang))
            if not review and adverse and _flag(r.flip) and r.flip <= 1:
                notes.append(t("fairness.note.one_person_flip", lang))
            row = {
                "category": r.category,
                "count": f"<{k}" if small else f"{r.count:,}",
                "selected": f"<{k}" if small or r.selected < k else f"{r.selected:,}",
                "rate": "—" if small else f"{r.rate:.1%}",
                "rate_ci": "—" if small or ci is None or pd.isna(ci["rate_ci_low"]) else f"{ci['rate_ci_low']:.1%}–{ci['rate_ci_high']:.1%}",
                "impact_ratio": "—" if small or pd.isna(r.impact_ratio) else f"{r.impact_ratio:.3f}",
                "ratio_ci": "—" if small or ci is None or pd.isna(ci.get("ratio_ci_low", np.nan)) else f"{ci['ratio_ci_low']:.2f}–{ci['ratio_ci_high']:.2f}",
                "p_adjusted": "—" if small else _num(p, ".3f"),
                "flag": (t("fairness.flag.excluded", lang, share=f"{self.config['min_share']:.0%}") if excluded
                         else (t("fairness.flag.adverse", lang) if adverse else "—")),
                "note": t("fairness.note_sep", lang).join(notes),
                "_bad": adverse and not excluded,
            }
            rows.append(row)
        frame = pd.DataFrame(rows)
        if review:  # rates and ratios only: a higher or lower review rate is not judged by the four-fifths rule
            frame = frame[["category", "count", "selected", "rate", "impact_ratio", "note", "_bad"]]
            labels = {"category": t("fairness.col.category", lang), "count": t("fairness.col.count", lang), "selected": t("fairness.col.reviewed", lang),
                      "rate": t("fairness.col.review_rate", lang), "impact_ratio": t("fairness.col.ratio_to_max", lang), "note": t("fairness.col.note", lang)}
        else:
            labels = {c: t(f"fairness.col.{c}", lang) for c in frame.columns if not c.startswith("_")}
        return render_table(frame, labels=labels, hide=["_bad"], classes={"flag": lambda v, row: "wb-bad" if row["_bad"] else ""}, lang=lang, caption=caption)

    def _scoring_table(self, table: pd.DataFrame, k: int, lang: str) -> str:
        from ..reports import render_table

        rows = []
        for r in table.itertuples():
            small = r.count < k
            bad = _flag(r.adverse) and not _flag(r.excluded)
            rows.append({"attribute": attribute_name(r.attribute, lang), "category": r.category, "count": f"<{k}" if small else f"{r.count:,}",
                         "scoring_rate": "—" if small else f"{r.rate:.1%}", "impact_ratio": "—" if small or pd.isna(r.impact_ratio) else f"{r.impact_ratio:.3f}",
                         "flag": t("fairness.flag.adverse", lang) if bad else "", "_bad": bad})
        frame = pd.DataFrame(rows)
        labels = {c: t(f"fairness.col.{c}", lang) for c in frame.columns if not c.startswith("_")}
        return render_table(frame, labels=labels, hide=["_bad"], classes={"flag": lambda v, row: "wb-bad" if row["_bad"] else ""}, lang=lang)

    def _stratified_table(self, lang: str) -> str:
        from ..reports import render_table

        s = self.stratified
        frame = pd.DataFrame({
            "outcome": [label("fairness.outcome_short", o, lang) for o in s["outcome"]],
            "attribute": [attribute_name(a, lang) for a in s["attribute"]],
            "comparison": [f"{f} vs {r}" for f, r in zip(s["focal"], s["reference"])],
            "odds_ratio": s.get("odds_ratio", pd.Series(np.nan, index=s.index)).map(lambda v: _num(v, ".3f")),
            "cmh_p": s.get("p_value", pd.Series(np.nan, index=s.index)).map(lambda v: _num(v, ".3f")),
            "breslow_day_p": s.get("breslow_day_p", pd.Series(np.nan, index=s.index)).map(lambda v: _num(v, ".3f")),
            "note": [label("fairness.stratified", n, lang) for n in s["note"]],
        })
        return render_table(frame, labels={c: t(f"fairness.col.{c}", lang) for c in frame.columns}, lang=lang)

    def _mvh_table(self, k: int, lang: str) -> str:
        from ..reports import render_table

        mvh = self.machine_vs_human
        if not len(mvh):
            return render_table(mvh, lang=lang)
        mvh = mvh[mvh["category"] != UNKNOWN_LABEL]
        rows = []
        for r in mvh.itertuples():
            small = r.n < k
            rows.append({"attribute": attribute_name(r.attribute, lang), "category": r.category, "count": f"<{k}" if small else f"{r.n:,}",
                         "human_smd": "—" if small else _num(r.human_smd, ".3f"), "machine_smd": "—" if small else _num(r.machine_smd, ".3f"),
                         "gap_change": "—" if small else _num(r.gap_change, ".3f"), "effect": "—" if small else label("fairness.effect", r.effect, lang)})
        frame = pd.DataFrame(rows)
        return render_table(frame, labels={c: t(f"fairness.col.{c}", lang) for c in frame.columns}, lang=lang)

    def _mitigation_table(self, lang: str) -> str:
        from ..reports import render_table

        m = self.mitigation
        frame = m.copy()
        frame["scorer"] = [label("fairness.scorer", s, lang) for s in m["scorer"]]
        labels = {"scorer": t("fairness.col.scorer", lang), "qwk": t("fairness.col.qwk", lang), "r": t("fairness.col.r", lang)}
        for col in frame.columns:
            if col.startswith("min_impact_ratio["):  # min_impact_ratio[<outcome>|<attribute>]
                outcome, _, attribute = col[len("min_impact_ratio["):-1].partition("|")
                if not attribute:
                    outcome, attribute = "machine_advance", outcome
                labels[col] = t("fairness.col.min_ratio", lang, attribute=attribute_name(attribute, lang), outcome=label("fairness.outcome_short", outcome, lang))
        return render_table(frame, labels=labels, lang=lang)

    def _appendix(self, lang: str) -> str:
        c = self.config
        items = [
            t("fairness.appendix.rates", lang),
            t("fairness.appendix.outcomes", lang),
            t("fairness.appendix.ratio", lang),
            t("fairness.appendix.exclusion", lang, share=f"{c['min_share']:.0%}"),
            t("fairness.appendix.significance", lang),
            t("fairness.appendix.stratified", lang),
            t("fairness.appendix.flip", lang),
            t("fairness.appendix.suppression", lang, k=c["suppress_below"]),
            t("fairness.appendix.scores", lang),
        ]
        return "<ol>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ol>"


def _outcome_table(data: pd.DataFrame, outcome: str, attributes: list[str], intersections, min_share: float) -> pd.DataFrame:
    blocks = [impact_table(data, by=a, selected=outcome, min_share=min_share) for a in attributes]
    for combo in intersections or []:
        inter = impact_table(data, by=list(combo), selected=outcome, min_share=min_share)
        blocks.append(inter[inter["attribute"].str.contains("×")])
    table = _holm(pd.concat(blocks, ignore_index=True))
    table.insert(0, "outcome", outcome)
    return table


def run_audit(
    candidates: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    attributes: list[str],
    intersections: list[list[str]] | None = None,
    rule=None,
    answer_scores: pd.DataFrame | None = None,
    review_requested=None,
    advance_top_share: float = 0.2,
    min_share: float = 0.02,
    alpha: float = 0.05,
    n_boot: int = 200,
    suppress_below: int = 5,
    strata: str = "site",
    seed: int = 7,
    source: dict | None = None,
    mitigation: pd.DataFrame | None = None,
    lang: str = "zh",
) -> AuditResult:
    """Audit the decisions of ``rule`` and the dimension scores of ``scores`` (one row per candidate, from stage 03).

    ``rule`` is the :class:`workbench.decisions.DecisionRule` the export stage decides with (default: the top
    ``advance_top_share`` of each role with the default borderline band); ``answer_scores`` (stage 03's per-answer
    scores with ``route`` / ``advisories``) and ``review_requested`` send candidates to human review as there.
    """
    from ..decisions import DecisionRule

    rule = rule if rule is not None else DecisionRule(top_share=advance_top_share)
    cands = add_region(candidates)
    missing = [a for a in attributes if a not in cands.columns]
    if missing:
        raise DataError(f"attribute column(s) {missing} not found; available: {sorted(cands.columns)}")
    extra = [c for c in ("human_review_requested",) if c in cands.columns and c not in scores.columns]
    data = scores.reset_index(drop=True).assign(candidate_id=lambda d: d["candidate_id"].astype(str)).merge(
        cands[["candidate_id", *attributes, *([strata] if strata in cands.columns else []), *extra]].assign(candidate_id=lambda d: d["candidate_id"].astype(str)),
        on="candidate_id", how="left")
    if data.empty:
        raise DataError("no scored candidates to audit")
    outcomes = decision_outcomes(data, rule=rule, answer_scores=answer_scores, review_requested=review_requested)
    for col in OUTCOMES:
        data[col] = outcomes[col].to_numpy()
    selection = pd.concat([_outcome_table(data, o, attributes, intersections, min_share) for o in OUTCOMES], ignore_index=True)
    intervals = pd.concat([
        bootstrap_intervals(data, by=a, selected=o, n_boot=n_boot, random_state=seed, min_share=min_share).assign(outcome=o)
        for o in AUDITED_OUTCOMES for a in attributes if data[o].any()
    ], ignore_index=True) if any(data[o].any() for o in AUDITED_OUTCOMES) else pd.DataFrame(columns=["outcome", "attribute", "category"])
    verdict_rows = []
    for o in AUDITED_OUTCOMES:
        rows = selection[selection["outcome"] == o]
        omnibus = omnibus_tests(rows, alpha).set_index("attribute")
        for attribute, table in rows.groupby("attribute", sort=False):
            verdict, reasons = _attribute_verdict(table, alpha, bool(omnibus.loc[attribute, "significant"]))
            ratios = table.loc[~_flags(table["excluded"]) & table["impact_ratio"].notna(), "impact_ratio"]
            verdict_rows.append({"outcome": o, "attribute": attribute, "verdict": verdict, "reasons": reasons, "min_ratio": ratios.min() if len(ratios) else np.nan})
    scoring, score_verdicts = {}, []
    for score in [c for c in SCORES if c in data.columns]:
        table = _holm(pd.concat([impact_table(data, by=a, score=score, min_share=min_share) for a in attributes], ignore_index=True))
        scoring[score] = table
        score_omnibus = omnibus_tests(table, alpha).set_index("attribute")
        for attribute, tab in table.groupby("attribute", sort=False):
            verdict, reasons = _attribute_verdict(tab, alpha, bool(score_omnibus.loc[attribute, "significant"]))
            score_verdicts.append({"score": score, "attribute": attribute, "verdict": verdict, "reasons": reasons})
    strat_rows = []
    if strata in data.columns:
        for r in verdict_rows:
            if r["verdict"] == VERDICT_OK or "×" in r["attribute"]:
                continue
            sel = selection[(selection["outcome"] == r["outcome"]) & (selection["attribute"] == r["attribute"]) & _flags(selection["adverse"]) & ~_flags(selection["excluded"])]
            for row in sel.itertuples():
                base = {"outcome": r["outcome"], "attribute": r["attribute"], "focal": row.category, "reference": row.reference}
                try:
                    res = cmh_test(data.dropna(subset=[r["attribute"]]), group=r["attribute"], selected=r["outcome"], strata=strata, focal=row.category, reference=row.reference)
                except Exception:  # too few strata etc.: report, do not hide
                    strat_rows.append({**base, "odds_ratio": np.nan, "p_value": np.nan, "breslow_day_p": np.nan, "note": "not_computable"})
                    continue
                strat_rows.append({**base, "odds_ratio": res["odds_ratio"], "p_value": res["p_value"], "breslow_day_p": res["breslow_day_p"],
                                   "note": "consistent" if res["breslow_day_p"] >= 0.05 else "inconsistent"})
    mvh = pd.DataFrame()
    if {"machine_overall", "human_overall"} <= set(data.columns):
        mvh = pd.concat([scorer_vs_human(data, by=a, machine="machine_overall", human="human_overall", n_boot=n_boot, random_state=seed) for a in attributes], ignore_index=True)
    config = {"attributes": attributes, "intersections": intersections or [], "advance_top_share": rule.top_share if rule.cut_score is None else None,
              "decision_rule": rule.as_dict(), "min_share": min_share, "alpha": alpha, "n_boot": n_boot, "suppress_below": suppress_below,
              "strata": strata, "seed": seed, "benchmark": "four_fifths_internal", "lang": lang,
              "answer_routing": answer_scores is not None}
    src = dict(source or {})
    src["n_candidates"] = len(data)
    return AuditResult(
        config=config, selection=selection, intervals=intervals, scoring=scoring, verdicts=pd.DataFrame(verdict_rows), score_verdicts=pd.DataFrame(score_verdicts),
        stratified=pd.DataFrame(strat_rows), machine_vs_human=mvh, mitigation=mitigation, source=src,
        decisions=outcomes,
    )
