"""Decisions: ranking, the advance rule (shared with the fairness audit), human review, talent pool, role
suggestions, funnel alerts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from export_support import equal_weight_model, make_cohort, scored_tables

from workbench.competency import load_dictionary
from workbench.decisions import (
    DecisionRule,
    advance,
    alert_message,
    answer_routing,
    decide,
    load_rules,
    make_decisions,
    rank_candidates,
    role_suggestions,
    talent_pool_tags,
)
from workbench.errors import ConfigurationError, DataError
from workbench.fairness.audit import advance_decision


def _legacy_advance_decision(scores, *, score="machine_overall", top_share=0.2, by="role_id"):
    """The fairness stage's rule before it delegated to workbench.decisions (kept here as the reference)."""
    ordered = scores.sort_values([by, score, "candidate_id"], ascending=[True, False, True], kind="stable")
    rank = ordered.groupby(by).cumcount()
    size = ordered.groupby(by)[score].transform("size")
    selected = (rank < np.ceil(top_share * size)).astype(int)
    return selected.reindex(scores.index)


def _scores(n=200, seed=0, roles=("teller", "retail_rm", "risk_manager"), ties=False):
    rng = np.random.default_rng(seed)
    overall = rng.normal(60, 12, n).clip(0, 100)
    if ties:
        overall = np.round(overall / 5) * 5  # many equal scores, also across the cut
    return pd.DataFrame({
        "candidate_id": [f"C{i:05d}" for i in rng.permutation(n)],
        "role_id": rng.choice(roles, n),
        "machine_professional": rng.uniform(0, 100, n), "machine_general": rng.uniform(0, 100, n), "machine_culture": rng.uniform(0, 100, n),
        "machine_overall": overall.round(2),
    })


@pytest.mark.parametrize("seed,ties,share", [(0, False, 0.2), (1, True, 0.2), (2, True, 0.15), (3, False, 0.35)])
def test_fairness_audit_uses_the_same_rule_with_identical_results(seed, ties, share):
    scores = _scores(seed=seed, ties=ties)
    expected = _legacy_advance_decision(scores, top_share=share)
    assert advance(scores, rule=DecisionRule(top_share=share)).tolist() == expected.tolist()
    assert advance_decision(scores, top_share=share).tolist() == expected.tolist()


def test_top_share_is_exact_per_role_and_candidates_without_score_never_advance():
    scores = _scores(n=103)
    scores.loc[scores.index[:4], "machine_overall"] = np.nan
    selected = advance(scores, rule=DecisionRule(top_share=0.2))
    for role, g in scores.assign(sel=selected).groupby("role_id"):
        scored = g["machine_overall"].notna().sum()
        assert g["sel"].sum() == int(np.ceil(0.2 * scored))
        assert g.loc[g["machine_overall"].isna(), "sel"].sum() == 0
        assert g.loc[g["sel"] == 1, "machine_overall"].min() >= g.loc[(g["sel"] == 0) & g["machine_overall"].notna(), "machine_overall"].max()


def test_cut_score_mode_advances_everyone_at_or_above_the_cut():
    scores = _scores()
    selected = advance(scores, rule=DecisionRule(cut_score=65))
    assert (selected == (scores["machine_overall"] >= 65).astype(int)).all()


def test_rank_and_percentile_share_ties_and_count_only_scored():
    scores = pd.DataFrame({"candidate_id": list("abcde"), "role_id": ["r"] * 5, "machine_overall": [90, 80, 80, 70, np.nan]})
    r = rank_candidates(scores)
    assert r["rank"].tolist()[:4] == [1, 2, 2, 4] and pd.isna(r["rank"].iloc[4])
    assert r["population_size"].tolist() == [4] * 5
    assert r["percentile"].tolist()[:4] == [87.5, 50.0, 50.0, 12.5]


def test_borderline_band_routed_answers_and_review_requests_go_to_a_human():
    scores = _scores(n=300, seed=5)
    answer_scores = pd.DataFrame({
        "candidate_id": np.repeat(scores["candidate_id"].to_numpy(), 2),
        "route": ["human" if i in (0, 1, 40) else "machine" for i in range(600)],
        "advisories": [["off_topic"] if i == 40 else ("too_short;repeated" if i == 0 else None) for i in range(600)],
    })
    requested = [scores["candidate_id"].iloc[7]]
    rule = DecisionRule(top_share=0.2, borderline_points=3)
    out = decide(scores, rule=rule, answer_scores=answer_scores, review_requested=requested)
    routed = set(answer_scores.loc[answer_scores["route"] == "human", "candidate_id"])
    # every candidate with a human-routed answer or a request is never decided by the machine alone
    flagged = out[out["candidate_id"].isin(routed | set(requested))]
    assert (flagged["decision"] == "human_review").all() and (flagged["decided_by"] == "human").all()
    assert "candidate_requested_review" in out.set_index("candidate_id").at[requested[0], "review_reasons"]
    assert out.set_index("candidate_id").at[scores["candidate_id"].iloc[0], "advisories"] == ("repeated", "too_short")
    # the band: within 3 points of the cut → human review, recommendation "borderline"
    band = out[(out["distance_to_cut"].abs() <= 3)]
    assert len(band) > 0 and (band["decision"] == "human_review").all() and (band["recommendation"] == "borderline").all()
    machine = out[out["decided_by"] == "machine"]
    assert set(machine["decision"]) == {"advance", "reject"}
    assert (machine.loc[machine["decision"] == "advance", "hiring_stage"] == "awaiting_hr_interview").all()
    assert (machine.loc[machine["decision"] == "reject", "hiring_stage"] == "rejected").all()
    assert (out.loc[out["decision"] == "human_review", "hiring_stage"] == "human_review").all()


def test_a_tie_across_the_cut_is_not_broken_by_the_machine():
    scores = pd.DataFrame({"candidate_id": [f"c{i}" for i in range(10)], "role_id": ["teller"] * 10,
                           "machine_overall": [90, 80, 70, 70, 60, 50, 40, 30, 20, 10],
                           "machine_professional": 50.0, "machine_general": 50.0, "machine_culture": 50.0})
    out = decide(scores, rule=DecisionRule(top_share=0.3, borderline_points=0)).set_index("candidate_id")
    # ceil(0.3 × 10) = 3: c2 is selected by id order, c3 has the same score and is not — both go to a person
    assert out.loc["c2", "decision"] == out.loc["c3", "decision"] == "human_review"
    assert "tie_at_cut" in out.loc["c3", "review_reasons"]
    assert out.loc["c0", "decision"] == "advance" and out.loc["c9", "decision"] == "reject"


def test_route_without_column_uses_advisories_and_bad_route_is_an_error():
    a = pd.DataFrame({"candidate_id": ["a", "a", "b"], "advisories": ["", "gaming_suspected", None]})
    r = answer_routing(a).set_index("candidate_id")
    assert r.at["a", "answers_routed_to_human"] == 1 and r.at["b", "answers_routed_to_human"] == 0
    with pytest.raises(DataError, match="route must be"):
        answer_routing(pd.DataFrame({"candidate_id": ["a"], "route": ["maybe"]}))


def test_rule_configuration_errors_say_what_is_allowed():
    with pytest.raises(ConfigurationError, match="top_share"):
        DecisionRule(top_share=1.5)
    with pytest.raises(ConfigurationError, match="cut_score"):
        DecisionRule(cut_score=120)
    with pytest.raises(DataError, match="more than once"):
        advance(pd.concat([_scores(n=5)] * 2))


def test_talent_pool_tags_follow_their_rule():
    rules = load_rules()
    n = 50
    scores = pd.DataFrame({"candidate_id": [f"c{i}" for i in range(n)], "role_id": "teller",
                           "machine_professional": np.linspace(10, 95, n), "machine_general": 50.0,
                           "machine_culture": np.linspace(95, 10, n), "machine_overall": 50.0})
    tags = talent_pool_tags(scores, rules=rules)
    tagged = tags[tags["tag"] == "pro_high_culture_low"]
    assert len(tagged) > 0
    assert tagged["rule"].iloc[0] == "professional>=p70&>=60;culture<=p30"
    merged = tagged.merge(scores, on="candidate_id")
    assert (merged["percentile_professional"] >= 70).all() and (merged["machine_professional"] >= 60).all()
    assert (merged["percentile_culture"] <= 30).all()
    # the opposite profile gets the opposite tag, never this one
    assert "c0" not in set(tagged["candidate_id"])
    assert "culture_high_pro_low" in set(tags.loc[tags["candidate_id"] == "c0", "tag"])


def test_role_suggestions_name_roles_that_need_the_strength():
    dictionary = load_dictionary()
    # retail_rm candidates; c0 has an outstanding learning_agility (学习能力)
    rows = []
    for i in range(20):
        for comp in ("learning_agility", "communication"):
            score = 95.0 if (i == 0 and comp == "learning_agility") else 40.0 + i
            rows.append({"candidate_id": f"c{i}", "role_id": "retail_rm", "competency": comp, "score": score, "n_answers": 1})
    comps = pd.DataFrame(rows)
    from workbench.decisions import within_role_percentile

    comps["percentile"] = within_role_percentile(comps["score"], comps["role_id"] + comps["competency"])
    decisions = pd.DataFrame({"candidate_id": [f"c{i}" for i in range(20)], "decision": "reject"})
    out = role_suggestions(comps, decisions, dictionary=dictionary, competency_model=equal_weight_model(dictionary))
    mine = out[out["candidate_id"] == "c0"]
    assert len(mine) == 2 and mine["rank"].tolist() == [1, 2]
    for role in mine["suggested_role_id"]:
        assert role != "retail_rm" and "learning_agility" in dictionary.roles[role].competency_ids
    assert all("learning_agility" in c for c in mine["competencies"])
    # a candidate who advances in the role they applied for gets none
    decisions.loc[0, "decision"] = "advance"
    assert "c0" not in set(role_suggestions(comps, decisions, dictionary=dictionary)["candidate_id"])


@pytest.fixture(scope="module")
def cohort_tables(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("decisions"))


def test_make_decisions_on_a_real_intake_cohort(cohort_tables):
    tables = scored_tables(cohort_tables)
    d = make_decisions(tables.candidate_scores, tables.answer_scores, candidates=tables.candidates, dictionary=tables.dictionary,
                       competency_model=tables.competency_model)
    assert len(d.candidates) == len(tables.candidate_scores)
    assert set(d.candidates["decision"]) <= {"advance", "reject", "human_review"}
    summary = d.summary()
    assert summary["candidates"].sum() == len(tables.candidate_scores)
    assert (summary["advance"] + summary["reject"] + summary["human_review"] == summary["candidates"]).all()
    f = d.funnel
    assert set(f["level"]) == {"role", "role_batch"}
    role_level = f[(f["level"] == "role") & (f["step"] == "assessed")].set_index("role_id")["count"]
    assert role_level.sum() == d.candidates["score"].notna().sum()
    html = d._repr_html_()
    assert "<table>" in html and "通过率" in html


def test_low_pass_rate_alert_names_what_to_review(cohort_tables):
    tables = scored_tables(cohort_tables)
    rule = DecisionRule(top_share=0.2, pass_mark=95)  # nobody reaches 95: every large enough role alerts
    d = make_decisions(tables.candidate_scores, tables.answer_scores, candidates=tables.candidates, dictionary=tables.dictionary, rule=rule,
                       min_population=10)
    assert len(d.alerts) > 0
    alert = d.alerts.iloc[0]
    assert alert["code"] == "low_pass_rate" and alert["rate"] < 0.3 and set(alert["review"]) == {"requirements", "questions", "cut"}
    assert len(alert["weakest_competencies"]) == 2
    message = alert_message(alert.to_dict(), "zh", dictionary=tables.dictionary)
    assert "岗位要求" in message and "面试题目" in message and "及格线" in message
    assert tables.dictionary.competencies[alert["weakest_competencies"][0]].name in message
    english = alert_message(alert.to_dict(), "en", dictionary=tables.dictionary)
    assert "role requirements" in english and tables.dictionary.roles[alert["role_id"]].name_en in english
    # small groups are flagged, never alerted
    small = d.funnel[(d.funnel["step"] == "passed") & d.funnel["small_sample"]]
    assert not set(zip(small["role_id"], small["batch"])) & set(zip(d.alerts["role_id"], d.alerts["batch"]))
    # a generous pass mark: no alerts
    easy = make_decisions(tables.candidate_scores, tables.answer_scores, candidates=tables.candidates, dictionary=tables.dictionary,
                          rule=DecisionRule(pass_mark=0))
    assert len(easy.alerts) == 0


def test_charts_have_chinese_labels_the_font_can_draw(cohort_tables):
    import matplotlib

    matplotlib.use("Agg")
    from workbench.decisions import decision_figure, funnel_figure, talent_pool_figure
    from workbench.reports.plotting import missing_glyphs

    tables = scored_tables(cohort_tables)
    d = make_decisions(tables.candidate_scores, tables.answer_scores, candidates=tables.candidates, dictionary=tables.dictionary,
                       rule=DecisionRule(pass_mark=70))
    for make in (funnel_figure, talent_pool_figure, decision_figure):
        fig = make(d)
        texts = [t.get_text() for ax in fig.axes for t in (ax.get_yticklabels() + ax.get_xticklabels() + [ax.title])]
        texts += [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        joined = "".join(texts)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in joined), make.__name__
        assert missing_glyphs(joined.replace("⚠", "")) == [], make.__name__
        fig.clf()
    english = funnel_figure(d, lang="en")
    assert "Hiring funnel" in english.axes[0].get_title()
