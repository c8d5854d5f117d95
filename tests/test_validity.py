"""The validity library: corrections against textbook values and simulation, small-sample handling, inputs at the
boundary, machine-vs-human, the less-discriminatory-alternative search, expectancy, and rendering."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from workbench.errors import ConfigurationError, DataError
from workbench.validity import (
    correct_criterion_unreliability,
    correct_indirect_range_restriction,
    correct_range_restriction,
    correlation_ci,
    expectancy_figure,
    machine_vs_human_figure,
    operational_validity,
    read_outcomes,
    run_validity_study,
    tradeoff_figure,
    validity_figure,
)

# ----------------------------------------------------------------------------------------------------------------
# corrections
# ----------------------------------------------------------------------------------------------------------------


def test_case_ii_matches_the_hand_computed_textbook_example():
    """validity.md §1.1: 200 hires, interview SD 6 among hires vs 10 among applicants, observed r = .25."""
    u = 10 / 6
    # by hand: r·U = .4167; r²(U² − 1) = .0625 × 1.7778 = .1111; √1.1111 = 1.0541; .4167 / 1.0541 = .3953
    assert correct_range_restriction(0.25, u) == pytest.approx(0.4167 / 1.0541, abs=2e-4)
    assert round(correct_range_restriction(0.25, u), 3) == 0.395
    # criterion reliability .52 first (.3467), then Case II → .524; the wrong order over-corrects to .548
    assert correct_criterion_unreliability(0.25, 0.52) == pytest.approx(0.3467, abs=1e-4)
    assert round(operational_validity(0.25, u, 0.52), 3) == 0.524
    assert round(correct_criterion_unreliability(correct_range_restriction(0.25, u), 0.52), 3) == 0.548


def test_case_ii_equals_psychmeta_form_and_leaves_unrestricted_r_alone():
    r = np.linspace(-0.9, 0.9, 19)
    u = 1.7
    ux = 1 / u  # psychmeta's restricted/unrestricted ratio
    psychmeta = r / (ux * np.sqrt((1 / ux**2 - 1) * r**2 + 1))
    assert np.allclose(correct_range_restriction(r, u), psychmeta)
    assert np.allclose(correct_range_restriction(r, 1.0), r)


def test_case_iii_matches_the_reference_example():
    assert round(correct_indirect_range_restriction(0.25, 0.40, 0.20, 1.667), 3) == 0.334
    # selection on x itself (r_xz = 1, r_zy = r_xy): Case III reduces to Case II
    assert correct_indirect_range_restriction(0.3, 1.0, 0.3, 2.0) == pytest.approx(correct_range_restriction(0.3, 2.0))


def _top(values: np.ndarray, share: float) -> np.ndarray:
    return values >= np.quantile(values, 1 - share)


def test_case_ii_recovers_the_population_correlation_under_direct_selection():
    rng = np.random.default_rng(1)
    rho, n = 0.45, 400_000
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    hired = _top(x, 0.2)
    r = np.corrcoef(x[hired], y[hired])[0, 1]
    u = x.std() / x[hired].std()
    assert r < rho - 0.2  # heavily attenuated among the selected
    assert correct_range_restriction(r, u) == pytest.approx(rho, abs=0.01)


def test_case_iii_recovers_the_population_correlation_under_indirect_selection():
    rng = np.random.default_rng(2)
    cov = np.array([[1, 0.6, 0.35], [0.6, 1, 0.45], [0.35, 0.45, 1]])  # x, z, y
    x, z, y = rng.multivariate_normal(np.zeros(3), cov, size=1_000_000).T
    hired = _top(z, 0.2)
    c = np.corrcoef(np.vstack([x[hired], z[hired], y[hired]]))
    u_z = z.std() / z[hired].std()
    # the correction amplifies sampling error ≈ 3× here (U² − 1 ≈ 3.6): ±.015 is about 3 SE at 200,000 selected
    assert correct_indirect_range_restriction(c[0, 2], c[0, 1], c[1, 2], u_z) == pytest.approx(0.35, abs=0.015)
    assert correct_range_restriction(c[0, 2], x.std() / x[hired].std()) < 0.33  # Case II on x under-corrects


@pytest.mark.parametrize(
    "call",
    [
        lambda: correct_range_restriction(1.2, 1.5),
        lambda: correct_range_restriction(0.3, 0.0),
        lambda: correct_range_restriction(0.3, -1.0),
        lambda: correct_criterion_unreliability(0.3, 0.0),
        lambda: correct_criterion_unreliability(0.3, 1.5),
        lambda: correlation_ci(0.3, 50, confidence=1.2),
    ],
)
def test_corrections_reject_impossible_input(call):
    with pytest.raises(ConfigurationError):
        call()


def test_correlation_ci_known_value_and_small_n():
    low, high = correlation_ci(0.3, 100)
    assert (round(low, 3), round(high, 3)) == (0.110, 0.469)
    low, high = correlation_ci(0.3, 3)
    assert np.isnan(low) and np.isnan(high)


# ----------------------------------------------------------------------------------------------------------------
# small, fully known data sets for the study
# ----------------------------------------------------------------------------------------------------------------


def _cohort(sizes: dict[str, int], *, seed: int = 0, rho: float = 0.5, hire_share: float = 0.2, machine_noise: float = 0.3,
            culture_bias: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Applicants whose latent ability drives three dimension scores and the ratings; hiring on the human overall."""
    rng = np.random.default_rng(seed)
    frames = []
    for role, n in sizes.items():
        theta = rng.standard_normal(n)
        female = rng.random(n) < 0.5
        dims = {d: theta + rng.normal(0, 0.8, n) for d in ("professional", "general", "culture")}
        dims["culture"] = dims["culture"] - culture_bias * female
        frame = pd.DataFrame({"candidate_id": [f"{role}-{i:05d}" for i in range(n)], "role_id": role,
                              "gender": np.where(female, "女", "男"), "school_tier": rng.choice(["985", "211", "普通本科"], n, p=[0.15, 0.15, 0.7])})
        for d, v in dims.items():
            frame[f"human_{d}"] = 50 + 15 * v
            frame[f"machine_{d}"] = 50 + 15 * (v + rng.normal(0, machine_noise, n))
        for src in ("human", "machine"):
            frame[f"{src}_overall"] = frame[[f"{src}_{d}" for d in ("professional", "general", "culture")]].mean(axis=1)
        perf = rho * theta + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        frame["perf"] = np.clip(np.round(3 + perf), 1, 5)
        frame["pot"] = np.clip(np.round(3 + 0.5 * theta + rng.standard_normal(n) * 0.9), 1, 5)
        frame["probation"] = np.where(perf + rng.standard_normal(n) > -1.6, "passed", "failed")
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    ranks = data.groupby("role_id")["human_overall"].rank(ascending=False, method="first")
    sizes_s = data.groupby("role_id")["candidate_id"].transform("size")
    hired = ranks <= np.ceil(hire_share * sizes_s)
    outcomes = data.loc[hired, ["candidate_id"]].assign(performance_rating=data.loc[hired, "perf"].astype(int), probation_result=data.loc[hired, "probation"],
                                                        potential_rating=data.loc[hired, "pot"].astype(int))
    scores = data[["candidate_id", "role_id", *[c for c in data.columns if c.startswith(("human_", "machine_"))]]]
    candidates = data[["candidate_id", "gender", "school_tier"]]
    return scores, outcomes.reset_index(drop=True), candidates


_FAST = dict(n_boot=200, shares=(), weight_step=1.0)  # trade-off: the current rule and the three single dimensions
_GRID = dict(n_boot=200, shares=(0.2, 0.4), weight_step=0.5)


@pytest.fixture(scope="module")
def small_study():
    scores, outcomes, candidates = _cohort({"teller": 1500, "retail_rm": 1000, "aml_analyst": 120})
    return run_validity_study(scores, outcomes, candidates, selection_score="human_overall", criterion_reliability={"performance_rating": 0.6},
                              attributes=("gender", "school_tier"), role_names={"teller": "柜员"}, **_GRID)


def test_roles_with_too_few_hires_get_a_named_insufficient_data_row(small_study):
    v = small_study.validity
    aml = v[v["role_id"] == "aml_analyst"]
    assert len(aml) and (aml["status"] == "insufficient_data").all()
    assert aml[["r", "r_rr", "r_op", "r_ci_low"]].isna().all().all()  # no unstable numbers
    assert (aml["n"] < 50).all()
    ok = v[(v["role_id"].isin(["teller", "all"])) & (v["criterion"] == "performance_rating")]
    assert (ok["status"] == "ok").all() and ok["r"].notna().all()
    samples = small_study.samples.set_index("role_id")
    assert samples.loc["aml_analyst", "status"] == "insufficient_data" and samples.loc["teller", "status"] == "ok"
    inc = small_study.incremental
    assert (inc.loc[inc["role_id"] == "aml_analyst", "status"] == "insufficient_data").all()
    assert small_study.metrics()["roles_insufficient"] == 1
    html = small_study._repr_html_()
    assert "aml_analyst" in html and "数据不足" in html


def test_min_n_below_ten_is_refused():
    scores, outcomes, candidates = _cohort({"teller": 300})
    with pytest.raises(ConfigurationError, match="min_n"):
        run_validity_study(scores, outcomes, candidates, min_n=5)


def test_pooled_corrected_validity_brackets_the_known_correlation(small_study):
    """Hiring on human_overall: Case II for it, Case III for the others; truth here is corr(score, rating) in the pool."""
    row = small_study.validity.query("role_id == 'all' and predictor == 'human_overall' and criterion == 'performance_rating'").iloc[0]
    assert row["correction"] == "case_ii"
    machine = small_study.validity.query("role_id == 'all' and predictor == 'machine_overall' and criterion == 'performance_rating'").iloc[0]
    assert machine["correction"] == "case_iii" and machine["ci_method"] == "bootstrap"
    assert row["r"] < row["r_rr"] < row["r_op"]
    assert row["r_rr_ci_low"] <= row["r_rr"] <= row["r_rr_ci_high"]


def test_hired_can_be_given_explicitly_and_must_be_complete():
    scores, outcomes, candidates = _cohort({"teller": 600})
    flag = pd.Series(scores["candidate_id"].isin(outcomes["candidate_id"]).to_numpy(), index=scores["candidate_id"])
    a = run_validity_study(scores, outcomes, candidates, selection_score="human_overall", **_FAST)
    b = run_validity_study(scores, outcomes, candidates, selection_score="human_overall", hired=flag, **_FAST)
    pd.testing.assert_frame_equal(a.validity, b.validity)
    with pytest.raises(DataError, match="hired is missing"):
        run_validity_study(scores, outcomes, candidates, hired=flag.iloc[:10], **_FAST)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda o: o.assign(performance_rating=o["performance_rating"].where(o.index != 3, 7)), r"performance_rating.*row 3"),
        (lambda o: pd.concat([o, o.iloc[[0]]], ignore_index=True), "appears twice"),
        (lambda o: o.drop(columns=["performance_rating"]), "performance_rating"),
        (lambda o: o.assign(probation_result=o["probation_result"].where(o.index != 2, "通过")), r"probation_result.*row 2"),
    ],
)
def test_bad_outcomes_are_refused_naming_column_and_row(mutate, message):
    scores, outcomes, candidates = _cohort({"teller": 300})
    with pytest.raises(DataError, match=message):
        run_validity_study(scores, mutate(outcomes), candidates, **_FAST)


def test_outcomes_file_goes_through_the_contract_with_quarantine(tmp_path):
    """A bank's file in GBK with a bad rating, an unknown candidate, a duplicate and a bad probation code."""
    scores, outcomes, candidates = _cohort({"teller": 300})
    bad = outcomes.head(20).copy().astype(object)
    bad.loc[1, "performance_rating"] = 9
    bad.loc[2, "candidate_id"] = "no-such-candidate"
    bad.loc[3, "probation_result"] = "转正"
    bad = pd.concat([bad, bad.iloc[[5]]], ignore_index=True)
    path = tmp_path / "outcomes.csv"
    bad.to_csv(path, index=False, encoding="gbk")
    result = read_outcomes(path, candidates)
    assert result.reconciles and result.rows_in == 21
    assert result.rows_accepted == 17 and result.rows_quarantined == 4
    assert set(result.quarantine["reason_code"]) == {"out_of_range", "unknown_reference", "not_allowed", "duplicate_key"}
    study = run_validity_study(scores, result.accepted.astype(object), candidates, min_n=10, **_FAST)
    assert study.samples.set_index("role_id").loc["all", "n_hired"] == 17


def test_machine_vs_human_finds_a_worse_scorer_and_no_difference_for_a_copy():
    scores, outcomes, candidates = _cohort({"teller": 1500, "retail_rm": 1500}, seed=3)
    copy = scores.copy()
    for d in ("overall", "professional", "general", "culture"):
        copy[f"machine_{d}"] = copy[f"human_{d}"]
    same = run_validity_study(copy, outcomes, candidates, selection_score="human_overall", **_FAST).machine_vs_human
    row = same.query("role_id == 'all' and aspect == 'overall' and criterion == 'performance_rating'").iloc[0]
    assert row["difference"] == pytest.approx(0) and row["verdict"] == "no_difference_detected"
    noisy = scores.copy()
    rng = np.random.default_rng(9)
    for d in ("professional", "general", "culture"):
        noisy[f"machine_{d}"] = 50 + 15 * rng.standard_normal(len(noisy))  # a scorer that learned nothing
    noisy["machine_overall"] = noisy[[f"machine_{d}" for d in ("professional", "general", "culture")]].mean(axis=1)
    worse = run_validity_study(noisy, outcomes, candidates, selection_score="human_overall", **_FAST).machine_vs_human
    row = worse.query("role_id == 'all' and aspect == 'overall' and criterion == 'performance_rating'").iloc[0]
    assert row["verdict"] == "lower" and row["diff_ci_high"] < 0


def test_lda_search_finds_the_weighting_that_drops_a_biased_dimension():
    """Culture-fit scores are marked down for women at equal ability; the other two dimensions are as valid."""
    scores, outcomes, candidates = _cohort({"teller": 3000, "retail_rm": 3000}, seed=4, culture_bias=1.2)
    study = run_validity_study(scores, outcomes, candidates, selection_score="human_overall", attributes=("gender",), procedure="human", **_GRID)
    lda = study.lda.iloc[0]
    assert lda["current_n_flagged"] == 1 and lda["verdict"] == "found"
    best = study.tradeoff.set_index("option_id").loc[lda["best_option"]]
    assert best["w_culture"] == 0 and best["n_flagged"] == 0
    assert best["validity"] >= lda["current_validity"] - 0.03
    assert study.tradeoff["pareto"].any() and (study.tradeoff["kind"] == "current").sum() == 1
    impact = study.tradeoff_impact
    assert set(impact["option_id"]) == set(study.tradeoff["option_id"])


def test_no_alternative_needed_when_nothing_is_biased(small_study):
    assert small_study.lda.iloc[0]["verdict"] in ("not_needed", "not_found", "found")
    scores, outcomes, candidates = _cohort({"teller": 3000, "retail_rm": 3000}, seed=5)
    study = run_validity_study(scores, outcomes, candidates, selection_score="human_overall", attributes=("gender",), procedure="human", **_FAST)
    assert study.lda.iloc[0]["verdict"] == "not_needed"


def test_expectancy_rises_with_a_valid_score_and_pool_chart_is_consistent(small_study):
    e = small_study.expectancy.query("role_id == 'all' and predictor == 'human_overall' and criterion == 'performance_rating'")
    assert len(e) >= 4 and (e["n"] >= 30).all()
    assert e["p_high"].iloc[-1] > e["p_high"].iloc[0]
    assert e["trend_p"].iloc[0] < 0.05
    assert (e["ci_low"] <= e["p_high"]).all() and (e["p_high"] <= e["ci_high"]).all()
    pool = small_study.expectancy_pool.query("role_id == 'all' and predictor == 'human_overall'")
    assert len(pool) == 5 and pool["p_high"].is_monotonic_increasing
    # the pool's bands average to the pool's base rate, which is below the hires' (they were selected)
    assert pool["p_high"].mean() == pytest.approx(pool["pool_base_rate"].iloc[0], abs=1e-3)
    assert pool["pool_base_rate"].iloc[0] < e["base_rate"].iloc[0]


def test_incremental_validity_over_a_screen_without_validity(small_study):
    inc = small_study.incremental.query("role_id == 'all' and predictor == 'human_overall' and status == 'ok'").set_index("order")
    assert inc.loc["interview_over_screen", "delta_r2"] > 0.01 and inc.loc["interview_over_screen", "p_value"] < 0.01
    assert inc.loc["screen_over_interview", "p_value"] > 0.01  # school tier carries no information in this data
    si = small_study.screen_impact
    assert set(si["procedure"]) == {"screen", "machine_overall", "human_overall"}
    assert (si.groupby("procedure")["selection_rate"].nunique() == 1).all()
    rates = si.groupby("procedure")["selection_rate"].first()
    assert rates.nunique() == 1  # same selection ratio for the screen and the interview


def test_metrics_are_plain_json(small_study):
    metrics = small_study.metrics()
    json.dumps(metrics)
    assert metrics["n_hired"] == int(small_study.samples.set_index("role_id").loc["all", "n_hired"])
    assert "r_op[human_overall]" in metrics and "lda_verdict" in metrics


def test_report_is_offline_and_speaks_both_languages(small_study):
    zh = small_study.to_html(lang="zh")
    en = small_study.to_html(lang="en")
    for html in (zh, en):
        assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
        assert "http://" not in html and "https://" not in html
    assert "预测效度研究" in zh and "操作效度" in zh
    assert "Predictive validity study" in en and "Operational validity" in en
    # English page: Chinese only in data values (categories of the attributes, the given role name)
    text = re.sub(r"<[^>]+>|data:image/png;base64,[A-Za-z0-9+/=]+", " ", en)
    allowed = {"女", "男", "柜", "员", "普", "通", "本", "科"}
    assert {ch for ch in text if "\u4e00" <= ch <= "\u9fff"} <= allowed


def test_figures_draw_with_chinese_labels(small_study):
    from matplotlib.figure import Figure

    from workbench.reports import missing_glyphs

    for fig in (validity_figure(small_study), expectancy_figure(small_study, predictor="human_overall"), tradeoff_figure(small_study),
                machine_vs_human_figure(small_study)):
        assert isinstance(fig, Figure)
        texts = [t.get_text() for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_yticklabels(), *ax.get_xticklabels())]
        assert any(re.search(r"[\u4e00-\u9fff]", s) for s in texts)
        assert missing_glyphs("".join(texts)) == []
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_minimal_inputs_performance_only_and_no_attributes():
    """A bank with only first-year ratings and no audit attributes still gets validities; the rest says why not."""
    scores, outcomes, candidates = _cohort({"teller": 800})
    study = run_validity_study(scores[["candidate_id", "role_id", "human_overall", "machine_overall"]], outcomes[["candidate_id", "performance_rating"]],
                               candidates[["candidate_id"]], **_FAST)
    assert study.config["criteria"] == ["performance_rating"]
    assert set(study.validity["correction"]) == {"case_ii_assumed"}  # no selection score given
    assert study.lda.iloc[0]["verdict"] == "not_available" and study.lda.iloc[0]["reason"] == "no_attributes"
    assert study.incremental.empty and study.screen_impact.empty and study.suggestion_rule.empty
    html = study.to_html(lang="en")
    assert "no audit attribute with two known categories" in html and "as if hiring used each predictor directly" in html


def test_concurrent_design_corrects_only_for_criterion_reliability():
    scores, outcomes, candidates = _cohort({"teller": 800})
    study = run_validity_study(scores, outcomes, candidates, selection_score="human_overall", range_correction=False,
                               criterion_reliability={"performance_rating": 0.5}, **_FAST)
    v = study.validity.query("role_id == 'all' and criterion == 'performance_rating' and status == 'ok'")
    assert (v["correction"] == "none").all()
    assert np.allclose(v["r_rr"], v["r"]) and np.allclose(v["r_op"], v["r"] / np.sqrt(0.5))
    assert study.expectancy_pool.empty  # no applicant-pool chart without a range correction
