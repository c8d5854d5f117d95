"""``AnswerFeaturizer``: every feature the scorer sees, computed for a whole batch of answers in a few passes.

Per batch (not per answer, not per sentence): the answers are joined into one string, each followed by ``\\x00``;
sentence, clause and answer ids of every position come from ``cumsum`` over its code points. One vectorised pass
(``_Lexicon``) finds every occurrence of every listed word (BEI/STAR cues, negation cues, evidence phrases and
dictionary terms — see ``_lexicon``) and two regular expressions find quantities and "在……期间" spans; everything
else is counting in numpy. The text is tokenised once (rjieba or jieba), and word and character n-grams are hashed
in numpy.

Two steps, so that what does not depend on fitted weights is computed once per answer:

* :meth:`AnswerFeaturizer.featurize` → :class:`AnswerFeatures`: sublinear term frequencies of the hashed n-grams,
  the unscaled hand-built features and the statistics the advisories need. Rows can be taken (``features.take``)
  for cross-validation folds, learning curves and held-out regimes without featurizing again.
* With every sentence read (the default), the answers' word tokens are also kept per sentence
  (:class:`SentenceTokens`): the padding advisory's per-sentence word n-grams come from them, not from a second
  tokenizer pass.
* ``fit`` learns the IDF of each n-gram block and the means/SDs of the hand-built features from the rows it is
  given; ``transform`` applies them. Nothing fitted leaks across folds.

This is the scorer's only feature code, used in ``fit`` and ``predict`` alike, so batch scoring needs no separate
fast path and scores are identical in every engine.

Features (column blocks, in order):

* ``words`` — word 1…``word_ngram_max``-grams, ``chars`` — character 1…``char_ngram_max``-grams of the answer
  (whitespace removed, Latin letters lower-cased). Each n-gram is hashed (tokens by a polynomial hash of their code
  points, characters by their packed code points) into ``2**hash_bits`` columns; values are sublinear TF
  (1 + ln count) × smoothed IDF learnt in ``fit``, L2-normalised per answer and block (``text_norm="l2"``) or not.
  L2 normalisation is what keeps length from buying score: repeating or padding an answer re-weights its n-grams,
  it does not add to them. With ``unseen_ngrams="ignore"`` (the default) an n-gram that no training answer
  contained carries no weight in the model's view, as in a ``TfidfVectorizer`` with a fitted vocabulary: the
  model has no coefficient for it, and counting it in the norm (at the highest IDF, the rarest possible term)
  would only shrink the known n-grams of an answer written in other words, so its score collapses toward the
  mean. The advisories still see every n-gram (``whole=True``): an answer the model cannot read should look
  far from its question's answers.
* ``evidence`` — the competency's positive/negative evidence phrases found in a clause, split by whether a
  negation cue scopes over them in that clause (a cue before the phrase, or a rejecting cue after it), plus the
  net evidence. Each phrase counts once per clause.
* ``bei`` — first-person actions, quantities, STAR moves, reflection, hedges, empty self-praise, distinct domain
  terms and STAR completeness.
* ``relevant`` — log(1 + number of job-tied sentences, capped at 12).

Counts are capped (``cap``) and logged, never divided by length. A sentence is *job-tied* when it has banking
vocabulary, a first-person action, an anchor word of the answer's competency, or "我" with a quantity or a STAR
move. The hand-built blocks (evidence, bei, relevant) always count job-tied sentences only — they are defined by
the dictionary's cue lists anyway, and counting them in appended anecdotes would let padding buy score. The
n-gram blocks read every sentence by default; with ``relevance_filter=True`` they too read job-tied sentences
only: a stronger defence against padding that also discards real content whose words the dictionary does not
list, so it is an option for tuning, not the default. Hand-built features are standardised with the means and SDs of the training answers.

The lexicon comes from the competency dictionary given to ``featurize``/``fit`` (the run's own dictionary) and is
stored in the fitted featurizer, so a saved model keeps the dictionary it was trained with.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

from ._lexicon import CUE_LISTS, NEG_AFTER, NEG_BEFORE, NUMBER_SCAN, SITUATION_SPAN, anchor_words, domain_terms, evidence_phrases, rubric_texts
from ._tokenize import BACKENDS, raw_cutter

__all__ = ["AnswerFeatures", "AnswerFeaturizer", "SentenceFeatures", "SentenceTokens", "FEATURE_GROUPS", "EVIDENCE_FEATURES", "BEI_FEATURES", "TEXT_GROUPS", "STAT_COLUMNS", "UNSEEN_NGRAMS"]

FEATURE_GROUPS = ("words", "chars", "evidence", "bei")
TEXT_GROUPS = ("words", "chars")
UNSEEN_NGRAMS = ("ignore", "weigh")  # n-grams no training answer contained: no weight in the model's view, or the highest IDF
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


def _match_sentences(pattern: re.Pattern, text: str, sent_of: np.ndarray) -> np.ndarray:
    """``sent_of`` at the start of every match of ``pattern`` in ``text`` (a match never contains a sentence end or
    \x00), without a Python object per match: every match is replaced by \x01 and each marker's sentence is the
    number of sentence ends and separators before it — the matches hold none, so they are the original's."""
    if "\x01" in text:  # a marker would be ambiguous
        return sent_of[_positions(pattern, text)]
    marked = np.frombuffer(pattern.sub("\x01", text).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ends = _IS_TERMINATOR[marked] | (marked == 0)
    return np.cumsum(ends)[marked == 1]


def _cap(counts: np.ndarray, cap: int) -> np.ndarray:
    return np.log1p(np.minimum(counts, cap)).astype(np.float64)


_SORT_ROW = {4: 512, 8: 256}  # longest rows numpy sorts with SIMD sorting networks, by key size in bytes


def _sort_runs(key: np.ndarray) -> np.ndarray:
    """The sorted keys (a new array) of keys that arrive in a few long runs ordered by answer (n-gram keys: answer in
    the top bits, one run per n-gram order or per answer already).

    Rows of a few hundred keys are sorted first (numpy sorts short rows with SIMD sorting networks, ~30× faster per
    key than one long sort), then timsort (``kind="stable"``) merges the rows: it takes each sorted row as a run
    and gallops past everything already in order, so only keys of answers that straddle two rows are moved.
    Same result as ``np.sort`` — 3-4× faster on these keys (not on random ones)."""
    width = _SORT_ROW.get(key.dtype.itemsize)
    if width is None or len(key) <= width:
        return np.sort(key, kind="stable")
    m = len(key)
    padded = np.empty(-(-m // width) * width, dtype=key.dtype)
    padded[:m] = key
    padded[m:] = np.iinfo(key.dtype).max  # padding sorts last (a real key equal to it is the same value)
    padded.reshape(-1, width).sort(axis=1)
    padded.sort(kind="stable")
    return padded[:m]


def _grouped_counts(doc: np.ndarray, column: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(answer, column) occurrences → distinct pairs and their counts (one sort of packed keys)."""
    if not len(doc):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    # packed into 32 bits when (answer, column) fits (a piece of answers × 2**hash_bits): sorting halves the bytes
    # moved and numpy's vectorised sort of 32-bit keys is ~3× faster than of 64-bit ones
    wide = (int(doc.max()) + 1) << bits > 2**32
    dtype = np.int64 if wide else np.uint32
    return _count_keys((doc.astype(dtype) << dtype(bits)) | column.astype(dtype), bits)


def _count_keys(key: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packed occurrences (answer in the top bits, column in the low ``bits``) → distinct (answer, column) pairs and
    their counts, ordered by answer and column."""
    if not len(key):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    dtype = key.dtype.type
    key = _sort_runs(key)
    first = np.empty(len(key), dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(key)))
    unique = key[starts]
    return (unique >> dtype(bits)).astype(np.int64), (unique & dtype((1 << bits) - 1)).astype(np.int64), counts


def _column(keys: np.ndarray, bits: int) -> np.ndarray:
    return ((keys * _GOLDEN) >> np.uint64(64 - bits)).astype(np.int64)


_IS_HAN = np.zeros(0x110000, dtype=bool)  # CJK unified ideographs, extension A and the supplementary planes
for _lo, _hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F)):
    _IS_HAN[_lo:_hi + 1] = True
_IS_LATIN = np.zeros(0x110000, dtype=bool)
_IS_LATIN[list(range(65, 91)) + list(range(97, 123))] = True
_PIECE = 2_000  # answers per vectorised pass: big enough to amortise numpy calls, small enough to stay in cache
_SHINGLE = 4  # characters per shingle for repetition and copy overlap
_FILTER_BITS = 22  # bit table of reference shingles in _overlap (4 MB; few false hits for references of ~10⁵ shingles)

#: Per-answer statistics behind the advisories (computed with the features, before anything is fitted).
STAT_COLUMNS = ("chars", "han_share", "latin_share", "repeat_share", "term_cover", "question_overlap", "rubric_overlap", "irrelevant_share")


@dataclass(frozen=True)
class _Tables:
    """Everything derived from the competency dictionary that the pass needs (not learnt from answers)."""

    competencies: tuple[str, ...]
    words: tuple[str, ...]
    flags: np.ndarray
    anchor: np.ndarray  # (competency rows + 1) × words: anchors a sentence to that competency
    pos: np.ndarray
    neg: np.ndarray
    term: np.ndarray  # words whose share of an answer measures keyword stuffing (evidence phrases, domain terms)
    rubric: tuple[str, ...]  # per competency row: rubric wording (the last row, for unknown competencies, is empty)
    user_words: tuple[str, ...]
    dictionary: dict  # version and sha256 of the dictionary the tables come from

    @property
    def sha256(self) -> str:
        return self.dictionary.get("sha256", "")


@lru_cache(maxsize=4)
def _tables_from_dictionary(path: str, sha256: str) -> _Tables:
    from ..competency import load_dictionary

    return _build_tables(load_dictionary(path))


def _build_tables(dictionary) -> _Tables:
    anchors, evidence, terms = anchor_words(dictionary), evidence_phrases(dictionary), set(domain_terms(dictionary))
    rubrics = rubric_texts(dictionary)
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
    term = np.zeros(len(flags), dtype=bool)
    term[[index[w] for w in (*terms, *chain(*evidence[""])) if w in index and len(w) >= 2]] = True
    return _Tables(
        competencies=tuple(competencies), words=tuple(index), flags=np.asarray(flags, dtype=np.int64), anchor=anchor, pos=pos, neg=neg,
        term=term, rubric=tuple(rubrics.get(c, "") for c in rows), user_words=tuple(dictionary.user_words()),
        dictionary={"version": dictionary.version, "sha256": dictionary.sha256},
    )


@dataclass
class AnswerFeatures:
    """What the featurizer finds in a set of answers before anything is fitted, one row per answer.

    Computed once (:meth:`AnswerFeaturizer.featurize`) and reused: ``take(rows)`` gives the rows of a fold, and
    ``fit``/``transform`` of a featurizer with the same settings accept it instead of raw answers.
    """

    frame: pd.DataFrame  # answer, competency (+ question_id, question_text when given)
    text: dict  # group → CSR (answers × 2**hash_bits): sublinear term frequency 1 + ln(count)
    dense: np.ndarray  # evidence, BEI and relevant-sentence columns, unscaled
    stats: pd.DataFrame  # STAT_COLUMNS, for the advisories
    relevant_sentences: np.ndarray
    key: tuple  # settings and dictionary that produced these features
    tables: _Tables = field(repr=False)

    sentences: "SentenceFeatures | None" = field(default=None, repr=False)  # see AnswerFeaturizer.sentence_features
    sentence_tokens: "SentenceTokens | None" = field(default=None, repr=False)  # kept when every sentence is read

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, rows, *, text: bool = True) -> "AnswerFeatures":
        """The features of ``rows``; ``text=False`` leaves the n-gram blocks out (``text`` empty) for callers that only
        split the answers into sentences (the padding advisory), which need not copy them."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return AnswerFeatures(
            frame=self.frame.iloc[rows].reset_index(drop=True), text={g: m[rows] for g, m in self.text.items()} if text else {},
            dense=self.dense[rows],
            stats=self.stats.iloc[rows].reset_index(drop=True), relevant_sentences=self.relevant_sentences[rows], key=self.key, tables=self.tables,
            sentences=self.sentences.take(rows, len(self)) if self.sentences is not None else None,
            sentence_tokens=self.sentence_tokens.take(rows, len(self)) if self.sentence_tokens is not None else None,
        )


_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")


@dataclass
class SentenceFeatures:
    """The word n-grams of every sentence of a set of answers (for the padding advisory): ``answer`` (row of the
    answer each sentence belongs to), ``chars`` (its non-blank characters) and ``words`` (sublinear TF, CSR)."""

    answer: np.ndarray
    chars: np.ndarray
    words: sp.csr_matrix
    frame: pd.DataFrame  # competency, question_id per sentence (for the centroid it is compared with)

    def take(self, rows: np.ndarray, n: int) -> "SentenceFeatures":
        new_index = np.full(n, -1, dtype=np.int64)
        new_index[rows] = np.arange(len(rows))
        keep = np.flatnonzero(new_index[self.answer] >= 0)
        # sentences grouped by their answer's new position, in the order of ``rows``
        order = keep[np.argsort(new_index[self.answer[keep]], kind="stable")]
        return SentenceFeatures(answer=new_index[self.answer[order]], chars=self.chars[order], words=self.words[order],
                                frame=self.frame.iloc[order].reset_index(drop=True))


@dataclass
class SentenceTokens:
    """The word tokens of every sentence of a set of answers, kept from the answers' own tokenisation (sentences as
    ``_SENTENCE`` splits them; blank ones left out) so the padding advisory needs no second tokenizer pass:
    ``answer`` and ``chars`` per sentence (sentences grouped by answer, in order), ``hashes`` per token (the
    ``_Windows`` hash of its characters; whitespace tokens dropped) and ``indptr`` (each sentence's tokens)."""

    answer: np.ndarray
    chars: np.ndarray
    hashes: np.ndarray
    indptr: np.ndarray

    def take(self, rows: np.ndarray, n: int) -> "SentenceTokens":
        new_index = np.full(n, -1, dtype=np.int64)
        new_index[rows] = np.arange(len(rows))
        keep = np.flatnonzero(new_index[self.answer] >= 0)
        order = keep[np.argsort(new_index[self.answer[keep]], kind="stable")]
        lengths = np.diff(self.indptr)[order]
        indptr = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        tokens = np.repeat(self.indptr[order] - indptr[:-1], lengths) + np.arange(int(indptr[-1]))
        return SentenceTokens(answer=new_index[self.answer[order]], chars=self.chars[order], hashes=self.hashes[tokens], indptr=indptr)

    @staticmethod
    def concat(parts: list["SentenceTokens"], sizes: list[int]) -> "SentenceTokens":
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        token_offsets = np.concatenate(([0], np.cumsum([len(p.hashes) for p in parts])[:-1])).astype(np.int64)
        return SentenceTokens(
            answer=np.concatenate([p.answer + o for p, o in zip(parts, offsets)]), chars=np.concatenate([p.chars for p in parts]),
            hashes=np.concatenate([p.hashes for p in parts]),
            indptr=np.concatenate([[0], *(p.indptr[1:] + o for p, o in zip(parts, token_offsets))]).astype(np.int64),
        )


def _sentence_tokens(points: np.ndarray, hashes: np.ndarray, start: np.ndarray) -> SentenceTokens:
    """Tokens (``hashes`` at code-point offsets ``start`` of ``points``, \x00-terminated answers) → sentences.

    A sentence starts at a character that is not a sentence end and follows one (or starts the answer), and runs
    through the ends that follow it — ``_SENTENCE``'s split. No token crosses a sentence end: the tokenizers cut
    every punctuation mark and run of whitespace apart from the words around it."""
    separator = points == 0
    terminator = _IS_TERMINATOR[points]
    after_end = np.ones(len(points), dtype=bool)
    after_end[1:] = terminator[:-1] | separator[:-1]
    begins = after_end & ~terminator & ~separator
    counted = np.cumsum(begins)
    sentence_of = counted - 1
    # leading sentence ends of an answer belong to no sentence (``_SENTENCE`` skips them)
    answer_start = np.ones(len(points), dtype=bool)
    answer_start[1:] = separator[:-1]
    doc_of = np.cumsum(separator) - separator
    before_answer = (counted - begins)[answer_start]  # sentences begun before each answer
    inside = ~separator & (sentence_of >= before_answer[doc_of])
    n_sentences = int(counted[-1]) if len(points) else 0
    chars = np.bincount(sentence_of[inside & ~_IS_SPACE[points]], minlength=n_sentences)
    answer = doc_of[begins]
    nonblank = chars > 0
    renumber = np.cumsum(nonblank) - 1
    token_sentence = sentence_of[start]
    real = inside[start]  # whitespace tokens are already dropped; punctuation before an answer's first sentence is not in one
    token_sentence, hashes = renumber[token_sentence[real]], hashes[real]
    indptr = np.zeros(int(nonblank.sum()) + 1, dtype=np.int64)
    np.cumsum(np.bincount(token_sentence, minlength=len(indptr) - 1), out=indptr[1:])
    return SentenceTokens(answer=answer[nonblank], chars=chars[nonblank], hashes=hashes, indptr=indptr)


# ------------------------------------------------------------------------------------------------------------
class AnswerFeaturizer(TransformerMixin, BaseEstimator):
    """DataFrame (``answer``, ``competency``) → sparse feature matrix; see the module docstring for the features.

    Parameters mirror :class:`AnswerScorer`'s feature parameters. Fitted attributes: the lexicon (``lexicon_``,
    ``word_flags_``, per-competency ``anchor_``, ``evidence_pos_``/``evidence_neg_``, ``term_``, ``rubric_``,
    ``user_words_`` and ``dictionary_``, so a saved model keeps the dictionary it was trained with), ``idf_`` per
    text group, ``dense_mean_``/``dense_scale_``.
    """

    def __init__(self, *, feature_groups: tuple = FEATURE_GROUPS, tokenizer: str = "rjieba", word_ngram_max: int = 2,
                 char_ngram_max: int = 3, hash_bits: int = 20, text_norm: str | None = "l2", relevance_filter: bool = False,
                 mask_terms: tuple = (), cap: int = 4, unseen_ngrams: str = "ignore"):
        self.feature_groups = feature_groups
        self.tokenizer = tokenizer
        self.word_ngram_max = word_ngram_max
        self.char_ngram_max = char_ngram_max
        self.hash_bits = hash_bits
        self.text_norm = text_norm
        self.relevance_filter = relevance_filter
        self.mask_terms = mask_terms
        self.cap = cap
        self.unseen_ngrams = unseen_ngrams

    # -- settings ---------------------------------------------------------------------------------------------
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
        unseen = getattr(self, "unseen_ngrams", "weigh")  # a featurizer saved before 2026-12-05 has no such setting
        if unseen not in UNSEEN_NGRAMS:
            raise ValueError(f"unseen_ngrams must be one of {UNSEEN_NGRAMS}, got {unseen!r}")

    def _key(self, tables: _Tables) -> tuple:
        return (tuple(self.feature_groups), self.tokenizer, int(self.word_ngram_max), int(self.char_ngram_max), int(self.hash_bits),
                bool(self.relevance_filter), tuple(self.mask_terms), int(self.cap), tables.sha256)

    def _fitted_tables(self) -> _Tables:
        return _Tables(
            competencies=tuple(self.competencies_), words=tuple(self.lexicon_), flags=self.word_flags_, anchor=self.anchor_,
            pos=self.evidence_pos_, neg=self.evidence_neg_, term=self.term_, rubric=tuple(self.rubric_), user_words=tuple(self.user_words_),
            dictionary=dict(self.dictionary_),
        )

    def _tables_for(self, dictionary) -> _Tables:
        if isinstance(dictionary, _Tables):
            return dictionary
        if dictionary is not None:
            if hasattr(dictionary, "competencies"):
                return _tables_from_dictionary(dictionary.path, dictionary.sha256) if dictionary.path else _build_tables(dictionary)
            from ..competency import load_dictionary

            loaded = load_dictionary(dictionary)
            return _tables_from_dictionary(loaded.path, loaded.sha256)
        if hasattr(self, "lexicon_"):
            return self._fitted_tables()
        from ..competency import load_dictionary

        default = load_dictionary()
        return _tables_from_dictionary(default.path, default.sha256)

    # -- featurizing ----------------------------------------------------------------------------------------------
    def featurize(self, X, *, dictionary=None) -> AnswerFeatures:
        """Everything about ``X`` that does not depend on fitted weights (see :class:`AnswerFeatures`).

        ``dictionary`` (a ``CompetencyDictionary`` or a path) supplies the evidence phrases, terms and rubric
        wording; by default the fitted featurizer's own, or the default dictionary before fitting.
        """
        self._validate()
        tables = self._tables_for(dictionary)
        frame = _frame(X)
        pieces = [self._analyse(frame.iloc[i:i + _PIECE], tables) for i in range(0, max(len(frame), 1), _PIECE)]
        text = {g: sp.vstack([p["text"][g] for p in pieces], format="csr") for g in pieces[0]["text"]}
        return AnswerFeatures(
            frame=frame, text=text, dense=np.vstack([p["dense"] for p in pieces])[: len(frame)],
            stats=pd.concat([p["stats"] for p in pieces], ignore_index=True).iloc[: len(frame)],
            relevant_sentences=np.concatenate([p["relevant"] for p in pieces])[: len(frame)], key=self._key(tables), tables=tables,
            sentence_tokens=(SentenceTokens.concat([p["sentence_tokens"] for p in pieces], [len(p["dense"]) for p in pieces])
                             if pieces[0].get("sentence_tokens") is not None else None),
        )

    def _features_of(self, X, dictionary=None) -> AnswerFeatures:
        if isinstance(X, AnswerFeatures):
            self._validate()
            want = self._key(X.tables if dictionary is None else self._tables_for(dictionary))
            if X.key != want:
                raise ValueError("these AnswerFeatures were computed with other featurizer settings or another dictionary; "
                                 "featurize the answers with this featurizer (featurizer.featurize(X))")
            return X
        return self.featurize(X, dictionary=dictionary)

    # -- fitting --------------------------------------------------------------------------------------------------
    def fit(self, X, y=None, *, dictionary=None):
        """Learn the IDF of each n-gram block and the scaling of the hand-built features from ``X``.

        ``X``: answers (DataFrame with ``answer`` and ``competency``, or strings) or :class:`AnswerFeatures`.
        """
        features = self._features_of(X, dictionary)
        tables = features.tables
        if hasattr(self, "lexicon_") and self.dictionary_.get("sha256") != tables.sha256:
            for name in ("idf_", "seen_", "dense_mean_", "dense_scale_"):
                self.__dict__.pop(name, None)
        self.competencies_ = list(tables.competencies)
        self.lexicon_ = list(tables.words)
        self.word_flags_ = tables.flags
        self.anchor_, self.evidence_pos_, self.evidence_neg_, self.term_ = tables.anchor, tables.pos, tables.neg, tables.term
        self.rubric_ = list(tables.rubric)
        self.user_words_ = list(tables.user_words)
        self.dictionary_ = dict(tables.dictionary)
        n = len(features)
        self.idf_, self.seen_ = {}, {}
        for group, tf in features.text.items():
            df = np.bincount(tf.indices, minlength=2**self.hash_bits)  # rows hold each column once
            self.idf_[group] = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float64)
            self.seen_[group] = df > 0
        self.dense_mean_ = features.dense.mean(axis=0) if n else np.zeros(features.dense.shape[1])
        scale = features.dense.std(axis=0) if n else np.ones(features.dense.shape[1])
        self.dense_scale_ = np.where(scale > 0, scale, 1.0)
        self.n_features_in_ = 2
        self.feature_names_in_ = np.array(["answer", "competency"], dtype=object)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        features = self._features_of(X, fit_params.get("dictionary"))
        return self.fit(features).transform(features)

    def transform(self, X):
        check_is_fitted(self, "idf_")
        features = X if isinstance(X, AnswerFeatures) else self.featurize(X)
        if features.key != self._key(self._fitted_tables()):
            raise ValueError("these AnswerFeatures were computed with other settings or another dictionary than this featurizer was fitted with")
        return self._finish(features)

    def sentence_features(self, features: AnswerFeatures) -> SentenceFeatures:
        """Each answer's sentences featurized on their own (word n-grams only), computed once per ``features``
        object and kept on it (``take`` carries them to the rows of a fold)."""
        if features.sentences is not None:
            return features.sentences
        if features.sentence_tokens is not None:  # every sentence is read: n-grams of the answers' own tokens
            tokens = features.sentence_tokens
            step = (1 << 32) >> self.hash_bits  # sentences per slice whose (sentence, column) keys fit 32 bits
            parts = []
            for a in range(0, len(tokens.answer), step):
                b = min(a + step, len(tokens.answer))
                lo, hi = tokens.indptr[a], tokens.indptr[b]
                sentence = np.repeat(np.arange(b - a, dtype=np.int64), np.diff(tokens.indptr[a:b + 1]))
                parts.append(_term_frequencies(*self._token_grams(tokens.hashes[lo:hi], sentence), b - a, self.hash_bits))
            tf = sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, 2**self.hash_bits), dtype=np.float32)
            answer, chars = tokens.answer, tokens.chars
        else:  # the relevance filter decides per sentence, which needs the lexicon: featurize each sentence
            answer, texts = [], []
            for i, text in enumerate(features.frame["answer"].tolist()):
                for part in _SENTENCE.findall(str(text).replace("\x00", " ")):
                    if part.strip():
                        answer.append(i)
                        texts.append(part)
            answer = np.asarray(answer, dtype=np.int64)
            words_only = AnswerFeaturizer(**{**self.get_params(), "feature_groups": ("words",)})
            tf = (words_only._features_of(pd.DataFrame({"answer": texts, "competency": features.frame["competency"].to_numpy()[answer]}),
                                          features.tables).text["words"] if texts else sp.csr_matrix((0, 2**self.hash_bits)))
            chars = np.fromiter((len("".join(t.split())) for t in texts), dtype=np.int64, count=len(texts))  # non-space characters
        frame = pd.DataFrame({"competency": features.frame["competency"].to_numpy()[answer]})
        if "question_id" in features.frame.columns:
            frame["question_id"] = features.frame["question_id"].to_numpy()[answer]
        features.sentences = SentenceFeatures(answer=answer, chars=chars, words=tf, frame=frame)
        return features.sentences

    def relevant_sentence_counts(self, X) -> np.ndarray:
        """Counted sentences per answer (all non-blank ones, or the relevant ones with ``relevance_filter``)."""
        check_is_fitted(self, "idf_")
        return self.featurize(X).relevant_sentences

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
    def _batch_text(self, texts: list[str]) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """One string for the batch: every answer (proxy terms masked) followed by \\x00 (a \\x00 inside an answer
        becomes a space). Returns the string, its code points, the separator mask, sentence starts, each position's
        sentence id and the number of sentences."""
        n = len(texts)
        if self.mask_terms:  # proxy terms (e.g. dialect words) are removed before anything else sees the text
            mask = _mask_pattern(tuple(self.mask_terms))
            texts = [mask.sub("", t) for t in texts]
        joined = "\x00".join(texts) + "\x00" if n else ""
        if joined.count("\x00") != n:
            joined = "\x00".join(t.replace("\x00", " ") for t in texts) + "\x00"
        points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        separator = points == 0
        new_sentence = np.ones(len(points), dtype=bool)
        if len(points):
            new_sentence[1:] = _IS_TERMINATOR[points[:-1]] | separator[:-1]
        sent_of = np.cumsum(new_sentence) - 1
        n_sent = int(sent_of[-1]) + 1 if len(points) else 0
        return joined, points, separator, new_sentence, sent_of, n_sent

    def _analyse(self, frame: pd.DataFrame, tables: _Tables) -> dict:
        comps = frame["competency"].tolist()
        n = len(frame)
        groups = tuple(self.feature_groups)
        row_of = {c: i for i, c in enumerate(tables.competencies)}
        codes, values = pd.factorize(np.asarray(comps, dtype=object), use_na_sentinel=False)  # looked up once per competency
        comp_row = np.fromiter((row_of.get(c, len(tables.competencies)) for c in values), dtype=np.int64, count=len(values))[codes]
        joined, points, separator, new_sentence, sent_of, n_sent = self._batch_text(frame["answer"].tolist())
        doc_of = np.cumsum(separator) - separator  # an answer's separator belongs to it
        sent_doc = doc_of[new_sentence]
        windows = _Windows(points)

        matcher = _lexicon(tables.words)
        start, word = matcher.find(joined, points, windows)
        end = start + matcher.lengths[word]
        sent = sent_of[start]
        flags = tables.flags[word]
        number_sent = _match_sentences(NUMBER_SCAN, joined, sent_of)
        span_sent = sent_of[_positions(SITUATION_SPAN, joined)]

        def per_sentence(where: np.ndarray) -> np.ndarray:
            return np.bincount(sent[where], minlength=n_sent)

        def has(flag: str) -> np.ndarray:
            return (flags & _FLAG[flag]) != 0

        anchored = tables.anchor[comp_row[sent_doc[sent]], word]
        star = sum(per_sentence(has(k)) for k in _STAR) + np.bincount(span_sent, minlength=n_sent)
        me = np.bincount(sent_of[points == _ME], minlength=n_sent) > 0
        on_topic = ((per_sentence(has("banking")) > 0) | (per_sentence(has("first_person_actions")) > 0) | (per_sentence(anchored) > 0)
                    | (me & ((np.bincount(number_sent, minlength=n_sent) > 0) | (star > 0))))
        content = ~separator & ~_IS_SPACE[points]
        relevant = on_topic if self.relevance_filter else np.bincount(sent_of[content], minlength=n_sent) > 0
        n_relevant = np.bincount(sent_doc[relevant], minlength=n)
        # the hand-built features count cues in job-tied sentences only, whatever the filter: padding with
        # anecdotes ("我买了3本书") must not add quantities, STAR moves or sentences; the n-gram blocks read
        # every counted sentence and are L2-normalised, so padding dilutes them instead of adding to them
        n_on_topic = np.bincount(sent_doc[on_topic], minlength=n)
        kept = on_topic[sent]
        doc = sent_doc[sent]
        cap = self.cap
        dense = []
        if "evidence" in groups:
            dense.append(self._evidence(tables, points, doc, comp_row, word, start, end, flags, kept, n))
        if "bei" in groups:
            def per_doc(where: np.ndarray) -> np.ndarray:
                return np.bincount(doc[where & kept], minlength=n)

            def per_doc_sentences(sentences: np.ndarray) -> np.ndarray:
                return np.bincount(sent_doc[sentences[on_topic[sentences]]], minlength=n)

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
        dense.append(np.log1p(np.minimum(n_on_topic, _MAX_SENTENCES)).astype(np.float64)[:, None])

        text: dict = {}
        sentence_tokens = None
        if any(g in groups for g in TEXT_GROUPS):
            keep = relevant[sent_of] | separator
            whole = bool(keep.all())  # no blank sentence to drop: the text and its windows serve as they are
            kept_points = points if whole else points[keep]  # counted sentences, answers still \x00-terminated
            if "words" in groups:
                hashes, token_doc, token_start = self._tokens(kept_points, n, tables, *((joined, windows) if whole else ()))
                text["words"] = _term_frequencies(*self._token_grams(hashes, token_doc), n, self.hash_bits)
                if not self.relevance_filter:  # every sentence is read: its tokens serve the padding advisory too
                    sentence_tokens = _sentence_tokens(kept_points, hashes, token_start)
            if "chars" in groups:
                packed = self._char_keys(kept_points, n)
                text["chars"] = (_term_frequencies(None, None, n, self.hash_bits, keys=packed) if packed is not None
                                 else _term_frequencies(*self._char_grams(kept_points), n, self.hash_bits))

        stats = self._stats(frame, tables, points, separator, doc_of, content, sent_of, on_topic, comp_row, start, end, word, n)
        return {"text": text, "dense": np.hstack(dense), "stats": stats, "relevant": n_relevant, "sentence_tokens": sentence_tokens}

    def _stats(self, frame, tables, points, separator, doc_of, content, sent_of, on_topic, comp_row, start, end, word, n) -> pd.DataFrame:
        """The statistics behind the advisories (see ``_advisories``); shares are of non-blank characters."""
        chars = np.bincount(doc_of[content], minlength=n).astype(np.float64)
        safe = np.maximum(chars, 1.0)
        han = np.bincount(doc_of[_IS_HAN[points]], minlength=n)
        latin = np.bincount(doc_of[_IS_LATIN[points]], minlength=n)
        # characters covered by dictionary terms and evidence phrases (keyword stuffing)
        is_term = tables.term[word]
        size = len(points) + 1
        cover = np.bincount(start[is_term], minlength=size) - np.bincount(end[is_term], minlength=size)
        covered = np.cumsum(cover[:-1]) > 0
        # characters in sentences without any job-related anchor (padding: what the optional filter would drop)
        off = ~on_topic[sent_of] & content
        shingle_doc, shingle = _shingles(points)
        total = np.bincount(shingle_doc, minlength=n)
        # distinct shingles per answer: one sort of (answer, top 40 bits of the hash) packed into 64 bits
        key = _sort_runs((shingle_doc.astype(np.uint64) << np.uint64(40)) | (shingle >> np.uint64(24)))
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        distinct = np.bincount((key[first] >> np.uint64(40)).astype(np.int64), minlength=n)
        repeat = np.where(total >= 2 * _SHINGLE, 1.0 - distinct / np.maximum(total, 1), 0.0)
        question = _overlap(shingle_doc, shingle, frame["question_text"].tolist() if "question_text" in frame.columns else None, n)
        rubric = _overlap(shingle_doc, shingle, [tables.rubric[r] for r in comp_row], n)
        return pd.DataFrame({
            "chars": chars, "han_share": han / np.maximum(han + latin, 1), "latin_share": latin / safe, "repeat_share": repeat,
            "term_cover": np.bincount(doc_of[covered & content], minlength=n) / safe, "question_overlap": question, "rubric_overlap": rubric,
            "irrelevant_share": np.bincount(doc_of[off], minlength=n) / safe,
        })

    def _evidence(self, tables, points, doc, comp_row, word, start, end, flags, kept, n) -> np.ndarray:
        clause_of = np.cumsum(_IS_CLAUSE_MARK[points])  # clause id of every position (marks end a clause)
        n_clauses = int(clause_of[-1]) + 1 if len(clause_of) else 0
        row = comp_row[doc]
        is_pos = tables.pos[row, word] & kept
        is_neg = tables.neg[row, word] & kept
        chosen = np.flatnonzero(is_pos | is_neg)
        clause = clause_of[start[chosen]]
        # each phrase counts once per clause, at its first occurrence (hits are ordered by start)
        _, first = np.unique(clause * len(tables.words) + word[chosen], return_index=True)
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

    def _tokens(self, points: np.ndarray, n: int, tables: _Tables, text: str | None = None,
                windows: _Windows | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tokens of each answer's counted text: (hash, answer, start offset in ``points``), whitespace dropped.
        ``text`` and ``windows``, when given, are ``points`` decoded and ``_Windows(points)``."""
        texts = (points.tobytes().decode("utf-32-le", "surrogatepass") if text is None else text).split("\x00")[:n]
        cut = raw_cutter(self.tokenizer, tables.user_words)
        tokens = [cut(t) for t in texts]
        lengths = np.fromiter(map(len, chain.from_iterable(tokens)), dtype=np.int64)
        per_doc = np.fromiter(map(len, tokens), dtype=np.int64, count=n)
        doc = np.repeat(np.arange(n, dtype=np.int64), per_doc)
        start = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=start[1:])
        start += doc  # each earlier answer's \x00
        if int(lengths.sum()) != len(points) - n:  # a tokenizer that dropped or changed characters
            raise RuntimeError(f"the {self.tokenizer} tokenizer did not return the text it was given; tokens must cover it exactly")
        hashes = (_Windows(points) if windows is None else windows).hash(start, lengths)
        blank = np.concatenate(([0], np.cumsum(_IS_SPACE[points])))
        real = (blank[start + lengths] - blank[start]) < lengths  # drop whitespace tokens
        return hashes[real], doc[real], start[real]

    def _token_grams(self, hashes: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Token hashes in text order with their row → hashed word n-grams within a row: (row, column)."""
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

    def _char_keys(self, points: np.ndarray, n: int) -> np.ndarray | None:
        """:meth:`_char_grams` packed into 32-bit (answer, column) keys as ``_count_keys`` reads them, hashed and packed
        over whole shifted slices (fewer conversions and gathers); None when a piece's keys do not fit 32 bits."""
        bits = self.hash_bits
        if n << bits > 2**32:
            return None
        p = points[~_IS_SPACE[points]].astype(np.uint64)
        upper = (p >= 65) & (p <= 90)
        p[upper] += np.uint64(32)  # Latin letters lower-cased
        separator = p == 0
        doc_high = (np.cumsum(separator) - separator).astype(np.uint32) << np.uint32(bits)
        parts = []
        key, valid = p, ~separator
        for k in range(1, self.char_ngram_max + 1):
            if len(p) < k:
                break
            if k > 1:  # as in _char_grams
                key = (key[:-1] << np.uint64(21)) | p[k - 1:]
                valid = valid[:-1] & ~separator[k - 1:]
            packed = ((key * _GOLDEN) >> np.uint64(64 - bits)).astype(np.uint32)  # _column of every position
            packed |= doc_high[:len(packed)]
            parts.append(packed[valid])
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint32)

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
    def text_block(self, features: AnswerFeatures, group: str, *, whole: bool = False) -> sp.csr_matrix:
        """One n-gram block as the model sees it (fitted IDF, norm); an empty matrix if the group is not used.

        ``whole=True``: every n-gram counts, also those no training answer contained (the advisories' view)."""
        check_is_fitted(self, "idf_")
        n = len(features)
        if group not in features.text:
            return sp.csr_matrix((n, 2**self.hash_bits))
        return self.weigh(features.text[group], group, whole=whole)

    def ignores_unseen(self) -> bool:
        """Does the model's view drop n-grams no training answer contained? (Models saved before 2026-12-05 do not.)"""
        return getattr(self, "unseen_ngrams", "weigh") == "ignore" and hasattr(self, "seen_")

    def weigh(self, tf: sp.csr_matrix, group: str, *, whole: bool = False) -> sp.csr_matrix:
        """Sublinear term frequencies of one n-gram block → the block as the model sees it (fitted IDF, norm).

        Unseen n-grams keep their entries (as explicit zeros in the model's view), so the matrix's structure is
        the same in both views and in :meth:`ngram_occurrences`."""
        check_is_fitted(self, "idf_")
        values = self._idf_weighted(tf, group)
        if not whole and self.ignores_unseen():
            values[~self.seen_[group][tf.indices]] = 0.0
        return self._normalised(values, tf)

    def weigh_views(self, tf: sp.csr_matrix, group: str) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(the model's view, the whole view) of one block, from one IDF look-up: the same matrices as
        ``weigh(tf, group)`` and ``weigh(tf, group, whole=True)`` (the look-up dominates a batch's weighing)."""
        check_is_fitted(self, "idf_")
        whole = self._idf_weighted(tf, group)
        if not self.ignores_unseen():
            out = self._normalised(whole, tf)
            return out, out
        model = whole.copy()
        model[~self.seen_[group][tf.indices]] = 0.0
        return self._normalised(model, tf), self._normalised(whole, tf)

    def _idf_weighted(self, tf: sp.csr_matrix, group: str) -> np.ndarray:
        values = self.idf_[group].take(tf.indices)  # float64; × the term frequencies in place (same products)
        values *= tf.data
        return values

    def _normalised(self, values: np.ndarray, tf: sp.csr_matrix) -> sp.csr_matrix:
        out = sp.csr_matrix((values, tf.indices, tf.indptr), shape=tf.shape)
        if self.text_norm == "l2":
            # scikit-learn's normalize(out, copy=False) without its argument checks (values are finite, float64, and
            # ours): the same in-place kernel; rows without entries stay empty
            inplace_csr_row_normalize_l2(out)
        return out

    def blocks(self, features: AnswerFeatures) -> dict:
        """The column blocks of :meth:`transform` before they are stacked: each text group's weighted n-grams
        (CSR) and ``"dense"``, the standardised hand-built features (ndarray)."""
        return self.blocks_and_whole(features, None)[0]

    def blocks_and_whole(self, features: AnswerFeatures, group: str | None) -> tuple[dict, sp.csr_matrix | None]:
        """:meth:`blocks`, and ``group``'s whole view (every n-gram: the advisories' view) weighed from the same
        IDF look-up as its block in the model's view (None when ``group`` is None or not featurized)."""
        check_is_fitted(self, "idf_")
        out: dict = {}
        whole = None
        for g in TEXT_GROUPS:
            if g not in features.text:
                continue
            if g == group:
                out[g], whole = self.weigh_views(features.text[g], g)
            else:
                out[g] = self.text_block(features, g)
        out["dense"] = (features.dense - self.dense_mean_) / self.dense_scale_
        return out, whole

    @staticmethod
    def stack(blocks: dict):
        """:meth:`blocks` → the feature matrix the model sees (CSR)."""
        parts = [m for g, m in blocks.items() if g != "dense"] + [sp.csr_matrix(blocks["dense"])]
        return sp.hstack(parts, format="csr") if len(parts) > 1 else parts[0]

    def _finish(self, features: AnswerFeatures):
        return self.stack(self.blocks(features))

    # -- explanations: where each hashed n-gram sits in the original answer ----------------------------------------
    def ngram_occurrences(self, X, *, text: bool = True) -> pd.DataFrame:
        """Every word and character n-gram occurrence the text blocks of :meth:`transform` count, located in the
        ORIGINAL answers (for explanations; scoring never calls this).

        One row per occurrence, in the order the featurizer counts them: ``row`` (position in ``X``), ``group``
        (``words``/``chars``, categorical), ``n`` (tokens or characters in the n-gram), ``column`` (index in the feature matrix, block offset included),
        ``key`` (the n-gram's identity before hashing to a column: packed code points for characters, the 64-bit
        polynomial key for words), ``start``/``end`` (offsets into the original answer string: its first character
        and one past its last), ``gapped`` (True when the n-gram joins text that is not adjacent in the original
        answer because a masked term or a sentence the relevance filter dropped lies in between; the span then
        covers that text too) and, with ``text=True``, ``text`` (the n-gram as the model sees it: word tokens
        concatenated, with a space only between two Latin letters/digits; characters lower-cased, no whitespace).

        It repeats the scoring pass with the same helpers (masking, relevance decided sentence by sentence by
        :meth:`relevant_sentence_counts`, the tokenizer, ``_Windows.hash``, ``_STEP``, character packing,
        ``_column``), so its (row, column) pairs are exactly the non-zero text entries of :meth:`transform`
        (tested; a change to the scoring pass that breaks this fails that test).
        """
        check_is_fitted(self, "idf_")
        frame = _frame(X)
        n = len(frame)
        groups = tuple(self.feature_groups)
        texts = frame["answer"].tolist()
        joined = "\x00".join(texts) + "\x00" if n else ""
        original = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).copy()
        answer_start = np.zeros(n, dtype=np.int64)
        if n:
            np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=n)[:-1] + 1, out=answer_start[1:])
        # 1. masked terms are removed first (as in _analyse: before a \x00 inside an answer becomes a space);
        #    remember where every remaining character came from
        keep = np.ones(len(original), dtype=bool)
        if self.mask_terms:
            for m in _mask_pattern(tuple(self.mask_terms)).finditer(joined):
                keep[m.start():m.end()] = False
        inner = original == 0
        inner[answer_start + np.fromiter(map(len, texts), dtype=np.int64, count=n)] = False  # the separators stay
        original[inner] = 32
        origin, points = np.flatnonzero(keep), original[keep]
        # 2. sentences the scoring pass reads
        separator = points == 0
        new_sentence = np.ones(len(points), dtype=bool)
        if len(points):
            new_sentence[1:] = _IS_TERMINATOR[points[:-1]] | separator[:-1]
        sent_of = np.cumsum(new_sentence) - 1
        doc_of = np.cumsum(separator) - separator
        if self.relevance_filter:  # the featurizer decides per sentence: ask it about each sentence on its own
            bounds = np.append(np.flatnonzero(new_sentence), len(points))
            masked = points.tobytes().decode("utf-32-le", "surrogatepass")
            sentences = [masked[a:b].rstrip("\x00") for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
            unmasked = self.__class__(**{**self.get_params(), "mask_terms": ()})  # the sentences are masked already
            unmasked.__dict__.update({k: v for k, v in self.__dict__.items() if k.endswith("_") and not k.startswith("_")})
            comps = frame["competency"].to_numpy(dtype=object)[doc_of[bounds[:-1]]]
            relevant = unmasked.relevant_sentence_counts(pd.DataFrame({"answer": sentences, "competency": comps})) > 0
        else:  # every sentence with some non-blank character (as in _analyse)
            content = ~separator & ~_IS_SPACE[points]
            relevant = np.bincount(sent_of[content], minlength=int(sent_of[-1]) + 1 if len(points) else 0) > 0
        kept = relevant[sent_of] | separator
        kept_points, kept_origin, kept_doc = points[kept], origin[kept], doc_of[kept]
        # a gap lies between two consecutive kept characters when a non-blank original character separates them
        nonblank_upto = np.concatenate(([0], np.cumsum(~_IS_SPACE[original])))
        gap = np.zeros(len(kept_points), dtype=np.int64)
        if len(kept_points) > 1:
            gap[1:] = (nonblank_upto[kept_origin[1:]] - nonblank_upto[kept_origin[:-1] + 1]) > 0
        gaps_upto = np.cumsum(gap)

        out: dict[str, list] = {name: [] for name in ("row", "group", "n", "column", "key", "first", "last")}
        texts_out: list = []

        def add(group: int, k: int, doc, column, key, first, last, gram_text) -> None:
            for name, value in (("row", doc), ("column", column), ("key", key), ("first", first), ("last", last)):
                out[name].append(value)
            out["group"].append(np.full(len(doc), group, dtype=np.int8))
            out["n"].append(np.full(len(doc), k, dtype=np.int8))
            if text:
                texts_out.append(gram_text(key))

        if "words" in groups:
            cut = raw_cutter(self.tokenizer, self.user_words_)
            tokens = [cut(t) for t in kept_points.tobytes().decode("utf-32-le", "surrogatepass").split("\x00")[:n]]
            token_len = np.fromiter(map(len, chain.from_iterable(tokens)), dtype=np.int64)
            doc = np.repeat(np.arange(n, dtype=np.int64), np.fromiter(map(len, tokens), dtype=np.int64, count=n))
            start = np.zeros(len(token_len), dtype=np.int64)
            np.cumsum(token_len[:-1], out=start[1:])
            start += doc  # each earlier answer's \x00
            if int(token_len.sum()) != len(kept_points) - n:
                raise RuntimeError(f"the {self.tokenizer} tokenizer did not return the text it was given; tokens must cover it exactly")
            hashes = _Windows(kept_points).hash(start, token_len)
            blank = np.concatenate(([0], np.cumsum(_IS_SPACE[kept_points])))
            real = (blank[start + token_len] - blank[start]) < token_len  # whitespace tokens are dropped
            hashes, doc, start, token_len = hashes[real], doc[real], start[real], token_len[real]
            strings = list(chain.from_iterable(tokens))
            strings = [strings[i] for i in np.flatnonzero(real).tolist()] if text else None
            key = hashes
            for k in range(1, self.word_ngram_max + 1):
                if len(hashes) < k:
                    break
                m = len(hashes) - k + 1
                if k > 1:
                    key = key[:-1] * _STEP + hashes[k - 1:] + np.uint64(k)  # wrapping uint64, as in _token_grams
                same = np.flatnonzero(doc[:m] == doc[k - 1:])

                def word_text(keys, same=same, k=k):
                    return _unique_text(keys, lambda i: _join_tokens(strings[same[i]:same[i] + k]))

                add(0, k, doc[same], _column(key[same], self.hash_bits) + self._text_offset("words"), key[same], start[same],
                    start[same + k - 1] + token_len[same + k - 1] - 1, word_text)
        if "chars" in groups:
            visible = np.flatnonzero(~_IS_SPACE[kept_points])  # kept positions of the characters n-grams are made of
            p = kept_points[visible].astype(np.uint64)
            upper = (p >= 65) & (p <= 90)
            p[upper] += np.uint64(32)  # Latin letters lower-cased, as in _char_grams
            sep = p == 0
            key, valid = p, ~sep
            for k in range(1, self.char_ngram_max + 1):
                if len(p) < k:
                    break
                if k > 1:
                    key = (key[:-1] << np.uint64(21)) | p[k - 1:]
                    valid = valid[:-1] & ~sep[k - 1:]
                at = np.flatnonzero(valid)
                add(1, k, kept_doc[visible[at]], _column(key[at], self.hash_bits) + self._text_offset("chars"), key[at], visible[at],
                    visible[at + k - 1], lambda keys: _unique_text(keys, lambda i, keys=keys: _unpack(int(keys[i]))))
        cat = lambda parts, dtype: np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype=dtype)  # noqa: E731
        row, first, last = cat(out["row"], np.int64), cat(out["first"], np.int64), cat(out["last"], np.int64)
        result = pd.DataFrame({
            "row": row,
            "group": pd.Categorical.from_codes(cat(out["group"], np.int8), categories=["words", "chars"]),
            "n": cat(out["n"], np.int8),
            "column": cat(out["column"], np.int64),
            "key": cat(out["key"], np.uint64),
            "start": kept_origin[first] - answer_start[row] if len(row) else row,
            "end": kept_origin[last] - answer_start[row] + 1 if len(row) else row,
            "gapped": (gaps_upto[last] - gaps_upto[first]) > 0 if len(row) else row.astype(bool),
        }, copy=False)
        if text:
            result["text"] = cat(texts_out, object)
        return result

    def _text_offset(self, group: str) -> int:
        """First column of a text group's block in the feature matrix."""
        present = [g for g in TEXT_GROUPS if g in tuple(self.feature_groups)]
        return present.index(group) * 2**self.hash_bits


def _unique_text(keys: np.ndarray, text_of) -> np.ndarray:
    """Text per occurrence, built once per distinct key (``text_of(i)``: the text of occurrence i)."""
    if not len(keys):
        return np.empty(0, dtype=object)
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return np.array([text_of(i) for i in first.tolist()], dtype=object)[inverse]


def _join_tokens(tokens) -> str:
    """Word n-gram text: tokens concatenated, a space only where two Latin letters/digits would otherwise touch."""
    out = tokens[0]
    for token in tokens[1:]:
        out += (" " if out[-1:].isascii() and out[-1:].isalnum() and token[:1].isascii() and token[:1].isalnum() else "") + token
    return out


def _unpack(key: int) -> str:
    """Characters of a packed character n-gram key (21 bits per code point, none of them zero)."""
    chars = []
    while key:
        chars.append(chr(key & 0x1FFFFF))
        key >>= 21
    return "".join(reversed(chars))


def _term_frequencies(doc: np.ndarray | None, column: np.ndarray | None, n: int, bits: int, *, keys: np.ndarray | None = None) -> sp.csr_matrix:
    """(answer, column) occurrences — or the same packed as ``keys`` (see ``_count_keys``) — → CSR of sublinear term
    frequencies 1 + ln(count), columns sorted per row."""
    docs, columns, counts = _grouped_counts(doc, column, bits) if keys is None else _count_keys(keys, bits)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(docs, minlength=n), out=indptr[1:])
    values = (1.0 + np.log(counts)).astype(np.float32)
    return sp.csr_matrix((values, columns.astype(np.int32), indptr), shape=(n, 2**bits))


def _shingles(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(answer, hash) of every run of ``_SHINGLE`` non-blank characters within one answer."""
    p = points[~_IS_SPACE[points]]
    separator = p == 0
    doc_of = np.cumsum(separator) - separator
    if len(p) < _SHINGLE:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    m = len(p) - _SHINGLE + 1
    valid = doc_of[_SHINGLE - 1:] == doc_of[:m]
    valid &= ~separator[_SHINGLE - 1:]  # no separator inside the window (doc_of counts the one that ends an answer)
    # Σ p[s+j]·B^j (mod 2**64) by Horner over whole shifted slices: the value _Windows(p).hash(s, _SHINGLE) gives,
    # without the prefix sums and power tables
    q = p.astype(np.uint64)
    key = q[_SHINGLE - 1:].copy()
    for j in range(_SHINGLE - 2, -1, -1):
        key *= np.uint64(_BASE)
        key += q[j:j + m]
    starts = np.flatnonzero(valid)
    return doc_of[starts], key[starts]


def _overlap(answer_doc: np.ndarray, answer_shingle: np.ndarray, references: list | None, n: int) -> np.ndarray:
    """Per answer: the share of its shingles that occur in its reference text (NaN without one)."""
    if references is None:
        return np.full(n, np.nan)
    refs = [r if isinstance(r, str) else "" for r in references]
    unique = {t: i for i, t in enumerate(dict.fromkeys(refs))}
    ref_of = np.fromiter((unique[r] for r in refs), dtype=np.int64, count=n)
    texts = list(unique)
    joined = "\x00".join(texts) + "\x00"
    ref_doc, ref_shingle = _shingles(np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32))
    ref_keys = ref_shingle ^ (ref_doc.astype(np.uint64) * _GOLDEN)
    keys = answer_shingle ^ (ref_of[answer_doc].astype(np.uint64) * _GOLDEN)
    # the references are few and short: a bit table of their keys' top bits rules out almost every answer shingle
    # in one gather; the few that pass are confirmed by binary search (np.isin would sort both sides)
    ref_keys = np.unique(ref_keys)
    table = np.zeros(1 << _FILTER_BITS, dtype=bool)
    table[ref_keys >> np.uint64(64 - _FILTER_BITS)] = True
    inside = table[keys >> np.uint64(64 - _FILTER_BITS)]
    maybe = np.flatnonzero(inside)
    if len(maybe):
        at = np.minimum(np.searchsorted(ref_keys, keys[maybe]), len(ref_keys) - 1)
        inside[maybe] = ref_keys[at] == keys[maybe]
    total = np.bincount(answer_doc, minlength=n)
    out = np.bincount(answer_doc[inside], minlength=n) / np.maximum(total, 1)
    empty = np.array([not t.strip() for t in texts])[ref_of]
    return np.where(empty, np.nan, out)


def _frame(X) -> pd.DataFrame:
    from ._scorer import as_answer_frame

    return as_answer_frame(X)
