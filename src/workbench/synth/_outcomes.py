"""Later outcomes of the candidates a bank hired — probation, first-year performance rating, potential rating — and
the true population validity the model implies.

Model (in words and formulas in ``data/README.md``, section "Outcomes"):

* **Hiring** (the bank's legacy process): within each role, the top ``hire_share`` of candidates by their *mean human
  interview rating* (every rating of every answer, ``no_response`` answers count as 1; ties broken by candidate id)
  are hired. Only they have outcomes: selection is direct on that score, indirect on everything else.
* **True performance** P = Σ_k w_k θ_k + ε with the role's true weights — the construct behind the EHR employees'
  performance, with the same R² (``performance_r2``) — standardised in the applicant population: z_P.
* **True potential** Q = Σ_k v_k θ_k + ε: learning agility (学习能力) weighs .6 where the role assesses it, the rest
  is spread evenly over the role's other general-dimension (综合素质) competencies; R² = ``potential_r2``; z_Q.
* **Ratings** (first-year performance, potential): y* = (z + e) / √(1 + σ²) with the supervisor's error e ~ N(0, σ²),
  σ = ``outcome_rating_noise_sd``; the 1–5 rating cuts y* at :data:`RATING_CUTS` (hires of a typical role get
  ≈ 10/20/40/20/10 %, the whole applicant pool ≈ 23/26/34/13/5 %).
* **Probation** fails when z_P + N(0, σ_p²) < ``probation_fail_below``; who fails leaves and gets no ratings. Another
  ``attrition_rate`` of hires leave at random before the ratings.

**Truth** is computed by a large simulation of the same model (:func:`population_validity`):
``truth_simulation_per_role`` applicants per role, interviews simulated from θ to two human ratings per answer with
this cohort's questions, raters, bias knobs and non-response (ratings need no answer text). The criterion's true
score E[rating | z] is exact (normal integrals), so the operational validity corr(X, E[Y | z]) and the criterion
reliability Var(E[Y | z]) / Var(Y) need no approximation beyond Monte-Carlo error (SE ≈ .007 per role and ≈ .002 pooled at the default 10,000 per role).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..competency import CompetencyDictionary
from ._config import REGION_GROUPS, CohortConfig
from ._generator import (
    _LEVEL_CUTS,
    _PROVINCE_W,
    ROLE_WEIGHTS,
    _latent,
    demographic_missing_rates,
    draw_attributes,
    question_parameters,
    rater_severities,
)

__all__ = [
    "OUTCOME_COLUMNS",
    "PROBATION_FAILED",
    "PROBATION_PASSED",
    "RATING_CUTS",
    "OutcomeCollector",
    "expected_rating",
    "potential_weights",
    "population_validity",
    "simulate_applicants",
]

RATING_CUTS = np.array([-0.74, -0.015, 0.98, 1.70])
LEARNING_WEIGHT = 0.6
PROBATION_PASSED, PROBATION_FAILED = "passed", "failed"
OUTCOME_COLUMNS = ["candidate_id", "performance_rating", "probation_result", "potential_rating"]
DIMENSIONS = ("professional", "general", "culture")
PREDICTORS = ("mean_rating", *(f"mean_rating_{d}" for d in DIMENSIONS), "mean_rating_learning_agility")
ATTRIBUTES = ("gender", "age_band", "hukou_type", "home_province", "ethnicity", "school_tier", "disability")
_REGION_OF = {p: g for g, ps in REGION_GROUPS.items() for p in ps}
POOLED = "all"


def potential_weights(dictionary: CompetencyDictionary, role_id: str) -> dict[str, float]:
    """The true weights v_k of potential for a role (learning agility .6 where assessed; see module docstring)."""
    comps = list(dictionary.roles[role_id].competency_ids)
    general = [c for c in comps if dictionary.competencies[c].dimension == "general"] or comps
    if "learning_agility" in comps:
        others = [c for c in general if c != "learning_agility"]
        out = {"learning_agility": LEARNING_WEIGHT if others else 1.0}
        out.update({c: (1 - LEARNING_WEIGHT) / len(others) for c in others})
    else:
        out = {c: 1 / len(general) for c in general}
    return {c: round(out.get(c, 0.0), 6) for c in comps}


@dataclass(frozen=True)
class _RoleModel:
    role_id: str
    competencies: tuple[str, ...]
    dimensions: tuple[str, ...]
    performance: np.ndarray  # true weights w
    potential: np.ndarray  # true weights v
    performance_signal_sd: float
    potential_signal_sd: float


def _role_models(config: CohortConfig, dictionary: CompetencyDictionary, weights: dict) -> dict[str, _RoleModel]:
    models = {}
    for role_id, role in dictionary.roles.items():
        comps = tuple(role.competency_ids)
        cov = config.general_factor_share + (1 - config.general_factor_share) * np.eye(len(comps))
        w = np.array([weights[role_id][c] for c in comps], dtype=float)
        pw = potential_weights(dictionary, role_id)
        v = np.array([pw[c] for c in comps], dtype=float)
        models[role_id] = _RoleModel(
            role_id, comps, tuple(dictionary.competencies[c].dimension for c in comps), w, v, float(np.sqrt(w @ cov @ w)), float(np.sqrt(v @ cov @ v))
        )
    return models


def _standardised(rng: np.random.Generator, signal: np.ndarray, signal_sd: np.ndarray, r2: float) -> np.ndarray:
    """z = (signal + ε) / SD, with Var(ε) such that the signal explains ``r2`` of the variance."""
    noise_sd = signal_sd * np.sqrt((1 - r2) / r2)
    return (signal + rng.standard_normal(len(signal)) * noise_sd) / (signal_sd / np.sqrt(r2))


def _ratings(rng: np.random.Generator, z: np.ndarray, noise_sd: float) -> np.ndarray:
    ystar = (z + rng.normal(0, noise_sd, len(z))) / np.sqrt(1 + noise_sd**2)
    return np.searchsorted(RATING_CUTS, ystar) + 1


def expected_rating(z: np.ndarray, noise_sd: float) -> np.ndarray:
    """E[rating | z]: the criterion's true score (the mean rating over infinitely many independent raters)."""
    z = np.asarray(z, dtype=float)
    scale = np.sqrt(1 + noise_sd**2)
    below = norm.cdf((RATING_CUTS[None, :] * scale - z[:, None]) / noise_sd)  # P(y* ≤ cut_j)
    return 1 + (1 - below).sum(axis=1)


def _observed_outcomes(rng: np.random.Generator, z_perf: np.ndarray, z_pot: np.ndarray, config: CohortConfig) -> dict[str, np.ndarray]:
    n = len(z_perf)
    return {
        "performance_rating_cf": _ratings(rng, z_perf, config.outcome_rating_noise_sd),
        "potential_rating_cf": _ratings(rng, z_pot, config.outcome_rating_noise_sd),
        "probation_passed": z_perf + rng.normal(0, config.probation_noise_sd, n) >= config.probation_fail_below,
        "left_before_rating": rng.random(n) < config.attrition_rate,
        "performance_true": expected_rating(z_perf, config.outcome_rating_noise_sd),
        "potential_true": expected_rating(z_pot, config.outcome_rating_noise_sd),
    }


def _member(values: pd.Series, groups: tuple[str, ...]) -> np.ndarray:
    """True where the value is known and in ``groups`` (unknown values are never targeted, as in the generator)."""
    return np.array([v is not None and v in groups for v in values.to_numpy(dtype=object)], dtype=bool)


def _hire(frame: pd.DataFrame, share: float) -> np.ndarray:
    from ..fairness.audit import advance_decision  # one implementation of "top share per role"

    return advance_decision(frame, score="mean_rating", top_share=share).to_numpy(dtype=bool)


# ----------------------------------------------------------------------------------------------------------------
# ratings-only applicants (vectorised): the truth simulation and the fairness power benchmark
# ----------------------------------------------------------------------------------------------------------------


def simulate_applicants(
    config: CohortConfig,
    dictionary: CompetencyDictionary,
    *,
    n_candidates: int | None = None,
    per_role: int | None = None,
    rng: np.random.Generator | None = None,
    weights: dict | None = None,
    questions_meta: pd.DataFrame | None = None,
    raters: dict | None = None,
    missing_rates: dict | None = None,
) -> pd.DataFrame:
    """Applicants with the cohort generator's attributes and human ratings, without answer texts — fast.

    The same model as :func:`workbench.synth.generate_cohort` from θ to the two human ratings of each answer (question
    choice, difficulty, level cut, rater pair and severity, rater noise, bias knobs, non-response, group-dependent
    missingness), vectorised per role. Give ``n_candidates`` (roles drawn with the generator's volumes) or
    ``per_role``. Returns one row per applicant: ``candidate_id, role_id``, the seven audit attributes (empty =
    unknown) and ``region`` (the true one, which the region bias knob uses), ``mean_rating`` (all ratings),
    ``mean_rating_<dimension>``, ``mean_rating_learning_agility`` (NaN where the role does not assess it),
    ``z_performance``, ``z_potential`` and the counterfactual outcomes every applicant *would* have if hired.
    """
    if (n_candidates is None) == (per_role is None):
        raise ValueError("give exactly one of n_candidates and per_role")
    from ._generator import _true_weights

    config = config.validate()
    rng = rng if rng is not None else np.random.default_rng([config.seed, 23])
    weights = weights or _true_weights(dictionary, config.seed)
    questions_meta = questions_meta if questions_meta is not None else question_parameters(config, dictionary)
    raters = raters or rater_severities(config, dictionary)
    missing_rates = missing_rates or demographic_missing_rates(config)
    role_ids = list(dictionary.roles)
    if per_role is not None:
        roles = np.repeat(np.array(role_ids, dtype=object), per_role)
    else:
        p = np.array([ROLE_WEIGHTS.get(r, 1.0) for r in role_ids])
        roles = rng.choice(np.array(role_ids, dtype=object), size=n_candidates, p=p / p.sum())
    n = len(roles)
    prov = np.array(list(_PROVINCE_W), dtype=object)
    prov_p = np.array(list(_PROVINCE_W.values()))
    true_province = rng.choice(prov, size=n, p=prov_p / prov_p.sum())
    frame = pd.DataFrame(
        {
            "candidate_id": [f"S{i + 1:07d}" for i in range(n)],
            "role_id": roles,
            **draw_attributes(rng, n, missing_rates, true_province),
            "region": np.array([_REGION_OF.get(p) for p in true_province], dtype=object),
        }
    )
    # rater bias (in SD(L) units) and non-response rate per applicant, exactly as the generator decides them
    from ._generator import level_sd

    shift = np.zeros(n)
    for bias in config.rater_bias:
        shift += bias.sd * _member(frame[bias.attribute], bias.groups)
    shift *= level_sd()
    nr_rate = np.full(n, config.no_response_rate)
    if config.missingness_attribute:
        nr_rate = np.where(_member(frame[config.missingness_attribute], config.missingness_groups), nr_rate * config.missingness_multiplier, nr_rate)

    models = _role_models(config, dictionary, weights)
    by_role_comp = {k: g for k, g in questions_meta.groupby(["role_id", "competency_id"], sort=False)}
    sd_u = float(np.sqrt(1 + config.answer_noise_sd**2))
    out = {c: np.full(n, np.nan) for c in PREDICTORS}
    z_perf, z_pot = np.zeros(n), np.zeros(n)
    for role_id in role_ids:
        idx = np.flatnonzero(roles == role_id)
        if idx.size == 0:
            continue
        m = models[role_id]
        k_comps = len(m.competencies)
        theta = _latent(rng, idx.size, k_comps, config.general_factor_share)
        severity = np.array([s for _, s in raters[role_id]])
        sums = np.zeros((idx.size, k_comps))
        counts = np.zeros((idx.size, k_comps))
        for k, comp in enumerate(m.competencies):
            options = by_role_comp[(role_id, comp)]
            difficulty, noise = options["difficulty"].to_numpy(), options["rater_noise"].to_numpy()
            picks = np.argsort(rng.random((idx.size, len(options))), axis=1)[:, : config.answers_per_competency]
            for slot in range(config.answers_per_competency):
                q = picks[:, slot]
                u = theta[:, k] - difficulty[q] + rng.normal(0, config.answer_noise_sd, idx.size)
                level = np.searchsorted(_LEVEL_CUTS, u / sd_u) + 1
                silent = rng.random(idx.size) < nr_rate[idx]
                pair = np.argsort(rng.random((idx.size, len(severity))), axis=1)[:, :2]
                raw = level[:, None] + severity[pair] + rng.normal(0, 1, (idx.size, 2)) * noise[q][:, None] - shift[idx, None]
                ratings = np.where(silent[:, None], 1, np.clip(np.round(raw), 1, 5))
                sums[:, k] += ratings.sum(axis=1)
                counts[:, k] += 2
        out["mean_rating"][idx] = sums.sum(axis=1) / counts.sum(axis=1)
        dims = np.array(m.dimensions)
        for d in DIMENSIONS:
            cols = dims == d
            if cols.any():
                out[f"mean_rating_{d}"][idx] = sums[:, cols].sum(axis=1) / counts[:, cols].sum(axis=1)
        if "learning_agility" in m.competencies:
            k = m.competencies.index("learning_agility")
            out["mean_rating_learning_agility"][idx] = sums[:, k] / counts[:, k]
        z_perf[idx] = _standardised(rng, theta @ m.performance, np.full(idx.size, m.performance_signal_sd), config.performance_r2)
        z_pot[idx] = _standardised(rng, theta @ m.potential, np.full(idx.size, m.potential_signal_sd), config.potential_r2)
    for c in PREDICTORS:
        frame[c] = out[c]
    frame["z_performance"], frame["z_potential"] = z_perf, z_pot
    for name, values in _observed_outcomes(rng, z_perf, z_pot, config).items():
        frame[name] = values
    return frame


# ----------------------------------------------------------------------------------------------------------------
# the truth: population validity by simulation
# ----------------------------------------------------------------------------------------------------------------


def _moments(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) < 3:
        return np.nan, np.nan, np.nan
    return float(np.cov(x, y)[0, 1]), float(np.var(x, ddof=1)), float(np.var(y, ddof=1))


def _pooled(moments: list[tuple[float, float, float]], weights: list[float]) -> tuple[float, float, float]:
    keep = [(m, w) for m, w in zip(moments, weights) if not np.isnan(m[0])]
    if not keep:
        return np.nan, np.nan, np.nan
    total = sum(w for _, w in keep)
    return tuple(sum(w * m[i] for m, w in keep) / total for i in range(3))  # type: ignore[return-value]


def _corr(m: tuple[float, float, float]) -> float:
    return m[0] / np.sqrt(m[1] * m[2]) if m[1] > 0 and m[2] > 0 else np.nan


_CRITERIA = {  # criterion → (observed column, true-score column or None)
    "performance_rating": ("performance_rating_cf", "performance_true"),
    "probation_passed": ("probation_passed", None),
    "potential_rating": ("potential_rating_cf", "potential_true"),
}


def population_validity(sim: pd.DataFrame, config: CohortConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """True validities and criterion reliabilities from simulated applicants (:func:`simulate_applicants`).

    Returns ``(validity, reliability)``, tidy, per role and pooled (``role_id == "all"``: within-role moments
    averaged with the applicant mix of the generator's role volumes):

    * validity: ``role_id, predictor, criterion, validity`` (corr(X, observed criterion) among all applicants),
      ``operational_validity`` (corr(X, criterion true score); NaN for probation, which has no rating error model),
      ``restricted_validity`` (corr among hires who have the criterion — what a bank observes on average),
      ``u`` (SD of X among applicants / among hires), ``n_simulated``;
    * reliability: ``role_id, criterion, applicants, incumbents`` — Var(true score) / Var(rating) among all
      applicants and among the hires who have the rating (where a bank would estimate it).
    """
    hired_all = _hire(sim, config.hire_share)
    rated_all = hired_all & sim["probation_passed"].to_numpy(dtype=bool) & ~sim["left_before_rating"].to_numpy(dtype=bool)
    roles = sim["role_id"].to_numpy(dtype=object)
    role_ids = list(dict.fromkeys(roles))
    index = {r: np.flatnonzero(roles == r) for r in role_ids}
    mix = {r: ROLE_WEIGHTS.get(r, 1.0) for r in role_ids}
    column = {c: sim[c].to_numpy(dtype=float) for c in (*PREDICTORS, *(v for pair in _CRITERIA.values() for v in pair if v))}
    rows, rel_rows = [], []
    for predictor in PREDICTORS:
        for criterion, (obs, true) in _CRITERIA.items():
            per_role: dict[str, dict] = {}
            for role_id, idx in index.items():
                x = column[predictor][idx]
                if np.isnan(x).all():
                    continue
                y = column[obs][idx]
                hired = hired_all[idx]
                has_y = hired if criterion == "probation_passed" else rated_all[idx]
                per_role[role_id] = {
                    "pool": _moments(x, y),
                    "true": _moments(x, column[true][idx]) if true else (np.nan, np.nan, np.nan),
                    "restricted": _moments(x[has_y], y[has_y]),
                    "x_hired": _moments(x[hired], x[hired]),
                    "n": len(idx),
                }
            if not per_role:
                continue
            keys = list(per_role)
            pooled = {part: _pooled([per_role[r][part] for r in keys], [mix[r] for r in keys]) for part in ("pool", "true", "restricted", "x_hired")}
            pooled["n"] = sum(per_role[r]["n"] for r in keys)
            for role_id, s in [*per_role.items(), (POOLED, pooled)]:
                rows.append(
                    {
                        "role_id": role_id,
                        "predictor": predictor,
                        "criterion": criterion,
                        "validity": _corr(s["pool"]),
                        "operational_validity": _corr(s["true"]),
                        "restricted_validity": _corr(s["restricted"]),
                        "u": float(np.sqrt(s["pool"][1] / s["x_hired"][1])),
                        "n_simulated": int(s["n"]),
                    }
                )
    for criterion, (obs, true) in _CRITERIA.items():
        if true is None:
            continue
        stats: dict[str, tuple] = {}
        for role_id, idx in index.items():
            keep = rated_all[idx]
            t, y = column[true][idx], column[obs][idx]
            stats[role_id] = (np.var(t, ddof=1), np.var(y, ddof=1), np.var(t[keep], ddof=1), np.var(y[keep], ddof=1))
        w = np.array([mix[r] for r in role_ids])
        pooled_var = tuple(float(np.average([stats[r][i] for r in role_ids], weights=w)) for i in range(4))
        for role_id, s in [*stats.items(), (POOLED, pooled_var)]:
            rel_rows.append({"role_id": role_id, "criterion": criterion, "applicants": s[0] / s[1], "incumbents": s[2] / s[3]})
    return pd.DataFrame(rows), pd.DataFrame(rel_rows)


# ----------------------------------------------------------------------------------------------------------------
# the generator's hook
# ----------------------------------------------------------------------------------------------------------------


class OutcomeCollector:
    """Collects, chunk by chunk, what outcomes need (role, mean rating, θ·w, θ·v: four numbers per candidate), then
    hires, draws the outcomes and writes the bank's ``outcomes`` table and the truth."""

    def __init__(self, config: CohortConfig, dictionary: CompetencyDictionary, weights: dict):
        self.config, self.dictionary, self.weights = config, dictionary, weights
        self.models = _role_models(config, dictionary, weights)
        self._w = {(r, c): w for r, m in self.models.items() for c, w in zip(m.competencies, m.performance)}
        self._v = {(r, c): v for r, m in self.models.items() for c, v in zip(m.competencies, m.potential)}
        self._parts: list[pd.DataFrame] = []

    def add_chunk(self, candidates: pd.DataFrame, latent: pd.DataFrame, answers: pd.DataFrame, ratings: pd.DataFrame) -> None:
        mean = ratings.merge(answers, on="answer_id").groupby("candidate_id")["rating"].mean()
        lat = latent.merge(candidates, on="candidate_id")
        keys = list(zip(lat["role_id"], lat["competency_id"]))
        lat["perf"] = lat["theta"].to_numpy() * np.array([self._w[k] for k in keys])
        lat["pot"] = lat["theta"].to_numpy() * np.array([self._v[k] for k in keys])
        signal = lat.groupby("candidate_id")[["perf", "pot"]].sum()
        part = candidates[["candidate_id", "role_id"]].copy()
        part["mean_rating"] = part["candidate_id"].map(mean).to_numpy(dtype=float)
        part["signal_performance"] = part["candidate_id"].map(signal["perf"]).to_numpy(dtype=float)
        part["signal_potential"] = part["candidate_id"].map(signal["pot"]).to_numpy(dtype=float)
        self._parts.append(part)

    def finish(self, writer, truth_dir: Path, *, questions_meta: pd.DataFrame, raters: dict, missing_rates: dict) -> dict:
        config = self.config
        frame = pd.concat(self._parts, ignore_index=True)
        rng = np.random.default_rng([config.seed, 17])
        perf_sd = frame["role_id"].map({r: m.performance_signal_sd for r, m in self.models.items()}).to_numpy(dtype=float)
        pot_sd = frame["role_id"].map({r: m.potential_signal_sd for r, m in self.models.items()}).to_numpy(dtype=float)
        frame["z_performance"] = _standardised(rng, frame["signal_performance"].to_numpy(), perf_sd, config.performance_r2)
        frame["z_potential"] = _standardised(rng, frame["signal_potential"].to_numpy(), pot_sd, config.potential_r2)
        for name, values in _observed_outcomes(rng, frame["z_performance"].to_numpy(), frame["z_potential"].to_numpy(), config).items():
            frame[name] = values
        frame["hired"] = _hire(frame, config.hire_share)
        rated = frame["probation_passed"] & ~frame["left_before_rating"]
        hired = frame[frame["hired"]]
        keep = rated[frame["hired"]]
        bank = pd.DataFrame(
            {
                "candidate_id": hired["candidate_id"].to_numpy(),
                "probation_result": np.where(hired["probation_passed"], PROBATION_PASSED, PROBATION_FAILED),
                "performance_rating": pd.array(np.where(keep, hired["performance_rating_cf"], np.nan), dtype="Int64"),
                "potential_rating": pd.array(np.where(keep, hired["potential_rating_cf"], np.nan), dtype="Int64"),
            },
            columns=OUTCOME_COLUMNS,
        )
        writer.write(bank)
        full = frame.drop(columns=["signal_performance", "signal_potential"]).round(
            {"mean_rating": 5, "z_performance": 5, "z_potential": 5, "performance_true": 5, "potential_true": 5}
        )
        full.to_parquet(truth_dir / "outcomes_full.parquet", index=False)
        summary = {
            "hiring_rule": {
                "score": "mean_rating",
                "description": "mean of every human rating of the candidate's answers (no_response counts as 1)",
                "top_share": config.hire_share,
                "by": "role_id",
                "ties": "candidate_id ascending",
            },
            "model": {
                "rating_cuts": RATING_CUTS.tolist(),
                "rating_noise_sd": config.outcome_rating_noise_sd,
                "performance_r2": config.performance_r2,
                "potential_r2": config.potential_r2,
                "probation_noise_sd": config.probation_noise_sd,
                "probation_fail_below": config.probation_fail_below,
                "attrition_rate": config.attrition_rate,
                "potential_weights": {r: potential_weights(self.dictionary, r) for r in self.dictionary.roles},
            },
            "counts": {
                "candidates": int(len(frame)),
                "hired": int(frame["hired"].sum()),
                "probation_failed": int((~hired["probation_passed"]).sum()),
                "with_ratings": int(keep.sum()),
            },
            "files": {"outcomes_full": "outcomes_full.parquet"},
        }
        if config.truth_simulation_per_role > 0:
            sim = simulate_applicants(
                config, self.dictionary, per_role=config.truth_simulation_per_role, rng=np.random.default_rng([config.seed, 19]),
                weights=self.weights, questions_meta=questions_meta, raters=raters, missing_rates=missing_rates,
            )
            validity, reliability = population_validity(sim, config)
            validity.round(6).to_parquet(truth_dir / "population_validity.parquet", index=False)
            pooled_rel = reliability[reliability["role_id"] == POOLED].set_index("criterion")
            summary["population_validity"] = {
                "method": "simulation",
                "applicants_per_role": config.truth_simulation_per_role,
                "seed": [config.seed, 19],
                "pooled": "within-role moments averaged with the generator's role volumes",
                "file": "population_validity.parquet",
            }
            summary["criterion_reliability"] = {
                c: {"applicants": round(float(r.applicants), 4), "incumbents": round(float(r.incumbents), 4)} for c, r in pooled_rel.iterrows()
            }
            summary["criterion_reliability_by_role"] = {
                c: {r.role_id: round(float(r.incumbents), 4) for r in g.itertuples() if r.role_id != POOLED}
                for c, g in reliability.groupby("criterion", sort=False)
            }
            summary["files"]["population_validity"] = "population_validity.parquet"
        return json.loads(json.dumps(summary))
