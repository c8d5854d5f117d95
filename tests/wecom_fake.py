"""A local WeCom-compatible HTTP server for the tests (127.0.0.1 only, started and stopped by the tests).

It implements the four endpoints the workbench uses, with WeCom's documented behaviour written here
independently of ``workbench.wecom`` (so a shared misunderstanding cannot make both sides agree):

* ``GET /cgi-bin/gettoken`` — tokens expire after ``token_ttl`` seconds of the server's clock;
* ``POST /cgi-bin/message/send`` — per member at most 30 per minute and 1000 per hour: the excess is
  **dropped silently** with errcode 0, exactly as WeCom does (``dropped`` records it so tests can assert
  none happened); ``enable_duplicate_check`` drops a repeat of the same request JSON within the interval;
  unknown members come back in ``invaliduser`` (lower-cased) or, if all are unknown, errcode 81013;
  byte limits (text/markdown 2048, textcard title 128 / description 512) → 40058 / 45002;
* ``POST /cgi-bin/webhook/send`` — 20 per minute per robot (45009 beyond), markdown ≤ 4096 bytes (40058);
* ``POST /cgi-bin/externalcontact/add_msg_template`` — text ≤ 4000 bytes, unknown customers in ``fail_list``.

Faults are queued per endpoint: ``busy`` (-1), ``freq`` (45009), ``expire`` (token expired: 42001 and every
token invalidated), ``invalid_token`` (40014), ``drop_after`` (processed, then the connection is closed
without an answer), ``drop_before`` (closed without processing), ``http500``, ``hold`` (processed, then
the answer waits until ``release()`` — lets a test kill the client between WeCom's action and its answer).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MEMBER_PER_MIN, MEMBER_PER_HOUR, ROBOT_PER_MIN = 30, 1000, 20


def _b(text: str) -> int:
    return len(text.encode("utf-8"))


class FakeWeCom:
    def __init__(self, *, corp_id="wwtestcorp0001", secret="S3cr3t-app-secret-0123456789abcdef", agent_id=1000002,
                 robot_key="robot-key-5f2c9e1a-77aa-4b0e-9c1d-0123456789ab", members=(), external=(), unlicensed=(),
                 clock=time.time, token_ttl=7200, delay=0.0):
        self.corp_id, self.secret, self.agent_id, self.robot_key = corp_id, secret, agent_id, robot_key
        self.members = {m.lower() for m in members}
        self.external = set(external)
        self.unlicensed = {m.lower() for m in unlicensed}
        self.clock, self.token_ttl, self.delay = clock, token_ttl, delay
        self.lock = threading.RLock()
        self.tokens: dict[str, float] = {}
        self.token_fetches = 0
        self.faults: dict[str, deque] = defaultdict(deque)
        self.deliveries: list[dict] = []  # what reached a person (or a recruiter's task list)
        self.dropped: list[dict] = []  # over WeCom's per-member limit: silently not delivered
        self.deduplicated: list[dict] = []  # repeats WeCom's duplicate check swallowed
        self.requests: list[dict] = []  # every request: path, query, body text
        self._dedupe: dict[str, float] = {}
        self._member_times: dict[str, deque] = defaultdict(deque)
        self._robot_times: deque = deque()
        self._task_ids: set[str] = set()
        self.held = threading.Event()
        self._release = threading.Event()
        self._httpd = None

    # ------------------------------------------------------------------------------------------ control
    def fault(self, endpoint: str, *names: str) -> None:
        """Queue faults for the next requests to ``endpoint`` (gettoken / send / robot / task)."""
        with self.lock:
            self.faults[endpoint].extend(names)

    def release(self) -> None:
        self._release.set()

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def delivered_to(self, recipient: str) -> list[dict]:
        return [d for d in self.deliveries if d["recipient"] == recipient]

    def delivery_counts(self) -> dict[str, int]:
        """How many times each distinct message body reached each recipient."""
        out: dict[str, int] = defaultdict(int)
        for d in self.deliveries:
            out[f"{d['recipient']}|{d['sha']}"] += 1
        return dict(out)

    def start(self) -> "FakeWeCom":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body leave in one write (two small writes meet Nagle + delayed ACK: 40 ms each)

            def log_message(self, *a):
                pass

            def _reply(self, obj, status=200):
                data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else b""
                endpoint = {"/cgi-bin/gettoken": "gettoken", "/cgi-bin/message/send": "send", "/cgi-bin/webhook/send": "robot",
                            "/cgi-bin/externalcontact/add_msg_template": "task"}.get(parts.path)
                with fake.lock:
                    fake.requests.append({"endpoint": endpoint, "path": parts.path, "query": parts.query, "body": body.decode("utf-8", "replace")})
                    fault = fake.faults[endpoint].popleft() if endpoint and fake.faults[endpoint] else None
                if fake.delay:
                    time.sleep(fake.delay)
                if endpoint is None:
                    return self._reply({"errcode": 404, "errmsg": "not found"}, 404)
                if fault == "drop_before":
                    self.close_connection = True
                    return
                if fault == "http500":
                    return self._reply({"errcode": -1, "errmsg": "internal"}, 500)
                if fault == "busy":
                    return self._reply({"errcode": -1, "errmsg": "system busy"})
                if fault == "freq":
                    return self._reply({"errcode": 45009, "errmsg": "api freq out of limit"})
                if fault == "invalid_token":
                    return self._reply({"errcode": 40014, "errmsg": "invalid access_token"})
                if fault == "expire":
                    fake.expire_tokens()
                    return self._reply({"errcode": 42001, "errmsg": "access_token expired"})
                result = getattr(fake, f"_do_{endpoint}")(query, body)
                if fault == "drop_after":
                    self.close_connection = True
                    return
                if fault == "hold":
                    fake.held.set()
                    fake._release.wait(30)
                self._reply(result)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def env(self, **extra) -> dict[str, str]:
        return {"WORKBENCH_WECOM_BASE_URL": self.base_url, "WORKBENCH_WECOM_CORP_ID": self.corp_id, "WORKBENCH_WECOM_SECRET": self.secret,
                "WORKBENCH_WECOM_AGENT_ID": str(self.agent_id), "WORKBENCH_WECOM_ROBOT_KEY": self.robot_key, **extra}

    # ------------------------------------------------------------------------------------------ endpoints
    def _token_ok(self, query) -> dict | None:
        tok = query.get("access_token")
        if not tok:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        exp = self.tokens.get(tok)
        if exp is None:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if self.clock() >= exp:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def _do_gettoken(self, query, body):
        with self.lock:
            self.token_fetches += 1
            if query.get("corpid") != self.corp_id:
                return {"errcode": 40013, "errmsg": "invalid corpid"}
            if query.get("corpsecret") != self.secret:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            tok = secrets.token_hex(24)
            self.tokens[tok] = self.clock() + self.token_ttl
            return {"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": self.token_ttl}

    def _member_allows(self, user: str, now: float) -> bool:
        q = self._member_times[user]
        while q and q[0] <= now - 3600:
            q.popleft()
        last_minute = sum(1 for t in q if t > now - 60)
        if last_minute >= MEMBER_PER_MIN or len(q) >= MEMBER_PER_HOUR:
            return False
        q.append(now)
        return True

    def _do_send(self, query, body):
        with self.lock:
            bad = self._token_ok(query)
            if bad:
                return bad
            try:
                msg = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return {"errcode": 40035, "errmsg": "Warning: wrong json format."}
            if msg.get("agentid") != self.agent_id:
                return {"errcode": 40056, "errmsg": "invalid agentid"}
            now = self.clock()
            sha = hashlib.sha256(body).hexdigest()
            if msg.get("enable_duplicate_check") == 1:
                interval = int(msg.get("duplicate_check_interval", 1800))
                if interval > 4 * 3600:
                    return {"errcode": 40035, "errmsg": "invalid duplicate_check_interval"}
                seen = self._dedupe.get(sha)
                if seen is not None and now - seen < interval:
                    self.deduplicated.append({"sha": sha, "t": now})
                    return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "dup-" + sha[:16]}
            problem = self._check_app(msg)
            if problem:
                return problem
            users = [u for u in str(msg.get("touser", "")).split("|") if u]
            if not users or len(users) > 1000:
                return {"errcode": 40031, "errmsg": "invalid user list"}
            invalid = [u.lower() for u in users if u.lower() not in self.members]
            unlicensed = [u.lower() for u in users if u.lower() in self.unlicensed and u.lower() in self.members]
            valid = [u for u in users if u.lower() in self.members and u.lower() not in self.unlicensed]
            if not valid:
                return {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
            card = msg.get("template_card") or {}
            if card.get("task_id"):
                if card["task_id"] in self._task_ids:
                    return {"errcode": 40035, "errmsg": "task_id exists"}
                self._task_ids.add(card["task_id"])
            if msg.get("enable_duplicate_check") == 1:
                self._dedupe[sha] = now
            for u in valid:
                rec = {"channel": "app", "recipient": u.lower(), "sha": sha, "t": now, "msgtype": msg.get("msgtype")}
                (self.deliveries if self._member_allows(u.lower(), now) else self.dropped).append(rec)
            return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "unlicenseduser": "|".join(unlicensed),
                    "msgid": "msg-" + sha[:16]}

    @staticmethod
    def _check_app(msg) -> dict | None:
        t = msg.get("msgtype")
        if t in ("text", "markdown"):
            content = (msg.get(t) or {}).get("content") or ""
            if not content.strip():
                return {"errcode": 44004, "errmsg": "empty content"}
            if _b(content) > 2048:
                return {"errcode": 40058, "errmsg": f"{t}.content exceed max length 2048"}
        elif t == "textcard":
            c = msg.get("textcard") or {}
            if _b(c.get("title", "")) > 128 or _b(c.get("description", "")) > 512:
                return {"errcode": 45002, "errmsg": "content size out of limit"}
            if not re.match(r"^https?://", c.get("url", "")):
                return {"errcode": 40035, "errmsg": "invalid url"}
        elif t == "template_card":
            c = msg.get("template_card") or {}
            if c.get("card_type") not in ("text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"):
                return {"errcode": 40035, "errmsg": "invalid card_type"}
            if c.get("card_type") == "text_notice" and not (c.get("card_action") or {}).get("url"):
                return {"errcode": 40035, "errmsg": "card_action required"}
            if c.get("card_type") == "button_interaction" and not (c.get("task_id") and c.get("button_list")):
                return {"errcode": 40035, "errmsg": "task_id and button_list required"}
            if "task_id" in c and not re.match(r"^[0-9A-Za-z_\-@]{1,128}$", c["task_id"]):
                return {"errcode": 40035, "errmsg": "invalid task_id"}
            if len(c.get("button_list") or []) > 6 or len(c.get("horizontal_content_list") or []) > 6:
                return {"errcode": 40035, "errmsg": "too many items"}
            if any(_b(b.get("key", "")) > 1024 for b in c.get("button_list") or []):
                return {"errcode": 40035, "errmsg": "key too long"}
        else:
            return {"errcode": 40008, "errmsg": "invalid message type"}
        return None

    def _do_robot(self, query, body):
        with self.lock:
            if query.get("key") != self.robot_key:
                return {"errcode": 93000, "errmsg": "invalid webhook url"}
            msg = json.loads(body.decode("utf-8"))
            now = self.clock()
            while self._robot_times and self._robot_times[0] <= now - 60:
                self._robot_times.popleft()
            if len(self._robot_times) >= ROBOT_PER_MIN:
                return {"errcode": 45009, "errmsg": "api freq out of limit"}
            content = (msg.get("markdown") or msg.get("text") or {}).get("content", "")
            if _b(content) > (4096 if msg.get("msgtype") == "markdown" else 2048):
                return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096. invalid Request Parameter"}
            self._robot_times.append(now)
            self.deliveries.append({"channel": "robot", "recipient": "robot", "sha": hashlib.sha256(body).hexdigest(), "t": now})
            return {"errcode": 0, "errmsg": "ok"}

    def _do_task(self, query, body):
        with self.lock:
            bad = self._token_ok(query)
            if bad:
                return bad
            msg = json.loads(body.decode("utf-8"))
            content = (msg.get("text") or {}).get("content", "")
            if _b(content) > 4000:
                return {"errcode": 40058, "errmsg": "text.content exceed max length 4000"}
            if not content.strip() and not msg.get("attachments"):
                return {"errcode": 44004, "errmsg": "empty content"}
            if msg.get("sender", "").lower() not in self.members:
                return {"errcode": 60111, "errmsg": "userid not found"}
            ids = msg.get("external_userid") or []
            fail = [x for x in ids if x not in self.external]
            now = self.clock()
            sha = hashlib.sha256(body).hexdigest()
            for x in ids:
                if x not in fail:
                    self.deliveries.append({"channel": "external", "recipient": x, "sha": sha, "t": now})
            return {"errcode": 0, "errmsg": "ok", "fail_list": fail, "msgid": "task-" + sha[:16]}


# ---------------------------------------------------------------------------------------------- test data
def make_records(n: int, *, recruiters=("hr_li", "hr_wang", "hr_zhao"), seed: int = 3, stage: str = "ai_interview_done",
                 external_share: float = 1.0) -> list[dict]:
    """Export-shaped candidate records (what the export stage hands to ``fill_outbox``)."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append({
            "candidate_ref": f"c{seed:02d}{i:06d}",
            "role_id": "teller",
            "requisition_id": f"REQ-{i % 4}",
            "site": "北京分行",
            "hiring_stage": stage,
            "dimension_scores": {"professional": rng.randint(40, 99), "general": rng.randint(40, 99), "culture": rng.randint(40, 99)},
            "role_mean": {"professional": 78, "general": 75, "culture": 70},
            "overall_score": rng.randint(40, 99),
            "feedback_suggestions": ["建议加强对银行合规文化的理解", {"text": "回答时用 STAR 结构说明结果𠀀"}],
            "recruiter_ids": [recruiters[i % len(recruiters)]],
            "wecom_external_userid": f"wm{seed:02d}{i:028d}" if rng.random() < external_share else None,
        })
    return out
