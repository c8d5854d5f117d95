"""Send what is due in the outbox, within WeCom's limits, so that every message ends sent once or failed with a reason.

**The crash between WeCom's answer and our database update.** A message is claimed (``sending``, committed)
before its request and resolved after the answer. If the process dies in between, the row stays
``sending`` and nobody knows whether WeCom acted on it. The next run finds such rows (their claimant
process is gone, or their lease expired) and resolves them by channel:

* **app messages** are resent with the *identical* request body. Each body asks WeCom to drop a repeat of
  the same request JSON within ``duplicate_check_interval`` (4 hours, the documented maximum), so a resend
  after a crash either delivers the message (the first request never arrived) or is dropped by WeCom (it
  did) — never twice. This is allowed only while the first uncertain attempt is younger than the interval
  minus a safety margin; an older one becomes ``failed / outcome_unknown``.
* **group-robot messages and customer-contact tasks** have no such guard (a resent task would show a
  recruiter the same task twice), so an uncertain one becomes ``failed / outcome_unknown``: never resent
  automatically, listed in the summary, and requeued by a person (``workbench notify --requeue ID``) after
  checking the group chat or the WeCom admin console.

The same rule applies to network failures after a request left (read timeouts, dropped connections).
Ctrl-C and SIGTERM do not leave this window open: the message in flight is finished and recorded first.
"""

from __future__ import annotations

import calendar
import logging
import os
import random
import signal
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..errors import DeliveryError
from ._client import SendOutcome, WeComClient
from ._clock import Clock, SystemClock
from ._limits import DUPLICATE_CHECK_MAX_S
from ._outbox import Outbox, OutboxRow, OutboxSummary, backoff_delay
from ._ratelimit import ChannelLimits

__all__ = ["DeliveryPolicy", "DeliveryReport", "deliver", "recover_in_doubt", "claimant_id"]

log = logging.getLogger("workbench.wecom")
_ACTIVE: set[str] = set()  # claimants running in this process (a concurrent deliver() here is alive, not stale)
_CST = timezone(timedelta(hours=8))  # WeCom's calendar month is China's


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 8  # then failed / retries_exhausted
    retry_base_s: float = 30.0  # between runs: 30 s, 1 min, 2 min … capped
    retry_cap_s: float = 1800.0
    lease_s: float = 900.0  # a claim older than this is stale even if its process looks alive
    duplicate_window_s: float = DUPLICATE_CHECK_MAX_S
    duplicate_margin_s: float = 600.0
    monthly_cap: bool = True  # customer-contact tasks: at most "days in the month" per customer


@dataclass
class DeliveryReport:
    """What one ``deliver`` call did, and the outbox afterwards."""

    sent: int = 0
    failed: int = 0
    retry: int = 0
    unknown: int = 0
    deferred: int = 0
    recovered: int = 0
    in_doubt_failed: int = 0
    stopped: bool = False
    config_error: str | None = None
    failures: list[tuple[int, str]] = field(default_factory=list)
    summary: OutboxSummary | None = None


def claimant_id(token: str | None = None) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{token or uuid.uuid4().hex[:12]}"


def _claimant_alive(claimed_by: str | None, own: str) -> bool:
    if not claimed_by:
        return False
    try:
        host, pid_s, token = claimed_by.rsplit(":", 2)
        pid = int(pid_s)
    except ValueError:
        return False
    if claimed_by == own or claimed_by in _ACTIVE:
        return True
    if host != socket.gethostname():
        return True  # cannot tell: wait for the lease
    if pid == os.getpid():
        return False  # an earlier run in this very process (its token differs)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_in_doubt(outbox: Outbox, *, now: float, claimant: str, policy: DeliveryPolicy = DeliveryPolicy()) -> tuple[int, int]:
    """Resolve ``sending`` rows left by a dead run (see the module docstring). Returns (requeued, failed)."""
    requeued = failed = 0
    for row in outbox.sending():
        stale = row.claimed_at is None or now - row.claimed_at > policy.lease_s or not _claimant_alive(row.claimed_by, claimant)
        if not stale:
            continue
        since = row.in_doubt_since if row.in_doubt_since is not None else (row.claimed_at or now)
        if row.channel == "app" and row.payload.get("enable_duplicate_check") and \
                now - since < min(policy.duplicate_window_s, float(row.payload.get("duplicate_check_interval", 1800))) - policy.duplicate_margin_s:
            if outbox.recover(row.id, now=now, claimed_at=row.claimed_at):
                requeued += 1
                log.warning("outbox row %d recovered after an interrupted send; resending under WeCom's duplicate check", row.id)
        elif outbox.mark_failed(row.id, None, now=now, errcode=None, reason="outcome_unknown",
                                errmsg="interrupted between request and answer; not resent automatically"):
            failed += 1
            log.warning("outbox row %d failed reason=outcome_unknown (interrupted %s send)", row.id, row.channel)
    return requeued, failed


def _month_start(now: float) -> float:
    d = datetime.fromtimestamp(now, tz=_CST)
    return datetime(d.year, d.month, 1, tzinfo=_CST).timestamp()


def _next_month(now: float) -> float:
    d = datetime.fromtimestamp(now, tz=_CST)
    days = calendar.monthrange(d.year, d.month)[1]
    return _month_start(now) + days * 86400


def deliver(
    outbox: Outbox,
    client: WeComClient,
    *,
    limit: int | None = None,
    max_wait_s: float = 120.0,
    clock: Clock | None = None,
    policy: DeliveryPolicy = DeliveryPolicy(),
    progress: bool = False,
    handle_signals: bool = True,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Send due messages until none is due, ``limit`` messages were attempted, or only waits longer than
    ``max_wait_s`` remain (they stay queued with their next attempt time). Safe to interrupt and to re-run."""
    clock = clock or client.clock or SystemClock()
    rng = rng or random.Random()
    me = claimant_id()
    _ACTIVE.add(me)
    report = DeliveryReport()
    now = clock.time()
    report.recovered, report.in_doubt_failed = recover_in_doubt(outbox, now=now, claimant=me, policy=policy)

    limits = ChannelLimits()
    limits.load(outbox.recent_sends(now - 3700))
    paused: dict[str, float] = {}
    deferred: dict[int, float] = {}
    attempted = 0
    stop = threading.Event()

    previous = {}
    if handle_signals and threading.current_thread() is threading.main_thread():
        def _stop(signum, frame):
            if stop.is_set():  # a second Ctrl-C: give up at once
                raise KeyboardInterrupt
            stop.set()
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _stop)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = len(outbox.due(now, limit=limit or 100_000))
        bar = tqdm(total=total, desc="wecom", unit="msg")
    try:
        while not stop.is_set():
            now = clock.time()
            if limit is not None and attempted >= limit:
                break
            rows = [r for r in outbox.due(now, limit=200, exclude=[i for i, t in deferred.items() if t > now])
                    if paused.get(r.channel, 0.0) <= now]
            if not rows:
                wakes = [t for t in list(paused.values()) + list(deferred.values()) if t > now]
                nxt = outbox.next_due_at()
                if nxt is not None and nxt > now:
                    wakes.append(nxt)
                if not wakes or min(wakes) - now > max_wait_s:
                    break
                clock.sleep(min(wakes) - now)
                continue
            for row in rows:
                if stop.is_set() or (limit is not None and attempted >= limit):
                    break
                now = clock.time()
                if paused.get(row.channel, 0.0) > now:
                    continue
                wait = limits.wait_time(row.channel, row.recipients, now)
                if wait > 0:
                    deferred[row.id] = now + wait
                    continue
                if row.channel == "external" and policy.monthly_cap and _over_monthly_cap(outbox, row, now):
                    outbox.defer(row.id, until=_next_month(now), reason="monthly_cap", now=now)
                    report.deferred += 1
                    continue
                if not outbox.claim(row.id, me, now):
                    continue  # another process took it
                attempted += 1
                try:
                    outcome = client.send(row.channel, row.payload)
                except DeliveryError as exc:
                    outbox.release(row.id, me, now=clock.time())
                    report.config_error = str(exc)
                    log.error("wecom %s channel unusable: %s", row.channel, exc.code)
                    stop.set()
                    break
                done = clock.time()
                if outcome.status in ("sent", "unknown") or outcome.in_doubt:
                    limits.record(row.channel, row.recipients, done)  # it may count against WeCom's per-member limit
                _resolve(outbox, row, outcome, me, now, done, policy, rng, report, paused)
                if bar is not None:
                    bar.update(1)
    finally:
        _ACTIVE.discard(me)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if bar is not None:
            bar.close()
    now = clock.time()
    for row_id, until in deferred.items():
        if until > now:
            outbox.defer(row_id, until=until, reason="rate_limit_wait", now=now)
            report.deferred += 1
    report.stopped = stop.is_set() and report.config_error is None
    report.summary = outbox.summary(now)
    return report


def _over_monthly_cap(outbox: Outbox, row: OutboxRow, now: float) -> bool:
    d = datetime.fromtimestamp(now, tz=_CST)
    cap = calendar.monthrange(d.year, d.month)[1]
    customers = row.payload.get("external_userid") or []
    return any(outbox.sent_to_since("external", c, _month_start(now)) >= cap for c in customers)


def _resolve(outbox: Outbox, row: OutboxRow, o: SendOutcome, me: str, started: float, now: float, policy: DeliveryPolicy,
             rng: random.Random, report: DeliveryReport, paused: dict[str, float]) -> None:
    if o.status == "sent":
        if not outbox.mark_sent(row.id, me, now=now, msgid=o.msgid, recipient_results=o.recipient_results):
            log.warning("outbox row %d was sent but its claim had been taken over (lease expired); left as recorded by the other run", row.id)
        report.sent += 1
        return
    if o.status == "unknown":
        outbox.mark_failed(row.id, me, now=now, errcode=o.errcode, reason="outcome_unknown", errmsg=o.errmsg)
        report.unknown += 1
        report.failures.append((row.id, "outcome_unknown"))
        return
    if o.status == "failed":
        outbox.mark_failed(row.id, me, now=now, errcode=o.errcode, reason=o.reason or "unknown_errcode", errmsg=o.errmsg,
                           recipient_results=o.recipient_results or None)
        report.failed += 1
        report.failures.append((row.id, o.reason or "unknown_errcode"))
        return
    # retry later
    attempts = row.attempts + 1
    in_doubt_since = row.in_doubt_since if row.in_doubt_since is not None else (started if o.in_doubt else None)
    too_late = in_doubt_since is not None and now - in_doubt_since >= policy.duplicate_window_s - policy.duplicate_margin_s
    if attempts >= policy.max_attempts or too_late:
        reason = "outcome_unknown" if too_late else "retries_exhausted"
        outbox.mark_failed(row.id, me, now=now, errcode=o.errcode, reason=reason, errmsg=f"{o.reason}: {o.errmsg or ''}"[:300])
        report.failed += 1
        report.failures.append((row.id, reason))
        return
    delay = max(o.retry_after, backoff_delay(attempts, base=policy.retry_base_s, cap=policy.retry_cap_s, rng=rng))
    at = now + delay
    outbox.mark_retry(row.id, me, now=now, at=at, errcode=o.errcode, reason=o.reason or "network_error", errmsg=o.errmsg,
                      in_doubt_since=in_doubt_since)
    report.retry += 1
    # the channel is unwell (busy, rate limited, unreachable): let it rest instead of hammering it
    paused[row.channel] = max(paused.get(row.channel, 0.0), now + (o.retry_after or min(delay, 60.0)))
