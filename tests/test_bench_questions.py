"""Question-set benchmark on files a vendor would send: every question linted, names resolved, clear errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_support import run_cli

from workbench._paths import PROJECT_ROOT
from workbench.bench import benchmark_question_set, build_leaderboard
from workbench.errors import IntakeError
from workbench.questions.evaluate import evaluate_question_set, load_question_set

VENDOR = PROJECT_ROOT / "tests" / "data" / "vendor"
FILES = ("vendor_c_names.csv", "vendor_c_names_gbk.csv", "vendor_c_names.xlsx")


@pytest.fixture(scope="module")
def expected():
    return set(pd.read_csv(VENDOR / "vendor_c_expected.csv")["question_id"])


@pytest.mark.parametrize("file", FILES)
def test_every_planted_violation_on_unresolvable_rows_is_reported(file, expected):
    """The quality bar of issue 16: roles and competencies named in Chinese (exact, alias or close), seven kinds of
    discriminatory question planted on rows whose names cannot be resolved — all reported, verdict fail."""
    qset = load_question_set(VENDOR / file)
    ev = evaluate_question_set(qset, name=file)
    legal = set(ev.findings.loc[ev.findings["category"] == "legal", "question_id"])
    assert legal == expected  # every planted violation, and no false legal error
    refs = ev.findings[ev.findings["category"] == "reference"]
    assert expected <= set(refs["question_id"])  # the rows really are unresolvable
    s = ev.summary()
    assert s["verdict"] == "fail" and s["legal_violations"] == 7 and s["questions"] == 32
    resolved = qset.questions[~qset.questions["question_id"].isin(expected | {"V04"})]
    assert resolved["role_id"].notna().all() and resolved["competency_id"].notna().all() and resolved["in_role"].all()
    assert qset.source["rows_in"] == qset.source["evaluated"] + qset.source["quarantined"]
    assert {("V30", "V31")} == {(r.question_a, r.question_b) for r in ev.same_role_pairs().itertuples()}


def test_scorecard_shows_reference_problems_beside_the_lint_and_the_mapping(tmp_path):
    ev = benchmark_question_set(VENDOR / "vendor_c_names_gbk.csv", tmp_path / "c")
    card = json.loads((tmp_path / "c" / "scorecard.json").read_text(encoding="utf-8"))
    assert card["summary"]["verdict"] == "fail" and card["source"]["encoding"] == "gb18030"
    mapping = pd.DataFrame(card["name_mapping"]).set_index(["kind", "given"])
    assert mapping.loc[("competency", "细致性"), "resolved"] == "attention_to_detail"
    assert mapping.loc[("competency", "细致性"), "method"] == "alias"
    assert mapping.loc[("role", "客户经理"), "method"] == "ambiguous"
    assert set(mapping.loc[("role", "客户经理"), "candidates"].split("|")) == {"retail_rm", "corporate_rm"}
    assert mapping.loc[("role", "柜员岗"), "method"] == "close"
    html = (tmp_path / "c" / "scorecard.html").read_text(encoding="utf-8")
    # the reference table row for V05 carries the question's legal finding beside it
    section = html.split("名称与引用问题")[1].split("</table>")[0]
    assert "V05" in section and "⚠" in section
    assert "<script" not in html and "名称对应表" in html
    assert set(pd.read_csv(tmp_path / "c" / "name_mapping.csv")["given"]) >= {"客户经理", "细致性"}
    en = ev.to_html("en")
    assert "Name mapping" in en and "Fail" in en


def test_vendor_mapping_resolves_what_the_dictionary_cannot(tmp_path):
    mapping = tmp_path / "mapping.csv"
    pd.DataFrame({"kind": ["role", "role", "competency", "competency", "competency", "competency", "competency"],
                  "given": ["客户经理", "网点保安", "外语能力", "形象气质", "身体素质", "执行力", "营销能力"],
                  "resolved": ["个人客户经理", "lobby_manager", "learning_agility", "communication", "stress_resilience", "problem_solving", "客户需求分析与营销"]}
                 ).to_csv(mapping, index=False)
    ev = evaluate_question_set(load_question_set(VENDOR / "vendor_c_names.csv", mapping=mapping), name="c")
    refs = ev.findings[ev.findings["category"] == "reference"]
    assert set(refs["rule_id"]) <= {"competency_not_in_role"}, refs
    assert ev.summary()["verdict"] == "fail"  # still: mapping names does not excuse a discriminatory question


def test_bad_question_files_give_findings_or_clear_errors(tmp_path):
    rows = pd.DataFrame({
        "question_id": ["Q1", "Q1", "Q3", "", "<i>Q5</i>", "Q6"],
        "role": ["柜员", "柜员", "柜员", "柜员", "柜员", "风险经理"],
        "competency": ["细致性", "沟通能力", "反洗钱", "合规", "抗压能力", "现金业务"],
        "type": ["行为", "情景", "文化", "文化", "", "面谈题"],
        "text": ["请描述一次你因细心避免差错的经历。", "你今年多大了？", "", "假如客户要求你代签，你会怎么做？",
                 "<script>alert(1)</script>请描述一次你在压力下完成任务的经历。", "假设客户存入的现金里有一张疑似假币，你会怎么处理？"],
    })
    path = tmp_path / "bad.csv"
    rows.to_csv(path, index=False, encoding="utf-8")
    qset = load_question_set(path)
    assert list(qset.quarantine["reason_code"]) == ["missing_value"] and list(qset.quarantine["row"]) == [4]
    codes = set(qset.references["rule_id"])
    assert {"duplicate_id", "missing_id", "unknown_type", "missing_type", "competency_not_in_role"} <= codes
    ev = evaluate_question_set(qset, name="<b>bad</b>")
    assert "Q1@r3" in set(ev.findings.loc[ev.findings["category"] == "legal", "question_id"])  # the repeated id is still linted
    html = ev.to_html()
    assert "<i>Q5" not in html and "&lt;i&gt;Q5" in html and "&lt;b&gt;bad" in html and "<script" not in html
    # missing required column: a clear error naming the file, the column and the accepted Chinese headers
    rows.drop(columns=["text"]).to_csv(tmp_path / "no_text.csv", index=False)
    with pytest.raises(IntakeError, match="text") as err:
        load_question_set(tmp_path / "no_text.csv")
    assert "题干" in str(err.value) and "no_text.csv" in str(err.value)
    # a workbook whose sheets lack the columns
    with pd.ExcelWriter(tmp_path / "wrong.xlsx") as xw:
        pd.DataFrame({"说明": ["x"]}).to_excel(xw, sheet_name="填写说明", index=False)
    with pytest.raises(IntakeError, match="填写说明"):
        load_question_set(tmp_path / "wrong.xlsx")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(IntakeError, match="empty"):
        load_question_set(tmp_path / "empty.csv")


def test_cli_questions_leaderboard_html(tmp_path):
    run = run_cli  # `python -m workbench ARGS`, in this process
    proc = run("bench", "questions", str(VENDOR / "vendor_c_names.xlsx"), "--out", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stderr
    assert "不合格" in proc.stdout
    proc = run("bench", "questions", str(PROJECT_ROOT / "benchmark" / "vendor_sets" / "vendor_a.csv"), "--out", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    board = run("bench", "leaderboard", str(tmp_path / "c"), str(tmp_path / "a"), "--html", str(tmp_path / "board.html"))
    assert board.returncode == 0, board.stderr
    assert board.stdout.index("vendor_a") < board.stdout.index("vendor_c_names")
    html = (tmp_path / "board.html").read_text(encoding="utf-8")
    assert "供应商评测排行榜" in html and "http" not in html and "<script" not in html
    tables = build_leaderboard([tmp_path / "a", tmp_path / "c"], lang="en")
    assert list(tables["question_sets"]["Name"]) == ["vendor_a", "vendor_c_names"]
    bad = run("bench", "questions", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "nope.csv" in bad.stderr
    help_en = run("--lang", "en", "bench", "questions", "--help")
    assert "--mapping" in help_en.stdout and "mapping" in help_en.stdout
