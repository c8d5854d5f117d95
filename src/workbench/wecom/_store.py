"""Tables of the WeCom delivery in the export's database (SQLAlchemy 2 Core; SQLite, PostgreSQL, MySQL/MariaDB).

``wecom_outbox``          one row per intended message (unique ``dedupe_key``), its status and delivery record
``wecom_candidates``      each candidate's current hiring stage, recruiters and WeCom contact (for callbacks)
``wecom_stage_history``   every stage change, once (unique ``event_id``)
``wecom_onboarding``      onboarding checklist steps created when an offer is accepted
``wecom_inbound_events``  every inbound event or callback and what became of it (reason code)
``wecom_callback_nonces`` nonces of accepted callback requests (replay protection)

Times are UTC without time zone (SQLite keeps none); ``_utc`` converts.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Engine

from ..errors import ConfigurationError

__all__ = ["METADATA", "OUTBOX", "CANDIDATES", "HISTORY", "ONBOARDING", "INBOUND", "NONCES", "connect", "insert_ignore", "to_dt", "to_epoch"]

METADATA = sa.MetaData()
_MYSQL = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
_ID = 128

OUTBOX = sa.Table(
    "wecom_outbox", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(64), nullable=False, unique=True),
    sa.Column("channel", sa.String(16), nullable=False),  # app | robot | external
    sa.Column("kind", sa.String(32), nullable=False),  # recruiter_notice | candidate_result | batch_summary | stage_changed
    sa.Column("candidate_ref", sa.String(_ID)),
    sa.Column("stage", sa.String(32)),
    sa.Column("recipients", sa.Text, nullable=False),  # JSON list
    sa.Column("payload", sa.Text, nullable=False),  # canonical JSON of the request body (no agentid, no secrets)
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("lang", sa.String(8), nullable=False),
    sa.Column("run_id", sa.String(_ID)),
    sa.Column("status", sa.String(16), nullable=False),  # pending | sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("claimed_by", sa.String(200)),
    sa.Column("claimed_at", sa.DateTime),
    sa.Column("in_doubt_since", sa.DateTime),  # an attempt may have reached WeCom without an answer
    sa.Column("sent_at", sa.DateTime),
    sa.Column("last_errcode", sa.Integer),
    sa.Column("last_error", sa.String(64)),  # reason code
    sa.Column("last_errmsg", sa.Text),  # WeCom's errmsg or the exception, secrets redacted
    sa.Column("provider_msgid", sa.String(256)),
    sa.Column("recipient_results", sa.Text),  # JSON {recipient: "ok" | reason code}
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_wecom_outbox_due", "status", "next_attempt_at"),
    sa.Index("ix_wecom_outbox_candidate", "candidate_ref"),
    **_MYSQL,
)

CANDIDATES = sa.Table(
    "wecom_candidates", METADATA,
    sa.Column("candidate_ref", sa.String(_ID), primary_key=True),
    sa.Column("role_id", sa.String(64), nullable=False),
    sa.Column("requisition_id", sa.String(64)),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("recruiter_ids", sa.Text, nullable=False),  # JSON list
    sa.Column("external_userid", sa.String(_ID)),
    sa.Column("reexport_pending", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    **_MYSQL,
)

HISTORY = sa.Table(
    "wecom_stage_history", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("candidate_ref", sa.String(_ID), nullable=False, index=True),
    sa.Column("from_stage", sa.String(32)),
    sa.Column("to_stage", sa.String(32), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # callback | csv | export
    sa.Column("actor", sa.String(_ID)),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    **_MYSQL,
)

ONBOARDING = sa.Table(
    "wecom_onboarding", METADATA,
    sa.Column("candidate_ref", sa.String(_ID), primary_key=True),
    sa.Column("step_no", sa.Integer, primary_key=True),
    sa.Column("step", sa.String(32), nullable=False),  # medical_exam | sign_contract | enter_employee_info
    sa.Column("status", sa.String(16), nullable=False),  # todo | done
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    **_MYSQL,
)

INBOUND = sa.Table(
    "wecom_inbound_events", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("event_id", sa.String(64)),
    sa.Column("candidate_ref", sa.String(_ID)),
    sa.Column("to_stage", sa.String(32)),
    sa.Column("outcome", sa.String(16), nullable=False),  # applied | duplicate | rejected | ignored
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text),
    **_MYSQL,
)

NONCES = sa.Table(
    "wecom_callback_nonces", METADATA,
    sa.Column("nonce", sa.String(_ID), primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("seen_at", sa.DateTime, nullable=False, index=True),
    **_MYSQL,
)


def connect(db: str | Engine, *, create: bool = True) -> Engine:
    """An engine for ``db`` (a SQLAlchemy URL or an engine) with the WeCom tables created if missing.

    Spell the driver in the URL (``postgresql+psycopg://``, ``mysql+pymysql://…?charset=utf8mb4``); SQLite
    needs nothing (``sqlite:////abs/path.db``).
    """
    if isinstance(db, Engine):
        engine = db
    else:
        try:
            url = sa.engine.make_url(str(db))
        except sa.exc.ArgumentError as exc:
            raise ConfigurationError(f"not a SQLAlchemy URL: {db!r} ({exc}); e.g. sqlite:////path/outbox.sqlite") from None
        kwargs: dict = {"future": True}
        sqlite_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        if url.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 30}  # the callback server and notify may write at the same time
        engine = sa.create_engine(url, **kwargs)
        if sqlite_file:
            # WAL: readers do not block the writer, and a commit costs one fsync instead of three. synchronous
            # stays FULL — a claim must be on disk before its request leaves, or a power cut could resend it.
            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.close()
    if create:
        try:
            METADATA.create_all(engine, checkfirst=True)
        except sa.exc.OperationalError as exc:
            raise ConfigurationError(f"cannot open the outbox database {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from None
    return engine


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict], key: list[str]) -> int:
    """Insert rows whose ``key`` is new; leave existing rows untouched. Returns how many were new."""
    if not rows:
        return 0
    before = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        ins = (sqlite if name == "sqlite" else postgresql).insert(table).on_conflict_do_nothing(index_elements=key)
    elif name in ("mysql", "mariadb"):
        ins = mysql.insert(table)
        ins = ins.on_duplicate_key_update({key[0]: ins.inserted[key[0]]})  # a no-op update: nothing changes
    else:
        raise ConfigurationError(f"database dialect {name!r} is not supported (SQLite, PostgreSQL, MySQL/MariaDB are)")
    conn.execute(ins, rows)
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() - before


def to_dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).replace(tzinfo=None)


def to_epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).timestamp() if value.tzinfo is None else value.timestamp()
