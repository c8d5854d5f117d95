"""Where a candidate is in the bank's hiring process, and which moves are allowed.

    已完成AI面试 ──→ 等待HR面试 ──→ 已发offer ──→ 已接受 ──→ 入职
         │  ↑            │             │
         ↓  │            ↓             ↓
      人工复核 ←──────── ┴ ──→ 已淘汰   已拒绝

A machine decision can only move a candidate out of ``ai_interview_done``; every later move is a person's (HR,
or the candidate's reply through WeCom). A rejected candidate may ask for human review (PIPL Art. 24), which
reopens the case. Codes are stable ASCII; labels come from the message catalog (``hiring_stage.<code>``).
"""

from __future__ import annotations

from enum import Enum

from ..errors import WorkbenchError

__all__ = ["HiringStage", "InvalidTransition", "TRANSITIONS", "TERMINAL", "allowed_next", "check_transition"]


class HiringStage(str, Enum):
    AI_INTERVIEW_DONE = "ai_interview_done"  # 已完成AI面试
    HUMAN_REVIEW = "human_review"  # 人工复核
    AWAITING_HR_INTERVIEW = "awaiting_hr_interview"  # 等待HR面试
    OFFER_SENT = "offer_sent"  # 已发offer
    OFFER_ACCEPTED = "offer_accepted"  # 已接受
    OFFER_DECLINED = "offer_declined"  # 已拒绝
    ONBOARDED = "onboarded"  # 入职
    REJECTED = "rejected"  # 已淘汰

    def __str__(self) -> str:
        return self.value


_S = HiringStage
TRANSITIONS: dict[HiringStage, frozenset[HiringStage]] = {
    _S.AI_INTERVIEW_DONE: frozenset({_S.AWAITING_HR_INTERVIEW, _S.HUMAN_REVIEW, _S.REJECTED}),
    _S.HUMAN_REVIEW: frozenset({_S.AWAITING_HR_INTERVIEW, _S.REJECTED}),
    _S.AWAITING_HR_INTERVIEW: frozenset({_S.OFFER_SENT, _S.HUMAN_REVIEW, _S.REJECTED}),
    _S.OFFER_SENT: frozenset({_S.OFFER_ACCEPTED, _S.OFFER_DECLINED, _S.HUMAN_REVIEW}),
    _S.OFFER_ACCEPTED: frozenset({_S.ONBOARDED}),
    _S.OFFER_DECLINED: frozenset(),
    _S.ONBOARDED: frozenset(),
    _S.REJECTED: frozenset({_S.HUMAN_REVIEW}),  # the candidate asks for a person to look again
}
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class InvalidTransition(WorkbenchError, ValueError):
    """A move the hiring process does not allow (e.g. 已淘汰 → 已发offer without a review)."""

    def __init__(self, message: str, *, current: str, requested: str):
        super().__init__(message)
        self.current = current
        self.requested = requested


def _coerce(value: HiringStage | str, what: str) -> HiringStage:
    try:
        return HiringStage(str(value))
    except ValueError:
        codes = ", ".join(s.value for s in HiringStage)
        raise InvalidTransition(f"unknown {what} hiring stage {value!r}; stages are: {codes}", current=str(value), requested=str(value)) from None


def allowed_next(current: HiringStage | str) -> tuple[HiringStage, ...]:
    """The stages a candidate at ``current`` may move to, in declaration order."""
    cur = _coerce(current, "current")
    return tuple(s for s in HiringStage if s in TRANSITIONS[cur])


def check_transition(current: HiringStage | str, requested: HiringStage | str) -> HiringStage:
    """Return ``requested`` as a :class:`HiringStage` if the move is allowed, else raise :class:`InvalidTransition`.

    Staying in the same stage is not a transition and is refused too: an event that does not change anything
    is a duplicate, and callers must notice it rather than record it twice.
    """
    cur, new = _coerce(current, "current"), _coerce(requested, "requested")
    if new not in TRANSITIONS[cur]:
        allowed = ", ".join(s.value for s in allowed_next(cur)) or "none (final stage)"
        raise InvalidTransition(
            f"a candidate at {cur.value!r} cannot move to {new.value!r}; allowed next stages: {allowed}",
            current=cur.value, requested=new.value,
        )
    return new
