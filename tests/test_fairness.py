"""Fairness audit: public worked examples reproduced exactly, four-fifths edge cases, tests and score views.

Sources of the worked examples (see /work/shared/reference/fairness.md):

* EEOC Questions and Answers on the Uniform Guidelines (44 FR 11996, 1979): rates 60/45/48/51 % → impact ratios
  75 % (adverse), 80 % (not adverse), 85 % (not adverse) — fairness.md §2.1 and fixture F5.
* The 48-of-80 vs 12-of-40 → 50 % example (fairness.md §2.1, recalled from the EEOC 2023 technical assistance).
* NYC DCWP final rule, 6 RCNY §5-301, "Resume Screening" (selection rate) and "Culture Fit" (scoring rate)
  example tables. fairness.md §2.2 cites them via the transcription DenzilGreenwood/CIAF_Model_Creation
  (Docs/Regulatory_Bodies/US_State/New_York/NYC_Local_Law_144_Final_Rule.md); the numbers below are copied
  from that file, including the Hispanic race row that does not add up (fairness.md "Note for tests").
* Tie semantics at the median, fixture F8; fairlearn pitfalls, fixture F11.
* CMH: Agresti (1990) penicillin-and-rabbits data from R's ``mantelhaen.test`` examples (X² = 3.9286,
  p = 0.047) and McDonald & Siebenaller's mussel Lap94 data from McDonald's Handbook of Biological Statistics
  (χ²_MH = 5.05, P = 0.025; Breslow–Day χ² = 0.53, P = 0.91), both also recomputed by hand below.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2 as chi2_dist
from scipy.stats import fisher_exact, norm

from workbench.errors import ConfigurationError, DataError
from workbench.fairness import (
    EFFECT_NARROWED,
    EFFECT_NONE,
    EFFECT_WIDENED,
    UNKNOWN_LABEL,
    adjust_pvalues,
    bootstrap_intervals,
    chi2_test,
    cmh_test,
    group_score_gaps,
    impact_table,
    score_distribution_figure,
    scorer_vs_human,
    two_proportion_z,
)

# ------------------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------------------


def expand(rows, columns, outcome="selected"):
    """Candidate-level rows from aggregate (keys..., n, n_selected) tuples."""
    records = []
    for *keys, n, x in rows:
        for i in range(n):
            records.append({**dict(zip(columns, keys)), outcome: int(i < x)})
    return pd.DataFrame(records)


def block(table, attribute):
    out = table[(table["attribute"] == attribute) & ~table["is_unknown"]]
    return out.set_index("category")


# ------------------------------------------------------------------------------------------------------------
# EEOC Uniform Guidelines Q&A
# ------------------------------------------------------------------------------------------------------------


def test_eeoc_qa_example_rates_60_45_48_51():
    # Q&A: whites 60 %, American Indians 45 %, Hispanics 48 %, Blacks 51 % (group sizes are not given; any work)
    df = expand([("White", 200, 120), ("American Indian", 40, 18), ("Hispanic", 50, 24), ("Black", 100, 51)], ["race"])
    t = block(impact_table(df, by="race", selected="selected"), "race")
    assert t.loc["White", "reference"] == "White"
    assert t["rate"].round(2).to_dict() == {"American Indian": 0.45, "Black": 0.51, "Hispanic": 0.48, "White": 0.60}
    assert t.loc["American Indian", "impact_ratio"] == pytest.approx(0.75)
    assert t.loc["Hispanic", "impact_ratio"] == pytest.approx(0.80)
    assert t.loc["Black", "impact_ratio"] == pytest.approx(0.85)
    assert bool(t.loc["American Indian", "adverse"]) is True  # 75 %: adverse impact
    assert bool(t.loc["Hispanic", "adverse"]) is False  # exactly 80 %: not "less than four-fifths"
    assert bool(t.loc["Black", "adverse"]) is False
    assert bool(t.loc["White", "adverse"]) is False


def test_eeoc_80_whites_48_selected_vs_40_blacks_12_selected():
    df = expand([("White", 80, 48), ("Black", 40, 12)], ["race"])
    t = block(impact_table(df, by="race", selected="selected"), "race")
    assert t.loc["White", "rate"] == pytest.approx(0.60)
    assert t.loc["Black", "rate"] == pytest.approx(0.30)
    assert t.loc["Black", "impact_ratio"] == pytest.approx(0.50)
    assert bool(t.loc["Black", "adverse"]) is True
    # 4/5 of 60 % is 48 % → 19.2 of 40 → 20 Black selections needed, i.e. 8 more
    assert t.loc["Black", "flip"] == 8
    assert t.loc["Black", "p_value"] == pytest.approx(fisher_exact([[12, 28], [48, 32]]).pvalue)


# ------------------------------------------------------------------------------------------------------------
# NYC DCWP final rule, selection-rate example ("Resume Screening AEDT")
# ------------------------------------------------------------------------------------------------------------

# (sex, race, applicants, selected, printed selection rate %, printed impact ratio)
DCWP_SELECTION_INTERSECTIONAL = [
    ("Male", "Hispanic or Latino", 205, 90, 43.9, 0.841),
    ("Female", "Hispanic or Latino", 190, 82, 43.2, 0.827),
    ("Male", "White", 412, 215, 52.2, 1.000),
    ("Male", "Black or African American", 226, 95, 42.0, 0.806),
    ("Male", "Native Hawaiian or Pacific Islander", 87, 37, 42.5, 0.815),
    ("Male", "Asian", 321, 167, 52.0, 0.997),
    ("Male", "Native American or Alaska Native", 24, 11, 45.8, 0.878),
    ("Male", "Two or More Races", 115, 52, 45.2, 0.866),
    ("Female", "White", 385, 197, 51.2, 0.981),
    ("Female", "Black or African American", 164, 75, 45.7, 0.876),
    ("Female", "Native Hawaiian or Pacific Islander", 32, 15, 46.9, 0.898),
    ("Female", "Asian", 295, 135, 45.8, 0.877),
    ("Female", "Native American or Alaska Native", 17, 7, 41.2, 0.789),
    ("Female", "Two or More Races", 98, 44, 44.9, 0.860),
]
# (category, applicants, selected, printed rate %, printed impact ratio)
DCWP_SELECTION_SEX = [("Male", 1390, 667, 48, 1.00), ("Female", 1181, 555, 47, 0.979)]
DCWP_SELECTION_RACE = [
    ("Hispanic or Latino", 408, 204, 50, 0.97),
    ("White", 797, 412, 52, 1.00),
    ("Black or African American", 390, 170, 44, 0.84),
    ("Native Hawaiian or Pacific Islander", 119, 52, 44, 0.85),
    ("Asian", 616, 302, 49, 0.95),
    ("Native American or Alaska Native", 41, 18, 44, 0.85),
    ("Two or More Races", 213, 96, 45, 0.87),
]
UNKNOWN_SPELLINGS = [None, np.nan, "", "未知", "unknown", " Unknown "]


@pytest.fixture(scope="module")
def dcwp_selection():
    df = expand([r[:4] for r in DCWP_SELECTION_INTERSECTIONAL], ["sex", "race"])
    # "The AEDT was also used to assess 250 individuals with an unknown sex or race/ethnicity category."
    unknown = pd.DataFrame(
        {
            "sex": [UNKNOWN_SPELLINGS[i % 6] for i in range(250)],
            "race": [UNKNOWN_SPELLINGS[(i + 3) % 6] for i in range(250)],
            "selected": [i % 2 for i in range(250)],
        }
    )
    return pd.concat([df, unknown], ignore_index=True).sample(frac=1, random_state=3).reset_index(drop=True)


def test_dcwp_selection_example_sex_and_intersectional_tables(dcwp_selection):
    # The published example reports every category, so the optional 2 % exclusion was not applied: min_share=0.
    t = impact_table(dcwp_selection, by=["sex", "race"], selected="selected", min_share=0)
    sex = block(t, "sex")
    for cat, n, x, rate_pct, ratio in DCWP_SELECTION_SEX:
        assert (sex.loc[cat, "count"], sex.loc[cat, "selected"]) == (n, x)
        assert round(sex.loc[cat, "rate"] * 100) == rate_pct
        assert round(sex.loc[cat, "impact_ratio"], len(str(ratio).split(".")[1])) == ratio
    inter = block(t, "sex × race")
    assert len(inter) == 14
    for s, r, n, x, rate_pct, ratio in DCWP_SELECTION_INTERSECTIONAL:
        row = inter.loc[f"{s} × {r}"]
        assert (row["count"], row["selected"]) == (n, x)
        assert round(row["rate"] * 100, 1) == rate_pct, (s, r)
        assert round(row["impact_ratio"], 3) == ratio, (s, r)
        assert bool(row["adverse"]) is (ratio < 0.8)
        assert row["reference"] == "Male × White"
    # the only adverse cell: Female Native American or Alaska Native, 7/17 → 0.789; one more selection fixes it
    assert inter["adverse"].astype(bool).sum() == 1
    assert inter.loc["Female × Native American or Alaska Native", "flip"] == 1
    assert "不显著" in inter.loc["Female × Native American or Alaska Native", "note"]  # 7 of 17: Fisher p = 0.46
    # 250 unknowns: reported for every attribute, never a category
    unknown_rows = t[t["is_unknown"]]
    assert unknown_rows["category"].tolist() == [UNKNOWN_LABEL] * 3
    assert set(t["unknown_count"]) == {250}
    assert unknown_rows["count"].tolist() == [250, 250, 250]
    assert unknown_rows["impact_ratio"].isna().all() and unknown_rows["p_value"].isna().all()


def test_dcwp_selection_example_race_table_from_published_rows():
    df = expand([r[:3] for r in DCWP_SELECTION_RACE], ["race"])
    t = block(impact_table(df, by="race", selected="selected", min_share=0), "race")
    for cat, n, x, rate_pct, ratio in DCWP_SELECTION_RACE:
        assert round(t.loc[cat, "rate"] * 100) == rate_pct, cat
        assert round(t.loc[cat, "impact_ratio"], 2) == ratio, cat
    assert not t["adverse"].astype(bool).any()


def test_dcwp_selection_example_hispanic_race_row_does_not_add_up(dcwp_selection):
    # fairness.md: the published race row 408/204 (IR 0.97) ≠ the intersectional rows 205+190 / 90+82.
    t = block(impact_table(dcwp_selection, by="race", selected="selected", min_share=0), "race")
    assert (t.loc["Hispanic or Latino", "count"], t.loc["Hispanic or Latino", "selected"]) == (395, 172)
    assert round(t.loc["Hispanic or Latino", "impact_ratio"], 2) == 0.84  # the published 0.97 is not reproducible
    # every other race row reconciles with the published race table
    for cat, n, x, _, ratio in DCWP_SELECTION_RACE[1:]:
        assert (t.loc[cat, "count"], t.loc[cat, "selected"]) == (n, x)
        assert round(t.loc[cat, "impact_ratio"], 2) == ratio


def test_dcwp_selection_example_with_default_two_percent_exclusion(dcwp_selection):
    t = impact_table(dcwp_selection, by=["sex", "race"], selected="selected")  # min_share=0.02
    race = block(t, "race")
    aian = race.loc["Native American or Alaska Native"]  # 41 of 2 571 known = 1.59 %
    assert bool(aian["excluded"]) and aian["count"] == 41 and aian["rate"] == pytest.approx(18 / 41)
    assert pd.isna(aian["impact_ratio"]) and pd.isna(aian["adverse"]) and pd.isna(aian["p_value"]) and pd.isna(aian["flip"])
    assert "2%" in aian["note"]
    inter = block(t, "sex × race")
    excluded = set(inter.index[inter["excluded"]])
    # 17, 24 and 32 applicants are under 2 % of 2 571; 87 (3.4 %) is not
    assert excluded == {
        "Female × Native American or Alaska Native",
        "Male × Native American or Alaska Native",
        "Female × Native Hawaiian or Pacific Islander",
    }
    assert inter.loc["Male × Native Hawaiian or Pacific Islander", "impact_ratio"] == pytest.approx(0.815, abs=5e-4)


# ------------------------------------------------------------------------------------------------------------
# NYC DCWP final rule, scoring-rate example ("Culture Fit AEDT")
# ------------------------------------------------------------------------------------------------------------

# (sex, race, applicants, printed scoring rate %, printed impact ratio); the scored-above-median counts follow
# from rate × applicants and are whole numbers in every cell.
DCWP_SCORING_INTERSECTIONAL = [
    ("Male", "Hispanic or Latino", 16, 75, 1.00),
    ("Female", "Hispanic or Latino", 12, 50, 0.67),
    ("Male", "White", 20, 35, 0.47),
    ("Male", "Black or African American", 20, 50, 0.67),
    ("Male", "Native Hawaiian or Pacific Islander", 4, 75, 1.00),
    ("Male", "Asian", 12, 58.3, 0.78),
    ("Male", "Native American or Alaska Native", 8, 62.5, 0.83),
    ("Male", "Two or More Races", 12, 50, 0.67),
    ("Female", "White", 20, 40, 0.53),
    ("Female", "Black or African American", 12, 50, 0.67),
    ("Female", "Native Hawaiian or Pacific Islander", 4, 50, 0.67),
    ("Female", "Asian", 12, 25, 0.33),
    ("Female", "Native American or Alaska Native", 8, 62.5, 0.83),
    ("Female", "Two or More Races", 8, 50, 0.67),
]
DCWP_SCORING_SEX = [("Male", 92, 54.3, 1.00), ("Female", 76, 44.7, 0.82)]
DCWP_SCORING_RACE = [
    ("Hispanic or Latino", 28, 64.2, 1.00),  # 18/28 = 64.29 %: the rule prints 64.2 (truncated, not rounded)
    ("White", 40, 37.5, 0.58),
    ("Black or African American", 32, 50.0, 0.78),
    ("Native Hawaiian or Pacific Islander", 8, 62.5, 0.97),
    ("Asian", 24, 41.7, 0.65),
    ("Native American or Alaska Native", 16, 62.5, 0.97),
    ("Two or More Races", 20, 50.0, 0.78),
]


@pytest.fixture(scope="module")
def dcwp_scoring():
    """168 scored applicants plus 15 of unknown sex/race; integer scores with many ties at the median (50)."""
    rng = np.random.default_rng(11)
    rows = []
    for sex, race, n, rate, _ in DCWP_SCORING_INTERSECTIONAL:
        above = round(n * rate / 100)
        assert above == pytest.approx(n * rate / 100, abs=0.05)
        for i in range(n):
            score = int(rng.integers(51, 100)) if i < above else int(rng.choice([50, 50, 50, int(rng.integers(1, 50))]))
            rows.append({"sex": sex, "race": race, "score": score})
    # 15 unknowns: 7 above the median, 8 at or below it, so the full-sample median is still 50
    for i in range(15):
        rows.append({"sex": UNKNOWN_SPELLINGS[i % 6], "race": UNKNOWN_SPELLINGS[(i + 1) % 6], "score": 80 if i < 7 else 50})
    return pd.DataFrame(rows).sample(frac=1, random_state=5).reset_index(drop=True)


def test_dcwp_scoring_example_all_three_tables(dcwp_scoring):
    t = impact_table(dcwp_scoring, by=["sex", "race"], score="score")
    assert t.attrs["mode"] == "scoring" and t.attrs["median"] == 50.0
    assert t.attrs["n_ties_at_median"] > 40  # ties at the median are many and all count as "not above"
    assert not t["excluded"].any()  # the smallest cell (4 of 168 = 2.4 %) is above the 2 % line
    sex = block(t, "sex")
    for cat, n, rate_pct, ratio in DCWP_SCORING_SEX:
        assert sex.loc[cat, "count"] == n
        assert round(sex.loc[cat, "rate"] * 100, 1) == rate_pct
        assert round(sex.loc[cat, "impact_ratio"], 2) == ratio
    race = block(t, "race")
    for cat, n, rate_pct, ratio in DCWP_SCORING_RACE:
        assert race.loc[cat, "count"] == n
        assert abs(race.loc[cat, "rate"] * 100 - rate_pct) < 0.1, cat
        assert round(race.loc[cat, "impact_ratio"], 2) == ratio, cat
    inter = block(t, "sex × race")
    for s, r, n, rate_pct, ratio in DCWP_SCORING_INTERSECTIONAL:
        row = inter.loc[f"{s} × {r}"]
        assert row["count"] == n
        assert round(row["rate"] * 100, 1) == rate_pct
        assert round(row["impact_ratio"], 2) == ratio, (s, r)
    # two cells share the top rate (75 %); the larger one is the reference, both have ratio 1
    assert inter["reference"].iloc[0] == "Male × Hispanic or Latino"
    assert inter.loc["Male × Native Hawaiian or Pacific Islander", "impact_ratio"] == 1.0
    assert set(t.loc[t["is_unknown"], "count"]) == {15}  # "15 individuals with an unknown sex or race/ethnicity"
    assert t.loc[t["is_unknown"], "ties_at_median"].tolist() == [8, 8, 8]


def test_scoring_rate_ties_at_median_fixture_f8():
    a = [5, 5, 4, 4, 3, 3, 3, 2, 2, 1]
    b = [5, 4, 3, 3, 3, 3, 3, 2, 1, 1]
    df = pd.DataFrame({"group": ["A"] * 10 + ["B"] * 10, "score": a + b})
    t = impact_table(df, by="group", score="score")
    g = block(t, "group")
    assert t.attrs["median"] == 3
    assert g.loc["A", "rate"] == pytest.approx(0.4) and g.loc["B", "rate"] == pytest.approx(0.2)
    assert g.loc["B", "impact_ratio"] == pytest.approx(0.5)  # "≥ median" would give 0.7 / 0.7 = 1.0
    assert g.loc["A", "ties_at_median"] == 3 and g.loc["B", "ties_at_median"] == 5
    assert t.attrs["n_ties_at_median"] == 8


def test_scoring_median_uses_full_sample_including_unknowns():
    # known rows alone have median 2.5; with the unknown rows (all scoring 10) the full-sample median is 5.5
    df = pd.DataFrame({"g": ["a", "a", "b", "b", None, None], "s": [1, 4, 2, 3, 10, 10]})
    df = pd.concat([df, pd.DataFrame({"g": [None, None], "s": [10, 10]})], ignore_index=True)
    t = impact_table(df, by="g", score="s", min_share=0)
    assert t.attrs["median"] == 7.0
    assert block(t, "g")["selected"].sum() == 0  # nobody known is above 7
    assert t.loc[t["is_unknown"], "selected"].item() == 4


# ------------------------------------------------------------------------------------------------------------
# fairlearn cross-checks and pitfalls (fixture F11)
# ------------------------------------------------------------------------------------------------------------


def test_impact_ratios_agree_with_fairlearn(dcwp_selection):
    from fairlearn.metrics import MetricFrame, demographic_parity_ratio, selection_rate

    known = dcwp_selection.dropna()
    known = known[~known["sex"].str.strip().str.casefold().isin(["", "未知", "unknown"])]
    t = impact_table(dcwp_selection, by=["sex", "race"], selected="selected", min_share=0)
    for cols, attribute in ((["sex"], "sex"), (["race"], "race"), (["sex", "race"], "sex × race")):
        y = known["selected"].to_numpy()
        sf = known[cols]
        mf = MetricFrame(metrics=selection_rate, y_true=y, y_pred=y, sensitive_features=sf)
        ours = block(t, attribute)["impact_ratio"]
        theirs = mf.by_group / mf.group_max()
        theirs.index = [" × ".join(map(str, i)) if isinstance(i, tuple) else i for i in theirs.index]
        pd.testing.assert_series_equal(ours.sort_index(), theirs.sort_index(), check_names=False, rtol=1e-12)
        # fairlearn's ratio() / demographic_parity_ratio is only the smallest impact ratio (min/max)
        assert demographic_parity_ratio(y, y, sensitive_features=sf) == pytest.approx(ours.min(), rel=1e-12)
    assert demographic_parity_ratio(y, y, sensitive_features=known[["sex", "race"]]) == pytest.approx(7 / 17 / (215 / 412))


def test_continuous_scores_passed_as_selected_are_rejected_not_silently_zero():
    from fairlearn.metrics import demographic_parity_difference

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"g": rng.choice(["a", "b"], 200), "s": rng.random(200)})
    # the pitfall: fairlearn counts y_pred == 1 and silently reports no disparity at all
    assert demographic_parity_difference(df["s"], df["s"], sensitive_features=df["g"]) == 0.0
    with pytest.raises(DataError, match=r"'s'.*score="):
        impact_table(df, by="g", selected="s")


def test_fairlearn_refuses_missing_sensitive_values_we_count_them():
    from fairlearn.metrics import MetricFrame, selection_rate

    df = pd.DataFrame({"g": ["a", "b", np.nan, "a", "b", "未知"], "y": [1, 0, 1, 1, 1, 0]})
    with pytest.raises(ValueError):
        MetricFrame(metrics=selection_rate, y_true=df["y"], y_pred=df["y"], sensitive_features=df["g"])
    t = impact_table(df, by="g", selected="y", min_share=0)
    assert t["unknown_count"].unique().tolist() == [2]
    assert block(t, "g").index.tolist() == ["a", "b"]


# ------------------------------------------------------------------------------------------------------------
# four-fifths boundary, exclusion, zero selections, flip, intersections (fixture F5)
# ------------------------------------------------------------------------------------------------------------


def test_four_fifths_boundary_is_exact_not_floating_point():
    assert (3 / 5) / (6 / 8) < 0.8  # the float trap the implementation must avoid
    df = expand([("x", 5, 3), ("ref", 8, 6)], ["g"])
    t = block(impact_table(df, by="g", selected="selected", min_share=0), "g")
    assert t.loc["x", "impact_ratio"] == 0.8
    assert bool(t.loc["x", "adverse"]) is False and t.loc["x", "flip"] == 0
    df = expand([("x", 1000, 599), ("ref", 1000, 750)], ["g"])
    t = block(impact_table(df, by="g", selected="selected"), "g")
    assert bool(t.loc["x", "adverse"]) is True and t.loc["x", "flip"] == 1


def test_adverse_matches_exact_rational_comparison_on_a_grid():
    rng = np.random.default_rng(4)
    for _ in range(150):
        n1, n2 = (int(v) for v in rng.integers(1, 40, 2))
        x1, x2 = int(rng.integers(0, n1 + 1)), int(rng.integers(1, n2 + 1))
        if Fraction(x1, n1) > Fraction(x2, n2):
            x1, n1, x2, n2 = x2, n2, x1, n1
        if x2 == 0:
            continue
        df = expand([("x", n1, x1), ("r", n2, x2)], ["g"])
        t = block(impact_table(df, by="g", selected="selected", min_share=0), "g")
        ref = t["reference"].iloc[0]
        other = "x" if ref == "r" else "r"
        xo, no = (x1, n1) if other == "x" else (x2, n2)
        xr, nr = (x2, n2) if other == "x" else (x1, n1)
        exact = Fraction(xo, no) / Fraction(xr, nr)
        assert bool(t.loc[other, "adverse"]) is (exact < Fraction(4, 5))
        flip = int(t.loc[other, "flip"])
        assert Fraction(xo + flip, no) / Fraction(xr, nr) >= Fraction(4, 5)
        if flip > 0:
            assert Fraction(xo + flip - 1, no) / Fraction(xr, nr) < Fraction(4, 5)
        assert bool(t.loc[other, "flip_possible"]) is True  # with the reference fixed, 4/5 is always reachable


def test_category_with_zero_selected():
    df = expand([("甲", 30, 0), ("乙", 30, 10), ("丙", 40, 20)], ["g"])
    t = block(impact_table(df, by="g", selected="selected"), "g")
    assert t.loc["甲", "impact_ratio"] == 0.0 and bool(t.loc["甲", "adverse"]) is True
    assert t.loc["甲", "flip"] == 12  # 4/5 × 50 % × 30 = 12
    assert t.loc["甲", "p_value"] == pytest.approx(fisher_exact([[0, 30], [20, 20]]).pvalue)
    assert t.loc["乙", "flip"] == 2  # 10/30 → 12/30 = 40 % = 0.8 × 50 %
    assert "12" in t.loc["甲", "note"]


def test_zero_selected_overall_gives_undefined_ratios_with_note():
    df = expand([("a", 20, 0), ("b", 30, 0)], ["g"])
    t = impact_table(df, by="g", selected="selected")
    g = block(t, "g")
    assert (g["rate"] == 0).all()
    assert g["impact_ratio"].isna().all() and g["adverse"].isna().all() and g["flip"].isna().all()
    assert g["note"].str.contains("无定义").all()
    # scoring mode: all scores equal → nobody strictly above the median
    s = impact_table(pd.DataFrame({"g": ["a", "b"] * 5, "s": [3.0] * 10}), by="g", score="s")
    assert block(s, "g")["impact_ratio"].isna().all() and s.attrs["n_ties_at_median"] == 10


def test_two_percent_exclusion_boundary_and_reference_choice():
    # "tiny" has the highest rate but is < 2 % → excluded, so it must not become the reference
    df = expand([("tiny", 1, 1), ("a", 49, 20), ("b", 50, 10)], ["g"])
    t = block(impact_table(df, by="g", selected="selected"), "g")
    assert bool(t.loc["tiny", "excluded"]) and t.loc["tiny", "rate"] == 1.0 and t.loc["tiny", "count"] == 1
    assert t["reference"].iloc[0] == "a"
    assert t.loc["b", "impact_ratio"] == pytest.approx((10 / 50) / (20 / 49))
    # exactly 2 % is not "less than 2 %"
    df = expand([("two", 2, 1), ("a", 49, 20), ("b", 49, 10)], ["g"])
    t = block(impact_table(df, by="g", selected="selected"), "g")
    assert not t["excluded"].any()
    assert t.loc["two", "share"] == pytest.approx(0.02)
    # the share is taken over rows with a known value: unknowns do not dilute it
    df = pd.concat([expand([("one", 1, 1), ("a", 30, 10), ("b", 19, 5)], ["g"]), expand([(None, 50, 10)], ["g"])])
    t = block(impact_table(df, by="g", selected="selected"), "g")
    assert t.loc["one", "share"] == pytest.approx(1 / 50) and not t.loc["one", "excluded"]


def test_unknowns_counted_but_never_a_category():
    df = pd.DataFrame(
        {
            "gender": ["男", "女", "未知", None, "", "unknown", " UNKNOWN ", "男", "女", "不详"],
            "selected": [1, 0, 1, 1, 0, 0, 1, 1, 1, 0],
        }
    )
    t = impact_table(df, by="gender", selected="selected", min_share=0)
    g = block(t, "gender")
    assert g.index.tolist() == ["不详", "女", "男"]
    unknown = t[t["is_unknown"]].iloc[0]
    assert unknown["count"] == 5 and unknown["selected"] == 3 and unknown["rate"] == pytest.approx(0.6)
    assert (t["unknown_count"] == 5).all()
    # custom spelling list
    t2 = impact_table(df, by="gender", selected="selected", min_share=0, unknown_values=("未知", "不详", ""))
    assert block(t2, "gender").index.tolist() == ["UNKNOWN", "unknown", "女", "男"]  # now ordinary categories
    assert t2[t2["is_unknown"]]["count"].item() == 4  # None is always unknown


def test_intersection_labels_and_unknown_union():
    df = pd.DataFrame(
        {
            "gender": ["女", "女", "男", "男", "女", "男", None, "男"],
            "hukou_type": ["农村", "城镇", "农村", "城镇", "农村", "城镇", "农村", "未知"],
            "selected": [0, 1, 1, 1, 1, 0, 1, 1],
        }
    )
    t = impact_table(df, by=["gender", "hukou_type"], selected="selected", min_share=0)
    assert t["attribute"].unique().tolist() == ["gender", "hukou_type", "gender × hukou_type"]
    inter = block(t, "gender × hukou_type")
    assert inter.index.tolist() == ["女 × 农村", "女 × 城镇", "男 × 农村", "男 × 城镇"]
    assert inter.loc["女 × 农村", "count"] == 2 and inter.loc["女 × 农村", "selected"] == 1
    unknown_counts = t.groupby("attribute", sort=False)["unknown_count"].first().to_dict()
    assert unknown_counts == {"gender": 1, "hukou_type": 1, "gender × hukou_type": 2}


def test_p_adjust_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    df = expand([("a", 60, 30), ("b", 60, 20), ("c", 60, 12), ("d", 60, 28)], ["g"])
    t = impact_table(df, by="g", selected="selected", p_adjust="holm")
    mask = t["p_value"].notna()
    expected = multipletests(t.loc[mask, "p_value"], method="holm")[1]
    np.testing.assert_allclose(t.loc[mask, "p_adjusted"], expected)
    assert t.loc[~mask, "p_adjusted"].isna().all()
    assert "p_adjusted" not in impact_table(df, by="g", selected="selected").columns


def test_boolean_and_categorical_inputs():
    df = pd.DataFrame(
        {
            "band": pd.Categorical(["青年", "中年", "青年", "中年", "老年", "老年"], categories=["青年", "中年", "老年"]),
            "ok": [True, False, True, True, False, True],
        }
    )
    t = impact_table(df, by="band", selected="ok", min_share=0)
    assert block(t, "band").index.tolist() == ["青年", "中年", "老年"]  # categorical order kept


# ------------------------------------------------------------------------------------------------------------
# bad input: every error names the column
# ------------------------------------------------------------------------------------------------------------


def test_bad_inputs_raise_naming_the_column():
    df = pd.DataFrame({"gender": ["男", "女", "男", "女"], "sel": [1, 0, 1, 1], "score": [1.5, 2.0, 3.0, 4.0]})
    with pytest.raises(DataError, match="'hukou'"):
        impact_table(df, by=["gender", "hukou"], selected="sel")
    with pytest.raises(DataError, match="'gender'.*unknown"):
        impact_table(df.assign(gender=["未知", None, "", "unknown"]), by="gender", selected="sel")
    with pytest.raises(DataError, match="'gender'.*single known category"):
        impact_table(df.assign(gender=["男", "男", None, "男"]), by="gender", selected="sel")
    with pytest.raises(DataError, match="'score'.*numeric"):
        impact_table(df.assign(score=["高", "低", "高", "中"]), by="gender", score="score")
    with pytest.raises(DataError, match="'score'.*numeric"):
        impact_table(df.assign(score=[True, False, True, True]), by="gender", score="score")
    with pytest.raises(DataError, match="'score'"):
        impact_table(df, by="gender", selected="score")  # continuous values as a decision
    with pytest.raises(DataError, match="'sel'.*0/1"):
        impact_table(df.assign(sel=[0, 1, 2, 1]), by="gender", selected="sel")
    with pytest.raises(DataError, match="'sel'.*0/1"):
        impact_table(df.assign(sel=["是", "否", "是", "否"]), by="gender", selected="sel")
    with pytest.raises(DataError, match="'sel'.*missing"):
        impact_table(df.assign(sel=[1, None, 0, 1]), by="gender", selected="sel")
    with pytest.raises(DataError, match="'nope'"):
        impact_table(df, by="gender", selected="nope")
    with pytest.raises(DataError, match="empty"):
        impact_table(df.iloc[:0], by="gender", selected="sel")
    with pytest.raises(ConfigurationError, match="exactly one"):
        impact_table(df, by="gender", selected="sel", score="score")
    with pytest.raises(ConfigurationError, match="exactly one"):
        impact_table(df, by="gender")
    with pytest.raises(ConfigurationError, match="min_share"):
        impact_table(df, by="gender", selected="sel", min_share=2)
    with pytest.raises(ConfigurationError, match="p_adjust"):
        impact_table(df, by="gender", selected="sel", p_adjust="magic")


# ------------------------------------------------------------------------------------------------------------
# significance tests
# ------------------------------------------------------------------------------------------------------------


def test_two_proportion_z_by_hand():
    res = two_proportion_z(48, 80, 12, 40)
    pooled = 60 / 120
    se = math.sqrt(pooled * (1 - pooled) * (1 / 80 + 1 / 40))
    assert res["se"] == pytest.approx(se)
    assert res["z"] == pytest.approx(0.3 / se)  # = 3.0988…
    assert res["z"] == pytest.approx(3.0984, abs=1e-3)
    assert res["p_value"] == pytest.approx(2 * norm.sf(0.3 / se))
    assert two_proportion_z(0, 10, 0, 20)["p_value"] == 1.0
    with pytest.raises(DataError):
        two_proportion_z(5, 0, 1, 2)


def test_chi2_test_with_and_without_yates_by_hand():
    table = np.array([[48, 32], [12, 28]])
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    plain = ((table - expected) ** 2 / expected).sum()
    yates = ((np.abs(table - expected) - 0.5) ** 2 / expected).sum()
    r0 = chi2_test(table, correction=False)
    r1 = chi2_test(pd.DataFrame(table), correction=True)
    assert r0["chi2"] == pytest.approx(plain) and r0["p_value"] == pytest.approx(chi2_dist.sf(plain, 1))
    assert r1["chi2"] == pytest.approx(yates) and r1["correction"] is True
    assert r0["dof"] == 1 and r0["min_expected"] == pytest.approx(expected.min())
    k = chi2_test([[10, 20], [15, 15], [30, 5]])
    assert k["dof"] == 2 and k["correction"] is False
    with pytest.raises(DataError):
        chi2_test([[0, 0], [1, 2]])


def _strata_frame(tables, labels=("focal", "ref")):
    rows = []
    for k, ((a, b), (c, d)) in enumerate(tables):
        for grp, sel_n, not_n in ((labels[0], a, b), (labels[1], c, d)):
            rows += [{"site": f"s{k}", "group": grp, "sel": 1}] * sel_n
            rows += [{"site": f"s{k}", "group": grp, "sel": 0}] * not_n
    return pd.DataFrame(rows)


def _cmh_by_hand(tables, correction=True):
    num = den = var = dev = 0.0
    for (a, b), (c, d) in tables:
        n = a + b + c + d
        r1, c1 = a + b, a + c
        num += a * d / n
        den += b * c / n
        dev += a - r1 * c1 / n
        var += r1 * (c + d) * c1 * (b + d) / (n**2 * (n - 1))
    stat = (abs(dev) - (0.5 if correction else 0)) ** 2 / var
    return num / den, stat


def _breslow_day_by_hand(tables, psi):
    bd = dev = var_sum = 0.0
    for (a, b), (c, d) in tables:
        n, r1, c1 = a + b + c + d, a + b, a + c
        # solve e(n - r1 - c1 + e) = psi (r1 - e)(c1 - e) for e in the admissible range
        roots = np.roots([1 - psi, n - r1 - c1 + psi * (r1 + c1), -psi * r1 * c1])
        lo, hi = max(0, r1 + c1 - n), min(r1, c1)
        (e,) = [r.real for r in roots if lo - 1e-9 <= r.real <= hi + 1e-9]
        v = 1 / (1 / e + 1 / (r1 - e) + 1 / (c1 - e) + 1 / (n - r1 - c1 + e))
        bd += (a - e) ** 2 / v
        dev += a - e
        var_sum += v
    return bd, bd - dev**2 / var_sum


def test_cmh_rabbits_agresti_1990_as_in_r_mantelhaen_test():
    # R: mantelhaen.test(Rabbits) → Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747
    # rows: penicillin given immediately ("None" delay) vs 1.5 h later; columns: cured, died
    rabbits = [((0, 6), (0, 5)), ((3, 3), (0, 6)), ((6, 0), (2, 4)), ((5, 1), (6, 0)), ((2, 0), (5, 0))]
    df = _strata_frame(rabbits, labels=("None", "1.5h"))
    res = cmh_test(df, group="group", selected="sel", strata="site", focal="None", reference="1.5h")
    assert res["chi2"] == pytest.approx(3.9286, abs=5e-5)
    assert res["p_value"] == pytest.approx(0.04747, abs=5e-6)
    odds, stat = _cmh_by_hand(rabbits)
    assert res["odds_ratio"] == pytest.approx(odds) and odds == 7.0  # (1.5 + 2) / 0.5
    assert res["chi2"] == pytest.approx(stat)
    uncorrected = cmh_test(df, group="group", selected="sel", strata="site", focal="None", reference="1.5h", correction=False)
    assert uncorrected["chi2"] == pytest.approx(_cmh_by_hand(rabbits, correction=False)[1])
    # strata 1 (nobody cured) and 5 (nobody died) have a zero margin → left out of Breslow–Day only
    assert res["n_strata"] == 5 and res["breslow_day_df"] == 2
    bd, tarone = _breslow_day_by_hand([rabbits[1], rabbits[2], rabbits[3]], res["odds_ratio"])
    assert res["breslow_day_chi2"] == pytest.approx(bd, rel=1e-6)
    assert res["breslow_day_tarone_chi2"] == pytest.approx(tarone, rel=1e-6)


def test_cmh_and_breslow_day_mussels_mcdonald_handbook():
    # McDonald & Siebenaller (1989), Lap94 allele, marine vs estuarine, four Oregon estuaries.
    # Handbook of Biological Statistics: chi2_MH = 5.05, 1 d.f., P = 0.025; Breslow–Day chi2 = 0.53, 3 d.f., P = 0.91.
    mussels = [((56, 40), (69, 77)), ((61, 57), (257, 301)), ((73, 71), (65, 79)), ((71, 55), (48, 48))]
    df = _strata_frame(mussels, labels=("marine", "estuarine"))
    res = cmh_test(df, group="group", selected="sel", strata="site", focal="marine", reference="estuarine")
    assert round(res["chi2"], 2) == 5.05 and round(res["p_value"], 3) == 0.025
    odds, stat = _cmh_by_hand(mussels)
    assert res["odds_ratio"] == pytest.approx(odds) and res["chi2"] == pytest.approx(stat)
    bd, tarone = _breslow_day_by_hand(mussels, odds)
    assert res["breslow_day_chi2"] == pytest.approx(bd, rel=1e-6)
    assert res["breslow_day_tarone_chi2"] == pytest.approx(tarone, rel=1e-6)
    assert round(res["breslow_day_chi2"], 2) == 0.53 and round(res["breslow_day_p"], 2) == 0.91
    assert res["breslow_day_p"] == pytest.approx(chi2_dist.sf(bd, 3), rel=1e-6)
    assert res["breslow_day_df"] == 3 and res["note"] == ""


def test_cmh_detects_heterogeneous_strata_and_drops_uninformative_ones():
    opposite = [((40, 10), (10, 40)), ((10, 40), (40, 10))]  # odds ratios 16 and 1/16
    df = _strata_frame(opposite)
    df = pd.concat([df, pd.DataFrame({"site": ["only_focal"] * 3, "group": ["focal"] * 3, "sel": [1, 0, 1]})])
    res = cmh_test(df, group="group", selected="sel", strata="site", focal="focal", reference="ref")
    assert res["odds_ratio"] == pytest.approx(1.0)
    assert res["breslow_day_tarone_p"] < 1e-6 and "Breslow" in res["note"]
    assert res["strata_dropped"] == ["only_focal"] and res["n_strata"] == 2
    with pytest.raises(DataError, match="'group'"):
        cmh_test(df, group="group", selected="sel", strata="site", focal="nobody", reference="ref")


def test_breslow_day_agrees_with_statsmodels_on_random_tables():
    from statsmodels.stats.contingency_tables import StratifiedTable

    rng = np.random.default_rng(9)
    for _ in range(10):
        tables = [tuple(map(tuple, rng.integers(1, 60, (2, 2)))) for _ in range(int(rng.integers(2, 6)))]
        res = cmh_test(_strata_frame(tables), group="group", selected="sel", strata="site", focal="focal", reference="ref")
        st = StratifiedTable([np.array(t, dtype=float) for t in tables])
        assert res["odds_ratio"] == pytest.approx(st.oddsratio_pooled)
        assert res["chi2"] == pytest.approx(st.test_null_odds(correction=True).statistic)
        assert res["breslow_day_chi2"] == pytest.approx(st.test_equal_odds(adjust=False).statistic, rel=1e-8)
        assert res["breslow_day_tarone_chi2"] == pytest.approx(st.test_equal_odds(adjust=True).statistic, rel=1e-8)


def test_adjust_pvalues_keeps_nan_and_index():
    p = pd.Series([0.01, np.nan, 0.04, 0.03], index=list("abcd"))
    holm = adjust_pvalues(p, method="holm")
    assert holm.index.tolist() == list("abcd") and np.isnan(holm["b"])
    np.testing.assert_allclose(holm[["a", "c", "d"]], [0.03, 0.06, 0.06])
    bh = adjust_pvalues(np.array([0.01, 0.04, 0.03]), method="fdr_bh")
    np.testing.assert_allclose(bh, [0.03, 0.04, 0.04])
    with pytest.raises(ConfigurationError):
        adjust_pvalues([0.1], method="nope")


def test_bootstrap_intervals_are_deterministic_and_sensible():
    rng = np.random.default_rng(2)
    n = 300
    df = pd.DataFrame({"gender": rng.choice(["男", "女"], n), "hukou": rng.choice(["城镇", "农村", "未知"], n, p=[0.5, 0.45, 0.05])})
    df["sel"] = (rng.random(n) < np.where(df["hukou"] == "农村", 0.3, 0.5)).astype(int)
    a = bootstrap_intervals(df, by=["gender", "hukou"], selected="sel", n_boot=25, random_state=7)
    b = bootstrap_intervals(df, by=["gender", "hukou"], selected="sel", n_boot=25, random_state=7)
    pd.testing.assert_frame_equal(a, b)
    c = bootstrap_intervals(df, by="hukou", selected="sel", n_boot=25, random_state=8)
    assert not np.allclose(c["ratio_ci_low"].fillna(0), a[a["attribute"] == "hukou"]["ratio_ci_low"].fillna(0).to_numpy())
    assert a["attribute"].unique().tolist() == ["gender", "hukou", "gender × hukou"]
    assert ((a["rate_ci_low"] <= a["rate"] + 1e-12) & (a["rate"] <= a["rate_ci_high"] + 1e-12)).all()
    hk = a[a["attribute"] == "hukou"].set_index("category")
    assert hk.loc["农村", "ratio_ci_low"] < hk.loc["农村", "impact_ratio"] < hk.loc["农村", "ratio_ci_high"]
    assert 0 <= hk.loc["农村", "boot_share_adverse"] <= 1
    t = block(impact_table(df, by="hukou", selected="sel"), "hukou")
    assert hk.loc["农村", "impact_ratio"] == pytest.approx(t.loc["农村", "impact_ratio"])
    with pytest.raises(ConfigurationError):
        bootstrap_intervals(df, by="hukou", selected="sel", n_boot=5)


# ------------------------------------------------------------------------------------------------------------
# score-level views
# ------------------------------------------------------------------------------------------------------------


def test_group_score_gaps_smd_by_hand():
    a = np.array([3.0, 4.0, 5.0, 4.0, 3.5, 4.5])
    b = np.array([2.0, 3.0, 3.5, 2.5, 3.0])
    df = pd.DataFrame({"g": ["a"] * len(a) + ["b"] * len(b) + [None], "s": np.concatenate([a, b, [9.0]])})
    res = group_score_gaps(df, by="g", score="s", n_boot=200).set_index("category")
    assert res["reference"].iloc[0] == "a"  # largest category by default
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    assert res.loc["b", "smd"] == pytest.approx((b.mean() - a.mean()) / pooled)
    assert res.loc["b", "sd"] == pytest.approx(b.std(ddof=1)) and res.loc["b", "n"] == 5
    assert res.loc["b", "smd_ci_low"] < res.loc["b", "smd"] < res.loc["b", "smd_ci_high"]
    assert res.loc["a", "smd"] == 0 and (res["unknown_count"] == 1).all()
    again = group_score_gaps(df, by="g", score="s", n_boot=200).set_index("category")
    pd.testing.assert_frame_equal(res, again)
    other = group_score_gaps(df, by="g", score="s", reference="b", n_boot=200).set_index("category")
    assert other.loc["a", "smd"] == pytest.approx(-res.loc["b", "smd"])
    with pytest.raises(ConfigurationError, match="'c'"):
        group_score_gaps(df, by="g", score="s", reference="c", n_boot=200)


def _rater_frame(machine_gap, n=400, seed=0):
    rng = np.random.default_rng(seed)
    g = np.repeat(["城镇", "农村"], n)
    human = rng.normal(3.0, 0.6, 2 * n) - 0.5 * (g == "农村")
    machine = human + rng.normal(0, 0.1, 2 * n) + (0.5 - machine_gap) * (g == "农村")
    return pd.DataFrame({"hukou": g, "human": human, "machine": machine})


def test_scorer_vs_human_effect_labels():
    narrowed = scorer_vs_human(_rater_frame(0.1), by="hukou", machine="machine", human="human", reference="城镇", n_boot=200)
    row = narrowed.set_index("category").loc["农村"]
    assert row["effect"] == EFFECT_NARROWED == "narrowed"
    assert row["human_smd"] < -0.6 and -0.3 < row["machine_smd"] < 0
    assert row["mean_diff"] == pytest.approx(0.4, abs=0.05)
    assert row["diff_ci_low"] < row["mean_diff"] < row["diff_ci_high"]
    widened = scorer_vs_human(_rater_frame(1.2), by="hukou", machine="machine", human="human", reference="城镇", n_boot=200)
    assert widened.set_index("category").loc["农村", "effect"] == EFFECT_WIDENED == "widened"
    same = scorer_vs_human(_rater_frame(0.5), by="hukou", machine="machine", human="human", reference="城镇", n_boot=200)
    row = same.set_index("category").loc["农村"]
    # the machine adds a little noise, so its gap in SD units is slightly (and "significantly") smaller: below the
    # practical threshold of 0.1 SD this is no change; with min_change=0 it would count
    assert row["gap_change_ci_high"] < 0 and -0.1 < row["gap_change"] < 0
    assert row["effect"] == EFFECT_NONE == "no_change"
    strict = scorer_vs_human(_rater_frame(0.5), by="hukou", machine="machine", human="human", reference="城镇", n_boot=200, min_change=0)
    assert strict.set_index("category").loc["农村", "effect"] == EFFECT_NARROWED
    assert same.set_index("category").loc["城镇", "note"] == "reference"
    again = scorer_vs_human(_rater_frame(0.5), by="hukou", machine="machine", human="human", reference="城镇", n_boot=200)
    pd.testing.assert_frame_equal(same, again)


def test_score_distribution_figure_has_chinese_labels_without_tofu():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.reports import missing_glyphs

    df = _rater_frame(0.5, n=100)
    df.loc[:4, "hukou"] = "未知"
    fig = score_distribution_figure(df, by="hukou", score="machine")
    ax = fig.axes[0]
    texts = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.get_legend().get_texts()]
    assert "分数分布" in ax.get_title() and "5" in ax.get_title() and ax.get_ylabel() == "密度"
    assert any("农村" in t for t in texts) and not any("未知" in t.get_text() for t in ax.get_legend().get_texts())
    assert missing_glyphs("".join(texts)) == []
    plt.close(fig)
    fig_en = score_distribution_figure(df, by="hukou", score="machine", lang="en")
    assert fig_en.axes[0].get_ylabel() == "Density"
    plt.close(fig_en)


def test_rate_intervals_agree_with_fairlearns_bootstrap():
    """The vectorised row bootstrap of the rate intervals resamples as fairlearn's MetricFrame(n_boot=...) does;
    with 400 replicates each the two sets of 95 % bounds agree to within Monte Carlo error."""
    from fairlearn.metrics import MetricFrame, selection_rate

    from workbench.fairness._tests import bootstrap_intervals

    rng = np.random.default_rng(5)
    g = rng.choice(["甲", "乙", "丙"], size=3000, p=[0.6, 0.3, 0.1])
    y = (rng.random(3000) < np.select([g == "甲", g == "乙"], [0.3, 0.2], 0.1)).astype(int)
    ours = bootstrap_intervals(pd.DataFrame({"g": g, "y": y}), by="g", selected="y", n_boot=400, random_state=1).set_index("category")
    mf = MetricFrame(metrics={"rate": selection_rate}, y_true=y, y_pred=y, sensitive_features=pd.Series(g, name="g"), n_boot=400,
                     ci_quantiles=[0.025, 0.975], random_state=1)
    for cat in ("甲", "乙", "丙"):
        assert ours.loc[cat, "rate_ci_low"] == pytest.approx(mf.by_group_ci[0]["rate"][cat], abs=0.012)
        assert ours.loc[cat, "rate_ci_high"] == pytest.approx(mf.by_group_ci[-1]["rate"][cat], abs=0.012)
        assert ours.loc[cat, "rate_ci_low"] < ours.loc[cat, "rate"] < ours.loc[cat, "rate_ci_high"]
