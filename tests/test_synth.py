"""The synthetic cohort: determinism, contracts, and the statistical properties promised in data/README.md."""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from workbench.competency import load_dictionary
from workbench.errors import ConfigurationError
from workbench.intake import resolve_sources, run_intake
from workbench.synth import generate_cohort, level_sd, rate, sample_levels, scenario_config

TABLE_FILES = ["employees", "employee_competencies", "candidates", "questions", "answers", "ratings"]


def _small(seed=7, **kw):
    return scenario_config("fair", seed=seed, n_candidates=kw.pop("n_candidates", 150), employees_per_role=kw.pop("employees_per_role", 20), **kw)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_tables(tmp_path, fmt):
    a, b = tmp_path / "a", tmp_path / "b"
    generate_cohort(_small(), a, fmt=fmt)
    generate_cohort(_small(), b, fmt=fmt)
    ext = fmt
    for name in TABLE_FILES:
        assert filecmp.cmp(a / f"{name}.{ext}", b / f"{name}.{ext}", shallow=False), name
    assert (a / "truth" / "truth.json").read_bytes() == (b / "truth" / "truth.json").read_bytes()


def test_different_seed_gives_different_answers(tmp_path):
    generate_cohort(_small(seed=1), tmp_path / "a")
    generate_cohort(_small(seed=2), tmp_path / "b")
    assert (tmp_path / "a" / "answers.csv").read_bytes() != (tmp_path / "b" / "answers.csv").read_bytes()


def test_refuses_to_overwrite(tmp_path):
    generate_cohort(_small(), tmp_path / "a")
    with pytest.raises(ConfigurationError, match="not empty"):
        generate_cohort(_small(), tmp_path / "a")


def test_cohort_passes_intake_with_zero_quarantine(fair_cohort):
    result = run_intake(resolve_sources(fair_cohort))
    counts = result.counts()
    assert result.reconciled
    assert counts["quarantined"].sum() == 0, result.quarantine.head()
    assert (counts["rows_in"] == counts["accepted"]).all()


def test_corrupted_copy_is_quarantined_and_reconciles(tmp_path):
    src = tmp_path / "src"
    generate_cohort(_small(), src)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in TABLE_FILES:
        (bad / f"{name}.csv").write_bytes((src / f"{name}.csv").read_bytes())
    ratings = pd.read_csv(bad / "ratings.csv", dtype=str, keep_default_na=False)
    ratings.loc[0, "rating"] = "7"
    ratings.loc[1, "rating"] = "好"
    ratings.to_csv(bad / "ratings.csv", index=False)
    answers = pd.read_csv(bad / "answers.csv", dtype=str, keep_default_na=False)
    answered = answers.index[answers["status"] == "answered"]
    answers.loc[answered[0], "answer_text"] = "   "
    answers.loc[answered[1], "question_id"] = "no_such_question"
    answers = pd.concat([answers, answers.iloc[[5]]], ignore_index=True)  # duplicate key
    answers.to_csv(bad / "answers.csv", index=False)
    result = run_intake(resolve_sources(bad))
    counts = result.counts().set_index("table")
    assert result.reconciled
    assert counts.loc["answers", "quarantined"] == 3
    # the two answers with broken ids/text lose their ratings too (4 rows) plus the 2 bad ratings, unless they overlap
    codes = result.quarantine.groupby("table")["reason_code"].apply(set).to_dict()
    assert codes["answers"] == {"empty_answer", "unknown_reference", "duplicate_key"}
    assert {"out_of_range", "not_integer"} <= codes["ratings"]
    assert counts.loc["ratings", "quarantined"] >= 2 + 2


def test_human_human_qwk_per_question_in_range():
    """Population QWK per question (the generator's own rating function, 20k answers each) lies in [.65, .85]."""
    config = scenario_config("fair", seed=7)
    rng = np.random.default_rng(0)
    qrng = np.random.default_rng([config.seed, 3])
    n_questions = 216
    difficulty = qrng.normal(0, 0.15, n_questions)
    noise = qrng.uniform(*config.rater_noise_sd, n_questions)
    qwks = []
    for b, sd in zip(difficulty[:60], noise[:60]):  # 60 questions keep the test fast; the range is what matters
        levels = sample_levels(rng, 20000, answer_noise_sd=config.answer_noise_sd, difficulty=b)
        sev = rng.normal(0, config.rater_severity_sd, (2, levels.size))
        qwks.append(cohen_kappa_score(rate(rng, levels, sev[0], sd), rate(rng, levels, sev[1], sd), weights="quadratic"))
    qwks = np.array(qwks)
    assert qwks.min() >= 0.65 and qwks.max() <= 0.85, (qwks.min(), qwks.max())
    assert 0.72 <= np.median(qwks) <= 0.78


def _wide_ratings(cohort):
    ratings = pd.read_csv(cohort / "ratings.csv")
    answers = pd.read_csv(cohort / "answers.csv")
    ratings["k"] = ratings.groupby("answer_id").cumcount()
    wide = ratings.pivot(index="answer_id", columns="k", values="rating")
    return wide.join(answers.set_index("answer_id")[["question_id", "status"]])


def test_human_human_qwk_in_generated_cohort(fair_cohort):
    wide = _wide_ratings(fair_cohort)
    per_q = wide.groupby("question_id").apply(lambda g: pd.Series({"n": len(g), "qwk": cohen_kappa_score(g[0], g[1], weights="quadratic")}))
    big = per_q[per_q["n"] >= 150]
    assert len(big) >= 40
    assert 0.70 <= big["qwk"].median() <= 0.80, big["qwk"].median()
    # sampling error at n ≥ 150 is about ±.04; the design range is [.70, .79]
    assert big["qwk"].between(0.60, 0.90).all(), big["qwk"].describe()


def test_answer_lengths(fair_cohort):
    answers = pd.read_csv(fair_cohort / "answers.csv", keep_default_na=False)
    lengths = answers.loc[answers["status"] == "answered", "answer_text"].str.len()
    assert 80 <= lengths.median() <= 250
    assert lengths.quantile(0.99) > 2 * lengths.median()  # long tail
    assert lengths.max() > 600
    assert (lengths < 30).mean() > 0.01  # very short answers exist
    assert (answers["status"] == "no_response").sum() > 0  # and a few empty (no-response) ones


def test_surface_variety(fair_cohort):
    text = "".join(pd.read_csv(fair_cohort / "answers.csv", keep_default_na=False)["answer_text"])
    names = "".join(pd.read_csv(fair_cohort / "candidates.csv", keep_default_na=False)["name"])
    assert "𠀀" in text + names and "䶮" in text + names
    assert any(w in text for w in ("KPI", "OK", "deadline", "PPT", "Excel"))
    assert "%" in text and "万元" in text


def test_naive_keyword_count_is_misled_in_at_least_20_percent(fair_cohort):
    """Negations that flip meaning: a keyword count reads them the wrong way round."""
    d = load_dictionary()
    answers = pd.read_csv(fair_cohort / "answers.csv", keep_default_na=False)
    truth = pd.read_parquet(fair_cohort / "truth" / "answers.parquet")
    q = pd.read_csv(fair_cohort / "questions.csv")
    m = answers.merge(truth, on="answer_id").merge(q[["question_id", "competency_id"]], on="question_id")
    m = m[m["status"] == "answered"]
    pos = np.array([any(p in t for p in d.competencies[c].positive_evidence) for t, c in zip(m["answer_text"], m["competency_id"])])
    neg = np.array([any(p in t for p in d.competencies[c].negative_evidence) for t, c in zip(m["answer_text"], m["competency_id"])])
    traps = m["traps"].to_numpy()
    good_but_negative_keyword = np.char.find(traps.astype(str), "negated_lapse") >= 0
    weak_but_positive_keyword = np.char.find(traps.astype(str), "negated_good") >= 0
    wrong_way = (good_but_negative_keyword & (m["level"].to_numpy() >= 3) & neg) | (weak_but_positive_keyword & (m["level"].to_numpy() <= 3) & pos)
    assert wrong_way.mean() >= 0.20, wrong_way.mean()
    # and the keywords still carry some signal (they are not useless, just unreliable)
    naive = pos.astype(int) - neg.astype(int)
    assert stats.spearmanr(naive, m["level"]).statistic > 0.05


def _role_regression(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    X = (X - X.mean(0)) / X.std(0)
    return np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), (y - y.mean()) / y.std(), rcond=None)[0][1:]


def test_ehr_true_weights_recoverable_by_regression(fair_cohort):
    """OLS of performance on the supervisors' competency ratings finds the true drivers of every role.

    Ratings are noisy (reliability ≈ .8) and competencies correlate, so some weight leaks to non-drivers
    (errors in variables); on the latent levels themselves the weights come back almost exactly.
    """
    truth = json.loads((fair_cohort / "truth" / "truth.json").read_text(encoding="utf-8"))
    emp = pd.read_csv(fair_cohort / "employees.csv").set_index("employee_id")
    ratings = pd.read_csv(fair_cohort / "employee_competencies.csv").pivot(index="employee_id", columns="competency_id", values="rating")
    latent = pd.read_parquet(fair_cohort / "truth" / "employee_latent.parquet").pivot(index="employee_id", columns="competency_id", values="theta")
    for role, weights in truth["true_weights"].items():
        ids = emp.index[emp["role_id"] == role]
        cols = list(weights)
        true = np.array([weights[c] for c in cols])
        y = emp.loc[ids, "performance_score"].to_numpy(float)
        beta = _role_regression(ratings.loc[ids, cols].to_numpy(float), y)
        drivers = true > 0
        assert beta[drivers].min() > beta[~drivers].max(), (role, beta.round(2), true)
        assert stats.spearmanr(beta, true).statistic >= 0.7, role
        share = np.clip(beta, 0, None) / np.clip(beta, 0, None).sum()
        assert np.abs(share - true).max() < 0.25, (role, share.round(2), true)
        beta_latent = _role_regression(latent.loc[ids, cols].to_numpy(float), y)
        share_latent = np.clip(beta_latent, 0, None) / np.clip(beta_latent, 0, None).sum()
        assert np.abs(share_latent - true).max() < 0.12, (role, share_latent.round(2), true)  # n = 300, R² = .5


def test_competency_ratings_intercorrelate_moderately(fair_cohort):
    comp = pd.read_csv(fair_cohort / "employee_competencies.csv")
    emp = pd.read_csv(fair_cohort / "employees.csv")
    role_ids = emp.loc[emp["role_id"] == "teller", "employee_id"]
    wide = comp[comp["employee_id"].isin(role_ids)].pivot(index="employee_id", columns="competency_id", values="rating")
    r = wide.corr().to_numpy()[np.triu_indices(wide.shape[1], 1)]
    assert 0.2 <= r.mean() <= 0.5, r.mean()


def test_demographics_have_2_to_5_percent_unknown(fair_cohort):
    cand = pd.read_csv(fair_cohort / "candidates.csv", keep_default_na=False)
    for col in ("gender", "age_band", "hukou_type", "home_province", "ethnicity", "school_tier", "disability"):
        share = (cand[col] == "").mean()
        assert 0.01 <= share <= 0.06, (col, share)  # design 2–5 %, n = 3000 sampling error ≈ ±0.8 pp


def _bias_effect(cohort):
    """Mean human rating of women minus men at equal true level, in rating SD units (with its SE)."""
    ratings = pd.read_csv(cohort / "ratings.csv")
    answers = pd.read_csv(cohort / "answers.csv", keep_default_na=False)
    cand = pd.read_csv(cohort / "candidates.csv", keep_default_na=False)
    truth = pd.read_parquet(cohort / "truth" / "answers.parquet")
    m = ratings.merge(answers[["answer_id", "candidate_id", "status"]], on="answer_id").merge(truth[["answer_id", "level"]], on="answer_id")
    m = m.merge(cand[["candidate_id", "gender"]], on="candidate_id")
    m = m[(m["status"] == "answered") & m["gender"].isin(["男", "女"])]
    X = pd.get_dummies(m["level"].astype(str), drop_first=False).astype(float)
    X["female"] = (m["gender"] == "女").astype(float).to_numpy()
    y = m["rating"].to_numpy(float)
    beta, *_ = np.linalg.lstsq(X.to_numpy(), y, rcond=None)
    resid = y - X.to_numpy() @ beta
    # cluster-robust enough for a check: two ratings per answer share an answer → inflate by √2
    cov = np.linalg.inv(X.to_numpy().T @ X.to_numpy()) * resid.var()
    se = float(np.sqrt(cov[-1, -1]) * np.sqrt(2))
    return beta[-1] / level_sd(), se / level_sd()


@pytest.mark.parametrize("knob", [0.0, 0.3])
def test_rater_bias_knob_moves_ratings_by_its_size(tmp_path, knob):
    config = scenario_config("fair", seed=21, n_candidates=2500, employees_per_role=0, rater_bias_sd=knob)
    generate_cohort(config, tmp_path / "c")
    effect, se = _bias_effect(tmp_path / "c")
    # rounding to 1..5 and clipping at the ends damp a shift slightly; allow 3 SE plus 0.03 SD of design slack
    assert abs(effect + knob) <= 3 * se + 0.03, (effect, se)
    truth = json.loads((tmp_path / "c" / "truth" / "truth.json").read_text(encoding="utf-8"))
    assert bool(truth["injected_effects"]) == (knob > 0)


def test_biased_scenario_records_its_effects(tmp_path):
    generate_cohort(scenario_config("biased", seed=3, n_candidates=200, employees_per_role=0), tmp_path / "b")
    truth = json.loads((tmp_path / "b" / "truth" / "truth.json").read_text(encoding="utf-8"))
    knobs = {e["knob"] for e in truth["injected_effects"]}
    assert knobs == {"rater_bias", "proxy_wording", "missingness"}
    t = pd.read_parquet(tmp_path / "b" / "truth" / "answers.parquet")
    assert t["dialect"].any()


def test_unknown_scenario_is_an_error():
    with pytest.raises(ConfigurationError, match="unknown scenario"):
        scenario_config("nope")
