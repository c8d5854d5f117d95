"""``run_validity_study``: do interview scores predict later performance, probation and potential?

Computed once, returned as tidy read-only DataFrames on a :class:`ValidityStudy` (which renders itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as t_dist

from ..errors import ConfigurationError, DataError
from ..fairness.audit import add_region
from ._corrections import correct_criterion_unreliability, correct_range_restriction, correlation_ci
from ._engine import CASE_II, CASE_II_ASSUMED, CASE_III, NO_CORRECTION, GroupSample, corrected, pooled_variance, threshold_curve
from ._expectancy import empirical_expectancy, pool_expectancy
from ._incremental import ORDER_INTERVIEW_OVER_SCREEN, ORDER_SCREEN_OVER_INTERVIEW, incremental_validity, screen_impact
from ._inputs import DIMENSIONS, check_outcomes
from ._tradeoff import tradeoff_study

__all__ = ["ValidityStudy", "run_validity_study", "MIN_N", "MIN_EVENTS", "POOLED", "CRITERIA", "STATUS_OK", "STATUS_INSUFFICIENT", "STATUS_NOT_ASSESSED", "STATUS_FEW_EVENTS"]

MIN_N = 50
POOLED = "all"
CRITERIA = ("performance_rating", "probation_passed", "potential_rating")
STATUS_OK, STATUS_INSUFFICIENT, STATUS_NOT_ASSESSED, STATUS_FEW_EVENTS = "ok", "insufficient_data", "not_assessed", "too_few_events"
MIN_EVENTS = 10  # a 0/1 criterion needs this many in its rarer class (e.g. failed probations) for a stable estimate
SOURCES = ("machine", "human", "mean_rating")
AUDIT_ATTRIBUTES = ("gender", "age_band", "hukou_type", "region", "ethnicity", "school_tier", "disability")
MVH_RETAINED, MVH_LOST, MVH_GAINED = "no_difference_detected", "lower", "higher"
RULE_SUPPORTED, RULE_NOT_SUPPORTED = "supported", "not_supported"


def _source(predictor: str) -> str:
    for s in SOURCES:
        if predictor == s or predictor.startswith(s + "_"):
            return s
    return "other"


def _aspect(predictor: str) -> str:
    """overall / professional / general / culture / learning_agility — what the score measures."""
    src = _source(predictor)
    rest = predictor[len(src):].lstrip("_") if src != "other" else predictor
    return rest or "overall"


@dataclass(frozen=True)
class ValidityStudy:
    """Results of :func:`run_validity_study`. Every table is a tidy DataFrame with stable ASCII codes
    (``role_id`` ``"all"`` = pooled within role; ``status`` ``ok`` / ``insufficient_data`` / ``not_assessed``).

    * ``samples`` — per role: applicants, hires, hires with each criterion, attrition, status;
    * ``validity`` — per role × predictor × criterion: observed r with CI and p, r corrected for the criterion's
      unreliability (``r_rel``), for range restriction (``r_rr``) and for both in the right order (``r_op``, the
      operational validity), each with its CI; ``correction`` (``case_ii`` / ``case_iii`` / ``case_ii_assumed`` /
      ``none``), ``u``, ``r_yy``, ``ci_method``;
    * ``sensitivity`` — pooled operational validity of the overall scores under other criterion reliabilities;
    * ``incremental`` — nested regressions over the school-tier screen (ΔR², F, p) both ways round;
    * ``screen_impact`` — impact ratios and the audit's flag for the screen and for the interview at the same
      selection ratio;
    * ``expectancy`` / ``expectancy_pool`` — P(high rating) by score band among hires, and for the applicant pool
      (theoretical, from the corrected validity);
    * ``tradeoff`` / ``tradeoff_impact`` / ``lda`` — alternative weightings and cut-offs, their impact per attribute,
      and whether a less discriminatory alternative with similar validity exists;
    * ``machine_vs_human`` — the scorer's operational validity next to the human ratings', difference with a
      bootstrap CI;
    * ``suggestion_rule`` — evidence for "high learning agility → suggest a role that needs it" by threshold;
    * ``truth_comparison`` — synthetic cohorts only: estimates against the generator's population validity.
    """

    config: dict
    samples: pd.DataFrame
    validity: pd.DataFrame
    sensitivity: pd.DataFrame
    incremental: pd.DataFrame
    screen_impact: pd.DataFrame
    expectancy: pd.DataFrame
    expectancy_pool: pd.DataFrame
    tradeoff: pd.DataFrame
    tradeoff_impact: pd.DataFrame
    lda: pd.DataFrame
    machine_vs_human: pd.DataFrame
    suggestion_rule: pd.DataFrame
    truth_comparison: pd.DataFrame = field(default_factory=pd.DataFrame)

    def side_by_side(self, criterion: str = "performance_rating", role: str = POOLED) -> pd.DataFrame:
        """Observed and corrected validities of every predictor for one criterion and role, one row each."""
        v = self.validity
        return v[(v["criterion"] == criterion) & (v["role_id"] == role)][
            ["predictor", "status", "n", "r", "r_ci_low", "r_ci_high", "r_rel", "r_rr", "r_op", "r_op_ci_low", "r_op_ci_high", "correction", "u", "r_yy"]
        ].reset_index(drop=True)

    def metrics(self) -> dict[str, Any]:
        """Key numbers for the run's metrics.json (codes and numbers only)."""
        from ._report import study_metrics

        return study_metrics(self)

    def to_html(self, *, lang: str | None = None) -> str:
        from ._report import render_page

        return render_page(self, lang=lang)

    def _repr_html_(self) -> str:
        from ._report import render_body

        return render_body(self, lang=self.config.get("lang"))


# ----------------------------------------------------------------------------------------------------------------
# input assembly
# ----------------------------------------------------------------------------------------------------------------


def _hired_vector(data: pd.DataFrame, hired: Any, outcome_ids: set[str]) -> np.ndarray:
    if hired is None:
        return data["candidate_id"].isin(outcome_ids).to_numpy()
    if isinstance(hired, str):
        if hired not in data.columns:
            raise DataError(f"hired column {hired!r} is not in candidate_scores; columns: {', '.join(data.columns)}")
        values = data[hired]
    elif isinstance(hired, pd.Series):
        values = data["candidate_id"].map(hired)
    else:
        raise ConfigurationError("hired must be None (candidates listed in outcomes), a column name, or a Series indexed by candidate_id")
    if values.isna().any():
        raise DataError(f"hired is missing for {int(values.isna().sum())} candidate(s); give 0/1 for every scored candidate")
    if not values.isin([0, 1, True, False]).all():
        raise DataError("hired must hold only 0/1/True/False")
    return values.astype(bool).to_numpy()


def _assemble(candidate_scores, outcomes, candidates, hired, predictors, selection_score, screen_tiers):
    if not isinstance(candidate_scores, pd.DataFrame) or not {"candidate_id", "role_id"} <= set(candidate_scores.columns):
        raise DataError("candidate_scores must be a DataFrame with candidate_id, role_id and the score columns (stage 03's candidate_scores)")
    if candidate_scores["candidate_id"].duplicated().any():
        raise DataError("candidate_scores has a candidate_id twice; one row per candidate")
    if not isinstance(candidates, pd.DataFrame) or "candidate_id" not in candidates.columns:
        raise DataError("candidates must be a DataFrame with candidate_id and the audit attributes")
    outcomes = check_outcomes(outcomes)
    scores = candidate_scores.copy()
    scores["candidate_id"] = scores["candidate_id"].astype(str)
    if predictors is None:
        predictors = [c for c in scores.columns if _source(c) != "other" and pd.api.types.is_numeric_dtype(scores[c])]
        predictors.sort(key=lambda c: (SOURCES.index(_source(c)), ("overall", *DIMENSIONS, "learning_agility").index(_aspect(c)) if _aspect(c) in ("overall", *DIMENSIONS, "learning_agility") else 9))
    predictors = list(predictors)
    for p in predictors:
        if p not in scores.columns:
            raise DataError(f"predictor {p!r} is not a column of candidate_scores")
        if not pd.api.types.is_numeric_dtype(scores[p]):
            raise DataError(f"predictor {p!r} must be numeric, has dtype {scores[p].dtype}")
    if not predictors:
        raise DataError("no predictor columns: give predictors= or pass scores named machine_*, human_* or mean_rating*")
    if selection_score is not None:
        if selection_score not in scores.columns:
            raise DataError(f"selection_score {selection_score!r} is not a column of candidate_scores (merge the legacy score in first: mean_rating_scores)")
        if selection_score not in predictors:
            predictors.insert(0, selection_score)
    attrs = [c for c in ("gender", "age_band", "hukou_type", "home_province", "ethnicity", "school_tier", "disability") if c in candidates.columns]
    cands = candidates[["candidate_id", *attrs]].copy()
    cands["candidate_id"] = cands["candidate_id"].astype(str)
    for c in attrs:
        cands[c] = cands[c].astype(object).where(cands[c].notna(), None)
    cands = add_region(cands)
    data = scores.merge(cands, on="candidate_id", how="left")
    matched = outcomes["candidate_id"].isin(set(data["candidate_id"]))
    data["hired"] = _hired_vector(data, hired, set(outcomes.loc[matched, "candidate_id"]))
    out = outcomes[matched].set_index("candidate_id")
    data["performance_rating"] = data["candidate_id"].map(out["performance_rating"]).astype(float)
    if "probation_result" in out.columns:
        data["probation_passed"] = data["candidate_id"].map(out["probation_result"].map({"passed": 1.0, "failed": 0.0})).astype(float)
    if "potential_rating" in out.columns:
        data["potential_rating"] = data["candidate_id"].map(out["potential_rating"]).astype(float)
    outcomes_for_non_hired = int((~data["hired"] & data["candidate_id"].isin(set(out.index))).sum())
    for c in CRITERIA:
        if c in data.columns:
            data.loc[~data["hired"], c] = np.nan
    if "school_tier" in data.columns:
        data["screen_pass"] = np.where(data["school_tier"].isna(), np.nan, data["school_tier"].isin(screen_tiers).astype(float))
    reconciliation = {
        "outcome_rows": int(len(outcomes)),
        "outcome_rows_matched": int(matched.sum()),
        "outcome_rows_unmatched": int((~matched).sum()),
        "outcome_rows_not_hired": outcomes_for_non_hired,
    }
    return data, predictors, reconciliation


# ----------------------------------------------------------------------------------------------------------------
# validity table
# ----------------------------------------------------------------------------------------------------------------


def _p_value(r: float, df: int) -> float:
    if not np.isfinite(r) or df < 1 or abs(r) >= 1:
        return np.nan
    tstat = r * np.sqrt(df / (1 - r * r))
    return float(2 * t_dist.sf(abs(tstat), df))


class _Validities:
    """Moments and corrections per (group, criterion, predictor), cached for the tables that share them."""

    def __init__(self, data, predictors, selection, reliability, range_correction, n_boot, seed, confidence, min_n):
        self.data, self.predictors, self.selection = data, predictors, selection
        self.reliability, self.range_correction = reliability, range_correction
        self.n_boot, self.seed, self.confidence, self.min_n = n_boot, seed, confidence, min_n
        self.rows: list[dict] = []
        self.cache: dict[tuple, dict] = {}
        self.samples: dict[tuple, GroupSample] = {}
        self.pool_vars: dict[tuple, tuple[float, int]] = {}
        self.frames: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
        self.binaries: dict[tuple, dict] = {}

    def method(self, predictor: str) -> str:
        if not self.range_correction:
            return NO_CORRECTION
        if self.selection is None:
            return CASE_II_ASSUMED
        return CASE_II if predictor == self.selection else CASE_III

    def group_frames(self, role: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        if role not in self.frames:
            pool = self.data if role == POOLED else self.data[self.data["role_id"] == role]
            self.frames[role] = (pool, pool[pool["hired"]])
        return self.frames[role]

    def pool_var(self, role: str, column: str) -> tuple[float, int]:
        key = (role, column)
        if key not in self.pool_vars:
            pool, _ = self.group_frames(role)
            self.pool_vars[key] = pooled_variance(pool[column].to_numpy(dtype=float), pool["role_id"].to_numpy(dtype=object))
        return self.pool_vars[key]

    def sample(self, role: str, criterion: str) -> GroupSample:
        key = (role, criterion)
        if key not in self.samples:
            _, hires = self.group_frames(role)
            hires = hires[hires[criterion].notna()]
            rng = np.random.default_rng([self.seed, len(self.samples)])
            self.samples[key] = GroupSample(hires.reset_index(drop=True), criterion=criterion, selection=self.selection, n_boot=self.n_boot, rng=rng)
        return self.samples[key]

    def binary(self, role: str, criterion: str) -> dict | None:
        """For a 0/1 criterion: share of 1s among the hires who have it, the group's selection ratio, and the cached
        threshold curve (see engine.corrected)."""
        if criterion != "probation_passed":
            return None
        if (role, criterion) not in self.binaries:
            pool, hires = self.group_frames(role)
            y = hires[criterion].dropna()
            p = float(y.mean()) if len(y) else np.nan
            sr = len(hires) / len(pool) if len(pool) else np.nan
            self.binaries[(role, criterion)] = {"p": p, "sr": sr, "curve": threshold_curve(sr, p) if 0 < p < 1 else None}
        return dict(self.binaries[(role, criterion)])

    def estimate(self, role: str, criterion: str, predictor: str, r_yy: float | None, *, replicates: bool) -> dict[str, np.ndarray]:
        key = (role, criterion, predictor, replicates)
        if key not in self.cache:
            self.cache[key] = self.sample(role, criterion).moments(predictor, replicates)
        method = self.method(predictor)
        pool_x = self.pool_var(role, predictor)[0]
        pool_z = self.pool_var(role, self.selection)[0] if self.selection else None
        binary = self.binary(role, criterion)
        return corrected(self.cache[key], method=method, pool_var_x=pool_x, pool_var_z=pool_z, r_yy=r_yy, binary=binary)

    def row(self, role: str, criterion: str, predictor: str, n_applicants: int, r_yy: float | None) -> dict:
        sample = self.sample(role, criterion)
        n = sample.count(predictor) if len(sample.frame) else 0
        has_scores = self.group_frames(role)[0][predictor].notna().any()
        method = self.method(predictor)
        base = {"role_id": role, "predictor": predictor, "source": _source(predictor), "aspect": _aspect(predictor), "criterion": criterion,
                "n_applicants": n_applicants, "n": n, "correction": method, "r_yy": r_yy if r_yy is not None else np.nan}
        if not has_scores:
            return {**base, "status": STATUS_NOT_ASSESSED}
        if n < self.min_n:
            return {**base, "status": STATUS_INSUFFICIENT}
        if self.binary(role, criterion) is not None:
            y = sample.y[~np.isnan(sample.y)]
            if min((y == 1).sum(), (y == 0).sum()) < MIN_EVENTS:
                return {**base, "status": STATUS_FEW_EVENTS}
        point = {k: float(v[0]) for k, v in self.estimate(role, criterion, predictor, r_yy, replicates=False).items()}
        k_roles = len(sample.blocks) if role == POOLED else 1
        n_eff = n - (k_roles - 1)
        low, high = correlation_ci(point["r"], n_eff, confidence=self.confidence)
        out = {**base, "status": STATUS_OK, **point, "r_ci_low": low, "r_ci_high": high, "p_value": _p_value(point["r"], n_eff - 2)}
        ends = np.array([low, high])
        out["r_rel_ci_low"], out["r_rel_ci_high"] = (correct_criterion_unreliability(ends, r_yy) if r_yy is not None else (np.nan, np.nan))
        if self.binary(role, criterion) is not None and method != NO_CORRECTION:
            # dichotomous criterion: the correction runs through the biserial correlation (see engine.corrected)
            reps = self.estimate(role, criterion, predictor, None, replicates=True)
            tail = (1 - self.confidence) / 2 * 100
            vals = reps["r_rr"][np.isfinite(reps["r_rr"])]
            out["r_rr_ci_low"], out["r_rr_ci_high"] = (np.percentile(vals, [tail, 100 - tail]) if len(vals) else (np.nan, np.nan))
            out["r_op"] = out["r_op_ci_low"] = out["r_op_ci_high"] = out["r_rel"] = out["r_rel_ci_low"] = out["r_rel_ci_high"] = np.nan
            out["ci_method"] = "bootstrap"
            return out
        if method in (CASE_II, CASE_II_ASSUMED):
            out["r_rr_ci_low"], out["r_rr_ci_high"] = correct_range_restriction(ends, point["u"])
            if r_yy is not None:
                out["r_op_ci_low"], out["r_op_ci_high"] = correct_range_restriction(np.clip(ends / np.sqrt(r_yy), -1, 1), point["u"])
            out["ci_method"] = "fisher_endpoints"
        elif method == NO_CORRECTION:
            out["r_rr_ci_low"], out["r_rr_ci_high"] = low, high
            out["r_op_ci_low"], out["r_op_ci_high"] = out["r_rel_ci_low"], out["r_rel_ci_high"]
            out["ci_method"] = "fisher_endpoints"
        else:
            reps = self.estimate(role, criterion, predictor, r_yy, replicates=True)
            tail = (1 - self.confidence) / 2 * 100
            for name in ("r_rr", "r_op"):
                vals = reps[name][np.isfinite(reps[name])]
                out[f"{name}_ci_low"], out[f"{name}_ci_high"] = (np.percentile(vals, [tail, 100 - tail]) if len(vals) else (np.nan, np.nan))
            out["ci_method"] = "bootstrap"
        if r_yy is None:
            out["r_op"], out["r_op_ci_low"], out["r_op_ci_high"] = np.nan, np.nan, np.nan
        return out


_VALIDITY_COLUMNS = [
    "role_id", "predictor", "source", "aspect", "criterion", "status", "n_applicants", "n", "r", "r_ci_low", "r_ci_high", "p_value",
    "r_rel", "r_rel_ci_low", "r_rel_ci_high", "r_rr", "r_rr_ci_low", "r_rr_ci_high", "r_op", "r_op_ci_low", "r_op_ci_high",
    "correction", "u", "r_xz", "r_zy", "r_yy", "ci_method",
]


# ----------------------------------------------------------------------------------------------------------------
# the study
# ----------------------------------------------------------------------------------------------------------------


def run_validity_study(
    candidate_scores: pd.DataFrame,
    outcomes: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    hired: str | pd.Series | None = None,
    selection_score: str | None = None,
    predictors: list[str] | None = None,
    criterion_reliability: dict[str, float] | None = None,
    reliability_sensitivity: tuple[float, ...] = (0.45, 0.52, 0.61),
    range_correction: bool = True,
    min_n: int = MIN_N,
    high_rating: int = 4,
    screen_tiers: tuple[str, ...] = ("985", "211"),
    attributes: tuple[str, ...] = AUDIT_ATTRIBUTES,
    procedure: str = "machine",
    current_share: float = 0.2,
    shares: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5),
    weight_step: float = 0.25,
    lda_tolerance: float = 0.03,
    suggestion_thresholds: tuple[float, ...] = (60, 70, 75, 80, 90),
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 500,
    seed: int = 7,
    truth: str | Path | pd.DataFrame | None = None,
    role_names: dict[str, str] | None = None,
    lang: str | None = None,
) -> ValidityStudy:
    """Criterion-related validity of interview scores against later outcomes, per role and pooled within role.

    Parameters
    ----------
    candidate_scores
        One row per interviewed candidate (all applicants, hired or not): ``candidate_id, role_id`` and score
        columns — stage 03's ``machine_*`` / ``human_*`` (0–100), optionally the legacy ``mean_rating*``
        (:func:`mean_rating_scores`) and competency scores (:func:`competency_scores`, e.g.
        ``machine_learning_agility``).
    outcomes
        The ``outcomes`` table (contract in ``data/README.md``): one row per hired candidate with
        ``performance_rating`` (1–5) and optionally ``probation_result`` (passed/failed) and ``potential_rating``.
    candidates
        The intake ``candidates`` table (``candidate_id`` and audit attributes, ``school_tier`` for the screen).
    hired
        Who was hired: ``None`` = every candidate listed in ``outcomes``; or a 0/1 column of ``candidate_scores``;
        or a Series indexed by candidate id.
    selection_score
        The column hiring was based on (for every applicant). The range-restriction correction is Thorndike Case II
        for that score and Case III (indirect selection) for every other predictor; ``None`` treats selection as
        direct on each predictor (``case_ii_assumed``), which under-corrects predictors that were not used.
    criterion_reliability
        Inter-rater reliability of a criterion **among the hires** (e.g. ``{"performance_rating": .52}``); a
        criterion without one gets no operational validity (``r_op`` NaN), only ``r`` and ``r_rr``.
    reliability_sensitivity
        Other r_yy values for the sensitivity table (Viswesvaran et al. .52; Salgado & Moscoso .45 / .61).
    range_correction
        ``False`` for a concurrent design where hiring did not use the interview (Sackett et al. 2022): only the
        reliability correction is applied.
    min_n
        Fewest hires with the criterion for a role's estimate; below it the row says ``insufficient_data``. At
        n = 50 the 95 % CI of an observed r = .20 already spans −.08 to .45 and the range correction multiplies
        that width by U (≈ 2 at a 20 % hiring rate), so smaller samples give numbers that mean nothing. A 0/1
        criterion (probation) also needs :data:`MIN_EVENTS` = 10 in its rarer class (``too_few_events``): with five
        failed probations a role's interval covered the truth in only ~70 % of simulated cohorts.
    high_rating
        A rating at or above this counts as a high performer (expectancy charts, role-suggestion evidence).
    screen_tiers
        School tiers that pass the screen many banks use today (985/211); unknown tier = does not pass.
    attributes
        Audit attributes for impact ratios (``region`` is derived from ``home_province``).
    procedure, current_share, shares, weight_step, lda_tolerance
        Trade-off: the score family whose dimension weightings are varied (``machine``), the selection ratio in use,
        the alternative ratios, the weight grid step, and how much lower an alternative's estimated validity may be
        and still count as "substantially equally valid".
    suggestion_thresholds
        Learning-agility cut-offs (0–100) for which the role-suggestion rule's evidence is tabulated.
    n_boot, seed, confidence
        Bootstrap replicates (Case III intervals, machine–human differences), its seed, interval level.
    truth
        Synthetic cohorts: the ``truth/`` directory (or its ``population_validity`` table) for the comparison table;
        also marks the report as based on synthetic data.
    role_names, lang
        Display only: role names for the report (e.g. ``{r.id: r.name for r in dictionary.roles.values()}``), and the
        language ``_repr_html_`` uses.
    """
    if not 0 < confidence < 1 or not 0 < alpha < 1:
        raise ConfigurationError("confidence and alpha must be in (0, 1)")
    if min_n < 10:
        raise ConfigurationError(f"min_n must be at least 10 (got {min_n}); see the docstring for why 50 is the default")
    if not all(0 < x < 1 for x in (current_share, *shares)):
        raise ConfigurationError(f"current_share and shares are selection ratios in (0, 1), got {current_share!r} and {shares!r}")
    if n_boot < 50:
        raise ConfigurationError(f"n_boot must be at least 50 for percentile intervals (got {n_boot})")
    if not 0 < weight_step <= 1 or abs(round(1 / weight_step) * weight_step - 1) > 1e-9:
        raise ConfigurationError(f"weight_step must divide 1 (e.g. 0.25, 0.2, 0.1), got {weight_step!r}")
    reliability = dict(criterion_reliability or {})
    for name, value in reliability.items():
        if name not in CRITERIA:
            raise ConfigurationError(f"criterion_reliability: unknown criterion {name!r}; criteria are {CRITERIA}")
        if not 0 < value <= 1:
            raise ConfigurationError(f"criterion_reliability[{name!r}] must be in (0, 1], got {value!r}")
    data, predictors, reconciliation = _assemble(candidate_scores, outcomes, candidates, hired, predictors, selection_score, screen_tiers)
    criteria = [c for c in CRITERIA if c in data.columns and data[c].notna().any()]
    roles = sorted(data["role_id"].dropna().unique())
    groups = [*roles, POOLED]
    engine = _Validities(data, predictors, selection_score, reliability, range_correction, n_boot, seed, confidence, min_n)

    # -- samples --------------------------------------------------------------------------------------------------
    sample_rows = []
    for role in groups:
        pool, hires = engine.group_frames(role)
        row = {"role_id": role, "n_applicants": len(pool), "n_hired": int(len(hires)), "hire_rate": len(hires) / len(pool) if len(pool) else np.nan}
        for c in criteria:
            row[f"n_{c}"] = int(hires[c].notna().sum())
        if "performance_rating" in criteria and selection_score:
            has = hires["performance_rating"].notna()
            a, b = hires.loc[has, selection_score], hires.loc[~has, selection_score]
            row["n_without_performance"] = int((~has).sum())
            row["attrition_score_gap"] = float((b.mean() - a.mean()) / hires[selection_score].std()) if len(b) and len(a) and hires[selection_score].std() > 0 else np.nan
        row["status"] = STATUS_OK if row.get("n_performance_rating", 0) >= min_n else STATUS_INSUFFICIENT
        sample_rows.append(row)
    samples = pd.DataFrame(sample_rows)
    samples.attrs.update(reconciliation)

    # -- validity, per role and pooled ------------------------------------------------------------------------------
    rows = []
    for criterion in criteria:
        for role in groups:
            n_app = len(engine.group_frames(role)[0])
            for p in predictors:
                rows.append(engine.row(role, criterion, p, n_app, reliability.get(criterion)))
    validity = pd.DataFrame(rows).reindex(columns=_VALIDITY_COLUMNS)

    # -- sensitivity to the criterion's reliability (pooled, overall scores) -------------------------------------------
    sens_rows = []
    if "performance_rating" in criteria:
        overall = [p for p in predictors if _aspect(p) == "overall"]
        values = sorted(set(reliability_sensitivity) | ({reliability["performance_rating"]} if "performance_rating" in reliability else set()))
        for p in overall:
            for ryy in values:
                r = engine.row(POOLED, "performance_rating", p, len(data), ryy)
                sens_rows.append({"predictor": p, "r_yy": ryy, "status": r["status"], "r_op": r.get("r_op", np.nan),
                                  "r_op_ci_low": r.get("r_op_ci_low", np.nan), "r_op_ci_high": r.get("r_op_ci_high", np.nan)})
    sensitivity = pd.DataFrame(sens_rows)

    # -- incremental validity over the school-tier screen, and the screen's adverse impact -----------------------------
    inc_rows, screen = [], pd.DataFrame()
    overall_preds = [p for p in predictors if _aspect(p) == "overall"]
    if "screen_pass" in data.columns and "performance_rating" in criteria:
        for role in groups:
            _, hires = engine.group_frames(role)
            hires = hires[hires["performance_rating"].notna()]
            for p in overall_preds:
                if len(hires) < min_n:
                    inc_rows.extend({"role_id": role, "predictor": p, "order": order, "n": len(hires), "status": STATUS_INSUFFICIENT}
                                    for order in (ORDER_INTERVIEW_OVER_SCREEN, ORDER_SCREEN_OVER_INTERVIEW))
                    continue
                for r in incremental_validity(hires, predictor=p, criterion="performance_rating", screen="screen_pass", role_effects=role == POOLED):
                    inc_rows.append({"role_id": role, "predictor": p, **r})
        audit_attrs = _usable_attributes(data, [a for a in attributes if a != "school_tier"])
        procs = [p for p in overall_preds if _source(p) in ("machine", "human")] or overall_preds
        if audit_attrs:
            screen = screen_impact(data, screen="screen_pass", procedures=procs, attributes=audit_attrs, alpha=alpha)
    incremental = pd.DataFrame(inc_rows)

    # -- expectancy ---------------------------------------------------------------------------------------------------
    exp_rows, pool_rows = [], []
    focus = [p for p in predictors if _aspect(p) == "overall"]
    for criterion in [c for c in ("performance_rating", "potential_rating") if c in criteria]:
        preds = focus if criterion == "performance_rating" else [p for p in predictors if _aspect(p) in ("learning_agility", "general")]
        for role in groups:
            pool, hires = engine.group_frames(role)
            hires = hires[hires[criterion].notna()]
            if len(hires) < min_n:
                continue
            for p in preds:
                table = empirical_expectancy(hires, predictor=p, criterion=criterion, high=high_rating, confidence=confidence)
                if len(table):
                    exp_rows.append(table.assign(role_id=role, predictor=p, criterion=criterion))
                if not range_correction:
                    continue
                rx = engine.row(role, criterion, p, len(pool), None)
                rz = engine.row(role, criterion, selection_score, len(pool), None) if selection_score else rx
                base = float((hires[criterion] >= high_rating).mean())
                if rx.get("status") == STATUS_OK and rz.get("status") == STATUS_OK:
                    lawshe = pool_expectancy(rho_x=rx["r_rr"], rho_z=rz["r_rr"], selection_ratio=len(engine.group_frames(role)[1]) / len(pool), hired_base_rate=base)
                    if len(lawshe):
                        pool_rows.append(lawshe.assign(role_id=role, predictor=p, criterion=criterion, rho=rx["r_rr"]))
    lead = ["role_id", "predictor", "criterion"]
    expectancy = _front(pd.concat(exp_rows, ignore_index=True), lead) if exp_rows else pd.DataFrame()
    expectancy_pool = _front(pd.concat(pool_rows, ignore_index=True), lead) if pool_rows else pd.DataFrame()

    # -- trade-off and less discriminatory alternatives ------------------------------------------------------------------
    tradeoff, tradeoff_impact, lda = pd.DataFrame(), pd.DataFrame(), pd.DataFrame([{"verdict": "not_available", "reason": "no_performance_rating"}])
    usable = _usable_attributes(data, list(attributes))
    if "performance_rating" in criteria and not usable:
        lda = pd.DataFrame([{"verdict": "not_available", "reason": "no_attributes"}])
    elif "performance_rating" in criteria:
        tradeoff, tradeoff_impact, lda = tradeoff_study(
            data, procedure=procedure, selection=selection_score, criterion="performance_rating", attributes=usable,
            current_share=current_share, shares=tuple(shares), weight_step=weight_step, tolerance=lda_tolerance, alpha=alpha,
        )

    # -- machine versus human on the same outcomes -----------------------------------------------------------------------
    mvh_rows = []
    for criterion in [c for c in ("performance_rating", "potential_rating") if c in criteria]:
        ryy = reliability.get(criterion)
        for aspect in ("overall", *DIMENSIONS, "learning_agility"):
            m, h = f"machine_{aspect}", f"human_{aspect}"
            if m not in predictors or h not in predictors:
                continue
            for role in groups:
                rm = engine.row(role, criterion, m, 0, ryy)
                rh = engine.row(role, criterion, h, 0, ryy)
                row = {"role_id": role, "criterion": criterion, "aspect": aspect, "n": min(rm["n"], rh["n"])}
                if rm["status"] != STATUS_OK or rh["status"] != STATUS_OK:
                    mvh_rows.append({**row, "status": rm["status"] if rm["status"] != STATUS_OK else rh["status"]})
                    continue
                key = "r_op" if ryy is not None else "r_rr"
                bm = engine.estimate(role, criterion, m, ryy, replicates=True)[key]
                bh = engine.estimate(role, criterion, h, ryy, replicates=True)[key]
                diff = bm - bh
                diff = diff[np.isfinite(diff)]
                tail = (1 - confidence) / 2 * 100
                lo, hi = np.percentile(diff, [tail, 100 - tail]) if len(diff) else (np.nan, np.nan)
                verdict = MVH_LOST if hi < 0 else (MVH_GAINED if lo > 0 else MVH_RETAINED)
                mvh_rows.append({**row, "status": STATUS_OK, "measure": key, "machine": rm[key], "human": rh[key],
                                 "machine_observed": rm["r"], "human_observed": rh["r"], "difference": rm[key] - rh[key],
                                 "diff_ci_low": float(lo), "diff_ci_high": float(hi),
                                 "retained_share": rm[key] / rh[key] if rh[key] and np.isfinite(rh[key]) and rh[key] > 0 else np.nan,
                                 "verdict": verdict})
    machine_vs_human = pd.DataFrame(mvh_rows)

    # -- evidence for the role-suggestion rule (learning agility → potential) ---------------------------------------------
    rule_rows = []
    if "potential_rating" in criteria:
        for p in [p for p in predictors if _aspect(p) == "learning_agility" and _source(p) in ("machine", "human")]:
            rule_rows.extend(_suggestion_rows(data, p, suggestion_thresholds, high_rating, confidence, min_n))
    suggestion_rule = pd.DataFrame(rule_rows)

    truth_comparison = _truth_comparison(validity, truth) if truth is not None else pd.DataFrame()
    config = {
        "predictors": predictors, "selection_score": selection_score, "criterion_reliability": reliability,
        "reliability_sensitivity": list(reliability_sensitivity), "range_correction": range_correction, "min_n": min_n,
        "high_rating": high_rating, "screen_tiers": list(screen_tiers), "attributes": list(attributes), "procedure": procedure,
        "current_share": current_share, "shares": list(shares), "weight_step": weight_step, "lda_tolerance": lda_tolerance,
        "suggestion_thresholds": list(suggestion_thresholds), "alpha": alpha, "confidence": confidence, "n_boot": n_boot,
        "seed": seed, "lang": lang, "criteria": criteria, "synthetic": truth is not None, "role_names": dict(role_names or {}), **reconciliation,
    }
    return ValidityStudy(
        config=config, samples=samples, validity=validity, sensitivity=sensitivity, incremental=incremental, screen_impact=screen,
        expectancy=expectancy, expectancy_pool=expectancy_pool, tradeoff=tradeoff, tradeoff_impact=tradeoff_impact, lda=lda,
        machine_vs_human=machine_vs_human, suggestion_rule=suggestion_rule, truth_comparison=truth_comparison,
    )


def _front(frame: pd.DataFrame, lead: list[str]) -> pd.DataFrame:
    return frame[lead + [c for c in frame.columns if c not in lead]]


def _usable_attributes(data: pd.DataFrame, attributes: list[str]) -> list[str]:
    """Attributes present with at least two known categories (the impact functions need two to compare)."""
    out = []
    for a in attributes:
        if a in data.columns and data[a].dropna().nunique() >= 2:
            out.append(a)
    return out


def _suggestion_rows(data: pd.DataFrame, predictor: str, thresholds, high: int, confidence: float, min_n: int) -> list[dict]:
    """Per threshold: share with a high potential rating at or above it versus below (hires of roles that assess the
    competency); a row is ``insufficient_data`` when the hires number under ``min_n`` or a side under 10."""
    from scipy.stats import fisher_exact
    from statsmodels.stats.proportion import confint_proportions_2indep

    hires = data[data["hired"] & data["potential_rating"].notna() & data[predictor].notna()]
    success = (hires["potential_rating"] >= high).to_numpy()
    base = float(success.mean()) if len(hires) else np.nan
    rows = []
    for threshold in thresholds:
        flag = (hires[predictor] >= threshold).to_numpy()
        n1, n0 = int(flag.sum()), int((~flag).sum())
        row = {"predictor": predictor, "threshold": threshold, "n": len(hires), "n_flagged": n1, "base_rate": base}
        if len(hires) < min_n or n1 < 10 or n0 < 10:
            rows.append({**row, "status": STATUS_INSUFFICIENT})
            continue
        x1, x0 = int(success[flag].sum()), int(success[~flag].sum())
        lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", alpha=1 - confidence)
        p = float(fisher_exact([[x1, n1 - x1], [x0, n0 - x0]]).pvalue)
        rows.append({**row, "status": STATUS_OK, "p_high_flagged": x1 / n1, "p_high_other": x0 / n0, "difference": x1 / n1 - x0 / n0,
                     "diff_ci_low": float(lo), "diff_ci_high": float(hi), "lift": (x1 / n1) / base if base else np.nan, "p_value": p,
                     "evidence": RULE_SUPPORTED if lo > 0 else RULE_NOT_SUPPORTED})
    return rows


def _truth_comparison(validity: pd.DataFrame, truth) -> pd.DataFrame:
    """Estimates against the generator's population validity (same predictor names: the legacy ``mean_rating*``)."""
    if isinstance(truth, (str, Path)):
        path = Path(truth)
        path = path / "population_validity.parquet" if path.is_dir() else path
        if not path.is_file():
            raise DataError(f"no population validity table at {path}; generate the cohort with truth_simulation_per_role > 0")
        truth = pd.read_parquet(path)
    merged = validity[validity["status"] == STATUS_OK].merge(truth, on=["role_id", "predictor", "criterion"], how="inner", suffixes=("", "_truth"))
    if merged.empty:
        return pd.DataFrame()
    use_op = merged["r_op"].notna() & merged["operational_validity"].notna()
    out = pd.DataFrame(
        {
            "role_id": merged["role_id"],
            "predictor": merged["predictor"],
            "criterion": merged["criterion"],
            "n": merged["n"],
            "correction": merged["correction"],
            "measure": np.where(use_op, "r_op", "r_rr"),
            "observed": merged["r"],
            "estimate": np.where(use_op, merged["r_op"], merged["r_rr"]),
            "ci_low": np.where(use_op, merged["r_op_ci_low"], merged["r_rr_ci_low"]),
            "ci_high": np.where(use_op, merged["r_op_ci_high"], merged["r_rr_ci_high"]),
            "truth": np.where(use_op, merged["operational_validity"], merged["validity"]),
            "truth_restricted": merged["restricted_validity"],
        }
    )
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out.reset_index(drop=True)
