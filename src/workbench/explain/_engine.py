"""The attribution engines behind :func:`explain_answers`.

``_LinearEngine`` — exact Shapley values of a linear scorer (ridge) with an independent background: for feature j
of answer i, ``φ_ij = w_j · (x_ij − μ_j)`` where μ is the background mean. Computed on the sparse matrix: every
non-zero text entry individually; the dense columns (evidence, bei, relevant, …) as one small block; and for each
text group the features an answer does *not* contain (each ``−w_j·μ_j``) as one sum, obtained from the group's
precomputed total minus the answer's present columns. Memory is proportional to the non-zeros of the batch.

A hashed column's value goes back to the n-grams of that answer that fell into it (``ngram_occurrences``): split
equally between their occurrences, so when two different n-grams of one answer share a bucket each gets the share of
its occurrence count (n-gram A twice and B once in one column: A gets 2/3, B 1/3). An n-gram's value is the sum of its
occurrences' shares.

``_TokenEngine`` — any other scorer (``model="hgb"``): shap's Partition explainer over the answer's tokens from the
scorer's own tokenizer, masking = deleting the token (whitespace kept, so sentence ends survive). The base value is
the score of an empty answer.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ConfigurationError
from ..scoring._featurize import _unpack
from ..scoring._scorer import as_answer_frame
from ..scoring._tokenize import raw_cutter

__all__ = ["background_means", "engine_for", "Attribution", "char_values", "token_spans"]

KINDS = ("ngram", "dense", "absent", "token")
ABSENT = "absent_ngrams"


def _parts(scorer):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(scorer, "pipeline_")
    return scorer.pipeline_.named_steps["features"], scorer.pipeline_.named_steps["model"]


def is_linear(scorer) -> bool:
    _, model = _parts(scorer)
    return hasattr(model, "coef_") and hasattr(model, "intercept_")


def _n_features(scorer) -> int:
    _, model = _parts(scorer)
    return int(np.ravel(model.coef_).shape[0])


def background_means(scorer, background=None, *, batch_size: int = 2000) -> tuple[np.ndarray, str]:
    """The background mean of every feature column and where it came from.

    ``background``: None (the scorer's stored training means, ``feature_means_``), answers (what ``predict``
    accepts: their feature means), a feature matrix (answers × features, sparse or dense: its column means) or a
    vector with one mean per feature.
    """
    width = _n_features(scorer)
    if background is None:
        stored = getattr(scorer, "feature_means_", None)
        if stored is None:
            raise ConfigurationError(
                "this scorer does not store its training feature means (feature_means_); pass background= the training "
                "answers (e.g. the answers it was fitted on) or their feature matrix, or refit with a workbench version that stores them"
            )
        mean = np.asarray(stored.toarray() if sp.issparse(stored) else stored, dtype=np.float64).ravel()
        source = "training_means"
    elif sp.issparse(background) or (isinstance(background, np.ndarray) and background.ndim == 2 and background.dtype.kind in "fiub"):
        if background.shape[1] != width:
            raise ConfigurationError(f"background matrix has {background.shape[1]} columns, the scorer has {width} features")
        if background.shape[0] == 0:
            raise ConfigurationError("background matrix has no rows")
        mean = np.asarray(background.mean(axis=0), dtype=np.float64).ravel()
        source = "matrix"
    elif isinstance(background, np.ndarray) and background.ndim == 1 and background.dtype.kind in "fiu":
        mean = background.astype(np.float64)
        source = "vector"
    else:
        frame = as_answer_frame(background)
        if not len(frame):
            raise ConfigurationError("background holds no answers")
        featurizer, _ = _parts(scorer)
        total = np.zeros(width, dtype=np.float64)
        for lo in range(0, len(frame), batch_size):
            total += np.asarray(featurizer.transform(frame.iloc[lo:lo + batch_size]).sum(axis=0), dtype=np.float64).ravel()
        mean = total / len(frame)
        source = "answers"
    if mean.shape != (width,):
        raise ConfigurationError(f"background means must have one value per feature ({width}), got shape {mean.shape}")
    if not np.isfinite(mean).all():
        raise ConfigurationError("background means contain NaN or infinite values")
    return mean, source


# ------------------------------------------------------------------------------------------------------------
@dataclass
class Attribution:
    """Every attribution of a batch of answers, before the top-k cut (arrays; ``feature`` tables are per answer)."""

    n: int
    base: np.ndarray  # per answer
    prediction: np.ndarray  # what is explained (the unclipped model output)
    row_total: np.ndarray  # per answer, the sum of all its attributions (also of n-grams not itemised under top_k)
    # one row per (answer, attributed feature): kind code, group name, key (n-gram key or dense/absent index), value
    f_row: np.ndarray
    f_kind: np.ndarray
    f_group: np.ndarray  # object: group name
    f_name: np.ndarray  # object: readable feature (n-gram text filled lazily, dense/absent names)
    f_value: np.ndarray
    f_n: np.ndarray  # n-gram length (0 for non-text)
    f_key: np.ndarray  # uint64: n-gram key; dense column index; text group index (absent sums)
    f_gcode: np.ndarray  # text group code of n-grams (0 words, 1 chars); 0 otherwise — (kind, gcode, n, key) identifies a feature
    f_occ: np.ndarray  # index of the feature's first occurrence in the occ arrays
    f_count: np.ndarray  # its number of occurrences (0: not a text feature)
    # occurrences (text spans) in the featurizer's order: start, end, gapped, share of the value, feature index
    occ_start: np.ndarray
    occ_end: np.ndarray
    occ_gapped: np.ndarray
    occ_share: np.ndarray
    occ_row: np.ndarray
    occ_unigram: np.ndarray  # the occurrence is a single token/character (marks characters the model read)
    occ_feature: np.ndarray  # index into f_* of the feature the occurrence belongs to
    texts: list  # the answers
    extra: dict = field(default_factory=dict)


class _LinearEngine:
    method = "linear_exact"

    def __init__(self, scorer, mean: np.ndarray):
        featurizer, model = _parts(scorer)
        self.scorer, self.featurizer = scorer, featurizer
        self.coef = np.asarray(model.coef_, dtype=np.float64).ravel()
        self.intercept = float(np.ravel(model.intercept_)[0]) + float(getattr(scorer, "offset_", 0.0))
        self.mean = mean
        groups = [g for g in ("words", "chars") if g in tuple(featurizer.feature_groups)]
        width = 2**featurizer.hash_bits
        self.blocks = {g: (i * width, (i + 1) * width) for i, g in enumerate(groups)}
        self.text_width = len(groups) * width
        self.dense_names = _dense_names(featurizer, len(self.coef) - self.text_width)
        self.base = self.intercept + float(self.coef @ self.mean)
        absent = -self.coef[: self.text_width] * self.mean[: self.text_width]
        self.absent_term = absent  # −w·μ of every text column
        self.absent_total = {g: float(absent[lo:hi].sum()) for g, (lo, hi) in self.blocks.items()}
        self.evaluations = 0

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        """The linear score (before the scorer clips it to the training range)."""
        return self.featurizer.transform(frame) @ self.coef + self.intercept

    def attribute(self, frame: pd.DataFrame, *, top_k: int | None = None) -> Attribution:
        """Every attribution of ``frame``'s answers. With ``top_k``, n-grams that cannot reach an answer's top k are
        summed (``row_total``) but not itemised: an n-gram's value is at most its column's in size, and a column
        smaller than the k-th largest of the answer's non-n-gram features (evidence, cues, absent sums) cannot enter."""
        n, T = len(frame), self.text_width
        X = sp.csr_matrix(self.featurizer.transform(frame))
        X.sum_duplicates()
        X.sort_indices()
        prediction = np.asarray(X @ self.coef, dtype=np.float64) + self.intercept
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(X.indptr))
        cols, vals = X.indices.astype(np.int64), X.data.astype(np.float64)
        text = cols < T
        tr, tc, tv = rows[text], cols[text], vals[text]
        w, mu = self.coef[tc], self.mean[tc]
        phi = w * (tv - mu)  # present text columns
        dense_x = X[:, T:].toarray()
        dense_phi = (dense_x - self.mean[T:]) * self.coef[T:]
        absent = {}  # per text group: −Σ w·μ over the columns the answer lacks = the group's total minus its present columns
        for g, (lo, hi) in self.blocks.items():
            inside = (tc >= lo) & (tc < hi)
            absent[g] = self.absent_total[g] + np.bincount(tr[inside], weights=(w * mu)[inside], minlength=n)
        other = np.column_stack([dense_phi, *absent.values()]) if (dense_phi.shape[1] or absent) else np.zeros((n, 0))
        row_total = np.bincount(tr, weights=phi, minlength=n) + other.sum(axis=1)
        bound = np.zeros(n)
        if top_k is not None and other.shape[1] >= top_k:
            bound = -np.sort(-np.abs(other), axis=1)[:, top_k - 1]

        parts: dict[str, list] = {k: [] for k in ("row", "kind", "group", "name", "value", "n", "key", "gcode", "occ", "count")}

        def add(**columns):
            for k, v in columns.items():
                parts[k].append(v)

        occ_arrays = dict(start=np.empty(0, np.int64), end=np.empty(0, np.int64), gapped=np.empty(0, bool), share=np.empty(0),
                          row=np.empty(0, np.int64), unigram=np.empty(0, bool), feature=np.empty(0, np.int64))
        if T:
            occ = self.featurizer.ngram_occurrences(frame, text=False)
            o_row, o_col = occ["row"].to_numpy(np.int64), occ["column"].to_numpy(np.int64)
            # the matrix entry of every occurrence: the distinct (answer, column) pairs of the occurrences must be
            # exactly the non-zero text entries of the matrix (both sorted by answer, then column)
            distinct, entry, per_entry = np.unique(o_row * T + o_col, return_inverse=True, return_counts=True)
            if not np.array_equal(distinct, tr * T + tc):
                raise RuntimeError("the n-gram occurrences do not match the text columns of the feature matrix: "
                                   "AnswerFeaturizer.ngram_occurrences and transform disagree")
            candidate = np.abs(phi) >= bound[tr]  # entries that may hold a top-k n-gram (all of them without top_k)
            take = np.flatnonzero(candidate[entry])
            entry, o_row = entry[take], o_row[take]
            o_group = occ["group"].cat.codes.to_numpy()[take].astype(np.int64)
            o_n = occ["n"].to_numpy()[take].astype(np.int64)
            o_k = occ["key"].to_numpy(np.uint64)[take]
            share = phi[entry] / per_entry[entry]  # a column's value, split equally between the occurrences in it
            # a feature is an n-gram of an answer. Usually one column holds one n-gram of an answer; where two n-grams of
            # one answer share a column (a hash collision), the column's occurrences are split into one feature per n-gram.
            E, count = len(phi), len(entry)
            first_of_entry = np.full(E, count, dtype=np.int64)
            np.minimum.at(first_of_entry, entry, np.arange(count, dtype=np.int64))
            lead = first_of_entry[entry]
            clash = (o_k != o_k[lead]) | (o_n != o_n[lead]) | (o_group != o_group[lead])
            clashed = np.zeros(E, dtype=bool)
            clashed[entry[clash]] = True
            kept = candidate & ~clashed
            entry_feature = np.cumsum(kept) - 1  # features of collision-free entries keep the entry order
            m_kept = int(kept.sum())
            feature = entry_feature[entry]
            extra_value, extra_first = np.empty(0), np.empty(0, dtype=np.int64)
            in_clash = np.flatnonzero(clashed[entry])
            if len(in_clash):
                ids: dict = {}
                codes = np.fromiter((ids.setdefault((e, g, n_, k), len(ids)) for e, g, n_, k in
                                     zip(entry[in_clash].tolist(), o_group[in_clash].tolist(), o_n[in_clash].tolist(), o_k[in_clash].tolist())),
                                    dtype=np.int64, count=len(in_clash))
                feature[in_clash] = m_kept + codes
                extra_value = np.bincount(codes, weights=share[in_clash], minlength=len(ids))
                extra_first = np.full(len(ids), count, dtype=np.int64)
                np.minimum.at(extra_first, codes, in_clash)
            m = m_kept + len(extra_value)
            first = np.concatenate([first_of_entry[kept], extra_first])
            categories = np.array(list(occ["group"].cat.categories), dtype=object)
            add(row=o_row[first], kind=np.zeros(m, np.int8), group=categories[o_group[first]] if m else np.empty(0, object),
                name=np.full(m, None, dtype=object), value=np.concatenate([phi[kept], extra_value]), n=o_n[first], key=o_k[first],
                gcode=o_group[first], occ=first, count=np.bincount(feature, minlength=m))
            occ_arrays = dict(start=occ["start"].to_numpy(np.int64)[take], end=occ["end"].to_numpy(np.int64)[take],
                              gapped=occ["gapped"].to_numpy(bool)[take], share=share, row=o_row, unigram=o_n == 1, feature=feature)
        d = dense_phi.shape[1]
        if d:  # dense columns: one feature per answer and column
            groups, names = zip(*(name.split(":", 1) if ":" in name else ("dense", name) for name in self.dense_names))
            add(row=np.repeat(np.arange(n, dtype=np.int64), d), kind=np.ones(n * d, np.int8), group=np.tile(np.array(groups, dtype=object), n),
                name=np.tile(np.array(names, dtype=object), n), value=dense_phi.ravel(), n=np.zeros(n * d, np.int64),
                key=np.tile(np.arange(d, dtype=np.uint64), n), gcode=np.zeros(n * d, np.int64), occ=np.zeros(n * d, np.int64),
                count=np.zeros(n * d, np.int64))
        for index, (g, values) in enumerate(absent.items()):
            add(row=np.arange(n, dtype=np.int64), kind=np.full(n, 2, np.int8), group=np.full(n, g, dtype=object), name=np.full(n, ABSENT, dtype=object),
                value=np.asarray(values, dtype=np.float64), n=np.zeros(n, np.int64), key=np.full(n, index, np.uint64), gcode=np.zeros(n, np.int64),
                occ=np.zeros(n, np.int64), count=np.zeros(n, np.int64))
        cat = {k: np.concatenate(v) if v else np.empty(0) for k, v in parts.items()}
        return Attribution(
            n=n, base=np.full(n, self.base), prediction=prediction, row_total=row_total,
            f_row=cat["row"], f_kind=cat["kind"], f_group=cat["group"], f_name=cat["name"], f_value=cat["value"], f_n=cat["n"], f_key=cat["key"],
            f_gcode=cat["gcode"], f_occ=cat["occ"], f_count=cat["count"],
            occ_start=occ_arrays["start"], occ_end=occ_arrays["end"], occ_gapped=occ_arrays["gapped"], occ_share=occ_arrays["share"],
            occ_row=occ_arrays["row"], occ_unigram=occ_arrays["unigram"], occ_feature=occ_arrays["feature"], texts=frame["answer"].tolist(),
            extra={"dense_x": dense_x},
        )

    def column_values(self, frame: pd.DataFrame) -> np.ndarray:
        """The full Shapley vector of each answer (answers × features, dense): only for small models and tests."""
        X = sp.csr_matrix(self.featurizer.transform(frame)).toarray()
        return (X - self.mean) * self.coef

    def ngram_texts(self, frame: pd.DataFrame, att: Attribution, which: np.ndarray) -> np.ndarray:
        """Readable text of the n-gram features ``which`` (indices into att.f_*)."""
        out = np.empty(len(which), dtype=object)
        gapped_words = []
        for j, i in enumerate(which.tolist()):
            group, k = att.f_group[i], int(att.f_n[i])
            if group == "chars":
                out[j] = _unpack(int(att.f_key[i]))
                continue
            o = int(att.f_occ[i])
            if att.occ_gapped[o]:
                gapped_words.append(j)
                continue
            out[j] = _collapse(att.texts[int(att.f_row[i])][int(att.occ_start[o]):int(att.occ_end[o])].replace("\x00", " "))
        if gapped_words:  # the n-gram joins text across a dropped sentence or a masked term: ask the featurizer
            rows = sorted({int(att.f_row[which[j]]) for j in gapped_words})
            occ = self.featurizer.ngram_occurrences(frame.iloc[rows], text=True)
            occ = occ[occ["group"] == "words"]
            lookup = {(rows[r], int(n_), int(key)): t for r, n_, key, t in zip(occ["row"], occ["n"], occ["key"].to_numpy(np.uint64), occ["text"])}
            for j in gapped_words:
                i = which[j]
                out[j] = lookup[(int(att.f_row[i]), int(att.f_n[i]), int(att.f_key[i]))]
        return out


def _dense_names(featurizer, count: int) -> list[str]:
    """Names of the columns after the text blocks (evidence:…, bei:…, relevant:…, and whatever the featurizer adds),
    read from a copy with the smallest hash space so the 2 × 2**hash_bits text names are never built."""
    probe = copy.copy(featurizer)
    probe.hash_bits = 8
    names = [str(v) for v in probe.get_feature_names_out() if not str(v).startswith(("words:#", "chars:#"))]
    if len(names) != count:
        raise RuntimeError(f"the featurizer names {len(names)} non-text columns but the model has {count}")
    return names


_WHITESPACE = None


def _collapse(text: str) -> str:
    """Word n-gram text from its original span: whitespace dropped, one space kept between Latin letters/digits."""
    import re

    global _WHITESPACE
    if _WHITESPACE is None:
        _WHITESPACE = re.compile(r"\s+")
    return _WHITESPACE.sub(lambda m: " " if _latin(m.string[m.start() - 1:m.start()]) and _latin(m.string[m.end():m.end() + 1]) else "", text.strip())


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# ------------------------------------------------------------------------------------------------------------
def token_spans(text: str, backend: str) -> list[tuple[int, int]]:
    """(start, end) of every non-whitespace token of ``text`` from the scorer's tokenizer (tokens cover the text)."""
    spans, pos = [], 0
    for token in raw_cutter(backend)(text):
        end = pos + len(token)
        if token.strip():
            spans.append((pos, end))
        pos = end
    return spans


class _ShapTokenizer:
    """The scorer's tokenizer in the form shap's Text masker takes: input_ids (the tokens) and offset_mapping."""

    def __init__(self, backend: str):
        self.backend = backend

    def __call__(self, s, return_offsets_mapping=True):
        spans = token_spans(s, self.backend)
        out = {"input_ids": [s[a:b] for a, b in spans]}
        if return_offsets_mapping:
            out["offset_mapping"] = spans
        return out


def _deletion_masker(backend: str):
    import shap

    class DeletionTextMasker(shap.maskers.Text):
        """shap's Text masker, but a masked token is deleted and all whitespace is kept (the stock masker inserts a
        mask token and collapses whitespace, which would change sentence ends the scorer reads)."""

        def __call__(self, mask, s):
            mask = self._standardize_mask(mask, s)
            self._update_s_cache(s)
            spans = self.tokenizer(s)["offset_mapping"]
            pieces, pos = [], 0
            for keep, (a, b) in zip(mask, spans):
                pieces.append(s[pos:a])
                if keep:
                    pieces.append(s[a:b])
                pos = b
            pieces.append(s[pos:])
            return (np.array(["".join(pieces)]),)

    return DeletionTextMasker(_ShapTokenizer(backend), mask_token=0, collapse_mask_token=False)


class _TokenEngine:
    method = "shap_partition"

    def __init__(self, scorer, *, max_evals: int = 300):
        featurizer, _ = _parts(scorer)
        self.scorer, self.featurizer = scorer, featurizer
        self.backend = featurizer.tokenizer
        self.max_evals = max_evals
        self.offset = float(getattr(scorer, "offset_", 0.0))
        self.evaluations = 0
        self.dense_names = []

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.scorer.pipeline_.predict(frame), dtype=np.float64) + self.offset

    def _model(self, competency: str):
        def f(strings):
            strings = [str(s) for s in np.asarray(strings, dtype=object).ravel()]
            self.evaluations += len(strings)
            return self.predict_raw(pd.DataFrame({"answer": strings, "competency": competency}))
        return f

    def attribute(self, frame: pd.DataFrame) -> Attribution:
        import shap

        n = len(frame)
        texts = frame["answer"].tolist()
        base = np.zeros(n)
        prediction = self.predict_raw(frame)
        rows, values, spans_all = [], [], []
        masker = _deletion_masker(self.backend)
        for competency, index in frame.groupby("competency", sort=True).groups.items():
            f = self._model(competency)
            empty = float(f([""])[0])
            explainer = shap.explainers.Partition(f, masker)
            for i in np.asarray(index, dtype=np.int64).tolist():
                spans = token_spans(texts[i], self.backend)
                base[i] = empty
                if not spans:
                    continue
                result = explainer([texts[i]], max_evals=self.max_evals, batch_size=self.max_evals, silent=True)  # few, large model calls
                vals = np.asarray(result.values[0], dtype=np.float64)
                base[i] = float(np.ravel(result.base_values)[0])
                rows.append(np.full(len(spans), i, np.int64))
                values.append(vals)
                spans_all.extend(spans)
        if rows:
            t_row, t_value = np.concatenate(rows), np.concatenate(values)
        else:
            t_row, t_value = np.empty(0, np.int64), np.empty(0)
        t_start = np.array([a for a, _ in spans_all], dtype=np.int64)
        t_end = np.array([b for _, b in spans_all], dtype=np.int64)
        # features: the same token text within one answer is one feature (value summed over its occurrences)
        t_text = np.array([texts[r][a:b] for r, a, b in zip(t_row.tolist(), t_start.tolist(), t_end.tolist())], dtype=object)
        # a stable key per token text (the same token is one feature in every batch and run)
        keys = np.fromiter((int.from_bytes(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little") for t in t_text.tolist()),
                           dtype=np.uint64, count=len(t_text))
        order = np.lexsort((t_start, keys, t_row))
        t_row, keys, t_value, t_start, t_end, t_text = t_row[order], keys[order], t_value[order], t_start[order], t_end[order], t_text[order]
        new = np.ones(len(order), dtype=bool)
        if len(order) > 1:
            new[1:] = (t_row[1:] != t_row[:-1]) | (keys[1:] != keys[:-1])
        first = np.flatnonzero(new)
        feature_of = np.cumsum(new) - 1
        m = len(first)
        return Attribution(
            n=n, base=base, prediction=prediction, row_total=np.bincount(t_row, weights=t_value, minlength=n) if len(t_row) else np.zeros(n),
            f_row=t_row[first], f_kind=np.full(m, 3, np.int8), f_group=np.full(m, "tokens", dtype=object), f_name=t_text[first],
            f_value=np.bincount(feature_of, weights=t_value, minlength=m) if m else np.empty(0), f_n=np.ones(m, np.int64), f_key=keys[first], f_gcode=np.zeros(m, np.int64),
            f_occ=first, f_count=np.diff(np.append(first, len(order))),
            occ_start=t_start, occ_end=t_end, occ_gapped=np.zeros(len(order), bool), occ_share=t_value, occ_row=t_row,
            occ_unigram=np.ones(len(order), bool), occ_feature=feature_of, texts=texts,
        )

    def ngram_texts(self, frame, att: Attribution, which: np.ndarray) -> np.ndarray:
        return att.f_name[which]


def engine_for(scorer, background=None, *, max_evals: int = 300):
    """The engine for this scorer: exact linear Shapley values, or shap's Partition explainer over tokens."""
    if is_linear(scorer):
        mean, source = background_means(scorer, background)
        engine = _LinearEngine(scorer, mean)
        engine.background_source = source
        return engine
    if background is not None:
        raise ConfigurationError("background applies to linear scorers only; a non-linear scorer is explained by deleting tokens "
                                 "(its base value is the score of an empty answer): leave background=None")
    engine = _TokenEngine(scorer, max_evals=max_evals)
    engine.background_source = "empty_answer"
    return engine


def char_values(att: Attribution, *, with_read: bool = False):
    """Per answer, the attribution of every character of the original text: each text occurrence's share spread
    evenly over the characters the model read inside its span (non-blank characters covered by a single-token or
    single-character n-gram, so dropped sentences, masked terms and whitespace get nothing). Sums to the answer's text
    attributions exactly. ``with_read=True`` also returns the read masks."""
    lengths = np.fromiter(map(len, att.texts), dtype=np.int64, count=att.n)
    offset = np.zeros(att.n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offset[1:])
    total = int(offset[-1])
    per_char, read = np.zeros(total), np.zeros(total, dtype=bool)
    if len(att.occ_start):
        g_start = offset[att.occ_row] + att.occ_start
        g_end = offset[att.occ_row] + att.occ_end
        cover = np.zeros(total + 1, dtype=np.int64)
        np.add.at(cover, g_start[att.occ_unigram], 1)
        np.add.at(cover, g_end[att.occ_unigram], -1)
        read = (np.cumsum(cover[:-1]) > 0) & ~is_blank("".join(att.texts))
        read_upto = np.concatenate(([0], np.cumsum(read)))
        count = read_upto[g_end] - read_upto[g_start]
        density = np.where(count > 0, att.occ_share / np.maximum(count, 1), 0.0)
        diff = np.zeros(total + 1)
        np.add.at(diff, g_start, density)
        np.add.at(diff, g_end, -density)
        per_char = np.cumsum(diff[:-1]) * read
    values = [per_char[offset[i]:offset[i + 1]] for i in range(att.n)]
    if with_read:
        return values, [read[offset[i]:offset[i + 1]] for i in range(att.n)]
    return values


_BLANK = np.array([chr(c).isspace() or c == 0 for c in range(0x3001)])  # all whitespace is below U+3001; \x00 reads as a space


def is_blank(text: str) -> np.ndarray:
    """Per character of ``text``: whitespace (as the featurizer sees it)?"""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _BLANK[np.minimum(points, 0x3000)] & (points < 0x3001)
