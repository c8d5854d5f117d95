"""Staging tables (中间表) through SQLAlchemy 2: SQLite by default, PostgreSQL and MariaDB/MySQL by URL.

Four tables (prefix ``wb_`` by default)::

    wb_records      one row per record (upsert key: idempotency_key) — what the EHR reads
    wb_batches      one row per loaded export batch or stage update, with its counts
    wb_history      per batch, the previous version of every row it inserted or changed (what rollback restores)
    wb_batch_log    append-only: every load, stage update and rollback, with time and counts

Loading is one transaction: either the whole batch is in, or nothing is. A hiring stage that a person moved
(``reexport_records``: HR, or the candidate through WeCom) is kept when a later batch re-exports the record, so a
re-run never turns a person's decision back into a machine's. A row whose content did not change is
not written at all, so loading the same batch twice changes nothing; a new model version has a new idempotency key
and adds rows next to the old ones. Rolling back a batch replays its history in reverse and removes it, leaving the
three data tables exactly as they were before the load (the log keeps the event). DDL runs before and outside
the load transaction because MariaDB/MySQL commit implicitly on DDL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from .._hashing import sha256_file, sha256_json
from ..decisions import HiringStage, InvalidTransition, check_transition
from ..errors import ConfigurationError, DataError, StagingError, WorkbenchError
from ._batch import MANIFEST, iter_records, verify_batch
from ._crypto import ExportKey
from ._records import content_sha256, to_cst
from ._schema import validate_record

__all__ = ["LoadResult", "StageUpdateResult", "load_batch", "rollback_batch", "reexport_records", "read_staging", "staging_engine",
           "default_staging_url", "current_records", "staging_funnel", "requested_review_refs"]

DEFAULT_PREFIX = "wb_"
_CHUNK = 500
_LONGTEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_RECORD_COLUMNS = (
    "idempotency_key", "record_id", "candidate_ref", "application_id", "requisition_id", "role_id", "batch", "assessment_id", "status",
    "completed_at", "overall_score", "recommendation", "rank", "population_size", "decision", "decided_by", "hiring_stage",
    "hiring_stage_updated_at", "model_sha256", "model_version", "export_batch_id", "exported_at", "written_by", "content_sha256", "record_json",
)


def default_staging_url(run_dir: str | Path) -> str:
    """The SQLite file in a run directory that the export stage loads by default."""
    path = (Path(run_dir) / "artifacts" / "06_export" / "staging.sqlite").resolve()
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class _Tables:
    records: sa.Table
    batches: sa.Table
    history: sa.Table
    log: sa.Table
    metadata: sa.MetaData


def _tables(prefix: str, schema: str | None = None) -> _Tables:
    if not prefix.replace("_", "").isalnum() or not prefix.isascii():
        raise ConfigurationError(f"table prefix must be ASCII letters, digits and _, got {prefix!r}")
    md = sa.MetaData(schema=schema)
    kw = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
    key = sa.String(64)
    records = sa.Table(
        f"{prefix}records", md,
        sa.Column("idempotency_key", key, primary_key=True),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("candidate_ref", sa.String(67), nullable=False, index=True),
        sa.Column("application_id", sa.String(35), nullable=False),
        sa.Column("requisition_id", sa.String(128), nullable=False),
        sa.Column("role_id", sa.String(64), nullable=False),
        sa.Column("batch", sa.String(64), nullable=True),
        sa.Column("assessment_id", sa.String(35), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("completed_at", sa.String(32), nullable=False),
        sa.Column("overall_score", sa.Double(), nullable=True),
        sa.Column("recommendation", sa.String(32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("population_size", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(8), nullable=False),
        sa.Column("hiring_stage", sa.String(32), nullable=False),
        sa.Column("hiring_stage_updated_at", sa.String(32), nullable=True),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("export_batch_id", sa.String(128), nullable=False),
        sa.Column("exported_at", sa.String(32), nullable=False),
        sa.Column("written_by", sa.String(128), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("record_json", _LONGTEXT, nullable=False),
        **kw,
    )
    batches = sa.Table(
        f"{prefix}batches", md,
        sa.Column("batch_id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("schema_version", sa.String(16), nullable=True),
        sa.Column("source_run_id", sa.String(128), nullable=True),
        sa.Column("model_sha256", sa.String(64), nullable=True),
        sa.Column("exported_at", sa.String(32), nullable=True),
        sa.Column("loaded_at", sa.String(32), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        **kw,
    )
    history = sa.Table(
        f"{prefix}history", md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(128), nullable=False, index=True),
        sa.Column("idempotency_key", key, nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("previous_json", _LONGTEXT, nullable=True),
        **kw,
    )
    log = sa.Table(
        f"{prefix}batch_log", md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(128), nullable=False, index=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        **kw,
    )
    return _Tables(records=records, batches=batches, history=history, log=log, metadata=md)


def _safe_url(url: str | sa.URL) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def staging_engine(url: str) -> sa.Engine:
    """An engine with short connect timeouts; SQLite files get their directory created."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigurationError(f"not a database URL: {url!r}; e.g. sqlite:////path/staging.sqlite, postgresql+psycopg://user@host/db, "
                                 "mysql+pymysql://user@host/db?charset=utf8mb4") from None
    backend = parsed.get_backend_name()
    connect_args: dict = {}
    if backend == "sqlite":
        connect_args = {"timeout": 30}
        db = parsed.database or ""
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
    elif backend == "postgresql":
        connect_args = {"connect_timeout": 5}
    elif backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": 5}
        if parsed.query.get("charset", "utf8mb4") != "utf8mb4":
            raise ConfigurationError(f"{_safe_url(url)}: use charset=utf8mb4 (utf8 cannot store names such as 𠀀 or emoji)")
    else:
        raise ConfigurationError(f"unsupported database {backend!r}: staging tables support sqlite, postgresql and mysql/mariadb")
    try:
        return sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigurationError(f"{_safe_url(url)}: database driver not available ({exc}); spell the driver, e.g. postgresql+psycopg:// or mysql+pymysql://") from None


def _prepare(engine: sa.Engine, tables: _Tables, what: str) -> None:
    """Connect, check the connection charset on MySQL/MariaDB, create missing tables (outside any data transaction)."""
    try:
        with engine.connect() as conn:
            if conn.dialect.name in ("mysql", "mariadb"):
                charset = conn.execute(sa.text("SELECT @@character_set_connection")).scalar()
                if charset != "utf8mb4":
                    raise StagingError(f"{what}: the connection to {_safe_url(engine.url)} uses {charset}, not utf8mb4; add ?charset=utf8mb4 to the URL. Nothing was loaded")
        tables.metadata.create_all(engine, checkfirst=True)
    except sa.exc.SQLAlchemyError as exc:
        raise StagingError(f"{what}: cannot use {_safe_url(engine.url)}: {_reason(exc)}. Nothing was loaded") from None


def _upsert(conn: sa.Connection, table: sa.Table, rows: list[dict], key: str) -> None:
    if not rows:
        return
    non_key = [c.name for c in table.c if c.name != key]
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        ins = (postgresql if name == "postgresql" else sqlite).insert(table)
        stmt = ins.on_conflict_do_update(index_elements=[key], set_={c: ins.excluded[c] for c in non_key})
    elif name in ("mysql", "mariadb"):
        ins = mysql.insert(table)
        stmt = ins.on_duplicate_key_update({c: ins.inserted[c] for c in non_key})
    else:  # pragma: no cover — staging_engine refuses other backends
        raise ConfigurationError(f"no upsert for {name}")
    conn.execute(stmt, rows)


def _row(record: dict, written_by: str) -> dict:
    return {
        "idempotency_key": record["idempotency_key"], "record_id": record["record_id"], "candidate_ref": record["candidate_ref"],
        "application_id": record["application_id"], "requisition_id": record["requisition_id"], "role_id": record["role_id"],
        "batch": record.get("batch"), "assessment_id": record["assessment_id"], "status": record["status"], "completed_at": record["completed_at"],
        "overall_score": record["overall_score"], "recommendation": record["recommendation"], "rank": record["rank"],
        "population_size": record["population_size"], "decision": record["decision"], "decided_by": record["decided_by"],
        "hiring_stage": record["hiring_stage"], "hiring_stage_updated_at": record.get("hiring_stage_updated_at"),
        "model_sha256": record["model"]["sha256"], "model_version": record["model"]["version"], "export_batch_id": record["export_batch_id"],
        "exported_at": record["exported_at"], "written_by": written_by, "content_sha256": content_sha256(record),
        "record_json": json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    }


def _keep_people_moves(record: dict, old: dict) -> tuple[dict, int]:
    """A re-export never undoes what people did: if the staged record's hiring stage was moved by a person (a stage
    update — HR, or the candidate through WeCom — is the only writer of ``hiring_stage_updated_at``), the new
    record keeps that stage, its time, decision and decider, and the union of review reasons. Returns (record, 1)
    when something was kept."""
    previous = json.loads(old["record_json"])
    if not previous.get("hiring_stage_updated_at"):
        return record, 0
    merged = dict(record)
    for key in ("hiring_stage", "hiring_stage_updated_at", "decision", "decided_by"):
        merged[key] = previous[key]
    merged["review_reasons"] = list(dict.fromkeys([*record["review_reasons"], *previous.get("review_reasons", [])]))
    validate_record(merged, where=f"record {record['idempotency_key'][:12]}… (stage kept from {old['written_by']})")
    return merged, 1


def requested_review_refs(url: str, *, table_prefix: str = DEFAULT_PREFIX, schema: str | None = None) -> set[str]:
    """Candidate refs whose staged record says they asked for a person to decide (``candidate_requested_review``,
    e.g. a WeCom reply re-exported by :func:`reexport_records`), so that a new export keeps them in human review.
    Empty when the staging tables do not exist yet."""
    t = _tables(table_prefix, schema)
    engine = staging_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(t.records.name, schema=schema):
                return set()
            stmt = sa.select(t.records.c.candidate_ref, t.records.c.record_json).where(t.records.c.record_json.like("%candidate_requested_review%"))
            return {r.candidate_ref for r in conn.execute(stmt) if "candidate_requested_review" in json.loads(r.record_json).get("review_reasons", [])}
    except sa.exc.SQLAlchemyError as exc:
        raise StagingError(f"reading review requests from {_safe_url(url)} failed: {_reason(exc)}") from None
    finally:
        engine.dispose()


def _existing(conn: sa.Connection, t: _Tables, column: str, values: list[str]) -> list[dict]:
    stmt = sa.select(t.records).where(t.records.c[column].in_(values))
    if conn.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return [dict(r._mapping) for r in conn.execute(stmt)]


def _now() -> str:
    return to_cst(datetime.now(timezone.utc))


@dataclass(frozen=True)
class LoadResult:
    batch_id: str
    database: str
    records: int
    inserted: int
    updated: int
    unchanged: int
    already_loaded: bool = False
    kept_stage_moves: int = 0  # records whose hiring stage a person had moved: the person's stage and decision were kept


def load_batch(batch_dir: str | Path, url: str, *, table_prefix: str = DEFAULT_PREFIX, schema: str | None = None, key: ExportKey | None = None) -> LoadResult:
    """Load one export batch into the staging tables at ``url`` in a single transaction (idempotent).

    The batch files are checked against the manifest and every record against the schema before anything is
    written; an unreachable or read-only database raises :class:`StagingError` with nothing loaded.
    """
    batch = verify_batch(batch_dir)
    manifest = batch.manifest
    fingerprint = sha256_file(Path(batch_dir) / MANIFEST)
    t = _tables(table_prefix, schema)
    engine = staging_engine(url)
    what = f"loading batch {batch.batch_id}"
    try:
        _prepare(engine, t, what)
        with engine.begin() as conn:
            done = conn.execute(sa.select(t.batches.c.fingerprint, t.batches.c.records).where(t.batches.c.batch_id == batch.batch_id)).first()
            if done is not None:
                if done.fingerprint != fingerprint:
                    raise StagingError(f"{what}: a different batch with the same id is already loaded in {_safe_url(url)}; roll it back first")
                return LoadResult(batch.batch_id, _safe_url(url), int(done.records), 0, 0, int(done.records), already_loaded=True)
            counts = {"inserted": 0, "updated": 0, "unchanged": 0, "kept_stage_moves": 0}
            total = 0
            chunk: list[dict] = []

            def flush() -> None:
                keys = [r["idempotency_key"] for r in chunk]
                if len(set(keys)) != len(keys):
                    raise DataError(f"{what}: the batch holds the same idempotency key twice")
                current = {r["idempotency_key"]: r for r in _existing(conn, t, "idempotency_key", keys)}
                history, writes = [], []
                for record in chunk:
                    old = current.get(record["idempotency_key"])
                    if old is not None:
                        record, kept = _keep_people_moves(record, old)
                        counts["kept_stage_moves"] += kept
                    new = _row(record, batch.batch_id)
                    if old is None:
                        history.append({"batch_id": batch.batch_id, "idempotency_key": new["idempotency_key"], "action": "inserted", "previous_json": None})
                        writes.append(new)
                        counts["inserted"] += 1
                    elif old["content_sha256"] == new["content_sha256"]:
                        counts["unchanged"] += 1
                    else:
                        history.append({"batch_id": batch.batch_id, "idempotency_key": new["idempotency_key"], "action": "updated",
                                        "previous_json": json.dumps(old, ensure_ascii=False, default=str)})
                        writes.append(new)
                        counts["updated"] += 1
                if history:
                    conn.execute(t.history.insert(), history)
                _upsert(conn, t.records, writes, "idempotency_key")
                chunk.clear()

            for i, record in enumerate(iter_records(batch_dir, key=key, verify=False), start=1):
                validate_record(record, where=f"{batch.batch_id} record {i}")
                if record["export_batch_id"] != batch.batch_id:
                    raise DataError(f"{what}: record {i} belongs to batch {record['export_batch_id']}, not {batch.batch_id}")
                chunk.append(record)
                total += 1
                if len(chunk) >= _CHUNK:
                    flush()
            if chunk:
                flush()
            if total != manifest["counts"]["records_out"]:
                raise DataError(f"{what}: the manifest announces {manifest['counts']['records_out']} records, the file holds {total}")
            at = _now()
            kept = counts.pop("kept_stage_moves")
            conn.execute(t.batches.insert().values(
                batch_id=batch.batch_id, kind="export", schema_version=manifest["schema_version"], source_run_id=manifest["source"]["run_id"],
                model_sha256=manifest["source"]["model"]["sha256"], exported_at=manifest["exported_at"], loaded_at=at, records=total,
                fingerprint=fingerprint, **counts))
            conn.execute(t.log.insert().values(batch_id=batch.batch_id, event="loaded", at=at,
                                               detail=json.dumps({"records": total, **counts, "kept_stage_moves": kept})))
        return LoadResult(batch.batch_id, _safe_url(url), total, **counts, kept_stage_moves=kept)
    except sa.exc.SQLAlchemyError as exc:
        raise StagingError(f"{what} into {_safe_url(url)} failed: {_reason(exc)}. The transaction was rolled back; nothing was loaded") from None
    finally:
        engine.dispose()


def rollback_batch(batch_id: str, url: str, *, table_prefix: str = DEFAULT_PREFIX, schema: str | None = None) -> dict:
    """Remove one loaded batch (or stage update) atomically, restoring every row it inserted or changed.

    Refused when a later batch changed the same records: roll those back first (newest first), so nothing a
    later load wrote is silently lost.
    """
    t = _tables(table_prefix, schema)
    engine = staging_engine(url)
    what = f"rolling back {batch_id}"
    try:
        _prepare(engine, t, what)
        with engine.begin() as conn:
            row = conn.execute(sa.select(t.batches).where(t.batches.c.batch_id == batch_id)).first()
            if row is None:
                raise StagingError(f"{what}: no such batch in {_safe_url(url)} (see `workbench export load` for what was loaded)")
            entries = [dict(r._mapping) for r in conn.execute(sa.select(t.history).where(t.history.c.batch_id == batch_id).order_by(t.history.c.id.desc()))]
            if entries:
                first_id = min(e["id"] for e in entries)
                keys = [e["idempotency_key"] for e in entries]
                later: set[str] = set()
                for start in range(0, len(keys), _CHUNK):
                    part = keys[start: start + _CHUNK]
                    later |= {r.batch_id for r in conn.execute(sa.select(t.history.c.batch_id).where(
                        t.history.c.idempotency_key.in_(part), t.history.c.id > first_id, t.history.c.batch_id != batch_id))}
                if later:
                    raise StagingError(f"{what}: later batches changed the same records: {', '.join(sorted(later))}; roll them back first (newest first)")
            restored = removed = 0
            for e in entries:
                if e["previous_json"] is None:
                    conn.execute(t.records.delete().where(t.records.c.idempotency_key == e["idempotency_key"]))
                    removed += 1
                else:
                    previous = json.loads(e["previous_json"])
                    conn.execute(t.records.update().where(t.records.c.idempotency_key == e["idempotency_key"]).values(
                        **{c: previous[c] for c in _RECORD_COLUMNS if c != "idempotency_key"}))
                    restored += 1
            conn.execute(t.history.delete().where(t.history.c.batch_id == batch_id))
            conn.execute(t.batches.delete().where(t.batches.c.batch_id == batch_id))
            detail = {"removed": removed, "restored": restored}
            conn.execute(t.log.insert().values(batch_id=batch_id, event="rolled_back", at=_now(), detail=json.dumps(detail)))
        return {"batch_id": batch_id, **detail}
    except sa.exc.SQLAlchemyError as exc:
        raise StagingError(f"{what} in {_safe_url(url)} failed: {_reason(exc)}. Nothing was changed") from None
    finally:
        engine.dispose()


@dataclass(frozen=True)
class StageUpdateResult:
    update_id: str
    already_applied: bool
    changes: pd.DataFrame  # candidate_ref, idempotency_key, previous_stage, hiring_stage, action

    @property
    def updated(self) -> int:
        return int((self.changes["action"] == "updated").sum()) if len(self.changes) else 0


_STAGE_DECISION = {HiringStage.AWAITING_HR_INTERVIEW: "advance", HiringStage.REJECTED: "reject", HiringStage.HUMAN_REVIEW: "human_review"}


def reexport_records(
    db_url: str,
    candidate_refs: Iterable[str],
    changes: Mapping[str, object],
    *,
    event_id: str | None = None,
    table_prefix: str = DEFAULT_PREFIX,
    schema: str | None = None,
    on_invalid: str = "raise",
    at: datetime | None = None,
) -> StageUpdateResult:
    """Move the hiring stage of every record of ``candidate_refs`` in the staging tables (idempotent, one transaction).

    ``changes`` = ``{"hiring_stage": "offer_accepted"}`` (required), optionally ``"review_reason"`` (a code added to
    ``review_reasons``, e.g. ``candidate_requested_review``). Moving to 等待HR面试 / 已淘汰 / 人工复核 also sets the
    decision (advance / reject / human_review) with ``decided_by = "human"``: after the AI interview only people
    move candidates. A record already at the target stage is ``unchanged``; an unknown reference is ``not_found``;
    a move the hiring model forbids raises :class:`InvalidTransition` (nothing changed) or, with
    ``on_invalid="skip"``, is reported as ``invalid``. Replaying the same ``event_id`` (or, without one, the same
    references and changes) is a no-op. The update is a batch of its own (``su-…``): ``rollback_batch`` undoes it.
    """
    refs = sorted({str(r) for r in candidate_refs})
    unknown_keys = set(changes) - {"hiring_stage", "review_reason"}
    if unknown_keys or "hiring_stage" not in changes:
        raise ConfigurationError(f"changes must hold 'hiring_stage' and optionally 'review_reason'; got {sorted(changes)}")
    if on_invalid not in ("raise", "skip"):
        raise ConfigurationError(f"on_invalid must be 'raise' or 'skip', got {on_invalid!r}")
    try:
        target = HiringStage(str(changes["hiring_stage"]))
    except ValueError:
        raise InvalidTransition(f"unknown hiring stage {changes['hiring_stage']!r}; stages are: {', '.join(s.value for s in HiringStage)}",
                                current="?", requested=str(changes["hiring_stage"])) from None
    reason = changes.get("review_reason")
    when = to_cst(at or datetime.now(timezone.utc))
    # With an event id (e.g. the WeCom MsgId) a replay is recognised by id; without one, records already at the
    # target stage are simply left unchanged, and the update gets a unique id.
    content = {"refs": refs, "changes": {k: str(v) for k, v in changes.items()}}
    fingerprint = sha256_json({"event_id": event_id, **content} if event_id else {**content, "at": when, "nonce": os.urandom(8).hex()})
    update_id = "su-" + (sha256_json({"event_id": event_id}) if event_id else fingerprint)[:40]
    t = _tables(table_prefix, schema)
    engine = staging_engine(db_url)
    what = f"stage update {update_id}"
    columns = ["candidate_ref", "idempotency_key", "previous_stage", "hiring_stage", "action"]
    try:
        _prepare(engine, t, what)
        with engine.begin() as conn:
            seen = conn.execute(sa.select(t.batches.c.fingerprint).where(t.batches.c.batch_id == update_id)).first()
            if seen is not None:
                if seen.fingerprint != fingerprint:
                    raise DataError(f"{what}: event {event_id!r} was already applied with other references or changes; an event id names one event")
                return StageUpdateResult(update_id, True, pd.DataFrame(columns=columns))
            rows = []
            for start in range(0, len(refs), _CHUNK):
                rows += _existing(conn, t, "candidate_ref", refs[start: start + _CHUNK])
            by_ref: dict[str, list[dict]] = {}
            for r in rows:
                by_ref.setdefault(r["candidate_ref"], []).append(r)
            report, history, writes = [], [], []
            for ref in refs:
                if ref not in by_ref:
                    report.append({"candidate_ref": ref, "idempotency_key": None, "previous_stage": None, "hiring_stage": None, "action": "not_found"})
                    continue
                for old in sorted(by_ref[ref], key=lambda r: r["idempotency_key"]):
                    current = old["hiring_stage"]
                    entry = {"candidate_ref": ref, "idempotency_key": old["idempotency_key"], "previous_stage": current, "hiring_stage": target.value}
                    if current == target.value:
                        report.append({**entry, "action": "unchanged"})
                        continue
                    try:
                        check_transition(current, target)
                    except InvalidTransition:
                        if on_invalid == "raise":
                            raise
                        report.append({**entry, "hiring_stage": current, "action": "invalid"})
                        continue
                    record = json.loads(old["record_json"])
                    record["hiring_stage"] = target.value
                    record["hiring_stage_updated_at"] = when
                    if target in _STAGE_DECISION:
                        record["decision"], record["decided_by"] = _STAGE_DECISION[target], "human"
                    if reason and reason not in record["review_reasons"]:
                        record["review_reasons"] = [*record["review_reasons"], str(reason)]
                    validate_record(record, where=f"{what} ({ref})")
                    history.append({"batch_id": update_id, "idempotency_key": old["idempotency_key"], "action": "updated",
                                    "previous_json": json.dumps(old, ensure_ascii=False, default=str)})
                    writes.append(_row(record, update_id))
                    report.append({**entry, "action": "updated"})
            if writes:
                conn.execute(t.history.insert(), history)
                _upsert(conn, t.records, writes, "idempotency_key")
            if writes or event_id:  # an event is remembered even when it changed nothing, so its replay is recognised
                conn.execute(t.batches.insert().values(batch_id=update_id, kind="stage_update", loaded_at=when, records=len(writes), inserted=0,
                                                       updated=len(writes), unchanged=len(report) - len(writes), fingerprint=fingerprint))
                conn.execute(t.log.insert().values(batch_id=update_id, event="stage_update", at=when,
                                                   detail=json.dumps({"event_id": event_id, "hiring_stage": target.value, "records": len(writes)})))
        return StageUpdateResult(update_id, False, pd.DataFrame(report, columns=columns))
    except WorkbenchError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise StagingError(f"{what} in {_safe_url(db_url)} failed: {_reason(exc)}. Nothing was changed") from None
    finally:
        engine.dispose()


def read_staging(url: str, *, table_prefix: str = DEFAULT_PREFIX, schema: str | None = None) -> dict[str, pd.DataFrame]:
    """The four staging tables as DataFrames (sorted by key), e.g. to show them in a notebook or compare states."""
    t = _tables(table_prefix, schema)
    engine = staging_engine(url)
    try:
        out = {}
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for name, table, order in (("records", t.records, "idempotency_key"), ("batches", t.batches, "batch_id"),
                                       ("history", t.history, "id"), ("batch_log", t.log, "id")):
                rows = []
                if inspector.has_table(table.name, schema=schema):
                    rows = [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c[order]))]
                out[name] = pd.DataFrame(rows, columns=[c.name for c in table.c])
        return out
    except sa.exc.SQLAlchemyError as exc:
        raise StagingError(f"reading staging tables from {_safe_url(url)} failed: {_reason(exc)}") from None
    finally:
        engine.dispose()


def current_records(url: str, *, table_prefix: str = DEFAULT_PREFIX, schema: str | None = None) -> pd.DataFrame:
    """The latest record of every application × assessment (the newest model version's export), as staged now."""
    records = read_staging(url, table_prefix=table_prefix, schema=schema)["records"]
    if records.empty:
        return records
    ordered = records.sort_values(["application_id", "assessment_id", "exported_at", "idempotency_key"], kind="stable")
    return ordered.drop_duplicates(["application_id", "assessment_id"], keep="last").reset_index(drop=True)


def staging_funnel(url: str, *, pass_mark: float = 60.0, threshold: float = 0.3, min_population: int = 10,
                   table_prefix: str = DEFAULT_PREFIX, schema: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(funnel, alerts) of the hiring stages as they stand in the staging tables — after HR and candidates moved
    them (offers, acceptances, reviews) — with the same steps and pass-rate alerts as the export stage."""
    from ..decisions import funnel_alerts, funnel_table

    current = current_records(url, table_prefix=table_prefix, schema=schema)
    frame = pd.DataFrame({"candidate_id": current.get("candidate_ref", pd.Series(dtype=object)),
                          "role_id": current.get("role_id", pd.Series(dtype=object)),
                          "batch": current.get("batch", pd.Series(dtype=object)),
                          "score": current.get("overall_score", pd.Series(dtype=float)),
                          "hiring_stage": current.get("hiring_stage", pd.Series(dtype=object))})
    funnel = funnel_table(frame, pass_mark=pass_mark, min_population=min_population)
    return funnel, funnel_alerts(funnel, threshold=threshold, pass_mark=pass_mark, decisions=frame)
