"""The export stage's entry point: fill the outbox from candidate records, and write what would be sent.

Dry run is the default everywhere: filling the outbox sends nothing, and the payloads are written as files
for a person to review before anyone runs ``workbench notify --send``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from .._tabular import escape, write_csv_safe
from ..i18n import resolve_lang
from ._clock import Clock, SystemClock
from ._limits import check_payload
from ._outbox import Outbox, OutboxRow
from ._payloads import BatchSummary
from ._plan import MessagePlan, plan_messages
from ._ledger import StageLedger
from ._recipients import RecipientDirectory
from ._text import utf8_len

__all__ = ["FillResult", "fill_outbox", "write_review", "REVIEW_FILES"]

REVIEW_FILES = {"payloads": "wecom_outbox.jsonl", "index": "wecom_outbox.csv", "problems": "wecom_missing_recipients.csv"}


@dataclass
class FillResult:
    """What :func:`fill_outbox` did. ``plan.problems`` lists every record × message that cannot be sent, with why."""

    plan: MessagePlan
    inserted: int
    already_queued: int
    registered: dict[str, int]
    review_files: dict[str, Path]

    def metrics(self) -> dict[str, int | bool]:
        m: dict[str, int | bool] = {"wecom.records_in": self.plan.records_in, "wecom.messages_planned": len(self.plan.messages),
                                    "wecom.outbox_inserted": self.inserted, "wecom.outbox_already_queued": self.already_queued,
                                    "wecom.reconciled": self.plan.reconciled}
        for code, n in self.plan.problems["reason_code"].value_counts().items():
            m[f"wecom.not_planned.{code}"] = int(n)
        return m

    def _repr_html_(self) -> str:
        return (f"<p>WeCom outbox: {self.inserted} new, {self.already_queued} already queued; "
                f"review files: {escape(', '.join(p.name for p in self.review_files.values()))}</p>") + self.plan._repr_html_()


def _measure(channel: str, payload: dict) -> dict[str, int]:
    """Bytes of the fields a reviewer cares about (the limits are checked by the builders already)."""
    out = {}
    if channel == "external":
        out["text.content"] = utf8_len(payload["text"]["content"])
    elif payload.get("msgtype") == "markdown":
        out["markdown.content"] = utf8_len(payload["markdown"]["content"])
    elif payload.get("msgtype") == "textcard":
        out["textcard.title"] = utf8_len(payload["textcard"]["title"])
        out["textcard.description"] = utf8_len(payload["textcard"]["description"])
    return out


def write_review(rows: Iterable[OutboxRow | Mapping], out_dir: str | Path, *, problems: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write messages for review: JSON Lines with every payload, a CSV index, and the missing-recipient report.

    The files hold pseudonymous candidate refs, WeCom ids and scores (what the messages say) — they stay in the
    run directory and are not reviewer-facing reports. No credential is ever part of a payload.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in REVIEW_FILES.items()}
    index = []
    tmp = paths["payloads"].with_suffix(".jsonl.partial")
    with tmp.open("w", encoding="utf-8") as fh:
        for r in rows:
            d = r.__dict__ if isinstance(r, OutboxRow) else dict(r)
            item = {k: d.get(k) for k in ("id", "dedupe_key", "channel", "kind", "candidate_ref", "stage", "status", "attempts", "last_error")}
            item["recipients"] = list(d.get("recipients") or ())
            item["bytes"] = _measure(d["channel"], d["payload"])
            item["violations"] = [str(v) for v in check_payload(d["channel"], d["payload"])]
            item["payload"] = d["payload"]
            fh.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
            index.append({**{k: item[k] for k in ("id", "channel", "kind", "candidate_ref", "stage", "status")},
                          "recipients": "|".join(item["recipients"]), **{f"bytes.{k}": v for k, v in item["bytes"].items()},
                          "violations": "; ".join(item["violations"])})
    tmp.replace(paths["payloads"])  # no half-written file under the final name
    write_csv_safe(pd.DataFrame(index), paths["index"])
    write_csv_safe(problems if problems is not None else pd.DataFrame(columns=["candidate_ref", "kind", "reason_code", "detail"]), paths["problems"])
    return paths


def fill_outbox(
    records: Iterable[Mapping],
    db: str | Engine,
    *,
    review_dir: str | Path | None,
    run_id: str | None = None,
    recipients: RecipientDirectory | None = None,
    batch: BatchSummary | None = None,
    lang: str | None = None,
    link_template: str | None = None,
    recruiter_format: str = "auto",
    role_names: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> FillResult:
    """Plan messages for ``records`` (export-shaped dicts, see :mod:`._plan`), queue the new ones in the outbox of
    ``db``, register the candidates for inbound events, and write the queued payloads to ``review_dir``.

    Idempotent: the same records give the same dedupe keys, so a re-run queues nothing twice. Nothing is sent.
    ``role_names`` defaults to the competency dictionary's names in ``lang``.
    """
    clock = clock or SystemClock()
    lang = resolve_lang(lang)
    if role_names is None:
        from ..competency import load_dictionary

        roles = load_dictionary().roles
        role_names = {rid: r.label(lang) for rid, r in roles.items()}
    plan = plan_messages(records, recipients=recipients, lang=lang, link_template=link_template, recruiter_format=recruiter_format,
                         batch=batch, role_names=role_names)
    outbox = Outbox(db)
    ledger = StageLedger(outbox.engine, lang=lang, clock=clock)
    registered = ledger.register(plan.contacts, run_id=run_id)
    inserted, existing = outbox.enqueue(plan.messages, now=clock.time(), run_id=run_id)
    files: dict[str, Path] = {}
    if review_dir is not None:
        rows = outbox.rows(dedupe_keys=[m.dedupe_key for m in plan.messages])
        files = write_review(rows, review_dir, problems=plan.problems)
    return FillResult(plan=plan, inserted=inserted, already_queued=existing, registered=registered, review_files=files)
