"""The cohort generator: EHR employees, candidates, questions, answers and two human ratings per answer.

Generative model (details and formulas in ``data/README.md``):

* competencies: θ_k = √ρ·g + √(1−ρ)·e_k, g, e_k ~ N(0, 1) (ρ = general_factor_share), independent of every
  demographic attribute — any group difference in the output is injected by a knob and recorded;
* employees: performance = Σ_k w_k θ_k + ε for a role-specific subset of drivers with known weights;
* answers: u = θ_k − b_q + N(0, answer_noise²); level L = cut(u) ∈ 1..5 (10/20/40/20/10 %); text composed from L;
* ratings: r = clip(round(L + s_rater + N(0, σ_q²) − bias), 1, 5); bias = knob · SD(L) for the targeted group;
* phrasing: a share ``phrasing_b_share`` of candidates answer every question from the disjoint phrase banks B
  (drawn from a stream of its own, so at share 0 the tables are byte-identical to a generator without B).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.stats import norm

from .._tabular import write_csv_safe
from ..competency import CompetencyDictionary, load_dictionary
from ..errors import ConfigurationError
from ..intake.contracts import AGE_BANDS, PROVINCES, SCHOOL_TIERS
from ._answers import compose_answer
from ._config import REGION_GROUPS, CohortConfig
from ._material import load_language, load_material

__all__ = ["generate_cohort", "CohortSummary", "LEVEL_PROBS", "level_sd", "generate_questions", "rate", "sample_levels"]

LEVEL_PROBS = np.array([0.10, 0.20, 0.40, 0.20, 0.10])
_LEVEL_CUTS = norm.ppf(np.cumsum(LEVEL_PROBS)[:-1])
TYPE_CYCLE = {"professional": ("情景", "行为", "情景"), "general": ("行为", "情景", "行为"), "culture": ("文化", "行为", "情景")}
ROLE_WEIGHTS = {
    "teller": 3.0, "lobby_manager": 1.2, "retail_rm": 2.2, "corporate_rm": 1.5, "wealth_manager": 1.2, "risk_manager": 0.8,
    "credit_approver": 0.6, "compliance_officer": 0.6, "aml_analyst": 0.5, "operations_manager": 0.6, "fintech_developer": 1.4,
    "management_trainee": 1.4,
}
_GENDER = (("男", "女"), (0.48, 0.52))
_AGE = (AGE_BANDS, (0.55, 0.33, 0.09, 0.03))
_HUKOU = (("城镇", "农村"), (0.68, 0.32))
_ETHNICITY = (("汉族", "少数民族"), (0.91, 0.09))
_SCHOOL = (SCHOOL_TIERS, (0.12, 0.15, 0.08, 0.45, 0.12, 0.08))
_DISABILITY = (("否", "是"), (0.985, 0.015))
# Rough shares of graduates by province (sum normalised); HK/Macau/Taiwan are rare applicants.
_PROVINCE_W = {
    "北京": 2.0, "天津": 1.2, "河北": 5.0, "山西": 2.8, "内蒙古": 1.6, "辽宁": 3.0, "吉林": 1.8, "黑龙江": 2.2, "上海": 1.8,
    "江苏": 5.6, "浙江": 4.2, "安徽": 4.4, "福建": 2.8, "江西": 3.4, "山东": 7.0, "河南": 7.4, "湖北": 4.4, "湖南": 4.6,
    "广东": 7.0, "广西": 3.4, "海南": 0.7, "重庆": 2.4, "四川": 5.6, "贵州": 2.6, "云南": 2.8, "西藏": 0.3, "陕西": 3.2,
    "甘肃": 1.8, "青海": 0.4, "宁夏": 0.5, "新疆": 1.6, "香港": 0.05, "澳门": 0.02, "台湾": 0.03,
}
_SITES = ("北京分行", "上海分行", "广州分行", "成都分行", "武汉分行", "西安分行", "沈阳分行", "杭州分行")
_BATCHES = ("2026秋招-第1批", "2026秋招-第2批", "2026秋招-第3批", "2026社招")
_BRANCHES = ("营业部", "城东支行", "城西支行", "高新区支行", "开发区支行", "滨江支行", "中心支行", "东湖支行", "南站支行", "分行机关")
_REGION_OF = {p: g for g, ps in REGION_GROUPS.items() for p in ps}


def level_sd() -> float:
    """SD of the answer level L under the model: the unit of the bias knobs."""
    levels = np.arange(1, 6)
    mean = float((LEVEL_PROBS * levels).sum())
    return float(np.sqrt((LEVEL_PROBS * (levels - mean) ** 2).sum()))


def rate(rng: np.random.Generator, levels: np.ndarray, severity: np.ndarray, noise_sd: float, shift: float | np.ndarray = 0.0) -> np.ndarray:
    """Human ratings of answers at ``levels``: level + rater severity + noise − bias shift, rounded into 1..5."""
    raw = levels + severity + rng.normal(0, noise_sd, np.shape(levels)) - shift
    return np.clip(np.round(raw), 1, 5).astype(int)


def sample_levels(rng: np.random.Generator, n: int, *, answer_noise_sd: float = 0.5, difficulty: float = 0.0) -> np.ndarray:
    """Answer levels for ``n`` answers of random candidates: the same cut of u = θ − b + noise the generator uses."""
    u = rng.standard_normal(n) - difficulty + rng.normal(0, answer_noise_sd, n)
    return np.searchsorted(_LEVEL_CUTS, u / np.sqrt(1 + answer_noise_sd**2)) + 1


def generate_questions(dictionary: CompetencyDictionary, per_competency: int, seed: int) -> pd.DataFrame:
    """The synthetic cohort's question bank: slot-filled from the competency material, mapped to indicators."""
    material = load_material()
    rows = []
    for role in dictionary.roles.values():
        rng = np.random.default_rng([seed, 101, _stable(role.id)])
        for comp in dictionary.role_competencies(role.id):
            mat = material[comp.id]
            scen = list(rng.permutation(len(mat.scenarios)))
            topics = list(rng.permutation(len(mat.bei_topics)))
            for k in range(per_competency):
                qtype = TYPE_CYCLE[comp.dimension][k]
                if qtype == "行为":
                    text = f"请描述一次你{mat.bei_topics[int(topics[k % len(topics)])]}的经历：当时是什么情况，你具体做了什么，结果如何？"
                elif qtype == "情景":
                    text = f"假设{mat.scenarios[int(scen[k % len(scen)])]}，你会如何处理？请说明你的考虑。"
                else:
                    text = f"假设{mat.scenarios[int(scen[(k + 1) % len(scen)])]}，你怎么看待这件事？请结合你的原则说说你会怎么做、为什么。"
                indicator = comp.indicators[k % len(comp.indicators)]
                rubric = "；".join(f"{lvl}分：{comp.bars[lvl]}" for lvl in range(1, 6))
                rows.append(
                    {
                        "question_id": f"{role.id}.{comp.id}.q{k + 1}",
                        "role_id": role.id,
                        "competency_id": comp.id,
                        "type": qtype,
                        "text": text,
                        "indicator_id": indicator.id,
                        "rubric": rubric,
                    }
                )
    return pd.DataFrame(rows)


def question_parameters(config: CohortConfig, dictionary: CompetencyDictionary) -> pd.DataFrame:
    """The cohort's questions with their (true) difficulty and rater-noise SD, as drawn for ``config.seed``."""
    questions = generate_questions(dictionary, config.questions_per_competency, config.seed)
    qrng = np.random.default_rng([config.seed, 3])
    return questions.assign(
        difficulty=np.round(qrng.normal(0, 0.15, len(questions)), 4),
        rater_noise=np.round(qrng.uniform(*config.rater_noise_sd, len(questions)), 4),
    )


def rater_severities(config: CohortConfig, dictionary: CompetencyDictionary) -> dict[str, list[tuple[str, float]]]:
    """Per role, the ``raters_per_role`` raters' ids and severities (rating points), as drawn for ``config.seed``."""
    rater_rng = np.random.default_rng([config.seed, 5])
    return {
        role: [(f"R-{role}-{j + 1:02d}", float(rater_rng.normal(0, config.rater_severity_sd))) for j in range(config.raters_per_role)]
        for role in dictionary.roles
    }


def demographic_missing_rates(config: CohortConfig) -> dict[str, float]:
    """Per audit attribute, the share of candidates whose value is left empty (unknown)."""
    miss_rng = np.random.default_rng([config.seed, 9])
    return {a: float(miss_rng.uniform(*config.demographic_missing)) for a in ("gender", "age_band", "hukou_type", "home_province", "ethnicity", "school_tier", "disability")}


def _stable(text: str) -> int:
    """A process-independent integer for seeding (``hash()`` is salted per process)."""
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def _choice(rng, spec, size, missing):
    values, probs = spec
    out = rng.choice(np.array(values, dtype=object), size=size, p=np.array(probs) / np.sum(probs))
    out[rng.random(size) < missing] = None
    return out


def draw_attributes(rng: np.random.Generator, n: int, missing_rates: dict, true_province: np.ndarray) -> dict:
    """The audit attributes of ``n`` candidates, each missing at its rate (the draws, in this order, are part of
    the generator's output: the outcomes simulation replays them)."""
    return {
        "gender": _choice(rng, _GENDER, n, missing_rates["gender"]),
        "age_band": _choice(rng, _AGE, n, missing_rates["age_band"]),
        "hukou_type": _choice(rng, _HUKOU, n, missing_rates["hukou_type"]),
        "home_province": np.where(rng.random(n) < missing_rates["home_province"], None, true_province),
        "ethnicity": _choice(rng, _ETHNICITY, n, missing_rates["ethnicity"]),
        "school_tier": _choice(rng, _SCHOOL, n, missing_rates["school_tier"]),
        "disability": _choice(rng, _DISABILITY, n, missing_rates["disability"]),
    }


class _Writer:
    """Append-only table writer (CSV or Parquet) so the generator's memory does not grow with the cohort."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        self.rows = 0
        self._pq: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty and self.rows:
            return
        if self.fmt == "csv":
            write_csv_safe(frame, self.path, encoding="utf-8", append=bool(self.rows))  # RFC 4180, formulas neutralised
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False, schema=self._schema)
            if self._pq is None:
                self._schema = table.schema
                self._pq = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            self._pq.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()


@dataclass
class CohortSummary:
    out_dir: Path
    files: dict[str, Path]
    rows: dict[str, int]
    config: CohortConfig


def _true_weights(dictionary: CompetencyDictionary, seed: int) -> dict[str, dict[str, float]]:
    weights = {}
    for role in dictionary.roles.values():
        rng = np.random.default_rng([seed, 7, _stable(role.id)])
        comps = list(role.competency_ids)
        n_drivers = 3 if len(comps) < 10 else 4
        drivers = [comps[int(i)] for i in rng.choice(len(comps), size=n_drivers, replace=False)]
        raw = rng.dirichlet(np.full(n_drivers, 6.0))
        raw = 0.12 + (1 - 0.12 * n_drivers) * raw  # every driver matters (≥ .12) so the truth is recoverable
        weights[role.id] = {c: (round(float(w), 4) if c in drivers else 0.0) for c, w in zip(drivers + [c for c in comps if c not in drivers], list(raw) + [0.0] * (len(comps) - n_drivers))}
        weights[role.id] = {c: weights[role.id][c] for c in comps}
    return weights


def _latent(rng, n: int, k: int, rho: float) -> np.ndarray:
    g = rng.standard_normal((n, 1))
    e = rng.standard_normal((n, k))
    return np.sqrt(rho) * g + np.sqrt(1 - rho) * e


def _employees(config: CohortConfig, dictionary: CompetencyDictionary, weights, writers) -> None:
    serial = 0
    for role in dictionary.roles.values():
        n = config.employees_per_role
        if n == 0:
            continue
        rng = np.random.default_rng([config.seed, 11, _stable(role.id)])
        comps = list(role.competency_ids)
        theta = _latent(rng, n, len(comps), config.general_factor_share)
        w = np.array([weights[role.id][c] for c in comps])
        signal = theta @ w
        cov = config.general_factor_share + (1 - config.general_factor_share) * np.eye(len(comps))
        var_signal = float(w @ cov @ w)
        noise_sd = np.sqrt(var_signal * (1 - config.performance_r2) / config.performance_r2)
        perf = signal + rng.normal(0, noise_sd, n)
        z = perf / np.sqrt(var_signal + noise_sd**2)
        score = np.clip(np.round(75 + 8 * z, 1), 0, 100)
        ranks = pd.Series(z).rank(pct=True).to_numpy()
        grade = np.select([ranks > 0.9, ranks > 0.7, ranks > 0.3, ranks > 0.1], [5, 4, 3, 2], 1)
        ids = [f"E{serial + i + 1:06d}" for i in range(n)]
        serial += n
        writers["employees"].write(
            pd.DataFrame(
                {
                    "employee_id": ids,
                    "role_id": role.id,
                    "branch": rng.choice(np.array(_BRANCHES, dtype=object), n),
                    "tenure_years": np.round(rng.gamma(2.0, 2.2, n), 1),
                    "performance_score": score,
                    "performance_grade": grade.astype(int),
                }
            )
        )
        ratings = np.clip(np.round(3 + 0.9 * theta + rng.normal(0, config.competency_rating_noise_sd, theta.shape)), 1, 5).astype(int)
        writers["employee_competencies"].write(
            pd.DataFrame({"employee_id": np.repeat(ids, len(comps)), "competency_id": np.tile(comps, n), "rating": ratings.ravel()})
        )
        writers["truth_employee_latent"].write(
            pd.DataFrame({"employee_id": np.repeat(ids, len(comps)), "competency_id": np.tile(comps, n), "theta": np.round(theta.ravel(), 5)})
        )


def generate_cohort(
    config: CohortConfig,
    out_dir: str | Path,
    *,
    fmt: str = "csv",
    dictionary: CompetencyDictionary | None = None,
    progress: bool = False,
) -> CohortSummary:
    """Write the six intake tables, the optional ``wecom_recipients`` table and ``truth/`` into ``out_dir`` (new or empty)."""
    config = config.validate()
    if fmt not in ("csv", "parquet"):
        raise ConfigurationError("fmt must be 'csv' or 'parquet'")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigurationError(f"{out_dir} is not empty; the generator never overwrites data")
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    dictionary = dictionary or load_dictionary()
    material = load_material()
    lang = load_language()
    phrasings = {"A": (material, lang)}
    if config.phrasing_b_share > 0:
        phrasings["B"] = (load_material("B"), load_language("B"))
    for phrasing, (mat, _) in phrasings.items():
        missing_ids = set(dictionary.competencies) - set(mat)
        if missing_ids:
            raise ConfigurationError(f"no synthetic-answer material (phrasing {phrasing}) for competencies {sorted(missing_ids)}")
    n_phrasing_b = 0
    ext = "csv" if fmt == "csv" else "parquet"
    names = ["employees", "employee_competencies", "candidates", "questions", "answers", "ratings", "wecom_recipients"]
    files = {n: out_dir / f"{n}.{ext}" for n in names}
    truth_files = {
        "truth_employee_latent": out_dir / "truth" / "employee_latent.parquet",
        "truth_candidate_latent": out_dir / "truth" / "candidate_latent.parquet",
        "truth_answers": out_dir / "truth" / "answers.parquet",
    }
    writers = {n: _Writer(p, fmt) for n, p in files.items()}
    writers.update({n: _Writer(p, "parquet") for n, p in truth_files.items()})

    from ._outcomes import OutcomeCollector  # imported here: _outcomes builds on this module's rating functions

    weights = _true_weights(dictionary, config.seed)
    questions_meta = question_parameters(config, dictionary)
    questions = questions_meta.drop(columns=["difficulty", "rater_noise"])
    outcomes = OutcomeCollector(config, dictionary, weights)
    try:
        _employees(config, dictionary, weights, writers)
        writers["questions"].write(questions)
        writers["wecom_recipients"].write(_wecom_recipients(config.seed, dictionary, lang))
        raters = rater_severities(config, dictionary)
        by_role_comp = {k: g for k, g in questions_meta.groupby(["role_id", "competency_id"], sort=False)}
        role_ids = list(dictionary.roles)
        role_p = np.array([ROLE_WEIGHTS.get(r, 1.0) for r in role_ids])
        role_p = role_p / role_p.sum()
        prov = np.array(list(_PROVINCE_W), dtype=object)
        prov_p = np.array(list(_PROVINCE_W.values()))
        prov_p = prov_p / prov_p.sum()
        sd_l = level_sd()
        sd_u = float(np.sqrt(1 + config.answer_noise_sd**2))
        injected: list[dict] = []
        n_chunks = -(-config.n_candidates // config.chunk_candidates)
        iterator = range(n_chunks)
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="synth", unit="chunk")
        serial = 0
        missing_rates = demographic_missing_rates(config)
        for chunk in iterator:
            rng = np.random.default_rng([config.seed, 13, chunk])
            n = min(config.chunk_candidates, config.n_candidates - chunk * config.chunk_candidates)
            ids = [f"C{serial + i + 1:07d}" for i in range(n)]
            serial += n
            role_of = rng.choice(np.array(role_ids, dtype=object), size=n, p=role_p)
            true_province = rng.choice(prov, size=n, p=prov_p)
            cand = pd.DataFrame(
                {
                    "candidate_id": ids,
                    "role_id": role_of,
                    "name": [_name(rng, lang) for _ in range(n)],
                    **draw_attributes(rng, n, missing_rates, true_province),
                    "site": rng.choice(np.array(_SITES, dtype=object), n),
                    "batch": rng.choice(np.array(_BATCHES, dtype=object), n, p=[0.35, 0.3, 0.2, 0.15]),
                }
            )
            cand["wecom_external_userid"] = _external_userids(config.seed, chunk, ids)
            writers["candidates"].write(cand)
            verbosity = rng.standard_normal(n)
            # Own stream: drawing who answers in phrasing B must not shift any other draw of the cohort.
            answers_in_b = np.random.default_rng([config.seed, 23, chunk]).random(n) < config.phrasing_b_share
            n_phrasing_b += int(answers_in_b.sum())
            region = np.array([_REGION_OF.get(p) for p in true_province], dtype=object)
            answers, ratings, truth, latent = [], [], [], []
            for i in range(n):
                role = dictionary.roles[role_of[i]]
                comps = list(role.competency_ids)
                theta = _latent(rng, 1, len(comps), config.general_factor_share)[0]
                attrs = cand.iloc[i]
                bias_sd = 0.0
                for bias in config.rater_bias:
                    value = region[i] if bias.attribute == "region" else attrs[bias.attribute]
                    if value is not None and value in bias.groups:
                        bias_sd += bias.sd
                proxy = bool(config.proxy_region and region[i] == config.proxy_region)
                phrasing = "B" if answers_in_b[i] else "A"
                cand_material, cand_lang = phrasings[phrasing]
                dialect = cand_lang.dialect_by_region.get(region[i], ()) if proxy else ()
                nr_rate = config.no_response_rate
                if config.missingness_attribute and attrs[config.missingness_attribute] in config.missingness_groups:
                    nr_rate *= config.missingness_multiplier
                for k, comp_id in enumerate(comps):
                    latent.append((ids[i], comp_id, round(float(theta[k]), 5)))
                    options = by_role_comp[(role.id, comp_id)]
                    picks = rng.choice(len(options), size=config.answers_per_competency, replace=False)
                    for p in picks:
                        q = options.iloc[int(p)]
                        answer_id = f"{ids[i]}-{q['question_id'].split('.', 1)[1]}"
                        u = theta[k] - q["difficulty"] + rng.normal(0, config.answer_noise_sd)
                        level = int(np.searchsorted(_LEVEL_CUTS, u / sd_u) + 1)
                        if rng.random() < nr_rate:
                            text, status, plan_moves, traps, noise, level = "", "no_response", "", "", "", 1
                            has_dialect = False
                        else:
                            text, plan = compose_answer(
                                rng,
                                level=level,
                                question_type=q["type"],
                                material=cand_material[comp_id],
                                competency=dictionary.competencies[comp_id],
                                lang=cand_lang,
                                verbosity=float(verbosity[i]),
                                dialect_words=dialect,
                                dialect_rate=config.proxy_rate,
                                phrasing=phrasing,
                            )
                            status = "answered"
                            plan_moves, traps, noise = " ".join(plan.moves), " ".join(plan.traps), " ".join(plan.noise)
                            has_dialect = "dialect" in plan.noise
                        shift = bias_sd * sd_l
                        answers.append((answer_id, ids[i], q["question_id"], status, text))
                        pair = [raters[role.id][j] for j in rng.choice(config.raters_per_role, 2, replace=False)]
                        values = rate(rng, np.full(2, level), np.array([s for _, s in pair]), q["rater_noise"], shift)
                        for (rater_id, _), value in zip(pair, values):
                            ratings.append((answer_id, rater_id, 1 if status == "no_response" else int(value)))
                        truth.append((answer_id, level, round(float(u), 5), plan_moves, traps, noise, has_dialect, round(shift, 5), phrasing))
            answers_frame = pd.DataFrame(answers, columns=["answer_id", "candidate_id", "question_id", "status", "answer_text"])
            ratings_frame = pd.DataFrame(ratings, columns=["answer_id", "rater_id", "rating"])
            latent_frame = pd.DataFrame(latent, columns=["candidate_id", "competency_id", "theta"])
            writers["answers"].write(answers_frame)
            writers["ratings"].write(ratings_frame)
            writers["truth_answers"].write(
                pd.DataFrame(truth, columns=["answer_id", "level", "u", "moves", "traps", "noise", "dialect", "rater_shift", "phrasing"])
            )
            writers["truth_candidate_latent"].write(latent_frame)
            outcomes.add_chunk(cand[["candidate_id", "role_id"]], latent_frame, answers_frame[["answer_id", "candidate_id"]], ratings_frame)
        # later outcomes of the candidates the legacy process hires (bank-visible table + truth), see _outcomes.py
        writers["outcomes"] = _Writer(out_dir / f"outcomes.{ext}", fmt)
        outcome_truth = outcomes.finish(
            writers["outcomes"], out_dir / "truth", questions_meta=questions_meta, raters=raters, missing_rates=missing_rates
        )
    finally:
        for w in writers.values():
            w.close()

    for bias in config.rater_bias:
        injected.append({"knob": "rater_bias", "attribute": bias.attribute, "groups": list(bias.groups), "sd": bias.sd, "rating_points": round(bias.sd * level_sd(), 5)})
    if config.proxy_region:
        injected.append({"knob": "proxy_wording", "region": config.proxy_region, "provinces": list(REGION_GROUPS[config.proxy_region]), "rate": config.proxy_rate})
    if config.missingness_attribute:
        injected.append({"knob": "missingness", "attribute": config.missingness_attribute, "groups": list(config.missingness_groups), "multiplier": config.missingness_multiplier})
    truth_doc = {
        "generator": "workbench.synth",
        "config": config.to_dict(),
        "dictionary_version": dictionary.version,
        "dictionary_sha256": dictionary.sha256,
        "level_probabilities": LEVEL_PROBS.tolist(),
        "level_sd": level_sd(),
        "true_weights": weights,
        "injected_effects": injected,
        "demographic_missing_rates": missing_rates,
        "raters": {role: [{"rater_id": r, "severity": round(s, 5)} for r, s in rs] for role, rs in raters.items()},
        "questions": questions_meta[["question_id", "difficulty", "rater_noise"]].to_dict(orient="records"),
        "rows": {n: w.rows for n, w in writers.items()},
        "phrasing": {"b_share": config.phrasing_b_share, "candidates_b": n_phrasing_b, "candidates_a": config.n_candidates - n_phrasing_b},
        "outcomes": outcome_truth,
    }
    (out_dir / "truth" / "truth.json").write_text(json.dumps(truth_doc, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    files["outcomes"] = writers["outcomes"].path
    names.append("outcomes")
    return CohortSummary(out_dir=out_dir, files=files, rows={n: writers[n].rows for n in names}, config=config)


# WeCom recipients (optional intake table): who recruits for which role and site. One role is deliberately
# mapped for two sites only, so a cohort always has candidates whose recruiter is unknown (reported, not guessed).
_PARTLY_MAPPED_ROLE = "fintech_developer"
_EXTERNAL_SHARE = 0.88  # candidates who added the recruiter on WeCom (have an external_userid)


def _wecom_recipients(seed: int, dictionary: CompetencyDictionary, lang) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 17])
    rows = []
    for role in dictionary.roles.values():
        if role.id != _PARTLY_MAPPED_ROLE:
            rows.append((role.id, None, f"hr_{role.id}_01", _name(rng, lang)))
        for site in ((_SITES[0], _SITES[1]) if role.id == _PARTLY_MAPPED_ROLE else tuple(rng.choice(np.array(_SITES, dtype=object), 2, replace=False))):
            rows.append((role.id, site, f"hr_{role.id}_{_SITES.index(site) + 2:02d}", _name(rng, lang)))
    return pd.DataFrame(rows, columns=["role_id", "site", "wecom_userid", "recruiter_name"])


def _external_userids(seed: int, chunk: int, ids: list[str]) -> list[str | None]:
    """WeCom external contact ids (``wm`` + 30 characters, like WeCom's), for most candidates; a separate stream,
    so adding the column changed no other value of the cohort."""
    import hashlib

    rng = np.random.default_rng([seed, 19, chunk])
    has = rng.random(len(ids)) < _EXTERNAL_SHARE
    return [("wm" + hashlib.sha256(f"{seed}:{cid}".encode()).hexdigest()[:30]) if h else None for cid, h in zip(ids, has)]


def _name(rng, lang) -> str:
    surname = lang.surnames[int(rng.integers(len(lang.surnames)))]
    pool = lang.given_names_rare if rng.random() < 0.03 else lang.given_names
    return surname + pool[int(rng.integers(len(pool)))]
