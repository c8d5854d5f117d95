"""Tamper-evident audit log: hash chain, tamper detection, concurrent appends."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import threading

import numpy as np
import pytest

from workbench.errors import DataError, IntegrityError
from workbench.fairness import GENESIS_HASH, AuditVerification, append_audit_record, verify_audit_log

RECORDS = [
    {"event": "fairness_audit", "run_id": "20261125-193410-default-641f", "min_share": 0.02, "note": "初次审计"},
    {"event": "threshold_change", "old": 3.0, "new": 3.2, "user": "张三"},
    {"event": "human_review", "reviewer_ref": "r-17", "decisions": [1, 0, 1]},
]


def _write_three(path):
    return [append_audit_record(path, r) for r in RECORDS]


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_append_three_and_verify_ok(tmp_path):
    log = tmp_path / "audit" / "log.jsonl"
    entries = _write_three(log)
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev_hash"] == GENESIS_HASH == "0" * 64
    assert entries[1]["prev_hash"] == entries[0]["hash"] and entries[2]["prev_hash"] == entries[1]["hash"]
    res = verify_audit_log(log)
    assert res == AuditVerification(True, 3, None, "", entries[2]["hash"])
    assert bool(res) is True
    # the hash is sha256 of canonical JSON of {seq, timestamp, record, prev_hash}, recomputed independently
    for line, entry in zip(_lines(log), entries):
        stored = json.loads(line)
        assert stored == entry
        body = {k: stored[k] for k in ("seq", "timestamp", "record", "prev_hash")}
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        assert stored["hash"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        assert stored["timestamp"].endswith("+00:00")
    assert "张三" in log.read_text(encoding="utf-8")  # ensure_ascii=False: Chinese stored as written


def test_modified_field_in_line_2_fails_at_seq_2(tmp_path):
    log = tmp_path / "log.jsonl"
    _write_three(log)
    lines = _lines(log)
    entry = json.loads(lines[1])
    entry["record"]["new"] = 2.5  # someone lowers the recorded threshold after the fact
    lines[1] = json.dumps(entry, ensure_ascii=False) + "\n"
    log.write_text("".join(lines), encoding="utf-8")
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 2 and res.n_records == 1
    assert "修改" in res.reason and "2" in res.reason


def test_modified_record_with_recomputed_hash_breaks_the_next_link(tmp_path):
    log = tmp_path / "log.jsonl"
    _write_three(log)
    lines = _lines(log)
    entry = json.loads(lines[1])
    entry["record"]["user"] = "李四"
    body = {k: entry[k] for k in ("seq", "timestamp", "record", "prev_hash")}
    entry["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
    lines[1] = json.dumps(entry, ensure_ascii=False) + "\n"
    log.write_text("".join(lines), encoding="utf-8")
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 3 and "prev_hash" in res.reason


def test_deleted_line_fails(tmp_path):
    log = tmp_path / "log.jsonl"
    _write_three(log)
    lines = _lines(log)
    log.write_text(lines[0] + lines[2], encoding="utf-8")
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 2 and "删除" in res.reason


def test_deleted_first_line_fails(tmp_path):
    log = tmp_path / "log.jsonl"
    _write_three(log)
    log.write_text("".join(_lines(log)[1:]), encoding="utf-8")
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 1


def test_reordered_lines_fail(tmp_path):
    log = tmp_path / "log.jsonl"
    _write_three(log)
    lines = _lines(log)
    log.write_text(lines[0] + lines[2] + lines[1], encoding="utf-8")
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 2 and "顺序" in res.reason


def test_reordered_lines_with_renumbered_seq_still_fail(tmp_path):
    log = tmp_path / "log.jsonl"
    _write_three(log)
    lines = [json.loads(x) for x in _lines(log)]
    lines[1], lines[2] = lines[2], lines[1]
    lines[1]["seq"], lines[2]["seq"] = 2, 3
    log.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in lines), encoding="utf-8")
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 2


def test_bad_hash_fails(tmp_path):
    log = tmp_path / "log.jsonl"
    _write_three(log)
    lines = _lines(log)
    entry = json.loads(lines[2])
    entry["hash"] = "f" * 64
    lines[2] = json.dumps(entry, ensure_ascii=False) + "\n"
    log.write_text("".join(lines), encoding="utf-8")
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 3 and res.n_records == 2


def test_truncated_and_invalid_json_fail(tmp_path):
    log = tmp_path / "log.jsonl"
    _write_three(log)
    text = log.read_text(encoding="utf-8")
    log.write_text(text[:-20], encoding="utf-8")  # cut in the middle of the last line
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 3 and "不完整" in res.reason
    with pytest.raises(IntegrityError):
        append_audit_record(log, {"event": "after crash"})  # never extend a chain from a broken head
    lines = text.splitlines(keepends=True)
    log.write_text(lines[0] + "{not json\n" + lines[2], encoding="utf-8")
    res = verify_audit_log(log)
    assert not res.ok and res.first_bad_seq == 2 and "JSON" in res.reason
    log.write_text(lines[0] + "\n" + lines[1], encoding="utf-8")  # an inserted blank line
    assert verify_audit_log(log).first_bad_seq == 2
    log.write_text(lines[0] + '{"seq": 2}\n', encoding="utf-8")  # fields missing
    assert verify_audit_log(log).first_bad_seq == 2


def test_dropped_tail_is_only_detected_against_a_kept_head(tmp_path):
    log = tmp_path / "log.jsonl"
    entries = _write_three(log)
    lines = _lines(log)
    log.write_text("".join(lines[:2]), encoding="utf-8")
    assert verify_audit_log(log).ok  # a shorter chain is still a valid chain …
    res = verify_audit_log(log, expected_last_hash=entries[-1]["hash"])
    assert not res.ok  # … unless the head was kept elsewhere
    res = verify_audit_log(log, expected_n_records=3)
    assert not res.ok and res.first_bad_seq == 3


def test_missing_log_and_bad_records(tmp_path):
    res = verify_audit_log(tmp_path / "nope.jsonl")
    assert not res.ok and res.n_records == 0
    log = tmp_path / "log.jsonl"
    with pytest.raises(DataError):
        append_audit_record(log, {"value": float("nan")})
    with pytest.raises(DataError):
        append_audit_record(log, {"when": object()})
    with pytest.raises(DataError):
        append_audit_record(log, ["not", "a", "dict"])
    with pytest.raises(DataError):
        append_audit_record(log, {"rate": np.float64("nan")})
    entry = append_audit_record(log, {"pair": (1, 2), 3: "int key", "n": np.int64(7), "rate": np.float64(0.5)})
    assert entry["record"] == {"pair": [1, 2], "3": "int key", "n": 7, "rate": 0.5}  # stored exactly as read back
    assert verify_audit_log(log).ok


def _append_many(path, worker, count):
    for i in range(count):
        append_audit_record(path, {"worker": worker, "i": i, "pad": "审计" * 200})


def test_concurrent_appends_do_not_interleave(tmp_path):
    log = tmp_path / "log.jsonl"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(log), w, 15)) for w in range(4)]
    threads = [threading.Thread(target=_append_many, args=(log, f"t{w}", 10)) for w in range(2)]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for t in threads:
        t.join(30)
    res = verify_audit_log(log)
    assert res.ok, res.reason
    assert res.n_records == 4 * 15 + 2 * 10
    seen = {(json.loads(x)["record"]["worker"], json.loads(x)["record"]["i"]) for x in _lines(log)}
    assert len(seen) == 80
