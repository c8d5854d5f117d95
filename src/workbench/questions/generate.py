"""Question generation from competency indicators: scenario libraries and slot filling, reproducible by seed.

Every competency of every role gets ``per_competency`` (≥ 3) questions mixing three types:

* 情景 (situational): a scenario from the competency's library put in one of several frames;
* 行为 (behavioural/BEI): a past-behaviour topic in one of several STAR prompts;
* 文化 (values/culture fit): a dilemma, a value statement to discuss, or a conflict with targets.

Each question is mapped to role, competency and one behavioural indicator (round-robin) and carries a 1–5
rubric derived from the competency's BARS and the indicator. Near-duplicates are avoided by construction
(distinct scenario/topic per question of a competency) and checked afterwards.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..competency import CompetencyDictionary
from ..errors import ConfigurationError

__all__ = ["generate_question_bank", "TYPE_MIX", "rubric_text"]

TYPE_MIX = {
    "professional": ("情景", "行为", "情景", "行为", "文化"),
    "general": ("行为", "情景", "行为", "情景", "行为"),
    "culture": ("文化", "行为", "情景", "文化", "行为"),
}

_SITUATIONAL = (
    "假设{scenario}，你会如何处理？请说明你的考虑。",
    "设想这样一个情境：{scenario}。请说说你的处理步骤和理由。",
    "如果{scenario}，你首先会做什么？接下来又会怎么做？",
    "{context}，{scenario}。此时你会怎么做？为什么？",
)
_BEHAVIOURAL = (
    "请描述一次你{topic}的经历：当时是什么情况，你具体做了什么，结果如何？",
    "请举一个你{topic}的具体例子，重点说说你本人采取的行动和最终结果。",
    "回想一次你{topic}的经历：你面临的挑战是什么？你是怎么做的？效果怎样？",
    "请分享一段你{topic}的经历，并谈谈你从中得到了什么。",
)
_CULTURE = (
    "假设{scenario}，你怎么看待这件事？请结合你的原则说说你会怎么做、为什么。",
    "有人说，在基层工作中有时免不了“{lapse}”。你怎么看？请结合你的经历或设想谈谈。",
    "在银行工作中，“{comp}”对你意味着什么？比如{scenario}，你会如何做到？",
    "{scenario}——这时{comp}的要求与业绩或效率发生了冲突。你会如何取舍？为什么？",
)
_CONTEXT = ("临近月末业务高峰", "网点只有你一人当班时", "在一个繁忙的工作日", "你刚到岗不久", "领导临时出差不在", "客户情绪比较激动")


def rubric_text(bars: dict[int, str], indicator: str) -> str:
    lines = [f"考察要点：{indicator}"] + [f"{level}分：{bars[level]}" for level in range(1, 6)]
    return "；".join(lines)


def generate_question_bank(
    dictionary: CompetencyDictionary,
    *,
    roles: list[str] | None = None,
    per_competency: int = 3,
    seed: int = 7,
) -> pd.DataFrame:
    """Columns: question_id, role_id, competency_id, dimension, type, indicator_id, text, rubric, template."""
    from ..synth._material import load_material

    if not 3 <= per_competency <= 5:
        raise ConfigurationError("per_competency must be between 3 and 5")
    material = load_material()
    role_ids = roles or list(dictionary.roles)
    unknown = [r for r in role_ids if r not in dictionary.roles]
    if unknown:
        raise ConfigurationError(f"unknown roles {unknown}; known: {', '.join(dictionary.roles)}")
    rows = []
    for role_id in role_ids:
        role = dictionary.roles[role_id]
        for comp in dictionary.role_competencies(role_id):
            mat = material[comp.id]
            rng = np.random.default_rng([seed, sum(map(ord, role_id)), sum(map(ord, comp.id))])
            scenarios = [mat.scenarios[int(i)] for i in rng.permutation(len(mat.scenarios))]
            topics = [mat.bei_topics[int(i)] for i in rng.permutation(len(mat.bei_topics))]
            lapses = [mat.lapses[int(i)] for i in rng.permutation(len(mat.lapses))]
            frames = {t: list(rng.permutation(4)) for t in ("情景", "行为", "文化")}
            used = {"情景": 0, "行为": 0, "文化": 0}
            for k in range(per_competency):
                qtype = TYPE_MIX[comp.dimension][k]
                n = used[qtype]
                used[qtype] += 1
                frame = int(frames[qtype][n % 4])
                if qtype == "情景":
                    text = _SITUATIONAL[frame].format(scenario=scenarios[n % len(scenarios)], context=_CONTEXT[int(rng.integers(len(_CONTEXT)))])
                elif qtype == "行为":
                    text = _BEHAVIOURAL[frame].format(topic=topics[n % len(topics)])
                else:
                    # culture questions use the scenarios from the far end of the list so they never repeat a 情景 one
                    text = _CULTURE[frame].format(scenario=scenarios[-1 - n % len(scenarios)], lapse=lapses[n % len(lapses)], comp=comp.name)
                indicator = comp.indicators[k % len(comp.indicators)]
                rows.append(
                    {
                        "question_id": f"{role_id}.{comp.id}.g{k + 1}",
                        "role_id": role_id,
                        "competency_id": comp.id,
                        "dimension": comp.dimension,
                        "type": qtype,
                        "indicator_id": indicator.id,
                        "text": text,
                        "rubric": rubric_text(comp.bars, indicator.text),
                        "template": f"{qtype}{frame + 1}",
                    }
                )
    return pd.DataFrame(rows)
