"""workbench.explain: exact linear SHAP on the sparse features (= shap.LinearExplainer), additivity, determinism,
n-gram spans in the original answer (the featurizer hook), hash-collision splitting, clipping, shap plots,
highlights that escape, the non-linear (Partition) path, global views and faithfulness."""

from __future__ import annotations

import html as html_module
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from workbench.errors import ConfigurationError
from workbench.explain import (
    background_means,
    explain_answers,
    faithfulness,
    gallery,
    gallery_html,
    global_figure,
    global_importance,
    highlight,
    highlight_competency,
)
from workbench.explain._engine import _collapse, _unpack
from workbench.intake import resolve_sources, run_intake
from workbench.reports import assert_offline
from workbench.scoring import AnswerScorer
from workbench.scoring import answer_dataset

EDGE = [
    ("", "compliance"),
    ("   \n\t ", ""),
    ("我先核实了客户身份。今天天气很好，我们去爬山了。我们主动联系客户，处理了3 笔可疑交易。", "compliance"),
    ("English text with ABC and 客户 mixed; 我 did 5 次 work.", ""),
    ("含有\x00空字符的回答，我核实了账户。", "compliance"),
    ("表情😀和生僻字𠀀：我先联系了客户。巴适得很，我核实了。", "customer_service"),
    ("<script>alert('x')</script>我先核实了客户身份，又请同事双人复核。", "compliance"),
    ("=HYPERLINK(\"http://evil.example\",\"点我\") 我负责整理报表，提升了20%。", ""),
    ("那次实习期间我处理了3 笔可疑交易，最终挽回损失20%。\n\n我学到了很多", "aml_cdd"),
]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from workbench.synth import generate_cohort, scenario_config

    out = tmp_path_factory.mktemp("explain") / "biased"
    generate_cohort(scenario_config("biased", seed=5, n_candidates=250, employees_per_role=5), out, fmt="parquet")
    data, _ = answer_dataset(run_intake(resolve_sources(out)).tables)
    return data


@pytest.fixture(scope="module")
def split(cohort):
    cands = cohort["candidate_id"].unique()
    test_c = set(cands[::5])
    train = cohort[~cohort["candidate_id"].isin(test_c)].reset_index(drop=True)
    test = cohort[cohort["candidate_id"].isin(test_c)].reset_index(drop=True)
    return train, test


def fit(train, **params):
    return AnswerScorer(alpha=1.0, **params).fit(train[["answer", "competency"]], train["human"], rating_scale=(1, 5))


@pytest.fixture(scope="module", params=[False, True], ids=["whole_answer", "relevance_filter"])
def small(request, split):
    """A model small enough for shap.LinearExplainer to hold densely (hash_bits=9: 2 × 512 text columns)."""
    train, test = split
    scorer = fit(train, hash_bits=9, relevance_filter=request.param)
    return scorer, train, test


@pytest.fixture(scope="module", params=[False, True], ids=["whole_answer", "relevance_filter"])
def full(request, split):
    """The default-sized hashed space (2**20 columns per text group)."""
    train, test = split
    return fit(train, relevance_filter=request.param), train, test


def answers_of(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["answer", "competency"]]


# ------------------------------------------------------------------------------------------------------------
# exactness
# ------------------------------------------------------------------------------------------------------------
def test_equals_shap_linear_explainer(small):
    import shap

    scorer, train, test = small
    features = scorer.pipeline_.named_steps["features"]
    model = scorer.pipeline_.named_steps["model"]
    background = features.transform(answers_of(train))
    reference = shap.LinearExplainer((model.coef_, model.intercept_), shap.maskers.Independent(background, max_samples=background.shape[0]))
    sample = answers_of(test).iloc[:60]
    expected = reference(features.transform(sample))
    ex = explain_answers(scorer, sample, background=answers_of(train), top_k=None)
    mine = ex._engine.column_values(sample)
    assert np.abs(mine - np.asarray(expected.values)).max() < 1e-8
    assert abs(ex.base_value - float(np.ravel(expected.base_values)[0])) < 1e-8
    # the tidy table holds the same numbers: each answer's dense features equal the reference columns …
    width = 2 * 2**9
    dense_names = list(features.get_feature_names_out()[width:])
    for i in range(5):
        rows = ex.top[(ex.top["row"] == i) & (ex.top["kind"] == "dense")]
        for group, feature, value in zip(rows["group"], rows["feature"], rows["value"]):
            assert abs(value - expected.values[i, width + dense_names.index(f"{group}:{feature}")]) < 1e-8
        # … and the text features of each group (present n-grams + the absent sum) add up to the reference's block sums
        for g, (lo, hi) in {"words": (0, 2**9), "chars": (2**9, width)}.items():
            text = ex.top[(ex.top["row"] == i) & (ex.top["group"] == g)]["value"].sum()
            assert abs(text - expected.values[i, lo:hi].sum()) < 1e-8


def test_additivity_and_clipping(full):
    scorer, train, test = full
    ex = explain_answers(scorer, answers_of(test), background=answers_of(train))
    assert ex.additivity_error() < 1e-6
    assert np.allclose(ex.scores, scorer.predict(answers_of(test)), rtol=0, atol=1e-12)
    raw = scorer.pipeline_.predict(answers_of(test))
    assert np.allclose(ex.predictions, raw, rtol=0, atol=1e-9)  # the unclipped linear score is what is explained
    assert (ex.clipped == ~np.isclose(raw, np.clip(raw, scorer.y_min_, scorer.y_max_))).all()
    # rank 1…k per answer, largest |value| first
    assert ex.top.groupby("row")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()
    assert ex.top.groupby("row")["value"].apply(lambda v: (np.diff(np.abs(v.to_numpy())) <= 1e-15).all()).all()
    assert ex.top.groupby("row").size().max() == 10


def test_top_k_equals_the_head_of_all_attributions(full):
    scorer, train, test = full
    sample = answers_of(test).iloc[:40]
    mean, _ = background_means(scorer, answers_of(train))
    top = explain_answers(scorer, sample, background=mean, top_k=5).top
    everything = explain_answers(scorer, sample, background=mean, top_k=None)
    head = everything.top[everything.top["rank"] <= 5].reset_index(drop=True)
    pd.testing.assert_frame_equal(top.reset_index(drop=True), head)
    assert everything.additivity_error() < 1e-6 and np.allclose(everything.rest, 0, atol=1e-12)
    one = everything.attributions(3)
    pd.testing.assert_frame_equal(one.reset_index(drop=True), everything.top[everything.top["row"] == 3].reset_index(drop=True))


def test_deterministic_and_independent_of_batching(full):
    scorer, train, test = full
    mean, _ = background_means(scorer, answers_of(train))
    sample = pd.concat([answers_of(test).iloc[:50], pd.DataFrame(EDGE, columns=["answer", "competency"])], ignore_index=True)
    a = explain_answers(scorer, sample, background=mean)
    b = explain_answers(scorer, sample, background=mean, batch_size=7)
    pd.testing.assert_frame_equal(a.top, b.top)
    assert np.array_equal(a.rest, b.rest) or np.allclose(a.rest, b.rest, rtol=0, atol=1e-12)
    assert a.additivity_error() < 1e-6


def test_background_forms_agree_and_missing_means_say_what_to_do(small):
    scorer, train, test = small
    sample = answers_of(test).iloc[:10]
    matrix = scorer.transform_features(answers_of(train))
    by_answers = explain_answers(scorer, sample, background=answers_of(train))
    by_matrix = explain_answers(scorer, sample, background=matrix)
    by_vector = explain_answers(scorer, sample, background=np.asarray(matrix.mean(axis=0)).ravel())
    for other in (by_matrix, by_vector):
        assert np.allclose(other.top["value"], by_answers.top["value"], rtol=0, atol=1e-12)
    # the scorer keeps its training means from fit: the default background
    assert np.allclose(scorer.feature_means_.toarray().ravel(), np.asarray(matrix.mean(axis=0)).ravel(), rtol=0, atol=1e-12)
    assert np.allclose(explain_answers(scorer, sample).top["value"], by_answers.top["value"], rtol=0, atol=1e-12)
    legacy = AnswerScorer(**scorer.get_params()).fit(answers_of(train), train["human"])
    del legacy.feature_means_  # a scorer saved before it kept its means
    with pytest.raises(ConfigurationError, match="feature_means_"):
        explain_answers(legacy, sample)
    with pytest.raises(ConfigurationError, match="columns"):
        explain_answers(scorer, sample, background=sp.csr_matrix((3, 5)))


# ------------------------------------------------------------------------------------------------------------
# n-grams back in the original answer
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("relevance_filter", [False, True])
@pytest.mark.parametrize("mask_terms", [(), ("巴适", "客户", "要得")])
@pytest.mark.parametrize("tokenizer", ["rjieba", "jieba"])
def test_ngram_occurrences_match_transform(split, relevance_filter, mask_terms, tokenizer):
    """Guard for the featurizer hook: the (answer, column) pairs it reports are exactly the non-zero text entries of
    transform(), and every span holds its n-gram in the ORIGINAL answer."""
    train, test = split
    scorer = fit(train.iloc[:600], hash_bits=12, relevance_filter=relevance_filter, mask_terms=mask_terms, tokenizer=tokenizer)
    features = scorer.pipeline_.named_steps["features"]
    sample = pd.concat([answers_of(test).sample(150, random_state=1), pd.DataFrame(EDGE, columns=["answer", "competency"])], ignore_index=True)
    occ = features.ngram_occurrences(sample)
    matrix = features.transform(sample).tocoo()
    text = matrix.col < 2 * 2**12
    assert set(zip(matrix.row[text].tolist(), matrix.col[text].tolist())) == set(zip(occ["row"].tolist(), occ["column"].tolist()))
    answers = sample["answer"].tolist()
    for r in occ[~occ["gapped"]].itertuples(index=False):
        piece = answers[r.row][r.start:r.end].replace("\x00", " ")
        if r.group == "chars":
            assert "".join(piece.split()).translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")) == r.text
            assert _unpack(int(r.key)) == r.text
        else:
            assert _collapse(piece) == r.text
    if mask_terms:  # masked terms never appear inside a span that is not marked gapped
        assert not any(any(m in answers[r.row][r.start:r.end] for m in mask_terms) for r in occ[~occ["gapped"]].itertuples(index=False))
    if relevance_filter:
        assert occ["gapped"].any()  # n-grams joining relevant sentences around a dropped one exist and are marked


def test_spans_point_at_their_ngram(full):
    scorer, train, test = full
    sample = pd.concat([answers_of(test).iloc[:30], pd.DataFrame(EDGE, columns=["answer", "competency"])], ignore_index=True)
    ex = explain_answers(scorer, sample, background=answers_of(train), top_k=None)
    texts = sample["answer"].tolist()
    ngrams = ex.top[ex.top["kind"] == "ngram"]
    assert len(ngrams) > 1000
    for r in ngrams.itertuples(index=False):
        assert r.spans and (r.start, r.end) == r.spans[0]
        for a, b in r.spans:
            piece = texts[r.row][a:b]
            if r.group == "chars" and "\x00" not in piece:
                assert "".join(piece.split()).lower() == r.feature.lower() or len(r.feature) < len("".join(piece.split()))
    dense = ex.top[ex.top["kind"] != "ngram"]
    assert dense["start"].isna().all() and (dense["spans"].str.len() == 0).all()


def test_hash_collisions_are_split_by_occurrences(split):
    """With 2**8 columns per group, answers hold different n-grams in one column; the column's exact value is split
    between them in proportion to their occurrences, and their parts add up to the column's value."""
    train, test = split
    scorer = fit(train.iloc[:400], hash_bits=8)
    sample = answers_of(test).iloc[:20]
    ex = explain_answers(scorer, sample, background=answers_of(train.iloc[:400]), top_k=None)
    features = scorer.pipeline_.named_steps["features"]
    occ = features.ngram_occurrences(sample)
    columns = ex._engine.column_values(sample)
    ngrams = ex.top[ex.top["kind"] == "ngram"]
    value_of = {(r, g, t): v for r, g, t, v in zip(ngrams["row"], ngrams["group"], ngrams["feature"], ngrams["value"])}
    # an n-gram text that occurs in one column only and is one n-gram (n, key) can be checked on its own
    simple = occ.groupby(["row", "group", "text"], observed=True).agg(columns=("column", "nunique"), identities=("key", "nunique")).reset_index()
    simple = {(r, g, t) for r, g, t, c, i in simple.itertuples(index=False) if c == 1 and i == 1}
    identity = occ["n"].astype(np.uint64) * np.uint64(1_000_003) ^ occ["key"].to_numpy(np.uint64)
    shared = occ.assign(identity=identity).groupby(["row", "column"])["identity"].transform("nunique") >= 2
    seen = 0
    for (row, column), group in occ[shared].groupby(["row", "column"]):
        seen += 1
        total_occurrences = len(group)
        parts = 0.0
        for (g, text), count in group.groupby(["group", "text"], observed=True).size().items():
            if (row, g, text) in simple:
                assert abs(value_of[(row, g, text)] - columns[row, column] * count / total_occurrences) < 1e-12
                parts += value_of[(row, g, text)]
        if all((row, g, t) in simple for g, t in zip(group["group"], group["text"])):
            assert abs(parts - columns[row, column]) < 1e-12  # the parts add up to the column's exact value
    assert seen >= 5


# ------------------------------------------------------------------------------------------------------------
# shap objects, highlights, escaping
# ------------------------------------------------------------------------------------------------------------
def test_to_shap_draws_with_text_and_waterfall(full):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    scorer, train, test = full
    sample = pd.concat([answers_of(test).iloc[:3], pd.DataFrame(EDGE[6:8], columns=["answer", "competency"])], ignore_index=True)
    ex = explain_answers(scorer, sample, background=answers_of(train))
    for i in range(len(sample)):
        for view in ("text", "features"):
            e = ex.to_shap(i, view=view)
            assert abs(e.base_values + e.values.sum() - ex.predictions[i]) < 1e-9
        text_view = ex.to_shap(i)
        assert "".join(text_view.data[: len(text_view.data) - sum(str(d).startswith(" 〔") for d in text_view.data)]) == sample["answer"][i]
    old = np.get_printoptions()
    np.set_printoptions(legacy="1.25")  # shap 0.51 with NumPy 2 (see reference/scoring.md §4)
    try:
        html = shap.plots.text(ex.to_shap(3), display=False)
    finally:
        np.set_printoptions(**old)
    assert "np.float64" not in html and "<script>alert" not in html
    shap.plots.waterfall(ex.to_shap(0, view="features"), show=False)
    plt.close("all")


def test_highlights_escape_and_stay_offline(full):
    scorer, train, test = full
    sample = pd.DataFrame(EDGE, columns=["answer", "competency"])
    ex = explain_answers(scorer, sample, background=answers_of(train))
    for i in range(len(sample)):
        html = highlight(ex, i).html
        assert_offline(html)
        assert "<script" not in html.lower() and "javascript:" not in html.lower()
    def shown_text(markup: str) -> str:  # what a browser displays: tags removed, entities decoded
        return html_module.unescape(re.sub(r"<[^>]+>", "", markup))

    script = highlight(ex, 6).html
    assert "<script>alert('x')</script>我先核实了客户身份" in shown_text(script)
    formula = highlight(ex, 7).html
    assert '=HYPERLINK("http://evil.example","点我")' in shown_text(formula) and "href" not in formula
    assert "rgba(255,0,81" in highlight(ex, 2).html or "rgba(0,139,251" in highlight(ex, 2).html
    comp = highlight_competency(ex, "compliance").html
    assert comp.count("title=") > 0 and "<script" not in comp


def test_csv_export_neutralises_formulas(split, tmp_path):
    train, _ = split
    formula = pd.DataFrame(EDGE[7:8] * 5, columns=["answer", "competency"]).assign(human=5.0)
    seen = pd.concat([train.iloc[:300], formula], ignore_index=True)  # trained on it, so its n-grams carry weight
    scorer = fit(seen, hash_bits=12)
    ex = explain_answers(scorer, formula.iloc[:1][["answer", "competency"]], background=answers_of(seen), top_k=None)
    assert ex.top["feature"].str.startswith("=").any()  # the answer's own n-grams, e.g. "=hy"
    written = pd.read_csv(ex.to_csv(tmp_path / "top.csv"), encoding="utf-8-sig", keep_default_na=False)
    assert not written["feature"].astype(str).str.startswith("=").any()
    assert written["feature"].astype(str).str.startswith("'=").any()


def test_char_values_sum_to_text_attributions(full):
    scorer, train, test = full
    sample = pd.concat([answers_of(test).iloc[:10], pd.DataFrame(EDGE, columns=["answer", "competency"])], ignore_index=True)
    ex = explain_answers(scorer, sample, background=answers_of(train), top_k=None)
    for i in range(len(sample)):
        text_total = ex.top[(ex.top["row"] == i) & (ex.top["kind"] == "ngram")]["value"].sum()
        chars = ex.char_values(i)
        assert len(chars) == len(sample["answer"][i])
        assert abs(chars.sum() - text_total) < 1e-9
        blank = np.array([c.isspace() or c == "\x00" for c in sample["answer"][i]], dtype=bool)
        assert (chars[blank] == 0).all()


def test_masked_terms_get_nothing(split):
    train, _ = split
    scorer = fit(train.iloc[:600], hash_bits=12, mask_terms=("巴适",))
    sample = pd.DataFrame({"answer": ["巴适得很，我先核实了客户身份。"], "competency": ["compliance"]})
    ex = explain_answers(scorer, sample, background=answers_of(train.iloc[:600]))
    chars = ex.char_values(0)
    assert (chars[:2] == 0).all() and (chars[2:] != 0).any()
    assert "color:#9e9e9e'>巴适" in highlight(ex, 0).html


# ------------------------------------------------------------------------------------------------------------
# non-linear scorer
# ------------------------------------------------------------------------------------------------------------
def test_nonlinear_scorer_through_partition_explainer(split):
    train, test = split
    scorer = AnswerScorer(model="hgb", hash_bits=10, svd_components=20, hgb_max_iter=30).fit(answers_of(train), train["human"])
    sample = pd.concat([answers_of(test).iloc[:2], pd.DataFrame(EDGE[:2], columns=["answer", "competency"])], ignore_index=True)
    ex = explain_answers(scorer, sample, max_evals=60)
    assert ex.method == "shap_partition" and ex.background == "empty_answer"
    assert ex.cost["model_evaluations"] > 0 and ex.cost["seconds"] > 0
    assert ex.additivity_error() < 1e-6
    assert np.allclose(ex.predictions, scorer.pipeline_.predict(sample), atol=1e-9)
    assert (ex.top["kind"] == "token").all()
    texts = sample["answer"].tolist()
    for r in ex.top.itertuples(index=False):
        assert all(texts[r.row][a:b] == r.feature for a, b in r.spans)
    assert abs(ex.to_shap(0).values.sum() + ex.to_shap(0).base_values - ex.predictions[0]) < 1e-9
    table = global_importance(ex, top_n=None)
    expected = pd.Series(ex.predictions - ex.base_values).groupby(ex.answers["competency"].to_numpy()).mean()
    got = table.groupby("competency")["mean_value"].sum().reindex(expected.index, fill_value=0.0)  # answers without tokens: none
    assert np.allclose(got, expected, atol=1e-9)
    assert (table["group"] == "tokens").all() and table["feature"].str.len().gt(0).all()
    with pytest.raises(ConfigurationError, match="linear"):
        explain_answers(scorer, sample, background=answers_of(train))


# ------------------------------------------------------------------------------------------------------------
# global view, gallery, faithfulness
# ------------------------------------------------------------------------------------------------------------
def test_global_importance_accounts_for_the_mean_score(full):
    scorer, train, test = full
    ex = explain_answers(scorer, answers_of(test), background=answers_of(train))
    table = global_importance(ex, top_n=None)
    per_comp = table.groupby("competency")["mean_value"].sum()
    expected = pd.Series(ex.predictions - ex.base_values).groupby(ex.answers["competency"].to_numpy()).mean()
    assert np.allclose(per_comp.sort_index().to_numpy(), expected.sort_index().to_numpy(), atol=1e-9)
    top = global_importance(ex, top_n=5)
    assert top.groupby(["competency", "group"]).size().max() <= 5 and {"words", "chars", "bei"} <= set(top["group"])
    dense = top[top["kind"] == "dense"]
    coef = scorer.pipeline_.named_steps["model"].coef_
    names = list(scorer.pipeline_.named_steps["features"].get_feature_names_out()[2 * 2**20:])
    assert all(d == np.sign(coef[2 * 2**20 + names.index(f"{g}:{f}")]) for g, f, d in zip(dense["group"], dense["feature"], dense["direction"]))
    ngram = top[top["kind"] == "ngram"]
    assert (ngram["direction"] == np.sign(ngram["mean_when_present"])).all()
    fig = global_figure(top, top["competency"].iloc[0], groups=["words", "chars"])
    assert fig.axes[0].get_title() and len(fig.axes[0].get_yticklabels()) == 10  # top 5 words + top 5 chars


def test_gallery_picks_high_low_and_borderline(full):
    scorer, train, test = full
    ex = explain_answers(scorer, answers_of(test), background=answers_of(train))
    table = gallery(ex, scorer)
    assert set(table["kind"]) == {"high", "low", "borderline"}
    cut = scorer.rating_cuts_[3 - scorer.rating_scale_[0] - 1]  # where the machine rating reaches 3
    border = table[table["kind"] == "borderline"]
    assert np.allclose(border["distance_to_cut"], np.abs(border["score"] - cut))
    for comp, row in zip(border["competency"], border["row"]):
        mine = np.flatnonzero(ex.answers["competency"].to_numpy() == comp)
        assert abs(ex.scores[row] - cut) == np.abs(ex.scores[mine] - cut).min()
    for comp, g in table.groupby("competency"):
        scores = dict(zip(g["kind"], g["score"]))
        assert scores["high"] >= scores["low"]
        assert (ex.answers["competency"].iloc[g["row"]] == comp).all()
    html = gallery_html(ex, table.head(6)).html
    assert_offline(html)


def test_faithfulness_top_spans_matter_more_than_random_ones(full):
    scorer, train, test = full
    ex = explain_answers(scorer, answers_of(test), background=answers_of(train))
    result = faithfulness(ex, sample=120, k=3, n_random=8, seed=1)
    s = result.summary.iloc[0]
    assert s["answers"] >= 100
    assert s["mean_drop_top"] > s["mean_drop_random"] and s["wilcoxon_p"] < 0.01


def test_faithfulness_can_fail(full, monkeypatch):
    """A meaningless explanation (random character values) must not pass the same check."""
    from workbench.explain import _faithfulness

    scorer, train, test = full
    ex = explain_answers(scorer, answers_of(test), background=answers_of(train))
    rng = np.random.default_rng(0)
    monkeypatch.setattr(_faithfulness, "char_values", lambda att: [rng.normal(size=len(t)) for t in att.texts])
    s = faithfulness(ex, sample=120, k=3, n_random=8, seed=1).summary.iloc[0]
    assert not (s["wilcoxon_p"] < 0.01 and s["mean_difference"] > 0.05)


@pytest.mark.parametrize("groups", [("words",), ("chars", "evidence"), ("evidence", "bei")])
def test_feature_group_subsets(split, groups):
    """Any subset of feature groups: values equal w·(x − μ) column by column and still add up."""
    train, test = split
    scorer = fit(train.iloc[:500], hash_bits=10, feature_groups=groups)
    sample = pd.concat([answers_of(test).iloc[:15], pd.DataFrame(EDGE, columns=["answer", "competency"])], ignore_index=True)
    ex = explain_answers(scorer, sample, background=answers_of(train.iloc[:500]), top_k=None)
    matrix = scorer.transform_features(answers_of(train.iloc[:500]))
    model = scorer.pipeline_.named_steps["model"]
    expected = (scorer.transform_features(sample).toarray() - np.asarray(matrix.mean(axis=0))) * model.coef_
    assert np.abs(ex._engine.column_values(sample) - expected).max() < 1e-12
    assert ex.additivity_error() < 1e-6
    assert set(ex.top["group"]) <= set(groups) | {"relevant"}
