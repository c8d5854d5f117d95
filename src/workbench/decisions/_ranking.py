"""Rank candidates within their role and decide who advances — the one rule the fairness audit and the export share.

    rank_candidates(scores)           rank, population size and percentile per role
    advance(scores, rule=...)         1 = the machine would advance (top N % per role, or at/above a cut score)
    decide(scores, rule=..., ...)     the outcome actually recorded: advance / reject by the machine, or human review

A candidate is never decided by the machine alone when (reason codes, in this order):

* ``candidate_requested_review`` — they asked for a person to decide (PIPL Art. 24);
* ``answer_routed_to_human`` — the scorer routed at least one of their answers to a human (advisories);
* ``no_machine_score`` — there is no overall score to rank;
* ``incomplete_profile`` — a dimension has no score (no answer of that dimension could be scored);
* ``borderline`` — the overall score lies within ``borderline_points`` of the cut;
* ``tie_at_cut`` — someone with exactly the same score fell on the other side of the cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigurationError, DataError
from ._hiring import HiringStage

__all__ = [
    "DecisionRule",
    "REVIEW_REASONS",
    "RECOMMENDATIONS",
    "DECISIONS",
    "rank_candidates",
    "within_group_percentile",
    "advance",
    "decide",
    "answer_routing",
    "requested_reviews",
]

REVIEW_REASONS = (
    "candidate_requested_review",
    "answer_routed_to_human",
    "no_machine_score",
    "incomplete_profile",
    "borderline",
    "tie_at_cut",
)
RECOMMENDATIONS = ("recommended", "borderline", "not_recommended", "not_assessable")
DECISIONS = ("advance", "reject", "human_review")
DIMENSION_IDS = ("professional", "general", "culture")


@dataclass(frozen=True, kw_only=True)
class DecisionRule:
    """How candidates are ranked and which of them the machine may decide.

    ``cut_score`` set → everyone at or above it advances; otherwise the top ``top_share`` of each role (rounded
    up, ties broken by candidate id so the count is exact). ``borderline_points`` is the half-width, in points
    of the 0–100 score, of the band around the cut whose candidates go to human review (0 switches it off).
    ``pass_mark`` is the score the funnel counts as "passed" (default: the cut score, else 60).

    >>> DecisionRule(top_share=0.2).mode
    'top_share'
    >>> DecisionRule(cut_score=70).mode
    'cut_score'
    """

    top_share: float = 0.2
    cut_score: float | None = None
    borderline_points: float = 2.5
    pass_mark: float | None = None
    score: str = "machine_overall"
    by: str = "role_id"

    def __post_init__(self) -> None:
        if self.cut_score is None and not 0 < self.top_share < 1:
            raise ConfigurationError(f"top_share must be between 0 and 1 (e.g. 0.2 for the top 20 %), got {self.top_share}")
        if self.cut_score is not None and not 0 <= self.cut_score <= 100:
            raise ConfigurationError(f"cut_score is on the 0–100 scale, got {self.cut_score}")
        if not 0 <= self.borderline_points <= 50:
            raise ConfigurationError(f"borderline_points is a half-width in score points (0–50), got {self.borderline_points}")
        if self.pass_mark is not None and not 0 <= self.pass_mark <= 100:
            raise ConfigurationError(f"pass_mark is on the 0–100 scale, got {self.pass_mark}")

    @classmethod
    def from_params(cls, *, advance_top_share: float = 0.2, cut_score: float = 0.0, borderline_points: float = 2.5,
                    pass_mark: float = 0.0, **kwargs) -> "DecisionRule":
        """The rule from stage parameters, where 0 means "not set" for ``cut_score`` and ``pass_mark`` (stages 05 and
        06 both build their rule here, so the audit and the export decide alike).

        >>> DecisionRule.from_params(advance_top_share=0.3, cut_score=0).mode
        'top_share'
        """
        return cls(top_share=advance_top_share, cut_score=cut_score or None, borderline_points=borderline_points,
                   pass_mark=pass_mark or None, **kwargs)

    @property
    def mode(self) -> str:
        return "cut_score" if self.cut_score is not None else "top_share"

    @property
    def effective_pass_mark(self) -> float:
        if self.pass_mark is not None:
            return float(self.pass_mark)
        return float(self.cut_score) if self.cut_score is not None else 60.0

    def as_dict(self) -> dict:
        return {"mode": self.mode, "top_share": None if self.cut_score is not None else self.top_share, "cut_score": self.cut_score,
                "borderline_points": self.borderline_points, "pass_mark": self.effective_pass_mark, "score": self.score, "by": self.by}


DEFAULT_RULE = DecisionRule()


def _check_columns(scores: pd.DataFrame, rule: DecisionRule) -> None:
    missing = [c for c in ("candidate_id", rule.by, rule.score) if c not in scores.columns]
    if missing:
        raise DataError(f"the score table lacks column(s) {missing}; it has {list(scores.columns)}")
    if scores["candidate_id"].duplicated().any():
        dup = scores.loc[scores["candidate_id"].duplicated(), "candidate_id"].iloc[0]
        raise DataError(f"candidate {dup!r} appears more than once in the score table; one row per candidate is expected")


def _numeric(scores: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(scores[column], errors="coerce").astype(float)


def rank_candidates(scores: pd.DataFrame, *, score: str = "machine_overall", by: str = "role_id") -> pd.DataFrame:
    """Per row of ``scores``: ``rank`` (1 = best; equal scores share the better rank), ``population_size`` (candidates
    of the same ``by`` group with a score) and ``percentile`` (0–100: the share scoring lower plus half of the
    ties). Rows without a score get no rank."""
    values = _numeric(scores, score)
    groups = scores[by]
    rank = values.groupby(groups, sort=False).rank(method="min", ascending=False)
    population = values.notna().groupby(groups, sort=False).transform("sum")
    return pd.DataFrame(
        {"rank": rank.astype("Int64"), "population_size": population.astype(int), "percentile": within_group_percentile(values, groups)},
        index=scores.index,
    )


def within_group_percentile(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Percentile (0–100) of each value among the values of its group: the share below plus half of the ties.
    Missing values get none and do not count."""
    values = pd.to_numeric(values, errors="coerce").astype(float)
    below = values.groupby(groups, sort=False).rank(method="min") - 1
    equal = values.groupby(groups, sort=False).transform(lambda s: s.map(s.value_counts()))
    n = values.notna().groupby(groups, sort=False).transform("sum")
    return (100 * (below + 0.5 * equal) / n.where(n > 0)).round(2)


def _order(scores: pd.DataFrame, values: pd.Series, by: str) -> pd.DataFrame:
    frame = pd.DataFrame({"_by": scores[by].to_numpy(), "_score": values.to_numpy(), "_id": scores["candidate_id"].astype(str).to_numpy()}, index=scores.index)
    frame = frame[frame["_score"].notna()]
    return frame.sort_values(["_by", "_score", "_id"], ascending=[True, False, True], kind="stable")


def _selected_count(n: int, share: float) -> int:
    # ceil with a guard against binary fractions (0.2 * 15 must be 3, not 3.0000000000000004 → 4)
    return min(n, math.ceil(share * n - 1e-9))


def advance(scores: pd.DataFrame, *, rule: DecisionRule = DEFAULT_RULE) -> pd.Series:
    """1 for every candidate the rule would advance, else 0 (the machine's selection, before any review).

    Top-share mode: the first ``ceil(top_share × n)`` of each role by score, ties broken by candidate id so the
    number is exact. Cut mode: everyone with a score at or above ``cut_score``. A candidate without a score is
    never selected and does not count in ``n``.
    """
    _check_columns(scores, rule)
    values = _numeric(scores, rule.score)
    if rule.cut_score is not None:
        return (values >= rule.cut_score).astype(int).rename("advance")
    ordered = _order(scores, values, rule.by)
    position = ordered.groupby("_by", sort=False).cumcount()
    size = ordered.groupby("_by", sort=False)["_score"].transform("size")
    quota = size.map(lambda n: _selected_count(int(n), rule.top_share))
    selected = (position < quota).astype(int)
    return selected.reindex(scores.index, fill_value=0).astype(int).rename("advance")


def _cut_values(scores: pd.DataFrame, values: pd.Series, rule: DecisionRule) -> pd.Series:
    """The score at which the decision flips, per group: the cut score, or midway between the last selected and
    the first not selected candidate (NaN when everyone or no one is selected)."""
    if rule.cut_score is not None:
        return pd.Series(float(rule.cut_score), index=scores.index)
    ordered = _order(scores, values, rule.by)
    cuts: dict = {}
    for group, g in ordered.groupby("_by", sort=False):
        k = _selected_count(len(g), rule.top_share)
        cuts[group] = (g["_score"].iloc[k - 1] + g["_score"].iloc[k]) / 2 if 0 < k < len(g) else np.nan
    return scores[rule.by].map(cuts).astype(float)


def answer_routing(answer_scores: pd.DataFrame | None) -> pd.DataFrame:
    """Per candidate: how many answers the scorer routed to a human, and the advisory codes raised.

    Reads the scorer's per-answer ``route`` ("machine" | "human") and ``advisories`` (codes, as a list or a
    ``;``/``,``-separated string). Without a ``route`` column an answer with any advisory counts as routed.
    """
    columns = ["candidate_id", "answers_routed_to_human", "advisories"]
    if answer_scores is None or len(answer_scores) == 0:
        return pd.DataFrame(columns=columns)
    if "candidate_id" not in answer_scores.columns:
        raise DataError(f"answer scores need a candidate_id column; they have {list(answer_scores.columns)}")
    advisories = answer_scores["advisories"].map(_codes) if "advisories" in answer_scores.columns else pd.Series([()] * len(answer_scores), index=answer_scores.index)
    if "route" in answer_scores.columns:
        route = answer_scores["route"].astype("string").str.strip().str.lower()
        unknown = route.notna() & ~route.isin(["machine", "human"])
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(f"answer scores row {row}: route must be 'machine' or 'human', got {answer_scores['route'].iloc[row]!r}")
        routed = route.eq("human").fillna(False)
    else:
        routed = advisories.map(bool)
    frame = pd.DataFrame({"candidate_id": answer_scores["candidate_id"].to_numpy(), "routed": routed.to_numpy(dtype=bool), "adv": advisories.to_numpy()})
    out = frame.groupby("candidate_id", sort=True).agg(
        answers_routed_to_human=("routed", "sum"), advisories=("adv", lambda s: tuple(sorted({c for codes in s for c in codes})))
    )
    out["answers_routed_to_human"] = out["answers_routed_to_human"].astype(int)
    return out.reset_index()


_YES = frozenset({"是", "yes", "y", "true", "1"})
_NO = frozenset({"否", "no", "n", "false", "0", ""})


def requested_reviews(candidates: pd.DataFrame | None, *, column: str = "human_review_requested") -> set[str]:
    """Ids of the candidates who asked for a person to decide (PIPL Art. 24): ``column`` is 是 / yes / true / 1.

    The intake contract's optional ``candidates.human_review_requested`` holds 是 / 否; booleans work too. Empty
    means no request. Any other value is an error naming the row — a request must never be dropped by a typo.
    """
    if candidates is None or column not in candidates.columns:
        return set()
    out = set()
    for row, (cid, value) in enumerate(zip(candidates["candidate_id"].astype(str), candidates[column])):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            continue
        text = str(value).strip().lower()
        if text in _YES:
            out.add(cid)
        elif text not in _NO:
            raise DataError(f"{column} row {row} (candidate {cid!r}): expected 是/否 (yes/no), got {value!r}")
    return out


def _codes(value) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        parts = value.replace(",", ";").split(";")
    else:
        try:
            parts = list(value)
        except TypeError:
            parts = [value]
    return tuple(sorted({str(p).strip() for p in parts if p is not None and str(p).strip()}))


def decide(
    scores: pd.DataFrame,
    *,
    rule: DecisionRule = DEFAULT_RULE,
    answer_scores: pd.DataFrame | None = None,
    review_requested=None,
) -> pd.DataFrame:
    """The recorded outcome per candidate, one row per row of ``scores`` (same index).

    Columns: candidate_id, the ``by`` column, score, rank, population_size, percentile, machine_advance, cut_value,
    borderline, review_reasons (tuple of codes), answers_routed_to_human, advisories, recommendation, decision
    (advance / reject / human_review), decided_by (machine / human) and hiring_stage. ``review_requested`` is
    any iterable of candidate ids who asked for a human decision.
    """
    _check_columns(scores, rule)
    values = _numeric(scores, rule.score)
    ranks = rank_candidates(scores, score=rule.score, by=rule.by)
    selected = advance(scores, rule=rule)
    cut = _cut_values(scores, values, rule)
    distance = values - cut
    borderline = (distance.abs() <= rule.borderline_points) & (rule.borderline_points > 0) & values.notna()
    # a tie across the cut: the same score on both sides (only possible in top-share mode)
    key = pd.DataFrame({"g": scores[rule.by].to_numpy(), "s": values.to_numpy(), "a": selected.to_numpy()}, index=scores.index)
    mixed = key[key["s"].notna()].groupby(["g", "s"])["a"].transform("nunique") > 1
    tie = mixed.reindex(scores.index, fill_value=False).astype(bool)

    routing = answer_routing(answer_scores).set_index("candidate_id") if answer_scores is not None else None
    requested = {str(c) for c in (review_requested or ())} | requested_reviews(scores)
    dims = [f"{rule.score.rsplit('_', 1)[0]}_{d}" for d in DIMENSION_IDS]
    dims = [d for d in dims if d in scores.columns and d != rule.score]

    rows = []
    for i, idx in enumerate(scores.index):
        cid = str(scores.at[idx, "candidate_id"])
        routed = int(routing.at[cid, "answers_routed_to_human"]) if routing is not None and cid in routing.index else 0
        adv = tuple(routing.at[cid, "advisories"]) if routing is not None and cid in routing.index else ()
        has_score = not math.isnan(values.iat[i])
        reasons = []
        if cid in requested:
            reasons.append("candidate_requested_review")
        if routed:
            reasons.append("answer_routed_to_human")
        if not has_score:
            reasons.append("no_machine_score")
        if has_score and any(pd.isna(scores.at[idx, d]) for d in dims):
            reasons.append("incomplete_profile")
        if bool(borderline.iat[i]):
            reasons.append("borderline")
        if bool(tie.iat[i]):
            reasons.append("tie_at_cut")
        machine = int(selected.iat[i])
        if not has_score:
            recommendation = "not_assessable"
        elif bool(borderline.iat[i]) or bool(tie.iat[i]):
            recommendation = "borderline"
        else:
            recommendation = "recommended" if machine else "not_recommended"
        if reasons:
            decision, decided_by, stage = "human_review", "human", HiringStage.HUMAN_REVIEW
        elif machine:
            decision, decided_by, stage = "advance", "machine", HiringStage.AWAITING_HR_INTERVIEW
        else:
            decision, decided_by, stage = "reject", "machine", HiringStage.REJECTED
        rows.append((tuple(reasons), routed, adv, recommendation, decision, decided_by, stage.value))
    extra = pd.DataFrame(rows, columns=["review_reasons", "answers_routed_to_human", "advisories", "recommendation", "decision", "decided_by", "hiring_stage"], index=scores.index)
    out = pd.DataFrame(
        {
            "candidate_id": scores["candidate_id"].astype(str),
            rule.by: scores[rule.by],
            "score": values,
            **{c: ranks[c] for c in ranks.columns},
            "machine_advance": selected,
            "cut_value": cut.round(2),
            "distance_to_cut": distance.round(2),
            "borderline": borderline.astype(bool),
        },
        index=scores.index,
    )
    return pd.concat([out, extra], axis=1)
