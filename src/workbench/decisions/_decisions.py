"""All decisions of one scored cohort, computed once: outcomes, talent pool, role suggestions, funnel and alerts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .._tabular import escape
from ..errors import DataError
from ..i18n import label, t
from ._funnel import alert_message, funnel_alerts, funnel_table
from ._profile import ProfileRules, competency_scores, load_rules, role_suggestions, talent_pool_tags, within_role_percentile
from ._ranking import DEFAULT_RULE, DecisionRule, decide

__all__ = ["Decisions", "make_decisions"]


@dataclass(frozen=True)
class Decisions:
    """Read-only results (tidy DataFrames). ``candidates`` has one row per scored candidate."""

    rule: DecisionRule
    rules_version: str
    candidates: pd.DataFrame
    competencies: pd.DataFrame
    talent_pool: pd.DataFrame
    role_suggestions: pd.DataFrame
    funnel: pd.DataFrame
    alerts: pd.DataFrame
    pass_threshold: float
    dictionary: object = field(default=None, repr=False, compare=False)

    def summary(self) -> pd.DataFrame:
        """Per role: candidates, advanced, rejected, human review, pass rate and whether it raised an alert."""
        c = self.candidates
        out = c.groupby("role_id", sort=True).agg(
            candidates=("candidate_id", "size"),
            advance=("decision", lambda d: int((d == "advance").sum())),
            reject=("decision", lambda d: int((d == "reject").sum())),
            human_review=("decision", lambda d: int((d == "human_review").sum())),
        )
        role_funnel = self.funnel[(self.funnel["level"] == "role") & (self.funnel["step"] == "passed")].set_index("role_id")
        out["pass_rate"] = role_funnel["rate"].reindex(out.index)
        alerted = set(self.alerts.loc[self.alerts["level"] == "role", "role_id"]) if len(self.alerts) else set()
        out["alert"] = [r in alerted for r in out.index]
        return out.reset_index()

    def alert_messages(self, lang: str | None = None) -> list[str]:
        return [alert_message(a, lang, dictionary=self.dictionary) for a in self.alerts.to_dict("records")]

    def _repr_html_(self) -> str:
        s = self.summary()
        head = "".join(f"<th>{escape(t(f'decisions.col.{c}'))}</th>" for c in s.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(f'{v:.0%}' if k == 'pass_rate' and pd.notna(v) else v)}</td>" for k, v in row.items()) + "</tr>"
            for row in s.to_dict("records")
        )
        alerts = "".join(f"<li>{escape(m)}</li>" for m in self.alert_messages())
        return (f"<div><p>{escape(t('decisions.repr.title', rule=label('decisions.mode', self.rule.mode)))}</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                + (f"<ul>{alerts}</ul>" if alerts else "") + "</div>")


def make_decisions(
    candidate_scores: pd.DataFrame,
    answer_scores: pd.DataFrame | None = None,
    *,
    candidates: pd.DataFrame | None = None,
    dictionary=None,
    competency_model: dict | None = None,
    rule: DecisionRule = DEFAULT_RULE,
    rules: ProfileRules | None = None,
    review_requested=None,
    pass_threshold: float = 0.3,
    min_population: int = 10,
    score_prefix: str = "machine_",
) -> Decisions:
    """Decide every candidate of ``candidate_scores`` (one row per candidate, stage 03) and derive the talent pool,
    role suggestions, funnel and alerts.

    ``answer_scores`` (per answer, with the scorer's ``route`` / ``advisories`` when present) gives competency
    scores and routing; ``candidates`` (intake table) gives the batch and, if present, ``human_review_requested``.
    """
    if not 0 < pass_threshold < 1:
        raise DataError(f"pass_threshold must be between 0 and 1 (e.g. 0.3), got {pass_threshold}")
    rules = rules or load_rules()
    scores = candidate_scores.reset_index(drop=True).copy()
    scores["candidate_id"] = scores["candidate_id"].astype(str)
    if candidates is not None:
        extra = [c for c in ("batch", "human_review_requested") if c in candidates.columns and c not in scores.columns]
        if extra:
            info = candidates[["candidate_id", *extra]].assign(candidate_id=lambda d: d["candidate_id"].astype(str))
            scores = scores.merge(info, on="candidate_id", how="left")
    decided = decide(scores, rule=rule, answer_scores=answer_scores, review_requested=review_requested)
    dims = [c for c in scores.columns if c.startswith(score_prefix) and c != rule.score]
    table = pd.concat([decided, scores[[c for c in ("batch", *dims) if c in scores.columns]]], axis=1)
    for col in dims:  # where the candidate stands within the role on each dimension (0–100)
        table[f"percentile_{col[len(score_prefix):]}"] = within_role_percentile(table[col], table["role_id"].astype(str))
    if "batch" not in table.columns:
        table["batch"] = None
    table["batch"] = table["batch"].astype(object).where(table["batch"].notna(), None)
    comps = competency_scores(answer_scores, dictionary=dictionary) if answer_scores is not None else pd.DataFrame(
        columns=["candidate_id", "role_id", "competency", "dimension", "score", "n_answers", "percentile"])
    comps = comps[comps["candidate_id"].isin(set(table["candidate_id"]))].reset_index(drop=True)
    tags = talent_pool_tags(scores, rules=rules, prefix=score_prefix)
    suggestions = (role_suggestions(comps, table, dictionary=dictionary, competency_model=competency_model, rules=rules)
                   if dictionary is not None and len(comps) else pd.DataFrame(
                       columns=["candidate_id", "role_id", "suggested_role_id", "rank", "reason", "competencies", "weight"]))
    funnel = funnel_table(table, pass_mark=rule.effective_pass_mark, min_population=min_population)
    alerts = funnel_alerts(funnel, threshold=pass_threshold, pass_mark=rule.effective_pass_mark, competency_scores=comps, decisions=table)
    return Decisions(rule=rule, rules_version=rules.version, candidates=table, competencies=comps, talent_pool=tags, role_suggestions=suggestions,
                     funnel=funnel, alerts=alerts, pass_threshold=pass_threshold, dictionary=dictionary)
