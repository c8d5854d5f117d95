"""Gaming probes (workbench.bench.make_gaming_probes), shared by the vendor benchmark and the workbench's own scorer."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.bench import PROBE_COLUMNS, PROBE_KINDS, make_gaming_probes, probe_outcomes
from workbench.competency import load_dictionary
from workbench.errors import DataError


@pytest.fixture(scope="module")
def inputs():
    d = load_dictionary()
    questions = pd.DataFrame({
        "question_id": ["q1", "q2", "q3"],
        "competency_id": ["cash_operations", "communication", "compliance_awareness"],
        "text": ["请描述一次你发现假币的经历，你是如何处理的？", "请描述一次你向客户解释复杂规定的经历。", "假如领导让你违规办理业务，你会怎么做？"],
        "rubric": ["1分：私下处理；3分：按流程收缴；5分：双人当面收缴、出具凭证并安抚客户", None, None],
    })
    answers = pd.DataFrame({
        "answer_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
        "question_id": ["q1", "q1", "q1", "q2", "q2", "q3"],
        "answer_text": ["我会直接退给客户。", "我按流程收缴了假币。", "当时我坚持唱收唱付、当面点清，发现假币后双人复核并当面收缴，出具凭证。后来我又向客户解释了原因。",
                        "我解释了一下。", "我先听客户的疑问，再用简单的话解释规定，最后确认他理解了。", "我会拒绝并上报。"],
        "human": [1.5, 3.0, 5.0, 2.0, 4.0, 3.5],
    })
    return questions, d, answers


def test_every_kind_with_the_right_reference(inputs):
    questions, d, answers = inputs
    probes = make_gaming_probes(questions, d, answers, seed=3)
    assert list(probes.columns) == PROBE_COLUMNS
    assert len(probes) == 3 * len(PROBE_KINDS) and probes["probe_id"].is_unique
    q1 = probes[probes["question_id"] == "q1"].set_index("kind")
    assert q1.loc["evidence_list", "reference_answer_id"] == "a2"  # the middling answer (rating nearest 3)
    assert q1.loc["padded_strong", "reference_answer_id"] == "a3"  # the strong answer itself
    assert q1.loc["padded_strong", "answer_text"].startswith(answers.loc[2, "answer_text"])
    assert q1.loc["padded_strong", "answer_text"].count("\n\n") == 4
    assert q1.loc["question_echo", "answer_text"] == questions.loc[0, "text"]
    assert q1.loc["rubric_copy", "answer_text"] == "双人当面收缴、出具凭证并安抚客户"  # the question's own level-5 anchor
    q2 = probes[probes["question_id"] == "q2"].set_index("kind")
    assert q2.loc["rubric_copy", "answer_text"] == d.competencies["communication"].bars[5]  # no rubric: the BARS anchor
    rep = q1.loc["repeated_sentence", "answer_text"]
    assert rep.count("唱收唱付") == 10  # the sentence with the most evidence phrases, ten times
    phrases = q1.loc["evidence_list", "answer_text"].rstrip("。").split("、")
    assert 6 <= len(phrases) and set(phrases) <= set(d.competencies["cash_operations"].positive_evidence)
    off = q1.loc["off_topic", "answer_text"]
    assert len(off) >= 200 and not any(w in off for w in ("银行", "客户", "柜", "假币"))
    assert q1.loc["english", "answer_text"].isascii() and "cash and counter operations" in q1.loc["english", "answer_text"]
    assert make_gaming_probes(questions, d, answers, seed=3).equals(probes)
    assert not make_gaming_probes(questions, d, answers, seed=4)["answer_text"].equals(probes["answer_text"])


def test_inputs_are_checked(inputs):
    questions, d, answers = inputs
    with pytest.raises(DataError, match="rating column"):
        make_gaming_probes(questions, d, answers.drop(columns=["human"]), seed=1)
    with pytest.raises(DataError, match="unknown probe kinds"):
        make_gaming_probes(questions, d, answers, seed=1, kinds=("nonsense",))
    with pytest.raises(DataError, match="not in the dictionary"):
        make_gaming_probes(questions.assign(competency_id="nope"), d, answers, seed=1)
    # questions without rated answers get no probes
    assert make_gaming_probes(questions, d, answers[answers["question_id"] == "q1"], seed=1)["question_id"].unique().tolist() == ["q1"]


def test_probe_outcomes(inputs):
    questions, d, answers = inputs
    probes = make_gaming_probes(questions, d, answers, seed=3, kinds=("evidence_list", "padded_strong"))
    scores = {"a1": 1.5, "a2": 3.0, "a3": 4.8, "a4": 2, "a5": 4.0, "a6": 3.5}
    scores.update({p: 3.2 for p in probes["probe_id"]})
    out = probe_outcomes(probes, scores).set_index("probe_id")
    assert bool(out.loc["probe-q1-evidence_list", "beaten"]) is True  # 3.2 > 3.0
    assert bool(out.loc["probe-q1-padded_strong", "beaten"]) is False  # 3.2 < 4.8
    del scores["probe-q2-evidence_list"]
    assert pd.isna(probe_outcomes(probes, scores).set_index("probe_id").loc["probe-q2-evidence_list", "beaten"])


def test_reference_is_the_median_of_the_middling_group(inputs):
    """One middling answer's score carries its own scoring error; the reference is the median score of every answer
    to the question rated as close to the middle (the strong answer alone for padded_strong)."""
    questions, d, _ = inputs
    answers = pd.DataFrame({
        "answer_id": ["m1", "m2", "m3", "m4", "s1", "w1"],
        "question_id": ["q1"] * 6,
        "answer_text": ["我按流程收缴了假币。", "我请主管一起看了。", "我会先核对再处理。", "我向客户做了解释。", "我双人复核、当面收缴并出具凭证。", "我直接退回。"],
        "human": [3.0, 3.0, 3.0, 3.0, 5.0, 1.0],
    })
    probes = make_gaming_probes(questions[questions["question_id"] == "q1"], d, answers, seed=3, kinds=("off_topic", "padded_strong"))
    by_kind = probes.set_index("kind")
    assert by_kind.loc["off_topic", "reference_answer_ids"].split(";") == ["m1", "m2", "m3", "m4"]
    assert by_kind.loc["padded_strong", "reference_answer_ids"] == "s1"
    # m1 underrated by the scorer (1.9): against it alone a 2.4 probe would "win"; against the group's median (3.0) it does not
    scores = {"m1": 1.9, "m2": 3.0, "m3": 3.1, "m4": 2.9, "s1": 4.5, "w1": 1.2, "probe-q1-off_topic": 2.4, "probe-q1-padded_strong": 4.6}
    out = probe_outcomes(probes, scores).set_index("probe_id")
    assert out.loc["probe-q1-off_topic", "reference_score"] == pytest.approx(2.95)
    assert bool(out.loc["probe-q1-off_topic", "beaten"]) is False
    assert bool(out.loc["probe-q1-padded_strong", "beaten"]) is True  # padding added points to the strong answer
    # without the group column the single reference answer is used, as before
    single = probe_outcomes(probes.drop(columns=["reference_answer_ids"]), scores).set_index("probe_id")
    assert bool(single.loc["probe-q1-off_topic", "beaten"]) is True
