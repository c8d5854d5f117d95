"""Hiring stages moved by inbound events: one transaction per event, each event applied at most once.

An accepted event (a recruiter's button on a WeCom card, a row of an event CSV) is checked against the
hiring-stage model (``workbench.decisions.check_transition``) and then, in one transaction:

* the candidate's stage moves by compare-and-set (``… WHERE stage = <old>``), so two racing events cannot
  both apply;
* the change is appended to ``wecom_stage_history`` under its unique ``event_id`` (a repeat is a duplicate);
* on ``offer_accepted`` the onboarding checklist 体检 → 签订合同 → 录入员工信息 is created;
* the candidate is flagged ``reexport_pending`` and the recruiters get a stage-change message through the
  outbox (transactional outbox: the message exists if and only if the change does).

After the commit the re-export hook (the export stage's function) is called with the change; only when it
returns is the flag cleared, so a failed or interrupted re-export is retried (:meth:`StageLedger.retry_reexports`).
The hook must be idempotent: it may see the same change twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..decisions import InvalidTransition, check_transition
from ..i18n import resolve_lang
from ._clock import Clock, SystemClock
from ._outbox import Outbox, PlannedMessage, canonical_json
from ._payloads import stage_change_markdown
from ._store import CANDIDATES, HISTORY, INBOUND, ONBOARDING, OUTBOX, connect, insert_ignore, to_dt, to_epoch

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ONBOARDING_STEPS", "StageEvent", "StageChange", "EventResult", "StageLedger", "event_id_for"]

log = logging.getLogger("workbench.wecom.events")
ONBOARDING_STEPS = ("medical_exam", "sign_contract", "enter_employee_info")  # 体检 → 签订合同 → 录入员工信息
ReexportHook = Callable[[Sequence["StageChange"]], None]


def event_id_for(*parts: object) -> str:
    return hashlib.sha256(canonical_json({"e": [str(p) for p in parts]}).encode("utf-8")).hexdigest()[:48]


@dataclass(frozen=True)
class StageEvent:
    """A request to move a candidate: from a callback (``source='callback'``), a CSV, or the export."""

    event_id: str
    candidate_ref: str
    to_stage: str
    source: str
    occurred_at: float  # epoch seconds
    actor: str | None = None
    task_id: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class StageChange:
    """What the re-export hook receives: one applied change."""

    candidate_ref: str
    from_stage: str
    to_stage: str
    event_id: str
    occurred_at: datetime  # UTC
    source: str
    onboarding_steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventResult:
    event_id: str | None
    candidate_ref: str | None
    outcome: str  # applied | duplicate | rejected | ignored
    reason: str  # applied | duplicate | unknown_candidate | invalid_transition | actor_not_allowed | task_mismatch | …
    from_stage: str | None = None
    to_stage: str | None = None
    detail: str = ""


class StageLedger:
    """Candidates' hiring stages, their history and onboarding checklists in ``db`` (URL or engine)."""

    def __init__(self, db: str | Engine, *, reexport: ReexportHook | None = None, notify_recruiters: bool = True,
                 lang: str | None = None, clock: Clock | None = None):
        self.engine = connect(db)
        self.reexport = reexport
        self.notify_recruiters = notify_recruiters
        self.lang = resolve_lang(lang)
        self.clock = clock or SystemClock()
        self._outbox = Outbox(self.engine)

    # ------------------------------------------------------------------------------------------ registry
    def register(self, contacts: Iterable[Mapping], *, run_id: str | None = None) -> dict[str, int]:
        """Add or refresh candidates from export records (stage, recruiters, contact).

        A new candidate is inserted at the record's stage. For a known one, recruiters and contact are
        refreshed; its stage moves only if that is an allowed transition (recorded in the history, source
        ``export``); an exported stage that would move it backwards is a ``stage_conflict`` and the recorded
        stage wins (an accepted offer is not undone by re-running an old export).
        """
        counts = {"inserted": 0, "updated": 0, "unchanged": 0, "stage_conflict": 0}
        now = self.clock.time()
        ts = to_dt(now)
        rows = list(contacts)
        with self.engine.begin() as c:
            known = {}
            refs = [r["candidate_ref"] for r in rows]
            for i in range(0, len(refs), 500):
                for r in c.execute(sa.select(CANDIDATES).where(CANDIDATES.c.candidate_ref.in_(refs[i:i + 500]))):
                    known[r.candidate_ref] = r
            new = []
            for r in rows:
                ref = r["candidate_ref"]
                values = dict(role_id=r["role_id"], requisition_id=r.get("requisition_id"), recruiter_ids=json.dumps(list(r.get("recruiter_ids") or []), ensure_ascii=False),
                              external_userid=r.get("external_userid"))
                if ref not in known:
                    new.append(dict(candidate_ref=ref, stage=r["stage"], reexport_pending=False, created_at=ts, updated_at=ts, **values))
                    continue
                current = known[ref]
                stage = current.stage
                if r["stage"] != current.stage:
                    try:
                        check_transition(current.stage, r["stage"])
                        stage = r["stage"]
                        eid = event_id_for("export", ref, current.stage, r["stage"], run_id)
                        insert_ignore(c, HISTORY, [dict(event_id=eid, candidate_ref=ref, from_stage=current.stage, to_stage=stage, source="export",
                                                        actor=None, occurred_at=ts, recorded_at=ts)], ["event_id"])
                    except InvalidTransition:
                        counts["stage_conflict"] += 1
                        log.info("export stage ignored reason=stage_conflict candidate=%s recorded=%s exported=%s", ref, current.stage, r["stage"])
                changed = stage != current.stage or any(getattr(current, k) != v for k, v in values.items())
                if changed:
                    c.execute(sa.update(CANDIDATES).where(CANDIDATES.c.candidate_ref == ref).values(stage=stage, updated_at=ts, **values))
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
            counts["inserted"] = insert_ignore(c, CANDIDATES, new, ["candidate_ref"])
        return counts

    def stage_of(self, candidate_ref: str) -> str | None:
        with self.engine.connect() as c:
            return c.execute(sa.select(CANDIDATES.c.stage).where(CANDIDATES.c.candidate_ref == candidate_ref)).scalar()

    # ------------------------------------------------------------------------------------------ events
    def record_rejection(self, *, source: str, reason: str, detail: str = "", event_id: str | None = None,
                         candidate_ref: str | None = None, to_stage: str | None = None, outcome: str = "rejected") -> EventResult:
        """Log and store an event (or a callback request) that was not applied, with its reason code."""
        with self.engine.begin() as c:
            c.execute(sa.insert(INBOUND).values(received_at=to_dt(self.clock.time()), source=source, event_id=event_id, candidate_ref=candidate_ref,
                                                to_stage=to_stage, outcome=outcome, reason=reason, detail=detail[:500]))
        log.warning("inbound event %s reason=%s source=%s candidate=%s event=%s", outcome, reason, source, candidate_ref, event_id)
        return EventResult(event_id, candidate_ref, outcome, reason, None, to_stage, detail)

    def apply(self, event: StageEvent) -> EventResult:
        """Apply one event (at most once). Never raises for a bad event: the result carries the reason code."""
        result, change = self._apply_tx(event)
        if change is not None:
            self._reexport([change])
        return result

    def apply_many(self, events: Iterable[StageEvent]) -> list[EventResult]:
        results, changes = [], []
        for e in events:
            r, ch = self._apply_tx(e)
            results.append(r)
            if ch is not None:
                changes.append(ch)
        if changes:
            self._reexport(changes)
        return results

    def _apply_tx(self, e: StageEvent) -> tuple[EventResult, StageChange | None]:
        now = self.clock.time()
        ts = to_dt(now)

        def reject(reason: str, detail: str = "", *, outcome: str = "rejected", from_stage: str | None = None):
            r = self.record_rejection(source=e.source, reason=reason, detail=detail, event_id=e.event_id, candidate_ref=e.candidate_ref,
                                      to_stage=e.to_stage, outcome=outcome)
            return EventResult(e.event_id, e.candidate_ref, outcome, reason, from_stage, e.to_stage, detail), None

        with self.engine.connect() as c:
            if c.execute(sa.select(HISTORY.c.id).where(HISTORY.c.event_id == e.event_id)).first() is not None:
                return reject("duplicate", outcome="duplicate")
            cand = c.execute(sa.select(CANDIDATES).where(CANDIDATES.c.candidate_ref == e.candidate_ref)).first()
            task_ok = True
            if cand is not None and e.task_id:
                owner = c.execute(sa.select(OUTBOX.c.candidate_ref).where(OUTBOX.c.payload.contains(f'"task_id":"{e.task_id}"', autoescape=True),
                                                                          OUTBOX.c.candidate_ref == e.candidate_ref)).first()
                task_ok = owner is not None
        if cand is None:
            return reject("unknown_candidate")
        recruiters = [x.lower() for x in json.loads(cand.recruiter_ids or "[]")]
        if e.source == "callback" and (not e.actor or e.actor.lower() not in recruiters):
            return reject("actor_not_allowed", f"actor {e.actor!r}", from_stage=cand.stage)
        if not task_ok:
            return reject("task_mismatch", f"task {e.task_id!r}", from_stage=cand.stage)
        try:
            new = check_transition(cand.stage, e.to_stage).value
        except InvalidTransition as exc:
            return reject("invalid_transition", str(exc), from_stage=cand.stage)

        steps = ONBOARDING_STEPS if new == "offer_accepted" else ()
        try:
            with self.engine.begin() as c:
                moved = c.execute(sa.update(CANDIDATES).where(CANDIDATES.c.candidate_ref == e.candidate_ref, CANDIDATES.c.stage == cand.stage)
                                  .values(stage=new, reexport_pending=True, updated_at=ts))
                if moved.rowcount != 1:
                    raise _Raced()
                c.execute(sa.insert(HISTORY).values(event_id=e.event_id, candidate_ref=e.candidate_ref, from_stage=cand.stage, to_stage=new,
                                                    source=e.source, actor=e.actor, occurred_at=to_dt(e.occurred_at), recorded_at=ts))
                if steps:
                    insert_ignore(c, ONBOARDING, [dict(candidate_ref=e.candidate_ref, step_no=i + 1, step=s, status="todo", event_id=e.event_id, created_at=ts)
                                                  for i, s in enumerate(steps)], ["candidate_ref", "step_no"])
                if self.notify_recruiters and recruiters:
                    ids = json.loads(cand.recruiter_ids)
                    body = stage_change_markdown(e.candidate_ref, cand.stage, new, ids, onboarding=steps, lang=self.lang)
                    self._outbox.enqueue([PlannedMessage("app", "stage_changed", tuple(ids), body, e.candidate_ref, new, self.lang)], now=now, conn=c)
                c.execute(sa.insert(INBOUND).values(received_at=ts, source=e.source, event_id=e.event_id, candidate_ref=e.candidate_ref,
                                                    to_stage=new, outcome="applied", reason="applied", detail=None))
        except (_Raced, sa.exc.IntegrityError):
            # another event moved this candidate, or applied this very event, between our read and our write
            current = self.stage_of(e.candidate_ref)
            with self.engine.connect() as c:
                done = c.execute(sa.select(HISTORY.c.id).where(HISTORY.c.event_id == e.event_id)).first() is not None
            if done:
                return reject("duplicate", outcome="duplicate")
            return reject("invalid_transition", f"stage changed concurrently to {current!r}", from_stage=current)
        log.info("inbound event applied candidate=%s %s -> %s source=%s event=%s", e.candidate_ref, cand.stage, new, e.source, e.event_id)
        change = StageChange(e.candidate_ref, cand.stage, new, e.event_id, datetime.fromtimestamp(e.occurred_at, tz=timezone.utc), e.source, steps)
        return EventResult(e.event_id, e.candidate_ref, "applied", "applied", cand.stage, new), change

    # ------------------------------------------------------------------------------------------ re-export
    def _reexport(self, changes: Sequence[StageChange]) -> None:
        if self.reexport is None:
            log.info("re-export pending for %d candidate(s): no re-export hook configured", len(changes))
            return
        try:
            self.reexport(list(changes))
        except Exception as exc:  # the change is committed; the flag stays set and retry_reexports() tries again
            log.error("re-export failed reason=reexport_failed candidates=%d error=%s", len(changes), type(exc).__name__)
            return
        with self.engine.begin() as c:
            for ch in changes:
                c.execute(sa.update(CANDIDATES).where(CANDIDATES.c.candidate_ref == ch.candidate_ref, CANDIDATES.c.stage == ch.to_stage)
                          .values(reexport_pending=False))

    def pending_reexports(self) -> list[StageChange]:
        """The latest change of every candidate still waiting for its re-export."""
        out = []
        with self.engine.connect() as c:
            for cand in c.execute(sa.select(CANDIDATES).where(CANDIDATES.c.reexport_pending.is_(True))):
                h = c.execute(sa.select(HISTORY).where(HISTORY.c.candidate_ref == cand.candidate_ref).order_by(HISTORY.c.id.desc()).limit(1)).first()
                if h is None:
                    continue
                steps = tuple(r.step for r in c.execute(sa.select(ONBOARDING.c.step).where(ONBOARDING.c.candidate_ref == cand.candidate_ref)
                                                       .order_by(ONBOARDING.c.step_no))) if h.to_stage == "offer_accepted" else ()
                out.append(StageChange(cand.candidate_ref, h.from_stage, h.to_stage, h.event_id,
                                       datetime.fromtimestamp(to_epoch(h.occurred_at), tz=timezone.utc), h.source, steps))
        return out

    def retry_reexports(self) -> int:
        pending = self.pending_reexports()
        if pending:
            self._reexport(pending)
        return len(pending)

    # ------------------------------------------------------------------------------------------ reading
    def history(self, candidate_ref: str | None = None) -> "pd.DataFrame":
        import pandas as pd

        q = sa.select(HISTORY).order_by(HISTORY.c.id)
        if candidate_ref:
            q = q.where(HISTORY.c.candidate_ref == candidate_ref)
        with self.engine.connect() as c:
            return pd.read_sql(q, c)

    def onboarding(self, candidate_ref: str | None = None) -> "pd.DataFrame":
        import pandas as pd

        q = sa.select(ONBOARDING).order_by(ONBOARDING.c.candidate_ref, ONBOARDING.c.step_no)
        if candidate_ref:
            q = q.where(ONBOARDING.c.candidate_ref == candidate_ref)
        with self.engine.connect() as c:
            return pd.read_sql(q, c)

    def inbound(self) -> "pd.DataFrame":
        import pandas as pd

        with self.engine.connect() as c:
            return pd.read_sql(sa.select(INBOUND).order_by(INBOUND.c.id), c)


class _Raced(Exception):
    pass
