"""Near-duplicates by meaning (workbench.questions.paraphrase) on the planted pairs in tests/data/vendor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench._paths import PROJECT_ROOT
from workbench.questions.evaluate import evaluate_question_set, load_question_set
from workbench.questions.paraphrase import DEFAULT_THRESHOLD, ParaphraseDetector, near_duplicates, residual

PAIRS = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs.csv"
PAIRS2 = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs_heldout2.csv"
BAR_RECALL, BAR_FALSE = 0.9, 0.05  # issue 16, item 3


def _figures(split: str, path=PAIRS) -> dict:
    d = pd.read_csv(path)
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


def test_second_heldout_set_is_the_one_the_figures_refer_to():
    d = pd.read_csv(PAIRS2)
    assert d.groupby(["split", "label"]).size().to_dict() == {("heldout2", 0): 32, ("heldout2", 1): 32}


def test_tune_half_meets_the_bar():
    """Threshold 0.40 and residual weight 0.2 were chosen on this half: recall 1.0 with 2.5 % false pairs for
    thresholds 0.40–0.55; 0.40, the low end, because with the hand table switched off (词林 only, a stand-in for
    vocabulary neither table has) it keeps more recall at the same false-pair rate."""
    f = _figures("tune")
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f  # measured 1.0 and 0.025
    assert f["false_share_of_reported"] <= BAR_FALSE, f


@pytest.mark.xfail(strict=True, reason="bar not met on the held-out half: recall 0.65, false pairs 0.075 (see benchmark/README.md)")
def test_heldout_half_meets_the_bar():
    """The issue's bar on the half that was not used for tuning. It fails today; strict xfail, so the day it passes
    the marker has to go."""
    f = _figures("heldout")
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


@pytest.mark.xfail(strict=True, reason="bar not met on the second held-out set: recall 0.656, false pairs 0.156 (see benchmark/README.md)")
def test_second_heldout_set_meets_the_bar():
    """tests/data/vendor/paraphrase_pairs_heldout2.csv, written (and committed) before the detector was run on it."""
    f = _figures("heldout2", PAIRS2)
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


def test_heldout_figures_do_not_regress():
    """Floors at the measured figures (held-out half: recall 0.65 = 26/40, false pairs 0.075 = 3/40; second held-out
    set: 0.656 = 21/32, 0.156 = 5/32). Misses are synonyms neither the hand table nor 词林 links (回顾/描述, 揽下/承担,
    讲/举, 异议/疑问) and jieba cuts across words (你与其他 → 你/与其/他); false pairs are antonyms (优点/缺点,
    优势/不足), swapped roles (你帮助团队 / 团队帮助你) and 自己 against another person (自己的报告 / 同事的报告)."""
    f = _figures("heldout")
    assert f["recall"] >= 0.65 and f["false_pair_rate"] <= 0.075, f
    f = _figures("heldout2", PAIRS2)
    assert f["recall"] >= 0.65 and f["false_pair_rate"] <= 0.16, f


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
    assert residual([("发现", "察觉")], [("发现", "发觉")]) == 0.0  # same group in the hand table
    assert residual([("疏忽", "疏忽")], [("大意", "大意")]) == 0.0  # same 词林 group (Ga13C01), no shared character
    assert residual([("假设", "如果")], [("情况", "情况")]) == pytest.approx(1.15)  # 如果 as written is light, 情况 is not
    assert residual(["完成", "工作"], ["没有", "完成", "工作"]) == 1.5  # negation weighs like an actor
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
