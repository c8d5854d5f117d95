"""``explain_answers``: per-answer attributions of an ``AnswerScorer``'s scores, tidy and additive."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._tabular import escape
from ..i18n import label, resolve_lang, t
from ..scoring._scorer import as_answer_frame
from ._engine import KINDS, Attribution, char_values, engine_for, token_spans

__all__ = ["AnswerExplanations", "explain_answers", "feature_label"]

TOP_COLUMNS = ("row", "rank", "group", "kind", "feature", "start", "end", "spans", "value")


def feature_label(group: str, kind: str, feature: str, lang: str | None = None, *, with_group: bool = True) -> str:
    """What a person reads for a feature: the n-gram itself, or the catalog label of a coded feature (the sums of
    absent n-grams name their group unless ``with_group=False``, for tables that show the group anyway)."""
    if kind in ("ngram", "token"):
        return str(feature)
    if kind == "absent" and with_group:
        return f"{label('explain.feature', feature, lang)}·{label('explain.group', group, lang)}"
    return label("explain.feature", feature, lang)


@dataclass(repr=False)
class AnswerExplanations:
    """Attributions of a batch of answers (from :func:`explain_answers`).

    Attributes
    ----------
    answers : DataFrame
        The explained answers (``answer``, ``competency`` and any other columns given), one row per ``row``.
    base_value : float
        What every answer starts from: the model's score at the background (linear: the background feature means;
        token explainer: an empty answer).
    predictions : ndarray
        The score that is explained: the model's output *before* :class:`AnswerScorer` clips it to the training
        range of ratings. ``base_value + top.value.sum() + rest == predictions`` per answer.
    scores : ndarray
        What ``scorer.predict`` returns (``predictions`` clipped to ``[y_min_, y_max_]``); ``clipped`` marks answers
        where the two differ — the attributions then explain the unclipped score, and the clip is a fixed last step.
    top : DataFrame
        One row per answer and attribution, the ``top_k`` largest by absolute value: ``row``, ``rank`` (1 = largest),
        ``group`` (words, chars, evidence, bei, relevant, tokens), ``kind`` (``ngram``: a word/character n-gram of
        the answer; ``dense``: an evidence or behavioural feature; ``absent``: the summed value of all n-grams of
        that group the answer does not contain; ``token``: a token, for non-linear scorers), ``feature`` (the n-gram
        text or the feature's code — :func:`feature_label` gives the display text), ``start``/``end`` (the first
        occurrence in the original answer; missing for non-text features), ``spans`` (every occurrence as
        ``(start, end)``, so a feature used three times has three spans) and ``value`` (score points).
    rest : ndarray
        Per answer, the sum of every attribution not in ``top``.
    method, cost, background :
        Which explainer ran (``linear_exact`` or ``shap_partition``), what it cost (seconds, model evaluations) and
        which background the values are relative to.
    """

    answers: pd.DataFrame
    base_value: float
    base_values: np.ndarray
    predictions: np.ndarray
    scores: np.ndarray
    top: pd.DataFrame
    rest: np.ndarray
    method: str
    cost: dict
    background: str
    top_k: int | None
    _engine: object = field(repr=False, default=None)

    # -- reading ----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.answers)

    @property
    def clipped(self) -> np.ndarray:
        return ~np.isclose(self.scores, self.predictions, rtol=0, atol=1e-12)

    def additivity_error(self) -> float:
        """Largest |base + top + rest − prediction| over the answers (the explanation accounts for the score)."""
        if not len(self):
            return 0.0
        top_sum = np.bincount(self.top["row"].to_numpy(np.int64), weights=self.top["value"].to_numpy(np.float64), minlength=len(self))
        return float(np.max(np.abs(self.base_values + top_sum + self.rest - self.predictions)))

    def _attribution(self, i: int) -> tuple[Attribution, pd.DataFrame]:
        if not 0 <= i < len(self):
            raise IndexError(f"answer {i} is not in these explanations (0…{len(self) - 1})")
        frame = self.answers.iloc[[i]][["answer", "competency"]].reset_index(drop=True)
        return self._engine.attribute(frame), frame

    def attributions(self, i: int) -> pd.DataFrame:
        """Every attribution of answer ``i`` (not only the top k), largest first; same columns as ``top``."""
        att, frame = self._attribution(i)
        top, _ = _select(self._engine, frame, att, None)
        return top.assign(row=i)

    def char_values(self, i: int) -> np.ndarray:
        """The attribution of every character of answer ``i`` (text features spread over the characters they cover)."""
        att, _ = self._attribution(i)
        return char_values(att)[0]

    # -- shap ---------------------------------------------------------------------------------------------------
    def to_shap(self, i: int, *, view: str = "text", lang: str | None = None):
        """A ``shap.Explanation`` of answer ``i``.

        ``view="text"`` (for ``shap.plots.text``): the answer cut into the scorer's tokens (each segment runs to the
        next token, so the segments concatenate to the original answer), each with the value of its characters, then
        one segment per non-text feature (evidence, behavioural cues, absent n-grams) labelled in brackets.
        ``view="features"`` (for ``shap.plots.waterfall``): one entry per feature as in :meth:`attributions`, named
        by its text or label, with its value in the answer as data (occurrences, or the standardised feature).
        In both views ``base_values + values.sum()`` is the explained prediction. With NumPy 2, call
        ``np.set_printoptions(legacy="1.25")`` before ``shap.plots.text`` (shap 0.51 otherwise writes
        ``np.float64(...)`` into its colours).
        """
        import shap

        lang = resolve_lang(lang)
        att, frame = self._attribution(i)
        text = frame["answer"].iloc[0]
        non_text = np.flatnonzero(np.isin(att.f_kind, (1, 2)))
        non_text = non_text[np.argsort(-np.abs(att.f_value[non_text]), kind="stable")]
        names = [feature_label(att.f_group[j], KINDS[att.f_kind[j]], att.f_name[j], lang) for j in non_text.tolist()]
        if view == "text":
            per_char = char_values(att)[0]
            starts = [a for a, _ in token_spans(text, self._engine.featurizer.tokenizer)]
            if starts:
                starts[0] = 0
            bounds = [*starts, len(text)]
            segments = [text[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            values = [float(per_char[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:])]
            data = segments + [f" 〔{name}〕" for name in names]
            values = np.array(values + [float(att.f_value[j]) for j in non_text.tolist()])
            feature_names = [s.strip() for s in segments] + names
            return shap.Explanation(values=values, base_values=float(att.base[0]), data=np.array(data, dtype=object),
                                    feature_names=feature_names)
        if view == "features":
            top, _ = _select(self._engine, frame, att, None)
            dense_x = att.extra.get("dense_x")
            data = []
            dense_names = list(self._engine.dense_names)
            for r in top.itertuples(index=False):
                if r.kind in ("ngram", "token"):
                    data.append(float(len(r.spans)))
                elif r.kind == "dense" and dense_x is not None:
                    data.append(float(dense_x[0, dense_names.index(f"{r.group}:{r.feature}")]))
                else:
                    data.append(0.0)
            labels = [f"{feature_label(g, k, f, lang)}（{label('explain.group', g, lang)}）" if k in ("ngram", "token") else feature_label(g, k, f, lang)
                      for g, k, f in zip(top["group"], top["kind"], top["feature"])]
            return shap.Explanation(values=top["value"].to_numpy(np.float64), base_values=float(att.base[0]), data=np.array(data),
                                    feature_names=labels)
        raise ValueError(f"view must be 'text' or 'features', got {view!r}")

    def to_csv(self, path) -> Path:
        """Write ``top`` as CSV for people (UTF-8 with BOM, spreadsheet formulas such as ``=HYPERLINK(`` neutralised)."""
        from .._tabular import write_csv_safe

        return write_csv_safe(self.top.assign(spans=self.top["spans"].map(lambda spans: ";".join(f"{a}-{b}" for a, b in spans))), path)

    # -- display ------------------------------------------------------------------------------------------------
    def summary(self, lang: str | None = None) -> pd.DataFrame:
        """One table of what ran (no answer text): method, answers, base value, cost, additivity, clipped scores."""
        lang = resolve_lang(lang)
        rows = [
            (t("explain.summary.method", lang), label("explain.method", self.method, lang)),
            (t("explain.summary.answers", lang), len(self)),
            (t("explain.summary.base", lang), round(self.base_value, 4)),
            (t("explain.summary.seconds", lang), round(self.cost.get("seconds", float("nan")), 3)),
            (t("explain.summary.evaluations", lang), self.cost.get("model_evaluations", 0)),
            (t("explain.summary.additivity", lang), f"{self.additivity_error():.1e}"),
            (t("explain.summary.clipped", lang), int(self.clipped.sum())),
        ]
        return pd.DataFrame(rows, columns=["item", "value"])

    def _repr_html_(self) -> str:
        table = self.summary()
        body = "".join(f"<tr><th>{escape(a)}</th><td>{escape(b)}</td></tr>" for a, b in table.itertuples(index=False))
        return f"<table class='wb-table'><caption>{escape(t('explain.summary.title'))}</caption>{body}</table>"

    def __repr__(self) -> str:
        return f"AnswerExplanations(answers={len(self)}, method={self.method!r}, top_k={self.top_k}, base_value={self.base_value:.4f})"


# ------------------------------------------------------------------------------------------------------------
def explain_answers(scorer, answers, *, top_k: int | None = 10, background=None, batch_size: int = 2000, max_evals: int = 300,
                    on_batch=None) -> AnswerExplanations:
    """Explain the scores a fitted :class:`~workbench.scoring.AnswerScorer` gives ``answers``.

    Parameters
    ----------
    scorer : AnswerScorer (fitted)
    answers : what ``scorer.predict`` accepts (a DataFrame with ``answer`` and ``competency`` — other columns such
        as ``answer_id`` are carried along — or a list of strings).
    top_k : int or None
        Attributions kept per answer in ``top`` (largest absolute values; None keeps all). The others are summed in
        ``rest``.
    background :
        Linear scorers only: what "average" means. None uses the scorer's stored training feature means
        (``feature_means_``); otherwise answers, a feature matrix or a vector of means (see ``background_means``).
    batch_size : answers per pass (memory grows with the non-zeros of one batch, not with the whole input).
    max_evals : model evaluations per answer for non-linear scorers (shap's Partition explainer).
    on_batch : called as ``on_batch(first_row, batch, attribution)`` with every batch's full attribution (no top-k
        pruning then; the top k are the same), e.g. a :class:`FeedbackEvidence` for :func:`candidate_feedback`.

    For the linear (ridge) scorer the values are exact Shapley values with an independent background,
    ``w_j·(x_j − μ_j)``, equal to ``shap.LinearExplainer`` with the same background; n-grams are mapped back to the
    answer through its own n-grams (a hashed column shared by several n-grams of one answer is split between them by
    occurrences). Other scorers are explained by shap's Partition explainer over the scorer's own tokens.

    Examples
    --------
    >>> ex = explain_answers(scorer, test[["answer", "competency"]], background=train[["answer", "competency"]])  # doctest: +SKIP
    >>> ex.top.head()                        # row, rank, group, kind, feature, start, end, spans, value  # doctest: +SKIP
    >>> shap.plots.text(ex.to_shap(0))       # doctest: +SKIP
    """
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    frame = as_answer_frame(answers)
    engine = engine_for(scorer, background, max_evals=max_evals)
    start = time.perf_counter()
    tops, rests, preds, bases = [], [], [], []
    for lo in range(0, len(frame), batch_size):
        chunk = frame.iloc[lo:lo + batch_size][["answer", "competency"]].reset_index(drop=True)
        pruned = top_k is not None and engine.method == "linear_exact" and on_batch is None
        att = engine.attribute(chunk, top_k=top_k) if pruned else engine.attribute(chunk)
        top, rest = _select(engine, chunk, att, top_k)
        if on_batch is not None:
            on_batch(lo, chunk, att)
        top["row"] += lo
        tops.append(top)
        rests.append(rest)
        preds.append(att.prediction)
        bases.append(att.base)
    seconds = time.perf_counter() - start
    top = pd.concat(tops, ignore_index=True) if tops else _empty_top()
    predictions = np.concatenate(preds) if preds else np.empty(0)
    base_values = np.concatenate(bases) if bases else np.empty(0)
    base_value = float(base_values[0]) if len(base_values) and np.allclose(base_values, base_values[0], rtol=0, atol=1e-12) else float("nan")
    if not len(base_values):
        base_value = float(getattr(engine, "base", float("nan")))
    evaluations = int(getattr(engine, "evaluations", 0))
    return AnswerExplanations(
        answers=frame, base_value=base_value, base_values=base_values, predictions=predictions,
        scores=np.clip(predictions, scorer.y_min_, scorer.y_max_), top=top, rest=np.concatenate(rests) if rests else np.empty(0),
        method=engine.method, cost={"seconds": seconds, "answers": len(frame), "model_evaluations": evaluations,
                                    "ms_per_answer": 1000 * seconds / max(len(frame), 1)},
        background=engine.background_source, top_k=top_k, _engine=engine,
    )


def _spans(att: Attribution, features: np.ndarray) -> list[tuple[tuple[int, int], ...]]:
    """Every occurrence (start, end) of each feature, in text order (empty for non-text features)."""
    out: list = [()] * len(features)
    if not len(att.occ_feature) or not len(features):
        return out
    slot = np.full(len(att.f_value), -1, dtype=np.int64)
    slot[features] = np.arange(len(features))
    hit = np.flatnonzero(slot[att.occ_feature] >= 0)
    if not len(hit):
        return out
    hit = hit[np.argsort(slot[att.occ_feature[hit]], kind="stable")]  # grouped by feature; text order kept within
    owners = slot[att.occ_feature[hit]]
    cuts = np.flatnonzero(np.diff(owners)) + 1
    starts, ends = att.occ_start[hit].tolist(), att.occ_end[hit].tolist()
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(hit)]):
        out[int(owners[lo])] = tuple(sorted(zip(starts[lo:hi], ends[lo:hi])))
    return out


def _empty_top() -> pd.DataFrame:
    return pd.DataFrame({"row": pd.Series(dtype=np.int64), "rank": pd.Series(dtype=np.int64), "group": pd.Series(dtype=object),
                         "kind": pd.Series(dtype=object), "feature": pd.Series(dtype=object), "start": pd.Series(dtype="Int64"),
                         "end": pd.Series(dtype="Int64"), "spans": pd.Series(dtype=object), "value": pd.Series(dtype=np.float64)})


def _select(engine, frame: pd.DataFrame, att: Attribution, top_k: int | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The top_k attributions per answer (by |value|, ties in a fixed order) as a tidy table, and the rest per answer."""
    n = att.n
    value = att.f_value
    magnitude = np.abs(value)
    candidates = value != 0  # a zero attribution explains nothing; it stays in rest (as 0)
    if top_k is not None:
        # an n-gram can only enter an answer's top k if it is at least as large as the k-th largest of that answer's
        # few non-n-gram features (evidence, cues, absent sums): prune the rest before sorting
        other = np.flatnonzero(att.f_kind != 0)
        other = other[np.lexsort((-magnitude[other], att.f_row[other]))]
        other_rows = att.f_row[other]
        rank_other = np.arange(len(other)) - np.searchsorted(other_rows, other_rows, side="left")
        bound = np.zeros(n)
        at_k = rank_other == top_k - 1
        bound[other_rows[at_k]] = magnitude[other[at_k]]
        candidates &= (att.f_kind != 0) | (magnitude >= bound[att.f_row])
    candidates = np.flatnonzero(candidates)
    # by answer, largest |value| first; equal values (common: n-grams seen together in training get equal weights)
    # in a fixed order of the features themselves, so the result does not depend on batching or pruning
    c = candidates
    order = c[np.lexsort((att.f_key[c], att.f_n[c], att.f_gcode[c], att.f_kind[c], -magnitude[c], att.f_row[c]))]
    rows_sorted = att.f_row[order]
    rank = np.arange(len(order)) - np.searchsorted(rows_sorted, rows_sorted, side="left")
    keep = rank < top_k if top_k is not None else np.ones(len(order), dtype=bool)
    chosen, chosen_rank = order[keep], rank[keep] + 1
    # rest: everything not chosen. The total runs over every attribution (n-grams too small to be itemised included), so
    # base + top + rest = prediction checks them all against the model's own output.
    rest = att.row_total - np.bincount(att.f_row[chosen], weights=value[chosen], minlength=n)
    kind = att.f_kind[chosen]
    names = att.f_name[chosen].copy()
    is_ngram = kind == 0
    if is_ngram.any():
        names[is_ngram] = engine.ngram_texts(frame, att, chosen[is_ngram])
    has_text = att.f_count[chosen] > 0
    first = att.f_occ[chosen]
    at = np.where(has_text, first, 0)
    start = pd.array(att.occ_start[at] if len(att.occ_start) else np.zeros(len(at), np.int64), dtype="Int64")
    end = pd.array(att.occ_end[at] if len(att.occ_end) else np.zeros(len(at), np.int64), dtype="Int64")
    start[~has_text] = pd.NA
    end[~has_text] = pd.NA
    spans = _spans(att, chosen)
    top = pd.DataFrame({
        "row": att.f_row[chosen].astype(np.int64),
        "rank": chosen_rank.astype(np.int64),
        "group": att.f_group[chosen].astype(object),
        "kind": np.array(KINDS, dtype=object)[kind],
        "feature": names.astype(object),
        "start": start,
        "end": end,
        "spans": pd.Series(spans, dtype=object),
        "value": value[chosen].astype(np.float64),
    })
    return top, rest

