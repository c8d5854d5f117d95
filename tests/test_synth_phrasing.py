"""Phrasing B, the unseen-phrasing regime of the synthetic cohort (data/README.md, *Unseen phrasing*).

B must be a complete, valid second set of phrase banks; disjoint from A (no copies, no near-copies); free of the
competency dictionary's words, so a scorer trained on A meets wording it has never seen; and it must leave the
rating structure alone. The default cohort (no B) must stay byte-identical to the generator before B existed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import cohen_kappa_score

from workbench.cli import main as cli_main
from workbench.competency import load_dictionary
from workbench.errors import ConfigurationError, DataError
from workbench.synth import REGION_GROUPS, generate_cohort, scenario_config
from workbench.synth import _material
from workbench.synth._answers import _usable_good, compose_answer
from workbench.synth._material import CompetencyMaterial, load_language, load_material

# Fields of CompetencyMaterial that hold sentences (all but the id); language fields that hold sentences.
MATERIAL_TEXT_FIELDS = [f.name for f in fields(CompetencyMaterial) if f.name != "competency_id"]
LANGUAGE_TEXT_FIELDS = [
    "openers", "situation_lead", "task_lead", "action_lead", "result_lead", "reflection", "closers", "hedges", "fillers",
    "generic_claims", "off_topic", "padding", "negation_frames", "affirm_frames", "negated_positive_frames",
]
NEAR_COPY_JACCARD = 0.6

# SHA-256 of the default cohort's tables (seed 11, 400 candidates, 5 employees per role, CSV), computed with the
# generator as it was before phrasing B existed (commit db9a458). If another change to the generator is meant to
# alter the default tables, recompute these digests in the same commit and say so.
DEFAULT_TABLE_SHA256 = {
    "employees": "a1d12080de546c4b3c24834bb85689fb0dddd9cfaee23906fd545a154f6ffbf8",
    "employee_competencies": "8080349c783ee5a9e27633c66f9793b5e7f95681ed1d33af5654594ed2450c9c",
    "candidates": "de67fd97c6798120ea420549e867fd014fb1ed0d4ab7b9754afcdc74d3f67509",
    "questions": "3303eea0bd79b3186fdef69c9854d6edc5ea12483b5f2ddcb6d335ae89cdeb7d",
    "answers": "feb84f503046e46a3c4b773ed8463038a1bed13534568a96212c795e72bad4b6",
    "ratings": "4923c899ef134154b71e64fa1c4e1af66c455535bd5103abdad1b2775d583d84",
}
# Columns added to the default cohort since these digests were taken (by other features; their draws use their own
# random streams, so every value that existed before is unchanged).
ADDED_COLUMNS = {"candidates": ("wecom_external_userid",)}
DEFAULT_TRUTH_SHA256 = "1edc6b8c0b81c0b7d57d972c47a0fd08185b080dca50d8a897c4d167bdae28e0"  # truth/answers.parquet as CSV, old columns


def _bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in str(text) if ch not in "，。、；：！？“”,.{} ")
    return {text[i : i + 2] for i in range(len(text) - 1)} or set(text)


def _jaccard(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / max(1, len(x | y))


def _dictionary_phrases(competency_id: str) -> tuple[str, ...]:
    comp = load_dictionary().competencies[competency_id]
    return tuple(set(comp.keywords) | set(comp.positive_evidence) | set(comp.negative_evidence))


def _all_dictionary_phrases() -> tuple[str, ...]:
    return tuple({p for cid in load_dictionary().competencies for p in _dictionary_phrases(cid)})


def _material_pairs():
    """(field, competency, A entries, B entries) for every field of every competency."""
    a, b = load_material("A"), load_material("B")
    for cid in a:
        for fld in MATERIAL_TEXT_FIELDS:
            yield fld, cid, getattr(a[cid], fld), getattr(b[cid], fld)


def _language_pairs():
    a, b = load_language("A"), load_language("B")
    for fld in LANGUAGE_TEXT_FIELDS:
        yield fld, "*", a.fields[fld], b.fields[fld]


# ---------------------------------------------------------------- the banks


def test_b_material_is_complete_and_valid():
    a, b = load_material("A"), load_material("B")
    dictionary = load_dictionary()
    assert set(b) == set(dictionary.competencies) == set(a)
    for cid in b:
        for fld in MATERIAL_TEXT_FIELDS:
            if fld == "good_practices":
                assert len(b[cid].good_practices) >= 4, cid
                continue
            # at least as many entries as A (and at least the validated minimum, checked on load)
            assert len(getattr(b[cid], fld)) >= len(getattr(a[cid], fld)), (cid, fld)
        for text in b[cid].results:
            assert any(slot in text for slot in ("{n}", "{pct}", "{amount}")), (cid, text)  # results stay quantified
            text.format(n=3, pct=10, amount=50)  # only the three known placeholders
        assert all(_usable_good(g) for g in b[cid].good_practices), cid  # practices are stated positively, ready to be negated


def test_b_language_is_complete_and_valid():
    a, b = load_language("A"), load_language("B")
    for fld, values in a.fields.items():
        assert fld in b.fields, fld
        if fld == "dialect_by_region":
            assert set(b.fields[fld]) == set(REGION_GROUPS) == set(values)
            continue
        assert len(b.fields[fld]) >= len(values), fld
    for fld, slot in (("negation_frames", "{lapse}"), ("affirm_frames", "{lapse}"), ("negated_positive_frames", "{good}"), ("practice_frames", "{good}"), ("name_mentions", "{name}")):
        assert b.fields[fld] and all(slot in frame for frame in b.fields[fld]), fld
    assert all(right != wrong for right, wrong in b.typos)


def test_unknown_phrasing_and_incomplete_b_files_are_errors(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="phrasing"):
        load_material("C")
    for name in ("material_professional_b.yaml", "material_general_culture_b.yaml", "language_b.yaml"):
        shutil.copy(_material.SYNTH_DIR / name, tmp_path / name)
    broken = yaml.safe_load((tmp_path / "material_general_culture_b.yaml").read_text(encoding="utf-8"))
    del broken["communication"]["good_practices"]
    (tmp_path / "material_general_culture_b.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    lang = yaml.safe_load((tmp_path / "language_b.yaml").read_text(encoding="utf-8"))
    lang["practice_frames"] = lang["practice_frames"][:2]
    (tmp_path / "language_b.yaml").write_text(yaml.safe_dump(lang, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(_material, "SYNTH_DIR", tmp_path)
    load_material.cache_clear()
    load_language.cache_clear()
    try:
        with pytest.raises(DataError, match="communication.good_practices"):
            load_material("B")
        with pytest.raises(DataError, match="practice_frames"):
            load_language("B")
    finally:
        load_material.cache_clear()
        load_language.cache_clear()


def test_b_is_disjoint_from_a():
    """No entry of A appears in B, and no A/B pair of the same field and competency is a near-copy."""
    a_all = {str(x) for _, _, a, _ in [*_material_pairs(), *_language_pairs()] for x in a}
    b_all = {str(x) for _, _, _, b in [*_material_pairs(), *_language_pairs()] for x in b}
    assert not (a_all & b_all), sorted(a_all & b_all)[:10]
    near, pairs, worst = [], 0, 0.0
    for fld, cid, a, b in [*_material_pairs(), *_language_pairs()]:
        for x in b:
            for y in a:
                if len(str(x)) < 4 or len(str(y)) < 4:  # fillers and hedges of one or two characters have no bigrams to compare
                    continue
                pairs += 1
                j = _jaccard(x, y)
                worst = max(worst, j)
                if j >= NEAR_COPY_JACCARD:
                    near.append((fld, cid, x, y, round(j, 2)))
    print(f"A/B pairs compared: {pairs}; near-copies (bigram Jaccard >= {NEAR_COPY_JACCARD}): {len(near)}; max Jaccard {worst:.2f}")
    assert not near, near[:5]
    # other surface material is disjoint as well: names, typo pairs, English words, dialect words
    a, b = load_language("A"), load_language("B")
    for fld in ("surnames", "given_names", "given_names_rare", "english_mix"):
        assert not set(a.fields[fld]) & set(b.fields[fld]), fld
    assert not set(a.typos) & set(b.typos)
    for region in REGION_GROUPS:
        assert not set(a.dialect_by_region[region]) & set(b.dialect_by_region[region]), region


def test_b_banks_avoid_the_dictionary_words():
    phrases = _all_dictionary_phrases()
    hits = [(fld, cid, x, [p for p in phrases if p in str(x)]) for fld, cid, _, b in [*_material_pairs(), *_language_pairs()] for x in b if any(p in str(x) for p in phrases)]
    assert not hits, hits[:5]
    # and A's dialect words (data/proxy_terms.yaml, which the fairness audit masks) do not leak into B's ordinary text
    proxy = yaml.safe_load((_material.DATA_DIR / "proxy_terms.yaml").read_text(encoding="utf-8"))["dialect_by_region"]
    terms = {t for ts in proxy.values() for t in ts if len(t) > 1}
    leaks = [(t, x) for _, _, _, b in [*_material_pairs(), *_language_pairs()] for x in b for t in terms if t in str(x)]
    assert not leaks, leaks[:5]


def test_compose_answer_in_b_uses_only_b_material():
    dictionary = load_dictionary()
    material, lang = load_material("B"), load_language("B")
    rng = np.random.default_rng(3)
    phrases_of = {cid: _dictionary_phrases(cid) for cid in material}
    traps = 0
    for k in range(600):
        cid = list(material)[k % len(material)]
        text, plan = compose_answer(rng, level=k % 5 + 1, question_type=("行为", "情景", "文化")[k % 3], material=material[cid], competency=dictionary.competencies[cid], lang=lang, phrasing="B")
        assert not any(p in text for p in phrases_of[cid]), (cid, text)
        for phrase in plan.trap_phrases:  # traps negate B's own lapses and practices, never the dictionary's phrases
            assert phrase in material[cid].lapses or phrase in material[cid].good_practices, phrase
            traps += 1
    assert traps > 50


# ---------------------------------------------------------------- the cohort


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    root = tmp_path_factory.mktemp("phrasing")
    for name, share in (("a", 0.0), ("b", 1.0), ("mix", 0.5)):
        generate_cohort(scenario_config("fair", seed=7, n_candidates=1000, employees_per_role=0, phrasing_b_share=share), root / name)
    return root


def _answers(root) -> pd.DataFrame:
    answers = pd.read_csv(root / "answers.csv", keep_default_na=False)
    questions = pd.read_csv(root / "questions.csv")
    truth = pd.read_parquet(root / "truth" / "answers.parquet")
    return answers.merge(questions[["question_id", "competency_id"]], on="question_id").merge(truth, on="answer_id")


def _dictionary_share(frame: pd.DataFrame) -> float:
    answered = frame[frame["status"] == "answered"]
    phrases = {cid: _dictionary_phrases(cid) for cid in answered["competency_id"].unique()}
    return float(np.mean([any(p in text for p in phrases[cid]) for text, cid in zip(answered["answer_text"], answered["competency_id"])]))


def test_b_answers_use_the_dictionary_words_much_less(cohorts):
    """Share of answers containing at least one of their competency's keywords or evidence phrases."""
    share_a, share_b = _dictionary_share(_answers(cohorts / "a")), _dictionary_share(_answers(cohorts / "b"))
    print(f"answers with a dictionary keyword/evidence phrase of their competency: A {share_a:.3f}, B {share_b:.3f}")
    assert share_a >= 0.5
    assert share_b <= 0.05 and share_b <= share_a / 10


def test_b_cohort_keeps_the_rating_structure(cohorts):
    summary = {}
    for name in ("a", "b"):
        ratings = pd.read_csv(cohorts / name / "ratings.csv")
        pairs = ratings.sort_values(["answer_id", "rater_id"]).groupby("answer_id")["rating"].agg(list)
        qwk = cohen_kappa_score([p[0] for p in pairs], [p[1] for p in pairs], weights="quadratic")
        frame = _answers(cohorts / name)
        answered = frame[frame["status"] == "answered"]
        summary[name] = {
            "qwk": qwk,
            "ratings": ratings["rating"].value_counts(normalize=True).reindex(range(1, 6), fill_value=0.0).to_numpy(),
            "levels": answered["level"].value_counts(normalize=True).reindex(range(1, 6), fill_value=0.0).to_numpy(),
            "median_length": answered["answer_text"].str.len().median(),
            "length_by_level": answered.groupby("level")["answer_text"].apply(lambda s: s.str.len().median()),
        }
    a, b = summary["a"], summary["b"]
    print(f"QWK A {a['qwk']:.3f} B {b['qwk']:.3f}; ratings A {a['ratings'].round(3)} B {b['ratings'].round(3)}; median length A {a['median_length']} B {b['median_length']}")
    assert abs(a["qwk"] - b["qwk"]) < 0.03
    assert np.abs(a["ratings"] - b["ratings"]).max() < 0.025  # ~19k ratings each: sampling SE of a share ≈ 0.004
    assert np.abs(a["levels"] - b["levels"]).max() < 0.025
    # length still grows with level, and B is not systematically much longer or shorter than A
    assert b["length_by_level"].is_monotonic_increasing
    assert 0.85 <= b["median_length"] / a["median_length"] <= 1.15


def test_mixed_cohort_records_one_phrasing_per_candidate(cohorts):
    frame = _answers(cohorts / "mix")
    per_candidate = frame.groupby("candidate_id")["phrasing"].nunique()
    assert (per_candidate == 1).all()
    share_b = frame.groupby("candidate_id")["phrasing"].first().eq("B").mean()
    assert 0.45 <= share_b <= 0.55  # 1,000 candidates at 0.5: SE ≈ 0.016
    truth = json.loads((cohorts / "mix" / "truth" / "truth.json").read_text(encoding="utf-8"))
    assert truth["config"]["phrasing_b_share"] == 0.5
    assert truth["phrasing"]["candidates_b"] == int(round(share_b * frame["candidate_id"].nunique()))
    b_answers = frame[(frame["phrasing"] == "B") & (frame["status"] == "answered")]
    assert _dictionary_share(b_answers) <= 0.05
    # the A half of a mixed cohort is composed from A (it still carries the dictionary's phrases)
    assert _dictionary_share(frame[frame["phrasing"] == "A"]) >= 0.5


# ---------------------------------------------------------------- the default is unchanged


def test_default_tables_are_byte_identical_to_the_generator_before_phrasing_b(tmp_path):
    out = tmp_path / "default"
    generate_cohort(scenario_config("fair", seed=11, n_candidates=400, employees_per_role=5), out, fmt="csv")
    for name, digest in DEFAULT_TABLE_SHA256.items():
        # the digests are of the content as the generator wrote it then (UTF-8, LF); the project's one CSV writer now
        # adds a BOM and CRLF record ends, so compare the parsed cells, canonically re-serialised
        frame = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        frame = frame.drop(columns=[c for c in ADDED_COLUMNS.get(name, ()) if c in frame.columns])
        assert hashlib.sha256(frame.to_csv(index=False, lineterminator="\n").encode()).hexdigest() == digest, name
    truth = pd.read_parquet(out / "truth" / "answers.parquet")
    assert (truth["phrasing"] == "A").all()
    old_columns = truth.drop(columns="phrasing").to_csv(index=False, lineterminator="\n").encode()
    assert hashlib.sha256(old_columns).hexdigest() == DEFAULT_TRUTH_SHA256
    explicit = tmp_path / "explicit"
    generate_cohort(scenario_config("fair", seed=11, n_candidates=400, employees_per_role=5, phrasing_b_share=0.0), explicit, fmt="csv")
    for name in DEFAULT_TABLE_SHA256:
        assert (explicit / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes(), name


def test_phrasing_b_share_is_validated():
    for bad in (-0.1, 1.5):
        with pytest.raises(ConfigurationError, match="phrasing_b_share"):
            scenario_config("fair", phrasing_b_share=bad)


def test_cli_phrasing_option(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli_main(["synth", "--seed", "5", "--candidates", "40", "--employees-per-role", "0", "--phrasing-b-share", "1", "--out", str(out), "--no-progress"]) == 0
    truth = pd.read_parquet(out / "truth" / "answers.parquet")
    assert (truth["phrasing"] == "B").all()
    assert json.loads((out / "truth" / "truth.json").read_text(encoding="utf-8"))["phrasing"]["candidates_b"] == 40
