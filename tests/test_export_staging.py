"""Staging tables for real on SQLite, PostgreSQL and MariaDB: idempotent loads, exact rollback, model versions side
by side, stage updates from inbound events, rare characters, unreachable and read-only databases.

Each test uses its own table prefix, so runs never collide; tables are dropped afterwards."""

from __future__ import annotations

import json
import secrets
import urllib.parse

import pandas as pd
import pytest
import sqlalchemy as sa
from export_support import MARIADB_URL, PG_URL, corpus_names, make_cohort, new_key, scored_tables, service_url

from workbench.decisions import DecisionRule, InvalidTransition
from workbench.errors import StagingError
from workbench.export import (
    ExportConfig,
    Pseudonymizer,
    build_export_batch,
    iter_records,
    load_batch,
    read_staging,
    reexport_records,
    rollback_batch,
    staging_funnel,
)
from workbench.export._staging import _tables

BACKENDS = ["sqlite", "postgresql", "mariadb"]
DATA_TABLES = ("records", "batches", "history")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("staging-cohort"), n=160)


@pytest.fixture(scope="module")
def batches(cohort, tmp_path_factory):
    """A: model v1; A2: the same content in another batch; B: model v2 (new keys); C: model v1 with another rule."""
    out = tmp_path_factory.mktemp("staging-batches")
    pseudo = Pseudonymizer(new_key().encode())
    names = ("张𠀀", "李䶮", "王😀明", *corpus_names(120))  # every character of jieba's dictionary and of the CJK extensions
    v1 = scored_tables(cohort, names=names)
    v2 = scored_tables(cohort, seed=9, model_sha="cd" * 32, model_version="v2", names=names)
    personal = ("name", "answers")
    return {
        "A": build_export_batch(v1, out, pseudonymizer=pseudo, config=ExportConfig(include_personal=personal)),
        "A2": build_export_batch(v1, out, pseudonymizer=pseudo, config=ExportConfig(include_personal=personal, formats=("jsonl", "csv"))),
        "B": build_export_batch(v2, out, pseudonymizer=pseudo, config=ExportConfig(include_personal=personal)),
        "C": build_export_batch(v1, out, pseudonymizer=pseudo, config=ExportConfig(include_personal=personal, rule=DecisionRule(cut_score=50))),
    }


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    url = {"sqlite": f"sqlite:///{tmp_path / 'staging.sqlite'}", "postgresql": PG_URL, "mariadb": MARIADB_URL}[request.param]
    service_url(url)
    prefix = f"t{secrets.token_hex(4)}_"
    yield request.param, url, prefix
    engine = sa.create_engine(url)
    _tables(prefix).metadata.drop_all(engine)
    engine.dispose()


def _state(url, prefix) -> dict[str, list]:
    """The data tables as comparable lists of rows (history ids are part of the state)."""
    tables = read_staging(url, table_prefix=prefix)
    out = {}
    for name in DATA_TABLES:
        frame = tables[name].astype(object).where(tables[name].notna(), None)
        if name == "batches":
            frame = frame.drop(columns=["loaded_at"])
        out[name] = sorted(map(tuple, frame.itertuples(index=False)), key=repr)
    return out


def test_load_is_idempotent_new_model_adds_rows_and_rollback_is_exact(db, batches):
    backend, url, prefix = db
    A, A2, B, C = batches["A"], batches["A2"], batches["B"], batches["C"]
    n = A.counts["records_out"]
    empty = _state(url, prefix)
    r = load_batch(A.path, url, table_prefix=prefix)
    assert (r.inserted, r.updated, r.unchanged, r.already_loaded) == (n, 0, 0, False)
    after_a = _state(url, prefix)
    log_a = len(read_staging(url, table_prefix=prefix)["batch_log"])
    again = load_batch(A.path, url, table_prefix=prefix)
    assert again.already_loaded and _state(url, prefix) == after_a
    assert len(read_staging(url, table_prefix=prefix)["batch_log"]) == log_a  # nothing written at all
    # the same content exported again as another batch: rows untouched, one more batch row
    r2 = load_batch(A2.path, url, table_prefix=prefix)
    assert (r2.inserted, r2.updated, r2.unchanged) == (0, 0, n)
    assert _state(url, prefix)["records"] == after_a["records"]
    rollback_batch(A2.batch_id, url, table_prefix=prefix)
    assert _state(url, prefix) == after_a
    # a newer model version adds records next to the old ones (history kept)
    rb = load_batch(B.path, url, table_prefix=prefix)
    assert rb.inserted == B.counts["records_out"] and rb.updated == 0
    records = read_staging(url, table_prefix=prefix)["records"]
    assert len(records) == n + B.counts["records_out"]
    assert set(records["model_version"]) == {"test-1", "v2"}
    after_b = _state(url, prefix)
    # the same model with another rule changes decisions of existing records
    rc = load_batch(C.path, url, table_prefix=prefix)
    assert rc.updated > 0 and rc.inserted == 0
    with pytest.raises(StagingError, match=C.batch_id):
        rollback_batch(A.batch_id, url, table_prefix=prefix)  # C changed A's rows: refuse, name C
    rollback_batch(C.batch_id, url, table_prefix=prefix)
    assert _state(url, prefix) == after_b  # exactly: every column of every row, history included
    rollback_batch(A.batch_id, url, table_prefix=prefix)
    rollback_batch(B.batch_id, url, table_prefix=prefix)
    assert _state(url, prefix) == empty
    log = read_staging(url, table_prefix=prefix)["batch_log"]
    assert list(log["event"]).count("rolled_back") == 4


def test_rare_characters_round_trip_through_the_database(db, batches):
    backend, url, prefix = db
    A = batches["A"]
    load_batch(A.path, url, table_prefix=prefix)
    names = {json.loads(j)["personal_data"]["name"] for j in read_staging(url, table_prefix=prefix)["records"]["record_json"]}
    assert {"张𠀀", "李䶮", "王😀明"} <= names
    expected = {r["idempotency_key"]: r for r in iter_records(A.path)}
    stored = read_staging(url, table_prefix=prefix)["records"].set_index("idempotency_key")
    for key, record in expected.items():  # every record, with its corpus "name", exactly as exported
        assert json.loads(stored.at[key, "record_json"]) == record
    if backend == "mariadb":
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            charset = conn.execute(sa.text(
                "SELECT character_set_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = :t AND column_name = 'record_json'"),
                {"t": f"{prefix}records"}).scalar()
            hexes = conn.execute(sa.text(f"SELECT HEX(record_json) FROM {prefix}records")).scalars().all()
        engine.dispose()
        assert charset == "utf8mb4"
        assert any("F0A08080" in h for h in hexes)  # 𠀀 stored as its 4 UTF-8 bytes, not ????


def test_stage_updates_from_inbound_events_are_idempotent_and_checked(db, batches):
    backend, url, prefix = db
    A = batches["A"]
    load_batch(A.path, url, table_prefix=prefix)
    records = read_staging(url, table_prefix=prefix)["records"]
    advancing = records.loc[records["hiring_stage"] == "awaiting_hr_interview", "candidate_ref"].iloc[0]
    rejected = records.loc[records["hiring_stage"] == "rejected", "candidate_ref"].iloc[0]
    before = _state(url, prefix)
    u = reexport_records(url, [advancing], {"hiring_stage": "offer_sent"}, event_id="wecom-msg-1", table_prefix=prefix)
    assert u.changes["action"].tolist() == ["updated"] and u.changes["previous_stage"].tolist() == ["awaiting_hr_interview"]
    row = read_staging(url, table_prefix=prefix)["records"].set_index("candidate_ref").loc[advancing]
    record = json.loads(row["record_json"])
    assert row["hiring_stage"] == record["hiring_stage"] == "offer_sent" and record["hiring_stage_updated_at"].endswith("+08:00")
    after = _state(url, prefix)
    funnel, _ = staging_funnel(url, table_prefix=prefix)
    role = row["role_id"]
    offers = funnel[(funnel["level"] == "role") & (funnel["role_id"] == role) & (funnel["step"] == "offer_sent")]
    assert offers["count"].tolist() == [1] and offers["base_step"].tolist() == ["advanced"]
    # the same event again: recognised, nothing written
    assert reexport_records(url, [advancing], {"hiring_stage": "offer_sent"}, event_id="wecom-msg-1", table_prefix=prefix).already_applied
    assert _state(url, prefix) == after
    # already there (a different event saying the same): unchanged
    assert reexport_records(url, [advancing], {"hiring_stage": "offer_sent"}, table_prefix=prefix).changes["action"].tolist() == ["unchanged"]
    # a move the hiring model forbids: error, nothing changed
    with pytest.raises(InvalidTransition, match="cannot move"):
        reexport_records(url, [rejected, advancing], {"hiring_stage": "offer_accepted"}, event_id="wecom-msg-2", table_prefix=prefix)
    assert _state(url, prefix) == after
    skipped = reexport_records(url, [rejected, "cr_" + "0" * 64], {"hiring_stage": "offer_accepted"}, on_invalid="skip", table_prefix=prefix)
    assert sorted(skipped.changes["action"]) == ["invalid", "not_found"]
    # the candidate asks for a person to decide (PIPL Art. 24): human review, decided by a human
    h = reexport_records(url, [rejected], {"hiring_stage": "human_review", "review_reason": "candidate_requested_review"}, event_id="wecom-msg-3",
                         table_prefix=prefix)
    record = json.loads(read_staging(url, table_prefix=prefix)["records"].set_index("candidate_ref").at[rejected, "record_json"])
    assert record["decision"] == "human_review" and record["decided_by"] == "human" and "candidate_requested_review" in record["review_reasons"]
    # undo, newest first: back to the loaded state exactly
    rollback_batch(h.update_id, url, table_prefix=prefix)
    rollback_batch(u.update_id, url, table_prefix=prefix)
    assert _state(url, prefix) == before


def _unreachable(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.split("@")[-1].rsplit(":", 1)[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"someone:s3cret-pw@{host}:1"))


def test_unreachable_database_is_a_clear_error_without_the_password(batches, tmp_path):
    for url in (_unreachable(PG_URL), _unreachable(MARIADB_URL)):
        with pytest.raises(StagingError, match="nothing was loaded|Nothing was loaded") as err:
            load_batch(batches["A"].path, url)
        assert "s3cret-pw" not in str(err.value) and "***" in str(err.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="file"):
        load_batch(batches["A"].path, f"sqlite:///{tmp_path / 'file' / 'db.sqlite'}")  # a directory that cannot exist


def _read_only(backend: str, url: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///file:{tmp_path / 'staging.sqlite'}?mode=ro&uri=true"
    if backend == "postgresql":
        return url + "?options=" + urllib.parse.quote("-c default_transaction_read_only=on")
    return url + "&init_command=" + urllib.parse.quote("SET SESSION TRANSACTION READ ONLY")


def test_read_only_database_refuses_the_load_and_leaves_no_partial_batch(db, batches, tmp_path):
    backend, url, prefix = db
    load_batch(batches["A"].path, url, table_prefix=prefix)
    before = _state(url, prefix)
    ro = _read_only(backend, url, tmp_path)
    with pytest.raises(StagingError, match="rolled back; nothing was loaded|Nothing was loaded"):
        load_batch(batches["B"].path, ro, table_prefix=prefix)
    assert _state(url, prefix) == before
    with pytest.raises(StagingError):
        rollback_batch(batches["A"].batch_id, ro, table_prefix=prefix)
    assert _state(url, prefix) == before


def test_a_failure_in_the_middle_of_a_load_rolls_everything_back(db, batches, monkeypatch):
    backend, url, prefix = db
    import workbench.export._staging as staging

    calls = {"n": 0}
    original = staging._upsert

    def failing(conn, table, rows, key):
        calls["n"] += 1
        original(conn, table, rows, key)
        if calls["n"] == 1:  # after the first chunk is written inside the transaction
            raise sa.exc.OperationalError("INSERT", {}, Exception("connection lost"))

    monkeypatch.setattr(staging, "_upsert", failing)
    monkeypatch.setattr(staging, "_CHUNK", 50)
    with pytest.raises(StagingError, match="connection lost"):
        load_batch(batches["A"].path, url, table_prefix=prefix)
    monkeypatch.setattr(staging, "_upsert", original)
    state = read_staging(url, table_prefix=prefix)
    assert all(len(state[t]) == 0 for t in DATA_TABLES)
    r = load_batch(batches["A"].path, url, table_prefix=prefix)  # and a re-run completes it
    assert r.inserted == batches["A"].counts["records_out"]
    assert isinstance(read_staging(url, table_prefix=prefix)["records"], pd.DataFrame)
