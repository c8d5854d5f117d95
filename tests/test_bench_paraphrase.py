"""Near-duplicates by meaning (workbench.questions.paraphrase) on the planted pairs in tests/data/vendor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench._paths import PROJECT_ROOT
from workbench.questions.evaluate import evaluate_question_set, load_question_set
from workbench.questions import paraphrase
from workbench.questions.paraphrase import (DEFAULT_THRESHOLD, ParaphraseDetector, canonical_clauses, load_synonyms,
                                            near_duplicates, residual, roles_reversed)

PAIRS = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs.csv"
PAIRS2 = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs_heldout2.csv"
PAIRS3 = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs_heldout3.csv"
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


def test_third_heldout_set_is_the_one_the_figures_refer_to():
    d = pd.read_csv(PAIRS3)
    assert d.groupby(["split", "label"]).size().to_dict() == {("heldout3", 0): 44, ("heldout3", 1): 44}


def test_tune_half_meets_the_bar():
    """Residual weight 0.2 was chosen on this half; threshold 0.35 on tune + heldout + heldout2 (all development data
    once the third held-out set was written): the lowest threshold that keeps false pairs ≤ 5 % on all three."""
    f = _figures("tune")
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f  # measured 1.0 and 0.025
    assert f["false_share_of_reported"] <= BAR_FALSE, f


@pytest.mark.xfail(strict=True, reason="bar not met on the first held-out half (development data now): recall 0.725, false pairs 0.0 (see benchmark/README.md)")
def test_heldout_half_meets_the_bar():
    """The issue's bar on the half that was first held out (development data since the third held-out set). It fails
    today; strict xfail, so the day it passes the marker has to go."""
    f = _figures("heldout")
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


@pytest.mark.xfail(strict=True, reason="bar not met on the second held-out set (development data now): recall 0.75, false pairs 0.031 (see benchmark/README.md)")
def test_second_heldout_set_meets_the_bar():
    """tests/data/vendor/paraphrase_pairs_heldout2.csv, written (and committed) before the detector was first run on
    it; development data since the third held-out set."""
    f = _figures("heldout2", PAIRS2)
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


@pytest.mark.xfail(strict=True, reason="bar not met on the third held-out set: recall 0.523, false pairs 0.341 (see benchmark/README.md)")
def test_third_heldout_set_meets_the_bar():
    """tests/data/vendor/paraphrase_pairs_heldout3.csv, written and committed (55d12d6) before any change to the
    detector and measured once, with the method final."""
    f = _figures("heldout3", PAIRS3)
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


def test_heldout_figures_do_not_regress():
    """Floors at the measured figures: held-out half recall 0.725 = 29/40, false pairs 0/40; second held-out set
    0.75 = 24/32, 1/32; third held-out set 0.523 = 23/44, 15/44. Misses are synonyms neither the hand table nor 词林
    links (协同/合作, 纰漏/差错, 平衡/兼顾); false pairs on the third set are negations and opposites the cosine
    outweighs (未能完成 / 完成, 不满 / 满意), other scope or time (今年 / 大学期间, 一个月 / 一年) and persons in a
    modifier (老年客户 / 外籍客户, 组长 / 普通组员)."""
    f = _figures("heldout")
    assert f["recall"] >= 29 / 40 and f["false_pair_rate"] <= 0 / 40, f
    f = _figures("heldout2", PAIRS2)
    assert f["recall"] >= 24 / 32 and f["false_pair_rate"] <= 1 / 32, f
    f = _figures("heldout3", PAIRS3)
    assert f["recall"] >= 23 / 44 and f["false_pair_rate"] <= 15 / 44, f


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


def _similarity(a: str, b: str) -> float:
    return float(ParaphraseDetector().fit([a, b]).similarity()[0, 1])


@pytest.mark.parametrize(
    "a, b",
    [
        ("请描述一次你批评同事的经历。", "请描述一次同事批评你的经历。"),
        ("请描述一次你在会议上反驳上级观点的经历。", "请描述一次上级在会议上反驳你观点的经历。"),
    ],
)
def test_swapped_roles_are_not_duplicates(a, b, monkeypatch):
    assert _similarity(a, b) < DEFAULT_THRESHOLD
    monkeypatch.setattr(paraphrase, "USE_ROLES", False)  # the role order is what separates them
    assert _similarity(a, b) >= DEFAULT_THRESHOLD


def test_role_order_reads_passives_and_ignores_symmetric_relations():
    synonyms, actors = paraphrase._table(None)

    def orders(text):
        return paraphrase._role_orders(text, synonyms, actors)

    assert [o for o, _ in orders("你帮助团队克服困难")] == [("你", "团队")]
    assert [o for o, _ in orders("你被领导批评")] == [("上级", "你")]  # 领导 → 上级 (hand table); agent after 被
    assert orders("你与客户之间的矛盾") == []  # coordinated: no direction
    assert orders("客户要求你透露其他客户的信息") == []  # a person twice: not a simple who-does-what-to-whom
    assert roles_reversed(orders("你说服上级改变决定"), orders("上级说服你改变决定"))
    assert not roles_reversed(orders("你说服上级改变决定"), orders("你劝说上级改变决定"))
    assert not roles_reversed(orders("你被领导批评"), orders("领导批评你"))  # active and passive, same roles


@pytest.mark.parametrize(
    "a, b",
    [
        ("请谈谈你工作中最大的长处。", "请谈谈你工作中最大的短处。"),  # 词林 Dd02A / Dd02B, sharing 处
    ],
)
def test_opposites_are_not_duplicates(a, b, monkeypatch):
    assert _similarity(a, b) < DEFAULT_THRESHOLD
    monkeypatch.setattr(paraphrase, "USE_CONTRAST", False)
    assert _similarity(a, b) >= DEFAULT_THRESHOLD


def test_contrast_is_a_sibling_class_not_a_synonym_group():
    assert paraphrase._contrast(("优点", "优点"), ("缺点", "缺点"))  # Dd02A01 / Dd02B01
    assert paraphrase._contrast(("上级", "上级"), ("下属", "下属"))  # Aj08A01 / Aj08B01
    assert not paraphrase._contrast(("因为", "因为"), ("由于", "由于"))  # Kc09A01 / Kc09A02: same small class
    assert not paraphrase._contrast(("优点", "优点"), ("客户", "客户"))  # 客户 is not in 词林


def test_self_counts_only_against_something_in_its_place():
    actors = load_synonyms() and paraphrase._table(None)[1]
    mine = [("发现", "发现"), ("自己", "自己"), ("报告", "报告")]
    assert residual(mine, [("发现", "发现"), ("同事", "同事"), ("报告", "报告")], actors) == 3.0  # 同事 + 自己
    assert residual(mine, [("发现", "发现"), ("报告", "报告")], actors) == 0.0  # 自己 only repeated 你
    assert _similarity("请介绍一下你自己。", "请介绍一下你的家乡。") < DEFAULT_THRESHOLD


def test_synonym_and_frame_rewordings_stay_duplicates():
    assert _similarity("请回顾一次你独立完成项目的经历。", "请描述一次你独立完成项目的经历。") >= DEFAULT_THRESHOLD  # frame verb
    assert _similarity("请谈谈你认为自己最大的优点。", "请说说你觉得自己最大的长处。") >= DEFAULT_THRESHOLD  # 词林 Dd02A01


def test_detector_tokenizer_keeps_words_whole():
    clauses = canonical_clauses("请回顾一次你与其他部门协同完成项目的经历")
    assert "其他" in clauses[0]  # not 与其/他: synonym words only ever raise jieba frequencies
    assert "老是" in canonical_clauses("同事老是把工作推给你")[0]
    words = [w for c in paraphrase._segment("如果领导让你在没有授权的情况下办理业务") for w in c]
    assert "你" in words and "让你在" not in words
