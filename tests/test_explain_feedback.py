"""Candidate feedback (WeCom-sized, JSON-ready, from the reviewed phrase bank) and the proxy check for protected
attributes (dialect words a biased cohort's raters marked down are found, flagged and removable by masking)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from workbench.errors import ConfigurationError
from workbench.explain import candidate_feedback, explain_answers, load_phrase_bank, protected_terms, proxy_check
from workbench.explain._feedback import utf8_len
from workbench.intake import resolve_sources, run_intake
from workbench.scoring import AnswerScorer
from workbench.scoring import answer_dataset

SOUTHWEST = ("巴适", "要得", "晓得", "啥子", "安逸", "莫得", "摆龙门阵", "撇脱", "耍一下", "雄起")
# words a message to a candidate must never contain: protected attributes and model internals
FORBIDDEN = ("性别", "男", "女", "年龄", "岁", "地域", "地区", "方言", "口音", "籍贯", "户口", "民族", "婚", "孕", "生育", "健康", "残",
             "模型", "特征", "权重", "算法", "系数", "SHAP", "shap", "n-gram", "gender", "age", "dialect", "accent", "region", "ethnic",
             "marri", "pregnan", "disab", "model", "feature", "weight", "algorithm")


def mentions(text: str, word: str) -> bool:
    """Chinese words anywhere; English words (and prefixes such as "marri") at a word start ("average" is not "age")."""
    return bool(re.search(rf"\b{re.escape(word)}", text, re.I)) if word.isascii() else word in text


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from workbench.synth import generate_cohort, scenario_config

    out = tmp_path_factory.mktemp("feedback") / "biased"
    generate_cohort(scenario_config("biased", seed=9, n_candidates=300, employees_per_role=5), out, fmt="parquet")
    data, _ = answer_dataset(run_intake(resolve_sources(out)).tables)
    return data


@pytest.fixture(scope="module")
def scored(cohort):
    answers = cohort[["answer", "competency"]]
    scorer = AnswerScorer(alpha=1.0).fit(answers, cohort["human"], rating_scale=(1, 5))
    ex = explain_answers(scorer, cohort[["answer", "competency", "candidate_id", "answer_id"]], background=answers)
    return scorer, ex


def candidate_scores(cohort: pd.DataFrame, ex) -> pd.DataFrame:
    """0–100 per dimension: the mean machine score of the candidate's answers in it (the stage weights them; the
    mean is enough here)."""
    from workbench.competency import load_dictionary

    dims = {c: comp.dimension for c, comp in load_dictionary().competencies.items()}
    frame = cohort[["candidate_id", "role_id", "competency"]].assign(score=(ex.scores - 1) / 4 * 100, dimension=cohort["competency"].map(dims))
    wide = frame.pivot_table(index=["candidate_id", "role_id"], columns="dimension", values="score", aggfunc="mean")
    return wide.add_prefix("machine_").reset_index()


# ------------------------------------------------------------------------------------------------------------
# the phrase bank
# ------------------------------------------------------------------------------------------------------------
def test_phrase_bank_follows_its_review_rules():
    bank = load_phrase_bank()
    assert len(bank.phrases) >= 10 and bank.fallback == "keep_going"
    terms = [w for w in protected_terms()["term"] if len(w) >= 2]
    known_triggers = {"bei:" + n for n in ("first_person_actions", "quantified", "situation", "task", "action_steps", "result", "reflection",
                                           "hedges", "generic_claims", "domain_terms", "star_complete")}
    known_triggers |= {"evidence:" + n for n in ("pos_affirmed", "pos_negated", "neg_affirmed", "neg_negated", "evidence_net")} | {"relevant:n_relevant"}
    for code, phrase in bank.phrases.items():
        assert re.fullmatch(r"[a-z_]+", code)
        assert 0 < len(phrase.text["zh"]) <= 60 and 0 < len(phrase.text["en"]) <= 200
        assert re.search(r"[\u4e00-\u9fff]", phrase.text["zh"]) and phrase.text["en"].isascii()
        for text in phrase.text.values():
            assert not any(mentions(text, w) for w in FORBIDDEN), (code, text)
            assert not any(term in text for term in terms), (code, text)
            assert not re.search(r"\d", text)
        assert set(phrase.triggers) <= known_triggers, code
        assert set(phrase.dimensions) <= {"professional", "general", "culture"}
    # every trigger a suggestion can come from is covered in every dimension
    for trigger in known_triggers:
        for dim in ("professional", "general", "culture"):
            assert bank.for_trigger(trigger, dim), (trigger, dim)


def test_unreviewed_bank_is_refused(tmp_path):
    path = tmp_path / "phrases.yaml"
    path.write_text("version: 1\nreview: {status: draft}\nphrases: {}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="approved"):
        load_phrase_bank(path)
    path.write_text("version: 1\nreview: {status: approved}\nphrases:\n  a: {zh: 中文, en: x, status: draft, triggers: [bei:result]}\n", encoding="utf-8")
    assert load_phrase_bank(path).phrases == {}


# ------------------------------------------------------------------------------------------------------------
# feedback
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_feedback_is_structured_short_and_fair(cohort, scored, lang):
    _, ex = scored
    scores = candidate_scores(cohort, ex)
    fb = candidate_feedback(ex, scores, lang=lang)
    assert len(fb) == cohort["candidate_id"].nunique()
    records = json.loads(fb.to_json())  # JSON-ready
    assert records == fb.records
    bank = load_phrase_bank()
    role_means = scores.groupby("role_id")[["machine_professional", "machine_general", "machine_culture"]].mean()
    terms = [w for w in protected_terms()["term"] if len(w) >= 2]
    answers_by_candidate = cohort.groupby("candidate_id")["answer"].apply(list)
    for record in records:
        assert {d["dimension"] for d in record["dimensions"]} == {"professional", "general", "culture"}
        for d in record["dimensions"]:
            assert utf8_len(d["message"]) == d["message_bytes"] <= 500
            assert isinstance(d["score"], int) and isinstance(d["role_mean"], int) and 0 <= d["score"] <= 100
            assert d["role_mean"] == round(role_means.at[record["role_id"], f"machine_{d['dimension']}"])
            assert 1 <= len(d["suggestions"]) <= 2
            for s in d["suggestions"]:
                assert s["text"] == bank.phrases[s["code"]].text[lang] and s["text"] in d["message"]
            if d["evidence"]:  # a quotation of the candidate's own words, without protected terms
                quote = d["evidence"].rstrip("…")
                assert any(quote in a for a in answers_by_candidate[record["candidate_id"]])
                assert not any(term in d["evidence"] for term in terms)
                assert not re.search(r"\d{6,}", d["evidence"])
            numbers = re.findall(r"\d+", re.sub(r"“[^”]*”", "", d["message"]))  # outside the quotation: the two scores only
            assert numbers == [str(d["score"]), str(d["role_mean"])]
            outside = re.sub(r"“[^”]*”", "", d["message"])
            assert not any(mentions(outside, w) for w in FORBIDDEN if w not in ("男", "女", "岁", "残", "婚", "孕"))
    frame = fb.to_frame()
    assert len(frame) == 3 * len(records) and frame["suggestion_codes"].str.len().gt(0).all()


def test_feedback_respects_a_byte_limit_and_is_deterministic(cohort, scored):
    _, ex = scored
    scores = candidate_scores(cohort, ex)
    tight = candidate_feedback(ex, scores, max_bytes=200)
    assert max(d["message_bytes"] for r in tight.records for d in r["dimensions"]) <= 200
    assert candidate_feedback(ex, scores).records == candidate_feedback(ex, scores).records
    with pytest.raises(ValueError, match="too small"):
        candidate_feedback(ex, scores, max_bytes=20)


def test_evidence_collected_while_explaining_gives_the_same_feedback(cohort, scored):
    """Stage 04 explains every answer and collects the feedback's quotations and cues from the same attributions
    (``on_batch``): the records, the explanations' top attributions and rests equal those of the separate passes."""
    from workbench.explain import FeedbackEvidence

    scorer, ex = scored
    scores = candidate_scores(cohort, ex)
    frame = cohort[["answer", "competency", "candidate_id", "answer_id"]]
    evidence = FeedbackEvidence(len(frame))
    shared = explain_answers(scorer, frame, background=cohort[["answer", "competency"]], on_batch=evidence, batch_size=150)
    assert evidence.rows_seen == len(frame)
    pd.testing.assert_frame_equal(shared.top, ex.top)
    np.testing.assert_allclose(shared.rest, ex.rest, atol=1e-12)
    assert candidate_feedback(shared, scores, evidence=evidence).records == candidate_feedback(ex, scores).records
    with pytest.raises(ValueError, match="FeedbackEvidence"):
        candidate_feedback(ex, scores, evidence=FeedbackEvidence(len(frame) - 1))


def test_suggestions_follow_what_lowered_the_score(cohort, scored):
    """The first suggestion comes from the cue that lowered the candidate's score in that dimension the most."""
    from workbench.competency import load_dictionary

    _, ex = scored
    dims = {c: comp.dimension for c, comp in load_dictionary().competencies.items()}
    scores = candidate_scores(cohort, ex)
    fb = candidate_feedback(ex, scores)
    bank = load_phrase_bank()
    checked = 0
    for record in fb.records[:40]:
        rows = np.flatnonzero(ex.answers["candidate_id"].to_numpy() == record["candidate_id"])
        cues = pd.concat([ex.attributions(int(r)).assign(dimension=dims[ex.answers["competency"].iat[int(r)]]) for r in rows])
        cues = cues[(cues["kind"] == "dense") & (cues["value"] < 0)]
        for d in record["dimensions"]:
            mine = cues[cues["dimension"] == d["dimension"]]
            totals = mine.groupby(mine["group"] + ":" + mine["feature"])["value"].sum().sort_values(kind="stable")
            if totals.empty or totals.iloc[0] > -0.01:
                assert [s["code"] for s in d["suggestions"]] == ["keep_going"]
                continue
            assert d["suggestions"][0]["code"] == bank.for_trigger(totals.index[0], d["dimension"])
            checked += 1
    assert checked >= 30


def test_quotation_never_carries_a_protected_term(scored):
    scorer, _ = scored
    answers = pd.DataFrame({
        "answer": ["我晓得这个流程，我先核实了客户身份并双人复核，最后按规定上报主管。", "作为女生我很细心，我先核实了客户身份并双人复核。"],
        "competency": ["compliance", "compliance"], "candidate_id": ["X1", "X2"],
    })
    ex = explain_answers(scorer, answers, background=np.zeros(len(scorer.pipeline_.named_steps["model"].coef_)))
    scores = pd.DataFrame({"candidate_id": ["X1", "X2"], "role_id": ["teller", "teller"], "machine_culture": [70.0, 60.0]})
    fb = candidate_feedback(ex, scores)
    for record in fb.records:
        for d in record["dimensions"]:
            assert "晓得" not in d["message"] and "女生" not in d["message"]


# ------------------------------------------------------------------------------------------------------------
# proxy check
# ------------------------------------------------------------------------------------------------------------
def test_protected_term_list():
    terms = protected_terms()
    by = dict(zip(terms["term"], terms["category"]))
    assert by["巴适"] == "dialect" and by["女生"] == "gender" and by["怀孕"] == "family" and by["汉族"] == "ethnicity"
    assert by["武汉"] == "place" and by["武汉市"] == "place" and by["四川"] == "place"
    assert "平原" not in by and "太阳" not in by  # jieba tags them ns; the exclusion list removes them
    assert terms["term"].is_unique


def test_proxy_check_finds_the_planted_dialect_proxy_and_masking_removes_it(cohort, scored):
    scorer, ex = scored
    check = proxy_check(ex)
    flagged = set(check.flagged["term"])
    assert len(flagged & set(SOUTHWEST)) >= 4, check.terms.head(15)
    assert set(check.flagged["category"]) <= {"dialect", "gender", "family", "ethnicity", "health", "age", "place"}
    southwest = check.terms[check.terms["term"].isin(SOUTHWEST)]
    assert (southwest["mean_value"] < 0).mean() >= 0.8  # the biased raters marked these answers down, and the model learnt it
    mask = check.mask_terms()
    assert set(mask) == flagged and list(mask) == sorted(mask, key=lambda w: (-len(w), w))
    # the fairness stage's mitigation: retrain with the flagged terms masked — they then carry no weight at all
    answers = cohort[["answer", "competency"]]
    masked = AnswerScorer(alpha=1.0, mask_terms=mask).fit(answers, cohort["human"], rating_scale=(1, 5))
    after = proxy_check(explain_answers(masked, answers, background=answers))
    again = after.terms[after.terms["term"].isin(mask)]
    assert (again["mean_abs_value"] == 0).all() and not set(after.flagged["term"]) & set(mask)


def test_proxy_check_on_a_fair_cohort_flags_no_dialect(tmp_path_factory):
    from workbench.synth import generate_cohort, scenario_config

    out = tmp_path_factory.mktemp("fair") / "fair"
    generate_cohort(scenario_config("fair", seed=9, n_candidates=200, employees_per_role=5), out, fmt="parquet")
    data, _ = answer_dataset(run_intake(resolve_sources(out)).tables)
    answers = data[["answer", "competency"]]
    scorer = AnswerScorer(alpha=1.0).fit(answers, data["human"], rating_scale=(1, 5))
    check = proxy_check(explain_answers(scorer, answers, background=answers))
    assert not (check.flagged["category"] == "dialect").any()
