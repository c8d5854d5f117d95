"""Hiring-stage changes that arrive through WeCom (callbacks or an events CSV), applied to the staging tables.

The WeCom ledger (``workbench.wecom.StageLedger``) checks and records each inbound event once, then calls
:func:`reexport_stage_changes` with the applied changes; it clears a candidate's ``reexport_pending`` flag only when
this returns, so a failure here is retried later (``StageLedger.retry_reexports``). Each change is one idempotent
update of the candidate's records (keyed by the event id): replays change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._staging import reexport_records

__all__ = ["reexport_stage_changes", "review_reason_for"]


def review_reason_for(to_stage: str) -> str | None:
    """A candidate moved to 人工复核 by an inbound event asked for a person to look again (PIPL Art. 24)."""
    return "candidate_requested_review" if to_stage == "human_review" else None


def reexport_stage_changes(changes: Sequence, *, db: str) -> list:
    """Apply WeCom's applied stage changes (``StageChange``: candidate_ref, to_stage, event_id …) to the staging
    tables at ``db`` (an SQLAlchemy URL). Returns one ``StageUpdateResult`` per change."""
    results = []
    for change in changes:
        update = {"hiring_stage": change.to_stage}
        reason = review_reason_for(change.to_stage)
        if reason:
            update["review_reason"] = reason
        # the ledger already refused invalid moves; a record the staging tables hold at another stage is reported,
        # not raised, so one stale record cannot block the others
        results.append(reexport_records(db, [change.candidate_ref], update, event_id=f"wecom:{change.event_id}", on_invalid="skip"))
    return results
