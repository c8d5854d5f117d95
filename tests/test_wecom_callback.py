"""Inbound events: WeCom's callback crypto against its official sample vectors, forged / tampered / replayed
callbacks rejected, a valid one changing the stage exactly once, onboarding, re-export, CSV events."""

from __future__ import annotations

import base64
import logging
import threading
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa

from workbench.cli import main
from workbench.errors import CallbackRejected, ConfigurationError
from workbench.wecom import (
    CallbackHandler,
    CallbackServer,
    ManualClock,
    Outbox,
    StageEvent,
    StageLedger,
    WeComCrypto,
    event_key,
    fill_outbox,
    import_events_csv,
)
from wecom_fake import make_records

# The official sample (callback/Sample.py of the WeCom Python sample code, github.com/sbzhu/weworkapi_python):
# configuration, a URL-verification GET and an encrypted POST, with the signatures WeCom computed.
OFFICIAL = dict(token="hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", aes_key="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", corp_id="ww1436e0e65a779aee")
OFFICIAL_GET = dict(msg_signature="012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", timestamp="1476416373", nonce="47744683",
                    echostr="fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==")
OFFICIAL_POST = dict(
    msg_signature="0c3914025cb4b4d68103f6bfc8db550f79dcf48e", timestamp="1476422779", nonce="1597212914",
    body=("<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8Ns"
          "lNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3J"
          "WcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQD"
          "CWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"),
)
TOKEN, AES_KEY, CORP = "cbToken-Not-In-Logs-7f3a9c", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wwtestcorp0001"


def official() -> WeComCrypto:
    return WeComCrypto(OFFICIAL["token"], OFFICIAL["aes_key"], OFFICIAL["corp_id"])


def test_official_url_verification_vector():
    assert official().verify_url(**OFFICIAL_GET) == "1288432023552776189"


def test_official_message_vector():
    c = official()
    msg = c.decrypt_message(OFFICIAL_POST["body"].encode(), OFFICIAL_POST["msg_signature"], OFFICIAL_POST["timestamp"], OFFICIAL_POST["nonce"])
    assert msg.decode() == ("<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779"
                            "</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>")
    raw = base64.b64decode(c.extract_encrypt(OFFICIAL_POST["body"].encode()))
    assert len(raw) % 32 == 0 and raw[-1] != 0  # padded to 32-byte blocks (the vector has pad 22)


def test_round_trip_and_32_byte_padding():
    c = WeComCrypto(TOKEN, AES_KEY, CORP)
    for n in range(0, 70):
        msg = ("甲𠀀" * n).encode()
        enc = c.encrypt(msg)
        assert len(base64.b64decode(enc)) % 32 == 0
        assert c.decrypt(enc) == msg
    assert c.encrypt("x") != c.encrypt("x")  # the random prefix makes equal messages differ under the fixed IV


def test_tampering_and_wrong_receiver_are_refused():
    c = WeComCrypto(TOKEN, AES_KEY, CORP)
    enc = base64.b64decode(c.encrypt("<xml/>"))
    for i in (0, 20, len(enc) - 1):  # flip one byte: the padding or length check fails, never silently garbage
        bad = bytearray(enc)
        bad[i] ^= 0x41
        with pytest.raises(CallbackRejected) as info:
            c.decrypt(base64.b64encode(bytes(bad)).decode())
        assert info.value.reason in ("decrypt_failed", "wrong_receiver")
    other = WeComCrypto(TOKEN, AES_KEY, "ww-another-corp")
    with pytest.raises(CallbackRejected) as info:
        c.decrypt(other.encrypt("<xml/>"))
    assert info.value.reason == "wrong_receiver"
    with pytest.raises(ConfigurationError, match="43"):
        WeComCrypto(TOKEN, "short", CORP)
    assert TOKEN not in repr(c) and AES_KEY not in repr(c)


# ------------------------------------------------------------------------------------------------ the loop
class Env:
    def __init__(self, tmp_path, stage="offer_sent", reexport=None):
        self.clock = ManualClock()
        self.db = f"sqlite:///{tmp_path / 'staging.sqlite'}"
        self.records = make_records(3, recruiters=("hr_li",), stage=stage)
        fill_outbox(self.records, self.db, review_dir=None, clock=self.clock, link_template="https://ehr.bank/c/{candidate_ref}")
        self.calls = []
        self.ledger = StageLedger(self.db, reexport=reexport or self.calls.append, clock=self.clock)
        self.crypto = WeComCrypto(TOKEN, AES_KEY, CORP)
        self.handler = CallbackHandler(self.crypto, self.ledger, clock=self.clock)
        self.n = 0

    def ref(self, i=0):
        return self.records[i]["candidate_ref"]

    def task_id(self, i=0):
        row = next(r for r in Outbox(self.db).rows() if r.candidate_ref == self.ref(i) and r.kind == "recruiter_notice")
        return row.payload["template_card"]["task_id"]

    def event_xml(self, stage, i=0, actor="hr_li", created=None, key=None, task=None):
        created = int(self.clock.time()) if created is None else created
        key = key or event_key(stage, self.ref(i))
        return (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[{actor}]]></FromUserName><CreateTime>{created}</CreateTime>"
                f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
                f"<TaskId><![CDATA[{task or self.task_id(i)}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
                f"<ResponseCode><![CDATA[rc-1]]></ResponseCode><AgentID>1000002</AgentID></xml>")

    def request(self, xml, *, nonce=None, ts=None, token=TOKEN):
        self.n += 1
        ts = str(int(self.clock.time()) if ts is None else ts)
        nonce = nonce or f"n{self.n:08d}"
        signer = WeComCrypto(token, AES_KEY, CORP)
        body, sig = signer.encrypt_message(xml, timestamp=ts, nonce=nonce)
        return urlencode({"msg_signature": sig, "timestamp": ts, "nonce": nonce}), body


def test_valid_callback_moves_the_stage_exactly_once(tmp_path):
    env = Env(tmp_path)
    xml = env.event_xml("offer_accepted")
    q, body = env.request(xml)
    first = env.handler.handle("POST", q, body)
    assert (first.status, first.reason) == (200, "applied")
    assert env.ledger.stage_of(env.ref()) == "offer_accepted"
    again = env.handler.handle("POST", *env.request(xml))  # WeCom's retry: same event, new nonce
    assert (again.status, again.reason) == (200, "duplicate")
    replay = env.handler.handle("POST", q, body)  # the very same request again
    assert (replay.status, replay.reason) == (403, "replayed")
    hist = env.ledger.history(env.ref())
    assert list(hist["to_stage"]) == ["offer_accepted"] and list(hist["source"]) == ["callback"]
    steps = env.ledger.onboarding(env.ref())
    assert list(steps["step"]) == ["medical_exam", "sign_contract", "enter_employee_info"] and set(steps["status"]) == {"todo"}
    assert [(c.candidate_ref, c.from_stage, c.to_stage) for batch in env.calls for c in batch] == [(env.ref(), "offer_sent", "offer_accepted")]
    assert env.calls[0][0].onboarding_steps == ("medical_exam", "sign_contract", "enter_employee_info")
    notes = [r for r in Outbox(env.db).rows() if r.kind == "stage_changed"]
    assert len(notes) == 1 and "体检 → 签订合同 → 录入员工信息" in notes[0].payload["markdown"]["content"]
    assert env.ledger.pending_reexports() == []


def test_forged_tampered_stale_and_malformed_callbacks_change_nothing(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    env = Env(tmp_path)
    xml = env.event_xml("offer_accepted")
    q, body = env.request(xml, token="guessed-token")  # forged: signed without the real token
    assert env.handler.handle("POST", q, body).reason == "bad_signature"
    q, body = env.request(xml)
    start = body.index(b"<Encrypt><![CDATA[") + len(b"<Encrypt><![CDATA[") + 10
    tampered = body[:start] + (b"A" if body[start:start + 1] != b"A" else b"B") + body[start + 1:]  # one ciphertext character changed
    assert env.handler.handle("POST", q, tampered).reason == "bad_signature"  # the signature covers the ciphertext
    q, body = env.request(xml, ts=int(env.clock.time()) - 3600)
    assert env.handler.handle("POST", q, body).reason == "stale_timestamp"
    assert env.handler.handle("POST", "timestamp=1", b"<xml/>").reason == "bad_xml"
    q, _ = env.request(xml)
    assert env.handler.handle("POST", q, b"<!DOCTYPE x [<!ENTITY a 'b'>]><xml><Encrypt>&a;</Encrypt></xml>").reason == "bad_xml"
    assert env.ledger.stage_of(env.ref()) == "offer_sent" and env.ledger.history(env.ref()).empty
    inbound = env.ledger.inbound()
    assert list(inbound["reason"]) == ["bad_signature", "bad_signature", "stale_timestamp", "bad_xml", "bad_xml"]
    assert "reason=bad_signature" in caplog.text and TOKEN not in caplog.text and AES_KEY not in caplog.text


@pytest.mark.parametrize("case, reason", [
    ("unknown_candidate", "unknown_candidate"), ("not_recruiter", "actor_not_allowed"), ("wrong_task", "task_mismatch"),
    ("invalid_move", "invalid_transition"), ("foreign_key", "bad_event_key"), ("text_message", "unknown_event"),
])
def test_business_rejections_are_logged_with_a_reason(tmp_path, case, reason):
    env = Env(tmp_path, stage="ai_interview_done" if case == "invalid_move" else "offer_sent")
    env.records.append(dict(env.records[0], candidate_ref="ghost"))
    if case == "text_message":
        xml = "<xml><FromUserName>hr_li</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>接受</Content></xml>"
    else:
        xml = {
            "unknown_candidate": lambda: env.event_xml("offer_accepted", key=event_key("offer_accepted", "ghost")),
            "not_recruiter": lambda: env.event_xml("offer_accepted", actor="someone_else"),
            "wrong_task": lambda: env.event_xml("offer_accepted", task=env.task_id(1)),
            "invalid_move": lambda: env.event_xml("offer_accepted"),  # 已完成AI面试 → 已接受 skips the offer: forbidden
            "foreign_key": lambda: env.event_xml("offer_accepted", key="approve"),
        }[case]()
    resp = env.handler.handle("POST", *env.request(xml))
    assert resp.status == 200 and resp.reason == reason
    assert env.ledger.history().empty and env.calls == []
    assert env.ledger.inbound()["reason"].iloc[-1] == reason


def test_url_verification_and_real_http(tmp_path):
    env = Env(tmp_path)
    c = env.crypto
    ts, nonce = str(int(env.clock.time())), "echo1"
    echostr = c.encrypt("5927782489442352469")
    q = urlencode({"msg_signature": c.signature(ts, nonce, echostr), "timestamp": ts, "nonce": nonce, "echostr": echostr})
    with CallbackServer(env.handler, port=0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        r = httpx.get(server.url + "?" + q, timeout=10)
        assert r.status_code == 200 and r.text == "5927782489442352469"
        q2, body = env.request(env.event_xml("human_review"))
        r = httpx.post(server.url + "?" + q2, content=body, timeout=10)
        assert r.status_code == 200 and r.text == ""
        r = httpx.post(server.url + "?" + q2, content=body, timeout=10)
        assert r.status_code == 403
    assert env.ledger.stage_of(env.ref()) == "human_review"


def test_concurrent_deliveries_of_one_event_apply_once(tmp_path):
    env = Env(tmp_path)
    xml = env.event_xml("offer_declined")
    requests = [env.request(xml) for _ in range(8)]  # WeCom retries racing each other
    results = []
    threads = [threading.Thread(target=lambda r=r: results.append(env.handler.handle("POST", *r))) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.reason for r in results).count("applied") == 1
    assert len(env.ledger.history(env.ref())) == 1 and env.ledger.stage_of(env.ref()) == "offer_declined"


def test_failed_reexport_is_retried_until_it_succeeds(tmp_path):
    attempts = []

    def flaky(changes):
        attempts.append([c.candidate_ref for c in changes])
        if len(attempts) == 1:
            raise RuntimeError("staging database locked")

    env = Env(tmp_path, reexport=flaky)
    env.handler.handle("POST", *env.request(env.event_xml("offer_accepted")))
    assert env.ledger.stage_of(env.ref()) == "offer_accepted"  # the change stands …
    assert [c.candidate_ref for c in env.ledger.pending_reexports()] == [env.ref()]  # … and is remembered
    assert env.ledger.retry_reexports() == 1
    assert attempts == [[env.ref()], [env.ref()]] and env.ledger.pending_reexports() == []


def test_events_from_a_gbk_csv(tmp_path):
    env = Env(tmp_path, stage="awaiting_hr_interview")
    a, b, c = env.ref(0), env.ref(1), env.ref(2)
    rows = ["candidate_ref,to_stage,occurred_at,actor,event_id,note",
            f"{a},offer_sent,2026-11-20 10:00,hr_li,e1,已电话通知",
            f"{a},offer_accepted,2026-11-21T09:30:00+08:00,hr_li,e2,候选人接受",
            f"{a},offer_accepted,2026-11-21T09:30:00+08:00,hr_li,e2,重复行",
            f"{b},onboarded,2026-11-21 10:00,hr_li,e3,跳步",
            f"{c},human_review,not a date,hr_li,e4,",
            "ghost,offer_sent,2026-11-21 10:00,hr_li,e5,",
            f"{c},hired,2026-11-21 10:00,hr_li,e6,"]
    path = tmp_path / "events.csv"
    path.write_bytes("\r\n".join(rows).encode("gbk"))
    result = import_events_csv(path, env.ledger)
    assert result.reconciled and result.counts() == {"rows_in": 7, "applied": 2, "duplicate": 1, "rejected": 4}
    assert dict(zip(result.results["row"], result.results["reason"])) == {
        2: "applied", 3: "applied", 4: "duplicate", 5: "invalid_transition", 6: "bad_row", 7: "unknown_candidate", 8: "invalid_transition"}
    assert env.ledger.stage_of(a) == "offer_accepted" and len(env.ledger.onboarding(a)) == 3
    again = import_events_csv(path, env.ledger)  # importing the same file twice changes nothing
    assert again.counts()["applied"] == 0 and len(env.ledger.history(a)) == 2


def test_cli_imports_events_from_csv(tmp_path, capsys):
    env = Env(tmp_path, stage="offer_sent")
    path = tmp_path / "events.csv"
    path.write_text(f"candidate_ref,to_stage,occurred_at,actor\n{env.ref()},offer_accepted,2026-11-21 10:00,hr_li\n", encoding="utf-8")
    assert main(["--lang", "en", "callback", "csv", str(path), "--db", env.db]) == 0
    out = capsys.readouterr().out
    # the export's hook ran (this database holds no staging records, so nothing there changed) and cleared the flag
    assert "1 read, 1 applied" in out and "re-export: 0" in out
    with sa.create_engine(env.db).connect() as c:
        assert c.execute(sa.text("select stage from wecom_candidates where candidate_ref=:r"), {"r": env.ref()}).scalar() == "offer_accepted"


def test_a_direct_event_api_for_other_channels(tmp_path):
    env = Env(tmp_path)
    e = StageEvent(event_id="hr-portal-1", candidate_ref=env.ref(), to_stage="offer_accepted", source="csv", occurred_at=env.clock.time())
    assert env.ledger.apply(e).reason == "applied" and env.ledger.apply(e).reason == "duplicate"


def test_cli_serves_callbacks_on_loopback(tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    env = Env(tmp_path)
    env.clock = ManualClock(start=time.time())  # the server runs on real time
    root = Path(__file__).resolve().parents[1]
    proc_env = {**os.environ, "PYTHONPATH": str(root / "src"), "WORKBENCH_WECOM_CALLBACK_TOKEN": TOKEN,
                "WORKBENCH_WECOM_ENCODING_AES_KEY": AES_KEY, "WORKBENCH_WECOM_CORP_ID": CORP}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "--lang", "en", "callback", "serve", "--port", "0", "--db", env.db],
                            env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
        q, body = env.request(env.event_xml("offer_declined"))
        r = httpx.post(f"http://127.0.0.1:{port}/?{q}", content=body, timeout=30)
        assert r.status_code == 200
        forged_q, forged_body = env.request(env.event_xml("offer_accepted"), token="nope")
        assert httpx.post(f"http://127.0.0.1:{port}/?{forged_q}", content=forged_body, timeout=30).status_code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert env.ledger.stage_of(env.ref()) == "offer_declined"
    assert TOKEN not in out + err and AES_KEY not in out + err
