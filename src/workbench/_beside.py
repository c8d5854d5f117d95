"""Run one piece of a stage's work in a forked child process while the stage goes on with the rest.

Stage 03 has work that needs no result of the rest (the held-out regimes next to the final model) and, in the
pipeline, nothing else runs beside it: the second core would idle. A forked child sees the parent's memory
(features of every answer) without copying or serialising it; only its small result (tables, numbers) comes back
through a pipe. Where ``fork`` is not available (Windows) or not wanted, the function simply runs inline when its
result is asked for, with the same result.

    side = Beside(lambda: expensive(a, b), enabled=True)   # starts the child now
    ...                                                     # the parent's own work
    value = side.result()                                   # the child's return value (or its exception)
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["Beside", "BesideError", "can_fork", "usable_cpus"]


class BesideError(RuntimeError):
    """The child process failed or died; the message carries its traceback or exit code."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Beside:
    """``fn()`` computed in a forked child (``enabled`` and fork available and ≥ 2 CPUs) or inline on ``result()``."""

    def __init__(self, fn: Callable[[], Any], *, enabled: bool = True):
        self._fn = fn
        self._done = False
        self._value: Any = None
        self._process = None
        if enabled and can_fork() and usable_cpus() >= 2:
            context = multiprocessing.get_context("fork")
            self._receive, send = context.Pipe(duplex=False)
            self._process = context.Process(target=self._child, args=(send,), daemon=True)
            self._process.start()
            send.close()  # the parent keeps only the reading end: EOF when the child is gone

    @property
    def forked(self) -> bool:
        return self._process is not None

    def _child(self, send) -> None:
        try:
            message = ("ok", self._fn())
        except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
            message = ("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
        send.send(message)
        send.close()

    def result(self) -> Any:
        if self._done:
            return self._value
        if self._process is None:
            self._value = self._fn()
        else:
            try:
                status, payload = self._receive.recv()
            except EOFError:
                self._process.join()
                raise BesideError(f"the child process computing {getattr(self._fn, '__name__', 'a result')} died "
                                  f"(exit code {self._process.exitcode}) without a result") from None
            finally:
                self._receive.close()
            self._process.join()
            if status != "ok":
                raise BesideError(f"the child process failed: {payload}")
            self._value = payload
        self._done = True
        return self._value
