"""Inbound events: WeCom callbacks (verified, decrypted, replay-checked) and the same events from a CSV.

A callback request is refused — logged and stored with its reason code, nothing changed — when its
timestamp is outside ``window_s`` (``stale_timestamp``), its signature does not match (``bad_signature``),
its nonce was already accepted (``replayed``), it does not decrypt or is for another receiver
(``decrypt_failed`` / ``wrong_receiver``), or its event names an unknown candidate, an actor who is not one
of the candidate's recruiters, a card task of another candidate, or a move the hiring-stage model forbids.
A nonce is remembered only once the request has been handled, so a request that failed half-way (say, the
database was locked) is processed again when WeCom retries it; the event id (``FromUserName`` +
``CreateTime`` + key, as WeCom advises) makes sure it still applies once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import sqlalchemy as sa

from ..decisions import HiringStage
from ..errors import CallbackRejected, IntakeError
from ._clock import Clock, SystemClock
from ._crypto import WeComCrypto, parse_xml
from ._ledger import EventResult, StageEvent, StageLedger, event_id_for
from ._payloads import parse_event_key
from ._store import NONCES, insert_ignore, to_dt

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CallbackHandler", "CallbackResponse", "read_events_csv", "import_events_csv", "EventImport", "EVENT_CSV_COLUMNS"]

log = logging.getLogger("workbench.wecom.callback")
_CST = timezone(timedelta(hours=8))
EVENT_CSV_COLUMNS = ("candidate_ref", "to_stage", "occurred_at", "actor", "event_id", "note")


@dataclass(frozen=True)
class CallbackResponse:
    status: int
    body: bytes
    reason: str  # the reason code logged for this request
    result: EventResult | None = None


class CallbackHandler:
    """Turns one HTTP request (method, query string, body) into a response; no sockets here (see ``_server``)."""

    def __init__(self, crypto: WeComCrypto, ledger: StageLedger, *, window_s: float = 300.0, clock: Clock | None = None):
        self.crypto = crypto
        self.ledger = ledger
        self.window_s = float(window_s)
        self.clock = clock or ledger.clock or SystemClock()

    def _reject(self, status: int, reason: str, detail: str = "") -> CallbackResponse:
        self.ledger.record_rejection(source="callback", reason=reason, detail=detail)
        return CallbackResponse(status, b"", reason)

    def handle(self, method: str, query: str, body: bytes = b"") -> CallbackResponse:
        q = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}  # parse_qs URL-decodes (+ / = in echostr)
        sig, ts, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        if not (sig and ts and nonce):
            return self._reject(400, "bad_xml", "msg_signature, timestamp and nonce are required")
        try:
            ts_value = int(ts)
        except ValueError:
            return self._reject(400, "bad_xml", "timestamp is not an integer")
        now = self.clock.time()
        if abs(now - ts_value) > self.window_s:
            return self._reject(403, "stale_timestamp", f"|now − timestamp| = {abs(now - ts_value):.0f} s > {self.window_s:.0f} s")
        if method == "GET":
            try:
                echo = self.crypto.verify_url(sig, ts, nonce, q.get("echostr", ""))
            except CallbackRejected as exc:
                return self._reject(403, exc.reason)
            return CallbackResponse(200, echo.encode("utf-8"), "url_verified")
        try:
            encrypt = self.crypto.extract_encrypt(body)
        except CallbackRejected as exc:
            return self._reject(400, exc.reason, str(exc))
        if not self.crypto.verify(sig, ts, nonce, encrypt):
            return self._reject(403, "bad_signature")
        if self._nonce_seen(nonce, ts_value):
            return self._reject(403, "replayed", f"nonce seen before (timestamp {ts_value})")
        try:
            plain = self.crypto.decrypt(encrypt)
            event = self._event(plain)
        except CallbackRejected as exc:
            self._remember(nonce, ts_value, now)
            return self._reject(403 if exc.reason in ("decrypt_failed", "wrong_receiver") else 200, exc.reason, str(exc))
        if event is None:
            self._remember(nonce, ts_value, now)
            return CallbackResponse(200, b"", "unknown_event")
        result = self.ledger.apply(event)
        self._remember(nonce, ts_value, now)
        # WeCom retries anything but a fast 200; a refused event is logged, not worth three retries
        return CallbackResponse(200, b"", result.reason, result)

    # ------------------------------------------------------------------------------------------ nonces
    def _nonce_seen(self, nonce: str, ts: int) -> bool:
        with self.ledger.engine.connect() as c:
            return c.execute(sa.select(NONCES.c.nonce).where(NONCES.c.nonce == nonce[:128], NONCES.c.timestamp == ts)).first() is not None

    def _remember(self, nonce: str, ts: int, now: float) -> None:
        with self.ledger.engine.begin() as c:
            insert_ignore(c, NONCES, [dict(nonce=nonce[:128], timestamp=ts, seen_at=to_dt(now))], ["nonce", "timestamp"])
            # past the window a replay fails the timestamp check anyway; keep two windows, drop the rest
            c.execute(sa.delete(NONCES).where(NONCES.c.seen_at < to_dt(now - 2 * self.window_s - 7200)))

    # ------------------------------------------------------------------------------------------ events
    def _event(self, plain: bytes) -> StageEvent | None:
        root = parse_xml(plain)

        def text(tag: str) -> str | None:
            node = root.find(tag)
            return node.text.strip() if node is not None and node.text else None

        if text("MsgType") != "event" or text("Event") != "template_card_event":
            log.info("callback ignored reason=unknown_event msgtype=%s event=%s", text("MsgType"), text("Event"))
            self.ledger.record_rejection(source="callback", reason="unknown_event", outcome="ignored",
                                         detail=f"MsgType={text('MsgType')} Event={text('Event')}")
            return None
        key = text("EventKey") or ""
        parsed = parse_event_key(key)
        if parsed is None:
            raise CallbackRejected("bad_event_key", f"EventKey {key[:80]!r}")
        stage, ref = parsed
        actor, created = text("FromUserName"), text("CreateTime") or ""
        try:
            occurred = float(int(created))
        except ValueError:
            occurred = self.clock.time()
        return StageEvent(event_id=event_id_for("callback", actor, created, key, text("TaskId")), candidate_ref=ref, to_stage=stage,
                          source="callback", occurred_at=occurred, actor=actor, task_id=text("TaskId"))


# ---------------------------------------------------------------------------------------------- CSV
@dataclass
class EventImport:
    """Events read from a CSV: results per row (applied / duplicate / rejected with reason). Counts reconcile."""

    rows_in: int
    results: "pd.DataFrame"  # row, candidate_ref, to_stage, outcome, reason, detail

    def counts(self) -> dict[str, int]:
        c = self.results["outcome"].value_counts().to_dict()
        return {"rows_in": self.rows_in, **{k: int(c.get(k, 0)) for k in ("applied", "duplicate", "rejected")}}

    @property
    def reconciled(self) -> bool:
        return self.rows_in == len(self.results)


def _parse_time(value: str | None) -> float | None:
    import pandas as pd

    if not value:
        return None
    try:
        ts = pd.Timestamp(str(value).strip())
    except (ValueError, TypeError):
        return None
    if pd.isna(ts):
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(_CST)  # a bank's local time unless it says otherwise
    return ts.timestamp()


def read_events_csv(path: str | Path) -> tuple[list[tuple[int, StageEvent]], "pd.DataFrame"]:
    """Events from a CSV (UTF-8 or GB18030/GBK, detected): ``[(row, event)]`` plus the rows refused (``bad_row``)."""
    import pandas as pd

    from ..intake.readers import read_raw_table

    raw = read_raw_table(path, table="wecom_events")
    missing = [c for c in ("candidate_ref", "to_stage", "occurred_at") if c not in raw.frame.columns]
    if missing:
        raise IntakeError(f"[wecom_events] {path} lacks column(s) {', '.join(missing)}; needs {', '.join(EVENT_CSV_COLUMNS)}", file=str(path), column=missing[0])
    stages = {s.value for s in HiringStage}
    events, bad = [], []
    for idx, row in raw.frame.iterrows():
        line = int(raw.rows.loc[idx])
        get = lambda c: (str(row[c]).strip() if c in row and row[c] is not None and str(row[c]).strip() else None)  # noqa: E731
        ref, stage, when = get("candidate_ref"), get("to_stage"), _parse_time(get("occurred_at"))
        if not ref or not stage or when is None:
            bad.append({"row": line, "candidate_ref": ref, "to_stage": stage, "outcome": "rejected", "reason": "bad_row",
                        "detail": "candidate_ref, to_stage and a valid occurred_at are required"})
            continue
        if stage not in stages:
            bad.append({"row": line, "candidate_ref": ref, "to_stage": stage, "outcome": "rejected", "reason": "invalid_transition",
                        "detail": f"unknown stage {stage!r}"})
            continue
        eid = get("event_id") or event_id_for("csv", ref, stage, when, get("actor"))
        events.append((line, StageEvent(event_id=eid[:64], candidate_ref=ref, to_stage=stage, source="csv", occurred_at=when,
                                        actor=get("actor"), note=get("note"))))
    for problem in raw.problems:  # records the reader could not take (broken quoting, undecodable bytes …)
        bad.append({"row": problem.row, "candidate_ref": None, "to_stage": None, "outcome": "rejected", "reason": "bad_row", "detail": problem.code})
    return events, pd.DataFrame(bad, columns=["row", "candidate_ref", "to_stage", "outcome", "reason", "detail"])


def import_events_csv(path: str | Path, ledger: StageLedger) -> EventImport:
    """Apply the events of a CSV (for banks without a callback endpoint), each at most once."""
    import pandas as pd

    events, bad = read_events_csv(path)
    for _, row in bad.iterrows():
        ledger.record_rejection(source="csv", reason=row["reason"], detail=f"row {row['row']}: {row['detail']}",
                                candidate_ref=row["candidate_ref"], to_stage=row["to_stage"])
    results = ledger.apply_many([e for _, e in events])
    rows = [{"row": line, "candidate_ref": r.candidate_ref, "to_stage": e.to_stage, "outcome": r.outcome, "reason": r.reason, "detail": r.detail}
            for (line, e), r in zip(events, results)]
    table = pd.concat([pd.DataFrame(rows, columns=bad.columns), bad], ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)
    return EventImport(rows_in=len(events) + len(bad), results=table)


