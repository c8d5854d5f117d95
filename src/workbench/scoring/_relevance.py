"""Keep the sentences of an answer that are about the job; drop the rest before scoring.

A sentence is relevant when it carries any anchor of interview content: a behavioural-interview cue (first-person
action, quantified result, STAR marker), a term of the competency dictionary (keywords, evidence phrases, and the
words of the competency's definition, indicators and BARS), or a banking term. Chit-chat, weather, hobbies and
other padding carry none and are removed, so appending them cannot move a score; the *number* of relevant
sentences is kept as a feature so an entirely off-topic answer still scores low.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ._features import _FIRST_PERSON_ACTION, _NUMBER, _PATTERNS

__all__ = ["RelevanceFilter", "relevant_sentences", "anchor_words"]

_SENTENCE = re.compile(r"(?<=[。！？!?；;\n])")
_GENERIC = {
    "我们", "一个", "能够", "进行", "相关", "以及", "或者", "没有", "可以", "需要", "已经", "时候", "这个", "那个", "什么", "自己", "大家", "比较",
    "非常", "一些", "一下", "很多", "觉得", "认为", "知道", "还是", "但是", "因为", "所以", "如果", "虽然", "然后", "之后", "之前", "一定", "有效",
    "主动", "问题", "情况", "方面", "要求", "清楚", "明确", "及时", "准确", "具体", "基本", "完全", "持续", "积极", "能力", "事情", "处理",
}
_BANKING = re.compile(r"客户|银行|网点|柜面|柜员|业务|账户|支行|分行|贷款|授信|风险|合规|监管|理财|基金|存款|转账|开户|现金|反洗钱|审批|流程|制度|同事|领导|主管|团队|系统|报表|核查|投诉|服务|产品|指标|考核|实习|项目|部门")


@lru_cache(maxsize=1)
def anchor_words() -> dict[str, frozenset[str]]:
    """Competency id → domain words (len ≥ 2) from its dictionary entry; "" → the union."""
    from ..competency import load_dictionary
    from ._tokenize import tokenize_rjieba

    table: dict[str, frozenset[str]] = {}
    for cid, comp in load_dictionary().competencies.items():
        text = " ".join([comp.name, comp.definition, *(i.text for i in comp.indicators), *comp.bars.values()])
        words = {w for w in tokenize_rjieba(text) if len(w) >= 2 and not re.fullmatch(r"[\W\d_]+", w)}
        words |= {w for w in (*comp.keywords, *comp.positive_evidence, *comp.negative_evidence) if len(w) >= 2}
        # Only words that are uncommon in general Chinese anchor a sentence (jieba's corpus frequency): 合规, 复核,
        # 尽职调查 do; 适合, 经常, 目标 do not.
        table[cid] = frozenset(w for w in words - _GENERIC if _general_frequency(w) <= _MAX_GENERAL_FREQ)
    table[""] = frozenset(set().union(*table.values()))
    return table


_MAX_GENERAL_FREQ = 1500


def _general_frequency(word: str) -> int:
    return _jieba_freq().get(word, 0)


@lru_cache(maxsize=1)
def _jieba_freq() -> dict[str, int]:
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba.dt.FREQ


def _is_relevant(sentence: str, anchors: frozenset[str]) -> bool:
    # Domain content or a first-person action is relevant on its own; generic markers (numbers, 最后, 当时) only
    # when the candidate speaks about themself — "最后一分钟绝杀" about last night's match is not.
    if _BANKING.search(sentence) or _FIRST_PERSON_ACTION.search(sentence) or any(word in sentence for word in anchors):
        return True
    if "我" in sentence and (_NUMBER.search(sentence) or any(p.search(sentence) for key, p in _PATTERNS.items() if key in ("situation", "task", "action_steps", "result"))):
        return True
    return False


def relevant_sentences(text: str, competency: str = "") -> list[str]:
    return list(_relevant_cached(text or "", competency or ""))


@lru_cache(maxsize=200_000)
def _relevant_cached(text: str, competency: str) -> tuple[str, ...]:
    table = anchor_words()
    anchors = table.get(competency, table[""])
    return tuple(s for s in _SENTENCE.split(text) if s.strip() and _is_relevant(s, anchors))


class RelevanceFilter(TransformerMixin, BaseEstimator):
    """DataFrame (answer, competency) → same frame with irrelevant sentences removed and ``n_relevant`` added."""

    def __init__(self, *, enabled: bool = True, mask_terms: tuple = ()):
        self.enabled = enabled
        self.mask_terms = mask_terms

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        out = X.copy()
        if self.mask_terms:  # proxy terms (e.g. dialect words) removed before anything else sees the text
            import re as _re

            pattern = _re.compile("|".join(_re.escape(t) for t in sorted(self.mask_terms, key=len, reverse=True)))
            out["answer"] = [pattern.sub("", t or "") for t in out["answer"]]
        if not self.enabled:
            out["n_relevant"] = np.log1p([len(_SENTENCE.split(t or "")) for t in out["answer"]])
            return out
        kept = [relevant_sentences(t, c) for t, c in zip(out["answer"], out["competency"])]
        out["answer"] = ["".join(k) for k in kept]
        out["n_relevant"] = np.log1p(np.minimum([len(k) for k in kept], 12))
        return out

    def get_feature_names_out(self, input_features=None):
        return np.array(["answer", "competency", "n_relevant"], dtype=object)
