"""Item statistics for piloted interview questions, checked against established implementations.

Oracles: pingouin (Cronbach's α, ICC), scikit-learn (QWK), statsmodels StratifiedTable (MH odds ratio, RBG SE,
MH χ²), direct numpy formulas, hand-computed tables, and a GRM simulated with known parameters.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import special, stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import StratifiedTable

from workbench.errors import DataError
from workbench.questions.itemstats import (
    ItemStatsResult,
    ItemThresholds,
    alpha_if_deleted,
    consensus_scores,
    corrected_item_total,
    cronbach_alpha,
    grm_fit,
    icc,
    item_statistics,
    mh_dif,
    quadratic_weighted_kappa,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------


def _correlated_ratings(seed: int, n: int = 300, k: int = 6, noise: float = 0.8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(n, 1))
    X = np.clip(np.round(3 + theta + rng.normal(0, noise, (n, k))), 1, 5)
    return pd.DataFrame(X, columns=[f"q{j + 1}" for j in range(k)])


def _from_tables(tables) -> pd.DataFrame:
    """Person-level data whose 'studied' item, matched on the 'anchor' item (rest score), gives exactly the 2×2
    tables (A, B, C, D) = (reference high, reference low, focal high, focal low), one per stratum."""
    rows, pid = [], 0
    for s, (a, b, c, d) in enumerate(tables):
        for grp, score, count in (("ref", 5, a), ("ref", 1, b), ("foc", 5, c), ("foc", 1, d)):
            for _ in range(count):
                rows += [(pid, "studied", score, grp), (pid, "anchor", s + 1, grp)]
                pid += 1
    return pd.DataFrame(rows, columns=["candidate_id", "question_id", "rating", "group"])


def _studied(tables) -> pd.Series:
    out = mh_dif(_from_tables(tables), group="group", focal="foc", reference="ref", matching="rest")
    return out.set_index("question_id").loc["studied"]


def _dif_data(seed: int, n: int = 2000, shift: float = 1.0):
    """Five 1–5 items, item q3 shifted down by ``shift`` points for the focal group 'F'."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    theta = rng.normal(size=n)
    X = np.clip(np.round(3 + theta[:, None] + rng.normal(0, 0.8, (n, 5))), 1, 5)
    X[g == 1, 2] = np.clip(X[g == 1, 2] - shift, 1, 5)
    wide = pd.DataFrame(X, columns=[f"q{j + 1}" for j in range(5)])
    long = wide.assign(candidate_id=np.arange(n), sex=np.where(g == 1, "F", "M")).melt(
        id_vars=["candidate_id", "sex"], var_name="question_id", value_name="rating"
    )
    return X, g, long


def _strata_tables(y_high: np.ndarray, match: np.ndarray, focal: np.ndarray) -> list[np.ndarray]:
    """Independent construction of the MH 2×2 tables [[ref high, ref low], [focal high, focal low]]."""
    tables = []
    for s in np.unique(match):
        m = match == s
        t = np.array(
            [
                [np.sum(m & ~focal & y_high), np.sum(m & ~focal & ~y_high)],
                [np.sum(m & focal & y_high), np.sum(m & focal & ~y_high)],
            ]
        )
        if t[0].sum() and t[1].sum() and t[:, 0].sum() and t[:, 1].sum():
            tables.append(t)
    return tables


def _simulate_grm(seed: int, a: np.ndarray, b: np.ndarray, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    p_ge = special.expit(a[None, :, None] * (theta[:, None, None] - b[None, :, :]))  # n × items × (K−1)
    X = 1 + (rng.uniform(size=(n, a.size, 1)) < p_ge).sum(axis=2)
    return pd.DataFrame(X, columns=[f"q{j + 1}" for j in range(a.size)])


def _grm_loglik_grid(X: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Independent GRM marginal log-likelihood: trapezoid rule on a fine θ grid (categories 1..K)."""
    grid = np.linspace(-8, 8, 3201)
    dens = stats.norm.pdf(grid)
    logL = np.zeros((X.shape[0], grid.size))
    for j in range(X.shape[1]):
        p_ge = special.expit(a[j] * (grid[:, None] - b[j][None, :]))
        cum = np.hstack([np.ones((grid.size, 1)), p_ge, np.zeros((grid.size, 1))])
        P = cum[:, :-1] - cum[:, 1:]
        logL += np.log(P[:, X[:, j].astype(int) - 1]).T
    L = np.trapezoid(np.exp(logL) * dens, grid, axis=1)
    return float(np.log(L).sum())


def _simulate_pilot(seed: int = 11, n: int = 400, dif_shift: float = 0.8, small_group: bool = False):
    """A pilot: 3 competencies, 2 ratings per answer by raters drawn from a pool of 6, a noise item, a floor item
    and an item that is harder for women at equal ability."""
    rng = np.random.default_rng(seed)
    comps = {
        "C1": ["C1-q1", "C1-q2", "C1-q3", "C1-dif"],
        "C2": ["C2-q1", "C2-q2", "C2-q3", "C2-noise"],
        "C3": ["C3-floor", "C3-q2", "C3-q3"],
    }
    women = rng.uniform(size=n) < (0.05 if small_group else 0.5)
    gender = np.where(women, "女", "男")
    theta = rng.normal(size=(n, 3))
    severity = rng.normal(0, 0.2, 6)
    rows = []
    for ci, (comp, qs) in enumerate(comps.items()):
        for q in qs:
            for i in range(n):
                if q.endswith("noise"):
                    level = rng.uniform(0.5, 5.5)
                elif q.endswith("floor"):
                    level = 1.0 + 0.6 * theta[i, ci] + rng.normal(0, 0.4)
                else:
                    level = 3 + 0.9 * theta[i, ci] + rng.normal(0, 0.5) - (dif_shift if q.endswith("dif") and women[i] else 0.0)
                for r in rng.choice(6, 2, replace=False):
                    rating = int(np.clip(np.round(level + severity[r] + rng.normal(0, 0.4)), 1, 5))
                    rows.append((f"P{i:04d}", q, f"R{r}", rating, gender[i], "城镇" if i % 3 else "农村"))
    pilot = pd.DataFrame(rows, columns=["candidate_id", "question_id", "rater_id", "rating", "gender", "hukou_type"])
    questions = pd.DataFrame([(q, c) for c, qs in comps.items() for q in qs], columns=["question_id", "competency_id"])
    return pilot, questions


@pytest.fixture(scope="module")
def pilot_result():
    pilot, questions = _simulate_pilot()
    return item_statistics(pilot, questions, group_columns={"gender": ("女", "男")})


# ---------------------------------------------------------------------------------------------------------------
# classical test theory
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_cronbach_alpha_matches_pingouin(seed):
    wide = _correlated_ratings(seed)
    assert cronbach_alpha(wide) == pytest.approx(float(pg.cronbach_alpha(wide)[0]), abs=1e-6)
    noisy = _correlated_ratings(seed, noise=2.5)  # a low-alpha set too
    assert cronbach_alpha(noisy) == pytest.approx(float(pg.cronbach_alpha(noisy)[0]), abs=1e-6)
    assert cronbach_alpha(noisy) < cronbach_alpha(wide)


def test_cronbach_alpha_hand_example_and_listwise_deletion():
    # var(x) = var(y) = 5/3, cov = 4/3, var(x + y) = 6  →  α = 2·(1 − (10/3)/6) = 8/9
    wide = pd.DataFrame({"x": [1, 2, 3, 4], "y": [1, 3, 2, 4]})
    assert cronbach_alpha(wide) == pytest.approx(8 / 9, abs=1e-12)
    with_missing = pd.concat([wide, pd.DataFrame({"x": [5.0], "y": [np.nan]})], ignore_index=True)
    assert cronbach_alpha(with_missing) == pytest.approx(8 / 9, abs=1e-12)
    assert cronbach_alpha(wide) == pytest.approx(float(pg.cronbach_alpha(wide)[0]), abs=1e-6)


def test_corrected_item_total_and_alpha_if_deleted_direct():
    wide = _correlated_ratings(3, k=5)
    wide["q5"] = np.random.default_rng(3).integers(1, 6, len(wide))  # an unrelated item
    X = wide.to_numpy(dtype=float)
    rit = corrected_item_total(wide)
    aid = alpha_if_deleted(wide)
    assert isinstance(rit, pd.Series) and list(rit.index) == list(wide.columns)
    for j, col in enumerate(wide.columns):
        rest = X.sum(axis=1) - X[:, j]
        assert rit[col] == pytest.approx(np.corrcoef(X[:, j], rest)[0, 1], abs=1e-12)
        assert aid[col] == pytest.approx(float(pg.cronbach_alpha(wide.drop(columns=col))[0]), abs=1e-6)
    assert rit["q5"] < 0.15 < rit.drop("q5").min()
    assert aid["q5"] > cronbach_alpha(wide)


def test_qwk_matches_sklearn():
    rng = np.random.default_rng(5)
    for _ in range(5):
        a = rng.integers(1, 6, 300)
        b = np.clip(a + rng.integers(-1, 2, 300), 1, 5)
        assert quadratic_weighted_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b, weights="quadratic"), abs=1e-9)
    # with an unused category (nobody gave 3) we weight by rating distance = sklearn with the full label range
    a = np.array([1, 2, 4, 5, 5, 4, 2, 1, 4, 5])
    b = np.array([2, 2, 4, 4, 5, 5, 1, 1, 2, 4])
    full = cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert quadratic_weighted_kappa(a, b) == pytest.approx(full, abs=1e-9)
    assert quadratic_weighted_kappa([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    with pytest.raises(DataError):
        quadratic_weighted_kappa([1, 2, 3], [1, 2])


# ---------------------------------------------------------------------------------------------------------------
# inter-rater agreement
# ---------------------------------------------------------------------------------------------------------------


def _assert_same_icc(mine: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(mine["label"]) == list(ref["Type"])
    np.testing.assert_allclose(mine["icc"].to_numpy(), ref["ICC"].to_numpy(dtype=float), atol=1e-6, rtol=0)
    np.testing.assert_allclose(mine["F"].to_numpy(), ref["F"].to_numpy(dtype=float), atol=1e-6, rtol=0)
    np.testing.assert_allclose(mine["p_value"].to_numpy(), ref["pval"].to_numpy(dtype=float), atol=1e-9, rtol=0)
    np.testing.assert_array_equal(mine["df2"].to_numpy(), ref["df2"].to_numpy())


def test_icc_matches_pingouin_crossed_designs():
    wine = pg.read_dataset("icc")
    pilot = pd.DataFrame({"candidate_id": wine["Wine"], "question_id": "q1", "rater_id": wine["Judge"], "rating": wine["Scores"]})
    mine = icc(pilot)
    assert list(mine["type"]) == ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
    _assert_same_icc(mine, pg.intraclass_corr(wine, targets="Wine", raters="Judge", ratings="Scores"))
    assert set(mine["design"]) == {"crossed"} and set(mine.loc[mine["recommended"], "type"]) == {"ICC2", "ICC2k"}

    # answers of several questions rated by the same 3 raters (raters differ in severity)
    rng = np.random.default_rng(8)
    level = rng.integers(1, 6, 60)
    rows = [(f"c{i % 20}", f"q{i // 20}", r, int(np.clip(level[i] + s + rng.integers(-1, 2), 1, 5)))
            for i in range(60) for r, s in (("A", 0), ("B", 1), ("C", -1))]  # fmt: skip
    pilot = pd.DataFrame(rows, columns=["candidate_id", "question_id", "rater_id", "rating"])
    ref_data = pilot.assign(answer=pilot["candidate_id"] + "|" + pilot["question_id"])
    _assert_same_icc(icc(pilot), pg.intraclass_corr(ref_data, targets="answer", raters="rater_id", ratings="rating"))


def test_icc_two_ratings_from_varying_raters_is_one_way():
    rng = np.random.default_rng(9)
    rows = []
    for i in range(80):
        level = rng.integers(1, 6)
        for r in rng.choice(10, 2, replace=False):
            rows.append((f"c{i}", "q1", f"R{r}", int(np.clip(level + rng.integers(-1, 2), 1, 5))))
    pilot = pd.DataFrame(rows, columns=["candidate_id", "question_id", "rater_id", "rating"])
    mine = icc(pilot)
    assert set(mine["design"]) == {"one_way"} and set(mine.loc[mine["recommended"], "type"]) == {"ICC1", "ICC1k"}
    slots = pilot.assign(slot=pilot.groupby("candidate_id").cumcount())
    _assert_same_icc(mine, pg.intraclass_corr(slots, targets="candidate_id", raters="slot", ratings="rating"))
    # ICC1 does not depend on which rating is called "rating 1"
    swapped = icc(pilot.iloc[np.arange(len(pilot)).reshape(-1, 2)[:, ::-1].ravel()])
    one = lambda t: t.set_index("type").loc[["ICC1", "ICC1k"], "icc"].to_numpy()  # noqa: E731
    np.testing.assert_allclose(one(swapped), one(mine), atol=1e-12)
    single = pilot.drop_duplicates("candidate_id")
    with pytest.raises(DataError, match="two or more ratings"):
        icc(single)


# ---------------------------------------------------------------------------------------------------------------
# Mantel–Haenszel DIF
# ---------------------------------------------------------------------------------------------------------------


def test_mh_hand_example():
    # (A, B, C, D) = (80, 20, 40, 60), (60, 40, 30, 70): α_MH = (24 + 21) / (4 + 6) = 4.5, D = −2.35 ln 4.5
    row = _studied([(80, 20, 40, 60), (60, 40, 30, 70)])
    assert row["alpha_mh"] == pytest.approx(4.5, abs=1e-12)
    assert row["mh_d_dif"] == pytest.approx(-3.5346, abs=1e-4)
    assert row["disadvantaged"] == "focal" and row["n_strata"] == 2


@pytest.mark.parametrize("matching", ["total", "rest"])
def test_mh_matches_statsmodels(matching):
    X, g, long = _dif_data(seed=3)
    out = mh_dif(long, group="sex", focal="F", reference="M", matching=matching).set_index("question_id")
    assert list(out.index) == ["q1", "q2", "q3", "q4", "q5"]
    focal = g == 1
    for j, item in enumerate(out.index):
        match = X.sum(axis=1) - (X[:, j] if matching == "rest" else 0)
        st = StratifiedTable(_strata_tables(X[:, j] >= 4, match, focal))
        row = out.loc[item]
        assert row["alpha_mh"] == pytest.approx(st.oddsratio_pooled, abs=1e-6)
        assert row["chi2"] == pytest.approx(st.test_null_odds(correction=True).statistic, abs=1e-6)
        assert row["p_value"] == pytest.approx(st.test_null_odds(correction=True).pvalue, abs=1e-6)
        assert row["se"] == pytest.approx(2.35 * st.logodds_pooled_se, abs=1e-6)
        assert row["mh_d_dif"] == pytest.approx(-2.35 * np.log(st.oddsratio_pooled), abs=1e-6)
    planted = out.loc["q3"]
    assert planted["mh_d_dif"] < -1.5 and planted["ets_class"] == "C" and planted["ets_poly_class"] == "CC"
    assert planted["disadvantaged"] == "focal" and planted["smd"] < 0


def test_purification_removes_spurious_dif_from_the_matching_score():
    _, _, long = _dif_data(seed=3)
    plain = mh_dif(long, group="sex", focal="F", reference="M").set_index("question_id")
    pure = mh_dif(long, group="sex", focal="F", reference="M", purify=True).set_index("question_id")
    assert (plain["ets_class"] != "A").sum() >= 2  # one real DIF item contaminates the total
    assert pure["ets_class"].to_dict() == {"q1": "A", "q2": "A", "q3": "C", "q4": "A", "q5": "A"}
    assert pure.loc["q1", "excluded_from_matching"] == "q3" and pure.loc["q3", "excluded_from_matching"] == ""


def test_mantel_and_smd_on_a_binary_item_match_independent_formulas():
    X, g, long = _dif_data(seed=4, shift=0.0)
    long.loc[long["question_id"] == "q2", "rating"] = np.where(long.loc[long["question_id"] == "q2", "rating"] >= 4, 5.0, 1.0)
    X[:, 1] = np.where(X[:, 1] >= 4, 5.0, 1.0)
    row = mh_dif(long, group="sex", focal="F", reference="M").set_index("question_id").loc["q2"]
    focal = g == 1
    total = X.sum(axis=1)
    # Mantel's ordinal test on a 2-valued item = uncorrected MH chi-square
    st = StratifiedTable(_strata_tables(X[:, 1] >= 4, total, focal))
    assert row["mantel_chi2"] == pytest.approx(st.test_null_odds(correction=False).statistic, abs=1e-6)
    # SMD: focal-weighted mean difference over strata holding both groups
    df = pd.DataFrame({"y": X[:, 1], "s": total, "f": focal})
    per = df.groupby(["s", "f"])["y"].agg(["mean", "size"]).unstack("f").dropna()
    w = per[("size", True)] / per[("size", True)].sum()
    smd = float((w * (per[("mean", True)] - per[("mean", False)])).sum())
    assert row["smd"] == pytest.approx(smd, abs=1e-9)
    assert row["smd_sd"] == pytest.approx(smd / X[:, 1].std(ddof=1), abs=1e-9)


def test_ets_classes_on_constructed_tables():
    no_dif = _studied([(50, 50, 50, 50), (30, 70, 31, 69)])
    assert no_dif["ets_class"] == "A"
    large = _studied([(300, 200, 195, 305), (200, 300, 118, 382), (400, 100, 315, 185)])
    assert large["mh_d_dif"] == pytest.approx(-2.0, abs=0.1) and large["ets_class"] == "C"
    moderate = _studied([(300, 200, 230, 270), (200, 300, 142, 358), (400, 100, 353, 147)])
    assert 1.0 <= abs(moderate["mh_d_dif"]) < 1.5 and moderate["p_value"] < 0.05 and moderate["ets_class"] == "B"
    # |D| ≥ 1.5 and significant, but not significantly above 1.0 → B, not C
    borderline = _studied([(40, 30, 27, 43), (30, 40, 18, 52)])
    assert abs(borderline["mh_d_dif"]) >= 1.5 and borderline["p_value"] < 0.05
    assert (abs(borderline["mh_d_dif"]) - 1) / borderline["se"] < 1.645 and borderline["ets_class"] == "B"
    # large but not significant → A; reversed tables favour the focal group (positive D)
    assert _studied([(3, 2, 1, 4)])["ets_class"] == "A"
    assert _studied([(40, 60, 60, 40), (20, 80, 35, 65)])["disadvantaged"] == "reference"


def test_no_dif_data_is_class_a():
    X, g, long = _dif_data(seed=6, shift=0.0)
    out = mh_dif(long, group="sex", focal="F", reference="M")
    assert set(out["ets_class"]) == {"A"} and set(out["ets_poly_class"]) == {"AA"}


# ---------------------------------------------------------------------------------------------------------------
# graded response model
# ---------------------------------------------------------------------------------------------------------------

TRUE_A = np.array([0.8, 1.2, 1.5, 2.0, 1.0])
TRUE_B = np.array(
    [[-1.5, -0.5, 0.3, 1.2], [-1.0, -0.2, 0.6, 1.5], [-2.0, -1.0, 0.0, 1.0], [-0.8, 0.0, 0.8, 1.6], [-1.2, -0.4, 0.4, 1.3]]
)


def test_grm_recovers_simulated_parameters():
    wide = _simulate_grm(21, TRUE_A, TRUE_B, n=2000)
    fit = grm_fit(wide)
    assert isinstance(fit, pd.DataFrame) and len(fit) == 5 and fit["converged"].all()
    est_a = fit["a"].to_numpy()
    est_b = fit[["b1", "b2", "b3", "b4"]].to_numpy()
    np.testing.assert_array_less(np.abs(est_a - TRUE_A), 0.2)
    np.testing.assert_array_less(np.abs(est_b - TRUE_B), 0.25)
    assert (np.diff(est_b, axis=1) > 0).all()
    assert fit[["a_se", "b1_se", "b4_se"]].notna().all().all() and (fit["a_se"] < 0.2).all()
    # the reported log-likelihood is the marginal likelihood (independent fine-grid integration) and the
    # estimates are at least as likely as the true parameters
    X = wide.to_numpy()
    ll_est = _grm_loglik_grid(X, est_a, est_b)
    assert fit["loglik"].iloc[0] == pytest.approx(ll_est, abs=1e-3)
    assert ll_est >= _grm_loglik_grid(X, TRUE_A, TRUE_B) - 1e-3


def test_grm_rejects_unusable_input():
    wide = _simulate_grm(22, TRUE_A[:3], TRUE_B[:3], n=100)
    with pytest.raises(DataError, match="single observed rating category"):
        grm_fit(wide.assign(q3=3))
    with pytest.raises(DataError, match="integer"):
        grm_fit(wide.astype(float).assign(q1=2.5))


# ---------------------------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------------------------


def test_consensus_scores_average_raters_and_keep_candidate_attributes():
    pilot = pd.DataFrame(
        {
            "candidate_id": ["a", "a", "a", "b"],
            "question_id": ["q1", "q1", "q2", "q1"],
            "rater_id": ["r1", "r2", "r1", "r1"],
            "rating": [3, 4, 5, 2],
            "gender": ["女", "女", "女", "男"],
        }
    )
    out = consensus_scores(pilot)
    assert list(out.columns) == ["candidate_id", "question_id", "rating", "n_ratings", "gender"]
    assert out["rating"].tolist() == [3.5, 5.0, 2.0] and out["n_ratings"].tolist() == [2, 1, 1]


def test_item_statistics_end_to_end(pilot_result):
    res = pilot_result
    assert isinstance(res, ItemStatsResult)
    for name in ("items", "competencies", "agreement", "dif", "irt"):
        assert isinstance(getattr(res, name), pd.DataFrame)
    expected = {"question_id", "competency_id", "n", "mean", "sd", "floor_share", "ceiling_share", "corrected_item_total",
                "alpha_if_deleted", "qwk", "flags", "explanation"}  # fmt: skip
    assert expected <= set(res.items.columns)
    assert {"competency_id", "n_items", "n_candidates", "alpha", "flag", "explanation"} <= set(res.competencies.columns)
    assert {"question_id", "group", "focal", "reference", "n_focal", "n_reference", "alpha_mh", "mh_d_dif", "se", "chi2",
            "p_value", "ets_class", "smd", "smd_sd", "ets_poly_class"} <= set(res.dif.columns)  # fmt: skip
    items = res.items.set_index("question_id")

    noise = items.loc["C2-noise"]
    assert noise["corrected_item_total"] < 0.2 and "low_item_total" in noise["flags"]
    assert "alpha_if_deleted_higher" in noise["flags"] and "校正题总相关" in noise["explanation"]
    assert "floor_effect" in items.loc["C3-floor", "flags"] and "最低分" in items.loc["C3-floor", "explanation"]
    for q in ("C1-q1", "C1-q2", "C2-q1", "C3-q2"):
        assert items.loc[q, "flags"] == [] and items.loc[q, "corrected_item_total"] > 0.5
    assert all(CJK.search(text) for text in res.items["explanation"])
    assert items["qwk"].between(0.5, 1).all() and (items["n_double_rated"] == 400).all()

    comps = res.competencies.set_index("competency_id")
    assert comps.loc["C2", "flag"] == "low_alpha" and comps.loc["C1", "flag"] == "ok"
    assert all(CJK.search(text) for text in comps["explanation"])

    agree = res.agreement
    rec = agree[agree["recommended"] == True]  # noqa: E712
    assert set(rec["type"]) == {"ICC1", "ICC1k"} and set(agree["design"].dropna()) == {"one_way"}
    assert set(agree["scope"]) == {"overall", "competency"}

    dif = res.dif.set_index("question_id")
    assert dif.loc["C1-dif", "ets_class"] == "C" and dif.loc["C1-dif", "mh_d_dif"] < -1.5
    assert "dif_large" in items.loc["C1-dif", "flags"] and "更难" in items.loc["C1-dif", "explanation"]
    assert (dif.loc[["C1-q1", "C3-q2"], "ets_class"] == "A").all()

    irt = res.irt
    assert irt["fitted"].all() and set(irt["competency_id"]) == {"C1", "C2", "C3"}
    assert irt.set_index("question_id").loc["C2-noise", "a"] < 0.35

    html = res._repr_html_()
    assert "题目统计" in html and "区分度低" in html and "<table" in html


def test_item_statistics_small_samples_are_not_classified_or_fitted():
    pilot, questions = _simulate_pilot(seed=12, n=150, small_group=True)
    single_rated = pilot.drop_duplicates(["candidate_id", "question_id"]).drop(columns="rater_id")
    reversed_item = single_rated["question_id"] == "C1-q3"  # scored the wrong way round
    single_rated.loc[reversed_item, "rating"] = 6 - single_rated.loc[reversed_item, "rating"]
    res = item_statistics(single_rated, questions, group_columns=["gender"], thresholds=ItemThresholds(irt_min_n=200))
    flags = res.items.set_index("question_id")["flags"]
    assert {"low_item_total", "negative_item_total"} <= set(flags["C1-q3"]) and "negative_item_total" not in flags["C1-q1"]
    assert not res.irt["fitted"].any() and res.irt["reason"].str.contains("少于 200").all()
    assert res.dif["ets_class"].isna().all() and res.dif["explanation"].str.contains("不做 DIF 分级").all()
    assert (res.dif["focal"] == "女").all()  # the less frequent value is the focal group by default
    assert set(res.agreement["flag"]) == {"no_double_ratings"} and res.items["qwk"].isna().all()


def test_role_specific_question_sets_are_analysed_as_separate_forms():
    rng = np.random.default_rng(14)
    rows, qrows = [], []
    for role in ("teller", "manager"):
        qs = [f"{role}.comm.q{k}" for k in range(1, 4)]
        qrows += [(q, "communication", role) for q in qs]
        theta = rng.normal(size=120)
        for i in range(120):
            for q in qs:
                rows.append((f"{role}-{i}", q, int(np.clip(np.round(3 + theta[i] + rng.normal(0, 0.6)), 1, 5))))
    pilot = pd.DataFrame(rows, columns=["candidate_id", "question_id", "rating"])
    questions = pd.DataFrame(qrows, columns=["question_id", "competency_id", "role_id"])
    res = item_statistics(pilot, questions)
    comps = res.competencies.set_index("form")
    assert sorted(comps.index) == ["manager", "teller"] and (comps["n_candidates"] == 120).all()
    assert (comps["alpha"] > 0.7).all() and (comps["competency_id"] == "communication").all()
    assert res.items["corrected_item_total"].notna().all() and res.items["alpha_if_deleted"].notna().all()


def test_item_statistics_rejects_bad_input():
    pilot, questions = _simulate_pilot(seed=13, n=30)
    with pytest.raises(DataError, match="rating"):
        item_statistics(pilot.drop(columns="rating"), questions)
    with pytest.raises(DataError, match="competency_id"):
        item_statistics(pilot, questions.drop(columns="competency_id"))
    bad = pilot.astype({"rating": object})
    bad.loc[5, "rating"] = "良好"
    with pytest.raises(DataError, match=r"'rating'.*numeric"):
        item_statistics(bad, questions)
    with pytest.raises(DataError, match="single question"):
        item_statistics(pilot[pilot["question_id"] == "C1-q1"], questions)
    with pytest.raises(DataError, match="not in questions"):
        item_statistics(pilot, questions[questions["question_id"] != "C1-q1"])
    with pytest.raises(DataError, match="hukou"):
        item_statistics(pilot, questions, group_columns=["hukou"])
    with pytest.raises(DataError, match="at least 2 item"):
        cronbach_alpha(pd.DataFrame({"q1": [1, 2, 3]}))


def test_one_qwk_convention_everywhere():
    """The project has one QWK (workbench._stats.qwk): rating-value weights, equal to sklearn with the full label range."""
    from sklearn.metrics import cohen_kappa_score

    from workbench._stats import qwk
    from workbench.scoring import qwk as scoring_qwk

    rng = np.random.default_rng(5)
    for _ in range(20):
        a = rng.integers(1, 6, size=60)
        b = np.clip(a + rng.integers(-1, 2, size=60), 1, 5)
        labels = list(range(int(min(a.min(), b.min())), int(max(a.max(), b.max())) + 1))
        want = cohen_kappa_score(a, b, weights="quadratic", labels=labels)
        assert qwk(a, b) == pytest.approx(want, abs=1e-12)
        assert scoring_qwk(a, b) == quadratic_weighted_kappa(a, b) == qwk(a, b)
    # nobody gave a 3: sklearn without labels weights by category index and differs; the convention is documented
    a, b = np.array([1, 2, 4, 5, 2, 4]), np.array([2, 2, 4, 4, 1, 5])
    assert qwk(a, b) == pytest.approx(cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5]), abs=1e-12)
    assert qwk(a, b) != pytest.approx(cohen_kappa_score(a, b, weights="quadratic"), abs=1e-6)
