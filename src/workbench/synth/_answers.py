"""Compose a natural Chinese interview answer from a quality level (1–5) and phrase banks.

The level decides the *moves* (STAR: situation, task, action, result), how concrete the actions are, whether
results are quantified, how much hedging and empty talk there is, and which traps appear:

* negated lapses in good answers ("我绝对不会睁一只眼闭一只眼") — a naive keyword count reads them as bad;
* negated good practice in weak answers ("当时没想到要双人复核") — a naive count reads them as good;
* paraphrases that carry the evidence without the dictionary's keywords.

Surface noise independent of the level: fillers, typos, English words, rare characters in names, padding,
very short and very long answers, and (when the proxy knob is on) regional dialect words.

``phrasing="B"`` composes the same moves with the same probabilities from the disjoint B banks and never inserts
the competency dictionary's evidence phrases: the keyword move names a good practice in the candidate's own words
(``material.good_practices`` in ``lang.practice_frames``), and the traps negate B's own lapses and practices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..competency import Competency
from ._material import CompetencyMaterial, LanguageBank

__all__ = ["AnswerPlan", "compose_answer", "LEVEL_TABLE"]

# Probability (or count) of each move by level 1..5. Rows are indexed level-1.
LEVEL_TABLE = {
    "situation": (0.25, 0.5, 0.75, 0.9, 0.95),
    "task": (0.1, 0.3, 0.55, 0.8, 0.9),
    "strong_actions": ((0, 0), (0, 1), (1, 2), (2, 3), (3, 4)),  # inclusive range
    "weak_actions": ((1, 2), (1, 2), (0, 1), (0, 0), (0, 0)),
    "quantified_result": (0.0, 0.1, 0.35, 0.7, 0.9),
    "vague_result": (0.4, 0.5, 0.45, 0.2, 0.05),
    "reflection": (0.0, 0.1, 0.3, 0.55, 0.75),
    "generic_claims": ((1, 2), (1, 2), (0, 1), (0, 1), (0, 0)),
    "hedges": ((1, 3), (1, 2), (0, 1), (0, 1), (0, 0)),
    "affirmed_lapse": (0.55, 0.3, 0.0, 0.0, 0.0),
    "negated_good": (0.4, 0.35, 0.05, 0.0, 0.0),
    "negated_lapse": (0.0, 0.05, 0.25, 0.45, 0.55),
    "paraphrase": (0.0, 0.05, 0.3, 0.5, 0.6),
    "keyword": (0.05, 0.15, 0.35, 0.55, 0.7),
    "off_topic": (0.3, 0.1, 0.03, 0.0, 0.0),
}

_QUOTE_NEGATION = ("“{p}”这种做法我是坚决反对的", "我不认同“{p}”这种想法", "哪怕再忙，也不能“{p}”", "“{p}”在我这里是行不通的")
_QUOTE_AFFIRM = ("有时候“{p}”也是没办法的事", "说实话，“{p}”在基层挺常见的，我也能理解")
_QUOTE_NEG_GOOD = ("说到{p}，我当时其实没做到", "{p}这一步我当时觉得没必要", "当时没顾上{p}")
_HYPOTHETICAL_LEAD = ("这让我想起，", "类似的情况我以前遇到过：", "我举个相近的例子，")
_NAME_MENTIONS = ("当时和我一起的同事{name}也帮了不少忙。", "带我的师傅{name}后来也认可了这个做法。", "客户{name}事后还专门表示了感谢。")
_CN_DIGITS = "零一二三四五六七八九十"


@dataclass
class AnswerPlan:
    """What the generator put in an answer: the ground truth for tests and for the trap statistics."""

    level: int
    moves: list[str] = field(default_factory=list)
    traps: list[str] = field(default_factory=list)
    trap_phrases: list[str] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def _count(rng: np.random.Generator, lo_hi) -> int:
    lo, hi = lo_hi
    return int(rng.integers(lo, hi + 1))


def _number_text(rng: np.random.Generator, value: int) -> str:
    if value <= 10 and rng.random() < 0.3:
        return _CN_DIGITS[value] if value < 10 else "十"
    return str(value)


def _fill(rng: np.random.Generator, template: str) -> str:
    n = _number_text(rng, int(rng.integers(2, 13)))
    pct = str(int(rng.integers(5, 61)))
    amount = str(int(rng.choice([10, 20, 30, 50, 80, 100, 150, 200, 300, 500, 800])))
    return template.format(n=n, pct=pct, amount=amount)


def _sentence(text: str) -> str:
    text = text.strip().rstrip("，,。.;；")
    return text + "。"


def _usable_good(phrase: str) -> bool:
    return not phrase.startswith(("不", "没", "无", "拒", "杜绝", "避免"))


def compose_answer(
    rng: np.random.Generator,
    *,
    level: int,
    question_type: str,
    material: CompetencyMaterial,
    competency: Competency,
    lang: LanguageBank,
    verbosity: float = 0.0,
    dialect_words: tuple[str, ...] = (),
    dialect_rate: float = 0.0,
    phrasing: str = "A",
) -> tuple[str, AnswerPlan]:
    """Return ``(answer_text, plan)`` for one answer at ``level`` (1–5) in ``phrasing`` ("A" or "B")."""
    own_words = phrasing == "B"  # B: nothing from the dictionary, every phrase from the B banks
    i = level - 1
    plan = AnswerPlan(level=level)
    parts: list[str] = []
    hypothetical = question_type == "情景"

    def chance(key: str) -> bool:
        return bool(rng.random() < LEVEL_TABLE[key][i])

    # Very short answers: some weak candidates say one sentence and stop.
    if level <= 2 and rng.random() < 0.12:
        text = _sentence(_pick(rng, lang.generic_claims))
        plan.moves.append("short")
        return _surface(rng, text, plan, lang, dialect_words, dialect_rate, allow_names=False), plan

    if chance("off_topic"):
        plan.moves.append("off_topic")
        parts.append(_sentence(_pick(rng, lang.openers)))
        for _ in range(int(rng.integers(2, 5))):
            parts.append(_sentence(_pick(rng, lang.off_topic)))
        if rng.random() < 0.5:
            parts.append(_sentence(_pick(rng, lang.generic_claims)))
        return _surface(rng, "".join(parts), plan, lang, dialect_words, dialect_rate), plan

    if rng.random() < 0.6:
        parts.append(_sentence(_pick(rng, lang.openers)))
    for _ in range(_count(rng, LEVEL_TABLE["hedges"][i])):
        parts.append(_pick(rng, lang.hedges).rstrip("，,。") + "，")
    if not hypothetical and chance("situation"):
        plan.moves.append("S")
        parts.append(_sentence(_pick(rng, lang.situation_lead) + _pick(rng, material.situations)))
    elif hypothetical and chance("situation"):
        plan.moves.append("S")
        parts.append(_sentence(_pick(rng, lang.fields.get("hypothetical_lead", _HYPOTHETICAL_LEAD)) + _pick(rng, material.situations)))
    if chance("task"):
        plan.moves.append("T")
        parts.append(_sentence(_pick(rng, material.tasks)))

    strong = _count(rng, LEVEL_TABLE["strong_actions"][i])
    weak = _count(rng, LEVEL_TABLE["weak_actions"][i])
    actions = list(rng.choice(len(material.actions_strong), size=min(strong, len(material.actions_strong)), replace=False))
    for k, idx in enumerate(actions):
        plan.moves.append("A")
        text = material.actions_strong[int(idx)]
        if hypothetical:
            text = text.replace("我先", "我会先").replace("我就", "我会").replace("我又", "我还会")
        lead = _pick(rng, lang.action_lead) if k and rng.random() < 0.6 else ""
        if lead and "我" in lead and text.startswith("我"):
            text = text[1:]
        parts.append(_sentence(lead + text if lead and not text.startswith(lead) else text))
    for _ in range(weak):
        plan.moves.append("a")
        parts.append(_sentence(_pick(rng, material.actions_weak)))

    if chance("keyword"):
        if own_words:
            plan.moves.append("K")
            parts.append(_sentence(_pick(rng, lang.practice_frames).format(good=_pick(rng, material.good_practices))))
        elif competency.positive_evidence:
            plan.moves.append("K")
            phrase = _pick(rng, competency.positive_evidence)
            parts.append(_sentence(f"在这个过程中，{phrase}是我特别注意的一点"))
    if chance("paraphrase"):
        plan.moves.append("P")
        parts.append(_sentence(_pick(rng, material.paraphrases)))
    if chance("negated_lapse"):
        plan.traps.append("negated_lapse")
        if not own_words and competency.negative_evidence and rng.random() < 0.6:
            phrase = _pick(rng, competency.negative_evidence)
            parts.append(_sentence(_pick(rng, _QUOTE_NEGATION).format(p=phrase)))
        else:
            phrase = _pick(rng, material.lapses)
            parts.append(_sentence(_pick(rng, lang.negation_frames).format(lapse=phrase)))
        plan.trap_phrases.append(phrase)
    if chance("affirmed_lapse"):
        plan.moves.append("L")
        if not own_words and competency.negative_evidence and rng.random() < 0.4:
            parts.append(_sentence(_pick(rng, _QUOTE_AFFIRM).format(p=_pick(rng, competency.negative_evidence))))
        else:
            parts.append(_sentence(_pick(rng, lang.affirm_frames).format(lapse=_pick(rng, material.lapses))))
    goods = list(material.good_practices) if own_words else [g for g in competency.positive_evidence if _usable_good(g)]
    if goods and chance("negated_good"):
        plan.traps.append("negated_good")
        phrase = _pick(rng, goods)
        if not own_words and rng.random() < 0.7:
            parts.append(_sentence(_pick(rng, _QUOTE_NEG_GOOD).format(p=phrase)))
        else:
            parts.append(_sentence(_pick(rng, lang.negated_positive_frames).format(good=phrase)))
        plan.trap_phrases.append(phrase)

    if chance("quantified_result"):
        plan.moves.append("R")
        lead = _pick(rng, lang.result_lead) if rng.random() < 0.6 else ""
        parts.append(_sentence(lead + _fill(rng, _pick(rng, material.results))))
    elif chance("vague_result"):
        plan.moves.append("r")
        parts.append(_sentence(_pick(rng, material.results_vague)))
    if material.stances and level >= 3 and rng.random() < 0.35:
        plan.moves.append("V")
        parts.append(_sentence(_pick(rng, material.stances)))
    if chance("reflection"):
        plan.moves.append("Z")
        parts.append(_sentence(_pick(rng, lang.reflection)))
    for _ in range(_count(rng, LEVEL_TABLE["generic_claims"][i])):
        plan.moves.append("G")
        parts.append(_sentence(_pick(rng, lang.generic_claims)))
    if rng.random() < 0.35:
        parts.append(_sentence(_pick(rng, lang.closers)))

    # Padding: chatty candidates add irrelevant sentences; it must not buy score (raters ignore it).
    n_pad = int(rng.poisson(max(0.0, 0.35 + 0.6 * verbosity)))
    if rng.random() < 0.02:  # the long tail: a rambling answer
        n_pad += int(rng.integers(15, 40))
        plan.noise.append("very_long")
    if n_pad:
        plan.noise.append(f"padding:{n_pad}")
        for _ in range(n_pad):
            parts.insert(int(rng.integers(1, len(parts) + 1)), _sentence(_pick(rng, lang.padding)))
    return _surface(rng, "".join(parts), plan, lang, dialect_words, dialect_rate), plan


def _surface(
    rng: np.random.Generator,
    text: str,
    plan: AnswerPlan,
    lang: LanguageBank,
    dialect_words: tuple[str, ...],
    dialect_rate: float,
    *,
    allow_names: bool = True,
) -> str:
    if rng.random() < 0.35:
        filler = _pick(rng, lang.fillers).rstrip("，,。")
        cut = text.find("。")
        if 0 < cut < len(text) - 1:
            text = text[: cut + 1] + filler + "，" + text[cut + 1 :]
            plan.noise.append("filler")
    if rng.random() < 0.12:
        word = _pick(rng, lang.english_mix)
        cut = text.find("，")
        if cut > 0:
            text = text[:cut] + f"，{word}" + text[cut:]
            plan.noise.append("english")
    if allow_names and rng.random() < 0.06:
        given = _pick(rng, lang.given_names_rare) if rng.random() < 0.35 else _pick(rng, lang.given_names)
        name = _pick(rng, lang.surnames) + given
        text += _pick(rng, lang.fields.get("name_mentions", _NAME_MENTIONS)).format(name=name)
        plan.noise.append("name")
    if rng.random() < 0.15:
        pairs = [p for p in lang.typos if p[0] in text]
        if pairs:
            right, wrong = pairs[int(rng.integers(len(pairs)))]
            text = text.replace(right, wrong, 1)
            plan.noise.append("typo")
    if dialect_words and rng.random() < dialect_rate:
        for _ in range(int(rng.integers(1, 3))):
            word = _pick(rng, dialect_words)
            cut = [k for k, ch in enumerate(text) if ch == "，"]
            pos = cut[int(rng.integers(len(cut)))] + 1 if cut else 0
            text = text[:pos] + word + "，" + text[pos:]
        plan.noise.append("dialect")
    return text
