"""WeCom's documented field limits, in one table, and a checker that every built payload passes.

Sources (checked for this module; see ``/work/shared/reference/integration.md`` §1):

* app messages, https://developer.work.weixin.qq.com/document/path/90236 — text/markdown ≤ 2048 bytes,
  textcard title ≤ 128 bytes, description ≤ 512 bytes, url ≤ 2048 bytes, btntxt ≤ 4 characters; per member
  30 messages/minute and 1000/hour ("超过部分会被丢弃不下发"); touser ≤ 1000 ids;
  ``duplicate_check_interval`` default 1800 s, at most 4 hours.
* template cards (path 90236 / 90372, lengths are *recommended* character counts: 建议不超过 N 个字): main_title
  36/44, emphasis 14/22, sub_title_text 160, horizontal_content_list ≤ 6 × keyname 5 / value 30, jump_list ≤ 3,
  button_list ≤ 6 × text 10, keys ≤ 1024 bytes, task_id ≤ 128 bytes of ``[0-9A-Za-z_\\-@]``.
* group robot, path 99110 (was 91770) — markdown ≤ 4096 bytes (else errcode 40058), text ≤ 2048 bytes,
  20 messages/minute per robot.
* customer-contact mass send, path 92135 — ``text.content`` ≤ 4000 bytes, ``external_userid`` ≤ 10,000,
  attachments ≤ 9; a recruiter must confirm the task; each customer receives at most "days in the month"
  such messages per month by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._text import utf8_len

__all__ = [
    "APP_PER_MEMBER_PER_MINUTE",
    "APP_PER_MEMBER_PER_HOUR",
    "ROBOT_PER_MINUTE",
    "DUPLICATE_CHECK_MAX_S",
    "LIMITS",
    "FieldLimit",
    "Violation",
    "check_payload",
]

APP_PER_MEMBER_PER_MINUTE = 30
APP_PER_MEMBER_PER_HOUR = 1000
ROBOT_PER_MINUTE = 20
DUPLICATE_CHECK_MAX_S = 4 * 3600
TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")


@dataclass(frozen=True)
class FieldLimit:
    path: str  # dotted path in the request body; "[]" marks each element of a list
    limit: int
    unit: str  # "bytes" | "chars" | "items"
    source: str


_APP = "developer.work.weixin.qq.com/document/path/90236"
_CARD = "developer.work.weixin.qq.com/document/path/90372 (recommended lengths)"
_ROBOT = "developer.work.weixin.qq.com/document/path/99110"
_CONTACT = "developer.work.weixin.qq.com/document/path/92135"

LIMITS: dict[str, tuple[FieldLimit, ...]] = {
    "app.text": (FieldLimit("text.content", 2048, "bytes", _APP),),
    "app.markdown": (FieldLimit("markdown.content", 2048, "bytes", _APP),),
    "app.textcard": (
        FieldLimit("textcard.title", 128, "bytes", _APP),
        FieldLimit("textcard.description", 512, "bytes", _APP),
        FieldLimit("textcard.url", 2048, "bytes", _APP),
        FieldLimit("textcard.btntxt", 4, "chars", _APP),
    ),
    "app.template_card": (
        FieldLimit("template_card.source.desc", 20, "chars", _CARD),
        FieldLimit("template_card.main_title.title", 36, "chars", _CARD),
        FieldLimit("template_card.main_title.desc", 44, "chars", _CARD),
        FieldLimit("template_card.emphasis_content.title", 14, "chars", _CARD),
        FieldLimit("template_card.emphasis_content.desc", 22, "chars", _CARD),
        FieldLimit("template_card.sub_title_text", 160, "chars", _CARD),
        FieldLimit("template_card.horizontal_content_list", 6, "items", _CARD),
        FieldLimit("template_card.horizontal_content_list[].keyname", 5, "chars", _CARD),
        FieldLimit("template_card.horizontal_content_list[].value", 30, "chars", _CARD),
        FieldLimit("template_card.jump_list", 3, "items", _CARD),
        FieldLimit("template_card.jump_list[].title", 18, "chars", _CARD),
        FieldLimit("template_card.button_list", 6, "items", _CARD),
        FieldLimit("template_card.button_list[].text", 10, "chars", _CARD),
        FieldLimit("template_card.button_list[].key", 1024, "bytes", _CARD),
        FieldLimit("template_card.card_action.url", 2048, "bytes", _APP),
        FieldLimit("template_card.task_id", 128, "bytes", _CARD),
    ),
    "robot.markdown": (FieldLimit("markdown.content", 4096, "bytes", _ROBOT),),
    "robot.text": (FieldLimit("text.content", 2048, "bytes", _ROBOT),),
    "external.text": (
        FieldLimit("text.content", 4000, "bytes", _CONTACT),
        FieldLimit("external_userid", 10_000, "items", _CONTACT),
    ),
}


@dataclass(frozen=True)
class Violation:
    path: str
    limit: int
    unit: str
    actual: int

    def __str__(self) -> str:
        return f"{self.path}: {self.actual} {self.unit} > {self.limit}"


def _values(body: object, parts: list[str]):
    if not parts:
        yield body
        return
    head, rest = parts[0], parts[1:]
    each = head.endswith("[]")
    key = head[:-2] if each else head
    if not isinstance(body, dict) or key not in body:
        return
    value = body[key]
    if each:
        for item in value if isinstance(value, list) else ():
            yield from _values(item, rest)
    else:
        yield from _values(value, rest)


def _measure(value: object, unit: str) -> int:
    if unit == "items":
        return len(value) if isinstance(value, (list, tuple)) else 0
    text = value if isinstance(value, str) else str(value)
    return utf8_len(text) if unit == "bytes" else len(text)


def check_payload(channel: str, body: dict) -> list[Violation]:
    """Every documented limit ``body`` exceeds (empty list: it fits). ``channel`` is app / robot / external."""
    msgtype = "text" if channel == "external" else body.get("msgtype")
    out: list[Violation] = []
    for lim in LIMITS.get(f"{channel}.{msgtype}", ()):
        for value in _values(body, lim.path.split(".")):
            actual = _measure(value, lim.unit)
            if actual > lim.limit:
                out.append(Violation(lim.path, lim.limit, lim.unit, actual))
    if channel == "app":
        recipients = [r for r in str(body.get("touser", "")).split("|") if r]
        if not recipients or len(recipients) > 1000:
            out.append(Violation("touser", 1000, "items", len(recipients)))
        if int(body.get("duplicate_check_interval", 0)) > DUPLICATE_CHECK_MAX_S:
            out.append(Violation("duplicate_check_interval", DUPLICATE_CHECK_MAX_S, "seconds", int(body["duplicate_check_interval"])))
        card = body.get("template_card")
        if isinstance(card, dict) and "task_id" in card and not TASK_ID_RE.match(str(card["task_id"])):
            out.append(Violation("template_card.task_id", 128, "bytes of [0-9A-Za-z_-@]", utf8_len(str(card["task_id"]))))
    return out
