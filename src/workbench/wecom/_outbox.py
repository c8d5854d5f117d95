"""The outbox: one row per intended message, the source of truth for what was (and was not) delivered.

A message is claimed before it is sent (``pending → sending`` by compare-and-set in its own transaction, with
the claimant's host, pid and a run token) and resolved after (``sending → sent | pending | failed``, again
only if the claim is still ours). A run that dies in between leaves ``sending`` rows; the next run finds
them (claimant process gone, or lease expired) and resolves them as :mod:`._deliver` documents.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ._store import OUTBOX, connect, insert_ignore, to_dt, to_epoch

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PlannedMessage", "OutboxRow", "OutboxSummary", "Outbox", "canonical_json", "STATUSES"]

STATUSES = ("pending", "sending", "sent", "failed")


def canonical_json(body: dict) -> str:
    """The one serialisation of a body: sorted keys, no spaces, UTF-8 text (also what is sent on the wire)."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class PlannedMessage:
    """A message the export wants delivered; its dedupe key is (channel, recipients, kind, stage, content hash)."""

    channel: str  # app | robot | external
    kind: str
    recipients: tuple[str, ...]
    payload: dict
    candidate_ref: str | None = None
    stage: str | None = None
    lang: str = "zh"
    # what makes two messages "the same" if not the whole payload: a candidate's task is the same message
    # whichever recruiter sends it, so a new recruiter does not make the candidate hear the result twice
    identity: tuple[tuple[str, ...], dict] | None = None

    @property
    def body(self) -> str:
        return canonical_json(self.payload)

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()

    @property
    def dedupe_key(self) -> str:
        recipients, content = self.identity if self.identity is not None else (self.recipients, self.payload)
        content_hash = hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
        key = [self.channel, sorted(recipients), self.kind, self.stage or "", content_hash]
        return hashlib.sha256(canonical_json({"k": key}).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OutboxRow:
    id: int
    dedupe_key: str
    channel: str
    kind: str
    candidate_ref: str | None
    stage: str | None
    recipients: tuple[str, ...]
    payload: dict
    status: str
    attempts: int
    next_attempt_at: float
    claimed_by: str | None
    claimed_at: float | None
    in_doubt_since: float | None
    last_error: str | None

    @classmethod
    def from_db(cls, r) -> "OutboxRow":
        return cls(
            id=r.id, dedupe_key=r.dedupe_key, channel=r.channel, kind=r.kind, candidate_ref=r.candidate_ref, stage=r.stage,
            recipients=tuple(json.loads(r.recipients)), payload=json.loads(r.payload), status=r.status, attempts=r.attempts,
            next_attempt_at=to_epoch(r.next_attempt_at), claimed_by=r.claimed_by, claimed_at=to_epoch(r.claimed_at),
            in_doubt_since=to_epoch(r.in_doubt_since), last_error=r.last_error,
        )


@dataclass(frozen=True)
class OutboxSummary:
    """Counts by status, permanent failures by reason, per-recipient failures by reason."""

    counts: dict[str, int]
    waiting: int  # pending with a next attempt in the future
    failed_by_reason: dict[str, int]
    recipient_failures: dict[str, int]
    by_kind: dict[tuple[str, str], int] = field(repr=False, default_factory=dict)  # (kind, status) -> n

    def frame(self) -> "pd.DataFrame":
        import pandas as pd

        rows = [{"kind": k, "status": s, "n": n} for (k, s), n in sorted(self.by_kind.items())]
        return pd.DataFrame(rows, columns=["kind", "status", "n"])

    def _repr_html_(self) -> str:
        from .._tabular import escape

        cells = "".join(f"<td>{escape(k)}: {v}</td>" for k, v in self.counts.items())
        return f"<table><tr>{cells}<td>waiting: {self.waiting}</td></tr></table>" + self.frame().to_html(index=False, escape=True)


class Outbox:
    """The ``wecom_outbox`` table in ``db`` (URL or engine). All times are epoch seconds from the caller's clock."""

    def __init__(self, db: str | Engine):
        self.engine = connect(db)

    # ---------------------------------------------------------------------------------------- filling
    def enqueue(self, messages: Iterable[PlannedMessage], *, now: float, run_id: str | None = None, conn: sa.Connection | None = None) -> tuple[int, int]:
        """Add messages whose dedupe key is new. Returns ``(inserted, already_present)``. Idempotent."""
        ts = to_dt(now)
        rows, seen = [], set()
        for m in messages:
            if m.dedupe_key in seen:
                continue
            seen.add(m.dedupe_key)
            rows.append(dict(
                dedupe_key=m.dedupe_key, channel=m.channel, kind=m.kind, candidate_ref=m.candidate_ref, stage=m.stage,
                recipients=json.dumps(list(m.recipients), ensure_ascii=False), payload=m.body, content_sha256=m.content_sha256,
                lang=m.lang, run_id=run_id, status="pending", attempts=0, next_attempt_at=ts, created_at=ts, updated_at=ts,
            ))
        if conn is not None:
            new = insert_ignore(conn, OUTBOX, rows, ["dedupe_key"])
        else:
            with self.engine.begin() as c:
                new = insert_ignore(c, OUTBOX, rows, ["dedupe_key"])
        return new, len(rows) - new

    # ---------------------------------------------------------------------------------------- reading
    def due(self, now: float, *, limit: int = 500, exclude: Sequence[int] = ()) -> list[OutboxRow]:
        q = (sa.select(OUTBOX).where(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= to_dt(now))
             .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(limit))
        if exclude:
            q = q.where(OUTBOX.c.id.not_in(list(exclude)))
        with self.engine.connect() as c:
            return [OutboxRow.from_db(r) for r in c.execute(q)]

    def rows(self, *, dedupe_keys: Sequence[str] | None = None, status: str | None = None, ids: Sequence[int] | None = None) -> list[OutboxRow]:
        q = sa.select(OUTBOX).order_by(OUTBOX.c.id)
        if status is not None:
            q = q.where(OUTBOX.c.status == status)
        if ids is not None:
            q = q.where(OUTBOX.c.id.in_(list(ids)))
        out: list[OutboxRow] = []
        with self.engine.connect() as c:
            if dedupe_keys is None:
                return [OutboxRow.from_db(r) for r in c.execute(q)]
            keys = list(dict.fromkeys(dedupe_keys))
            for i in range(0, len(keys), 500):
                out += [OutboxRow.from_db(r) for r in c.execute(q.where(OUTBOX.c.dedupe_key.in_(keys[i:i + 500])))]
        return sorted(out, key=lambda r: r.id)

    def next_due_at(self) -> float | None:
        with self.engine.connect() as c:
            value = c.execute(sa.select(sa.func.min(OUTBOX.c.next_attempt_at)).where(OUTBOX.c.status == "pending")).scalar()
        return to_epoch(value)

    def get(self, row_id: int) -> OutboxRow:
        with self.engine.connect() as c:
            return OutboxRow.from_db(c.execute(sa.select(OUTBOX).where(OUTBOX.c.id == row_id)).one())

    def sending(self) -> list[OutboxRow]:
        with self.engine.connect() as c:
            return [OutboxRow.from_db(r) for r in c.execute(sa.select(OUTBOX).where(OUTBOX.c.status == "sending"))]

    def recent_sends(self, since: float) -> list[tuple[str, tuple[str, ...], float]]:
        """``(channel, recipients, sent_at)`` of messages sent since ``since`` — seeds the rate limiter."""
        q = sa.select(OUTBOX.c.channel, OUTBOX.c.recipients, OUTBOX.c.sent_at).where(OUTBOX.c.sent_at >= to_dt(since))
        with self.engine.connect() as c:
            return [(r.channel, tuple(json.loads(r.recipients)), to_epoch(r.sent_at)) for r in c.execute(q)]

    def sent_to_since(self, channel: str, recipient: str, since: float) -> int:
        """How many messages on ``channel`` reached ``recipient`` since ``since`` (e.g. this calendar month)."""
        q = sa.select(OUTBOX.c.recipients).where(OUTBOX.c.channel == channel, OUTBOX.c.status == "sent", OUTBOX.c.sent_at >= to_dt(since))
        with self.engine.connect() as c:
            return sum(recipient in json.loads(r.recipients) for r in c.execute(q))

    def frame(self) -> "pd.DataFrame":
        import pandas as pd

        with self.engine.connect() as c:
            return pd.read_sql(sa.select(OUTBOX).order_by(OUTBOX.c.id), c)

    def summary(self, now: float) -> OutboxSummary:
        o = OUTBOX.c
        with self.engine.connect() as c:
            by_kind = {(r.kind, r.status): int(r.n) for r in c.execute(sa.select(o.kind, o.status, sa.func.count().label("n")).group_by(o.kind, o.status))}
            waiting = c.execute(sa.select(sa.func.count()).where(o.status == "pending", o.next_attempt_at > to_dt(now))).scalar_one()
            failed = {str(r.last_error or "unknown"): int(r.n) for r in
                      c.execute(sa.select(o.last_error, sa.func.count().label("n")).where(o.status == "failed").group_by(o.last_error))}
            per_recipient: dict[str, int] = {}
            for (raw,) in c.execute(sa.select(o.recipient_results).where(o.recipient_results.is_not(None))):
                for reason in json.loads(raw).values():
                    if reason != "ok":
                        per_recipient[reason] = per_recipient.get(reason, 0) + 1
        counts = {s: sum(n for (_, st), n in by_kind.items() if st == s) for s in STATUSES}
        return OutboxSummary(counts=counts, waiting=int(waiting), failed_by_reason=failed, recipient_failures=per_recipient, by_kind=by_kind)

    # ---------------------------------------------------------------------------------------- state changes
    def claim(self, row_id: int, claimant: str, now: float) -> bool:
        """``pending → sending`` if nobody else did it first (compare-and-set, committed before any HTTP call)."""
        ts = to_dt(now)
        with self.engine.begin() as c:
            res = c.execute(
                sa.update(OUTBOX).where(OUTBOX.c.id == row_id, OUTBOX.c.status == "pending")
                .values(status="sending", claimed_by=claimant, claimed_at=ts, attempts=OUTBOX.c.attempts + 1, updated_at=ts)
            )
        return res.rowcount == 1

    def _finish(self, row_id: int, claimant: str | None, values: dict, now: float) -> bool:
        cond = [OUTBOX.c.id == row_id, OUTBOX.c.status == "sending"]
        if claimant is not None:
            cond.append(OUTBOX.c.claimed_by == claimant)
        with self.engine.begin() as c:
            res = c.execute(sa.update(OUTBOX).where(*cond).values(**values, updated_at=to_dt(now)))
        return res.rowcount == 1

    def mark_sent(self, row_id: int, claimant: str | None, *, now: float, msgid: str | None, recipient_results: dict[str, str]) -> bool:
        return self._finish(row_id, claimant, dict(
            status="sent", sent_at=to_dt(now), last_errcode=0, last_error=None, last_errmsg=None, provider_msgid=msgid,
            recipient_results=json.dumps(recipient_results, ensure_ascii=False, sort_keys=True), claimed_by=None, in_doubt_since=None,
        ), now)

    def mark_retry(self, row_id: int, claimant: str | None, *, now: float, at: float, errcode: int | None, reason: str,
                   errmsg: str | None, in_doubt_since: float | None = None) -> bool:
        values = dict(status="pending", next_attempt_at=to_dt(at), last_errcode=errcode, last_error=reason, last_errmsg=errmsg, claimed_by=None)
        if in_doubt_since is not None:
            values["in_doubt_since"] = sa.func.coalesce(OUTBOX.c.in_doubt_since, to_dt(in_doubt_since))
        return self._finish(row_id, claimant, values, now)

    def mark_failed(self, row_id: int, claimant: str | None, *, now: float, errcode: int | None, reason: str, errmsg: str | None,
                    recipient_results: dict[str, str] | None = None) -> bool:
        values = dict(status="failed", last_errcode=errcode, last_error=reason, last_errmsg=errmsg, claimed_by=None)
        if recipient_results is not None:
            values["recipient_results"] = json.dumps(recipient_results, ensure_ascii=False, sort_keys=True)
        return self._finish(row_id, claimant, values, now)

    def release(self, row_id: int, claimant: str, *, now: float) -> bool:
        """Undo a claim that never reached the network (e.g. configuration error): the attempt does not count."""
        return self._finish(row_id, claimant, dict(status="pending", claimed_by=None, attempts=OUTBOX.c.attempts - 1), now)

    def defer(self, row_id: int, *, until: float, reason: str, now: float) -> None:
        """Move a pending row's next attempt (rate limit, monthly cap) without counting an attempt."""
        with self.engine.begin() as c:
            c.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row_id, OUTBOX.c.status == "pending")
                      .values(next_attempt_at=to_dt(until), last_error=reason, updated_at=to_dt(now)))

    def recover(self, row_id: int, *, now: float, claimed_at: float | None) -> bool:
        """A crashed claim whose resend is safe: back to ``pending`` now, remembering since when it is in doubt."""
        return self._finish(row_id, None, dict(
            status="pending", next_attempt_at=to_dt(now), claimed_by=None, last_error="recovered",
            in_doubt_since=sa.func.coalesce(OUTBOX.c.in_doubt_since, to_dt(claimed_at if claimed_at is not None else now)),
        ), now)

    def requeue(self, ids: Sequence[int], *, now: float) -> int:
        """A person checked that these failed messages did not arrive: send them again (fresh attempts)."""
        if not ids:
            return 0
        with self.engine.begin() as c:
            res = c.execute(sa.update(OUTBOX).where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.status == "failed")
                            .values(status="pending", attempts=0, next_attempt_at=to_dt(now), in_doubt_since=None,
                                    last_error="requeued", updated_at=to_dt(now)))
        return res.rowcount


def backoff_delay(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform in [½, 1] × min(cap, base·2^(attempts−1))."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return ceiling * (0.5 + 0.5 * rng.random())


