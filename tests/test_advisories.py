"""Advisories (scoring._advisories): the padding advisory's leave-one-out sentence similarity and older models' rules."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.intake import resolve_sources, run_intake
from workbench.scoring import AnswerScorer, answer_dataset
from workbench.scoring import _advisories as advisories

COLUMNS = ["answer", "competency", "question_id"]


@pytest.fixture(scope="module")
def fitted(fair_cohort):
    data, _ = answer_dataset(run_intake(resolve_sources(fair_cohort)).tables)
    data = data.head(2500).reset_index(drop=True)
    scorer = AnswerScorer(alpha=3.0).fit(data[COLUMNS], data["human"])
    return scorer, data


def test_training_sentences_are_compared_with_the_centroid_of_the_other_answers(fitted, monkeypatch):
    """Each sentence of an answer inside its key's centroid: cosine with that centroid minus the answer (same terms)."""
    monkeypatch.setattr(advisories, "_MIN_ANSWERS", 10)  # question keys with few answers, where leaving one out matters
    scorer, data = fitted
    featurizer = scorer.pipeline_.named_steps["features"]
    features = scorer.featurize(data[COLUMNS])
    y = data["human"].to_numpy(float)
    words = featurizer.text_block(features, "words")
    state = advisories.fit_advisories(features.stats, features.frame, words, y)
    sentences = featurizer.sentence_features(features)
    weighted = featurizer.weigh(sentences.words, "words")
    index = {k: i for i, k in enumerate(state["keys"])}
    key = advisories._resolve_keys(sentences.frame, index)
    plain = advisories._similarity(state, key, weighted)
    loo = advisories._sentence_loo(state, plain, key, weighted, sentences, features.frame, words, y)
    groups, on_topic = advisories._groups(features.frame), advisories._on_topic(y, len(y))
    members = 0
    for r in np.random.default_rng(0).choice(len(plain), size=200, replace=False):
        k, a = key[r], sentences.answer[r]
        rows = advisories._centroid_rows(groups[state["keys"][k]], on_topic)
        if a not in rows:
            assert loo[r] == pytest.approx(plain[r])
            continue
        members += 1
        mask = np.zeros(words.shape[1])
        mask[state["centroids"][k].indices] = 1.0
        others = (np.asarray(words[rows].sum(axis=0)).ravel() - words[a].toarray().ravel()) * mask
        assert loo[r] == pytest.approx(weighted[r].toarray().ravel() @ others / np.linalg.norm(others), abs=1e-9)
    assert members > 50
    assert np.mean(loo[loo != plain]) < np.mean(plain[loo != plain])  # its own answer no longer pulls a sentence closer


def test_a_model_saved_before_checks_padding_only_above_the_score_gate(fitted):
    scorer, data = fitted
    essay = "我平时喜欢周末去爬山，也喜欢看看纪录片。最近在学做饭，感觉挺有意思的。今天天气不错，适合出去走走。" * 6
    weak = data.nsmallest(60, "human").assign(answer=lambda d: d["answer"] + essay)[COLUMNS]
    now = scorer.score(weak)
    assert scorer.advisory_state_["padding_any_score"] is True
    assert now["advisories"].str.contains("padding").mean() >= 0.9  # mostly unrelated text: a person looks, whatever the score
    old = scorer.advisory_state_.copy()
    del old["padding_any_score"]
    scorer.advisory_state_, saved = old, scorer.advisory_state_
    try:
        before = scorer.score(weak)
    finally:
        scorer.advisory_state_ = saved
    low = before["score"].to_numpy() <= old["score_gate"]
    assert low.any()
    assert not before["advisories"][low].str.contains("padding").any()
    assert (before["advisories"][~low] == now["advisories"][~low]).all()


def test_a_model_saved_with_one_sentence_percentile_per_key_reads_it(fitted):
    """States written before the weighed view hold only ``sentence_low`` (one threshold per key, every length) and
    ``padding_max``; they are read as they were written: every sentence under it is unrelated."""
    scorer, data = fitted
    essay = "我平时喜欢周末去爬山，也喜欢看看纪录片。最近在学做饭，感觉挺有意思的。今天天气不错，适合出去走走。"
    padded = data.nlargest(60, "human").assign(answer=lambda d: d["answer"] + essay)[COLUMNS]
    state = scorer.advisory_state_
    assert {"sentence_low", "sentence_median", "sentence_length_edges", "sentence_ratio_low", "padding_weighed_max"} <= set(state)
    old = {k: v for k, v in state.items() if k not in ("sentence_median", "sentence_length_edges", "sentence_ratio_low", "padding_weighed_max")}
    now = scorer.score(padded)
    flagged = {}
    for threshold in (0.0, 2.0):  # no sentence under 0, every sentence under 2 (cosines are at most 1)
        scorer.advisory_state_ = {**old, "sentence_low": np.full(len(state["keys"]), threshold)}
        try:
            before = scorer.score(padded)
        finally:
            scorer.advisory_state_ = state
        np.testing.assert_array_equal(before["score"], now["score"])
        flagged[threshold] = before["advisories"].str.contains("padding").to_numpy()
    assert not flagged[0.0].any()
    assert flagged[2.0].sum() >= 0.5 * len(padded) and flagged[2.0].sum() >= now["advisories"].str.contains("padding").sum()
