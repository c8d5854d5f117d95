"""Near-duplicates by meaning (workbench.questions.paraphrase) on the planted pairs in tests/data/vendor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench._paths import PROJECT_ROOT
from workbench.questions.evaluate import evaluate_question_set, load_question_set
from workbench.questions.paraphrase import DEFAULT_THRESHOLD, ParaphraseDetector, near_duplicates, residual

PAIRS = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs.csv"


def _figures(split: str) -> dict:
    d = pd.read_csv(PAIRS)
    d = d[d["split"] == split]
    texts = sorted(set(d["text_a"]) | set(d["text_b"]))
    idx = {t: i for i, t in enumerate(texts)}
    sims = ParaphraseDetector().fit(texts).similarity()
    s = np.array([sims[idx[a], idx[b]] for a, b in zip(d["text_a"], d["text_b"])])
    y = d["label"].to_numpy()
    flagged = s >= DEFAULT_THRESHOLD
    # the whole split as one file: every reported pair that is labelled distinct is a false pair
    upper = np.triu(sims, k=1) >= DEFAULT_THRESHOLD
    labelled = {(min(idx[a], idx[b]), max(idx[a], idx[b])): lab for a, b, lab in zip(d["text_a"], d["text_b"], y)}
    reported = list(zip(*np.where(upper)))
    false_in_file = sum(labelled.get((int(i), int(j))) == 0 for i, j in reported)
    return {
        "recall": float(flagged[y == 1].mean()),
        "false_pair_rate": float(flagged[y == 0].mean()),
        "reported": len(reported),
        "false_share_of_reported": false_in_file / max(len(reported), 1),
    }


def test_planted_set_is_the_one_the_figures_refer_to():
    d = pd.read_csv(PAIRS)
    assert d.groupby(["split", "label"]).size().to_dict() == {("heldout", 0): 40, ("heldout", 1): 40, ("tune", 0): 40, ("tune", 1): 40}


def test_tune_half_meets_the_bar():
    """Threshold 0.55 and residual weight 0.1 were chosen on this half (a plateau 0.475–0.65 at recall ≥ 0.9)."""
    f = _figures("tune")
    assert f["recall"] >= 0.9 and f["false_pair_rate"] <= 0.05, f  # measured 0.95 and 0.025
    assert f["false_share_of_reported"] <= 0.05, f


def test_heldout_half_figures_are_recorded_not_the_bar():
    """The held-out half was not used for tuning. It does NOT meet the issue's bar (recall ≥ 0.9 with ≤ 5 % false
    pairs): first look recall 0.55 / false pairs 0.075; after one generic change (partial character matches of
    residual words) 0.575 / 0.075. Most misses are synonyms outside the hand-written table (回顾/描述, 揽下/承担,
    带来/造成); the false pairs are antonyms (优点/缺点) and swapped roles (你帮助团队 / 团队帮助你). These floors
    only guard against regressions; see benchmark/README.md for what would close the gap."""
    f = _figures("heldout")
    assert f["recall"] >= 0.55, f
    assert f["false_pair_rate"] <= 0.10, f


@pytest.mark.parametrize(
    "a, b",
    [
        ("请描述一次你与同事合作完成紧急任务的经历。", "请讲述一次你和同事协作完成紧急任务的经历。"),  # 合作/协作
        ("如果你发现客户的证件有疑点，你会如何处理？", "如果你察觉客户证件存在疑点，你会怎样处置？"),  # 发现/察觉
        ("你是如何克服工作中遇到的最大困难的？请谈谈。", "请谈谈你在工作中遇到的最大困难，以及你是如何克服的。"),  # reordered clauses
        ("日终轧账时如果发现短款了，你会怎么做？", "如果你在日终轧账时发现短款，你会怎么做呢？"),  # particles
    ],
)
def test_paraphrases_are_found(a, b):
    assert ParaphraseDetector().fit([a, b]).similarity()[0, 1] >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "a, b",
    [
        ("请描述一次你发现假币的经历，你是如何处理的？", "请描述一次你发现账款不符的经历，你是如何处理的？"),
        ("如果客户要求你违规办理业务，你会怎么做？", "如果领导要求你违规办理业务，你会怎么做？"),
        ("请描述一次你在规定时间内完成大量工作的经历。", "请描述一次你在规定时间内没能完成工作的经历。"),
    ],
)
def test_same_frame_different_question_is_not_a_duplicate(a, b):
    assert ParaphraseDetector().fit([a, b]).similarity()[0, 1] < DEFAULT_THRESHOLD


def test_residual_weights_actors_and_negation_above_function_words():
    assert residual(["客户", "违规"], ["上级", "违规"], frozenset({"客户", "上级"})) == 3.0
    assert residual(["完成", "工作"], ["没有", "完成", "工作"]) == 1.0
    assert residual(["描述", "经历"], ["描述", "经历", "很"]) < 0.5


def test_pairs_are_reported_within_a_role_and_across_the_file():
    q = pd.DataFrame({
        "question_id": ["a", "b", "c", "d"],
        "role_id": ["teller", "teller", "retail_rm", "retail_rm"],
        "text": ["请描述一次你与同事合作完成紧急任务的经历。", "请讲述一次你和同事协作完成紧急任务的经历。",
                 "请描述一次你和同事协作完成紧急任务的经历。", "请描述一次你发现假币的经历。"],
    })
    pairs = near_duplicates(q)
    scopes = {(r.question_a, r.question_b): r.scope for r in pairs.itertuples()}
    assert scopes[("a", "b")] == "same_role"
    assert scopes[("a", "c")] == "cross_role" and scopes[("b", "c")] == "cross_role"
    assert not any("d" in k for k in scopes)
    assert near_duplicates(q, across_roles=False)["scope"].eq("same_role").all()


def test_vendor_b_planted_duplicates():
    """Six planted same-role duplicates in vendor_b; five are found (你为什么想来 / 选择来银行工作 is missed:
    想 / 选择 are not synonyms in the table)."""
    ev = evaluate_question_set(load_question_set(PROJECT_ROOT / "benchmark" / "vendor_sets" / "vendor_b.csv"), name="b")
    found = {tuple(sorted((r.question_a, r.question_b))) for r in ev.same_role_pairs().itertuples()}
    planted = {("B004", "B039"), ("B018", "B048"), ("B020", "B040"), ("B010", "B027"), ("B003", "B060"), ("B012", "B045")}
    assert len(found & planted) >= 5 and found <= planted, found
