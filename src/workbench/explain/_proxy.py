"""Proxy check: does the scorer lean on words tied to a protected attribute?

For every listed term (dialect words, gendered and family-status words, ethnicity, health and age words, place
names — see ``data/protected_terms.yaml``) found in the explained answers, the term's weight in an answer is the
attribution of its characters (the n-grams covering them, each spread evenly over its characters, as in the
highlights). A term is flagged when enough answers use it and its mean absolute weight is larger than what ordinary
words of the same answers typically get (the ``reference_quantile`` of every token's mean absolute weight), or than a
fixed ``threshold`` in score points. Flagged terms come back as a tuple ready for ``AnswerScorer(mask_terms=...)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .._paths import DATA_DIR
from .._tabular import escape
from ..i18n import label, resolve_lang
from ._engine import char_values, token_spans
from ._explanations import AnswerExplanations

__all__ = ["ProxyCheck", "protected_terms", "proxy_check"]

_ADMIN_SUFFIXES = ("自治区", "自治州", "自治县", "省", "市", "县", "区", "州", "镇", "乡", "村", "盟", "旗")
MAX_TERM_TOKENS = 4  # a term may span up to this many tokens of the scorer's tokenizer


@lru_cache(maxsize=4)
def _jieba_places(exclusions: tuple[str, ...]) -> tuple[str, ...]:
    import jieba

    places: dict[str, int] = {}
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "ns":
                places[parts[0]] = int(parts[1])
    admin = {w for w in places if len(w) >= 3 and w.endswith(_ADMIN_SUFFIXES)}
    stems = {w[: -len(s)] for w in admin for s in _ADMIN_SUFFIXES if w.endswith(s) and len(w) - len(s) >= 2 and w[: -len(s)] in places}
    return tuple(sorted((admin | stems) - set(exclusions)))


def protected_terms(*, path: str | Path | None = None, dialect_path: str | Path | None = None, places: bool = True) -> pd.DataFrame:
    """The term list: ``term``, ``category`` (dialect, gender, family, ethnicity, health, age, place) and ``source``.

    A term listed in several places keeps its first category in the order dialect, categories, provinces, jieba.
    """
    import yaml

    spec = yaml.safe_load(Path(path or DATA_DIR / "protected_terms.yaml").read_text(encoding="utf-8"))
    dialect = yaml.safe_load(Path(dialect_path or DATA_DIR / "proxy_terms.yaml").read_text(encoding="utf-8"))
    rows: list[tuple[str, str, str]] = []
    for region, words in (dialect.get("dialect_by_region") or {}).items():
        rows += [(str(w), "dialect", f"proxy_terms.yaml:{region}") for w in words]
    for category, words in (spec.get("categories") or {}).items():
        rows += [(str(w), str(category), "protected_terms.yaml") for w in words]
    if places:
        rows += [(str(w), "place", "protected_terms.yaml:provinces") for w in spec.get("provinces") or []]
        rows += [(w, "place", "jieba:ns") for w in _jieba_places(tuple(str(w) for w in spec.get("place_exclusions") or []))]
    frame = pd.DataFrame(rows, columns=["term", "category", "source"])
    frame = frame[frame["term"].str.len() > 0]
    return frame.drop_duplicates("term", keep="first").reset_index(drop=True)


def _find_terms(text: str, spans: list[tuple[int, int]], terms: set[str]) -> list[tuple[str, int, int]]:
    """Occurrences of ``terms`` in ``text`` that start and end on token boundaries (1…MAX_TERM_TOKENS tokens)."""
    found = []
    for i, (a, _) in enumerate(spans):
        for j in range(i, min(i + MAX_TERM_TOKENS, len(spans))):
            piece = text[a:spans[j][1]]
            if piece in terms:
                found.append((piece, a, spans[j][1]))
    return found


@dataclass(repr=False)
class ProxyCheck:
    """Result of :func:`proxy_check`.

    ``terms``: one row per listed term found in the answers — ``term``, ``category``, ``source``, ``answers``
    (answers using it), ``occurrences``, ``mean_value`` (mean weight per answer using it, score points; the sign says
    whether it raises or lowers scores), ``mean_abs_value``, ``max_abs_value``, ``flagged``. ``reference`` is the
    mean-absolute-weight level a term has to exceed; ``tokens`` the same statistics for every token (the reference
    distribution). ``mask_terms()`` returns the flagged terms for ``AnswerScorer(mask_terms=...)``.
    """

    terms: pd.DataFrame
    reference: float
    reference_kind: str
    min_answers: int
    answers: int
    tokens: pd.DataFrame

    @property
    def flagged(self) -> pd.DataFrame:
        return self.terms[self.terms["flagged"]].reset_index(drop=True)

    def mask_terms(self) -> tuple[str, ...]:
        """Flagged terms, longest first (the form ``AnswerScorer(mask_terms=...)`` and the fairness stage take)."""
        return tuple(sorted(self.flagged["term"], key=lambda w: (-len(w), w)))

    def display_table(self, lang: str | None = None) -> pd.DataFrame:
        lang = resolve_lang(lang)
        shown = self.terms.copy()
        shown["category"] = [label("explain.proxy", c, lang) for c in shown["category"]]
        return shown[["term", "category", "answers", "mean_value", "mean_abs_value", "flagged"]].round(4)

    def _repr_html_(self) -> str:
        table = self.display_table()
        head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in table.head(50).itertuples(index=False))
        return (f"<p>reference ({escape(self.reference_kind)}): {self.reference:.4f} · answers: {self.answers} · flagged: {int(self.terms['flagged'].sum())}</p>"
                f"<table class='wb-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def proxy_check(ex: AnswerExplanations, *, terms: pd.DataFrame | None = None, min_answers: int = 5, threshold: float | None = None,
                reference_quantile: float = 0.9, batch_size: int = 2000) -> ProxyCheck:
    """Measure how much the explained answers' scores rest on protected terms (see the module docstring).

    ``terms``: a frame like :func:`protected_terms` (default: that list). ``threshold``: flag terms whose mean absolute
    weight is at least this many score points; None (default) compares with ordinary tokens instead: the
    ``reference_quantile`` of the mean absolute weight of every token used in at least ``min_answers`` answers.
    """
    if not 0 < reference_quantile < 1:
        raise ValueError(f"reference_quantile must be in (0, 1), got {reference_quantile}")
    terms = protected_terms() if terms is None else terms
    if not {"term", "category"} <= set(terms.columns):
        raise ValueError(f"terms needs the columns 'term' and 'category', has {list(terms.columns)}")
    lookup = set(terms["term"].astype(str))
    backend = ex._engine.featurizer.tokenizer
    term_rows: list[tuple[str, int, float]] = []  # (term, answer, weight of this occurrence)
    token_rows: dict[str, list] = {"token": [], "row": [], "value": []}
    frame = ex.answers[["answer", "competency"]]
    for lo in range(0, len(frame), batch_size):
        chunk = frame.iloc[lo:lo + batch_size].reset_index(drop=True)
        att = ex._engine.attribute(chunk)
        values = char_values(att)
        for r, (text, per_char) in enumerate(zip(chunk["answer"].tolist(), values)):
            spans = token_spans(text, backend)
            upto = np.concatenate(([0.0], np.cumsum(per_char)))  # weight of text[a:b] = upto[b] − upto[a]
            for term, a, b in _find_terms(text, spans, lookup):
                term_rows.append((term, lo + r, float(upto[b] - upto[a])))
            if spans:
                bounds = np.asarray(spans, dtype=np.int64)
                token_rows["token"].extend(text[a:b] for a, b in spans)
                token_rows["row"].extend([lo + r] * len(spans))
                token_rows["value"].extend((upto[bounds[:, 1]] - upto[bounds[:, 0]]).tolist())
    tokens = _per_answer_stats(pd.DataFrame(token_rows), "token")
    found = _per_answer_stats(pd.DataFrame(term_rows, columns=["term", "row", "value"]), "term")
    ordinary = tokens[tokens["answers"] >= min_answers]["mean_abs_value"]
    if threshold is not None:
        reference, kind = float(threshold), "threshold"
    else:
        reference = float(ordinary.quantile(reference_quantile)) if len(ordinary) else 0.0
        kind = f"token_quantile_{reference_quantile:g}"
    table = terms.drop_duplicates("term").merge(found, on="term", how="inner")
    table["flagged"] = (table["answers"] >= min_answers) & (table["mean_abs_value"] > reference)
    table = table.sort_values(["flagged", "mean_abs_value", "term"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    return ProxyCheck(terms=table, reference=reference, reference_kind=kind, min_answers=min_answers, answers=len(frame), tokens=tokens)


def _per_answer_stats(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """Weight per (item, answer) summed over occurrences, then: answers, occurrences, mean/mean-abs/max-abs per item."""
    if rows.empty:
        return pd.DataFrame(columns=[key, "answers", "occurrences", "mean_value", "mean_abs_value", "max_abs_value"])
    per_answer = rows.groupby([key, "row"], sort=True)["value"].agg(["sum", "size"]).reset_index()
    per_answer["abs"] = per_answer["sum"].abs()
    out = per_answer.groupby(key, sort=True).agg(answers=("row", "size"), occurrences=("size", "sum"), mean_value=("sum", "mean"),
                                                 mean_abs_value=("abs", "mean"), max_abs_value=("abs", "max")).reset_index()
    return out
