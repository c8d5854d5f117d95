"""A small WeCom API client on httpx: four endpoints, bounded retries, timeouts everywhere, no secret in any log.

Why not a library: wechatpy 1.8.18 refreshes tokens in an unbounded loop, has no timeout by default (none at
all on the token fetch), hard-codes the production ``gettoken`` URL and has no group robot
(``/work/shared/reference/integration.md`` §2). This client

* reads credentials only from the environment (``WORKBENCH_WECOM_*``), never from parameters or files;
* caches the access token until ``token_margin_s`` before it expires, and refreshes it at most once per
  request when WeCom answers 40014 / 42001 / 40001;
* retries busy (-1), data conflicts (6000) and network errors inside one request with bounded exponential
  backoff and jitter; hands 45009 (frequency limit) back to the caller with a ``retry_after`` of at least a
  minute (WeCom blocks for the rest of the minute); never retries permanent errors (81013, 40003, 44004 …);
* decides on ``errcode``, never on ``errmsg``, and reports per-recipient failures inside ``errcode 0``
  (``invaliduser`` / ``invalidparty`` / ``invalidtag`` / ``unlicenseduser``; ``fail_list`` for tasks);
* resends an app message after an ambiguous network failure only because its body asks WeCom to drop an
  identical request within the duplicate-check interval; a robot message or a customer-contact task that
  may have arrived is reported as ``unknown`` instead of being sent twice.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from ..errors import ConfigurationError, DeliveryError
from ._clock import Clock, SystemClock
from ._outbox import canonical_json

__all__ = ["WeComSettings", "WeComClient", "SendOutcome", "ENV", "redact", "classify_errcode"]

log = logging.getLogger("workbench.wecom")

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
ENV = {
    "base_url": "WORKBENCH_WECOM_BASE_URL",
    "corp_id": "WORKBENCH_WECOM_CORP_ID",
    "secret": "WORKBENCH_WECOM_SECRET",
    "agent_id": "WORKBENCH_WECOM_AGENT_ID",
    "robot_key": "WORKBENCH_WECOM_ROBOT_KEY",
}
TOKEN_ERRORS = frozenset({40014, 42001, 40001})
RETRY_INLINE = frozenset({-1, 6000})
RATE_LIMITED = 45009
CONFIG_ERRORS = frozenset({40013, 40001, 40091, 40056, 41002, 41004, 40089})
_PERMANENT = {
    81013: "invalid_recipients", 40003: "invalid_userid", 60111: "invalid_userid", 44004: "empty_content",
    40058: "content_too_long", 45002: "content_too_long", 40008: "invalid_request", 40035: "invalid_request",
    40031: "invalid_recipients", 40032: "invalid_request", 41001: "invalid_request", 48002: "no_permission",
    60011: "no_permission", 60020: "no_permission", 40056: "config_error", 40013: "config_error",
}
_SECRET_PARAMS = re.compile(r"((?:corpsecret|access_token|key)=)[^&\s\"'<>]+", re.I)


def classify_errcode(errcode: int) -> str:
    """The reason code of a non-zero errcode that is not retried (``unknown_errcode`` if not in our table)."""
    return _PERMANENT.get(int(errcode), "unknown_errcode")


def redact(text: object, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with secret query parameters and any of ``secrets`` replaced by ``***``."""
    out = _SECRET_PARAMS.sub(r"\1***", str(text))
    for s in secrets:
        if s and len(s) >= 4:
            out = out.replace(s, "***")
    return out


class _RedactingFilter(logging.Filter):
    """Installed on httpx/httpcore loggers: they log request URLs, and WeCom puts credentials in the query."""

    def __init__(self, client: "WeComClient"):
        super().__init__()
        self._client = client

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # never break logging
            return True
        clean = redact(message, self._client._secret_values())
        if clean != message:
            record.msg, record.args = clean, ()
        return True


@dataclass(frozen=True)
class WeComSettings:
    """Where and as whom to talk to WeCom. Build it with :meth:`from_env`; secrets are hidden from ``repr``."""

    base_url: str = DEFAULT_BASE_URL
    corp_id: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    agent_id: int | None = None
    robot_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "WeComSettings":
        env = os.environ if env is None else env
        base = (env.get(ENV["base_url"]) or DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(base)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback) or not parts.hostname:
            raise ConfigurationError(f"{ENV['base_url']} must be an https:// URL (plain http only to 127.0.0.1 for tests), got {base!r}")
        agent = env.get(ENV["agent_id"])
        try:
            agent_id = int(agent) if agent else None
        except ValueError:
            raise ConfigurationError(f"{ENV['agent_id']} must be the app's integer AgentId") from None
        return cls(base_url=base, corp_id=env.get(ENV["corp_id"]) or None, secret=env.get(ENV["secret"]) or None,
                   agent_id=agent_id, robot_key=env.get(ENV["robot_key"]) or None)

    def missing_for(self, channel: str) -> list[str]:
        need = {"app": ("corp_id", "secret", "agent_id"), "external": ("corp_id", "secret"), "robot": ("robot_key",)}[channel]
        return [ENV[k] for k in need if getattr(self, k) in (None, "")]


@dataclass
class SendOutcome:
    """What one send came to. ``status``: sent | retry | failed | unknown (may have arrived; do not resend)."""

    status: str
    reason: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    msgid: str | None = None
    recipient_results: dict[str, str] = field(default_factory=dict)
    retry_after: float = 0.0
    in_doubt: bool = False  # an attempt may have reached WeCom without an answer
    requests: int = 0


class WeComClient:
    """Send app messages, group-robot messages and customer-contact tasks. Use as a context manager.

    ``clock`` (``time()``/``sleep()``) and ``rng`` are injectable so tests control time and jitter; ``transport``
    is passed to httpx (tests may use one, but the suite talks to a real local server).
    """

    def __init__(self, settings: WeComSettings | None = None, *, clock: Clock | None = None, timeout: float = 10.0,
                 max_retries: int = 3, backoff_base: float = 0.5, backoff_cap: float = 8.0, rate_limit_wait: float = 60.0,
                 token_margin_s: float = 300.0, rng: random.Random | None = None, transport: httpx.BaseTransport | None = None):
        self.settings = settings or WeComSettings.from_env()
        self.clock = clock or SystemClock()
        self.max_retries = int(max_retries)
        self.backoff_base, self.backoff_cap = float(backoff_base), float(backoff_cap)
        self.rate_limit_wait = float(rate_limit_wait)
        self.token_margin_s = float(token_margin_s)
        self.rng = rng or random.Random()
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._lock = threading.Lock()
        self.token_fetches = 0
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), transport=transport,
                                  follow_redirects=False, headers={"User-Agent": "workbench-wecom"})
        self._filter = _RedactingFilter(self)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(self._filter)

    # ------------------------------------------------------------------------------------------ plumbing
    def _secret_values(self) -> tuple[str, ...]:
        s = self.settings
        return tuple(x for x in (s.secret, s.robot_key, self._token, s.corp_id) if x)

    def close(self) -> None:
        self._http.close()
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._filter)

    def __enter__(self) -> "WeComClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _url(self, path: str) -> str:
        return f"{self.settings.base_url}/cgi-bin/{path}"

    def _sleep_backoff(self, attempt: int) -> None:
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** attempt)
        self.clock.sleep(ceiling * (0.5 + 0.5 * self.rng.random()))

    def _clean(self, text: object, limit: int = 300) -> str:
        return redact(text, self._secret_values())[:limit]

    # ------------------------------------------------------------------------------------------ token
    def access_token(self, *, force: bool = False) -> str:
        """The cached token, fetched if missing, expiring within the margin, or ``force``-d (once per request)."""
        with self._lock:
            if not force and self._token and self.clock.time() < self._token_expires_at:
                return self._token
            missing = self.settings.missing_for("app" if self.settings.agent_id is not None else "external")
            if missing:
                raise ConfigurationError(f"WeCom credentials missing from the environment: {', '.join(missing)}")
            last: str = "network_error"
            for attempt in range(self.max_retries + 1):
                if attempt:
                    self._sleep_backoff(attempt - 1)
                try:
                    self.token_fetches += 1
                    resp = self._http.get(self._url("gettoken"), params={"corpid": self.settings.corp_id, "corpsecret": self.settings.secret})
                    data = resp.json()
                except (httpx.TransportError, ValueError) as exc:
                    last = "network_error" if isinstance(exc, httpx.TransportError) else "bad_response"
                    log.warning("wecom gettoken failed: %s", self._clean(type(exc).__name__))
                    continue
                code = int(data.get("errcode", 0) or 0)
                if code == 0 and data.get("access_token"):
                    self._token = str(data["access_token"])
                    expires_in = float(data.get("expires_in") or 7200)
                    self._token_expires_at = self.clock.time() + max(expires_in - self.token_margin_s, expires_in / 2)
                    return self._token
                if code in RETRY_INLINE or code == RATE_LIMITED:
                    last = "busy" if code in RETRY_INLINE else "rate_limited"
                    continue
                raise DeliveryError(f"WeCom refused the credentials (gettoken errcode {code}); check {ENV['corp_id']} and {ENV['secret']}",
                                    code="config_error", errcode=code)
            raise DeliveryError(f"could not obtain a WeCom access token ({last}) after {self.max_retries + 1} tries", code=last, transient=True)

    # ------------------------------------------------------------------------------------------ sending
    def send(self, channel: str, body: dict) -> SendOutcome:
        """Send one stored body on ``channel`` (app / robot / external). Raises :class:`DeliveryError` only when
        the channel cannot work at all (credentials missing or refused); everything else is an outcome."""
        missing = self.settings.missing_for(channel)
        if missing:
            raise DeliveryError(f"WeCom {channel} channel needs {', '.join(missing)} in the environment", code="config_error")
        if channel == "app":
            wire = {**body, "agentid": self.settings.agent_id}
            return self._post("message/send", wire, token=True, idempotent=bool(body.get("enable_duplicate_check")), channel=channel)
        if channel == "robot":
            return self._post("webhook/send", body, token=False, idempotent=False, channel=channel)
        if channel == "external":
            return self._post("externalcontact/add_msg_template", body, token=True, idempotent=False, channel=channel)
        raise ValueError(f"unknown channel {channel!r}")

    def _post(self, path: str, body: dict, *, token: bool, idempotent: bool, channel: str) -> SendOutcome:
        content = canonical_json(body).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        refreshed = in_doubt = False
        last = SendOutcome(status="retry", reason="network_error")
        requests = attempt = 0
        while attempt <= self.max_retries:
            try:
                params = {"access_token": self.access_token()} if token else {"key": self.settings.robot_key}
            except DeliveryError as exc:
                if not exc.transient:
                    raise
                return SendOutcome(status="retry", reason=exc.code, errmsg=self._clean(exc), in_doubt=in_doubt, requests=requests)
            requests += 1
            try:
                resp = self._http.post(self._url(path), params=params, content=content, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                last = SendOutcome(status="retry", reason="network_error", errmsg=self._clean(type(exc).__name__))  # never left
            except httpx.TransportError as exc:
                in_doubt = True  # read/write timeout or dropped connection: WeCom may have acted on it
                if not idempotent:
                    return SendOutcome(status="unknown", reason="outcome_unknown", errmsg=self._clean(type(exc).__name__), in_doubt=True, requests=requests)
                last = SendOutcome(status="retry", reason="network_error", errmsg=self._clean(type(exc).__name__))
            else:
                outcome = self._interpret(resp, body, channel, idempotent)
                in_doubt = in_doubt or outcome.in_doubt
                if outcome.reason == "token_error" and token and not refreshed:
                    refreshed = True  # at most once per request; does not count as a retry
                    self.access_token(force=True)
                    continue
                if not (outcome.status == "retry" and outcome.reason in ("busy", "http_error", "bad_response")):
                    outcome.requests = requests
                    outcome.in_doubt = outcome.status == "unknown" or (in_doubt and outcome.status != "sent")
                    return outcome  # sent, failed, unknown, rate limited, or a token error after the one refresh
                last = outcome
            attempt += 1
            if attempt <= self.max_retries:
                self._sleep_backoff(attempt - 1)
        last.requests, last.in_doubt = requests, in_doubt
        return last

    def _interpret(self, resp: httpx.Response, body: dict, channel: str, idempotent: bool) -> SendOutcome:
        if resp.status_code != 200:
            # 5xx/429 may come from a gateway after WeCom acted; other statuses mean the request was refused
            if resp.status_code >= 500 or resp.status_code == 429:
                if not idempotent:
                    return SendOutcome(status="unknown", reason="outcome_unknown", errmsg=f"HTTP {resp.status_code}")
                return SendOutcome(status="retry", reason="http_error", errmsg=f"HTTP {resp.status_code}", in_doubt=True)
            return SendOutcome(status="failed", reason="http_error", errmsg=f"HTTP {resp.status_code}")
        try:
            data = resp.json()
            code = int(data.get("errcode", 0) or 0)
        except (ValueError, AttributeError, TypeError):
            if not idempotent:
                return SendOutcome(status="unknown", reason="outcome_unknown", errmsg="response is not JSON")
            return SendOutcome(status="retry", reason="bad_response", errmsg="response is not JSON", in_doubt=True)
        errmsg = self._clean(data.get("errmsg", ""))
        if code == 0:
            return SendOutcome(status="sent", errcode=0, msgid=str(data["msgid"]) if data.get("msgid") is not None else None,
                               recipient_results=self._recipient_results(channel, body, data))
        if code in TOKEN_ERRORS:
            return SendOutcome(status="retry", reason="token_error", errcode=code, errmsg=errmsg)
        if code in RETRY_INLINE:
            return SendOutcome(status="retry", reason="busy", errcode=code, errmsg=errmsg)
        if code == RATE_LIMITED:
            wait = self.rate_limit_wait * (1 + 0.25 * self.rng.random())
            return SendOutcome(status="retry", reason="rate_limited", errcode=code, errmsg=errmsg, retry_after=wait)
        if code in CONFIG_ERRORS:
            raise DeliveryError(f"WeCom refused the configuration (errcode {code}: {errmsg}); check {ENV['agent_id']} and the app's rights",
                                code="config_error", errcode=code)
        reason = classify_errcode(code)
        results = {r: reason for r in _recipients(channel, body)} if code == 81013 else {}
        return SendOutcome(status="failed", reason=reason, errcode=code, errmsg=errmsg, recipient_results=results)

    @staticmethod
    def _recipient_results(channel: str, body: dict, data: dict) -> dict[str, str]:
        recipients = _recipients(channel, body)
        results = {r: "ok" for r in recipients}
        if channel == "app":
            for field_name in ("invaliduser", "unlicenseduser"):
                bad = {x.lower() for x in str(data.get(field_name) or "").split("|") if x}
                for r in recipients:
                    if r.lower() in bad:  # WeCom returns invaliduser lower-cased
                        results[r] = field_name
            for field_name in ("invalidparty", "invalidtag"):
                for x in str(data.get(field_name) or "").split("|"):
                    if x:
                        results[f"{field_name}:{x}"] = field_name
        elif channel == "external":
            for x in data.get("fail_list") or []:
                results[str(x)] = "fail_list"
        return results


def _recipients(channel: str, body: dict) -> list[str]:
    if channel == "app":
        return [x for x in str(body.get("touser", "")).split("|") if x]
    if channel == "external":
        return [str(x) for x in body.get("external_userid") or []]
    return ["robot"]


