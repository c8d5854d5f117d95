"""The same hostile files through the other entry points: ``workbench score`` (batch scoring) and ``workbench bench
questions`` (vendor question sets). They share intake's reader and writer, so they must treat damage the same way:
the same row numbers and reason codes, counts that reconcile, a quarantine.csv that every CSV reader splits alike."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from workbench._paths import PROJECT_ROOT
from workbench.errors import DataError
from workbench.intake import read_raw_table

VENDORS = PROJECT_ROOT / "benchmark" / "vendor_sets"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> dict:
    from workbench.synth import generate_cohort, scenario_config

    out = tmp_path_factory.mktemp("entry") / "cohort"
    generate_cohort(scenario_config("fair", seed=11, n_candidates=60, employees_per_role=0), out, fmt="csv", progress=False)
    answers = pd.read_csv(out / "answers.csv", dtype=str, keep_default_na=False)
    questions = pd.read_csv(out / "questions.csv", dtype=str, keep_default_na=False)
    ratings = pd.read_csv(out / "ratings.csv")
    answers = answers.merge(questions[["question_id", "competency_id"]], on="question_id", how="left", validate="many_to_one")
    answers["y"] = answers["answer_id"].map(ratings.groupby("answer_id")["rating"].mean())
    return {"dir": out, "answers": answers}


@pytest.fixture(scope="module")
def model(cohort, tmp_path_factory) -> Path:
    from workbench.scoring._persist import save_scorer
    from workbench.scoring._scorer import AnswerScorer

    a = cohort["answers"]
    scorer = AnswerScorer(hash_bits=12).fit(pd.DataFrame({"answer": a["answer_text"], "competency": a["competency_id"]}), a["y"])
    path, _card = save_scorer(scorer, tmp_path_factory.mktemp("model") / "scorer.skops", card={"model_version": "hostile-1"})
    return path


COLUMNS = ["answer_id", "status", "answer_text", "competency_id"]


def _plain_lines(frame: pd.DataFrame) -> list[str]:
    """One record per line, no quoting needed (commas and quotes in the texts made full-width)."""
    lines = [",".join(COLUMNS)]
    for rec in frame[COLUMNS].itertuples(index=False):
        lines.append(",".join(str(v).replace(",", "，").replace('"', "”").replace("\n", " ") for v in rec))
    return lines


def hostile_answers(cohort, path: Path, *, encoding: str = "utf-8") -> dict:
    """An answers file for scoring with the issue's damage; returns the rows (header = 1) and expected codes."""
    frame = cohort["answers"].iloc[:60].reset_index(drop=True)
    assert (frame.loc[[14, 19, 24, 29, 34], "status"] == "answered").all()
    lines = _plain_lines(frame)
    expected: dict[int, set[str]] = {}
    # an unclosed quote in the competency column, "closed" by a quoted competency four records later
    k = 6
    head, _, comp = lines[k].rpartition(",")
    lines[k] = f'{head},"{comp}'
    head, _, comp = lines[k + 4].rpartition(",")
    lines[k + 4] = f'{head},"{comp}"'
    for row in range(k + 1, k + 6):
        expected[row] = {"unclosed_quote"}
    # a NUL byte, an invisible-only answer, a 200,000-character answer
    lines[15] = lines[15].replace(",answered,", ",answered,\x00", 1)
    expected[16] = {"nul_byte"}
    aid, status, _text, comp = lines[20].split(",")
    invisible = "\u200b\ufeff\u2060" if encoding == "utf-8" else "\u3000 \u3000"  # GBK has no zero-width characters
    lines[20] = ",".join([aid, status, invisible, comp])
    expected[21] = {"empty_text"}
    aid, status, _text, comp = lines[25].split(",")
    lines[25] = ",".join([aid, status, "我" * 200_000, comp])
    expected[26] = {"text_too_long"}
    # a planted formula after a bare CR inside a quoted answer: scored as text, never a second record
    aid, status, text, comp = lines[30].split(",")
    lines[30] = ",".join([aid, status, f'"{text}\r=1+1"', comp])
    text = "\n".join(lines) + "\n"
    if encoding == "utf-8":
        data = text.encode("utf-8")
    else:  # GBK (code page 936) with one byte that is no GBK character
        aid, status, t, comp = lines[35].split(",")
        marker = "\x01MARK\x01"
        text = text.replace(lines[35], ",".join([aid, status, t + marker, comp]))
        data = text.encode("gbk", errors="replace").replace(marker.encode(), b"\xff")
        expected[36] = {"undecodable_bytes"}
    path.write_bytes(data)
    return {"path": path, "expected": expected, "records": len(lines) - 1}


def _check_quarantine_file(path: Path, n_problems: int) -> pd.DataFrame:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == n_problems + 1
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(frame) == n_problems
    return frame


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_score_quarantines_the_same_damage_as_intake(cohort, model, tmp_path, encoding):
    from workbench.scoring._batch import score_file

    case = hostile_answers(cohort, tmp_path / f"answers_{encoding}.csv", encoding=encoding)
    summary = score_file(model, case["path"], tmp_path / "scores.csv", chunk_size=7, progress=False)
    assert summary.reconciled
    assert summary.rows_in == case["records"]  # every record of the file, the swallowed ones included
    q = _check_quarantine_file(Path(summary.quarantine_path), sum(summary.quarantine_reasons.values()))
    got: dict[int, set[str]] = {}
    for row, code in zip(q["row"].astype(int), q["reason_code"]):
        got.setdefault(row, set()).add(code)
    assert got == case["expected"]
    assert summary.quarantined == len(case["expected"]) and summary.scored == case["records"] - len(case["expected"])
    # the same file through intake's reader: the same damaged rows with the same codes
    raw = read_raw_table(case["path"], table="answers", single_line_columns=["answer_id", "status", "competency_id"])
    reader_rows = {p.row: p.code for p in raw.problems}
    assert reader_rows == {r: next(iter(c)) for r, c in case["expected"].items() if c & {"unclosed_quote", "nul_byte", "undecodable_bytes"}}
    assert raw.encoding == ("utf-8" if encoding == "utf-8" else "gb18030")
    scores = pd.read_csv(tmp_path / "scores.csv", encoding="utf-8-sig")
    assert len(scores) == summary.scored and set(scores["row"]).isdisjoint(got)
    assert scores["row"].is_monotonic_increasing


def test_cli_score_reports_reader_damage_and_reconciles(cohort, model, tmp_path, capsys):
    from workbench.cli import main

    case = hostile_answers(cohort, tmp_path / "answers.csv")
    out = tmp_path / "scores.parquet"
    code = main(["--lang", "en", "score", "--model", str(model), "--answers", str(case["path"]), "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    n = case["records"]
    assert f"{n:,} rows: {n - len(case['expected']):,} scored, {len(case['expected'])} quarantined (reconciled: True)" in printed
    for reason in ("unclosed_quote: 5", "nul_byte: 1", "empty_text: 1", "text_too_long: 1"):
        assert reason in printed, reason
    scores = pd.read_parquet(out)
    assert len(scores) == n - len(case["expected"])


def test_score_reads_binary_parquet_text_and_cp936(cohort, model, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.scoring._batch import score_file

    frame = cohort["answers"].iloc[:30]
    texts = [t.encode("utf-8") for t in frame["answer_text"]]
    texts[4] = "我先核实了客户身份".encode("gbk")
    table = pa.table({"answer_id": pa.array(frame["answer_id"].tolist()), "answer_text": pa.array(texts, pa.binary()),
                      "competency_id": pa.array(frame["competency_id"].tolist())})
    pq.write_table(table, tmp_path / "bin.parquet")
    summary = score_file(model, tmp_path / "bin.parquet", tmp_path / "s.parquet", progress=False)
    assert (summary.scored, summary.quarantined) == (29, 1) and summary.quarantine_reasons == {"binary_not_utf8": 1}

    lines = _plain_lines(frame)
    lines[3] = lines[3].replace(",answered,", ",answered,价格€", 1)
    data = "\n".join(lines).replace("€", "\x01E\x01").encode("gbk", errors="replace").replace(b"\x01E\x01", b"\x80")
    (tmp_path / "cp936.csv").write_bytes(data)
    summary = score_file(model, tmp_path / "cp936.csv", tmp_path / "s2.parquet", progress=False)
    assert (summary.scored, summary.quarantined) == (30, 0)


# ----------------------------------------------------------------------------------------------------------------------
# workbench bench questions
# ----------------------------------------------------------------------------------------------------------------------
def hostile_vendor_set(path: Path) -> dict:
    lines = (VENDORS / "vendor_a.csv").read_text(encoding="utf-8").splitlines()
    assert '"' not in "".join(lines)
    parts = lines[4].split(",")
    parts[4] = parts[4][:3] + "\x00" + parts[4][3:]  # a NUL byte in one question text (row 5)
    lines[4] = ",".join(parts)
    k = 9  # an unclosed quote in the type column (allowed values, single-line), closed at the end of row 15
    parts = lines[k].split(",")
    parts[3] = '"' + parts[3]
    lines[k] = ",".join(parts)
    lines[k + 5] = lines[k + 5] + '"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = {5: "nul_byte", **{r: "unclosed_quote" for r in range(k + 1, k + 7)}}
    return {"path": path, "expected": expected, "records": len(lines) - 1}


def test_vendor_question_set_damage_is_quarantined_by_row(tmp_path):
    from workbench.questions.evaluate import read_question_set

    case = hostile_vendor_set(tmp_path / "vendor_hostile.csv")
    questions, quarantine, info = read_question_set(case["path"])
    reader = quarantine[quarantine["reason_code"].isin(["nul_byte", "unclosed_quote"])]
    assert dict(zip(reader["row"].astype(int), reader["reason_code"])) == case["expected"]
    assert info["rows_in"] == case["records"] == info["evaluated"] + info["quarantined"]


def test_cli_bench_questions_on_a_hostile_set(tmp_path, capsys):
    from workbench.cli import main

    case = hostile_vendor_set(tmp_path / "vendor_hostile.csv")
    code = main(["bench", "questions", str(case["path"]), "--out", str(tmp_path / "card")])
    capsys.readouterr()
    assert code == 0
    card = json.loads((tmp_path / "card" / "scorecard.json").read_text(encoding="utf-8"))
    listed = {(int(r["row"]), r["reason_code"]) for r in card["quarantine"]}
    assert set(case["expected"].items()) <= listed
    q = _check_quarantine_file(tmp_path / "card" / "quarantine.csv", len(card["quarantine"]))
    assert {"nul_byte", "unclosed_quote"} <= set(q["reason_code"])


def test_pilot_file_with_damaged_records_is_refused_naming_the_rows(tmp_path):
    from workbench.bench import read_pilot

    text = "candidate_id,question_id,rating\nC1,A001,3\nC2,A001,4\x00\nC3,A001,5\n"
    path = tmp_path / "pilot.csv"
    path.write_bytes(text.encode("utf-8"))
    with pytest.raises(DataError, match=r"nul_byte.*\[3\]"):
        read_pilot(path)


def test_safe_writer_output_is_read_back_by_every_entry_point(tmp_path):
    """A quarantine written by one entry point is a valid input for another: same reader, same writer."""
    from workbench._tabular import write_csv_safe

    frame = pd.DataFrame({"answer_id": ["=A1", "A2", "A3"], "answer_text": ["a\rb", '"引号", 逗号\r\n换行', "\t-1"]})
    path = write_csv_safe(frame, tmp_path / "x.csv")
    raw = read_raw_table(path, table="answers", single_line_columns=["answer_id"])
    assert raw.frame["answer_id"].tolist() == ["'=A1", "A2", "A3"]
    assert raw.frame["answer_text"].tolist() == ["a\rb", '"引号", 逗号\r\n换行', "'\t-1"]
    assert raw.counts.lines == 6 and raw.counts.multiline_records == 2
    with open(path, encoding="utf-8-sig", newline="") as handle:  # newline="": no translation of a bare CR
        assert list(csv.reader(handle))[1:] == raw.frame.values.tolist()
