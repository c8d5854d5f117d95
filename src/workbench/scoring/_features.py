"""Hand-built features of interview answers: dictionary evidence with negation scope, and behavioural-interview
(BEI/STAR) cues. All are counts capped per answer, never densities or raw length, so appending irrelevant text
neither adds nor dilutes them (padding must not buy score)."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["EVIDENCE_FEATURES", "BEI_FEATURES", "EvidenceFeatures", "BEIFeatures", "evidence_hits", "split_clauses"]

_CLAUSE = re.compile(r"[，。；！？,.;!?\n、：:]+")
# Negation cues that scope over a phrase later in the same clause …
_NEG_BEFORE = ("不会", "不能", "不可", "不得", "不要", "不该", "不应", "绝不", "决不", "从不", "从来不", "从没", "没有", "没", "未", "别",
               "拒绝", "杜绝", "避免", "防止", "反对", "不认同", "不赞同", "不接受", "不允许", "不去", "不肯", "没想到要", "没顾上", "不再")
# … and cues after the phrase that reject it ("“先斩后奏”这种做法我是坚决反对的").
_NEG_AFTER = ("反对", "行不通", "不可取", "不认同", "要不得", "不能做", "不允许", "是错的", "不应该", "没做到", "没必要", "不在意", "没太在意")

EVIDENCE_FEATURES = ("pos_affirmed", "pos_negated", "neg_affirmed", "neg_negated", "evidence_net")
BEI_FEATURES = (
    "first_person_actions", "quantified", "situation", "task", "action_steps", "result", "reflection", "hedges", "generic_claims",
    "domain_terms", "star_complete",
)

_FIRST_PERSON_ACTION = re.compile(r"我(?:们)?(?:先|首先|马上|立即|立刻|主动|及时|就|又|还|会|把|跟|和|向|给|对|通过|按照|根据|请|带|组织|整理|核实|核对|联系|提醒|梳理|牵头|负责|设计|制定|推动|协调|安排|查|做了|写了|发起|建议|核查|复核|上报|汇报)")
_NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千万]+)\s*(?:%|％|个百分点|万元|亿元|元|万|笔|名|位|家|户|个|天|周|月|年|小时|分钟|倍|次|项|条|份|人)")
_PATTERNS = {
    "situation": re.compile(r"那是|当时|有一次|之前|记得|那次|实习(?:期间|时|的时候)|在.{0,8}(?:期间|的时候)|去年|大[一二三四]"),
    "task": re.compile(r"任务|需要|目标|负责|要求我|职责"),
    "action_steps": re.compile(r"首先|第一步|接下来|然后|其次|同时|最后我|具体来说|我的做法"),
    "result": re.compile(r"最后|结果|最终|从结果|后来|效果|减少了|提升了|下降了|增加了|提高了|降低了|完成了|避免了|挽回"),
    "reflection": re.compile(r"让我明白|学到|收获|反思|体会|意识到|教训|成长|以后我"),
    "hedges": re.compile(r"我觉得吧|可能|大概|应该是|好像|估计|说不清|不太清楚|差不多|怎么说呢|也许|或许|不一定"),
    "generic_claims": re.compile(r"我这个人|学习能力(?:很|比较)?强|我会尽力|我有很强|我是一个|责任心|团队精神|吃苦耐劳|性格开朗|认真负责"),
}


def split_clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(text or "") if c.strip()]


def _negated(clause: str, start: int, end: int) -> bool:
    before, after = clause[:start], clause[end:]
    return any(cue in before for cue in _NEG_BEFORE) or any(cue in after for cue in _NEG_AFTER)


def evidence_hits(text: str, positive: tuple[str, ...], negative: tuple[str, ...]) -> dict[str, int]:
    """Count dictionary evidence phrases, split by whether a negation scopes over them in their clause."""
    counts = dict.fromkeys(("pos_affirmed", "pos_negated", "neg_affirmed", "neg_negated"), 0)
    for clause in split_clauses(text):
        for phrases, label in ((positive, "pos"), (negative, "neg")):
            for phrase in phrases:
                at = clause.find(phrase)
                if at < 0:
                    continue
                counts[f"{label}_{'negated' if _negated(clause, at, at + len(phrase)) else 'affirmed'}"] += 1
    return counts


@lru_cache(maxsize=1)
def _evidence_table() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    from ..competency import load_dictionary

    d = load_dictionary()
    table = {cid: (c.positive_evidence, c.negative_evidence) for cid, c in d.competencies.items()}
    table[""] = (tuple(sorted({p for c in d.competencies.values() for p in c.positive_evidence})), tuple(sorted({p for c in d.competencies.values() for p in c.negative_evidence})))
    return table


@lru_cache(maxsize=1)
def _domain_terms() -> tuple[str, ...]:
    from ..competency import load_dictionary

    return tuple(sorted({k for c in load_dictionary().competencies.values() for k in c.keywords if len(k) >= 2}))


def _cap(n: int, cap: int = 4) -> float:
    return float(np.log1p(min(n, cap)))


class EvidenceFeatures(TransformerMixin, BaseEstimator):
    """Competency evidence counts with negation scope. Input: DataFrame with ``answer`` and ``competency``."""

    def __init__(self, *, cap: int = 4):
        self.cap = cap

    def fit(self, X, y=None):
        self.n_features_in_ = 2
        return self

    def transform(self, X) -> np.ndarray:
        table = _evidence_table()
        comps = X["competency"] if "competency" in X.columns else pd.Series("", index=X.index)
        rows = []
        for text, comp in zip(X["answer"], comps):
            pos, neg = table.get(comp if isinstance(comp, str) else "", table[""])
            c = evidence_hits(text, pos, neg)
            net = c["pos_affirmed"] + c["neg_negated"] - c["pos_negated"] - c["neg_affirmed"]
            rows.append([_cap(c["pos_affirmed"], self.cap), _cap(c["pos_negated"], self.cap), _cap(c["neg_affirmed"], self.cap), _cap(c["neg_negated"], self.cap), float(np.clip(net, -self.cap, self.cap))])
        return np.asarray(rows, dtype=float).reshape(-1, len(EVIDENCE_FEATURES))

    def get_feature_names_out(self, input_features=None):
        return np.array([f"evidence:{n}" for n in EVIDENCE_FEATURES], dtype=object)


class BEIFeatures(TransformerMixin, BaseEstimator):
    """Behavioural-interview cues: first-person actions, quantified results, STAR moves, hedging, empty claims."""

    def __init__(self, *, cap: int = 4):
        self.cap = cap

    def fit(self, X, y=None):
        self.n_features_in_ = 1
        return self

    def transform(self, X) -> np.ndarray:
        terms = _domain_terms()
        rows = []
        for text in X["answer"]:
            text = text or ""
            moves = {name: len(p.findall(text)) for name, p in _PATTERNS.items()}
            star = sum(1 for k in ("situation", "task", "action_steps", "result") if moves[k] > 0)
            rows.append(
                [
                    _cap(len(_FIRST_PERSON_ACTION.findall(text)), self.cap),
                    _cap(len(_NUMBER.findall(text)), self.cap),
                    _cap(moves["situation"], self.cap),
                    _cap(moves["task"], self.cap),
                    _cap(moves["action_steps"], self.cap),
                    _cap(moves["result"], self.cap),
                    _cap(moves["reflection"], self.cap),
                    _cap(moves["hedges"], self.cap),
                    _cap(moves["generic_claims"], self.cap),
                    _cap(sum(1 for t in terms if t in text), self.cap),
                    star / 4.0,
                ]
            )
        return np.asarray(rows, dtype=float).reshape(-1, len(BEI_FEATURES))

    def get_feature_names_out(self, input_features=None):
        return np.array([f"bei:{n}" for n in BEI_FEATURES], dtype=object)
