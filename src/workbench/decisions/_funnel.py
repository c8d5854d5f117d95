"""The hiring funnel per role and batch, and alerts when too few candidates pass.

Steps (codes): ``assessed`` (has an overall score) → ``passed`` (score ≥ pass mark) → ``advanced`` (reached
等待HR面试 or later) → ``offer_sent`` → ``offer_accepted`` → ``onboarded``; ``in_human_review`` counts the
candidates waiting for a person. Each step's rate is relative to the step it follows (``base_step``).

A pass rate (passed / assessed) below the threshold (default 30 %) raises a ``low_pass_rate`` alert that names
what to review: the role's requirements, its questions (the competencies candidates scored lowest on) and the
cut / pass mark.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..i18n import label, resolve_lang, t
from ._hiring import HiringStage

__all__ = ["FUNNEL_STEPS", "funnel_table", "funnel_alerts", "alert_message"]

_S = HiringStage
_REACHED = {
    "advanced": {_S.AWAITING_HR_INTERVIEW, _S.OFFER_SENT, _S.OFFER_ACCEPTED, _S.OFFER_DECLINED, _S.ONBOARDED},
    "offer_sent": {_S.OFFER_SENT, _S.OFFER_ACCEPTED, _S.OFFER_DECLINED, _S.ONBOARDED},
    "offer_accepted": {_S.OFFER_ACCEPTED, _S.ONBOARDED},
    "onboarded": {_S.ONBOARDED},
}
# step → the step its rate is relative to
FUNNEL_STEPS = {
    "assessed": None,
    "passed": "assessed",
    "advanced": "assessed",
    "in_human_review": "assessed",
    "offer_sent": "advanced",
    "offer_accepted": "offer_sent",
    "onboarded": "offer_accepted",
}
REVIEW_ITEMS = ("requirements", "questions", "cut")


def _flags(decisions: pd.DataFrame, pass_mark: float) -> pd.DataFrame:
    stage = decisions["hiring_stage"].astype(str)
    score = pd.to_numeric(decisions["score"], errors="coerce")
    flags = {"assessed": score.notna(), "passed": score >= pass_mark, "in_human_review": stage.eq(_S.HUMAN_REVIEW.value)}
    for step, stages in _REACHED.items():
        flags[step] = stage.isin({s.value for s in stages})
    return pd.DataFrame({k: flags[k].fillna(False).astype(int) for k in FUNNEL_STEPS}, index=decisions.index)


def funnel_table(decisions: pd.DataFrame, *, pass_mark: float, min_population: int = 10) -> pd.DataFrame:
    """Tidy funnel: level (``role`` or ``role_batch``), role_id, batch, step, count, base_step, base_count, rate,
    small_sample (base below ``min_population``: read the rate with care, no alert is raised)."""
    flags = _flags(decisions, pass_mark)
    data = pd.concat([decisions[["role_id"]].astype(str), decisions.get("batch", pd.Series(None, index=decisions.index, dtype=object)).rename("batch"), flags], axis=1)
    rows = []
    for level, keys in (("role", ["role_id"]), ("role_batch", ["role_id", "batch"])):
        for key, g in data.groupby(keys, sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            role, batch = key[0], (key[1] if len(key) > 1 and not pd.isna(key[1]) else None)
            for step, base in FUNNEL_STEPS.items():
                count = int(g[step].sum())
                base_count = int(g[base].sum()) if base else count
                rows.append({"level": level, "role_id": role, "batch": batch, "step": step, "count": count, "base_step": base,
                             "base_count": base_count, "rate": (count / base_count) if base and base_count else np.nan,
                             "small_sample": base_count < min_population})
    out = pd.DataFrame(rows)
    out["batch"] = out["batch"].astype(object).where(out["batch"].notna(), None)
    return out


def funnel_alerts(
    funnel: pd.DataFrame,
    *,
    threshold: float = 0.3,
    pass_mark: float,
    competency_scores: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    weakest: int = 2,
) -> pd.DataFrame:
    """``low_pass_rate`` alerts: pass rate below ``threshold`` with enough candidates. Columns: code, level, role_id,
    batch, step, rate, threshold, assessed, pass_mark, review (codes), weakest_competencies (ids, lowest mean)."""
    rows = []
    passed = funnel[(funnel["step"] == "passed") & ~funnel["small_sample"] & (funnel["rate"] < threshold)]
    for r in passed.itertuples():
        batch = None if pd.isna(r.batch) else r.batch
        weak: tuple[str, ...] = ()
        if competency_scores is not None and len(competency_scores):
            comp = competency_scores[competency_scores["role_id"].astype(str) == r.role_id]
            if batch is not None and decisions is not None and "batch" in decisions.columns:
                ids = set(decisions.loc[(decisions["role_id"].astype(str) == r.role_id) & (decisions["batch"] == batch), "candidate_id"].astype(str))
                comp = comp[comp["candidate_id"].isin(ids)]
            means = comp.groupby("competency")["score"].mean().sort_values(kind="stable")
            weak = tuple(means.index[:weakest])
        rows.append({"code": "low_pass_rate", "level": r.level, "role_id": r.role_id, "batch": batch, "step": "passed", "rate": float(r.rate),
                     "threshold": threshold, "assessed": int(r.base_count), "pass_mark": pass_mark, "review": REVIEW_ITEMS, "weakest_competencies": weak})
    columns = ["code", "level", "role_id", "batch", "step", "rate", "threshold", "assessed", "pass_mark", "review", "weakest_competencies"]
    out = pd.DataFrame(rows, columns=columns)
    out["batch"] = out["batch"].astype(object).where(out["batch"].notna(), None)
    return out


def alert_message(alert, lang: str | None = None, *, dictionary=None) -> str:
    """One alert as a sentence for HR, e.g. 柜员（2026秋招-第1批）通过率 18%，低于阈值 30%：请复核 …"""
    get = alert.get if isinstance(alert, dict) else (lambda k: getattr(alert, k))
    english = resolve_lang(lang) == "en"
    role = get("role_id")
    role_name = role
    if dictionary is not None and role in dictionary.roles:
        role_name = dictionary.roles[role].name_en if english else dictionary.roles[role].name
    comps = list(get("weakest_competencies") or ())
    if dictionary is not None:
        comps = [(dictionary.competencies[c].name_en if english else dictionary.competencies[c].name) if c in dictionary.competencies else c for c in comps]
    batch = get("batch")
    where = role_name if batch is None or pd.isna(batch) else t("decisions.alert.role_batch", lang, role=role_name, batch=get("batch"))
    review = t("decisions.list_sep", lang).join(label("decisions.review", code, lang) for code in get("review"))
    return t("decisions.alert.low_pass_rate", lang, where=where, rate=f"{get('rate'):.0%}", threshold=f"{get('threshold'):.0%}",
             assessed=get("assessed"), pass_mark=f"{get('pass_mark'):g}", review=review,
             competencies=t("decisions.list_sep", lang).join(comps) or "—")
