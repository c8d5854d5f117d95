"""Time as a dependency: the client, the rate limiter and the outbox take a clock so tests can run hours in ms."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock", "ManualClock"]


class Clock(Protocol):
    def time(self) -> float: ...  # epoch seconds

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to (``sleep`` advances it instantly). Thread-safe enough for tests."""

    def __init__(self, start: float = 1_790_000_000.0):
        self.now = float(start)
        self.slept = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.now += seconds
            self.slept += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
