"""Stage 06_export on a real smoke run (80 synthetic candidates through every upstream stage): outputs, counts
that reconcile, schema, human review, the staging tables, the WeCom outbox in dry run, re-runs, review requests,
another database by URL, and no secret anywhere in the run directory."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

import jsonschema
import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from export_support import PG_URL, service_url

from workbench.errors import ConfigurationError
from workbench.export import (
    pseudonymizer_for_run,
    read_staging,
    record_schema,
    reexport_records,
    verify_batch,
)
from workbench.export._pseudonym import PSEUDONYM_KEY_ENV, STATE_DIR_ENV
from workbench.stages import export as stage

CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]")


@pytest.fixture(scope="module")
def smoke(smoke_run, tmp_path_factory):
    """`workbench run --profile smoke --stage 06_export`: the session's smoke run (through papermill, like a user
    runs it; made without a pseudonym key, so stage 06 used a run-local key), copied with what 06 saw — the stages
    it requires or read (04's candidate feedback), and itself — and with its run-local key. This module re-runs the
    stage and writes reports in the copy only. While the module runs, a
    private state directory (where the copy's run-local key now lives) and no pseudonym key: what a newcomer's
    `make run` sees."""
    from workbench.stages import STAGES

    assert smoke_run.status == "ok"
    source, run_id = smoke_run.run_dir, smoke_run.run_id
    record = json.loads((source / "stages" / "06_export.json").read_text(encoding="utf-8"))
    read = {Path(i["path"]).parts[1] for i in record["inputs"] if Path(i["path"]).parts[0] == "artifacts"}
    left_out = [s.name for s in STAGES if s.name not in {*stage.STAGE.requires, stage.STAGE.name, *read}]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(PSEUDONYM_KEY_ENV, raising=False)
        source_key = pseudonymizer_for_run(source, run_id, synthetic=True)  # the session's state directory
        assert source_key.source == "run_local" and source_key.key_file.is_file()
        copy = tmp_path_factory.mktemp("runs") / source.name
        # each stage's files (stages/, artifacts/, notebooks/, html/) are named after it
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(*(f"{name}*" for name in left_out)))
        mp.setenv(STATE_DIR_ENV, str(tmp_path_factory.mktemp("state")))
        # the run-local key belongs to the run's folder: give the copy the key its records were made with
        target = pseudonymizer_for_run(copy, run_id, synthetic=True).key_file
        target.write_text(source_key.key_file.read_text(encoding="ascii"), encoding="ascii")
        yield copy


def _metrics(run_dir):
    return json.loads((run_dir / "stages" / "06_export.json").read_text(encoding="utf-8"))["metrics"]


def _batch(run_dir):
    return run_dir / "artifacts" / "06_export" / "batches" / _metrics(run_dir)["batch_id"]


def _records(batch_dir):
    with open(batch_dir / "records.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _url(run_dir):
    return f"sqlite:///{run_dir / 'artifacts' / '06_export' / 'staging.sqlite'}"


def _outbox(url):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text("SELECT * FROM wecom_outbox ORDER BY id"), conn)
    finally:
        engine.dispose()


def _run_id(run_dir):
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["run_id"]


def _refs(run_dir):
    """candidate_id → candidate_ref with the run's own (run-local) key, as the stage made them."""
    candidates = pd.read_parquet(run_dir / "artifacts" / "00_intake" / "candidates.parquet")
    keyed = pseudonymizer_for_run(run_dir, _run_id(run_dir), synthetic=True)
    return {c: keyed.pseudonymizer.candidate_ref(c) for c in candidates["candidate_id"].astype(str)}


# ------------------------------------------------------------------------------------------------------------
def test_outputs_exist_counts_reconcile_and_every_record_validates(smoke):
    m = _metrics(smoke)
    candidates = pd.read_parquet(smoke / "artifacts" / "00_intake" / "candidates.parquet")
    batch = _batch(smoke)
    manifest = verify_batch(batch).manifest  # every file matches its sha256
    assert {f["name"] for f in manifest["files"]} == {"records.jsonl", "records.csv", "records.xlsx", "records.parquet", "held_back.csv", "schema.json"}
    c = manifest["counts"]
    assert c["candidates_in"] == len(candidates) == m["candidates_in"] == 80
    assert c["records_out"] + c["held_back"] == c["candidates_in"] and c["reconciled"] and m["reconciled"]
    assert sum(c["decisions"].values()) == c["records_out"]
    records = _records(batch)
    assert len(records) == c["records_out"]
    validator = jsonschema.Draft202012Validator(record_schema(), format_checker=jsonschema.FormatChecker())
    for r in records:
        validator.validate(r)
    held = pd.read_csv(batch / "held_back.csv", encoding="utf-8-sig")
    assert len(held) == c["held_back"]
    # every candidate is in exactly one place: a record or the held-back list
    refs = _refs(smoke)
    assert sorted([r["candidate_ref"] for r in records] + held["candidate_ref"].tolist()) == sorted(refs.values())
    # the other formats hold the same rows; CSV is UTF-8 with BOM
    raw = (batch / "records.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert len(pd.read_csv(batch / "records.csv", encoding="utf-8-sig", dtype=str)) == len(records)
    assert len(pd.read_parquet(batch / "records.parquet")) == len(records)
    sheet = openpyxl.load_workbook(batch / "records.xlsx", read_only=True).active
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) == len(records) + 1  # header + records
    # minimum necessary data: no names, no internal ids in the export
    text = (batch / "records.jsonl").read_text(encoding="utf-8")
    assert not any(name in text for name in candidates["name"].dropna())
    assert not re.search(r"\bC\d{7}\b", text)
    # the stage's own summary files and the report
    for name in ("decisions.parquet", "decision_summary.csv", "funnel.csv", "funnel_alerts.csv", "talent_pool.parquet", "role_suggestions.parquet"):
        assert (smoke / "artifacts" / "06_export" / name).is_file(), name
    assert (smoke / "html" / "06_export.html").is_file()
    assert m["pseudonym_key_source"] == "run_local"


def test_human_routed_borderline_and_requested_candidates_are_decided_by_a_person(smoke):
    records = {r["candidate_ref"]: r for r in _records(_batch(smoke))}
    refs = _refs(smoke)
    answers = pd.read_parquet(smoke / "artifacts" / "03_scoring" / "answer_scores.parquet")
    routed = set(answers.loc[answers["route"] == "human", "candidate_id"].astype(str))
    assert routed, "the smoke cohort should have answers the scorer routes to a person"
    for cid in routed:
        r = records[refs[cid]]
        assert (r["decision"], r["decided_by"], r["hiring_stage"]) == ("human_review", "human", "human_review"), cid
        assert "answer_routed_to_human" in r["review_reasons"]
    decisions = pd.read_parquet(smoke / "artifacts" / "06_export" / "decisions.parquet")
    band = decisions[decisions["distance_to_cut"].abs() <= 2.5]
    assert len(band) and (band["decision"] == "human_review").all() and (band["recommendation"] == "borderline").all()
    for cid in band["candidate_id"]:
        assert records[refs[cid]]["decided_by"] == "human"
    machine = [r for r in records.values() if r["decided_by"] == "machine"]
    assert machine and all(r["decision"] in ("advance", "reject") and not r["review_reasons"] for r in machine)
    # the machine advances only from the top share of each role (ceil(0.2 n))
    scores = pd.read_parquet(smoke / "artifacts" / "03_scoring" / "candidate_scores.parquet")
    for role, g in scores.groupby("role_id"):
        quota = -(-len(g) * 2 // 10)
        top = set(g.sort_values(["machine_overall", "candidate_id"], ascending=[False, True])["candidate_id"].head(quota).astype(str))
        advanced = {cid for cid in g["candidate_id"].astype(str) if records[refs[cid]]["decision"] == "advance"}
        assert advanced <= top, role


def test_staging_tables_and_the_outbox_are_filled_in_dry_run_and_nothing_is_sent(smoke):
    url = _url(smoke)
    staged = read_staging(url)
    records = _records(_batch(smoke))
    assert len(staged["records"]) == len(records) and len(staged["batches"]) == 1
    m = _metrics(smoke)
    outbox = _outbox(url)
    assert len(outbox) == m["wecom.messages_planned"] > 0
    assert set(outbox["status"]) == {"pending"} and (outbox["attempts"] == 0).all() and outbox["sent_at"].isna().all()
    assert set(outbox["kind"]) == {"recruiter_notice", "candidate_result", "batch_summary"}
    assert m["wecom.reconciled"] and m.get("wecom.outbox.sent", 0) == 0
    review = smoke / "artifacts" / "06_export" / "wecom"
    lines = (review / "wecom_outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(outbox)
    payloads = [json.loads(line) for line in lines]
    assert all(p["violations"] == [] for p in payloads)
    candidate = next(p for p in payloads if p["kind"] == "candidate_result")
    assert "专业能力" in candidate["payload"]["text"]["content"]
    # per kind: records in = planned + not planned (reported with a reason, never guessed)
    problems = pd.read_csv(review / "wecom_missing_recipients.csv", encoding="utf-8-sig")
    for kind in ("recruiter_notice", "candidate_result"):
        planned = int((outbox["kind"] == kind).sum())
        assert planned + int((problems["kind"] == kind).sum()) == len(records)
    # the outbox holds WeCom contacts: the run's database and review files are readable by their owner only
    for path in (smoke / "artifacts" / "06_export" / "staging.sqlite", review / "wecom_outbox.jsonl"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_rerunning_the_stage_changes_nothing(smoke):
    url = _url(smoke)
    before = read_staging(url)
    outbox = _outbox(url)
    result = stage.STAGE.execute(run_dir=str(smoke), lang="zh", params=stage.Params())
    assert result.batch.reused and result.load.already_loaded and result.fill.inserted == 0
    after = read_staging(url)
    for name in ("records", "batches", "history"):
        pd.testing.assert_frame_equal(before[name], after[name])
    pd.testing.assert_frame_equal(outbox, _outbox(url))
    assert len(after["batch_log"]) == len(before["batch_log"])


def test_report_reads_in_both_languages_without_personal_data(smoke):
    from workbench.reports import assert_offline

    result = stage.STAGE.execute(run_dir=str(smoke), lang="en", params=stage.Params())
    candidates = pd.read_parquet(smoke / "artifacts" / "00_intake" / "candidates.parquet")
    batches = set(candidates["batch"].dropna())
    for lang in ("zh", "en"):
        page = stage.report(result, lang).to_page()
        assert_offline(page)
        text = re.sub(r"<[^>]+>|data:image/png;base64,[A-Za-z0-9+/=]+", " ", page)
        assert not any(name in text for name in candidates["name"].dropna()), lang
        assert not re.search(r"\bC\d{7}\b|cr_[0-9a-f]{16}", text), lang
        assert "WORKBENCH_PSEUDONYM_KEY" in text  # the loud note about the run-local key
        if lang == "en":
            for batch in batches:  # data values may be Chinese; nothing else may
                text = text.replace(batch, "")
            assert not CJK.search(text), CJK.findall(text)[:20]


def test_no_key_value_anywhere_in_the_run_directory(smoke):
    keyed = pseudonymizer_for_run(smoke, _run_id(smoke), synthetic=True)
    assert keyed.source == "run_local" and keyed.key_file.is_file() and not keyed.key_file.is_relative_to(smoke)
    key = keyed.key_file.read_text(encoding="ascii").strip()
    assert len(key) == 64
    needles = [key.encode(), key.upper().encode(), key.encode("utf-16-le")]
    hits = [p for p in smoke.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles)]
    assert hits == []
    # the key id (a public fingerprint) is what the manifest records
    assert verify_batch(_batch(smoke)).manifest["pseudonym_key_id"] == keyed.key_id


# ---------------------------------------------------------------------------- a copy of the run, with a bank key
@pytest.fixture()
def run_copy(smoke, tmp_path, monkeypatch):
    """The smoke run without its export, exported afresh with WORKBENCH_PSEUDONYM_KEY set."""
    copy = tmp_path / smoke.name
    shutil.copytree(smoke, copy, ignore=shutil.ignore_patterns("06_export*"))
    key = secrets.token_hex(32)
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, key)
    return copy, key


def test_review_requests_and_peoples_moves_survive_a_new_export(run_copy):
    from workbench.export import Pseudonymizer

    run, key = run_copy
    first = stage.STAGE.execute(run_dir=str(run), lang="zh", params=stage.Params())
    assert first.key_source == "environment"
    p = Pseudonymizer(key.encode())
    d = first.decisions.candidates.set_index("candidate_id")
    machine_reject = d[(d["decision"] == "reject")].index.tolist()
    machine_advance = d[(d["decision"] == "advance")].index.tolist()
    asked_in_intake, asked_by_wecom, offered = machine_reject[0], machine_reject[1], machine_advance[0]
    # a request arrives in the intake data, another through WeCom (re-exported into the staging tables), and HR
    # sends an offer to an advanced candidate
    path = run / "artifacts" / "00_intake" / "candidates.parquet"
    candidates = pd.read_parquet(path)
    candidates["human_review_requested"] = ["是" if c == asked_in_intake else None for c in candidates["candidate_id"]]
    candidates.to_parquet(path, index=False)
    url = _url(run)
    reexport_records(url, [p.candidate_ref(asked_by_wecom)], {"hiring_stage": "human_review", "review_reason": "candidate_requested_review"}, event_id="e1")
    reexport_records(url, [p.candidate_ref(offered)], {"hiring_stage": "offer_sent"}, event_id="e2")
    # a new export with another rule: the machine would decide again, but must not
    second = stage.STAGE.execute(run_dir=str(run), lang="zh", params=stage.Params(advance_top_share=0.3))
    assert not second.batch.reused and second.requests == {"intake": 1, "staging": 1, "wecom": 0}
    records = {r["candidate_ref"]: r for r in _records(second.batch.path)}
    for cid in (asked_in_intake, asked_by_wecom):
        r = records[p.candidate_ref(cid)]
        assert (r["decision"], r["decided_by"]) == ("human_review", "human") and "candidate_requested_review" in r["review_reasons"]
    staged = read_staging(url)["records"].set_index("candidate_ref")  # one application each: one row per reference
    assert staged.at[p.candidate_ref(offered), "hiring_stage"] == "offer_sent"  # HR's move is kept
    assert staged.at[p.candidate_ref(offered), "hiring_stage_updated_at"] and second.load.kept_stage_moves == 2
    assert staged.at[p.candidate_ref(asked_by_wecom), "hiring_stage"] == "human_review"
    # the bank key never lands in the run directory
    hits = [f for f in run.rglob("*") if f.is_file() and key.encode() in f.read_bytes()]
    assert hits == []


def test_real_data_without_a_key_is_refused_and_db_url_env_takes_a_name(run_copy, monkeypatch):
    run, _ = run_copy
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    record = run / "stages" / "00_intake.json"
    info = json.loads(record.read_text(encoding="utf-8"))
    info["params"]["data_dir"] = "/bank/2026-autumn"
    record.write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=PSEUDONYM_KEY_ENV):
        stage.STAGE.execute(run_dir=str(run), params=stage.Params())
    assert not (run / "artifacts" / "06_export" / "batches").exists()
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, secrets.token_hex(32))
    secret_url = "postgresql+psycopg://postgres:hunter2-secret@127.0.0.1:5432/test"
    with pytest.raises(ConfigurationError) as excinfo:
        stage.STAGE.execute(run_dir=str(run), params=stage.Params(db_url_env=secret_url))
    assert "hunter2" not in str(excinfo.value) and "NAME" in str(excinfo.value)
    with pytest.raises(ConfigurationError, match="WB_TEST_UNSET_URL"):
        stage.STAGE.execute(run_dir=str(run), params=stage.Params(db_url_env="WB_TEST_UNSET_URL"))


def test_another_database_by_url_from_the_environment(run_copy, monkeypatch):
    """PostgreSQL (trust authentication: the password in the URL is accepted and ignored), loaded by URL from an
    environment variable; the password appears nowhere in the run or the report."""
    run, _ = run_copy
    password = "pw-" + secrets.token_hex(8)
    url = service_url(PG_URL.replace("postgres@", f"postgres:{password}@"))
    prefix = f"s06{secrets.token_hex(3)}_"
    monkeypatch.setenv("WB_TEST_STAGING_URL", url)
    params = stage.Params(db_url_env="WB_TEST_STAGING_URL", table_prefix=prefix, wecom_outbox=False)
    try:
        result = stage.STAGE.execute(run_dir=str(run), lang="zh", params=params)
        again = stage.STAGE.execute(run_dir=str(run), lang="zh", params=params)
        staged = read_staging(url, table_prefix=prefix)
        assert len(staged["records"]) == result.batch.counts["records_out"] == result.load.inserted
        assert again.load.already_loaded
        assert password not in result.database and "***" in result.database
        pages = [stage.report(result, lang).to_page() for lang in ("zh", "en")]
        assert not any(password in page for page in pages)
        hits = [f for f in run.rglob("*") if f.is_file() and password.encode() in f.read_bytes()]
        assert hits == []
        assert not (run / "artifacts" / "06_export" / "staging.sqlite").exists()
    finally:
        from workbench.export._staging import _tables

        engine = sa.create_engine(url)
        _tables(prefix).metadata.drop_all(engine)
        engine.dispose()


# --------------------------------------------------------------------------------------------- fast unit tests
def test_review_request_column_is_read_strictly():
    from workbench.decisions import requested_reviews
    from workbench.errors import DataError

    frame = pd.DataFrame({"candidate_id": ["a", "b", "c", "d", "e"], "human_review_requested": ["是", "否", None, True, " yes "]})
    assert requested_reviews(frame) == {"a", "d", "e"}
    with pytest.raises(DataError, match="row 1.*'maybe'"):
        requested_reviews(pd.DataFrame({"candidate_id": ["a", "b"], "human_review_requested": ["否", "maybe"]}))
    assert requested_reviews(pd.DataFrame({"candidate_id": ["a"]})) == set()


def test_run_local_key_only_for_synthetic_runs_stable_private_and_outside_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ConfigurationError, match=f"{PSEUDONYM_KEY_ENV}.*real data"):
        pseudonymizer_for_run(run, "r1", synthetic=False)
    with pytest.raises(ConfigurationError, match=PSEUDONYM_KEY_ENV):
        pseudonymizer_for_run(run, "r1", synthetic=True, allow_run_local=False)
    a = pseudonymizer_for_run(run, "r1", synthetic=True)
    b = pseudonymizer_for_run(run, "r1", synthetic=True)
    assert a.source == "run_local" and a.key_id == b.key_id and a.pseudonymizer.candidate_ref("C1") == b.pseudonymizer.candidate_ref("C1")
    assert a.key_file.stat().st_mode & 0o077 == 0 and not a.key_file.is_relative_to(run)
    other = tmp_path / "other"
    other.mkdir()
    assert pseudonymizer_for_run(other, "r1", synthetic=True).key_id != a.key_id  # another run, another key
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, secrets.token_hex(32))
    assert pseudonymizer_for_run(run, "r1", synthetic=True).source == "environment"  # a set key always wins


def test_rule_text_and_staging_url(tmp_path, monkeypatch):
    assert stage.rule_text("professional>=p70&>=60;culture<=p30", "en") == (
        "Professional competence at or above the role's 70th percentile and at least 60; Culture fit at or below the role's 30th percentile")
    assert stage.rule_text("something else", "zh") == "something else"
    url, source = stage.staging_url(tmp_path, "")
    assert source == "run_sqlite" and url.endswith("artifacts/06_export/staging.sqlite")
    monkeypatch.setenv("WB_TEST_URL", "sqlite:////x/y.sqlite")
    assert stage.staging_url(tmp_path, "WB_TEST_URL") == ("sqlite:////x/y.sqlite", "environment")


def test_inbound_wecom_events_move_the_staged_records_end_to_end(smoke, tmp_path, capsys):
    """Issue 14: after a run, events arriving from WeCom (here the bank's CSV export of them, through the CLI) are
    checked by the ledger, applied once, and re-exported into the run's staging tables — replays change nothing,
    a move the hiring model forbids changes nothing, and the outbox database holds both."""
    from workbench.cli import main

    run = tmp_path / smoke.name
    shutil.copytree(smoke, run)
    url = _url(run)
    staged = read_staging(url)["records"].set_index("candidate_ref")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ledger = pd.read_sql(sa.text("SELECT candidate_ref, stage FROM wecom_candidates"), conn).set_index("candidate_ref")["stage"]
    engine.dispose()
    waiting = [ref for ref in staged.index if staged.at[ref, "hiring_stage"] == "awaiting_hr_interview" and ledger.get(ref) == "awaiting_hr_interview"]
    rejected = [ref for ref in staged.index if staged.at[ref, "hiring_stage"] == "rejected" and ref in ledger.index]
    assert waiting and rejected, "the smoke run should have advanced and rejected candidates in both the records and the ledger"
    advanced, refused = waiting[0], rejected[0]
    events = tmp_path / "events.csv"
    rows = ["candidate_ref,to_stage,occurred_at,actor,event_id,note",
            f"{advanced},offer_sent,2026-11-20 10:00,hr_li,ev-1,电话通知",
            f"{advanced},offer_sent,2026-11-20 10:00,hr_li,ev-1,重复推送",
            f"{refused},onboarded,2026-11-21 10:00,hr_li,ev-2,跳步"]
    events.write_bytes("\r\n".join(rows).encode("gbk"))  # the bank's export tool writes GBK with CRLF
    assert main(["--lang", "en", "callback", "csv", str(events), "--run", str(run)]) == 0
    out = capsys.readouterr().out
    assert "3 read, 1 applied, 1 duplicate, 1 rejected" in out and "re-export: 0" in out
    after = read_staging(url)["records"].set_index("candidate_ref")
    assert after.at[advanced, "hiring_stage"] == "offer_sent" and after.at[advanced, "hiring_stage_updated_at"]
    assert after.at[refused, "hiring_stage"] == "rejected"  # the forbidden jump changed nothing
    untouched = [r for r in staged.index if r not in (advanced,)]
    assert (after.loc[untouched, "hiring_stage"] == staged.loc[untouched, "hiring_stage"]).all()
    # importing the same file again changes nothing
    assert main(["--lang", "en", "callback", "csv", str(events), "--run", str(run)]) == 0
    assert "0 applied" in capsys.readouterr().out
    pd.testing.assert_frame_equal(read_staging(url)["records"].set_index("candidate_ref").drop(columns=["hiring_stage_updated_at"], errors="ignore"),
                                  after.drop(columns=["hiring_stage_updated_at"], errors="ignore"))


def test_pass_rates_near_the_alert_line_are_not_rounded_onto_it():
    """The funnel alert fires below 30 %: a pass rate of 29.6 % shown as "30%" beside the alert would contradict it."""
    from workbench.stages.export import _pct

    assert _pct(0.296) == "29.6%" and _pct(0.3) == "30.0%" and _pct(None) == "—"
