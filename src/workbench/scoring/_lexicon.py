"""Word lists behind the hand-built answer features (relevance anchors, BEI/STAR cues, negation cues, evidence).

Every list is literal so one vectorised matcher pass finds all of them at once (see ``_featurize``); the two cues that
need a pattern (quantities, "在……期间") are regular expressions. Counts are occurrences of list entries, and
entries of one list never contain each other, so an occurrence is counted once per list.
"""

from __future__ import annotations

import re

__all__ = ["CUE_LISTS", "NEG_BEFORE", "NEG_AFTER", "NUMBER", "NUMBER_SCAN", "SITUATION_SPAN", "GENERIC_WORDS", "anchor_words", "domain_terms", "evidence_phrases", "rubric_texts"]

# Verbs/adverbs that make "我…" / "我们…" a first-person action (我先核实, 我们主动联系 …)
_ACTION_HEADS = ("先", "首先", "马上", "立即", "立刻", "主动", "及时", "就", "又", "还", "会", "把", "跟", "和", "向", "给", "对", "通过",
                 "按照", "根据", "请", "带", "组织", "整理", "核实", "核对", "联系", "提醒", "梳理", "牵头", "负责", "设计", "制定", "推动",
                 "协调", "安排", "查", "做了", "写了", "发起", "建议", "核查", "复核", "上报", "汇报")

CUE_LISTS: dict[str, tuple[str, ...]] = {
    # relevance: banking vocabulary makes a sentence about the job on its own
    "banking": ("客户", "银行", "网点", "柜面", "柜员", "业务", "账户", "支行", "分行", "贷款", "授信", "风险", "合规", "监管", "理财", "基金",
                "存款", "转账", "开户", "现金", "反洗钱", "审批", "流程", "制度", "同事", "领导", "主管", "团队", "系统", "报表", "核查",
                "投诉", "服务", "产品", "指标", "考核", "实习", "项目", "部门"),
    "first_person_actions": tuple(p + h for p in ("我", "我们") for h in _ACTION_HEADS),
    "situation": ("那是", "当时", "有一次", "之前", "记得", "那次", "实习期间", "实习时", "实习的时候", "去年", "大一", "大二", "大三", "大四"),
    "task": ("任务", "需要", "目标", "负责", "要求我", "职责"),
    "action_steps": ("首先", "第一步", "接下来", "然后", "其次", "同时", "最后我", "具体来说", "我的做法"),
    "result": ("最后", "结果", "最终", "后来", "效果", "减少了", "提升了", "下降了", "增加了", "提高了", "降低了", "完成了", "避免了", "挽回"),
    "reflection": ("让我明白", "学到", "收获", "反思", "体会", "意识到", "教训", "成长", "以后我"),
    "hedges": ("我觉得吧", "可能", "大概", "应该是", "好像", "估计", "说不清", "不太清楚", "差不多", "怎么说呢", "也许", "或许", "不一定"),
    "generic_claims": ("我这个人", "学习能力强", "学习能力很强", "学习能力比较强", "我会尽力", "我有很强", "我是一个", "责任心", "团队精神",
                       "吃苦耐劳", "性格开朗", "认真负责"),
}

# Negation cues that scope over an evidence phrase later in the same clause …
NEG_BEFORE = ("不会", "不能", "不可", "不得", "不要", "不该", "不应", "绝不", "决不", "从不", "从来不", "从没", "没有", "没", "未", "别",
              "拒绝", "杜绝", "避免", "防止", "反对", "不认同", "不赞同", "不接受", "不允许", "不去", "不肯", "没想到要", "没顾上", "不再")
# … and cues after the phrase that reject it ("“先斩后奏”这种做法我是坚决反对的").
NEG_AFTER = ("反对", "行不通", "不可取", "不认同", "要不得", "不能做", "不允许", "是错的", "不应该", "没做到", "没必要", "不在意", "没太在意")

# Quantities (3 笔, 两个百分点, 20%) and "在……期间/的时候" need patterns; neither crosses a sentence end.
NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千万]+)[ \t\u3000]*(?:%|％|个百分点|万元|亿元|元|万|笔|名|位|家|户|个|天|周|月|年|小时|分钟|倍|次|项|条|份|人)")
# NUMBER's matches, found ~3× faster in a long text: a pattern that opens with one character class lets the regex
# engine skip straight to the candidate characters (an alternation of classes makes it try every position); the
# first character decides the branch, as in NUMBER (no numeral is a \d). The featurizer uses this one.
_NUMERALS = "一二两三四五六七八九十百千万"
NUMBER_SCAN = re.compile(NUMBER.pattern.replace(rf"(?:\d+(?:\.\d+)?|[{_NUMERALS}]+)",
                                                rf"[\d{_NUMERALS}](?:(?<=\d)\d*(?:\.\d+)?|(?<=[{_NUMERALS}])[{_NUMERALS}]*)", 1))
SITUATION_SPAN = re.compile(r"在[^\x00。！？!?；;\n]{0,8}(?:期间|的时候)")

# Words too common to anchor a sentence to the job even when a competency's definition uses them.
GENERIC_WORDS = frozenset({
    "我们", "一个", "能够", "进行", "相关", "以及", "或者", "没有", "可以", "需要", "已经", "时候", "这个", "那个", "什么", "自己", "大家", "比较",
    "非常", "一些", "一下", "很多", "觉得", "认为", "知道", "还是", "但是", "因为", "所以", "如果", "虽然", "然后", "之后", "之前", "一定", "有效",
    "主动", "问题", "情况", "方面", "要求", "清楚", "明确", "及时", "准确", "具体", "基本", "完全", "持续", "积极", "能力", "事情", "处理",
})
_MAX_GENERAL_FREQ = 1500  # jieba corpus frequency above which a word is general Chinese, not job content


def _cached_by_dictionary(func):
    """Cache a derivation of the dictionary by its content hash (a run's own dictionary, never a global default)."""
    cache: dict[str, object] = {}

    def wrapper(dictionary):
        key = dictionary.sha256
        if key not in cache:
            if len(cache) >= 4:
                cache.clear()
            cache[key] = func(dictionary)
        return cache[key]

    wrapper.__doc__ = func.__doc__
    wrapper.__name__ = func.__name__
    return wrapper


@_cached_by_dictionary
def anchor_words(dictionary) -> dict[str, tuple[str, ...]]:
    """Competency id → words (length ≥ 2) that tie a sentence to that competency; "" → their union.

    Taken from the competency dictionary (name, definition, indicators, BARS, keywords, evidence phrases), keeping
    only words that are uncommon in general Chinese by jieba's corpus frequency: 合规, 复核, 尽职调查 anchor a
    sentence, 适合, 经常, 目标 do not. Only the optional relevance filter uses them.
    """
    import jieba

    from ._tokenize import raw_cutter

    jieba.setLogLevel(60)
    jieba.initialize()
    freq = jieba.dt.FREQ
    cut = raw_cutter("rjieba", dictionary.user_words())
    table: dict[str, tuple[str, ...]] = {}
    for cid, comp in dictionary.competencies.items():
        text = " ".join([comp.name, comp.definition, *(i.text for i in comp.indicators), *comp.bars.values()])
        words = {w for w in cut(text) if len(w) >= 2 and not re.fullmatch(r"[\W\d_]+", w)}
        words |= {w for w in (*comp.keywords, *comp.positive_evidence, *comp.negative_evidence) if len(w) >= 2}
        table[cid] = tuple(sorted(w for w in words - GENERIC_WORDS if freq.get(w, 0) <= _MAX_GENERAL_FREQ))
    table[""] = tuple(sorted(set().union(*table.values())))
    return table


@_cached_by_dictionary
def domain_terms(dictionary) -> tuple[str, ...]:
    """Dictionary keywords of length ≥ 2 (the BEI ``domain_terms`` feature counts the distinct ones an answer uses)."""
    return tuple(sorted({k for c in dictionary.competencies.values() for k in c.keywords if len(k) >= 2}))


@_cached_by_dictionary
def evidence_phrases(dictionary) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Competency id → (positive, negative) evidence phrases; "" → the unions (answers without a competency)."""
    d = dictionary
    table = {cid: (tuple(c.positive_evidence), tuple(c.negative_evidence)) for cid, c in d.competencies.items()}
    table[""] = (tuple(sorted({p for c in d.competencies.values() for p in c.positive_evidence})),
                 tuple(sorted({p for c in d.competencies.values() for p in c.negative_evidence})))
    return table


@_cached_by_dictionary
def rubric_texts(dictionary) -> dict[str, str]:
    """Competency id → its rubric wording (BARS levels and behavioural indicators), for the copied-rubric advisory."""
    return {cid: "。".join([*c.bars.values(), *(i.text for i in c.indicators)]) for cid, c in dictionary.competencies.items()}
