"""The audit stage's decisions, verdicts and reviewer report (no personal data, suppression, offline, codes in the
data and the catalog's text in the report)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from cli_support import run_cli

from markupsafe import escape  # what the report templates escape with
from workbench.decisions import DecisionRule, make_decisions
from workbench.fairness import append_audit_record
from workbench.i18n import t
from workbench.fairness.audit import OUTCOMES, VERDICT_FLAG, VERDICT_OK, add_region, advance_decision, decision_outcomes, run_audit
from workbench.stages import export as export_stage
from workbench.stages import fairness as fairness_stage

ATTRS = ["gender", "hukou_type", "region"]


def _cohort(n=2000, female_penalty=0.0, seed=0):
    rng = np.random.default_rng(seed)
    cands = pd.DataFrame({
        "candidate_id": [f"C{i:05d}" for i in range(n)],
        "name": [f"王䶮{i}" for i in range(n)],
        "gender": rng.choice(["男", "女", None], n, p=[0.48, 0.49, 0.03]),
        "hukou_type": rng.choice(["城镇", "农村"], n, p=[0.7, 0.3]),
        "home_province": rng.choice(["四川", "广东", "北京", "江苏"], n),
        "site": rng.choice(["北京分行", "上海分行", "成都分行"], n),
    })
    score = rng.normal(60, 10, n) - female_penalty * 10 * (cands["gender"] == "女").to_numpy()
    scores = pd.DataFrame({"candidate_id": cands["candidate_id"], "role_id": rng.choice(["teller", "retail_rm"], n),
                           "machine_overall": score, "human_overall": score + rng.normal(0, 3, n),
                           "machine_professional": score + rng.normal(0, 5, n)})
    return cands, scores


def test_advance_is_top_share_per_role():
    _, scores = _cohort()
    adv = advance_decision(scores, top_share=0.2)
    for role, g in scores.assign(adv=adv).groupby("role_id"):
        assert g["adv"].sum() == int(np.ceil(0.2 * len(g)))
        assert g.loc[g["adv"] == 1, "machine_overall"].min() >= g.loc[g["adv"] == 0, "machine_overall"].max()


def _verdict(result, outcome, attribute):
    return result.verdicts.set_index(["outcome", "attribute"]).loc[(outcome, attribute), "verdict"]


def test_planted_gap_is_flagged_and_fair_data_is_not():
    cands, scores = _cohort(female_penalty=0.4)
    biased = run_audit(cands, scores, attributes=ATTRS, n_boot=30)
    # both the machine's own selection and the recorded outcome show the planted gap
    assert _verdict(biased, "machine_advance", "gender") == VERDICT_FLAG
    assert _verdict(biased, "advance", "gender") == VERDICT_FLAG
    assert biased.overall_verdict == VERDICT_FLAG == biased.record()["overall_verdict"]
    assert biased.record()["verdicts"]["advance|gender"] == VERDICT_FLAG
    cands, scores = _cohort(female_penalty=0.0, seed=1)
    fair = run_audit(cands, scores, attributes=ATTRS, n_boot=30)
    assert _verdict(fair, "machine_advance", "gender") != VERDICT_FLAG
    assert _verdict(fair, "advance", "gender") != VERDICT_FLAG


def test_report_has_no_personal_data_and_suppresses_small_cells():
    cands, scores = _cohort(n=600)
    cands.loc[:3, "hukou_type"] = "其他"  # a four-person category
    result = run_audit(cands, scores, attributes=ATTRS, n_boot=20, suppress_below=5, intersections=[["gender", "hukou_type"]])
    html = result.to_html()
    assert "王䶮" not in html and "C00001" not in html
    assert "<script" not in html and "http" not in html.split("</style>", 1)[1]
    assert "&lt;5" in html  # the tiny cell is suppressed
    assert "五分之四规则" in html and "内部基准" in html
    assert "gender × hukou_type" in set(result.selection["attribute"])
    english = result.to_html(lang="en")
    assert "Benchmark" in english
    assert set(result.selection["outcome"]) == set(OUTCOMES)  # machine alone, recorded advance, human review


def test_missing_attribute_is_a_named_error():
    cands, scores = _cohort(n=100)
    with pytest.raises(Exception, match="ethnicity"):
        run_audit(cands, scores, attributes=["ethnicity"], n_boot=10)


def test_region_grouping():
    assert add_region(pd.DataFrame({"home_province": ["四川", "广东", None]}))["region"].tolist() == ["西南", "华南", None]


def test_cli_verify_detects_tampering(tmp_path):
    log = tmp_path / "audit.jsonl"
    for i in range(3):
        append_audit_record(log, {"run_id": f"r{i}", "verdict": VERDICT_OK})
    ok = run_cli("audit", "verify", str(log))  # `python -m workbench audit verify LOG`, in this process
    assert ok.returncode == 0 and "3" in ok.stdout
    lines = log.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("r1", "rX")
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = run_cli("audit", "verify", str(log))
    assert bad.returncode == 1 and "2" in bad.stderr


# ---------------------------------------------------------------------------------------------- one decision rule
def _routed_inputs(n=400, seed=3):
    """Candidates (some asking for a person), scores with dimensions, and per-answer scores with the scorer's routing."""
    cands, scores = _cohort(n=n, female_penalty=0.2, seed=seed)
    rng = np.random.default_rng(seed)
    cands["human_review_requested"] = rng.choice(np.array(["是", "否", None], dtype=object), n, p=[0.03, 0.9, 0.07])
    for dim in ("general", "culture"):
        scores[f"machine_{dim}"] = scores["machine_overall"] + rng.normal(0, 5, n)
    answers = pd.DataFrame({"candidate_id": np.repeat(scores["candidate_id"].to_numpy(), 3),
                            "answer_id": [f"A{i:06d}" for i in range(3 * n)],
                            "role_id": np.repeat(scores["role_id"].to_numpy(), 3), "competency": np.tile(["c1", "c2", "c3"], n),
                            "machine": rng.uniform(1, 5, 3 * n)})
    routed = rng.random(len(answers)) < 0.03
    answers["route"] = np.where(routed, "human", "machine")
    answers["advisories"] = ["too_short" if r else "" for r in routed]
    # the best candidate of each role has an answer routed to a person
    best = set(scores.sort_values("machine_overall", ascending=False).groupby("role_id")["candidate_id"].first())
    first_answer = answers["candidate_id"].isin(best) & ~answers["candidate_id"].duplicated()
    answers.loc[first_answer, "route"] = "human"
    answers.loc[first_answer, "advisories"] = "off_topic"
    return cands, scores, answers, best


@pytest.mark.parametrize("params", [{}, {"advance_top_share": 0.3, "borderline_points": 1.0}, {"cut_score": 62.0, "borderline_points": 0.0}])
def test_audit_decides_exactly_like_the_export_stage(params):
    cands, scores, answers, _ = _routed_inputs()
    p05, p06 = fairness_stage.Params(**params), export_stage.Params(**params)
    for name in ("advance_top_share", "cut_score", "borderline_points"):  # same names, same defaults
        assert getattr(fairness_stage.Params(), name) == getattr(export_stage.Params(), name)
    rule = fairness_stage.decision_rule(p05)
    assert rule == DecisionRule.from_params(advance_top_share=p06.advance_top_share, cut_score=p06.cut_score, borderline_points=p06.borderline_points)
    exported = make_decisions(scores, answers, candidates=cands, rule=rule).candidates.set_index("candidate_id")
    result = run_audit(cands, scores, attributes=ATTRS, rule=rule, answer_scores=answers, n_boot=20)
    audited = result.decisions.set_index("candidate_id").loc[exported.index]
    assert audited["decision"].tolist() == exported["decision"].tolist()
    assert audited["advance"].tolist() == (exported["decision"] == "advance").astype(int).tolist()
    assert audited["human_review"].tolist() == (exported["decision"] == "human_review").astype(int).tolist()
    assert audited["machine_advance"].tolist() == exported["machine_advance"].astype(int).tolist()
    assert 0 < audited["human_review"].sum() < len(audited)
    # and the impact tables count the same people
    gender = cands.set_index("candidate_id")["gender"].loc[exported.index]
    for outcome, mask in (("advance", exported["decision"] == "advance"), ("human_review", exported["decision"] == "human_review"),
                          ("machine_advance", exported["machine_advance"] == 1)):
        table = result.selection[(result.selection["outcome"] == outcome) & (result.selection["attribute"] == "gender")].set_index("category")
        for category in ("男", "女"):
            assert table.loc[category, "selected"] == int((mask & (gender == category)).sum())


def test_a_routed_answer_is_never_a_machine_only_advance():
    cands, scores, answers, best = _routed_inputs()
    routed = set(answers.loc[answers["route"] == "human", "candidate_id"])
    out = decision_outcomes(scores, rule=DecisionRule(top_share=0.2), answer_scores=answers, candidates=cands).set_index("candidate_id")
    assert best <= routed
    assert (out.loc[sorted(best), "machine_advance"] == 1).all()  # the machine alone would advance them ...
    assert (out.loc[sorted(routed), "advance"] == 0).all()  # ... but a routed candidate is never a machine-only advance
    assert (out.loc[sorted(routed), "human_review"] == 1).all()
    assert all("answer_routed_to_human" in r for r in out.loc[sorted(routed), "review_reasons"])
    result = run_audit(cands, scores, attributes=["gender"], answer_scores=answers, n_boot=20)
    adv = result.selection[(result.selection["outcome"] == "advance") & (result.selection["attribute"] == "gender")]
    machine = result.selection[(result.selection["outcome"] == "machine_advance") & (result.selection["attribute"] == "gender")]
    assert adv["selected"].sum() == int(out["advance"].sum()) < machine["selected"].sum()
    assert not (set(result.decisions.loc[result.decisions["advance"] == 1, "candidate_id"]) & routed)


def test_advance_decision_keeps_working_for_existing_callers():
    _, scores = _cohort(n=300)
    rule_based = decision_outcomes(scores, rule=DecisionRule(top_share=0.2, borderline_points=0))
    assert rule_based["machine_advance"].tolist() == advance_decision(scores, top_share=0.2).tolist()


# ------------------------------------------------------------------------------------------ codes, not sentences
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def test_english_report_has_no_chinese_outside_the_data_and_both_languages_agree():
    cands, scores, answers, _ = _routed_inputs(n=500)
    cands.loc[:2, "hukou_type"] = "其他"  # a suppressed category still shows its name
    runs = {lang: run_audit(cands, scores, attributes=ATTRS, intersections=[["gender", "hukou_type"]], answer_scores=answers, n_boot=20, lang=lang)
            for lang in ("zh", "en")}
    zh, en = runs["zh"], runs["en"]
    # the same numbers and codes whatever the language
    assert zh.metrics() == en.metrics()
    pd.testing.assert_frame_equal(zh.selection, en.selection)
    assert {k: v for k, v in zh.record().items() if k != "parameters"} == {k: v for k, v in en.record().items() if k != "parameters"}
    assert all(not CJK.search(str(v)) for v in zh.metrics().values() if isinstance(v, str))  # verdicts are codes
    html = en.to_html(lang="en")
    data_values = {str(v) for col in ATTRS for v in add_region(cands)[col].dropna()}
    stripped = html
    for value in sorted(data_values, key=len, reverse=True):
        stripped = stripped.replace(value, "")
    leftover = sorted(set(CJK.findall(stripped)))
    assert not leftover, f"Chinese outside the data in the English report: {leftover}"
    for heading in ("fairness.h.outcome.machine_advance", "fairness.h.outcome.advance", "fairness.h.outcome.human_review"):  # the three outcomes
        assert escape(t(heading, "en")) in html and escape(t(heading, "zh")) in zh.to_html(lang="zh")
    chinese = zh.to_html(lang="zh")
    assert "转人工复核" in chinese and "五分之四规则" in chinese
    # every section and table is there in both languages
    assert html.count("<h3>") == chinese.count("<h3>") and html.count("<table") == chinese.count("<table")
