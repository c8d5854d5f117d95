"""The question lint (workbench.questions.lint): rule file validation and the engine on a development set.

The development set below is what the lexicons were tuned on: indirect paraphrases that ask the *candidate* about
protected attributes, and legitimate banking questions that mention ages, regions, health, ethnicity, religion or
gender of customers, colleagues or scenarios. A separate held-out set is used for acceptance; these tests guard
the behaviour the rules were designed for.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workbench.errors import DataError
from workbench.questions.lint import (
    DEFAULT_RULES_PATH,
    FINDING_COLUMNS,
    LintRule,
    lint_questions,
    lint_text,
    load_rules,
)

LEGAL_IDS = {"marriage_childbearing", "age", "region", "ethnicity", "religion", "health", "gender"}
QUALITY_IDS = {
    "leading_question", "closed_question", "double_barrelled", "behavioural_hypothetical", "situational_past",
    "too_long", "too_short", "inside_knowledge",
}


def _legal(text: str) -> set[str]:
    return {f["rule_id"] for f in lint_text(text) if f["category"] == "legal"}


def _ids(text: str, qtype: str | None = None) -> set[str]:
    return {f["rule_id"] for f in lint_text(text, question_type=qtype)}


# ================================================================================= development set: violations
# (text, the legal rule that must fire). Other legal rules may fire too (e.g. gender + 婚育).

VIOLATIONS: list[tuple[str, str]] = [
    # ---- 婚育 / 家庭负担
    ("你打算什么时候要孩子？", "marriage_childbearing"),
    ("家里催婚吗？", "marriage_childbearing"),
    ("近两年有没有生育计划？", "marriage_childbearing"),
    ("成家了吗？", "marriage_childbearing"),
    ("另一半在哪里工作？", "marriage_childbearing"),
    ("孩子多大了，谁带？", "marriage_childbearing"),
    ("你现在有男朋友吗？", "marriage_childbearing"),
    ("你的感情状况怎么样，稳定吗？", "marriage_childbearing"),
    ("入职后三年内有没有要宝宝的打算？", "marriage_childbearing"),
    ("准备什么时候生二胎？", "marriage_childbearing"),
    ("你爱人是做什么工作的？", "marriage_childbearing"),
    ("请问你目前是已婚还是未婚？", "marriage_childbearing"),
    ("你对象支持你来银行工作吗？", "marriage_childbearing"),
    ("个人问题解决了没有？", "marriage_childbearing"),
    ("结婚几年了，打算什么时候当妈妈？", "marriage_childbearing"),
    ("家里老人能帮忙带孩子吗？", "marriage_childbearing"),
    ("如果近期怀孕，会不会影响你跑业务？", "marriage_childbearing"),
    ("小两口都在本地吗？", "marriage_childbearing"),
    ("你是丁克吗？", "marriage_childbearing"),
    ("我们想了解一下你的家庭情况，家里几口人？", "marriage_childbearing"),
    ("客户经理经常出差，你怎么平衡工作和家庭？", "marriage_childbearing"),
    ("你平时需要接送孩子吗？", "marriage_childbearing"),
    ("生完孩子还能保证出勤吗？", "marriage_childbearing"),
    ("入职体检会包括妊娠检测，你能接受吗？", "marriage_childbearing"),
    ("这个岗位要面对很多客户，你最近有没有结婚的打算？", "marriage_childbearing"),
    ("你的婚姻状况方便说一下吗？", "marriage_childbearing"),
    ("你和女朋友谈了多久了？", "marriage_childbearing"),
    ("有家室了吗？", "marriage_childbearing"),
    ("您是否处于孕期或哺乳期？", "marriage_childbearing"),
    ("入职后两年内不要孩子，你能做到吗？", "marriage_childbearing"),
    ("客户经理需要经常陪客户，你的另一半会有意见吗？", "marriage_childbearing"),
    ("家里有没有需要你照顾的人？", "marriage_childbearing"),
    ("找对象了没？", "marriage_childbearing"),
    ("你老公同意你经常加班吗？", "marriage_childbearing"),
    ("你有几个孩子？", "marriage_childbearing"),
    ("近期有喝喜酒的计划吗，我是说你自己的？", "marriage_childbearing"),
    ("你結婚了嗎？", "marriage_childbearing"),  # traditional characters
    # ---- 年龄
    ("你属什么的？", "age"),
    ("你今年多大？", "age"),
    ("是不是90后？", "age"),
    ("你超过35岁了吗？", "age"),
    ("方便说一下你是哪一年出生的吗？", "age"),
    ("你是几几年的？", "age"),
    ("你的年龄比其他应聘者大一些，你怎么看？", "age"),
    ("你觉得自己这个年纪转行来银行还来得及吗？", "age"),
    ("今年是你的本命年吗？", "age"),
    ("你的生肖是什么？", "age"),
    ("作为85后，你怎么看待加班文化？", "age"),
    ("你离退休还有多少年？", "age"),
    ("您贵庚？", "age"),
    ("你还年轻，为什么不去大城市闯闯？", "age"),
    ("你是不是已经过了35岁？", "age"),
    ("三十多岁了还在找工作，你怎么看？", "age"),
    ("你的客户大多是老年人，你自己今年多大？", "age"),
    ("你属龙还是属蛇？", "age"),
    ("您的出生年份是？", "age"),
    # ---- 户籍 / 籍贯 / 地域
    ("你老家是哪里的？", "region"),
    ("你是不是本地人？", "region"),
    ("你的户口在哪里？", "region"),
    ("你是哪里人？", "region"),
    ("籍贯是哪儿？", "region"),
    ("你家是农村的吗？", "region"),
    ("听口音你是东北人吧？", "region"),
    ("你父母都在本地吗？", "region"),
    ("你是本地户口还是外地户口？", "region"),
    ("你的生源地是哪里？", "region"),
    ("你是从农村出来的吧？", "region"),
    ("你是哪个省的？", "region"),
    ("以后打算在这边定居吗？", "region"),
    ("你是河南人吗？", "region"),
    ("你来自哪个城市？", "region"),
    ("家住哪里，离网点远吗？", "region"),
    # ---- 民族
    ("你是什么民族？", "ethnicity"),
    ("你是少数民族吗？", "ethnicity"),
    ("你家是回族吗？", "ethnicity"),
    ("请问你的民族是？", "ethnicity"),
    ("你是汉族还是少数民族？", "ethnicity"),
    ("你们家是哪个族的？", "ethnicity"),
    ("我们的客户大多是少数民族，你自己是什么民族？", "ethnicity"),
    # ---- 宗教
    ("你信不信教？", "religion"),
    ("你有宗教信仰吗？", "religion"),
    ("平时吃不吃猪肉？", "religion"),
    ("你是穆斯林吗？", "religion"),
    ("周末会去教堂做礼拜吗？", "religion"),
    ("有没有什么饮食禁忌？", "religion"),
    ("你信佛吗？", "religion"),
    ("你家里人信什么教？", "religion"),
    ("斋月期间你能正常上班吗？", "religion"),
    ("你的信仰是什么？", "religion"),
    # ---- 健康 / 疾病 / 残疾
    ("身体有没有什么毛病？", "health"),
    ("你有没有什么病史？", "health"),
    ("你是乙肝病毒携带者吗？", "health"),
    ("体检有没有问题？", "health"),
    ("你有慢性病吗？", "health"),
    ("你以前看过心理医生吗？", "health"),
    ("你有没有残疾？", "health"),
    ("你的视力怎么样，有没有色盲色弱？", "health"),
    ("最近一年住过院吗？", "health"),
    ("身体状况能适应长期加班吗？", "health"),
    ("你有抑郁症或焦虑症吗？", "health"),
    ("你是否需要长期服药？", "health"),
    ("有没有做过大手术？", "health"),
    ("你的乙肝两对半检查结果正常吗？", "health"),
    ("去年请过几次病假？", "health"),
    ("你的听力有没有问题？", "health"),
    ("你的精神状态一直都好吗，有没有心理问题？", "health"),
    ("身体吃得消吗？", "health"),
    ("本岗位需要经常熬夜，你的健康状况允许吗？", "health"),
    ("你是不是有什么遗传病？", "health"),
    # ---- 性别
    ("男生更适合这个岗位，你怎么看自己作为女生来应聘？", "gender"),
    ("本岗位仅限男性，你怎么看？", "gender"),
    ("女生能接受经常出差吗？", "gender"),
    ("你一个女孩子，晚上加班安全吗？", "gender"),
    ("女生做客户经理要经常陪客户应酬，你能适应吗？", "gender"),
    ("你觉得男性和女性谁更适合做风控？", "gender"),
    ("作为女性，你如何看待职场天花板？", "gender"),
    ("本岗位男性优先，你还愿意投递吗？", "gender"),
    ("女孩子的体力能跑得动营销吗？", "gender"),
    ("你觉得你的性别会影响客户对你的信任吗？", "gender"),
    ("催收工作比较辛苦，女生吃得消吗？", "gender"),
    # ---- the project's own vendor sample (benchmark/vendor_sets/vendor_b.csv)
    ("你今年多大了？家里有没有催婚？", "age"),
    ("你是本地户口吗？", "region"),
    ("近期有生育计划吗？客户经理岗位业绩压力比较大。", "marriage_childbearing"),
    ("身体怎么样，有没有什么慢性病？柜面经常要加班。", "health"),
    ("你老家是哪里的？父母是做什么工作的？", "region"),
]

# ================================================================================= development set: near-misses
# Legitimate banking questions: the sensitive attribute belongs to a customer, colleague, borrower or scenario,
# or the question is about fairness itself. No legal rule may fire.

CLEAN: list[str] = [
    # ---- ages of customers
    "一位75岁的老年客户要求购买高风险理财，你如何做适当性管理？",
    "客户年满60周岁，想办理长期定期存款，你会提示哪些事项？",
    "未满16周岁的学生来开户，需要哪些材料？",
    "你如何向年轻客户介绍信用卡的风险？",
    "一位80后企业主申请经营贷，你会重点关注什么？",
    "某民营企业老板年龄较大，子女无意接班，授信时你会关注哪些风险？",
    "网点员工年龄结构老化，作为网点负责人你会怎么做？",
    "客户想在生日当天办理大额存单，你会如何做好服务？",
    "客户来网点预约兑换生肖纪念币，你会如何安排？",
    "年满18周岁可以独立办理信用卡吗？请说明依据。",
    "针对00后客群，你会设计什么样的营销活动？",
    "一位老人来网点取钱，说是给“孙子”转账治病，你怎么办？",
    "如何帮助老年客户跨越“数字鸿沟”？",
    "客户的退休金每月到账后被立即转走，你会如何处理？",
    "借款人已经65岁，申请20年期房贷，你会如何评估？",
    "一位年轻的母亲来咨询教育金储蓄，你会如何推荐？",
    "你如何看待35岁以上客户的养老规划需求？",
    "对于中老年客户群体，你会如何推荐适合的产品？",
    "一位90岁高龄的客户要求赎回保单，你如何核实本人意愿？",
    "很多年轻人不愿意存钱，你会如何向他们推广储蓄产品？",
    "你如何向一位刚退休的老人解释养老理财的风险？",
    "如何识别以“老年人”为目标的养老诈骗？",
    "你如何看待“00后”员工的管理？",
    "作为大堂经理，你如何引导老年客户使用自助设备？",
    "一位客户今年80岁，身体不太好，想购买长期理财产品，你会如何建议？",
    # ---- regions
    "异地客户开户需要核实什么？",
    "某省分行的不良率上升，你会从哪些方面分析原因？",
    "外地来务工的客户想办理社保卡，你如何服务？",
    "客户户籍地与开户地不一致时，你需要注意什么？",
    "客户说自己老家在农村，想为父母办理养老储蓄，你如何推荐？",
    "一位口音很重的客户听不清你的解释，你会怎么沟通？",
    "新市民在城市落户后，银行可以提供哪些金融服务？",
    "客户持户口本来办理业务，你需要核对哪些信息？",
    "针对县域农户的信贷需求，你会如何设计产品？",
    "如果你被分配到外地网点工作，你会如何快速熟悉当地市场？",
    "你所在城市的小微企业融资有什么特点？",
    "客户是东北人，说话直爽，投诉时语气很冲，你怎么处理？",
    "客户的身份证显示其户籍在外省，你还需要核实什么？",
    "外籍客户开户需要提供哪些材料？",
    # ---- ethnicity
    "客户是少数民族，听不太懂普通话，你如何向他解释产品条款？",
    "在少数民族聚居地区开展普惠金融，你会怎么做？",
    "一位维吾尔族客户想了解符合其习惯的理财产品，你会怎么介绍？",
    "请谈谈你对铸牢中华民族共同体意识的理解。",
    "网点接待了一位只会说藏语的客户，你如何提供服务？",
    "如何做好民族地区的金融服务？",
    "你所在支行的客户中有不少回族，你会如何尊重他们的习俗？",
    "为少数民族客户提供双语服务，你有什么建议？",
    # ---- religion
    "一位信仰伊斯兰教的客户对理财产品的投向有特殊要求，你如何推荐？",
    "宗教活动场所开立银行账户需要哪些材料？",
    "客户因宗教原因不便在周五下午来网点，你会如何安排面签？",
    "寺庙以捐赠收入申请开立账户，你会如何审核？",
    "客户因饮食禁忌不参加网点的答谢宴，你怎么调整活动？",
    "如何教会老年客户使用手机银行？",
    "你如何理解“合规是一种信仰”这句话？",
    "客户是佛教徒，不愿意购买涉及屠宰行业的基金，你如何回应？",
    "同事周五要去做礼拜，请你帮忙顶班，你会怎么安排？",
    "某养猪企业申请贷款，猪肉价格波动大，你怎么评估？",
    # ---- health and disability
    "借款人患病住院导致逾期，你会如何处理？",
    "为残障客户提供无障碍服务，你会注意哪些细节？",
    "客户在网点突然晕倒，你会如何处置？",
    "同事生病请假，你如何安排柜面工作？",
    "一位视力不好的老年客户需要签署合同，你如何确保其真实意愿？",
    "客户咨询重大疾病保险，你会如何讲解保障范围？",
    "一位乙肝病毒携带者申请贷款被同事拒绝，你怎么看？",
    "如何为听障客户办理业务？",
    "客户家属拿着医院证明要求取出病重客户的存款，你会怎么处理？",
    "网点如何为坐轮椅的客户提供服务？",
    "客户因抑郁症住院，家属要求代办业务，你会如何处理？",
    "你如何身体力行地践行合规文化？",
    "请谈谈如何保持银行资产质量的健康。",
    "一位盲人客户要求办理借记卡，你会怎么做？",
    "针对医疗行业客户的授信，你会关注哪些风险？",
    "一位客户说自己有心脏病，不能久等，你会如何安排？",
    "为残疾人客户开立账户时，如何确认其真实意愿？",
    "客户是一位聋哑人，只能用手写交流，你如何办理业务？",
    "同事是乙肝病毒携带者，其他同事不愿和他一起吃饭，作为主管你怎么处理？",
    "某客户体检发现重病，急需赎回理财，你会如何处理？",
    "你和客户之间出现沟通障碍时，你会怎么做？",
    "请描述一次你在压力很大时调整心理状态的经历。",
    # ---- gender, marriage and family of others
    "一位女性客户投诉理财经理推销时言语不当，你怎么处理？",
    "针对女性创业者的贷款产品，你会如何推广？",
    "网点男女员工比例失衡，排班时你会注意什么？",
    "同事怀孕后申请调整岗位，作为主管你如何安排？",
    "三八妇女节，网点准备开展客户答谢活动，你会如何策划？",
    "王女士来网点办理挂失，她说身份证被偷了，你会怎么处理？",
    "一位孕妇客户在排队时感到不适，你会怎么做？",
    "客户问你是否结婚，你如何得体地把话题拉回业务？",
    "客户问：“你结婚了吗？”你会怎么回应？",
    "你如何看待职场中的性别平等？",
    "无论客户的年龄、民族、宗教信仰如何，你如何做到一视同仁？",
    "为什么银行不得以性别为由拒绝录用女性？请谈谈你的理解。",
    "客户因家庭变故急需用钱，要求提前支取定期存款，你会怎么处理？",
    "客户的子女代办父母的存款业务，你需要核实什么？",
    "一对夫妻来网点办理房贷，丈夫不愿意妻子知道贷款金额，你怎么办？",
    "客户经理小李休产假，她的客户由你接手，你会怎么维护？",
    "客户为孩子开立教育储蓄账户，你会如何介绍产品？",
    "一位带着孩子的客户在排队时孩子哭闹，你会怎么做？",
    "客户离婚后要求变更房贷借款人，你需要核实哪些材料？",
    "一位客户说自己怀孕了，想暂停定投，你会如何建议？",
    "客户咨询生育津贴能否直接转入理财账户，你如何回答？",
    "网点准备设置母婴室，你会提出哪些建议？",
    "一位客户要为结婚购房申请贷款，你会如何评估？",
    "你的服务对象主要是小微企业主，你会如何开展营销？",
    "请描述一次你处理客户投诉的经历：当时的情况、你做了什么、结果如何？",
    "你如何理解“家和万事兴”在团队管理中的意义？",
    "你身边的朋友通常怎么评价你？",
    "请说说你对银行业“健康发展”的理解。",
    "客户说：“你们银行是不是只招本地人？”你会如何回应？",
]


# ================================================================================= legal rules


def test_dev_set_is_broad_enough():
    assert len(VIOLATIONS) >= 80 and len(CLEAN) >= 80
    per_rule = {rid: sum(1 for _, r in VIOLATIONS if r == rid) for rid in LEGAL_IDS}
    assert min(per_rule.values()) >= 2, per_rule


@pytest.mark.parametrize("text,rule_id", VIOLATIONS)
def test_violation_is_flagged(text, rule_id):
    assert rule_id in _legal(text), lint_text(text)


@pytest.mark.parametrize("text", CLEAN)
def test_legitimate_question_is_not_flagged(text):
    assert _legal(text) == set(), [(f["rule_id"], f["evidence"]) for f in lint_text(text) if f["category"] == "legal"]


def test_dev_set_precision_and_recall():
    flagged_bad = sum(bool(_legal(t)) for t, _ in VIOLATIONS)
    flagged_clean = sum(bool(_legal(t)) for t in CLEAN)
    recall = flagged_bad / len(VIOLATIONS)
    precision = flagged_bad / (flagged_bad + flagged_clean)
    assert recall >= 0.95 and precision >= 0.90, (recall, precision)


def test_synthetic_question_bank_has_no_legal_findings():
    from workbench.competency import load_dictionary
    from workbench.synth._generator import generate_questions

    questions = generate_questions(load_dictionary(), 3, 11)
    found = lint_questions(questions)
    legal = found[found["category"] == "legal"]
    assert legal.empty, legal[["question_id", "rule_id", "evidence"]].to_string()


def test_evidence_quotes_the_original_text():
    text = "请问，你 今年 多大了？"
    (finding,) = [f for f in lint_text(text) if f["rule_id"] == "age"]
    assert finding["evidence"] in text and "多大" in finding["evidence"]


def test_findings_carry_the_rule_texts():
    rules = {r.id: r for r in load_rules()}
    (f,) = [f for f in lint_text("你打算什么时候要孩子？") if f["rule_id"] == "marriage_childbearing"]
    rule = rules["marriage_childbearing"]
    assert f["severity"] == "error" and f["category"] == "legal"
    assert (f["title"], f["message"], f["legal_basis"], f["suggestion"]) == (rule.title, rule.message, rule.legal_basis, rule.suggestion)
    assert "妇女权益保障法" in f["legal_basis"] and "第四十三条" in f["legal_basis"]


# ================================================================================= quality rules


@pytest.mark.parametrize(
    "text",
    [
        "你一定同意合规是最重要的吧？",
        "难道你不认为客户利益应该放在第一位吗？",
        "你应该会主动加班完成任务，对吧？",
        "作为客户经理，客户利益永远是第一位的，你同意吧？",
        "你应该不会为了完成任务而放松合规要求吧？",
    ],
)
def test_leading_question(text):
    assert "leading_question" in _ids(text)


@pytest.mark.parametrize(
    "text",
    [
        "客户问“这个产品肯定保本吧”，你会如何回应？",
        "你会如何说服一位认为理财一定保本的客户？",
        "请谈谈你对“客户永远是对的”这句话的看法。",
        "你认为合规与业绩之间应该如何平衡？请举例说明。",
    ],
)
def test_not_leading(text):
    assert "leading_question" not in _ids(text)


@pytest.mark.parametrize(
    "text",
    ["你会遵守制度吗？", "你能接受加班吗？", "你能承受业绩压力吗？", "你是否愿意服从调剂到县域网点？", "你认为合规工作重要吗？"],
)
def test_closed_question(text):
    assert "closed_question" in _ids(text)


@pytest.mark.parametrize(
    "text",
    [
        "你是否愿意服从调剂？如果愿意，请说明你的理由。",
        "你有没有遇到过客户拒不配合的情况？请具体说说你是怎么做的。",
        "假设客户坚持要办理，你会如何处理？",
        "请描述一次你坚持按制度办事的经历。",
        "客户问“你们这能不能办”，你会如何回答？",
    ],
)
def test_not_closed(text):
    assert "closed_question" not in _ids(text)


@pytest.mark.parametrize(
    "text",
    [
        "你如何看待合规文化，以及你会怎么提升团队业绩？",
        "请介绍一下你的优点和缺点，以及你为什么选择我行？",
        "你为什么选择银行业？你的职业规划是什么？",
        "你怎么看待反洗钱工作和客户体验的关系，你以前做过哪些反洗钱相关工作？",
    ],
)
def test_double_barrelled(text):
    assert "double_barrelled" in _ids(text)


@pytest.mark.parametrize(
    "text",
    [
        "请描述一次你处理客户投诉的经历：当时的情况、你做了什么、结果如何？",
        "假设主管暗示你这个月任务紧，有些材料可以先办后补，你会如何处理？请说明你的考虑。",
        "假设同事让你复核时“简单看一眼就签”，你怎么看待这件事？请结合你的原则说说你会怎么做、为什么。",
        "客户不知道什么是净值型理财，你会如何向他解释？",
        "请描述一次你在团队里化解意见分歧的经历：当时是什么情况，你具体做了什么，结果如何？",
    ],
)
def test_single_ask_is_not_double_barrelled(text):
    assert "double_barrelled" not in _ids(text)


def test_behavioural_question_phrased_hypothetically():
    assert "behavioural_hypothetical" in _ids("如果你日终轧账发现短款200元，你会怎么办？", "行为")
    assert "behavioural_hypothetical" in _ids("假如领导让你违规办理一笔业务，你会怎么做？", "行为")
    assert "behavioural_hypothetical" not in _ids("请描述一次你遇到“如果不违规就完不成任务”的经历。", "行为")
    assert "behavioural_hypothetical" not in _ids("如果你日终轧账发现短款200元，你会怎么办？", "情景")
    assert "behavioural_hypothetical" not in _ids("如果你日终轧账发现短款200元，你会怎么办？", None)


def test_situational_question_asking_about_the_past():
    assert "situational_past" in _ids("请描述一次你处理客户投诉的经历。", "情景")
    assert "situational_past" in _ids("你以前遇到过客户情绪失控的情况吗？你是怎么做的？", "情景")
    assert "situational_past" not in _ids("假设你以前的客户投诉你，你会如何处理？", "情景")
    assert "situational_past" not in _ids("客户过去一年的流水异常，你会如何调查？", "情景")
    assert "situational_past" not in _ids("请描述一次你处理客户投诉的经历。", "行为")


def test_length_rules():
    long_text = "假设" + "客户在网点办理业务时情绪激动并反复要求见行长，" * 8 + "你会如何处理？"
    assert len(long_text) > 150
    assert "too_long" in _ids(long_text)
    assert "too_long" not in _ids("假设客户在网点情绪激动，你会如何处理？")
    assert "too_short" in _ids("自我介绍")
    assert "too_short" in _ids("")
    assert "too_short" not in _ids("请描述一次你处理客户投诉的经历。")


@pytest.mark.parametrize(
    "text",
    [
        "请说说我行新一代核心系统柜面交易的操作流程。",
        "你知道我们分行今年的任务指标吗？",
        "本行内部的考核办法是什么？",
        "我行的信贷审批系统叫什么名字？",
    ],
)
def test_inside_knowledge(text):
    assert "inside_knowledge" in _ids(text)


@pytest.mark.parametrize(
    "text",
    [
        "你为什么选择我行？",
        "你对我行有什么了解？",
        "如果我行的系统出现故障导致客户排队，你如何安抚客户？",
        "我行推行“合规优先”的考核制度，你怎么看？",
        "请谈谈你对《商业银行内部控制指引》的理解。",
    ],
)
def test_public_knowledge_is_fine(text):
    assert "inside_knowledge" not in _ids(text)


def test_clean_synthetic_templates_have_no_quality_warnings_except_type_free():
    texts = [
        ("请描述一次你推动风险问题得到及时处置的经历：当时是什么情况，你具体做了什么，结果如何？", "行为"),
        ("假设你发现同事在私下向客户推荐行外的高收益产品，你会如何处理？请说明你的考虑。", "情景"),
        ("假设业务高峰时，同事让你复核时“简单看一眼就签”，你怎么看待这件事？请结合你的原则说说你会怎么做、为什么。", "文化"),
    ]
    for text, qtype in texts:
        assert lint_text(text, question_type=qtype) == [], (text, lint_text(text, question_type=qtype))


# ================================================================================= API and robustness


def test_lint_questions_columns_and_rows():
    df = pd.DataFrame(
        {
            "question_id": ["q1", "q2", "q3", "q4"],
            "text": ["你今年多大了？家里有没有催婚？", "请描述一次你处理客户投诉的经历。", None, ""],
            "type": ["行为", "行为", "情景", None],
        }
    )
    out = lint_questions(df)
    assert list(out.columns) == FINDING_COLUMNS
    assert set(out.loc[out.question_id == "q1", "rule_id"]) >= {"age", "marriage_childbearing"}
    assert "q2" not in set(out.question_id)
    assert "q3" not in set(out.question_id)  # None: no findings
    assert list(out.loc[out.question_id == "q4", "rule_id"]) == ["too_short"]
    assert (out.loc[out.category == "legal", "severity"] == "error").all()


def test_lint_questions_without_type_and_without_findings():
    out = lint_questions(pd.DataFrame({"question_id": ["a"], "text": ["请描述一次你处理客户投诉的经历：当时的情况、你做了什么、结果如何？"]}))
    assert out.empty and list(out.columns) == FINDING_COLUMNS
    empty = lint_questions(pd.DataFrame({"question_id": [], "text": []}))
    assert empty.empty and list(empty.columns) == FINDING_COLUMNS


def test_lint_questions_needs_text_column():
    with pytest.raises(DataError, match="text"):
        lint_questions(pd.DataFrame({"question_id": ["a"]}))


@pytest.mark.parametrize("value", [None, float("nan"), pd.NA])
def test_missing_text_gives_no_findings(value):
    assert lint_text(value) == []


@pytest.mark.parametrize("value", ["", "   ", "？？", "\u200b", "𠀀䶮", "A" * 500, "你" * 3])
def test_odd_text_never_crashes(value):
    findings = lint_text(value, question_type="行为")
    assert isinstance(findings, list)
    assert all(set(f) == set(FINDING_COLUMNS) - {"question_id"} for f in findings)


def test_lint_text_on_vendor_b_sample():
    """The project's planted vendor sample: every planted legal violation is found, nothing else is."""
    path = Path(__file__).resolve().parents[1] / "benchmark" / "vendor_sets" / "vendor_b.csv"
    df = pd.read_csv(path, dtype=str)
    out = lint_questions(df)
    legal_ids = set(out.loc[out.category == "legal", "question_id"])
    assert legal_ids == {"B005", "B013", "B021", "B028", "B033", "B044"}, out[out.category == "legal"][["question_id", "rule_id", "evidence"]]


def test_speed_1000_questions():
    texts = [t for t, _ in VIOLATIONS] + CLEAN
    df = pd.DataFrame({"question_id": range(1000), "text": (texts * (1000 // len(texts) + 1))[:1000], "type": "情景"})
    rules = load_rules()
    lint_questions(df.head(10), rules=rules)
    start = time.perf_counter()
    lint_questions(df, rules=rules)
    elapsed = time.perf_counter() - start
    # the target is < 1 s on a developer machine; the bound here only catches pathological regressions on slow CI
    assert elapsed < 5, elapsed


# ================================================================================= rule file validation


def test_rule_file_is_complete_and_consistent():
    rules = load_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert set(ids) == LEGAL_IDS | QUALITY_IDS
    for r in rules:
        assert isinstance(r, LintRule)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", r.id)
        assert r.category in ("legal", "quality")
        assert r.severity == "error" if r.category == "legal" else r.severity in ("warning", "info")
        for text in (r.title, r.message, r.legal_basis, r.suggestion):
            assert text and re.search(r"[\u4e00-\u9fff]", text), (r.id, text)
            assert not re.search(r"[\u4e00-\u9fff]\s+[\u4e00-\u9fff]", text), (r.id, "folded-line space", text)
        if r.category == "legal":
            assert re.search(r"《[^》]+法》", r.legal_basis) and re.search(r"第[一二三四五六七八九十]+条", r.legal_basis), r.id
    assert (Path(DEFAULT_RULES_PATH)).is_file()


def test_legal_bases_cite_the_expected_articles():
    basis = {r.id: r.legal_basis for r in load_rules()}
    assert "妇女权益保障法" in basis["marriage_childbearing"] and "第四十三条" in basis["marriage_childbearing"]
    assert "第四十三条" in basis["gender"] and "第二十七条" in basis["gender"]
    assert "第三十一条" in basis["region"]
    assert "第二十八条" in basis["ethnicity"]
    assert "第二十九条" in basis["health"] and "第三十条" in basis["health"] and "残疾人保障法" in basis["health"]
    assert "宗教" in load_rules()[[r.id for r in load_rules()].index("religion")].title


def test_every_pattern_in_the_file_compiles():
    raw = yaml.safe_load(Path(DEFAULT_RULES_PATH).read_text(encoding="utf-8"))

    def walk(node, where):
        if isinstance(node, str):
            re.compile(node)
        elif isinstance(node, list):
            for i, x in enumerate(node):
                walk(x, f"{where}[{i}]")
        elif isinstance(node, dict):
            for k, v in node.items():
                if k in ("pattern", "unless_clause") or where.endswith("match") or where.startswith("targeting"):
                    walk(v, f"{where}.{k}")
                elif isinstance(v, (list, dict)):
                    walk(v, f"{where}.{k}")

    for rule in raw["rules"]:
        walk(rule.get("match", {}), f"{rule['id']}.match")
    for k, v in raw["targeting"].items():
        walk(v, f"targeting.{k}")


def _write_rules(tmp_path, mutate) -> Path:
    raw = yaml.safe_load(Path(DEFAULT_RULES_PATH).read_text(encoding="utf-8"))
    mutate(raw)
    p = tmp_path / "rules.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def _rule(raw, rid):
    return next(r for r in raw["rules"] if r["id"] == rid)


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda raw: _rule(raw, "age").pop("legal_basis"), "legal_basis"),
        (lambda raw: _rule(raw, "age").update(severity="warning"), "severity"),
        (lambda raw: _rule(raw, "leading_question").update(severity="error"), "severity"),
        (lambda raw: _rule(raw, "age").update(category="law"), "category"),
        (lambda raw: _rule(raw, "age")["match"]["attributes"].append("(unclosed"), "regular expression"),
        (lambda raw: _rule(raw, "age").update(legal_basis="就业促进法"), "第…条"),
        (lambda raw: _rule(raw, "too_short").update(check="nonsense"), "unknown check"),
        (lambda raw: _rule(raw, "region").update(check="closed"), "must be 'sensitive'"),
        (lambda raw: _rule(raw, "too_long")["match"].update(max_chars="many"), "max_chars"),
        (lambda raw: _rule(raw, "health").update(id="health"), None),  # unchanged: loads fine
    ],
)
def test_malformed_rule_names_file_and_rule(tmp_path, mutate, expect):
    p = _write_rules(tmp_path, mutate)
    if expect is None:
        assert load_rules(p)
        return
    with pytest.raises(DataError) as info:
        load_rules(p)
    msg = str(info.value)
    assert str(p) in msg and expect in msg
    if "rule" in msg and "targeting" not in msg:
        assert re.search(r"rule '(age|leading_question|region|too_long|too_short)'", msg), msg


def test_duplicate_and_non_ascii_ids_are_rejected(tmp_path):
    p = _write_rules(tmp_path, lambda raw: raw["rules"].append(dict(raw["rules"][0])))
    with pytest.raises(DataError, match="duplicate rule id 'marriage_childbearing'"):
        load_rules(p)
    p = _write_rules(tmp_path, lambda raw: raw["rules"][0].update(id="婚育"))
    with pytest.raises(DataError, match="non-ASCII id"):
        load_rules(p)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_rules(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(DataError, match="not valid YAML"):
        load_rules(bad)


def test_custom_rule_subset_is_honoured():
    only_age = [r for r in load_rules() if r.id == "age"]
    assert {f["rule_id"] for f in lint_text("你今年多大？家里催婚吗？", rules=only_age)} == {"age"}
