"""Advisory flags: answers the machine should not score on its own.

Operational automated scoring does not trust a content model with every response: ETS e-rater returns
"advisories" (too brief, excessive length, restatement of the prompt, reuse of language, unexpected topic …) and
IntelliMetric "non-scorables" that send a response to human readers instead of scoring it (a few per cent of
responses in practice). The scorer does the same. Every flag is computed from the answer itself and from what
the training answers looked like, never from a word list tuned to one cohort:

==================  ==========================================================================================
code                fires when
==================  ==========================================================================================
too_short           fewer non-blank characters than ``max(10, r × median)``, the median of the training answers to
                    the same question (its competency, or all answers, when the question has fewer than 30) and
                    ``r`` the 0.5th percentile of length ÷ median over all training answers
too_long            more than 1.25 × the 99.5th percentile of that ratio × the median (the scorer never saw such)
repetition          the share of repeated 4-character shingles exceeds ``max(0.35, 99.5th percentile)``
keyword_stuffing    dictionary terms and evidence phrases cover more of the text than ``max(0.5, 99.5th pct)``
copied_question     more than half of the answer's shingles come from the question text
copied_rubric       more than half of the answer's shingles come from the competency's rubric wording (BARS,
                    indicators): a candidate reciting the level-5 anchor
non_chinese         fewer than half of the letters are Chinese characters (an English or pinyin answer)
off_topic           TF-IDF cosine to the centroid of the training answers rated at or above the median to the
                    same question (competency, all) below that key's median leave-one-out similarity × the 0.5th
                    percentile of that ratio over all training answers; or below 30 % of that median
                    while the model scores the answer above the bottom third of the training ratings (an essay on something
                    else picking up credit from stray n-grams; weak off-topic answers are left to their low score)
padding             answers longer than their key's median, whatever the model scores them, in either view of which
                    sentences are unrelated to that centroid (each training sentence compared with the centroid of
                    the *other* answers — leave-one-out, as a new answer's sentences are): *counted*, more of the
                    characters than ``max(0.3, 99.5th percentile of the well-rated long training answers)`` in
                    sentences below the 10th percentile of the key's well-rated sentences; *weighed*, more than
                    ``max(0.1, that percentile)`` with each character of a sentence weighed by how far it falls below
                    the key's median × the 10th percentile of that ratio among well-rated sentences of similar
                    length (quintile bands, pooled over keys) — a strong answer with paragraphs about something else
                    appended, or an essay on something else
==================  ==========================================================================================

``route`` is ``human`` when any flag fires, else ``machine``. The percentile thresholds fire on about 0.5 % of
answers like the training answers each; the rate on genuine answers is reported by the scoring stage. Models saved
before 2026-12-05 keep their rules: padding with ``sentence_typical`` (30 % of the median sentence similarity) or
without ``padding_weighed_max`` only the counted view, or without ``padding_any_score`` checked only for answers
scored above the bottom third.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["ADVISORIES", "ROUTES", "fit_advisories", "fit_padding", "apply_advisories", "join_codes"]

ADVISORIES = ("too_short", "too_long", "repetition", "keyword_stuffing", "copied_question", "copied_rubric", "non_chinese", "off_topic",
              "padding")
ROUTES = ("machine", "human")
_QUANTILE_LOW, _QUANTILE_HIGH = 0.005, 0.995
_MIN_ANSWERS = 30  # answers a question (or competency) needs before it gets thresholds of its own
_CENTROID_TERMS = 2_000  # terms kept per centroid (the rest carry little weight and would bloat the model file)
_FLOORS = {"too_short": 10.0, "repetition": 0.35, "keyword_stuffing": 0.5}
_COPY_SHARE = 0.5
_FAR_OFF = 0.3  # under 30 % of the similarity a typical well-rated answer to the question has
_SCORE_GATE = 1 / 3  # … scored above the bottom third of the training ratings
_FAR_OFF_SENTENCE = 0.3  # models saved before 2026-12-05: under 30 % of the median sentence similarity is unrelated
# a sentence less similar to its question's centroid than 90 % of the (leave-one-out) sentences of well-rated
# training answers to that question counts as unrelated. A share of the median (the rule before 2026-12-05) let
# appended reviews through where a question's sentences were all short and weakly similar; the 2nd percentile (the
# rule until the leave-one-out comparison) sat below most appended reviews once a training sentence no longer
# counted its own answer. Which sentences count only sets the statistic: how many of them an answer may have is the
# 99.5th percentile of the training answers' shares (padding_max), so a genuine answer is flagged about as often
# whichever percentile is used, and the 10th marks more of an appended essay than the 2nd does
_FAR_SENTENCE_QUANTILE = 0.1
_LENGTH_BANDS = (0.2, 0.4, 0.6, 0.8)  # quantiles of well-rated sentences' length: five bands
_PADDING_FLOOR = 0.3  # least share of characters in unrelated sentences (counted view) before "padding" can fire
# the same for the weighed view (a guard for training answers with no unrelated sentence at all; the 99.5th
# percentile is higher: 0.16 default, 0.20 smoke). Not 0.3: weighed by distance, a strong answer with four reviews
# appended had 0.25, which the percentile alone caught
_PADDING_WEIGHED_FLOOR = 0.1
_MIN_HAN_SHARE = 0.5


def _key_columns(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    question = frame["question_id"].astype(str).to_numpy() if "question_id" in frame.columns else np.full(len(frame), "")
    question = np.where(pd.isna(frame["question_id"]).to_numpy() if "question_id" in frame.columns else True, "", question)
    return question.astype(object), frame["competency"].astype(str).to_numpy().astype(object)


def _resolve_keys(frame: pd.DataFrame, known: dict[str, int]) -> np.ndarray:
    """Per answer: the index of its question's entry, else its competency's, else the global one ("")."""
    question, competency = _key_columns(frame)
    # looked up once per distinct question and competency (a piece of answers holds a few hundred at most)
    q_code, q_values = pd.factorize(question, use_na_sentinel=False)
    c_code, c_values = pd.factorize(competency, use_na_sentinel=False)
    by_question = np.fromiter((known.get(f"q:{q}", -1) if q else -1 for q in q_values), dtype=np.int64, count=len(q_values))
    by_competency = np.fromiter((known.get(f"c:{c}", known[""]) for c in c_values), dtype=np.int64, count=len(c_values))
    out = by_question[q_code]
    return np.where(out >= 0, out, by_competency[c_code])


def _groups(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Rows per key: every question and competency with enough answers, and "" (all answers)."""
    question, competency = _key_columns(frame)
    groups: dict[str, np.ndarray] = {"": np.arange(len(frame))}
    for prefix, values in (("c:", competency), ("q:", question)):
        codes, inverse = np.unique(values.astype(str), return_inverse=True)
        counts = np.bincount(inverse, minlength=len(codes))
        for j, code in enumerate(codes):
            if code and counts[j] >= _MIN_ANSWERS:
                groups[prefix + code] = np.flatnonzero(inverse == j)
    return groups


def _centroid_rows(rows: np.ndarray, on_topic: np.ndarray) -> np.ndarray:
    """The rows of a key whose answers make up its topic centroid: the well-rated ones, unless too few are."""
    if on_topic[rows].sum() >= min(_MIN_ANSWERS, len(rows)) // 2:
        return rows[on_topic[rows]]
    return rows


def _on_topic(y, n: int) -> np.ndarray:
    if y is None:
        return np.ones(n, dtype=bool)
    y = np.asarray(y, dtype=float)
    return y >= np.nanmedian(y)


def fit_advisories(stats: pd.DataFrame, frame: pd.DataFrame, words: sp.csr_matrix, y=None) -> dict:
    """Thresholds and topic centroids learnt from the training answers (a plain dict, stored in the scorer).

    ``words``: the answers' L2-normalised TF-IDF word block (what the scorer sees), one row per answer. Length and
    topic thresholds are per question (or competency): the key's median times a ratio whose percentile is taken
    over all training answers of that level at once — a 0.5th percentile of 40 answers would just be their minimum.
    With ratings ``y`` the topic centroid and its threshold come from the answers rated at or above the median
    (what an on-topic answer to the question looks like); a weak answer is often weak because it drifts off the
    question, so it must not widen the band an essay on something else can hide in.
    """
    groups = _groups(frame)
    on_topic = _on_topic(y, len(frame))
    keys = list(groups)
    chars = stats["chars"].to_numpy(float)
    width = words.shape[1]
    squares = words.multiply(words).tocsr()
    centroids, length_median, topic_median, level = [], [], [], []
    ratios: dict[str, tuple[list, list]] = {"q": ([], []), "c": ([], []), "": ([], [])}  # level → (length ratios, topic ratios)
    for k in keys:
        every = groups[k]
        rows = _centroid_rows(every, on_topic)
        sub = words[rows]
        columns, inverse = np.unique(sub.indices, return_inverse=True)
        total = np.bincount(inverse, weights=sub.data, minlength=len(columns))
        top = np.argsort(-total, kind="stable")[:_CENTROID_TERMS]
        top = top[total[top] > 0]
        keep_cols, keep_vals = columns[top], total[top]
        zeros = np.zeros(len(top), dtype=np.int64)
        summed = sp.csr_matrix((keep_vals, (keep_cols, zeros)), shape=(width, 1))
        indicator = sp.csr_matrix((np.ones(len(top)), (keep_cols, zeros)), shape=(width, 1))
        norm_sq = float(keep_vals @ keep_vals)
        dot = np.asarray((sub @ summed).todense()).ravel()  # x·S
        kept = np.asarray((squares[rows] @ indicator).todense()).ravel()  # ‖x restricted to the kept terms‖²
        rest = np.sqrt(np.maximum(norm_sq - 2 * dot + kept, 1e-12))
        loo = (dot - kept) / rest  # each answer (norm 1) against the centroid of the others, as predict measures it
        norm = np.sqrt(norm_sq) or 1.0
        # every answer of the key against that centroid (its own contribution left out when it is part of it)
        similarity = np.asarray((words[every] @ summed).todense()).ravel() / norm
        similarity[np.searchsorted(every, rows)] = loo
        centroids.append(sp.csr_matrix((keep_vals / norm, (zeros, keep_cols)), shape=(1, width)))
        length_median.append(max(float(np.median(chars[every])), 1.0))
        topic_median.append(max(float(np.median(loo)), 1e-6))
        level.append(k[:1] if k else "")
        ratios[level[-1]][0].append(chars[every] / length_median[-1])
        # the score-blind threshold comes from all answers (weak ones included): it flags only what no training
        # answer looked like; the score-gated rule below catches essays that drift within that band
        ratios[level[-1]][1].append(similarity / topic_median[-1])
    length_median, topic_median = np.array(length_median), np.array(topic_median)
    # the ratio percentiles per level: an answer to an unseen question is compared with its competency's centroid,
    # which fits every answer less closely than the question's own centroid does
    bounds = {}
    for lvl, (lengths, topics) in ratios.items():
        if lengths:
            lengths, topics = np.concatenate(lengths), np.concatenate(topics)
            bounds[lvl] = (*np.quantile(lengths, [_QUANTILE_LOW, _QUANTILE_HIGH]), float(np.quantile(topics, _QUANTILE_LOW)))
    low, high, topic_low = (np.array([bounds[lvl][i] for lvl in level]) for i in range(3))
    repeat = stats["repeat_share"].to_numpy(float)
    cover = stats["term_cover"].to_numpy(float)
    return {
        "keys": keys,
        "length_low": np.maximum(_FLOORS["too_short"], low * length_median),
        "length_high": 1.25 * high * length_median,
        "length_median": length_median,
        "topic_low": topic_low * topic_median,
        "topic_median": topic_median,
        # an answer far off the question's well-rated answers that the model nonetheless scores above the middle
        # is exactly what a human must see (an essay on something else picking up credit from stray n-grams)
        "score_gate": float(np.nanquantile(np.asarray(y, dtype=float), _SCORE_GATE)) if y is not None else None,
        "level": level,
        "centroids": sp.vstack(centroids, format="csr"),
        "repeat_max": max(_FLOORS["repetition"], float(np.quantile(repeat, _QUANTILE_HIGH))),
        "stuffing_max": max(_FLOORS["keyword_stuffing"], float(np.quantile(cover, _QUANTILE_HIGH))),
        "copy_share": _COPY_SHARE,
        "min_han_share": _MIN_HAN_SHARE,
        "trained_on": len(frame),
    }


_SCRATCH = threading.local()


def _scratch(width: int) -> np.ndarray:
    """A zero row of ``width`` floats kept per thread (fitting calls ``_similarity`` once per key; allocating and
    faulting in 8 MB each time would cost more than the look-ups). Callers leave it all zeros."""
    row = getattr(_SCRATCH, "row", None)
    if row is None or len(row) != width:
        row = _SCRATCH.row = np.zeros(width)
    return row


def _similarity(state: dict, key: np.ndarray, words: sp.csr_matrix) -> np.ndarray:
    """Cosine of each row of ``words`` (L2-normalised) with the centroid of its key."""
    # rows grouped by the centroid they are compared with; each group's stored entries look their columns up in
    # that centroid spread into a dense row (its few columns set, then cleared again): one gather per entry instead
    # of a binary search (a sparse product per key would convert a 2**hash_bits-long centroid between formats)
    centroids = state["centroids"].tocsr()
    centroids.sort_indices()
    n = words.shape[0]
    similarity = np.zeros(n)
    if not n:
        return similarity
    order = np.argsort(key, kind="stable")
    grouped = words.tocsr()[order]
    product = np.zeros(grouped.nnz)
    dense = _scratch(centroids.shape[1])
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(key[order])) + 1, [n]))
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        k = key[order[a]]
        lo, hi = centroids.indptr[k], centroids.indptr[k + 1]
        first, last = grouped.indptr[a], grouped.indptr[b]
        if hi == lo or last == first:
            continue
        columns = centroids.indices[lo:hi]
        dense[columns] = centroids.data[lo:hi]
        try:
            np.multiply(grouped.data[first:last], dense[grouped.indices[first:last]], out=product[first:last])  # 0 off the centroid
        finally:
            dense[columns] = 0.0  # the scratch row is all zeros between uses
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(grouped.indptr))
    similarity[order] = np.bincount(row, weights=product, minlength=n)
    return similarity


def _sentence_similarity(state: dict, featurizer, sentences) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """Per sentence: its similarity to its answer's centroid, the centroid's key, and the sentence's weighed words
    (every n-gram counts, as for whole answers)."""
    weighted = featurizer.weigh(sentences.words, "words", whole=True)
    key = _resolve_keys(sentences.frame, {k: i for i, k in enumerate(state["keys"])})
    return _similarity(state, key, weighted), key, weighted


def _per_key(values: np.ndarray, key: np.ndarray, n_keys: int, q: float | None) -> np.ndarray:
    """The ``q`` quantile (None: the median) of ``values`` per key; keys without values get it over all values."""
    overall = (np.median(values) if q is None else np.quantile(values, q)) if len(values) else 0.0
    out = np.full(n_keys, float(overall))
    groups = pd.Series(values).groupby(key)
    per = groups.median() if q is None else groups.quantile(q)
    out[per.index.to_numpy(dtype=np.int64)] = per.to_numpy()
    return out


def _lookup(matrix: sp.csr_matrix, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``matrix[rows[i], columns[i]]`` for every i (0 where nothing is stored), by one binary search."""
    matrix = matrix.tocsr()
    matrix.sort_indices()
    width = np.int64(matrix.shape[1])
    stored = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr)) * width + matrix.indices
    wanted = np.asarray(rows, dtype=np.int64) * width + np.asarray(columns, dtype=np.int64)
    if not len(stored):
        return np.zeros(len(wanted))
    at = np.minimum(np.searchsorted(stored, wanted), len(stored) - 1)
    return np.where(stored[at] == wanted, matrix.data[at], 0.0)


def _sentence_loo(state: dict, sim: np.ndarray, key: np.ndarray, weighted: sp.csr_matrix, sentences, frame: pd.DataFrame,
                  words: sp.csr_matrix, y) -> np.ndarray:
    """Each training sentence against the centroid of its key with its own answer left out (when that answer is part
    of the centroid): the similarity a new answer's sentence has to the centroid of answers it is not among."""
    answer_key = _resolve_keys(frame, {k: i for i, k in enumerate(state["keys"])})
    on_topic = _on_topic(y, len(frame))
    groups = _groups(frame)
    words = words.tocsr()
    member = np.zeros(len(frame), dtype=bool)  # the answer is part of the centroid of the key its sentences use
    norm = np.zeros(len(state["keys"]))  # ‖S‖ = Σ x·ĉ over the centroid's answers (ĉ = S/‖S‖, S their kept terms)
    for i, k in enumerate(state["keys"]):
        rows = _centroid_rows(groups[k], on_topic)
        member[rows[answer_key[rows] == i]] = True
        norm[i] = _similarity(state, np.full(len(rows), i), words[rows]).sum()
    centroids = state["centroids"]
    # per answer, against the centroid its sentences use: x·ĉ and ‖x restricted to the centroid's terms‖²
    entry_row = np.repeat(np.arange(words.shape[0], dtype=np.int64), np.diff(words.indptr))
    in_centroid = _lookup(centroids, answer_key[entry_row], words.indices)
    dot = np.bincount(entry_row, weights=words.data * in_centroid, minlength=words.shape[0])
    kept = np.bincount(entry_row, weights=words.data ** 2 * (in_centroid != 0), minlength=words.shape[0])
    # per sentence: s·x of its own answer over the centroid's terms
    weighted = weighted.tocsr()
    sentence_row = np.repeat(np.arange(weighted.shape[0], dtype=np.int64), np.diff(weighted.indptr))
    answer = sentences.answer[sentence_row]
    own = weighted.data * _lookup(words, answer, weighted.indices) * (_lookup(centroids, key[sentence_row], weighted.indices) != 0)
    own = np.bincount(sentence_row, weights=own, minlength=weighted.shape[0])
    a = sentences.answer
    s_norm = norm[key]
    rest = np.sqrt(np.maximum(s_norm ** 2 - 2 * s_norm * dot[a] + kept[a], 1e-12))
    return np.where(member[a], (s_norm * sim - own) / rest, sim)


def fit_padding(state: dict, featurizer, sentences, y, n: int, *, frame: pd.DataFrame, words: sp.csr_matrix) -> dict:
    """The padding advisory's state: the typical sentence similarity per key and the share threshold.

    With the training answers' ``frame`` and topic block ``words`` (what :func:`fit_advisories` was given) each
    sentence of an answer that is part of its key's centroid is compared with the centroid of the other answers
    (leave-one-out), as a new answer's sentences are: a question with few answers then gets thresholds of its own
    without its answers' sentences looking closer to its centroid than a new answer's would."""
    sim, key, weighted = _sentence_similarity(state, featurizer, sentences)
    sim = _sentence_loo(state, sim, key, weighted, sentences, frame, words, y)
    y = np.asarray(y, dtype=float)
    upper_answer = y >= np.nanmedian(y)
    upper = upper_answer[sentences.answer]
    if not upper.any():  # no well-rated answer has a sentence: every sentence is the reference
        upper = np.ones(len(sim), dtype=bool)
    # Two views of "unrelated", each with its own limit; either one firing sends the answer to a person:
    # 1. counted: sentences below the 10th percentile of the key's own well-rated sentences — strong where a key's
    #    sentences are its own (small keys compared with a competency or the global centroid);
    # 2. weighed: each sentence against the key's median × the 10th percentile of that ratio among well-rated
    #    sentences of similar length (pooled over keys), each character weighed by how far below it is — one
    #    percentile over all lengths is set by short sentences, which share few words with any centroid, so long
    #    appended reviews at 0.04 passed as related where well-rated sentences that long sit far higher.
    # Each limit is the 99.5th percentile of the well-rated long answers' shares; on the default cohort view 1 let
    # one padded probe of 216 through (share 0.41, limit 0.43), view 2 none; on the smoke cohort view 2 let six
    # through that view 1 caught.
    low = _per_key(sim[upper], key[upper], len(state["keys"]), _FAR_SENTENCE_QUANTILE)
    median = np.maximum(_per_key(sim[upper], key[upper], len(state["keys"]), None), 1e-6)
    edges = np.quantile(sentences.chars[upper], _LENGTH_BANDS) if len(sim) else np.zeros(len(_LENGTH_BANDS))
    band = np.searchsorted(edges, sentences.chars, side="right")
    ratio = sim / median[key]
    ratio_low = np.zeros(len(_LENGTH_BANDS) + 1)
    for b in range(len(ratio_low)):
        if (upper & (band == b)).any():
            ratio_low[b] = float(np.quantile(ratio[upper & (band == b)], _FAR_SENTENCE_QUANTILE))
    padding = {"sentence_low": low, "sentence_median": median, "sentence_length_edges": edges, "sentence_ratio_low": ratio_low}
    counted = _share(_far_sentences(padding, sim, key), sentences, n)
    weighed = _share(_far_weighed(padding, sim, key, sentences.chars), sentences, n)
    # the limits come from the answers the advisory is checked on (longer than their key's median): a short answer
    # with one odd sentence out of three has a large share, and counting those raised the limit above what any long
    # well-rated answer reaches (0.72 instead of 0.32 on the smoke cohort: four appended reviews passed)
    total = np.bincount(sentences.answer, weights=sentences.chars, minlength=n)
    answer_key = np.zeros(n, dtype=np.int64)
    answer_key[sentences.answer] = key
    reference = upper_answer & (total > state["length_median"][answer_key])
    if not reference.any():
        reference = upper_answer

    def limit(share, floor):
        return max(floor, float(np.quantile(share[reference], _QUANTILE_HIGH))) if reference.any() else 1.0

    # any_score: checked whatever the model scores (models saved before 2026-12-05: only above the score gate)
    return {**padding, "padding_max": limit(counted, _PADDING_FLOOR), "padding_weighed_max": limit(weighed, _PADDING_WEIGHED_FLOOR),
            "padding_any_score": True}


def _far_sentences(state: dict, sim: np.ndarray, key: np.ndarray) -> np.ndarray:
    if "sentence_low" in state:
        return sim < state["sentence_low"][key]
    return sim < _FAR_OFF_SENTENCE * state["sentence_typical"][key]  # models saved before 2026-12-05


def _far_weighed(state: dict, sim: np.ndarray, key: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """How far below its length band's threshold each sentence is: 0 (at or above it) … 1 (nothing in common with
    the centroid). A well-rated answer's odd sentence sits just under its threshold, an appended review far below."""
    band = np.searchsorted(state["sentence_length_edges"], chars, side="right")
    threshold = state["sentence_median"][key] * state["sentence_ratio_low"][band]
    return np.clip(1.0 - sim / np.maximum(threshold, 1e-12), 0.0, 1.0) * (sim < threshold)


def _share(far: np.ndarray, sentences, n: int) -> np.ndarray:
    total = np.bincount(sentences.answer, weights=sentences.chars, minlength=n)
    return np.bincount(sentences.answer, weights=sentences.chars * far, minlength=n) / np.maximum(total, 1)


def apply_advisories(state: dict, stats: pd.DataFrame, frame: pd.DataFrame, words: sp.csr_matrix, scores=None, *, featurizer=None,
                     features=None) -> pd.DataFrame:
    """One row per answer: ``advisories`` (codes joined by ";", empty when none), ``route`` and the similarity.

    ``scores`` (the model's scores of these answers) enables the second off-topic rule: similarity below
    ``_FAR_OFF`` × the key's median while scoring above the bottom third of the training ratings."""
    index = {k: i for i, k in enumerate(state["keys"])}
    key = _resolve_keys(frame, index)
    similarity = _similarity(state, key, words)
    chars = stats["chars"].to_numpy(float)
    flags = {
        "too_short": chars < state["length_low"][key],
        "too_long": chars > state["length_high"][key],
        "repetition": stats["repeat_share"].to_numpy(float) > state["repeat_max"],
        "keyword_stuffing": stats["term_cover"].to_numpy(float) > state["stuffing_max"],
        "copied_question": np.nan_to_num(stats["question_overlap"].to_numpy(float), nan=0.0) > state["copy_share"],
        "copied_rubric": np.nan_to_num(stats["rubric_overlap"].to_numpy(float), nan=0.0) > state["copy_share"],
        "non_chinese": (stats["han_share"].to_numpy(float) < state["min_han_share"]) & (chars > 0),
        "off_topic": similarity < state["topic_low"][key],
    }
    flags["padding"] = np.zeros(len(frame), dtype=bool)
    checked = None  # the answers the padding advisory looks at
    if scores is not None and state.get("score_gate") is not None and "topic_median" in state:
        scored_up = np.asarray(scores, dtype=float) > state["score_gate"]
        far_off = similarity < _FAR_OFF * state["topic_median"][key]
        flags["off_topic"] |= far_off & scored_up
        checked = scored_up
    if state.get("padding_any_score"):
        # an essay on something else that the model scores just under the gate can still outscore the question's
        # middling answers; a long answer mostly made of sentences unlike any well-rated answer's is for a person
        # whatever it scores
        checked = np.ones(len(frame), dtype=bool)
    if checked is not None and "padding_max" in state and featurizer is not None and features is not None:
        # only answers longer than their key's median can hide an appended essay; the rest are not split
        candidates = np.flatnonzero(checked & (chars > state["length_median"][key]))
        if len(candidates):
            subset = features.take(candidates, text=False)  # sentence_features reads no n-gram block
            sentences = featurizer.sentence_features(subset)
            sim, skey, _ = _sentence_similarity(state, featurizer, sentences)
            share = _share(_far_sentences(state, sim, skey), sentences, len(candidates))
            flagged = share > state["padding_max"]
            if "padding_weighed_max" in state:  # models saved before the weighed view have only the counted one
                weighed = _share(_far_weighed(state, sim, skey, sentences.chars), sentences, len(candidates))
                flagged |= weighed > state["padding_weighed_max"]
            flags["padding"][candidates] = flagged
    matrix = np.column_stack([flags[a] for a in ADVISORIES])
    # the codes string of each distinct combination of flags, built once
    combination = matrix.astype(np.int64) @ (1 << np.arange(len(ADVISORIES), dtype=np.int64))
    present, inverse = np.unique(combination, return_inverse=True)
    codes = np.array([join_codes([(int(c) >> i) & 1 for i in range(len(ADVISORIES))]) for c in present.tolist()], dtype=object)[inverse].tolist()
    return pd.DataFrame({"advisories": codes, "route": np.where(matrix.any(axis=1), "human", "machine"), "topic_similarity": similarity})


def join_codes(row) -> str:
    return ";".join(code for code, on in zip(ADVISORIES, row) if on)
