"""Faithfulness: do the spans an explanation ranks highest really carry the score?

For each sampled answer, the ``k`` tokens (the scorer's tokenizer) with the largest positive attribution are deleted
and the answer is re-scored; as a baseline, ``n_random`` times the same number of random character spans of the same
lengths are deleted instead. A faithful explanation lowers the score more by deleting its top spans than by
deleting random text. Scores are the model's unclipped output (the clip to the training range would hide changes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._engine import char_values, is_blank, token_spans
from ._explanations import AnswerExplanations

__all__ = ["Faithfulness", "faithfulness"]


@dataclass(repr=False)
class Faithfulness:
    """``table``: per answer — ``row``, ``deleted_chars``, ``score``, ``after_top``, ``after_random`` (mean over the random
    draws), ``drop_top``, ``drop_random``. ``summary``: one row — answers, mean drops, their difference, the share of
    answers where the top spans drop the score more, and a one-sided Wilcoxon signed-rank p-value."""

    table: pd.DataFrame
    summary: pd.DataFrame
    k: int
    n_random: int

    def _repr_html_(self) -> str:
        from .._tabular import escape

        row = self.summary.iloc[0]
        cells = "".join(f"<tr><th>{escape(c)}</th><td>{escape(round(v, 4) if isinstance(v, float) else v)}</td></tr>" for c, v in row.items())
        return f"<table class='wb-table'>{cells}</table>"


def _delete(text: str, spans) -> str:
    keep = np.ones(len(text), dtype=bool)
    for a, b in spans:
        keep[a:b] = False
    return "".join(ch for ch, k in zip(text, keep) if k)


def _random_spans(rng: np.random.Generator, text: str, lengths: list[int]) -> list[tuple[int, int]] | None:
    """Non-overlapping spans of the given lengths over non-blank text, at random positions (None if they do not fit)."""
    blank = is_blank(text)
    taken = blank.copy()
    spans = []
    for length in sorted(lengths, reverse=True):
        free = np.concatenate(([0], np.cumsum(taken)))
        starts = np.flatnonzero(free[length:] - free[:-length] == 0) if len(text) >= length else np.empty(0, dtype=np.int64)
        if not len(starts):
            return None
        a = int(rng.choice(starts))
        spans.append((a, a + length))
        taken[a:a + length] = True
    return spans


def faithfulness(ex: AnswerExplanations, *, sample: int = 200, k: int = 3, n_random: int = 10, seed: int = 0) -> Faithfulness:
    """Delete each sampled answer's ``k`` most positive tokens vs. random spans of the same lengths (module docstring).

    Answers with no positively attributed token are skipped (nothing to delete); the table says which were used.
    """
    from scipy.stats import wilcoxon

    if k < 1 or n_random < 1 or sample < 1:
        raise ValueError("sample, k and n_random must be positive")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(ex), size=min(sample, len(ex)), replace=False)) if len(ex) else np.empty(0, dtype=np.int64)
    frame = ex.answers.iloc[rows][["answer", "competency"]].reset_index(drop=True)
    att = ex._engine.attribute(frame)
    backend = ex._engine.featurizer.tokenizer
    texts, competencies, owners, records = [], [], [], []
    for j, (text, per_char) in enumerate(zip(frame["answer"].tolist(), char_values(att))):
        spans = token_spans(text, backend)
        if not spans:
            continue
        upto = np.concatenate(([0.0], np.cumsum(per_char)))
        values = np.array([upto[b] - upto[a] for a, b in spans])
        order = [i for i in np.argsort(-values, kind="stable")[:k].tolist() if values[i] > 0]
        if not order:
            continue
        top = [spans[i] for i in order]
        lengths = [b - a for a, b in top]
        draws = [_random_spans(rng, text, lengths) for _ in range(n_random)]
        if any(d is None for d in draws):
            continue
        records.append({"row": int(rows[j]), "deleted_chars": int(sum(lengths))})
        for variant in [text, _delete(text, top), *(_delete(text, d) for d in draws)]:
            texts.append(variant)
            competencies.append(frame["competency"].iat[j])
            owners.append(len(records) - 1)
    if not records:
        raise ValueError("no sampled answer has a positively attributed token; nothing to test")
    scores = ex._engine.predict_raw(pd.DataFrame({"answer": texts, "competency": competencies})).reshape(len(records), 2 + n_random)
    table = pd.DataFrame(records)
    table["score"] = scores[:, 0]
    table["after_top"] = scores[:, 1]
    table["after_random"] = scores[:, 2:].mean(axis=1)
    table["drop_top"] = table["score"] - table["after_top"]
    table["drop_random"] = table["score"] - table["after_random"]
    difference = table["drop_top"] - table["drop_random"]
    p = float(wilcoxon(difference, alternative="greater").pvalue) if (difference != 0).any() else 1.0
    summary = pd.DataFrame([{
        "answers": len(table), "k": k, "n_random": n_random,
        "mean_drop_top": float(table["drop_top"].mean()), "mean_drop_random": float(table["drop_random"].mean()),
        "mean_difference": float(difference.mean()), "share_top_larger": float((difference > 0).mean()), "wilcoxon_p": p,
    }])
    return Faithfulness(table=table, summary=summary, k=k, n_random=n_random)
