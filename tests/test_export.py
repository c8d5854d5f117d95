"""Export batches: schema, formats, spreadsheet safety, rare characters, counts, atomicity, diff, CLI."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from export_support import RARE_NAMES, corpus_names, make_cohort, new_key, scored_tables, write_run_dir
from jsonschema import Draft202012Validator

from workbench._hashing import sha256_file
from workbench.cli import main
from workbench.decisions import DecisionRule
from workbench.errors import DataError
from workbench.export import (
    ExportConfig,
    Pseudonymizer,
    build_export_batch,
    iter_records,
    read_batch,
    read_staging,
    record_schema,
    validate_record,
    verify_batch,
)
from workbench.export._diff import diff_batches

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
RARE_ANSWER = "我叫张𠀀，朋友叫李䶮😀；=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("export-cohort"))


@pytest.fixture(scope="module")
def pseudonymizer():
    return Pseudonymizer(new_key().encode())


@pytest.fixture(scope="module")
def rare_tables(cohort):
    tables = scored_tables(cohort, names=RARE_NAMES)
    answers = tables.answers.copy()
    first = tables.candidates["candidate_id"].iloc[0]
    idx = answers.index[(answers["candidate_id"] == first) & (answers["status"] == "answered")][0]
    answers.loc[idx, "answer_text"] = RARE_ANSWER
    return type(tables)(**{**tables.__dict__, "answers": answers})


def test_schema_is_a_valid_2020_12_schema_and_the_cli_prints_it(capsys):
    Draft202012Validator.check_schema(record_schema())
    assert main(["export", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == record_schema()


def test_every_record_validates_counts_reconcile_and_no_personal_data_by_default(cohort, pseudonymizer, tmp_path):
    tables = scored_tables(cohort)
    dropped = tables.candidate_scores["candidate_id"].iloc[:5].tolist()
    tables = type(tables)(**{**tables.__dict__, "candidate_scores": tables.candidate_scores.iloc[5:]})
    batch = build_export_batch(tables, tmp_path, pseudonymizer=pseudonymizer, config=ExportConfig(chunk_size=37))
    c = batch.counts
    assert c["candidates_in"] == len(tables.candidates) == c["records_out"] + c["held_back"]
    assert c["held_back_by_reason"] == {"not_scored": 5} and c["reconciled"]
    held = batch.held_back()
    assert sorted(held["candidate_ref"]) == sorted(pseudonymizer.candidate_ref(cid) for cid in dropped)
    records = list(iter_records(batch.path))
    assert len(records) == c["records_out"] == len({r["idempotency_key"] for r in records})
    for record in records:
        validate_record(record)
        assert "personal_data" not in record
        assert record["completed_at"].endswith("+08:00") and record["exported_at"].endswith("+08:00")
        assert {s["code"] for s in record["sub_scores"] if s["kind"] == "dimension"} == {"professional", "general", "culture"}
        assert record["population_size"] >= (record["rank"] or 0)
    assert sum(c["decisions"].values()) == c["records_out"]
    with pytest.raises(DataError, match="at decision"):
        validate_record({**records[0], "decision": "maybe"})
    with pytest.raises(DataError, match="name"):
        validate_record({**records[0], "name": "张三"})  # nothing outside the schema, personal data least of all
    # a record found valid once is not validated again (the staging loader re-reads what the writer checked) …
    from workbench.export import _schema

    calls = []
    validator = _schema.record_validator()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_schema, "record_validator", lambda: calls.append(1) or validator)
        validate_record(json.loads(json.dumps(records[1])))
        assert calls == []
        # … but only the same JSON values: a tuple where the schema wants an array is checked, and rejected
        with pytest.raises(DataError, match="review_reasons"):
            validate_record({**records[1], "review_reasons": tuple(records[1]["review_reasons"])})
        assert calls == [1]
    # minimum necessary data: no name, no raw id, no answer text in any file of the batch
    blob = b"".join(p.read_bytes() for p in batch.path.iterdir())
    for name in tables.candidates["name"].dropna().head(50):
        assert name.encode() not in blob
    assert tables.candidates["candidate_id"].iloc[10].encode() not in blob
    text = tables.answers.loc[tables.answers["answer_text"].str.len() > 30, "answer_text"].iloc[0]
    assert text[:20].encode() not in blob
    # manifest: counts, sha256 per file, schema version, source run and model
    m = batch.manifest
    assert m["schema_version"] == "1.0.0" and m["source"]["run_id"] == "test-run" and m["source"]["model"]["sha256"] == "ab" * 32
    for entry in m["files"]:
        assert sha256_file(batch.path / entry["name"]) == entry["sha256"]
    assert {e["kind"] for e in m["files"]} == {"jsonl", "csv", "xlsx", "parquet", "held_back", "schema"}


def _csv_cells(path: Path, encoding: str) -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("encoding,read_as", [("utf-8", "utf-8-sig"), ("gb18030", "gb18030")])
def test_rare_characters_survive_every_format_and_formulas_are_neutralised(rare_tables, pseudonymizer, tmp_path, encoding, read_as):
    config = ExportConfig(include_personal=("candidate_id", "name", "answers"), csv_encoding=encoding, chunk_size=50)
    batch = build_export_batch(rare_tables, tmp_path, pseudonymizer=pseudonymizer, config=config)
    first = rare_tables.candidates["candidate_id"].iloc[0]
    expected = dict(zip(rare_tables.candidates["candidate_id"], rare_tables.candidates["name"]))
    # JSON Lines: the values exactly
    records = {r["personal_data"]["candidate_id"]: r for r in iter_records(batch.path)}
    for cid, name in list(expected.items())[: len(RARE_NAMES)]:
        assert records[cid]["personal_data"]["name"] == name
    assert RARE_ANSWER in [a["text"] for a in records[first]["personal_data"]["answers"]]
    # Parquet: the values exactly (a machine format: nothing neutralised)
    parquet = pd.read_parquet(batch.path / "records.parquet").set_index("candidate_id")
    for cid, name in list(expected.items())[: len(RARE_NAMES)]:
        assert parquet.at[cid, "name"] == name
    assert RARE_ANSWER in parquet.at[first, "answers"]
    # CSV and XLSX: the same text, formula triggers prefixed with a quote, nothing else changed
    raw = (batch.path / "records.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8")
    rows = _csv_cells(batch.path / "records.csv", read_as)
    header, body = rows[0], rows[1:]
    assert len(body) == batch.counts["records_out"]
    by_id = {r[header.index("candidate_id")]: r for r in body}
    from openpyxl import load_workbook

    sheet = load_workbook(batch.path / "records.xlsx", read_only=False)["records"]
    xlsx_header = [c.value for c in sheet[1]]
    xlsx_by_id = {row[xlsx_header.index("candidate_id")].value: row for row in sheet.iter_rows(min_row=2)}
    for cid, name in list(expected.items())[: len(RARE_NAMES)]:
        shown = "'" + name if name.startswith(TRIGGERS) else name
        assert by_id[cid][header.index("name")] == shown
        cell = xlsx_by_id[cid][xlsx_header.index("name")]
        # XML (and so XLSX) normalises a carriage return to a line feed when the file is read; nothing else changes
        assert cell.value == shown.replace("\r", "\n") and cell.data_type == "s"
    assert "张𠀀" in by_id[first][header.index("answers")] and "😀" in by_id[first][header.index("answers")]
    # no cell anywhere starts with something a spreadsheet would evaluate
    for row in body:
        for value in row:
            assert not value.startswith(TRIGGERS), value
    for row in sheet.iter_rows(min_row=1):
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                assert not cell.value.startswith(TRIGGERS), cell.value


@pytest.mark.parametrize("encoding,read_as", [("utf-8", "utf-8-sig"), ("gb18030", "gb18030")])
def test_every_character_of_a_real_corpus_survives_every_format(cohort, pseudonymizer, tmp_path, encoding, read_as):
    names = corpus_names(200)
    tables = scored_tables(cohort, names=names)
    batch = build_export_batch(tables, tmp_path, pseudonymizer=pseudonymizer,
                               config=ExportConfig(include_personal=("candidate_id", "name"), csv_encoding=encoding))
    expected = dict(zip(tables.candidates["candidate_id"][: len(names)], names))
    total = sum(map(len, names))
    assert total > 12_000
    got = {
        "jsonl": {r["personal_data"]["candidate_id"]: r["personal_data"]["name"] for r in iter_records(batch.path)},
        "parquet": dict(pd.read_parquet(batch.path / "records.parquet")[["candidate_id", "name"]].itertuples(index=False)),
    }
    rows = _csv_cells(batch.path / "records.csv", read_as)
    got["csv"] = {r[rows[0].index("candidate_id")]: r[rows[0].index("name")] for r in rows[1:]}
    from openpyxl import load_workbook

    sheet = load_workbook(batch.path / "records.xlsx", read_only=True)["records"]
    xrows = list(sheet.iter_rows(values_only=True))
    got["xlsx"] = {r[xrows[0].index("candidate_id")]: r[xrows[0].index("name")] for r in xrows[1:]}
    for fmt, values in got.items():
        spreadsheet = fmt in ("csv", "xlsx")
        for cid, name in expected.items():
            want = "'" + name if spreadsheet and name.startswith(TRIGGERS) else name
            assert values[cid] == want, (fmt, cid)


def test_a_character_no_encoding_can_hold_fails_loudly_and_leaves_no_batch(rare_tables, pseudonymizer, tmp_path):
    candidates = rare_tables.candidates.copy()
    candidates.loc[candidates.index[3], "name"] = "坏\ud800字"  # a lone surrogate: not a character at all
    tables = type(rare_tables)(**{**rare_tables.__dict__, "candidates": candidates})
    with pytest.raises(DataError, match="candidates: row 4 column 'name'.*U\\+D800"):
        build_export_batch(tables, tmp_path, pseudonymizer=pseudonymizer, config=ExportConfig(include_personal=("name",), csv_encoding="gb18030"))
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_same_inputs_give_the_same_batch_which_is_not_rewritten(cohort, pseudonymizer, tmp_path):
    tables = scored_tables(cohort)
    a = build_export_batch(tables, tmp_path, pseudonymizer=pseudonymizer)
    before = {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in a.path.iterdir()}
    b = build_export_batch(tables, tmp_path, pseudonymizer=pseudonymizer)
    assert b.reused and b.batch_id == a.batch_id
    assert {p.name: (p.stat().st_mtime_ns, sha256_file(p)) for p in b.path.iterdir()} == before
    # another rule is another batch
    c = build_export_batch(tables, tmp_path, pseudonymizer=pseudonymizer, config=ExportConfig(rule=DecisionRule(cut_score=60)))
    assert c.batch_id != a.batch_id and not c.reused
    # a modified file is detected before the batch is used again
    (a.path / "records.csv").write_text("tampered", encoding="utf-8")
    with pytest.raises(Exception, match="does not match its manifest"):
        build_export_batch(tables, tmp_path, pseudonymizer=pseudonymizer)


_KILL_SCRIPT = r"""
import sys, time
sys.path.insert(0, {tests!r})
from pathlib import Path
from export_support import make_cohort, scored_tables
from workbench.export import ExportConfig, Pseudonymizer, build_export_batch
from workbench.export import _writers

original = _writers.BatchFileWriter.write
def slow_write(self, records, flat_rows):
    original(self, records, flat_rows)
    self._handles["jsonl"].flush()
    print("CHUNK", flush=True)
    time.sleep(60)
_writers.BatchFileWriter.write = slow_write
tables = scored_tables(make_cohort(Path({cohort!r})))
build_export_batch(tables, Path({out!r}), pseudonymizer=Pseudonymizer({key!r}.encode()), config=ExportConfig(chunk_size=40))
"""


@pytest.mark.slow
def test_an_export_killed_midway_leaves_the_previous_state_and_a_rerun_completes_it(tmp_path):
    cohort_dir = tmp_path / "cohorts"
    tables = scored_tables(make_cohort(cohort_dir))
    key = new_key()
    pseudo = Pseudonymizer(key.encode())
    out = tmp_path / "batches"
    previous = build_export_batch(tables, out, pseudonymizer=pseudo, config=ExportConfig(rule=DecisionRule(cut_score=55), chunk_size=40))
    script = _KILL_SCRIPT.format(tests=str(Path(__file__).parent), cohort=str(cohort_dir), out=str(out), key=key)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "CHUNK", proc.stderr.read()
        partial = [p for p in out.iterdir() if ".partial-" in p.name]
        assert len(partial) == 1 and (partial[0] / "records.jsonl").stat().st_size > 0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    finals = sorted(p.name for p in out.iterdir() if p.name.startswith("eb-"))
    assert finals == [previous.batch_id]  # nothing under a final name from the killed run
    verify_batch(previous.path)
    done = build_export_batch(tables, out, pseudonymizer=pseudo, config=ExportConfig(chunk_size=40))
    assert not done.reused and done.counts["reconciled"]
    assert not [p for p in out.iterdir() if ".partial-" in p.name]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("eb-")) == sorted([previous.batch_id, done.batch_id])
    verify_batch(done.path)


def test_diff_is_the_data_comparison_table(cohort, pseudonymizer, tmp_path):
    old = scored_tables(cohort, model_sha="ab" * 32, model_version="v1")
    new = scored_tables(cohort, seed=4, model_sha="cd" * 32, model_version="v2")  # re-scored by another model
    new = type(new)(**{**new.__dict__, "candidate_scores": new.candidate_scores.iloc[3:]})  # three not scored this time
    a = build_export_batch(old, tmp_path, pseudonymizer=pseudonymizer)
    b = build_export_batch(new, tmp_path, pseudonymizer=pseudonymizer)
    d = diff_batches(a.path, b.path)
    assert d.summary["records_a"] == a.counts["records_out"] and d.summary["records_b"] == b.counts["records_out"]
    assert d.summary["removed"] == 3 and d.summary["added"] == 0
    assert set(d.batch_changes["field"]) >= {"model.sha256", "model.version"}
    changed = d.table[d.table["change"] == "changed"]
    assert "overall_score" in set(changed["field"])
    ref = changed.iloc[0]["candidate_ref"]
    ra = next(r for r in iter_records(a.path) if r["candidate_ref"] == ref)
    rb = next(r for r in iter_records(b.path) if r["candidate_ref"] == ref)
    row = changed[(changed["candidate_ref"] == ref) & (changed["field"] == "overall_score")]
    if len(row):
        assert row.iloc[0]["old"] == ra["overall_score"] and row.iloc[0]["new"] == rb["overall_score"]
    assert not set(changed["field"]) & {"exported_at", "export_batch_id", "idempotency_key", "record_id"}
    assert "<table>" in d._repr_html_()
    same = diff_batches(a.path, a.path)
    assert len(same.table) == 0 and same.summary["unchanged"] == a.counts["records_out"]


def test_cli_exports_loads_diffs_and_rolls_back_a_run(cohort, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", new_key())
    run_dir = write_run_dir(scored_tables(cohort, run_id="20261201-000000-cli-0001"), tmp_path / "run")
    assert main(["export", "--run", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "已写入导出批次" in out and "已载入" in out
    batch_dir = next((run_dir / "artifacts" / "06_export" / "batches").glob("eb-*"))
    db = f"sqlite:///{run_dir / 'artifacts' / '06_export' / 'staging.sqlite'}"
    state = read_staging(db)
    assert len(state["records"]) == read_batch(batch_dir).counts["records_out"]
    assert main(["export", "load", str(batch_dir), "--db", db]) == 0
    assert "已载入该批次" in capsys.readouterr().out
    assert main(["--lang", "en", "export", "--run", str(run_dir), "--cut-score", "60", "--no-load"]) == 0
    assert "Export batch" in capsys.readouterr().out
    other = next(p for p in (run_dir / "artifacts" / "06_export" / "batches").glob("eb-*") if p != batch_dir)
    assert main(["export", "diff", str(batch_dir), str(other), "--csv", str(tmp_path / "diff.csv")]) == 0
    diff = pd.read_csv(tmp_path / "diff.csv", encoding="utf-8-sig")
    assert len(diff) > 0 and {"candidate_ref", "field", "old", "new"} <= set(diff.columns)
    assert main(["export", "rollback", batch_dir.name, "--db", db]) == 0
    assert "已回滚" in capsys.readouterr().out
    assert len(read_staging(db)["records"]) == 0
    assert main(["export", "rollback", batch_dir.name, "--db", db]) == 2  # no longer loaded: a clear error
    assert "no such batch" in capsys.readouterr().err


def test_the_csv_writer_names_the_cell_it_cannot_encode(tmp_path):
    from workbench.export._writers import BatchFileWriter

    writer = BatchFileWriter(tmp_path, formats=("csv",), columns=["candidate_ref", "name"], csv_encoding="gb18030")
    writer.write([{}], [{"candidate_ref": "cr_1", "name": "张𠀀"}])
    with pytest.raises(DataError, match=r"records.csv: row 3 column 'name'.*U\+DC80.*refuses to replace"):
        writer.write([{}, {}], [{"candidate_ref": "cr_2", "name": "李䶮"}, {"candidate_ref": "cr_3", "name": "坏\udc80"}])
    writer.abort()


def test_scores_for_candidates_missing_from_intake_are_an_error_not_dropped(cohort, pseudonymizer, tmp_path):
    tables = scored_tables(cohort)
    extra = tables.candidate_scores.iloc[:1].assign(candidate_id="C9999999")
    tables = type(tables)(**{**tables.__dict__, "candidate_scores": pd.concat([tables.candidate_scores, extra], ignore_index=True)})
    with pytest.raises(DataError, match="C9999999"):
        build_export_batch(tables, tmp_path, pseudonymizer=pseudonymizer)
    assert not list(tmp_path.glob("eb-*"))
