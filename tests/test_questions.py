"""Question generation, question-set evaluation, the vendor benchmark CLI, and the lint quality bar."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_support import run_cli

from workbench._paths import PROJECT_ROOT
from workbench.competency import load_dictionary
from workbench.errors import IntakeError
from workbench.questions.evaluate import evaluate_question_set, read_question_set, redundancy
from workbench.questions.generate import generate_question_bank
from workbench.questions.lint import lint_questions

VENDORS = PROJECT_ROOT / "benchmark" / "vendor_sets"


@pytest.fixture(scope="module")
def bank():
    return generate_question_bank(load_dictionary(), per_competency=3, seed=7)


def test_bank_covers_every_competency_with_mixed_types(bank):
    d = load_dictionary()
    for role in d.roles.values():
        for cid in role.competency_ids:
            qs = bank[(bank["role_id"] == role.id) & (bank["competency_id"] == cid)]
            assert len(qs) >= 3, (role.id, cid)
            assert qs["type"].nunique() >= 2, (role.id, cid)
            assert qs["indicator_id"].str.startswith(cid + ".").all()
            assert qs["rubric"].str.contains("5分：").all()
    assert set(bank["type"]) == {"情景", "行为", "文化"}
    assert bank["question_id"].is_unique


def test_bank_is_reproducible_and_varied(bank):
    again = generate_question_bank(load_dictionary(), per_competency=3, seed=7)
    pd.testing.assert_frame_equal(bank, again)
    other = generate_question_bank(load_dictionary(), per_competency=3, seed=8)
    assert (other["text"] != bank["text"]).mean() > 0.3
    assert bank["template"].nunique() >= 10  # several frames per type, not one template per type


def test_bank_has_no_near_duplicates_and_no_lint_errors(bank):
    assert redundancy(bank).empty, redundancy(bank).head()
    findings = lint_questions(bank[["question_id", "text", "type"]])
    assert not (findings["severity"] == "error").any(), findings[findings["severity"] == "error"].head()


def _legal_scores(path):
    heldout = pd.read_csv(path)
    findings = lint_questions(heldout[["question_id", "text", "type"]])
    flagged = set(findings.loc[findings["category"] == "legal", "question_id"])
    pred = heldout["question_id"].isin(flagged)
    truth = heldout["expected_legal"] == 1
    recall = (pred & truth).sum() / truth.sum()
    precision = (pred & truth).sum() / max(pred.sum(), 1)
    return recall, precision, len(heldout), int(truth.sum()), int((~truth).sum())


def test_lint_quality_on_first_heldout_set():
    """Set 1 was written independently, then its misses were used to improve the rules: an optimistic check."""
    recall, precision, n, pos, neg = _legal_scores(PROJECT_ROOT / "tests" / "data" / "lint_heldout.csv")
    assert n >= 150 and pos >= 60 and neg >= 60
    assert recall >= 0.95 and precision >= 0.90, (recall, precision)


def test_lint_quality_on_untouched_heldout_set():
    """Set 2 was written by someone who never saw the rules, and the rules were not tuned on it."""
    recall, precision, n, pos, neg = _legal_scores(PROJECT_ROOT / "tests" / "data" / "lint_heldout2.csv")
    assert n >= 150 and pos >= 60 and neg >= 60
    assert precision >= 0.90, precision
    assert recall >= LINT_RECALL_FLOOR, recall


# Measured on set 2 before any use of it; see the issue note. Raising this needs better rules, not a lower bar.
LINT_RECALL_FLOOR = 0.90  # measured 0.924 (85/92), precision 0.988, on first use after the last rule change


def test_vendor_sets_read_with_named_problems():
    questions, quarantine, info = read_question_set(VENDORS / "vendor_b.csv")
    # only the row without a text is quarantined; a repeated id or an unknown competency is a finding and the
    # question is still linted (issue 16)
    assert set(quarantine["reason_code"]) == {"missing_value"}
    assert {"duplicate_id", "unknown_competency"} <= set(info["references"]["rule_id"])
    assert "B050@r52" in set(questions["question_id"]) and "B019" in set(questions["question_id"])
    assert info["rows_in"] == info["evaluated"] + info["quarantined"]
    with pytest.raises(IntakeError, match="text"):
        bad = VENDORS.parent / "_no_text.csv"
        try:
            pd.read_csv(VENDORS / "vendor_a.csv").drop(columns=["text"]).to_csv(bad, index=False)
            read_question_set(bad)
        finally:
            bad.unlink(missing_ok=True)


def test_evaluation_separates_the_two_vendors():
    a = evaluate_question_set(read_question_set(VENDORS / "vendor_a.csv")[0], name="A").summary()
    qb, qq, _ = read_question_set(VENDORS / "vendor_b.csv")
    b = evaluate_question_set(qb, name="B", quarantine=qq).summary()
    assert a["legal_violations"] == 0 and b["legal_violations"] >= 5
    assert a["coverage_rate"] == 1.0 and b["coverage_rate"] < 0.6
    assert b["near_duplicate_pairs"] >= 3  # of 6 planted; synonym swaps (合作/协作) in very short questions are missed
    assert a["score"] > b["score"] + 20


def test_bench_cli_on_csv_and_xlsx_and_leaderboard(tmp_path):
    xlsx = tmp_path / "vendor_b.xlsx"
    pd.read_csv(VENDORS / "vendor_b.csv", dtype=str, keep_default_na=False).to_excel(xlsx, index=False)
    run = run_cli  # `python -m workbench ARGS`, in this process
    for name, path in (("a", VENDORS / "vendor_a.csv"), ("b", VENDORS / "vendor_b.csv"), ("bx", xlsx)):
        proc = run("bench", "questions", str(path), "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        card = json.loads((tmp_path / name / "scorecard.json").read_text(encoding="utf-8"))
        assert card["summary"]["questions"] > 0
        html = (tmp_path / name / "scorecard.html").read_text(encoding="utf-8")
        assert "题目集评估" in html and "<script" not in html
    b_csv = json.loads((tmp_path / "b" / "scorecard.json").read_text(encoding="utf-8"))["summary"]
    b_xlsx = json.loads((tmp_path / "bx" / "scorecard.json").read_text(encoding="utf-8"))["summary"]
    assert b_csv["score"] == b_xlsx["score"] and b_csv["legal_violations"] == b_xlsx["legal_violations"]
    board = run("bench", "leaderboard", str(tmp_path / "a"), str(tmp_path / "b"), "--html", str(tmp_path / "board.html"))
    assert board.returncode == 0, board.stderr
    assert board.stdout.index("vendor_a") < board.stdout.index("vendor_b")
    missing = run("bench", "questions", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "c"))
    assert missing.returncode == 2 and "nope.csv" in missing.stderr


def test_bench_with_pilot_ratings_runs_item_statistics(tmp_path):
    from workbench.bench import benchmark_question_set
    from workbench.synth import simulate_pilot

    questions, _, _ = read_question_set(VENDORS / "vendor_a.csv")
    pilot = simulate_pilot(questions[questions["role_id"] == "teller"], candidates_per_role=150, seed=3)
    pilot_path = tmp_path / "pilot.csv"
    pilot.to_csv(pilot_path, index=False)
    evaluation = benchmark_question_set(VENDORS / "vendor_a.csv", tmp_path / "out", pilot_path=pilot_path, dif_columns=("gender",))
    assert evaluation.item_stats is not None and len(evaluation.item_stats.items) > 0
    assert "median_alpha" in evaluation.summary()
