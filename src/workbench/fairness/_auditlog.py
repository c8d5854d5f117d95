"""Tamper-evident, append-only audit log (JSON Lines with a SHA-256 hash chain).

Each line is one JSON object ``{"seq", "timestamp", "record", "prev_hash", "hash"}``:

* ``seq`` counts from 1; ``timestamp`` is UTC ISO 8601;
* ``prev_hash`` is the previous line's ``hash`` (64 zeros for the first line);
* ``hash`` = SHA-256 of the canonical JSON (sorted keys, no whitespace, ``ensure_ascii=False``) of
  ``{"seq", "timestamp", "record", "prev_hash"}``.

Changing, deleting, inserting or reordering any line breaks the chain from that line on. Dropping lines at the
*end* leaves a valid shorter chain; to detect that, keep the head (``last_hash``, ``n_records``) somewhere else
(e.g. the run manifest) and pass it to :func:`verify_audit_log`. Appends take an exclusive ``fcntl`` lock on the
file, so concurrent writers (processes or threads) never interleave or fork the chain. POSIX only.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._hashing import sha256_json
from ..errors import DataError, IntegrityError

__all__ = ["GENESIS_HASH", "AuditVerification", "append_audit_record", "verify_audit_log"]

GENESIS_HASH = "0" * 64
_FIELDS = ("seq", "timestamp", "record", "prev_hash", "hash")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _entry_hash(seq: int, timestamp: str, record: Any, prev_hash: str) -> str:
    return sha256_json({"seq": seq, "timestamp": timestamp, "record": record, "prev_hash": prev_hash})


def _normalise_record(record: Any) -> dict:
    if not isinstance(record, dict):
        raise DataError(f"an audit record must be a dict, got {type(record).__name__}")
    try:
        # round-trip so the stored record is exactly what will be read back (tuples → lists, keys → str)
        text = json.dumps(record, ensure_ascii=False, allow_nan=False, default=_reject)
        normalised = json.loads(text)
        _canonical(normalised)
    except (TypeError, ValueError) as exc:
        raise DataError(f"audit record is not plain JSON (str/number/bool/None/list/dict, no NaN): {exc}") from exc
    return normalised


def _reject(obj: Any) -> Any:
    item = getattr(obj, "item", None)  # numpy scalars (np.int64 counts, np.float64 rates) become Python numbers
    if callable(item) and getattr(obj, "shape", None) == ():
        return item()
    raise TypeError(f"{type(obj).__name__} value {obj!r} is not JSON")


def _last_line(fd: int) -> bytes | None:
    """The last line of the file (without its newline), or None for an empty file."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    chunk = 8192
    end = size
    buf = b""
    while end > 0:
        start = max(0, end - chunk)
        buf = os.pread(fd, end - start, start) + buf
        end = start
        body = buf[:-1] if buf.endswith(b"\n") else buf
        if b"\n" in body or end == 0:
            break
    if not buf.endswith(b"\n"):
        raise IntegrityError("audit log ends with an incomplete line (interrupted write?); run verify_audit_log")
    body = buf[:-1]
    return body.rsplit(b"\n", 1)[-1]


def append_audit_record(log_path: str | Path, record: dict) -> dict:
    """Append ``record`` to the hash-chained JSON Lines log at ``log_path`` (created if missing).

    Returns the stored entry ``{"seq", "timestamp", "record", "prev_hash", "hash"}``. Raises
    :class:`~workbench.errors.IntegrityError` if the current last line is unreadable (the chain would be
    extended from a broken head) and :class:`~workbench.errors.DataError` if ``record`` is not plain JSON.
    """
    record = _normalise_record(record)
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            last = _last_line(fd)
            if last is None:
                seq, prev_hash = 1, GENESIS_HASH
            else:
                try:
                    head = json.loads(last.decode("utf-8"))
                    seq, prev_hash = int(head["seq"]) + 1, str(head["hash"])
                except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                    raise IntegrityError(f"cannot read the last line of {path}: {exc}; run verify_audit_log") from exc
            timestamp = datetime.now(timezone.utc).isoformat(timespec="microseconds")
            entry = {"seq": seq, "timestamp": timestamp, "record": record, "prev_hash": prev_hash}
            entry["hash"] = _entry_hash(seq, timestamp, record, prev_hash)
            data = (_canonical(entry) + "\n").encode("utf-8")
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    return entry


@dataclass(frozen=True)
class AuditVerification:
    """Result of :func:`verify_audit_log`.

    ``n_records``: records verified as intact (all of them when ``ok``; those before the first problem
    otherwise). ``first_bad_seq``: sequence number the first bad line should have had (its line number).
    ``reason``: what is wrong, in Chinese (empty when ``ok``). ``last_hash``: hash of the last intact record
    (the head to keep elsewhere for detecting truncation).
    """

    ok: bool
    n_records: int
    first_bad_seq: int | None
    reason: str
    last_hash: str = GENESIS_HASH

    def __bool__(self) -> bool:
        return self.ok


def verify_audit_log(
    log_path: str | Path, *, expected_last_hash: str | None = None, expected_n_records: int | None = None
) -> AuditVerification:
    """Check every line of the log: valid JSON, expected fields, consecutive ``seq``, ``prev_hash`` linkage and
    the recomputed ``hash``. Optionally compare the head with a value kept elsewhere (detects dropped tail lines).
    """
    path = Path(log_path)
    if not path.is_file():
        return AuditVerification(False, 0, None, f"审计日志不存在：{path}")
    raw = path.read_bytes()
    prev_hash = GENESIS_HASH
    n_ok = 0

    def bad(seq: int, reason: str) -> AuditVerification:
        return AuditVerification(False, n_ok, seq, reason, prev_hash)

    if raw and not raw.endswith(b"\n"):
        truncated_at = raw.count(b"\n") + 1
    else:
        truncated_at = None
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines, start=1):
        if truncated_at == i:
            return bad(i, f"第 {i} 行不完整（缺少换行符，写入可能被中断或文件被截断）")
        try:
            entry = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return bad(i, f"第 {i} 行不是有效的 JSON（被截断或被改动）")
        if not isinstance(entry, dict) or set(entry) != set(_FIELDS):
            return bad(i, f"第 {i} 行的字段应为 {', '.join(_FIELDS)}")
        seq = entry["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq != i:
            return bad(i, f"第 {i} 行序号为 {seq!r}，应为 {i}（记录被删除、插入或调换了顺序）")
        if entry["prev_hash"] != prev_hash:
            return bad(i, f"第 {i} 条记录的 prev_hash 与上一条记录的哈希不符（链条断裂）")
        if not isinstance(entry["timestamp"], str):
            return bad(i, f"第 {i} 条记录的时间戳无效")
        try:
            expected = _entry_hash(seq, entry["timestamp"], entry["record"], entry["prev_hash"])
        except (TypeError, ValueError):
            return bad(i, f"第 {i} 条记录含有无法规范化的内容")
        if entry["hash"] != expected:
            return bad(i, f"第 {i} 条记录的内容与其哈希不符（记录被修改）")
        prev_hash = entry["hash"]
        n_ok += 1
    if expected_n_records is not None and n_ok != expected_n_records:
        return AuditVerification(
            False, n_ok, n_ok + 1 if n_ok < expected_n_records else expected_n_records + 1,
            f"记录数为 {n_ok}，与另行保存的 {expected_n_records} 不符（末尾记录可能被删除或追加）", prev_hash,
        )
    if expected_last_hash is not None and prev_hash != expected_last_hash:
        return AuditVerification(False, n_ok, None, "最后一条记录的哈希与另行保存的值不符（末尾记录被删除或替换）", prev_hash)
    return AuditVerification(True, n_ok, None, "", prev_hash)
