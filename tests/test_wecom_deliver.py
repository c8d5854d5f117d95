"""Delivery end to end against the local WeCom-compatible server: limits respected (nothing dropped silently),
faults survived, and every message sent exactly once or failed with its reason — also after a run is killed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wecom_fake import FakeWeCom, make_records
from workbench.wecom import BatchSummary, DeliveryPolicy, ManualClock, Outbox, WeComClient, WeComSettings, deliver, fill_outbox
from workbench.wecom._ratelimit import ChannelLimits, SlidingWindowLimiter

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = ("hr_li", "hr_wang", "hr_zhao", "hr_new")


def _setup(tmp_path, clock, records, **fake_kw):
    fake = FakeWeCom(members=MEMBERS, external={r["wecom_external_userid"] for r in records if r.get("wecom_external_userid")},
                     clock=clock.time, **fake_kw).start()
    db = f"sqlite:///{tmp_path / 'staging.sqlite'}"
    fill_outbox(records, db, review_dir=None, clock=clock, batch=BatchSummary("B1", len(records), len(records) // 5))
    return fake, db


def _deliver_all(db, fake, clock, *, rounds=50, **kw):
    outbox = Outbox(db)
    with WeComClient(WeComSettings.from_env(fake.env()), clock=clock, rng=random.Random(1)) as client:
        for _ in range(rounds):
            deliver(outbox, client, clock=clock, max_wait_s=4000, handle_signals=False, rng=random.Random(2), **kw)
            if outbox.next_due_at() is None:
                break
            clock.advance(max(0.0, outbox.next_due_at() - clock.time()))
    return outbox


def _assert_exactly_once(outbox: Outbox, fake: FakeWeCom):
    """Every sent row reached each valid recipient exactly once; every other row failed with a reason."""
    counts = fake.delivery_counts()
    frame = outbox.frame()
    assert set(frame["status"]) <= {"sent", "failed"}, frame["status"].value_counts()
    assert frame.loc[frame["status"] == "failed", "last_error"].notna().all()
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
    assert fake.dropped == []  # nothing over WeCom's per-member limit, so nothing silently lost
    sent_app = frame[(frame["status"] == "sent") & (frame["channel"] == "app")]
    for row in sent_app.itertuples():
        ok = [r for r, v in json.loads(row.recipient_results).items() if v == "ok"]
        for r in ok:
            assert any(k.startswith(r.lower() + "|") for k in counts), (row.id, r)
    return frame


def test_rate_limits_hold_with_many_messages_to_one_recruiter(tmp_path):
    clock = ManualClock()
    records = make_records(100, recruiters=("hr_li",))  # 100 notices to one member: > 3 minutes of WeCom's budget
    fake, db = _setup(tmp_path, clock, records)
    try:
        outbox = _deliver_all(db, fake, clock)
        frame = _assert_exactly_once(outbox, fake)
        assert (frame["status"] == "sent").all()
        times = sorted(d["t"] for d in fake.delivered_to("hr_li"))
        assert len(times) == 100
        assert max(sum(1 for t in times if s <= t < s + 60) for s in times) <= 30
        assert clock.slept >= 3 * 60  # it waited instead of pushing
    finally:
        fake.stop()


def test_without_the_client_side_limit_wecom_would_drop_messages(tmp_path, monkeypatch):
    """The control: the same run with our limiter switched off loses messages silently (so the test above can fail)."""
    monkeypatch.setattr(ChannelLimits, "wait_time", lambda self, channel, recipients, now: 0.0)
    clock = ManualClock()
    fake, db = _setup(tmp_path, clock, make_records(60, recruiters=("hr_li",)))
    try:
        outbox = _deliver_all(db, fake, clock)
        assert (outbox.frame()["status"] == "sent").all()  # every send "succeeded" …
        assert len(fake.dropped) >= 29  # … and WeCom dropped the excess without a word
    finally:
        fake.stop()


def test_hour_and_robot_windows():
    lim = SlidingWindowLimiter([(61, 30), (3601, 1000)])
    now, sent = 0.0, []
    while len(sent) < 1100:
        w = lim.wait_time("u", now)
        now += w
        lim.record("u", now)
        sent.append(now)
    assert max(sum(1 for t in sent if s <= t < s + 3600) for s in sent[::50]) <= 1000
    assert max(sum(1 for t in sent if s <= t < s + 60) for s in sent) <= 30
    robot = ChannelLimits()
    for i in range(20):
        assert robot.wait_time("robot", ["robot"], 100.0) == 0
        robot.record("robot", ["robot"], 100.0)
    assert 60 < robot.wait_time("robot", ["robot"], 100.0) <= 61


def test_faults_end_in_sent_once_or_failed_with_reason(tmp_path):
    clock = ManualClock()
    records = make_records(45, recruiters=("hr_li", "hr_wang", "Ghost"))  # Ghost is not a member
    for r in records[::7]:
        r["wecom_external_userid"] = "wm_not_a_contact"
    fake, db = _setup(tmp_path, clock, records)
    fake.external.discard("wm_not_a_contact")
    rng = random.Random(7)
    for endpoint, pool in (("send", ["busy", "freq", "expire", "invalid_token", "drop_after", "http500", None, None, None]),
                           ("task", ["busy", "freq", "expire", None, None, "drop_after"]), ("gettoken", ["busy", None])):
        fake.fault(endpoint, *[x for x in (rng.choice(pool) for _ in range(40)) if x])
    try:
        outbox = _deliver_all(db, fake, clock)
        frame = _assert_exactly_once(outbox, fake)
        app = frame[frame["channel"] == "app"]
        ghost = app["recipients"].str.contains("Ghost")
        assert (app.loc[~ghost, "status"] == "sent").all()  # every app message to a real member got through, once
        assert (app.loc[ghost, "last_error"] == "invalid_recipients").all()
        tasks = frame[frame["channel"] == "external"]
        failed = tasks[tasks["status"] == "failed"]
        assert set(failed["last_error"]) <= {"outcome_unknown", "invalid_userid"}  # a dropped task is never resent blindly
        cannot = tasks[tasks["recipient_results"].fillna("").str.contains("fail_list")]
        assert len(cannot) >= 1  # not a contact: recorded per recipient inside a success
        summary = outbox.summary(clock.time())
        assert summary.recipient_failures.get("fail_list", 0) == len(cannot)
        stored = frame.to_csv()  # error messages, results, payloads: nothing secret was written down
        for secret in (fake.secret, fake.robot_key, *fake.tokens):
            assert secret not in stored
    finally:
        fake.stop()


def test_monthly_cap_defers_candidate_tasks(tmp_path):
    clock = ManualClock(start=1_790_000_000.0)  # 2026-09-21 (+08:00): 30 days in September
    records = make_records(1)
    fake, db = _setup(tmp_path, clock, records)
    try:
        outbox = Outbox(db)
        import sqlalchemy as sa
        from workbench.wecom._store import OUTBOX, to_dt

        ext = records[0]["wecom_external_userid"]
        with outbox.engine.begin() as c:  # 30 tasks already reached this customer this month
            c.execute(sa.insert(OUTBOX), [dict(dedupe_key=f"old{i}", channel="external", kind="candidate_result", recipients=json.dumps([ext, "hr_li"]),
                                               payload="{}", content_sha256="x", lang="zh", status="sent", attempts=1, next_attempt_at=to_dt(clock.time()),
                                               sent_at=to_dt(clock.time() - 3600), created_at=to_dt(clock.time()), updated_at=to_dt(clock.time()))
                                          for i in range(30)])
        with WeComClient(WeComSettings.from_env(fake.env()), clock=clock) as client:
            report = deliver(outbox, client, clock=clock, handle_signals=False)
        assert report.sent == 2 and report.deferred == 1  # notice and robot summary sent; the task waits for October
        row = [r for r in outbox.rows(status="pending")][0]
        assert row.channel == "external" and row.last_error == "monthly_cap" and row.next_attempt_at > clock.time() + 8 * 86400
    finally:
        fake.stop()


def test_crash_between_wecom_and_the_database_is_recovered_without_duplicates(tmp_path):
    """Simulate the crash in-process: claim, send, then 'die' before recording the answer."""
    clock = ManualClock()
    fake, db = _setup(tmp_path, clock, make_records(2))
    try:
        outbox = Outbox(db)
        with WeComClient(WeComSettings.from_env(fake.env()), clock=clock) as client:
            by_channel = {}
            for row in outbox.due(clock.time()):
                by_channel.setdefault(row.channel, row)
            for row in by_channel.values():
                assert outbox.claim(row.id, f"{os.uname().nodename}:{os.getpid()}:dead", clock.time())
                assert client.send(row.channel, row.payload).status == "sent"  # WeCom acted; we never recorded it
            clock.advance(30)
            report = deliver(outbox, client, clock=clock, handle_signals=False)
        assert report.recovered == 1 and report.in_doubt_failed == 2  # the app message is resent; robot and task are not
        frame = outbox.frame().set_index("id")
        assert frame.loc[by_channel["app"].id, "status"] == "sent"
        for ch in ("robot", "external"):
            assert (frame.loc[by_channel[ch].id, "status"], frame.loc[by_channel[ch].id, "last_error"]) == ("failed", "outcome_unknown")
        assert all(n == 1 for n in fake.delivery_counts().values()) and len(fake.deduplicated) == 1
        # a person checks the robot group, finds nothing, and requeues it: it goes out once more — by decision
        assert outbox.requeue([int(by_channel["robot"].id)], now=clock.time()) == 1
    finally:
        fake.stop()


def test_in_doubt_app_message_is_not_resent_after_the_duplicate_window(tmp_path):
    clock = ManualClock()
    fake, db = _setup(tmp_path, clock, make_records(1))
    try:
        outbox = Outbox(db)
        row = next(r for r in outbox.due(clock.time()) if r.channel == "app")
        assert outbox.claim(row.id, "otherhost:1:x", clock.time())  # another machine: we cannot see its process
        clock.advance(DeliveryPolicy().lease_s + 1)  # the lease expires …
        clock.advance(4 * 3600)  # … and so has WeCom's 4-hour duplicate check
        with WeComClient(WeComSettings.from_env(fake.env()), clock=clock) as client:
            deliver(outbox, client, clock=clock, handle_signals=False)
        assert outbox.get(row.id).status == "failed" and outbox.get(row.id).last_error == "outcome_unknown"
    finally:
        fake.stop()


# ------------------------------------------------------------------------------------------------ killed runs
def _notify(db, fake, *extra, wait=True):
    env = {**os.environ, **fake.env(), "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "workbench", "--lang", "en", "notify", "--db", db, "--send", "--no-progress", "--max-wait", "0", *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        return out
    return proc


def _real_setup(tmp_path, n, recruiters=("hr_li", "hr_wang", "hr_zhao")):
    records = make_records(n, recruiters=recruiters)
    fake = FakeWeCom(members=MEMBERS, external={r["wecom_external_userid"] for r in records}).start()
    db = f"sqlite:///{tmp_path / 'staging.sqlite'}"
    fill_outbox(records, db, review_dir=None, batch=BatchSummary("B1", n, n // 5))
    return fake, db


@pytest.mark.slow
def test_notify_killed_while_wecom_holds_the_answer_app_message(tmp_path):
    fake, db = _real_setup(tmp_path, 6)
    try:
        fake.fault("send", None, None, "hold")  # the third app message is held after WeCom acted on it
        proc = _notify(db, fake, wait=False)
        assert fake.held.wait(60), "the third app message never arrived"
        proc.send_signal(signal.SIGKILL)  # dies after WeCom acted, before the answer reached it
        proc.wait(30)
        fake.release()
        outbox = Outbox(db)
        assert len(outbox.sending()) == 1
        out = _notify(db, fake)
        frame = _assert_exactly_once(outbox, fake)
        assert (frame["status"] == "sent").all(), out
        assert len(fake.deduplicated) == 1  # the resend after the crash was swallowed by WeCom's duplicate check
    finally:
        fake.stop()


@pytest.mark.slow
def test_notify_killed_while_wecom_holds_the_answer_robot_message(tmp_path):
    fake, db = _real_setup(tmp_path, 2)
    try:
        fake.fault("robot", "hold")
        proc = _notify(db, fake, wait=False)
        assert fake.held.wait(60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        fake.release()
        out = _notify(db, fake)
        frame = _assert_exactly_once(Outbox(db), fake)
        robot = frame[frame["channel"] == "robot"].iloc[0]
        assert (robot["status"], robot["last_error"]) == ("failed", "outcome_unknown")
        assert "outcome" in out or "processed" in out  # the summary names the reason
        assert len(fake.delivered_to("robot")) == 1  # it did arrive once; it was not sent again
    finally:
        fake.stop()


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [7, 19])
def test_notify_killed_at_random_points_then_rerun(tmp_path, kill_after):
    fake, db = _real_setup(tmp_path, 20)
    fake.delay = 0.03
    try:
        proc = _notify(db, fake, wait=False)
        deadline = time.time() + 60
        while len(fake.requests) < kill_after and time.time() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        _notify(db, fake)
        frame = _assert_exactly_once(Outbox(db), fake)
        # app messages are always completed; a robot summary or task caught mid-flight may be outcome_unknown
        assert (frame.loc[frame["channel"] == "app", "status"] == "sent").all()
        assert set(frame.loc[frame["status"] == "failed", "last_error"]) <= {"outcome_unknown"}
    finally:
        fake.stop()


@pytest.mark.slow
def test_ctrl_c_finishes_the_message_in_flight(tmp_path):
    fake, db = _real_setup(tmp_path, 20)
    fake.delay = 0.05
    try:
        proc = _notify(db, fake, wait=False)
        deadline = time.time() + 60
        while len(fake.requests) < 5 and time.time() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Interrupted" in out
        outbox = Outbox(db)
        assert outbox.sending() == []  # nothing left in doubt
        assert 0 < outbox.summary(time.time()).counts["sent"] < len(outbox.frame())
        _notify(db, fake)
        frame = _assert_exactly_once(outbox, fake)
        assert (frame["status"] == "sent").all()
    finally:
        fake.stop()


def test_notify_dry_run_sends_nothing_and_writes_the_review(tmp_path):
    fake, db = _real_setup(tmp_path, 3)
    try:
        env = {**os.environ, **fake.env(), "PYTHONPATH": str(ROOT / "src")}
        review = tmp_path / "review"
        res = subprocess.run([sys.executable, "-m", "workbench", "notify", "--db", db, "--review-dir", str(review)],
                             env=env, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert "演练" in res.stdout and fake.requests == []
        lines = (review / "wecom_outbox.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 7  # 3 notices, 3 tasks, 1 robot summary
        for secret in (fake.secret, fake.robot_key):
            assert secret not in res.stdout + res.stderr + "".join(lines)
    finally:
        fake.stop()
