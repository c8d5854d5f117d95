"""The WeCom client against a local WeCom-compatible server: tokens, retries, permanent errors, per-recipient
failures, dropped connections, timeouts — and no secret in any log."""

from __future__ import annotations

import logging
import random

import pytest

from wecom_fake import FakeWeCom
from workbench.errors import ConfigurationError, DeliveryError
from workbench.wecom import CandidateSummary, ManualClock, WeComClient, WeComSettings, recruiter_markdown, robot_batch_summary
from workbench.wecom import BatchSummary

MEMBERS = ("hr_li", "hr_wang", "HR_Zhao")


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def fake(clock):
    server = FakeWeCom(members=MEMBERS, external=("wm_ok",), clock=clock.time).start()
    yield server
    server.stop()


def _client(fake, clock, **kw) -> WeComClient:
    kw.setdefault("rng", random.Random(0))
    return WeComClient(WeComSettings.from_env(fake.env()), clock=clock, **kw)


def _body(to=("hr_li",), n=1):
    c = CandidateSummary(f"c{n}", "teller", "柜员", "ai_interview_done", {"professional": 80}, {"professional": 70})
    return recruiter_markdown(c, list(to))


def test_token_is_cached_until_shortly_before_expiry(fake, clock):
    with _client(fake, clock, token_margin_s=300) as client:
        for i in range(40):
            assert client.send("app", _body(n=i)).status == "sent"
        assert fake.token_fetches == 1
        clock.advance(7200 - 300 - 1)
        assert client.send("app", _body(n=99)).status == "sent" and fake.token_fetches == 1
        clock.advance(2)  # now within the margin: refreshed before WeCom would say 42001
        assert client.send("app", _body(n=100)).status == "sent" and fake.token_fetches == 2
    assert not any('"errcode": 42001' in r["body"] for r in fake.requests)


@pytest.mark.parametrize("fault", ["expire", "invalid_token"])
def test_token_error_refreshes_once_and_sends_once(fake, clock, fault):
    with _client(fake, clock) as client:
        client.send("app", _body(n=0))
        fake.fault("send", fault)
        out = client.send("app", _body(n=1))
    assert out.status == "sent" and fake.token_fetches == 2
    assert len(fake.deliveries) == 2


def test_token_errors_refresh_at_most_once_per_request(fake, clock):
    with _client(fake, clock) as client:
        fake.fault("send", "invalid_token", "invalid_token", "invalid_token")
        out = client.send("app", _body())
    assert out.status == "retry" and out.reason == "token_error"
    assert fake.token_fetches == 2 and out.requests == 2 and fake.deliveries == []


def test_busy_is_retried_with_bounded_backoff(fake, clock):
    with _client(fake, clock, max_retries=3, backoff_base=0.5, backoff_cap=8) as client:
        fake.fault("send", "busy", "busy")
        out = client.send("app", _body())
        assert out.status == "sent" and out.requests == 3
        slept = clock.slept
        assert 0.25 + 0.5 <= slept <= 0.5 + 1.0  # ½–1 × (0.5, 1.0)
        fake.fault("send", *["busy"] * 10)
        out = client.send("app", _body(n=2))
    assert out.status == "retry" and out.reason == "busy" and out.requests == 4  # 1 + max_retries, then give up
    assert len(fake.deliveries) == 1


def test_rate_limit_is_handed_back_with_a_wait_of_a_minute(fake, clock):
    with _client(fake, clock) as client:
        fake.fault("send", "freq")
        out = client.send("app", _body())
    assert out.status == "retry" and out.reason == "rate_limited" and out.errcode == 45009
    assert out.retry_after >= 60 and out.requests == 1 and clock.slept == 0


def test_permanent_errors_are_not_retried(fake, clock):
    with _client(fake, clock) as client:
        out = client.send("app", _body(to=("nobody", "ghost")))
        assert (out.status, out.reason, out.errcode, out.requests) == ("failed", "invalid_recipients", 81013, 1)
        assert out.recipient_results == {"nobody": "invalid_recipients", "ghost": "invalid_recipients"}
        empty = {"touser": "hr_li", "msgtype": "markdown", "markdown": {"content": " "}, "enable_duplicate_check": 1}
        out = client.send("app", empty)
        assert (out.status, out.reason, out.errcode) == ("failed", "empty_content", 44004)
        too_long = {"touser": "hr_li", "msgtype": "markdown", "markdown": {"content": "甲" * 700}}
        assert client.send("app", too_long).reason == "content_too_long"


def test_per_recipient_failures_inside_a_success(fake, clock):
    fake.unlicensed.add("hr_wang")
    with _client(fake, clock) as client:
        out = client.send("app", _body(to=("hr_li", "Ghost_User", "hr_wang", "hr_zhao")))
    assert out.status == "sent"
    # WeCom lower-cases invaliduser; the recorded result keeps the id as we sent it
    assert out.recipient_results == {"hr_li": "ok", "Ghost_User": "invaliduser", "hr_wang": "unlicenseduser", "hr_zhao": "ok"}
    assert {d["recipient"] for d in fake.deliveries} == {"hr_li", "hr_zhao"}


def test_external_task_fail_list_is_recorded_per_customer(fake, clock):
    body = {"chat_type": "single", "external_userid": ["wm_ok", "wm_gone"], "sender": "hr_li", "text": {"content": "您好"}}
    with _client(fake, clock) as client:
        out = client.send("external", body)
    assert out.status == "sent" and out.recipient_results == {"wm_ok": "ok", "wm_gone": "fail_list"}


def test_dropped_connection_after_processing_app_message_is_resent_and_deduplicated(fake, clock):
    with _client(fake, clock) as client:
        fake.fault("send", "drop_after")
        out = client.send("app", _body())
    assert out.status == "sent" and out.requests == 2
    assert len(fake.deliveries) == 1 and len(fake.deduplicated) == 1  # WeCom's duplicate check swallowed the resend


def test_dropped_connection_on_robot_is_unknown_not_resent(fake, clock):
    body = robot_batch_summary(BatchSummary("B1", 10, 2))
    with _client(fake, clock) as client:
        fake.fault("robot", "drop_after")
        out = client.send("robot", body)
        assert (out.status, out.reason, out.requests, out.in_doubt) == ("unknown", "outcome_unknown", 1, True)
        fake.fault("robot", "drop_before")
        assert client.send("robot", body).status == "unknown"  # from outside, the two look the same
    assert len(fake.deliveries) == 1


def test_timeouts_on_every_call(clock):
    fake = FakeWeCom(members=MEMBERS, clock=clock.time, delay=0.6).start()
    try:
        with _client(fake, clock, timeout=0.2, max_retries=1) as client:
            out = client.send("app", _body())
            assert out.status == "retry" and out.reason in ("network_error", "busy")  # the token fetch timed out
            out = client.send("robot", robot_batch_summary(BatchSummary("B1", 1, 1)))
            assert out.status == "unknown"  # a read timeout: WeCom may have acted
    finally:
        fake.stop()


def test_unreachable_server_is_retried_not_failed(clock):
    fake = FakeWeCom(members=MEMBERS, clock=clock.time).start()
    fake.stop()  # nothing listens there any more
    with _client(fake, clock, max_retries=2) as client:
        out = client.send("robot", robot_batch_summary(BatchSummary("B1", 1, 1)))
    assert out.status == "retry" and out.reason == "network_error" and out.requests == 3


def test_wrong_credentials_stop_the_channel(fake, clock):
    env = fake.env(WORKBENCH_WECOM_SECRET="wrong-secret-value")
    with WeComClient(WeComSettings.from_env(env), clock=clock) as client:
        with pytest.raises(DeliveryError) as info:
            client.send("app", _body())
    assert info.value.code == "config_error" and info.value.errcode == 40001


def test_settings_come_from_the_environment_only():
    with pytest.raises(ConfigurationError, match="https"):
        WeComSettings.from_env({"WORKBENCH_WECOM_BASE_URL": "http://qyapi.example.com"})
    s = WeComSettings.from_env({"WORKBENCH_WECOM_CORP_ID": "ww1", "WORKBENCH_WECOM_SECRET": "topsecret"})
    assert s.base_url == "https://qyapi.weixin.qq.com" and "topsecret" not in repr(s) and "ww1" not in repr(s)
    assert s.missing_for("app") == ["WORKBENCH_WECOM_AGENT_ID"]
    with WeComClient(s) as client, pytest.raises(DeliveryError, match="WORKBENCH_WECOM_ROBOT_KEY"):
        client.send("robot", {"msgtype": "markdown", "markdown": {"content": "x"}})


def test_secrets_never_reach_the_logs(fake, clock, caplog):
    caplog.set_level(logging.DEBUG)  # everything, including httpx's request lines with their query strings
    with _client(fake, clock, max_retries=1) as client:
        fake.fault("send", "expire", "busy")
        client.send("app", _body())
        fake.fault("robot", "drop_after")
        client.send("robot", robot_batch_summary(BatchSummary("B1", 1, 1)))
        tokens = list(fake.tokens)
    text = caplog.text
    assert "HTTP Request" in text  # httpx did log the requests …
    for secret in (fake.secret, fake.robot_key, *tokens):
        assert secret not in text  # … without the credentials in their URLs
    assert "corpsecret=***" in text or "access_token=***" in text
