"""Candidate feedback: per candidate and dimension, the score, the role's mean, a quoted strength and one or two
suggestions from the reviewed phrase bank — short enough for one WeCom text message each.

What is shared is what is fair to share: the candidate's own 0–100 dimension score, the mean of candidates for the
same role, a quotation of the candidate's own words that raised the score most, and advice chosen from the phrase
bank by which interview behaviours (evidence and behavioural cues — never word weights) lowered the score. No model
internals, no numbers beyond the two scores, nothing about protected attributes: quotations containing a protected
term (``data/protected_terms.yaml``, dialect words) are skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._paths import DATA_DIR
from .._tabular import escape
from ..errors import ConfigurationError, DataError
from ..i18n import resolve_lang, t
from ._engine import char_values
from ._explanations import AnswerExplanations
from ._proxy import protected_terms

__all__ = ["CandidateFeedback", "FeedbackEvidence", "PhraseBank", "candidate_feedback", "load_phrase_bank", "utf8_len"]

_CLAUSE = re.compile(r"[^，。；！？,.;!?\n、：:]+")
_LONG_NUMBER = re.compile(r"\d{6,}")  # account, phone or id numbers never go into a message


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


@dataclass(frozen=True)
class Phrase:
    code: str
    triggers: tuple[str, ...]
    dimensions: tuple[str, ...]
    text: dict


@dataclass(frozen=True)
class PhraseBank:
    version: int
    phrases: dict  # code → Phrase (approved only)
    fallback: str | None

    def for_trigger(self, feature: str, dimension: str) -> str | None:
        for code, phrase in self.phrases.items():
            if feature in phrase.triggers and (not phrase.dimensions or dimension in phrase.dimensions):
                return code
        return None


def load_phrase_bank(path: str | Path | None = None) -> PhraseBank:
    """The approved phrases of ``data/feedback_phrases.yaml`` (or ``path``); refuses a bank whose review is not approved."""
    import yaml

    path = Path(path or DATA_DIR / "feedback_phrases.yaml")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if (spec.get("review") or {}).get("status") != "approved":
        raise ConfigurationError(f"{path.name}: the phrase bank's review status is not 'approved'; candidates only receive reviewed text")
    phrases, fallback = {}, None
    for code, entry in (spec.get("phrases") or {}).items():
        if not isinstance(entry, dict) or not {"zh", "en"} <= set(entry):
            raise ConfigurationError(f"{path.name}: phrase {code!r} needs zh and en text")
        if entry.get("status") != "approved":
            continue
        phrase = Phrase(str(code), tuple(entry.get("triggers") or ()), tuple(entry.get("dimensions") or ()), {"zh": str(entry["zh"]), "en": str(entry["en"])})
        phrases[phrase.code] = phrase
        if not phrase.triggers and fallback is None:
            fallback = phrase.code
    return PhraseBank(version=int(spec.get("version", 0)), phrases=phrases, fallback=fallback)


@dataclass(repr=False)
class CandidateFeedback:
    """``records``: one JSON-ready dict per candidate (``candidate_id``, ``role_id``, ``lang``, ``dimensions``: a list
    of {``dimension``, ``dimension_name``, ``score``, ``role_mean``, ``evidence``, ``suggestions`` [{code, text}],
    ``message``, ``message_bytes``}). ``to_frame()`` flattens to one row per candidate and dimension."""

    records: list
    lang: str
    max_bytes: int
    phrase_bank_version: int

    def to_frame(self) -> pd.DataFrame:
        rows = [{"candidate_id": r["candidate_id"], "role_id": r["role_id"], **{k: v for k, v in d.items() if k != "suggestions"},
                 "suggestion_codes": ",".join(s["code"] for s in d["suggestions"])} for r in self.records for d in r["dimensions"]]
        return pd.DataFrame(rows)

    def to_csv(self, path) -> Path:
        """One row per candidate and dimension as CSV for people (formulas neutralised, UTF-8 with BOM)."""
        from .._tabular import write_csv_safe

        return write_csv_safe(self.to_frame(), path)

    def to_json(self) -> str:
        return json.dumps(self.records, ensure_ascii=False)

    def __len__(self) -> int:
        return len(self.records)

    def _repr_html_(self) -> str:
        frame = self.to_frame().head(20)
        if frame.empty:
            return "<p>—</p>"
        shown = frame[["candidate_id", "dimension_name", "score", "role_mean", "message", "message_bytes"]]
        head = "".join(f"<th>{escape(c)}</th>" for c in shown.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in shown.itertuples(index=False))
        return f"<table class='wb-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _dimension_of() -> tuple[dict, dict]:
    from ..competency import load_dictionary
    from ..competency.dictionary import DIMENSION_NAMES, DIMENSION_NAMES_EN

    d = load_dictionary()
    return {cid: c.dimension for cid, c in d.competencies.items()}, {"zh": dict(DIMENSION_NAMES), "en": dict(DIMENSION_NAMES_EN)}


class _TermSet:
    """Does a text contain any of the terms? (set lookups of every substring of a term's length: fast for thousands of
    terms, where one regular expression of alternatives would try each of them at every position)"""

    def __init__(self, terms):
        self.terms = frozenset(terms)
        self.lengths = sorted({len(t) for t in self.terms})

    def search(self, text: str) -> bool:
        return any(text[i:i + k] in self.terms for k in self.lengths for i in range(len(text) - k + 1))


def _best_clause(text: str, per_char: np.ndarray, banned: _TermSet | None) -> tuple[str, float] | None:
    """The clause of ``text`` whose characters raised the score most (positive total), if any is shareable."""
    best = None
    upto = np.concatenate(([0.0], np.cumsum(per_char)))
    for m in _CLAUSE.finditer(text):
        piece = m.group(0).strip()
        if len(piece) < 4:
            continue
        value = float(upto[m.end()] - upto[m.start()])
        if value <= 0 or (best is not None and value <= best[1]):
            continue
        if _LONG_NUMBER.search(piece) or (banned is not None and banned.search(piece)):
            continue
        best = (piece, value)
    return best


def _shorten(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _message(lang: str, dimension_name: str, score: int, mean: int, quote: str | None, suggestions: list[str], max_bytes: int, quote_chars: int) -> str:
    def build(q, s):
        parts = [t("explain.feedback.score", lang, dimension=dimension_name, score=score, mean=mean)]
        if q:
            parts.append(t("explain.feedback.evidence", lang, quote=q))
        if s:
            parts.append(t("explain.feedback.suggestion", lang, text=t("explain.feedback.join", lang).join(s)))
        return t("explain.feedback.sep", lang).join(parts)

    # shrink until it fits: shorter quotation, then one suggestion, then no quotation
    for q_chars in (quote_chars, quote_chars * 2 // 3, quote_chars // 2):
        msg = build(_shorten(quote, q_chars) if quote else None, suggestions)
        if utf8_len(msg) <= max_bytes:
            return msg
    for candidate in (build(_shorten(quote, quote_chars // 2) if quote else None, suggestions[:1]), build(None, suggestions[:1]), build(None, [])):
        if utf8_len(candidate) <= max_bytes:
            return candidate
    raise ValueError(f"max_bytes={max_bytes} is too small for even the score sentence ({utf8_len(build(None, []))} bytes)")


class FeedbackEvidence:
    """What :func:`candidate_feedback` needs of every answer's full attributions: the best quotable clause and the
    behavioural-cue attributions. Pass an instance as ``on_batch`` to :func:`explain_answers` and then as
    ``evidence`` to :func:`candidate_feedback`, and the attributions are computed once for both (stage 04 explains
    every answer anyway); without it, :func:`candidate_feedback` computes them itself."""

    def __init__(self, n_answers: int):
        self.n_answers = int(n_answers)
        self.quotes: list = [None] * self.n_answers
        self.cue_rows: list[pd.DataFrame] = []
        self.rows_seen = 0
        self._banned = _TermSet(w for w in protected_terms()["term"] if len(w) >= 2)

    def __call__(self, lo: int, chunk: pd.DataFrame, att) -> None:
        for r, (text, per_char) in enumerate(zip(chunk["answer"].tolist(), char_values(att))):
            self.quotes[lo + r] = _best_clause(text, per_char, self._banned)
        dense = np.flatnonzero(att.f_kind == 1)
        self.cue_rows.append(pd.DataFrame({"row": att.f_row[dense] + lo, "feature": [f"{g}:{n}" for g, n in zip(att.f_group[dense], att.f_name[dense])],
                                           "value": att.f_value[dense]}))
        self.rows_seen += len(chunk)


def candidate_feedback(ex: AnswerExplanations, candidate_scores: pd.DataFrame, *, lang: str | None = None, phrases: PhraseBank | None = None,
                       max_bytes: int = 500, max_suggestions: int = 2, quote_chars: int = 30, min_effect: float = 0.01,
                       score_prefix: str = "machine_", batch_size: int = 2000, evidence: FeedbackEvidence | None = None) -> CandidateFeedback:
    """Feedback per candidate and dimension (see the module docstring).

    ``ex``: explanations of the candidates' answers; ``ex.answers`` needs ``candidate_id`` and ``competency``.
    ``candidate_scores``: one row per candidate with ``candidate_id``, ``role_id`` and the 0–100 dimension scores
    ``<score_prefix><dimension>`` (as ``candidate_scores.parquet`` of the scoring stage); the role's mean is the mean
    over the candidates of the same role in this table. A suggestion is given when the behaviours that trigger it
    lowered the candidate's score in that dimension by at least ``min_effect`` points in total (the strongest
    first, at most ``max_suggestions``); when none did, the bank's encouragement phrase. Each message is at most
    ``max_bytes`` UTF-8 bytes (the quotation is shortened first).
    """
    lang = resolve_lang(lang)
    bank = phrases or load_phrase_bank()
    answers = ex.answers
    for col in ("candidate_id", "competency"):
        if col not in answers.columns:
            raise DataError(f"the explained answers have no '{col}' column; explain a frame with candidate_id, competency and answer")
    for col in ("candidate_id", "role_id"):
        if col not in candidate_scores.columns:
            raise DataError(f"candidate_scores has no '{col}' column (expected the scoring stage's candidate_scores table)")
    dimension_of, dimension_names = _dimension_of()
    dims = [d for d in ("professional", "general", "culture") if f"{score_prefix}{d}" in candidate_scores.columns]
    if not dims:
        raise DataError(f"candidate_scores has no '{score_prefix}<dimension>' columns")
    # one pass over the answers: best quotable clause and the cue attributions of each answer (or the pass
    # explain_answers already made, collected by ``evidence``)
    if evidence is None:
        evidence = FeedbackEvidence(len(answers))
        frame = answers[["answer", "competency"]]
        for lo in range(0, len(frame), batch_size):
            chunk = frame.iloc[lo:lo + batch_size].reset_index(drop=True)
            evidence(lo, chunk, ex._engine.attribute(chunk))
    elif evidence.n_answers != len(answers) or evidence.rows_seen != len(answers):
        raise ValueError(f"evidence was collected for {evidence.rows_seen:,} of {evidence.n_answers:,} answers, these explanations "
                         f"have {len(answers):,}: pass the same FeedbackEvidence as on_batch to explain_answers of these answers")
    quotes = evidence.quotes
    cue_rows = evidence.cue_rows
    cues = pd.concat(cue_rows, ignore_index=True) if cue_rows else pd.DataFrame(columns=["row", "feature", "value"])
    cues["dimension"] = answers["competency"].map(dimension_of).to_numpy()[cues["row"].to_numpy(np.int64)] if len(cues) else []
    cues["candidate_id"] = answers["candidate_id"].to_numpy()[cues["row"].to_numpy(np.int64)] if len(cues) else []
    cues = cues[cues["value"] < 0]
    # per candidate and dimension: the total by which each cue lowered the score, most negative first
    summed = cues.groupby(["candidate_id", "dimension", "feature"], sort=True)["value"].sum().reset_index()
    summed = summed.sort_values(["candidate_id", "dimension", "value"], kind="stable")  # ties keep the feature order
    weak_by: dict[tuple, list[tuple[str, float]]] = {}
    for cand, dim, feature, value in zip(summed["candidate_id"], summed["dimension"], summed["feature"], summed["value"]):
        weak_by.setdefault((cand, dim), []).append((feature, value))
    answer_dims = answers["competency"].map(dimension_of).to_numpy()

    scores = candidate_scores.drop_duplicates("candidate_id").set_index("candidate_id")
    role_means = candidate_scores.groupby("role_id")[[f"{score_prefix}{d}" for d in dims]].mean()
    records = []
    for cand, rows in answers.groupby("candidate_id", sort=True).groups.items():
        if cand not in scores.index:
            continue
        role = scores.at[cand, "role_id"]
        out_dims = []
        for dim in dims:
            value = scores.at[cand, f"{score_prefix}{dim}"]
            if pd.isna(value):
                continue
            mine = [r for r in rows if answer_dims[r] == dim]
            found = [quotes[r] for r in mine if quotes[r] is not None]
            quote = max(found, key=lambda q: q[1])[0] if found else None
            weak = weak_by.get((cand, dim))
            codes: list[str] = []
            for feature, total in weak or []:
                if total > -min_effect or len(codes) >= max_suggestions:
                    break
                code = bank.for_trigger(feature, dim)
                if code and code not in codes:
                    codes.append(code)
            if not codes and bank.fallback:
                codes = [bank.fallback]
            texts = [bank.phrases[c].text[lang] for c in codes]
            score, mean = int(round(float(value))), int(round(float(role_means.at[role, f"{score_prefix}{dim}"])))
            name = dimension_names[lang][dim]
            message = _message(lang, name, score, mean, quote, texts, max_bytes, quote_chars)
            used = [c for c, txt in zip(codes, texts) if txt in message]
            out_dims.append({"dimension": dim, "dimension_name": name, "score": score, "role_mean": mean,
                             "evidence": _shorten(quote, quote_chars) if quote else None,
                             "suggestions": [{"code": c, "text": bank.phrases[c].text[lang]} for c in used],
                             "message": message, "message_bytes": utf8_len(message)})
        records.append({"candidate_id": str(cand), "role_id": str(role), "lang": lang, "dimensions": out_dims})
    return CandidateFeedback(records=records, lang=lang, max_bytes=max_bytes, phrase_bank_version=bank.version)
