"""``AnswerFeaturizer``: every feature the scorer sees, computed for a whole batch of answers in a few passes.

Per batch (not per answer, not per sentence): the answers are joined into one string, each followed by ``\\x00``;
sentence, clause and answer ids of every position come from ``cumsum`` over its code points. One vectorised pass
(``_Lexicon``) finds every occurrence of every listed word (relevance anchors, BEI/STAR cues, negation cues,
evidence phrases — see ``_lexicon``) and two regular expressions find quantities and "在……期间" spans; everything
else is counting in numpy. The text is then reduced to the relevant sentences, tokenised once (rjieba or jieba),
and word and character n-grams are hashed in numpy and weighted by TF-IDF.

This is the scorer's only feature code, used in ``fit`` and ``predict`` alike, so batch scoring needs no separate
fast path and scores are identical in every engine.

Features (column blocks, in order):

* ``words`` — word 1…``word_ngram_max``-grams, ``chars`` — character 1…``char_ngram_max``-grams of the relevant
  text (whitespace removed, Latin letters lower-cased). Each n-gram is hashed (tokens by BLAKE2b, characters by
  their code points) into ``2**hash_bits`` columns; values are sublinear TF (1 + ln count) × smoothed IDF learnt in
  ``fit``, L2-normalised per answer and block (``text_norm="l2"``) or not (``None``).
* ``evidence`` — the competency's positive/negative evidence phrases found in a clause, split by whether a
  negation cue scopes over them in that clause (a cue before the phrase, or a rejecting cue after it), plus the
  net evidence. Each phrase counts once per clause.
* ``bei`` — first-person actions, quantities, STAR moves, reflection, hedges, empty self-praise, distinct domain
  terms and STAR completeness.
* ``relevant`` — log(1 + number of relevant sentences, capped at 12).

Relevance: a sentence is kept when it has banking vocabulary, a first-person action or an anchor word of the
answer's competency, or when it is about the candidate ("我") and has a quantity or a STAR move. Everything is
computed on kept sentences only, so appending chit-chat changes nothing; counts are capped (``cap``) and logged,
never divided by length, so padding can neither add nor dilute. Hand-built features are standardised with the
means and SDs of the training answers.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._lexicon import CUE_LISTS, NEG_AFTER, NEG_BEFORE, NUMBER, SITUATION_SPAN, anchor_words, domain_terms, evidence_phrases
from ._tokenize import BACKENDS, raw_cutter

__all__ = ["AnswerFeaturizer", "FEATURE_GROUPS", "EVIDENCE_FEATURES", "BEI_FEATURES", "TEXT_GROUPS"]

FEATURE_GROUPS = ("words", "chars", "evidence", "bei")
TEXT_GROUPS = ("words", "chars")
EVIDENCE_FEATURES = ("pos_affirmed", "pos_negated", "neg_affirmed", "neg_negated", "evidence_net")
BEI_FEATURES = ("first_person_actions", "quantified", "situation", "task", "action_steps", "result", "reflection", "hedges",
                "generic_claims", "domain_terms", "star_complete")
_STAR = ("situation", "task", "action_steps", "result")
_TERMINATORS = "。！？!?；;\n"  # a sentence ends after one of these
_IS_TERMINATOR = np.zeros(0x110000, dtype=bool)
_IS_TERMINATOR[list(map(ord, _TERMINATORS))] = True
_CLAUSE_MARKS = "\x00，。；！？,.;!?\n、：:"  # … and a clause after one of these
_IS_CLAUSE_MARK = np.zeros(0x110000, dtype=bool)
_IS_CLAUSE_MARK[list(map(ord, _CLAUSE_MARKS))] = True
_ME = ord("我")
_MAX_SENTENCES = 12
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # multiplicative hashing: the top bits of key × φ·2⁶⁴ index a column
_STEP = np.uint64(0xC2B2AE3D27D4EB4F)  # combines a word n-gram's running key with the next token

# word flags (bit per cue list)
_FLAG = {name: 1 << i for i, name in enumerate((*CUE_LISTS, "domain", "neg_before", "neg_after"))}


# ------------------------------------------------------------------------------------------------------------
# helpers shared by fit and transform
# ------------------------------------------------------------------------------------------------------------
_BASE = (0x100000001B3 * 0x9E3779B1 | 1) % 2**64  # odd, so its powers are invertible modulo 2**64
_BASE_INV = pow(_BASE, -1, 2**64)
_IS_SPACE = np.zeros(0x110000, dtype=bool)  # code point → is whitespace (all whitespace is below U+3001)
_IS_SPACE[[c for c in range(0x3001) if chr(c).isspace()]] = True


def _word_hash(word: str) -> int:
    """Σ ord(c)·B^k mod 2⁶⁴ — the same value :meth:`_Windows.hash` computes for a span of text."""
    h, power = 0, 1
    for ch in word:
        h = (h + ord(ch) * power) % 2**64
        power = power * _BASE % 2**64
    return h


class _Windows:
    """Polynomial hashes of any spans of a code-point array in O(1) each (prefix sums in wrapping uint64)."""

    def __init__(self, points: np.ndarray):
        n = len(points)
        power = np.full(n + 1, _BASE, dtype=np.uint64)
        power[0] = 1
        np.cumprod(power, out=power)
        inverse = np.full(n + 1, _BASE_INV, dtype=np.uint64)
        inverse[0] = 1
        np.cumprod(inverse, out=inverse)
        self.prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(points.astype(np.uint64) * power[:-1], out=self.prefix[1:])
        self.inverse = inverse

    def hash(self, start: np.ndarray, length) -> np.ndarray:
        return (self.prefix[start + length] - self.prefix[start]) * self.inverse[start]


def _packed(points: np.ndarray, start: np.ndarray, length: int) -> np.ndarray:
    """Exact key of the ``length`` ≤ 3 code points at each start (21 bits each)."""
    key = points[start].astype(np.uint64)
    for k in range(1, length):
        key = (key << np.uint64(21)) | points[start + k].astype(np.uint64)
    return key


class _Lexicon:
    """Finds every occurrence of every word of a lexicon in a code-point array, vectorised.

    Candidates are positions whose first two characters begin some word (a hashed pair table that also records
    which word lengths begin with the pair). Words of up to three characters are then looked up by their exact
    packed code points; longer words by polynomial hash, each hit confirmed against the text, so matches are exact.
    """

    _PAIR_BITS = 20

    def __init__(self, words: tuple[str, ...]):
        self.words = words
        self.lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self.pair_lengths = np.zeros(2**self._PAIR_BITS, dtype=np.uint32)  # bit L: some word of length L starts with the pair
        by_length: dict[int, list[tuple[int, int]]] = {}
        singles: dict[int, list[int]] = {}
        for i, w in enumerate(words):
            if len(w) == 1:
                singles.setdefault(ord(w), []).append(i)
                continue
            codes = np.array([ord(c) for c in w], dtype=np.uint32)
            slot = self._pair(codes[:1], codes[1:2])[0]
            self.pair_lengths[slot] |= np.uint32(1 << min(len(w), 31))
            key = int(_packed(codes, np.array([0]), len(w))[0]) if len(w) <= 3 else _word_hash(w)
            by_length.setdefault(len(w), []).append((key, i))
        self.by_length = {}
        for length, items in sorted(by_length.items()):
            items.sort()
            self.by_length[length] = (np.array([h for h, _ in items], dtype=np.uint64), np.array([i for _, i in items], dtype=np.int64))
        self.singles = {code: np.array(ids, dtype=np.int64) for code, ids in singles.items()}

    @classmethod
    def _pair(cls, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (((a.astype(np.uint64) << np.uint64(21)) | b.astype(np.uint64)) * _GOLDEN) >> np.uint64(64 - cls._PAIR_BITS)

    def find(self, text: str, points: np.ndarray, windows: _Windows) -> tuple[np.ndarray, np.ndarray]:
        """(start, word index) of every occurrence, ordered by start."""
        n = len(points)
        starts, ids, unchecked = [], [], []
        if n >= 2:
            masks = self.pair_lengths[self._pair(points[:-1], points[1:])]
            candidate = np.flatnonzero(masks)
            masks = masks[candidate]
            for length, (keys, word_ids) in self.by_length.items():
                c = candidate[((masks >> np.uint32(min(length, 31))) & np.uint32(1)).astype(bool) & (candidate + length <= n)]
                if not len(c):
                    continue
                key = _packed(points, c, length) if length <= 3 else windows.hash(c, length)
                at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
                hit = keys[at] == key
                starts.append(c[hit])
                ids.append(word_ids[at[hit]])
                unchecked.append(np.full(int(hit.sum()), length > 3))
        for code, word_ids in self.singles.items():
            at = np.flatnonzero(points == code)
            starts.append(np.repeat(at, len(word_ids)))
            ids.append(np.tile(word_ids, len(at)))
            unchecked.append(np.zeros(len(at) * len(word_ids), dtype=bool))
        if not starts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        start, word, unchecked = np.concatenate(starts), np.concatenate(ids), np.concatenate(unchecked)
        hashed = np.flatnonzero(unchecked)
        if len(hashed):  # confirm hash hits (collisions are astronomically rare, but a match must be exact)
            words, lengths = self.words, self.lengths
            wrong = [i for i, s, w in zip(hashed.tolist(), start[hashed].tolist(), word[hashed].tolist()) if text[s:s + lengths[w]] != words[w]]
            if wrong:
                keep = np.ones(len(start), dtype=bool)
                keep[wrong] = False
                start, word = start[keep], word[keep]
        order = np.argsort(start, kind="stable")
        return start[order], word[order]


_LEXICONS: dict[int, _Lexicon] = {}
_LEXICON_LOCK = threading.Lock()


def _lexicon(words: tuple[str, ...]) -> _Lexicon:
    """The matcher for ``words``, built once per process and lexicon (it is derived data, not saved with models)."""
    key = hash(words)
    with _LEXICON_LOCK:
        hit = _LEXICONS.get(key)
        if hit is None or hit.words != words:
            hit = _Lexicon(words)
            _LEXICONS.clear()  # one lexicon at a time (one model per process in practice)
            _LEXICONS[key] = hit
        return hit


@lru_cache(maxsize=8)
def _mask_pattern(terms: tuple[str, ...]):
    return re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)))


def _positions(pattern: re.Pattern, text: str) -> np.ndarray:
    return np.fromiter((m.start() for m in pattern.finditer(text)), dtype=np.int64)


def _cap(counts: np.ndarray, cap: int) -> np.ndarray:
    return np.log1p(np.minimum(counts, cap)).astype(np.float64)


def _grouped_counts(doc: np.ndarray, column: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(answer, column) occurrences → distinct pairs and their counts (one sort of packed keys)."""
    key = (doc.astype(np.int64) << bits) | column.astype(np.int64)
    key.sort()
    if not len(key):
        return key, key, key
    first = np.empty(len(key), dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(key)))
    unique = key[starts]
    return unique >> bits, unique & ((1 << bits) - 1), counts


def _column(keys: np.ndarray, bits: int) -> np.ndarray:
    return ((keys * _GOLDEN) >> np.uint64(64 - bits)).astype(np.int64)


@dataclass
class _Analysis:
    """What one pass over a batch finds, before anything fitted (IDF, scaling) is applied."""

    n: int
    dense: np.ndarray  # evidence + bei + relevant columns (unscaled)
    text: dict  # group → (answer index, hashed column) per n-gram occurrence
    relevant_sentences: np.ndarray  # per answer


# ------------------------------------------------------------------------------------------------------------
class AnswerFeaturizer(TransformerMixin, BaseEstimator):
    """DataFrame (``answer``, ``competency``) → sparse feature matrix; see the module docstring for the features.

    Parameters mirror :class:`AnswerScorer`'s feature parameters. Fitted attributes: the lexicon (``lexicon_``,
    ``word_flags_``, per-competency ``anchor_`` and ``evidence_pos_``/``evidence_neg_`` tables, so a saved model
    keeps the dictionary it was trained with), ``idf_`` per text group, ``dense_mean_``/``dense_scale_``.
    """

    def __init__(self, *, feature_groups: tuple = FEATURE_GROUPS, tokenizer: str = "rjieba", word_ngram_max: int = 2,
                 char_ngram_max: int = 3, hash_bits: int = 20, text_norm: str | None = "l2", relevance_filter: bool = True,
                 mask_terms: tuple = (), cap: int = 4):
        self.feature_groups = feature_groups
        self.tokenizer = tokenizer
        self.word_ngram_max = word_ngram_max
        self.char_ngram_max = char_ngram_max
        self.hash_bits = hash_bits
        self.text_norm = text_norm
        self.relevance_filter = relevance_filter
        self.mask_terms = mask_terms
        self.cap = cap

    # -- fitting --------------------------------------------------------------------------------------------
    def _validate(self) -> None:
        groups = tuple(self.feature_groups)
        if not groups or set(groups) - set(FEATURE_GROUPS):
            raise ValueError(f"feature_groups must be a non-empty subset of {FEATURE_GROUPS}, got {groups}")
        if self.tokenizer not in BACKENDS:
            raise ValueError(f"tokenizer must be one of {BACKENDS}, got {self.tokenizer!r}")
        if not (isinstance(self.hash_bits, (int, np.integer)) and 8 <= self.hash_bits <= 24):
            raise ValueError(f"hash_bits must be an integer in 8…24 (2**hash_bits columns per text group), got {self.hash_bits!r}")
        for name in ("word_ngram_max", "char_ngram_max"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and 1 <= value <= 3):
                raise ValueError(f"{name} must be 1, 2 or 3, got {value!r}")
        if self.text_norm not in ("l2", None):
            raise ValueError(f"text_norm must be 'l2' or None, got {self.text_norm!r}")

    def _build_lexicon(self) -> None:
        anchors, evidence, terms = anchor_words(), evidence_phrases(), set(domain_terms())
        competencies = sorted(c for c in anchors if c)
        index: dict[str, int] = {}
        flags: list[int] = []
        unusable = {"\x00", *_TERMINATORS}

        def add(word: str, flag: int = 0) -> None:
            if not word or unusable & set(word):  # a word with a sentence end can never lie inside one sentence
                return
            if word not in index:
                index[word] = len(flags)
                flags.append(0)
            flags[index[word]] |= flag

        for name, words in CUE_LISTS.items():
            for w in words:
                add(w, _FLAG[name])
        for w in terms:
            add(w, _FLAG["domain"])
        for w in NEG_BEFORE:
            add(w, _FLAG["neg_before"])
        for w in NEG_AFTER:
            add(w, _FLAG["neg_after"])
        rows = [*competencies, ""]  # the last row serves answers without a (known) competency
        for cid in rows:
            for w in anchors[cid]:
                add(w)
            for w in chain(*evidence[cid]):
                add(w)
        anchor = np.zeros((len(rows), len(flags)), dtype=bool)
        pos, neg = anchor.copy(), anchor.copy()
        clause_marks = set(_CLAUSE_MARKS)
        for r, cid in enumerate(rows):
            anchor[r, [index[w] for w in anchors[cid] if w in index]] = True
            # a phrase with clause punctuation can never lie inside one clause: it is never evidence
            pos[r, [index[w] for w in evidence[cid][0] if w in index and not clause_marks & set(w)]] = True
            neg[r, [index[w] for w in evidence[cid][1] if w in index and not clause_marks & set(w)]] = True
        self.competencies_ = competencies
        self.lexicon_ = list(index)
        self.word_flags_ = np.asarray(flags, dtype=np.int64)
        self.anchor_, self.evidence_pos_, self.evidence_neg_ = anchor, pos, neg

    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        self._validate()
        self._build_lexicon()
        frame = _frame(X)
        analysis = self._analyse(frame)
        self.idf_ = {}
        for group, (doc, column) in analysis.text.items():
            _, columns, _ = _grouped_counts(doc, column, self.hash_bits)  # distinct (answer, column) pairs
            df = np.bincount(columns, minlength=2**self.hash_bits)
            self.idf_[group] = (np.log((1.0 + analysis.n) / (1.0 + df)) + 1.0).astype(np.float64)
        mean = analysis.dense.mean(axis=0) if analysis.n else np.zeros(analysis.dense.shape[1])
        scale = analysis.dense.std(axis=0) if analysis.n else np.ones(analysis.dense.shape[1])
        self.dense_mean_ = mean
        self.dense_scale_ = np.where(scale > 0, scale, 1.0)
        self.n_features_in_ = 2
        self.feature_names_in_ = np.array(["answer", "competency"], dtype=object)
        return self._finish(analysis)

    def transform(self, X):
        check_is_fitted(self, "idf_")
        return self._finish(self._analyse(_frame(X)))

    def relevant_sentence_counts(self, X) -> np.ndarray:
        """Relevant sentences per answer (what the relevance filter keeps)."""
        check_is_fitted(self, "idf_")
        return self._analyse(_frame(X), text=False).relevant_sentences

    # -- names ------------------------------------------------------------------------------------------------
    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "idf_")
        groups = tuple(self.feature_groups)
        width = 2**self.hash_bits
        names = [np.char.add(f"{g}:#", np.arange(width).astype(str)) for g in TEXT_GROUPS if g in groups]
        names.append(np.array(self._dense_names(), dtype=str))
        return np.concatenate(names).astype(object)

    def _dense_names(self) -> list[str]:
        groups = tuple(self.feature_groups)
        return [*(f"evidence:{n}" for n in EVIDENCE_FEATURES if "evidence" in groups), *(f"bei:{n}" for n in BEI_FEATURES if "bei" in groups),
                "relevant:n_relevant"]

    # -- the pass -------------------------------------------------------------------------------------------
    def _analyse(self, frame: pd.DataFrame, *, text: bool = True) -> _Analysis:
        texts, comps = frame["answer"].tolist(), frame["competency"].tolist()
        n = len(texts)
        groups = tuple(self.feature_groups)
        if self.mask_terms:  # proxy terms (e.g. dialect words) are removed before anything else sees the text
            mask = _mask_pattern(tuple(self.mask_terms))
            texts = [mask.sub("", t) for t in texts]
        row_of = {c: i for i, c in enumerate(self.competencies_)}
        comp_row = np.fromiter((row_of.get(c, len(self.competencies_)) for c in comps), dtype=np.int64, count=n)

        # one string for the batch: every answer followed by \x00 (a \x00 inside an answer becomes a space)
        joined = "\x00".join(texts) + "\x00" if n else ""
        if joined.count("\x00") != n:
            texts = [t.replace("\x00", " ") for t in texts]
            joined = "\x00".join(texts) + "\x00"
        points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        N = len(points)
        separator = points == 0
        doc_of = np.cumsum(separator) - separator  # an answer's separator belongs to it
        new_sentence = np.ones(N, dtype=bool)
        if N:
            new_sentence[1:] = _IS_TERMINATOR[points[:-1]] | separator[:-1]
        sent_of = np.cumsum(new_sentence) - 1
        n_sent = int(sent_of[-1]) + 1 if N else 0
        sent_doc = doc_of[new_sentence]
        windows = _Windows(points)

        matcher = _lexicon(tuple(self.lexicon_))
        start, word = matcher.find(joined, points, windows)
        end = start + matcher.lengths[word]
        sent = sent_of[start]
        flags = self.word_flags_[word]
        number_sent = sent_of[_positions(NUMBER, joined)]
        span_sent = sent_of[_positions(SITUATION_SPAN, joined)]

        def per_sentence(where: np.ndarray) -> np.ndarray:
            return np.bincount(sent[where], minlength=n_sent)

        def has(flag: str) -> np.ndarray:
            return (flags & _FLAG[flag]) != 0

        if self.relevance_filter:
            anchored = self.anchor_[comp_row[sent_doc[sent]], word]
            star = sum(per_sentence(has(k)) for k in _STAR) + np.bincount(span_sent, minlength=n_sent)
            me = np.bincount(sent_of[points == _ME], minlength=n_sent) > 0
            relevant = ((per_sentence(has("banking")) > 0) | (per_sentence(has("first_person_actions")) > 0) | (per_sentence(anchored) > 0)
                        | (me & ((np.bincount(number_sent, minlength=n_sent) > 0) | (star > 0))))
        else:  # every sentence with some non-blank character
            content = ~separator & ~_IS_SPACE[points]
            relevant = np.bincount(sent_of[content], minlength=n_sent) > 0
        n_relevant = np.bincount(sent_doc[relevant], minlength=n)

        kept = relevant[sent]
        doc = sent_doc[sent]
        cap = self.cap
        dense = []
        if "evidence" in groups:
            dense.append(self._evidence(points, doc, comp_row, word, start, end, flags, kept, n))
        if "bei" in groups:
            def per_doc(where: np.ndarray) -> np.ndarray:
                return np.bincount(doc[where & kept], minlength=n)

            def per_doc_sentences(sentences: np.ndarray) -> np.ndarray:
                return np.bincount(sent_doc[sentences[relevant[sentences]]], minlength=n)

            moves = {k: per_doc(has(k)) for k in ("situation", "task", "action_steps", "result", "reflection", "hedges", "generic_claims")}
            moves["situation"] = moves["situation"] + per_doc_sentences(span_sent)
            is_term = has("domain") & kept
            term_docs, _, _ = _grouped_counts(doc[is_term], word[is_term], 32)  # distinct (answer, term) pairs
            star_complete = sum((moves[k] > 0).astype(np.float64) for k in _STAR) / 4.0
            dense.append(np.column_stack([
                _cap(per_doc(has("first_person_actions")), cap), _cap(per_doc_sentences(number_sent), cap),
                *(_cap(moves[k], cap) for k in ("situation", "task", "action_steps", "result", "reflection", "hedges", "generic_claims")),
                _cap(np.bincount(term_docs, minlength=n), cap), star_complete,
            ]))
        dense.append(np.log1p(np.minimum(n_relevant, _MAX_SENTENCES)).astype(np.float64)[:, None])
        dense_matrix = np.hstack(dense)

        grams: dict = {}
        if text and any(g in groups for g in TEXT_GROUPS):
            kept_points = points[relevant[sent_of] | separator]  # relevant sentences, answers still \x00-terminated
            if "words" in groups:
                grams["words"] = self._word_grams(kept_points, n)
            if "chars" in groups:
                grams["chars"] = self._char_grams(kept_points)
        return _Analysis(n=n, dense=dense_matrix, text=grams, relevant_sentences=n_relevant)

    def _evidence(self, points, doc, comp_row, word, start, end, flags, kept, n) -> np.ndarray:
        clause_of = np.cumsum(_IS_CLAUSE_MARK[points])  # clause id of every position (marks end a clause)
        n_clauses = int(clause_of[-1]) + 1 if len(clause_of) else 0
        row = comp_row[doc]
        is_pos = self.evidence_pos_[row, word] & kept
        is_neg = self.evidence_neg_[row, word] & kept
        chosen = np.flatnonzero(is_pos | is_neg)
        clause = clause_of[start[chosen]]
        # each phrase counts once per clause, at its first occurrence (hits are ordered by start)
        _, first = np.unique(clause * len(self.lexicon_) + word[chosen], return_index=True)
        chosen, clause = chosen[first], clause[first]
        # negation scope: a "before" cue ending at or before the phrase, or an "after" cue starting at or after its end
        before = np.flatnonzero((flags & _FLAG["neg_before"]) != 0)
        after = np.flatnonzero((flags & _FLAG["neg_after"]) != 0)
        first_cue_end = np.full(n_clauses, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_cue_end, clause_of[start[before]], end[before])
        last_cue_start = np.full(n_clauses, -1, dtype=np.int64)
        np.maximum.at(last_cue_start, clause_of[start[after]], start[after])
        negated = (first_cue_end[clause] <= start[chosen]) | (last_cue_start[clause] >= end[chosen])
        d, pos, neg = doc[chosen], is_pos[chosen], is_neg[chosen]
        counts = [np.bincount(d[m], minlength=n) for m in (pos & ~negated, pos & negated, neg & ~negated, neg & negated)]
        net = np.clip(counts[0] + counts[3] - counts[1] - counts[2], -self.cap, self.cap).astype(np.float64)
        return np.column_stack([*(_cap(c, self.cap) for c in counts), net])

    def _word_grams(self, points: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Tokens of each answer's relevant text → hashed word n-grams (tokens hashed as spans of ``points``)."""
        texts = points.tobytes().decode("utf-32-le", "surrogatepass").split("\x00")[:n]
        cut = raw_cutter(self.tokenizer)
        tokens = [cut(t) for t in texts]
        lengths = np.fromiter(map(len, chain.from_iterable(tokens)), dtype=np.int64)
        per_doc = np.fromiter(map(len, tokens), dtype=np.int64, count=n)
        doc = np.repeat(np.arange(n, dtype=np.int64), per_doc)
        start = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=start[1:])
        start += doc  # each earlier answer's \x00
        if int(lengths.sum()) != len(points) - n:  # a tokenizer that dropped or changed characters
            raise RuntimeError(f"the {self.tokenizer} tokenizer did not return the text it was given; tokens must cover it exactly")
        windows = _Windows(points)
        hashes = windows.hash(start, lengths)
        blank = np.concatenate(([0], np.cumsum(_IS_SPACE[points])))
        real = (blank[start + lengths] - blank[start]) < lengths  # drop whitespace tokens
        hashes, doc = hashes[real], doc[real]
        docs, columns = [doc], [_column(hashes, self.hash_bits)]
        key = hashes
        for k in range(2, self.word_ngram_max + 1):
            if len(hashes) < k:
                break
            key = key[:-1] * _STEP + hashes[k - 1:] + np.uint64(k)  # wrapping uint64 arithmetic
            same = doc[: len(hashes) - k + 1] == doc[k - 1:]
            docs.append(doc[: len(hashes) - k + 1][same])
            columns.append(_column(key[same], self.hash_bits))
        return np.concatenate(docs), np.concatenate(columns)

    def _char_grams(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = points[~_IS_SPACE[points]].astype(np.uint64)
        upper = (p >= 65) & (p <= 90)
        p[upper] += np.uint64(32)  # Latin letters lower-cased
        separator = p == 0
        doc_of = np.cumsum(separator) - separator
        docs, columns = [], []
        key = p
        valid = ~separator
        for k in range(1, self.char_ngram_max + 1):
            if len(p) < k:
                break
            if k > 1:  # code points < 2²¹: k ≤ 3 of them pack exactly into 63 bits, distinct for every k
                key = (key[:-1] << np.uint64(21)) | p[k - 1:]
                valid = valid[:-1] & ~separator[k - 1:]
            docs.append(doc_of[: len(valid)][valid])
            columns.append(_column(key[valid], self.hash_bits))
        if not docs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(docs), np.concatenate(columns)

    # -- fitted weights → matrix --------------------------------------------------------------------------------
    def _finish(self, analysis: _Analysis):
        n, width = analysis.n, 2**self.hash_bits
        blocks = []
        for group in TEXT_GROUPS:
            if group not in analysis.text:
                continue
            doc, column = analysis.text[group]
            docs, columns, counts = _grouped_counts(doc, column, self.hash_bits)
            values = (1.0 + np.log(counts)) * self.idf_[group][columns]
            if self.text_norm == "l2":
                norms = np.sqrt(np.bincount(docs, weights=values * values, minlength=n))
                values = values / np.where(norms > 0, norms, 1.0)[docs]
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(docs, minlength=n), out=indptr[1:])
            blocks.append(sp.csr_matrix((values, columns, indptr), shape=(n, width)))
        dense = (analysis.dense - self.dense_mean_) / self.dense_scale_
        blocks.append(sp.csr_matrix(dense))
        return sp.hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]


def _frame(X) -> pd.DataFrame:
    from ._scorer import as_answer_frame

    return as_answer_frame(X)
