"""Recipients as data, planning, and the outbox in SQLite, PostgreSQL and MariaDB (idempotent filling,
compare-and-set claims, 𠀀 and emoji round trips)."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import IN_CI
from wecom_fake import make_records
from workbench.errors import ConfigurationError
from workbench.intake import resolve_sources, run_intake
from workbench.synth import generate_cohort, scenario_config
from workbench.wecom import ManualClock, Outbox, StageLedger, fill_outbox, load_recipients, plan_messages
from workbench.wecom._store import CANDIDATES, METADATA, OUTBOX

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4",
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("wecom") / "cohort"
    generate_cohort(scenario_config("fair", seed=11, n_candidates=400, employees_per_role=5), out)
    return out


def _records_from_cohort(cohort) -> list[dict]:
    """Export-shaped records for the synthetic cohort (scores made up; the real ones come from the export)."""
    cand = pd.read_csv(cohort / "candidates.csv", keep_default_na=False)
    recs = []
    for i, row in enumerate(cand.itertuples()):
        recs.append({"candidate_ref": f"ref-{row.candidate_id}", "role_id": row.role_id, "site": row.site, "hiring_stage": "ai_interview_done",
                     "dimension_scores": {"professional": 50 + i % 50, "general": 60, "culture": 70}, "role_mean": 65,
                     "feedback_suggestions": ["建议量化结果"], "wecom_external_userid": row.wecom_external_userid or None})
    return recs


# ------------------------------------------------------------------------------------------------ recipients
def test_synthetic_cohort_fills_recipients_and_contacts_and_passes_intake(cohort):
    result = run_intake(resolve_sources(cohort))
    assert result.reconciled and result.quarantine.empty
    cand = result.tables["candidates"]
    share = cand["wecom_external_userid"].notna().mean()
    assert 0.8 < share < 0.95  # most, not all: the missing ones must be reported
    directory = load_recipients(cohort, role_ids=set(result.dictionary.roles))
    assert directory.reconciled and directory.quarantine.empty
    assert set(directory.mappings["role_id"]) == set(result.dictionary.roles)


def test_recipient_table_problems_are_quarantined_with_reasons(tmp_path):
    path = tmp_path / "wecom_recipients.csv"
    rows = ["role_id,site,requisition_id,wecom_userid,recruiter_name", "teller,,,hr_li,李明", "teller,北京分行,,hr_bj,王芳",
            "teller,北京分行,REQ-7,hr_req7,赵丽", "teller,,,hr_li,重复", "nosuchrole,,,hr_x,某", "teller,,,bad id!,某", "teller,,,,缺"]
    path.write_bytes("\n".join(rows).encode("gb18030"))  # what an HR spreadsheet export looks like
    d = load_recipients(path, role_ids={"teller"})
    reasons = dict(zip(d.quarantine["row"], d.quarantine["reason_code"]))
    assert reasons == {5: "duplicate_key", 6: "unknown_reference", 7: "not_allowed", 8: "missing_value"}
    assert d.reconciled and len(d.mappings) == 3
    assert d.recruiters_for("teller", site="北京分行", requisition_id="REQ-7") == ("hr_req7",)
    assert d.recruiters_for("teller", site="北京分行", requisition_id="REQ-8") == ("hr_bj",)
    assert d.recruiters_for("teller", site="上海分行") == ("hr_li",)
    assert d.recruiters_for("risk_manager") == ()
    (tmp_path / "empty").mkdir()
    assert load_recipients(tmp_path / "empty") is None  # the table is optional


def test_plan_reports_missing_mappings_and_reconciles(cohort):
    directory = load_recipients(cohort)
    records = _records_from_cohort(cohort) + [{"candidate_ref": "bad-1", "role_id": "teller", "hiring_stage": "ai_interview_done",
                                               "dimension_scores": {"professional": 140}}, {"candidate_ref": "bad-2", "role_id": "teller",
                                               "hiring_stage": "hired", "dimension_scores": {"professional": 50}}]
    plan = plan_messages(records, recipients=directory)
    counts = plan.counts()
    assert plan.reconciled, counts
    reasons = plan.problems.groupby(["kind", "reason_code"]).size().to_dict()
    assert reasons[("record", "bad_score")] == 1 and reasons[("record", "unknown_stage")] == 1
    unmapped = [r for r in records[:-2] if r["role_id"] == "fintech_developer" and r["site"] not in ("北京分行", "上海分行")]
    assert reasons.get(("recruiter_notice", "no_recruiter_mapping"), 0) == len(unmapped) > 0
    no_contact = sum(1 for r in records[:-2] if not r["wecom_external_userid"] and r not in unmapped)
    assert reasons[("candidate_result", "no_external_userid")] == no_contact
    # no guessing: an unmapped candidate gets no message at all
    refs = {m.candidate_ref for m in plan.messages}
    assert not refs & {r["candidate_ref"] for r in unmapped}


def test_fill_outbox_is_idempotent_and_writes_review_files(tmp_path, cohort):
    db = f"sqlite:///{tmp_path / 'staging.sqlite'}"
    records = _records_from_cohort(cohort)
    first = fill_outbox(records, db, review_dir=tmp_path / "review", run_id="run-1", recipients=load_recipients(cohort), clock=ManualClock())
    assert first.inserted == len(first.plan.messages) > 0 and first.already_queued == 0
    again = fill_outbox(records, db, review_dir=tmp_path / "review2", run_id="run-1", recipients=load_recipients(cohort), clock=ManualClock())
    assert again.inserted == 0 and again.already_queued == len(first.plan.messages)
    lines = (tmp_path / "review" / "wecom_outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == first.inserted
    item = json.loads(lines[0])
    assert item["status"] == "pending" and item["violations"] == [] and item["payload"]
    assert "agentid" not in lines[0]  # configuration is added when sending, never stored
    missing = pd.read_csv(tmp_path / "review" / "wecom_missing_recipients.csv", encoding="utf-8-sig")
    assert len(missing) == len(first.plan.problems)
    assert first.metrics()["wecom.reconciled"] is True


def test_changed_content_or_recipient_is_a_new_message_same_content_is_not(tmp_path):
    db = f"sqlite:///{tmp_path / 'o.sqlite'}"
    recs = make_records(3)
    fill_outbox(recs, db, review_dir=None, clock=ManualClock())
    recs[0]["dimension_scores"]["general"] = 11  # a corrected score is a new message
    recs[1]["recruiter_ids"] = ["hr_new"]  # a new recruiter should hear about it too
    r = fill_outbox(recs, db, review_dir=None, clock=ManualClock())
    assert r.inserted == 3  # c0: recruiter notice + candidate task; c1: only the notice to hr_new
    # (the candidate's own message is the same whoever sends it: no second copy of the same result)


def test_register_keeps_a_later_stage_from_being_undone(tmp_path):
    db = f"sqlite:///{tmp_path / 'o.sqlite'}"
    ledger = StageLedger(db, clock=ManualClock())
    contact = {"candidate_ref": "c1", "role_id": "teller", "stage": "ai_interview_done", "recruiter_ids": ["hr_li"]}
    assert ledger.register([contact])["inserted"] == 1
    assert ledger.register([{**contact, "stage": "awaiting_hr_interview"}])["updated"] == 1
    assert ledger.register([contact])["stage_conflict"] == 1  # an old export cannot move the candidate back
    assert ledger.stage_of("c1") == "awaiting_hr_interview"
    assert list(ledger.history("c1")["to_stage"]) == ["awaiting_hr_interview"]


def test_bad_database_url_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match="SQLAlchemy URL"):
        Outbox("not a url")
    with pytest.raises(ConfigurationError, match="cannot open"):
        Outbox(f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite'}")


# ------------------------------------------------------------------------------------------------ servers
def _server_engine(name: str):
    try:
        engine = sa.create_engine(SERVERS[name])
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001
        if IN_CI:
            raise
        pytest.skip(f"{name} not reachable: {exc}")
    return engine


@pytest.mark.parametrize("server", ["sqlite", "postgresql", "mariadb"])
def test_outbox_on_each_database(server, tmp_path):
    if server == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'o.sqlite'}")
    else:
        engine = _server_engine(server)
        METADATA.drop_all(engine)  # a clean slate in the shared test database
    try:
        clock = ManualClock()
        recs = make_records(5)
        recs[0]["feedback_suggestions"] = ["姓名张𠀀䶮·😀 的回答需要量化"]
        first = fill_outbox(recs, engine, review_dir=None, clock=clock, run_id=f"r-{uuid.uuid4().hex[:6]}")
        second = fill_outbox(recs, engine, review_dir=None, clock=clock)
        assert first.inserted == 10 and second.inserted == 0
        outbox = Outbox(engine)
        with engine.connect() as c:
            assert c.execute(sa.select(sa.func.count()).select_from(OUTBOX)).scalar_one() == 10
            assert c.execute(sa.select(sa.func.count()).select_from(CANDIDATES)).scalar_one() == 5
            payloads = [r.payload for r in c.execute(sa.select(OUTBOX.c.payload))]
        assert any("张𠀀䶮·😀" in p for p in payloads)  # 4-byte characters survive (utf8mb4 on MariaDB)
        row = outbox.due(clock.time())[0]
        assert outbox.claim(row.id, "host:1:a", clock.time()) is True
        assert outbox.claim(row.id, "host:2:b", clock.time()) is False  # compare-and-set: one claimant wins
        assert outbox.mark_sent(row.id, "host:2:b", now=clock.time(), msgid="m", recipient_results={}) is False
        assert outbox.mark_sent(row.id, "host:1:a", now=clock.time(), msgid="m", recipient_results={"hr_li": "ok"}) is True
        summary = outbox.summary(clock.time())
        assert summary.counts == {"pending": 9, "sending": 0, "sent": 1, "failed": 0}
    finally:
        if server != "sqlite":
            METADATA.drop_all(engine)
        engine.dispose()




def test_changed_card_gets_a_new_task_id(tmp_path):
    from workbench.wecom import plan_messages

    recs = make_records(1, stage="offer_sent")
    a = plan_messages(recs).messages[0]
    recs[0]["overall_score"] = 12  # only the overall score changes
    b = plan_messages(recs).messages[0]
    assert a.payload["template_card"]["task_id"] != b.payload["template_card"]["task_id"]
    assert plan_messages(make_records(1, stage="offer_sent")).messages[0].payload == a.payload  # deterministic


def test_notify_finds_the_outbox_of_a_run(tmp_path):
    from workbench.wecom._cli import STAGING_DB, resolve_db

    run = tmp_path / "20261201-000000-smoke-abcd"
    (run / STAGING_DB).parent.mkdir(parents=True)
    with pytest.raises(ConfigurationError, match="export stage first"):
        resolve_db(str(run), None)
    fill_outbox(make_records(1), f"sqlite:///{run / STAGING_DB}", review_dir=None, clock=ManualClock())
    url, run_dir = resolve_db(str(run), None)
    assert run_dir == run and url.endswith("staging.sqlite") and Outbox(url).summary(0).counts["pending"] == 2
    assert resolve_db(str(run), "sqlite:///elsewhere.sqlite")[0] == "sqlite:///elsewhere.sqlite"
    with pytest.raises(ConfigurationError, match="--run"):
        resolve_db(None, None)
