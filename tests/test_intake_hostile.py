"""Regression tests for the hostile-file defects of issue 17, each on a real damaged file.

The files are built by ``tests/hostile_files.py`` from a small real synthetic cohort (run it to get them on disk) and
go through the real paths: ``resolve_sources`` → ``run_intake`` → ``IntakeResult.save``, the ``workbench intake`` CLI,
and the report's library functions. Entry points other than intake (``workbench score``, ``workbench bench
questions``) are tested on the same kind of files in ``test_intake_entrypoints.py``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from hostile_files import INVISIBLE_ANSWERS, TABLES, cohort_with
from workbench._tabular import neutralise_cell, restore_cell
from workbench.errors import IntakeError
from workbench.intake import QUARANTINE_COLUMNS, read_raw_table, resolve_sources, run_intake
from workbench.intake.contracts import TABLES as CONTRACTS
from workbench.intake.contracts import is_blank


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    from workbench.synth import generate_cohort, scenario_config

    out = tmp_path_factory.mktemp("hostile") / "clean"
    generate_cohort(scenario_config("fair", seed=11, n_candidates=60, employees_per_role=2), out, fmt="csv", progress=False)
    return out


@pytest.fixture(scope="module")
def clean(base):
    return run_intake(resolve_sources(base))


def hostile(base: Path, tmp_path: Path, name: str):
    folder, made = cohort_with(base, tmp_path / name, name)
    return folder, (made[0] if len(made) == 1 else made)


def problems(result, table: str) -> list[tuple[int, str]]:
    q = result.results[table].quarantine
    return sorted(zip(q["row"].astype(int), q["reason_code"]))


def assert_reconciled(result) -> pd.DataFrame:
    counts = result.counts().set_index("table")
    assert (counts["rows_in"] == counts["accepted"] + counts["quarantined"]).all(), counts
    assert result.reconciled and counts["reconciled"].all()
    for name, r in result.results.items():
        rc = r.read_counts
        if rc.lines is not None:  # every physical line is accounted for
            assert rc.lines == rc.header_lines + rc.blank_lines + rc.record_lines, (name, rc)
    return counts


def physical_lines(path: Path) -> int:
    data = path.read_bytes()
    return len(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").rstrip(b"\n").split(b"\n"))


# ----------------------------------------------------------------------------------------------------------------------
# rows lost silently: an unclosed quote
# ----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["ratings_unclosed_quote", "ratings_unclosed_quote_to_eof", "ratings_unclosed_quote_closed_silently"]
)
def test_unclosed_quote_quarantines_the_swallowed_span_row_by_row(base, clean, tmp_path, name):
    folder, made = hostile(base, tmp_path, name)
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    lines = physical_lines(made.path)
    # rows in is counted from the bytes: every record the file holds, not the records left after the damage
    assert counts.loc["ratings", "lines_in"] == lines
    assert counts.loc["ratings", "rows_in"] == lines - 1 == clean.counts().set_index("table").loc["ratings", "rows_in"]
    q = result.results["ratings"].quarantine
    assert set(q["reason_code"]) == {"unclosed_quote"}
    assert q["row"].tolist() == made.damaged_rows  # the span, one row per swallowed line, in order
    assert q["line"].tolist() == made.damaged_rows  # one record per line in this file: row = line
    first, last = made.damaged_rows[0], made.damaged_rows[-1]
    assert all(f"第 {first}–{last} 行" in reason for reason in q["reason"])
    assert counts.loc["ratings", "accepted"] == lines - 1 - len(made.damaged_rows)
    # the records after the span keep their values and row numbers
    accepted = result.tables["ratings"]
    clean_ratings = clean.tables["ratings"]
    kept = clean_ratings.drop(index=[r - 2 for r in made.damaged_rows]).reset_index(drop=True)
    pd.testing.assert_frame_equal(accepted, kept)
    for other in TABLES:
        if other != "ratings":
            assert problems(result, other) == [], other


def test_issue_case_exactly_nineteen_records_swallowed(base, tmp_path):
    folder, made = hostile(base, tmp_path, "ratings_unclosed_quote")
    assert len(made.damaged_rows) == 21  # the damaged record, the 19 it swallowed, the one whose quote closed it
    raw = read_raw_table(made.path, table="ratings", single_line_columns=CONTRACTS["ratings"].single_line_columns)
    assert raw.counts.damaged_rows == 21 and raw.rows_in == physical_lines(made.path) - 1
    assert [p.row for p in raw.problems] == made.damaged_rows


def test_unclosed_quote_in_free_text_is_caught_by_the_swallowed_record_shape(base, clean, tmp_path):
    folder, made = hostile(base, tmp_path, "answers_unclosed_quote_in_text")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert problems(result, "answers") == [(r, "unclosed_quote") for r in made.damaged_rows]
    assert counts.loc["answers", "rows_in"] == clean.counts().set_index("table").loc["answers", "rows_in"]
    # ratings of the quarantined answers lose their parent (cascade), nothing else
    assert {code for _, code in problems(result, "ratings")} == {"unknown_reference"}


def test_a_legitimate_multiline_answer_is_one_record(base, tmp_path):
    """Line breaks, commas and quotes inside a properly quoted answer are data, not damage."""
    folder, _ = hostile(base, tmp_path, "ratings_old_mac")  # any clean copy
    records = list(csv.reader(io.StringIO((folder / "answers.csv").read_text(encoding="utf-8"), newline="")))
    t = records[0].index("answer_text")
    records[3][t] = "第一段, 有逗号, 还有, 很多, 逗号\n第二段，\"引号\"，\r\n第三段 A1,B2,C3,D4\n"
    records[4][t] = records[4][0] + ",x,y,z,w\n" + records[4][t]  # a line break before text shaped like a record…
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(records)
    (folder / "answers.csv").write_text(buffer.getvalue(), encoding="utf-8")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert problems(result, "answers") == []  # …but the line break comes first: the field starts like a record, not after one
    assert counts.loc["answers", "lines_in"] == len(records) + 4
    assert result.results["answers"].read_counts.multiline_records == 2
    assert result.tables["answers"].at[2, "answer_text"] == records[3][t].strip()


# ----------------------------------------------------------------------------------------------------------------------
# a crash: zero accepted answers
# ----------------------------------------------------------------------------------------------------------------------
def test_header_only_candidates_flow_through_intake_and_its_report(base, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from workbench.stages.intake import overview_figure, quarantine_overview, quarantine_sample

    folder, _ = hostile(base, tmp_path, "candidates_header_only")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert counts.loc["candidates", ["rows_in", "accepted", "quarantined"]].tolist() == [0, 0, 0]
    assert counts.loc["answers", "accepted"] == 0 and counts.loc["ratings", "accepted"] == 0
    assert counts.loc["answers", "quarantined"] == counts.loc["answers", "rows_in"] > 0
    fig = overview_figure(result, "zh")  # used to fail: axvline of the median of no answers
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("无数据") == 3  # no candidates, so no answers and no ratings either
    import matplotlib.pyplot as plt

    plt.close(fig)
    assert len(quarantine_overview(result)) > 0 and len(quarantine_sample(result)) > 0
    for name in TABLES:
        result.profile(name)
    written = result.save(tmp_path / "out")
    assert pd.read_parquet(written["candidates"]).empty
    assert "<table>" in result._repr_html_()


# ----------------------------------------------------------------------------------------------------------------------
# quarantine.csv is safe: bare carriage returns, planted formulas
# ----------------------------------------------------------------------------------------------------------------------
def test_bare_carriage_returns_reach_quarantine_csv_as_single_safe_cells(base, tmp_path):
    folder, made = hostile(base, tmp_path, "candidates_bare_cr")
    result = run_intake(resolve_sources(folder))
    assert_reconciled(result)
    q = result.results["candidates"].quarantine
    assert q[["row", "column", "reason_code"]].values.tolist() == [[3, "gender", "not_allowed"], [4, "gender", "not_allowed"]]
    planted = ["\r=1+1", '男\r=HYPERLINK("http://evil.example","x")']
    assert q["value"].tolist() == planted
    names = pd.read_csv(folder / "candidates.csv", dtype=str, keep_default_na=False)["name"]
    assert "\r" in names.iloc[3] and names.iloc[3] in set(result.tables["candidates"]["name"])  # data, kept as is

    path = result.save(tmp_path / "out")["quarantine"]
    data = path.read_bytes()
    assert b"\"'\r=1+1\"" in data  # quoted and neutralised: the CR cannot start a record, = cannot start a cell
    assert data.count(b"\r\n") == len(result.quarantine) + 1  # one record end per row (RFC 4180: CRLF)
    # every CSV reader sees the same records: the csv module, pandas, the workbench's own reader
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == len(result.quarantine) + 1 and rows[0] == QUARANTINE_COLUMNS
    by_pandas = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(by_pandas) == len(result.quarantine)
    ours = read_raw_table(path, table="quarantine")
    assert ours.rows_in == len(result.quarantine) and not ours.problems
    cand = ours.frame[ours.frame["table"] == "candidates"]
    assert cand["value"].tolist() == [neutralise_cell(v) for v in planted] == ["'\r=1+1", planted[1]]
    assert [restore_cell(v) for v in cand["value"]] == planted
    for row in rows[1:]:
        for cell in row:
            visible = cell.lstrip(" \t\r\n\u200b\u3000")
            assert not visible.startswith(("=", "+", "-", "@", "＝", "＋", "－", "＠")) or cell.startswith("'"), cell


def test_old_mac_line_ends_are_lines(base, clean, tmp_path):
    folder, made = hostile(base, tmp_path, "ratings_old_mac")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert counts.loc["ratings", "lines_in"] == physical_lines(made.path)
    pd.testing.assert_frame_equal(result.tables["ratings"], clean.tables["ratings"])


# ----------------------------------------------------------------------------------------------------------------------
# binary Parquet text columns
# ----------------------------------------------------------------------------------------------------------------------
def test_binary_parquet_text_is_decoded_or_quarantined_never_a_repr(base, clean, tmp_path):
    folder, made = hostile(base, tmp_path, "answers_binary_parquet")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert counts.loc["answers", "format"] == "parquet"
    assert problems(result, "answers") == [(made.damaged_rows[0], "binary_not_utf8")]
    q = result.results["answers"].quarantine
    assert q["value"].iloc[0].startswith("ce d2 ")  # the bytes, shown in hex
    texts = result.tables["answers"]["answer_text"].dropna()
    assert not texts.str.startswith(("b'", 'b"')).any()
    expected = clean.tables["answers"].drop(index=made.damaged_rows[0] - 2).reset_index(drop=True)
    assert result.tables["answers"]["answer_text"].tolist() == expected["answer_text"].tolist()


# ----------------------------------------------------------------------------------------------------------------------
# invisible-only answers
# ----------------------------------------------------------------------------------------------------------------------
def test_invisible_only_answers_are_empty_answers(base, tmp_path):
    assert all(is_blank(text) for text in INVISIBLE_ANSWERS) and not is_blank("\u200b答\u200b")
    folder, made = hostile(base, tmp_path, "answers_invisible")
    result = run_intake(resolve_sources(folder))
    assert_reconciled(result)
    assert problems(result, "answers") == [(r, "empty_answer") for r in made.damaged_rows]
    assert result.results["answers"].quarantine["value"].tolist() == list(INVISIBLE_ANSWERS)
    assert {code for _, code in problems(result, "ratings")} == {"unknown_reference"}


# ----------------------------------------------------------------------------------------------------------------------
# row-level failures stay row-level
# ----------------------------------------------------------------------------------------------------------------------
def test_oversized_fields_quarantine_their_record_not_the_file(base, clean, tmp_path):
    folder, made = hostile(base, tmp_path, "answers_oversized_fields")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert problems(result, "answers") == [(5, "too_long"), (10, "field_too_large")]
    q = result.results["answers"].quarantine
    assert q["value"].str.len().max() < 1_100  # shown, not copied whole
    assert counts.loc["answers", "accepted"] == clean.counts().set_index("table").loc["answers", "accepted"] - 2


def test_one_nul_byte_quarantines_one_record(base, tmp_path):
    folder, made = hostile(base, tmp_path, "candidates_nul")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert problems(result, "candidates") == [(made.damaged_rows[0], "nul_byte")]
    q = result.results["candidates"].quarantine
    assert q["column"].iloc[0] == "name" and q["value"].iloc[0].startswith("\\x00")
    assert counts.loc["candidates", "accepted"] == counts.loc["candidates", "rows_in"] - 1


def test_code_page_936_with_euro_sign_is_detected_as_such(base, tmp_path):
    folder, made = hostile(base, tmp_path, "candidates_cp936_euro")
    assert b"\x80" in made.path.read_bytes()
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert counts.loc["candidates", "encoding"] == "cp936"
    assert problems(result, "candidates") == []
    sites = result.tables["candidates"]["site"]
    assert sites.str.endswith("€").sum() == 1 and sites.str.contains("分行").all()


def test_an_undecodable_byte_in_a_gbk_file_quarantines_its_record(base, tmp_path):
    folder, made = hostile(base, tmp_path, "candidates_gbk_bad_byte")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert counts.loc["candidates", "encoding"] == "gb18030"
    assert problems(result, "candidates") == [(made.damaged_rows[0], "undecodable_bytes")]
    q = result.results["candidates"].quarantine
    assert q["column"].iloc[0] == "site" and q["value"].iloc[0].endswith("\\xff") and "0xFF" in q["reason"].iloc[0]
    assert result.tables["candidates"]["name"].str.contains(r"[\u4e00-\u9fff]").all()  # the rest decoded as Chinese


# ----------------------------------------------------------------------------------------------------------------------
# headers
# ----------------------------------------------------------------------------------------------------------------------
def test_duplicated_header_column_is_a_named_error(base, tmp_path):
    folder, made = hostile(base, tmp_path, "ratings_duplicate_header")
    with pytest.raises(IntakeError) as info:
        run_intake(resolve_sources(folder))
    err = info.value
    assert err.code == "duplicate_column" and err.file == str(made.path) and err.column == "rating"
    msg = str(err)
    assert str(made.path) in msg and "rating" in msg and "ｒａｔｉｎｇ" in msg and "[ratings]" in msg
    assert "tolist" not in msg


def test_full_width_and_padded_header_names_are_normalised(base, clean, tmp_path):
    folder, _ = hostile(base, tmp_path, "ratings_fullwidth_header")
    result = run_intake(resolve_sources(folder))
    assert_reconciled(result)
    assert len(result.quarantine) == 0
    pd.testing.assert_frame_equal(result.tables["ratings"], clean.tables["ratings"])


def test_numeric_xlsx_ids_with_zero_padding_format_are_read_as_displayed(base, tmp_path):
    folder, made = hostile(base, tmp_path, "numeric_ids_xlsx")
    result = run_intake(resolve_sources(folder))
    counts = assert_reconciled(result)
    assert counts.loc["answers", "format"] == "xlsx"
    assert len(result.quarantine) == 0, result.quarantine.head()
    ids = result.tables["answers"]["candidate_id"]
    assert ids.str.fullmatch(r"\d{6}").all() and ids.str.startswith("0000").all()
    assert set(ids) <= set(result.tables["candidates"]["candidate_id"])


# ----------------------------------------------------------------------------------------------------------------------
# `workbench intake DIR` on the same files
# ----------------------------------------------------------------------------------------------------------------------
def test_cli_intake_reports_lines_and_reasons_on_hostile_files(base, tmp_path, capsys):
    from hostile_files import answers_invisible, candidates_nul

    from workbench.cli import main

    folder, _ = hostile(base, tmp_path, "ratings_unclosed_quote")
    candidates_nul(base, folder)
    answers_invisible(base, folder)
    code = main(["--lang", "en", "intake", str(folder)])
    out = capsys.readouterr().out
    assert code == 0, out
    for word in ("lines_in", "unclosed_quote", "nul_byte", "empty_answer", "True"):
        assert word in out, word


def test_cli_intake_names_file_and_column_of_a_duplicated_header(base, tmp_path, capsys):
    from workbench.cli import main

    folder, made = hostile(base, tmp_path, "ratings_duplicate_header")
    code = main(["intake", str(folder)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(made.path) in err and "rating" in err and "重复列" in err


@pytest.mark.parametrize(
    "value, number_format, shown",
    [
        (456, "000000", "000456"),
        (456.0, "000000", "000456"),
        (456, '"E"00000', "E00456"),
        (7, '00"号"', "07号"),
        (456, "00000;[Red]-00000", "00456"),
        (1234567, "000", "1234567"),  # more digits than the format: Excel shows them all
        (456, "General", "456"),
        (456, "#,##0", "456"),  # not a padding format: the number itself
        (456.5, "000000", "456.5"),  # not an integer: the number itself
    ],
)
def test_xlsx_number_formats_that_pad_zeros(tmp_path, value, number_format, shown):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["candidate_id", "n"])
    sheet.append([value, 1])
    sheet["A2"].number_format = number_format
    book.save(tmp_path / "c.xlsx")
    raw = read_raw_table(tmp_path / "c.xlsx", table="candidates")
    assert raw.frame["candidate_id"].tolist() == [shown]


def test_parquet_nul_nested_and_oversized_values_are_row_level(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.intake.readers import MAX_FIELD_CHARS

    table = pa.table({
        "answer_id": pa.array(["A1", "A2", "A3", "A4"]),
        "rater_id": pa.array(["R1", "R\x001", "R1", "R1"]).dictionary_encode(),
        "rating": pa.array([3, 4, None, 5]),
        "note": pa.array([[1], None, [2, 3], None]),
        "memo": pa.array(["x", "y", "z", "长" * (MAX_FIELD_CHARS + 1)]),
    })
    pq.write_table(table, tmp_path / "ratings.parquet")
    raw = read_raw_table(tmp_path / "ratings.parquet", table="ratings")
    assert sorted((p.row, p.column, p.code) for p in raw.problems) == [
        (2, "note", "not_scalar"), (3, "rater_id", "nul_byte"), (4, "note", "not_scalar"), (5, "memo", "field_too_large")]
    assert raw.frame["answer_id"].tolist() == [] and raw.rows_in == 4 and raw.counts.lines is None
