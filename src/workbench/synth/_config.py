"""Settings of the synthetic cohort, and the named scenarios (``fair``, ``biased``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..errors import ConfigurationError

__all__ = ["CohortConfig", "RaterBias", "SCENARIOS", "scenario_config", "REGION_GROUPS"]

# Province groups used by the dialect (proxy wording) knob; same keys as language.yaml's dialect_by_region.
REGION_GROUPS: dict[str, tuple[str, ...]] = {
    "northeast": ("黑龙江", "吉林", "辽宁"),
    "north": ("北京", "天津", "河北", "山西", "内蒙古"),
    "southwest": ("四川", "重庆", "贵州", "云南", "西藏"),
    "cantonese": ("广东", "广西", "香港", "澳门"),
    "wu": ("上海", "江苏", "浙江"),
    "central": ("河南", "湖北", "湖南", "安徽", "江西", "山东"),
    "northwest": ("陕西", "甘肃", "宁夏", "青海", "新疆"),
    "hokkien": ("福建", "台湾", "海南"),
}


@dataclass(frozen=True)
class RaterBias:
    """Raters mark down candidates whose ``attribute`` is in ``groups`` by ``sd`` rating-SDs at equal ability."""

    attribute: str
    groups: tuple[str, ...]
    sd: float


@dataclass(frozen=True)
class CohortConfig:
    seed: int = 7
    n_candidates: int = 2000
    employees_per_role: int = 300
    questions_per_competency: int = 2
    answers_per_competency: int = 1
    raters_per_role: int = 6
    # latent structure
    general_factor_share: float = 0.35  # ρ: competencies correlate ≈ .35 through a general factor
    answer_noise_sd: float = 0.5  # occasion-specific performance on one question
    rater_noise_sd: tuple[float, float] = (0.48, 0.62)  # per-question range of rater noise
    rater_severity_sd: float = 0.15
    performance_r2: float = 0.5  # share of performance variance explained by the true drivers
    competency_rating_noise_sd: float = 0.35  # supervisors' competency ratings (reliability ≈ .8 after rounding)
    demographic_missing: tuple[float, float] = (0.02, 0.05)
    no_response_rate: float = 0.005
    # bias knobs (all off by default)
    rater_bias: tuple[RaterBias, ...] = ()
    proxy_region: str = ""  # a REGION_GROUPS key whose candidates use dialect words
    proxy_rate: float = 0.0  # probability that such a candidate's answer carries dialect words
    missingness_attribute: str = ""
    missingness_groups: tuple[str, ...] = ()
    missingness_multiplier: float = 1.0
    # unseen phrasing: share of candidates who answer every question from the disjoint phrase banks B
    # (data/synth/*_b.yaml) instead of A; 0 = all A (the default, byte-identical), 1 = all B
    phrasing_b_share: float = 0.0
    scenario: str = "fair"
    chunk_candidates: int = 2000  # streaming unit; fixed so output does not depend on memory
    # later outcomes of the candidates the legacy process hires (synth/_outcomes.py, data/README.md "Outcomes")
    hire_share: float = 0.2  # per role, the top share by mean human interview rating is hired
    potential_r2: float = 0.5  # share of potential variance explained by the role's potential drivers
    outcome_rating_noise_sd: float = 0.85  # supervisor's rating error (true performance has SD 1)
    probation_noise_sd: float = 1.0  # probation decisions are coarse: their own noise around true performance
    probation_fail_below: float = -1.4  # fail when true performance + noise falls below this (≈ 5 % of hires)
    attrition_rate: float = 0.03  # hires who leave (at random) before the first-year ratings
    truth_simulation_per_role: int = 10000  # simulated applicants per role for the true population validity; 0 = skip

    def validate(self) -> "CohortConfig":
        if self.n_candidates < 1 or self.employees_per_role < 0:
            raise ConfigurationError("n_candidates must be ≥ 1 and employees_per_role ≥ 0")
        if not 1 <= self.questions_per_competency <= 3:
            raise ConfigurationError("questions_per_competency must be 1, 2 or 3")
        if not 1 <= self.answers_per_competency <= self.questions_per_competency:
            raise ConfigurationError("answers_per_competency must be between 1 and questions_per_competency")
        if self.proxy_region and self.proxy_region not in REGION_GROUPS:
            raise ConfigurationError(f"proxy_region must be one of {sorted(REGION_GROUPS)}")
        if not 0 <= self.proxy_rate <= 1:
            raise ConfigurationError("proxy_rate must be in [0, 1]")
        if not 0 <= self.phrasing_b_share <= 1:
            raise ConfigurationError("phrasing_b_share must be in [0, 1] (the share of candidates answering in phrasing B)")
        if not 0 < self.hire_share < 1:
            raise ConfigurationError("hire_share must be between 0 and 1 (the share of each role's candidates that is hired)")
        if not 0 < self.potential_r2 <= 1 or self.outcome_rating_noise_sd <= 0 or self.probation_noise_sd <= 0:
            raise ConfigurationError("potential_r2 must be in (0, 1]; outcome_rating_noise_sd and probation_noise_sd must be > 0")
        if not 0 <= self.attrition_rate < 1 or self.truth_simulation_per_role < 0:
            raise ConfigurationError("attrition_rate must be in [0, 1) and truth_simulation_per_role ≥ 0")
        for bias in self.rater_bias:
            if bias.attribute not in ("gender", "age_band", "hukou_type", "home_province", "ethnicity", "school_tier", "disability", "region"):
                raise ConfigurationError(f"rater bias attribute {bias.attribute!r} is not a candidate attribute")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


SCENARIOS: dict[str, dict] = {
    "fair": {},
    # For audit demos: raters mark women down by 0.3 SD; south-western candidates use dialect words that raters also
    # mark down (a proxy a model can learn); rural candidates drop out of answers three times as often.
    "biased": {
        "rater_bias": (RaterBias("gender", ("女",), 0.3), RaterBias("region", ("southwest",), 0.3)),
        "proxy_region": "southwest",
        "proxy_rate": 0.7,
        "missingness_attribute": "hukou_type",
        "missingness_groups": ("农村",),
        "missingness_multiplier": 3.0,
    },
}


def scenario_config(scenario: str = "fair", **overrides) -> CohortConfig:
    if scenario not in SCENARIOS:
        raise ConfigurationError(f"unknown scenario {scenario!r}; choose one of {sorted(SCENARIOS)}")
    base = CohortConfig(scenario=scenario, **SCENARIOS[scenario])
    if "rater_bias_sd" in overrides:  # shorthand: one gender bias knob in SD units
        sd = overrides.pop("rater_bias_sd")
        attribute = overrides.pop("rater_bias_attribute", "gender")
        groups = tuple(overrides.pop("rater_bias_groups", ("女",)))
        base = replace(base, rater_bias=(RaterBias(attribute, groups, float(sd)),) if sd else ())
    return replace(base, **overrides).validate()
