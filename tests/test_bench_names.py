"""Name resolution for vendor files: ids, names, dictionary aliases, close names, ambiguity, the vendor's mapping."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench._paths import PROJECT_ROOT
from workbench.competency import load_dictionary
from workbench.competency.dictionary import _parse
from workbench.errors import DataError
from workbench.questions.names import CLOSE_THRESHOLD, NameResolver, name_similarity, read_mapping

VARIANTS = PROJECT_ROOT / "tests" / "data" / "vendor" / "name_variants.csv"


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary()


def test_aliases_from_the_issue(dictionary):
    r = NameResolver(dictionary)
    assert (r.competency("细致性").resolved, r.competency("细致性").method) == ("attention_to_detail", "alias")
    assert r.competency("抗压能力").resolved == "stress_resilience"
    amb = r.role("客户经理")
    assert amb.resolved is None and amb.method == "ambiguous" and set(amb.candidates) == {"retail_rm", "corporate_rm"}
    assert r.role("Teller").method == "id" and r.role("柜员").method == "name"
    assert r.role("合规与内控").resolved == "compliance_officer"  # = 合规/内控 after normalisation
    # an alias on two competencies is decided by the row's role, and only then
    assert r.competency("营销能力", "retail_rm").resolved == "customer_needs_analysis"
    assert r.competency("营销能力", "corporate_rm").resolved == "corporate_relationship"
    assert r.competency("营销能力").method == "ambiguous"
    # a name joining two competencies is reported, not guessed
    two = r.competency("团队协作与沟通")
    assert two.method == "ambiguous" and set(two.candidates) == {"team_collaboration", "communication"}
    assert r.role("保安").method == "unknown" and r.role("").method == "empty"


def test_mapping_table_lists_every_distinct_name_with_how_and_confidence(dictionary):
    r = NameResolver(dictionary)
    for name in ("柜员", "柜员", "综合柜员", "柜员岗", "客户经理", "保安"):
        r.role(name)
    table = r.table().set_index("given")
    assert table.loc["柜员", "rows"] == 2 and table.loc["柜员", "method"] == "name"
    assert table.loc["综合柜员", "method"] == "alias" and table.loc["柜员岗", "method"] == "close"
    assert 0 < table.loc["柜员岗", "confidence"] <= 1
    assert table.loc["客户经理", "resolved"] == "" and "个人客户经理" in table.loc["客户经理", "candidate_names"]
    assert list(table.index[:2]) == ["客户经理", "保安"]  # undecided names first


def _measure(dictionary, split: str) -> dict:
    df = pd.read_csv(VARIANTS, dtype=str, keep_default_na=False)
    df = df[df["split"] == split]
    r = NameResolver(dictionary)
    right = wrong = missed = guessed = undecided_ok = 0
    for kind, given, ctx, expected in df[["kind", "given", "role_context", "expected"]].itertuples(index=False):
        res = r.role(given) if kind == "role" else r.competency(given, ctx or None)
        if expected in ("AMBIGUOUS", "UNKNOWN"):
            guessed += res.resolved is not None
            undecided_ok += res.resolved is None
        elif res.resolved == expected:
            right += 1
        elif res.resolved is None:
            missed += 1
        else:
            wrong += 1
    return {"recall": right / (right + wrong + missed), "wrong": wrong, "missed": missed, "guessed": guessed, "undecided_ok": undecided_ok}


def test_close_name_threshold_on_the_planted_set(dictionary):
    """The threshold (0.55) and margin (0.08) were chosen on the tune half: a plateau from 0.5 to 0.6 with the same
    result. The held-out half was looked at once: recall 47/50, no wrong resolution, nothing guessed; one miss
    (网点柜员: the generic suffix 员 was stripped from 柜员) was then fixed, giving the figures asserted here.
    Measured: tune recall 0.98 (50/51), held-out 0.98 (49/50); 0 wrong, guessed 1 (风险合规意识 → 合规意识) / 0."""
    tune, held = _measure(dictionary, "tune"), _measure(dictionary, "heldout")
    assert CLOSE_THRESHOLD == 0.55
    for m in (tune, held):
        assert m["wrong"] == 0, m  # a wrong guess is the costly error: it silently moves a question to another model
        assert m["recall"] >= 0.95, m
    assert tune["guessed"] <= 1 and held["guessed"] == 0, (tune, held)


def test_similarity_is_order_tolerant_and_containment_aware():
    assert name_similarity("细致严谨", "严谨细致") >= CLOSE_THRESHOLD + 0.15  # Dice 1, ratio .5
    assert name_similarity("反洗钱", "反洗钱与客户尽职调查") > name_similarity("反洗钱", "可疑交易监测与分析")
    assert name_similarity("外语能力", "沟通表达") < CLOSE_THRESHOLD


def test_vendor_mapping_file_wins_and_bad_rows_are_named(dictionary, tmp_path):
    good = tmp_path / "mapping.csv"
    pd.DataFrame({"kind": ["岗位", "competency"], "given": ["客户经理", "形象气质"], "resolved": ["对公客户经理", "communication"]}).to_csv(good, index=False)
    mapping = read_mapping(good, dictionary)
    r = NameResolver(dictionary, mapping=mapping)
    assert (r.role("客户经理").resolved, r.role("客户经理").method) == ("corporate_rm", "mapping")
    assert r.competency("形象气质").resolved == "communication"
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"kind": ["role", "岗位"], "given": ["a", "b"], "resolved": ["teller", "保安经理"]}).to_csv(bad, index=False)
    with pytest.raises(DataError, match="row 3"):
        read_mapping(bad, dictionary)
    no_cols = tmp_path / "nocols.csv"
    pd.DataFrame({"x": [1]}).to_csv(no_cols, index=False)
    with pytest.raises(DataError, match="kind"):
        read_mapping(no_cols, dictionary)


def test_dictionary_rejects_an_alias_that_is_another_entrys_name(tmp_path):
    import yaml

    from workbench.competency.dictionary import DEFAULT_DICTIONARY_PATH

    raw = yaml.safe_load(DEFAULT_DICTIONARY_PATH.read_text(encoding="utf-8"))
    raw["roles"][0]["aliases"] = ["大堂经理"]
    with pytest.raises(DataError, match="大堂经理"):
        _parse(raw, DEFAULT_DICTIONARY_PATH)
    raw["roles"][0]["aliases"] = "综合柜员"
    with pytest.raises(DataError, match="aliases"):
        _parse(raw, DEFAULT_DICTIONARY_PATH)
