"""Near-duplicates by meaning (workbench.questions.paraphrase) on the planted pairs in tests/data/vendor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench._paths import PROJECT_ROOT
from workbench.questions.evaluate import evaluate_question_set, load_question_set
from workbench.questions import paraphrase
from workbench.questions.paraphrase import (DEFAULT_THRESHOLD, ParaphraseDetector, canonical_clauses, critical_difference,
                                            load_synonyms, near_duplicates, residual, roles_reversed)

PAIRS = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs.csv"
PAIRS2 = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs_heldout2.csv"
PAIRS3 = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs_heldout3.csv"
PAIRS4 = PROJECT_ROOT / "tests" / "data" / "vendor" / "paraphrase_pairs_heldout4.csv"
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
    """Residual weight 0.175 and threshold 0.30 were chosen on all four development sets (tune, heldout, heldout2,
    heldout3: the highest mean recall with false pairs ≤ 5 % on each; leave-one-set-out picks the same pair or a
    neighbour)."""
    f = _figures("tune")
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f  # measured 0.975 and 0.0
    assert f["false_share_of_reported"] <= BAR_FALSE, f


@pytest.mark.xfail(strict=True, reason="bar not met on the first held-out half (development data now): recall 0.8, false pairs 0.0 (see benchmark/README.md)")
def test_heldout_half_meets_the_bar():
    """The issue's bar on the half that was first held out (development data since the third held-out set). It fails
    today; strict xfail, so the day it passes the marker has to go."""
    f = _figures("heldout")
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


@pytest.mark.xfail(strict=True, reason="bar not met on the second held-out set (development data now): recall 0.781, false pairs 0.0 (see benchmark/README.md)")
def test_second_heldout_set_meets_the_bar():
    """tests/data/vendor/paraphrase_pairs_heldout2.csv, written (and committed) before the detector was first run on
    it; development data since the third held-out set."""
    f = _figures("heldout2", PAIRS2)
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


@pytest.mark.xfail(strict=True, reason="bar not met on the third held-out set (development data now): recall 0.568, false pairs 0.045 (see benchmark/README.md)")
def test_third_heldout_set_meets_the_bar():
    """tests/data/vendor/paraphrase_pairs_heldout3.csv, written and committed (55d12d6) before any change to the
    detector and measured once (recall 0.523, false pairs 0.341); development data since the fourth held-out set."""
    f = _figures("heldout3", PAIRS3)
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


def test_fourth_heldout_set_is_the_one_the_figures_refer_to():
    d = pd.read_csv(PAIRS4)
    assert d.groupby(["split", "label"]).size().to_dict() == {("heldout4", 0): 44, ("heldout4", 1): 44}


@pytest.mark.xfail(strict=True, reason="bar not met on the fourth held-out set, measured once: recall 0.568, false pairs 0.227 (see benchmark/README.md)")
def test_fourth_heldout_set_meets_the_bar():
    """tests/data/vendor/paraphrase_pairs_heldout4.csv, written blind to the detector and committed (36b05df) before
    the fourth round of detector changes, which never read it; measured once after them: recall 0.568 (25/44), false
    pairs 0.227 (10/44: object 3/6, opposite 3/7, time 3/7, topic 1/6; style rewrites 0/8 found)."""
    f = _figures("heldout4", PAIRS4)
    assert f["recall"] >= BAR_RECALL and f["false_pair_rate"] <= BAR_FALSE, f


def test_fourth_heldout_figures_do_not_regress():
    f = _figures("heldout4", PAIRS4)
    assert f["recall"] >= 25 / 44 and f["false_pair_rate"] <= 10 / 44, f


def test_heldout_figures_do_not_regress():
    """Floors at the measured figures: held-out half recall 0.8 = 32/40, false pairs 0/40; second held-out set
    0.781 = 25/32, 0/32; third held-out set 0.568 = 25/44, 2/44. Misses are synonyms neither the hand table nor 词林
    links (协同/合作, 纰漏/差错, 平衡/兼顾, 带来/造成) and colloquial rewrites; the two false pairs on the third set are
    opposites 词林 files in different middle classes (融洽 / 紧张, 高压 / 轻松)."""
    f = _figures("heldout")
    assert f["recall"] >= 32 / 40 and f["false_pair_rate"] <= 0 / 40, f
    f = _figures("heldout2", PAIRS2)
    assert f["recall"] >= 25 / 32 and f["false_pair_rate"] <= 0 / 32, f
    f = _figures("heldout3", PAIRS3)
    assert f["recall"] >= 25 / 44 and f["false_pair_rate"] <= 2 / 44, f


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
    """Six planted same-role duplicates in vendor_b; all six are found since the fourth round (你为什么想来 /
    选择来银行工作 at 0.32, just over the threshold: 想 / 选择 are not synonyms in the table), and nothing else."""
    ev = evaluate_question_set(load_question_set(PROJECT_ROOT / "benchmark" / "vendor_sets" / "vendor_b.csv"), name="b")
    found = {tuple(sorted((r.question_a, r.question_b))) for r in ev.same_role_pairs().itertuples()}
    planted = {("B004", "B039"), ("B018", "B048"), ("B020", "B040"), ("B010", "B027"), ("B003", "B060"), ("B012", "B045")}
    assert len(found & planted) >= 6 and found <= planted, found


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
    monkeypatch.setattr(paraphrase, "USE_CONTRAST", False)  # the penalty
    monkeypatch.setattr(paraphrase, "CAP_CONTRAST", False)  # and the cap for otherwise identical questions
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


def _critical(a: str, b: str) -> str | None:
    synonyms, actors = paraphrase._table(None)
    words = [paraphrase._residual_words(t, synonyms) for t in (a, b)]
    times = [paraphrase._time_words(t, synonyms) for t in (a, b)]
    return critical_difference(words[0], words[1], actors, times[0], times[1])


# written for these tests, not taken from the planted sets
@pytest.mark.parametrize(
    "a, b, why",
    [
        ("请描述一次你按时提交报告的经历。", "请描述一次你没能按时提交报告的经历。", "negation"),
        ("当客户对理财收益满意时，你会如何跟进？", "当客户对理财收益不满时，你会如何跟进？", "negation"),  # 不满: a negated word
        ("如果客户当众指责你，你会怎么做？", "如果客户当众指责你的同事，你会怎么做？", "actor"),  # a person on one side only
        ("请描述一次你说服组长接受方案的经历。", "请描述一次你说服组员接受方案的经历。", "actor"),  # 词林 # groups: Af10B04 / Aj07A07
        ("请谈谈你今年最大的收获。", "请谈谈你实习期间最大的收获。", "time"),  # 实习 before 期间
        ("你会如何安排接下来一周的工作？", "你会如何安排接下来一个月的工作？", "time"),
        ("你如何在全行推广这项做法？", "你如何在网点推广这项做法？", "scope"),
        ("你如何同时接待三位客户？", "你如何接待一位客户？", "scope"),
        ("发现同事违规操作时，你会怎么办？", "发现同事违规操作时，你会向谁报告？", "ask"),
        ("请简单评价一下你自己。", "请简单评价一下你的学校。", "self"),
    ],
)
def test_critical_differences_cap_otherwise_identical_questions(a, b, why):
    assert _critical(a, b) == why
    assert _similarity(a, b) < DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "a, b",
    [
        ("你觉得合规工作重要吗？", "你觉得合规工作重要不重要？"),  # 不 between two copies of one word asks a question
        ("客户坚持办理不合规的业务，你会怎么做？", "客户坚持办理违规的业务，你会如何处理？"),  # one group in the hand table
        ("与客户沟通时，你如何确认理解了对方的需求？", "与客户沟通时，你如何确认理解了客户的需求？"),  # 对方 points back
        ("你为什么想来我行工作？", "请谈谈你想来我行工作的原因。"),  # why = 原因
        ("如果同事把工作推给你，你会怎么办？", "如果同事把工作推给你，你会如何处理？"),  # the closing ask
    ],
)
def test_rewordings_are_not_critical_differences(a, b):
    assert _critical(a, b) is None
    assert _similarity(a, b) >= DEFAULT_THRESHOLD


def test_closing_ask_is_one_wording():
    assert canonical_clauses("你会怎么办") == canonical_clauses("你会如何处理") == canonical_clauses("你会怎么做")


def test_dictionary_phrases_are_split_into_words():
    assert paraphrase._split_compound("关系融洽") == ("关系", "融洽")
    assert paraphrase._split_compound("举例说明") == ("举例说明",)  # a word of the synonym table stays whole
    assert paraphrase._split_compound("合作") == ("合作",)


def test_quantities_and_persons_from_cilin_classes():
    _, actors = paraphrase._table(None)
    assert paraphrase._quantity(("两位", "两位")) == "两"
    assert paraphrase._quantity(("一位", "一位")) is None  # the singular is how questions are worded anyway
    assert paraphrase._quantity(("多项", "多项")) == paraphrase._quantity(("几项", "几项")) == "many"
    assert paraphrase._quantity(("全行", "全行")) == "all"
    assert paraphrase._quantity(("多", "多")) is None  # 多沟通: "more", not a count
    assert paraphrase._person_key("组长", "组长", actors) is not None  # only in 词林's # groups (data/cilin_classes.txt)
    assert paraphrase._person_key("上面", "上面", actors) is None  # in a person class, but a place word
