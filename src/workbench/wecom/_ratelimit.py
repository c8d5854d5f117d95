"""Client-side rate limits, because WeCom silently drops what exceeds them (app: 30/min and 1000/h per member).

Sliding windows (not calendar minutes) with a one-second margin: whatever window WeCom counts in, and however
late our request arrives, a rolling 61 s window holding ≤ 30 sends never puts 31 in any minute of theirs.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence

from ._limits import APP_PER_MEMBER_PER_HOUR, APP_PER_MEMBER_PER_MINUTE, ROBOT_PER_MINUTE

__all__ = ["SlidingWindowLimiter", "ChannelLimits"]

MARGIN_S = 1.0


class SlidingWindowLimiter:
    """At most ``n`` events per ``seconds`` per key, for each ``(seconds, n)`` window."""

    def __init__(self, windows: Sequence[tuple[float, int]]):
        self.windows = [(float(s), int(n)) for s, n in windows]
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._longest = max(s for s, _ in self.windows) if self.windows else 0.0

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._events[key]
        while q and q[0] <= now - self._longest:
            q.popleft()
        return q

    def wait_time(self, key: str, now: float) -> float:
        """Seconds until one more event for ``key`` fits every window (0: now)."""
        q = self._prune(key, now)
        wait = 0.0
        for seconds, n in self.windows:
            inside = [t for t in q if t > now - seconds]
            if len(inside) >= n:
                wait = max(wait, inside[len(inside) - n] + seconds - now)
        return max(wait, 0.0)

    def record(self, key: str, now: float) -> None:
        q = self._prune(key, now)
        q.append(now)
        if len(q) > 1 and q[-2] > now:  # keep sorted if the caller's clock went backwards
            self._events[key] = deque(sorted(q))

    def load(self, key: str, times: Iterable[float]) -> None:
        self._events[key] = deque(sorted([*self._events[key], *times]))


class ChannelLimits:
    """The documented per-recipient limits: app members (30/min, 1000/h), the robot (20/min). External contacts
    are capped per month instead (checked against the outbox's history by the sender)."""

    def __init__(self, *, margin_s: float = MARGIN_S):
        self.app = SlidingWindowLimiter([(60 + margin_s, APP_PER_MEMBER_PER_MINUTE), (3600 + margin_s, APP_PER_MEMBER_PER_HOUR)])
        self.robot = SlidingWindowLimiter([(60 + margin_s, ROBOT_PER_MINUTE)])

    def _for(self, channel: str, recipients: Sequence[str]) -> list[tuple[SlidingWindowLimiter, str]]:
        if channel == "app":
            return [(self.app, r.lower()) for r in recipients]  # WeCom treats userids case-insensitively
        if channel == "robot":
            return [(self.robot, "robot")]
        return []

    def wait_time(self, channel: str, recipients: Sequence[str], now: float) -> float:
        return max([lim.wait_time(key, now) for lim, key in self._for(channel, recipients)], default=0.0)

    def record(self, channel: str, recipients: Sequence[str], now: float) -> None:
        for lim, key in self._for(channel, recipients):
            lim.record(key, now)

    def load(self, sends: Iterable[tuple[str, Sequence[str], float]]) -> None:
        for channel, recipients, at in sends:
            for lim, key in self._for(channel, recipients):
                lim.load(key, [at])
