"""What a candidate's score profile says beyond pass/fail: talent-pool tags and better-suited roles.

Both come from the rules in ``rules.yaml`` (shipped with this package); every tag and suggestion carries the rule
or reason that produced it, so HR can see *why* someone is in the pool (专业能力强但文化适配度低) or suggested for
another role (学习敏锐度突出 → 理财经理).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..errors import ConfigurationError, DataError
from ._ranking import within_group_percentile

__all__ = ["ProfileRules", "load_rules", "competency_scores", "within_role_percentile", "talent_pool_tags", "role_suggestions"]

RULES_PATH = Path(__file__).with_name("rules.yaml")
_DIMENSIONS = ("professional", "general", "culture")
_LEVELS = ("high", "low")


@dataclass(frozen=True, kw_only=True)
class ProfileRules:
    """Parsed ``rules.yaml``: thresholds and tag definitions (see the file for their meaning)."""

    version: str
    high_percentile: float
    low_percentile: float
    high_min_score: float
    tags: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    strong_percentile: float
    strong_min_score: float
    max_roles: int
    suggest_for: tuple[str, ...]

    def tag_rule(self, code: str) -> str:
        """The rule of a tag as a stable ASCII expression, e.g. ``professional>=p70&>=60;culture<=p30``."""
        for tag, when in self.tags:
            if tag == code:
                return ";".join(self._condition(dim, level) for dim, level in when)
        raise KeyError(code)

    def _condition(self, dim: str, level: str) -> str:
        if level == "high":
            return f"{dim}>=p{self.high_percentile:g}&>={self.high_min_score:g}"
        return f"{dim}<=p{self.low_percentile:g}"


def _parse_rules(raw: dict, path: Path) -> ProfileRules:
    try:
        pool, sugg = raw["talent_pool"], raw["role_suggestions"]
        tags = []
        for i, item in enumerate(pool["tags"]):
            code = str(item["code"])
            if not code.isascii() or not code.replace("_", "").isalnum():
                raise ConfigurationError(f"{path}: talent_pool.tags[{i}] code {code!r} must be ASCII letters, digits and _")
            when = tuple((str(k), str(v)) for k, v in item["when"].items())
            bad = [f"{k}: {v}" for k, v in when if k not in _DIMENSIONS or v not in _LEVELS]
            if bad or not when:
                raise ConfigurationError(f"{path}: tag {code!r} has invalid conditions {bad or 'none'}; use {list(_DIMENSIONS)} with {list(_LEVELS)}")
            tags.append((code, when))
        rules = ProfileRules(
            version=str(raw["version"]),
            high_percentile=float(pool["high_percentile"]),
            low_percentile=float(pool["low_percentile"]),
            high_min_score=float(pool["high_min_score"]),
            tags=tuple(tags),
            strong_percentile=float(sugg["strong_percentile"]),
            strong_min_score=float(sugg["strong_min_score"]),
            max_roles=int(sugg["max_roles"]),
            suggest_for=tuple(str(d) for d in sugg["for_decisions"]),
        )
    except KeyError as exc:
        raise ConfigurationError(f"{path}: missing key {exc}") from None
    if not rules.low_percentile < rules.high_percentile:
        raise ConfigurationError(f"{path}: low_percentile must be below high_percentile")
    return rules


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int) -> ProfileRules:
    return _parse_rules(yaml.safe_load(Path(path).read_text(encoding="utf-8")), Path(path))


def load_rules(path: str | Path | None = None) -> ProfileRules:
    """Talent-pool and role-suggestion rules (default: the ``rules.yaml`` shipped with the package)."""
    p = Path(path) if path else RULES_PATH
    if not p.is_file():
        raise ConfigurationError(f"rules file {p} not found")
    return _load_cached(str(p), p.stat().st_mtime_ns)


def within_role_percentile(values: pd.Series, roles: pd.Series) -> pd.Series:
    """Percentile (0–100) of each value among the values of the same role: share below plus half of the ties."""
    return within_group_percentile(values, roles)


def competency_scores(answer_scores: pd.DataFrame, *, score_col: str = "machine", dictionary=None) -> pd.DataFrame:
    """Per candidate and competency: the mean answer score on 0–100 (the 1–5 scale mapped like the dimension
    scores), the number of answers, the dimension, and the percentile within the candidate's role."""
    need = ["candidate_id", "role_id", "competency", score_col]
    missing = [c for c in need if c not in answer_scores.columns]
    if missing:
        raise DataError(f"answer scores lack column(s) {missing}; they have {list(answer_scores.columns)}")
    data = answer_scores[need].copy()
    data["candidate_id"] = data["candidate_id"].astype(str)
    data["competency"] = data["competency"].astype(str)
    data[score_col] = pd.to_numeric(data[score_col], errors="coerce")
    grouped = data.groupby(["candidate_id", "role_id", "competency"], sort=True, observed=True)[score_col]
    out = grouped.agg(["mean", "count"]).reset_index().rename(columns={"count": "n_answers"})
    out["score"] = ((out.pop("mean") - 1) / 4 * 100).clip(0, 100).round(2)
    if dictionary is not None:
        out["dimension"] = out["competency"].map(lambda c: dictionary.competencies[c].dimension if c in dictionary.competencies else None)
    out["percentile"] = within_role_percentile(out["score"], out["role_id"].astype(str) + "|" + out["competency"])
    return out[[c for c in ("candidate_id", "role_id", "competency", "dimension", "score", "n_answers", "percentile") if c in out.columns]]


def talent_pool_tags(scores: pd.DataFrame, *, rules: ProfileRules | None = None, prefix: str = "machine_") -> pd.DataFrame:
    """One row per (candidate, tag): candidate_id, role_id, tag, rule and the three dimension percentiles.

    ``scores`` is the candidate score table (``machine_professional`` … on 0–100).
    """
    rules = rules or load_rules()
    dims = [d for d in _DIMENSIONS if f"{prefix}{d}" in scores.columns]
    roles = scores["role_id"].astype(str)
    pct = {d: within_role_percentile(scores[f"{prefix}{d}"], roles) for d in dims}
    val = {d: pd.to_numeric(scores[f"{prefix}{d}"], errors="coerce") for d in dims}
    level = {}
    for d in dims:
        high = (pct[d] >= rules.high_percentile) & (val[d] >= rules.high_min_score)
        low = pct[d] <= rules.low_percentile
        level[d] = pd.Series(np.where(high, "high", np.where(low, "low", "mid")), index=scores.index).where(val[d].notna(), None)
    rows = []
    for code, when in rules.tags:
        if any(d not in level for d, _ in when):
            continue
        mask = np.logical_and.reduce([level[d].eq(lv).fillna(False).to_numpy(dtype=bool) for d, lv in when])
        rule = rules.tag_rule(code)
        for idx in scores.index[mask]:
            rows.append({"candidate_id": str(scores.at[idx, "candidate_id"]), "role_id": scores.at[idx, "role_id"], "tag": code, "rule": rule,
                         **{f"percentile_{d}": float(pct[d].at[idx]) for d in dims}})
    columns = ["candidate_id", "role_id", "tag", "rule", *[f"percentile_{d}" for d in dims]]
    return pd.DataFrame(rows, columns=columns).sort_values(["candidate_id", "tag"], kind="stable").reset_index(drop=True)


def _role_weights(dictionary, competency_model: dict | None) -> dict[str, dict[str, float]]:
    weights: dict[str, dict[str, float]] = {}
    for role_id, role in dictionary.roles.items():
        model_role = (competency_model or {}).get("roles", {}).get(role_id)
        if model_role:
            flat = {c: float(v.get("weight", 0.0)) for dim in model_role["dimensions"].values() for c, v in dim["competencies"].items()}
        else:
            flat = dict.fromkeys(role.competency_ids, 1.0 / len(role.competency_ids))
        weights[role_id] = {c: flat.get(c, 0.0) for c in role.competency_ids}
    return weights


def role_suggestions(
    competencies: pd.DataFrame,
    decisions: pd.DataFrame | None = None,
    *,
    dictionary,
    competency_model: dict | None = None,
    rules: ProfileRules | None = None,
) -> pd.DataFrame:
    """Other roles of the dictionary that need a candidate's strengths, best first.

    ``competencies`` is :func:`competency_scores` output; ``decisions`` (optional) limits suggestions to the
    decisions listed in the rules (by default candidates who do not advance). Columns: candidate_id, role_id
    (applied), suggested_role_id, rank, reason (``strong_competencies``), competencies (tuple of ids), weight.
    """
    rules = rules or load_rules()
    strong = competencies[(competencies["percentile"] >= rules.strong_percentile) & (competencies["score"] >= rules.strong_min_score)]
    if decisions is not None and len(strong):
        eligible = set(decisions.loc[decisions["decision"].isin(rules.suggest_for), "candidate_id"].astype(str))
        strong = strong[strong["candidate_id"].isin(eligible)]
    weights = _role_weights(dictionary, competency_model)
    rows = []
    for (cid, applied), g in strong.groupby(["candidate_id", "role_id"], sort=True):
        have = set(g["competency"])
        options = []
        for role_id, w in weights.items():
            if role_id == applied:
                continue
            matched = tuple(sorted(have & set(w)))
            if matched:
                options.append((-sum(w[c] for c in matched), -len(matched), role_id, matched))
        for rank, (neg_w, _, role_id, matched) in enumerate(sorted(options)[: rules.max_roles], start=1):
            rows.append({"candidate_id": cid, "role_id": applied, "suggested_role_id": role_id, "rank": rank, "reason": "strong_competencies",
                         "competencies": matched, "weight": round(-neg_w, 6)})
    columns = ["candidate_id", "role_id", "suggested_role_id", "rank", "reason", "competencies", "weight"]
    return pd.DataFrame(rows, columns=columns)
