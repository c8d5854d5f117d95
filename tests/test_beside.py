"""``workbench._beside.Beside``: a forked child computes the same value the caller would, and every failure of the
child reaches the caller as an error instead of a hang or a missing result."""

import os

import numpy as np
import pytest

from workbench._beside import Beside, BesideError, can_fork, usable_cpus

# CI runs on Linux with two cores: there the tests must run, never skip
needs_fork = pytest.mark.skipif((not can_fork() or usable_cpus() < 2) and not os.environ.get("CI"), reason="fork and two CPUs are needed")


def _work(seed: int):
    rng = np.random.default_rng(seed)
    return {"sum": float(rng.random(1000).sum()), "pid": os.getpid()}


@needs_fork
def test_the_child_returns_what_the_function_returns_inline():
    side = Beside(lambda: _work(3))
    assert side.forked
    value = side.result()
    assert value["sum"] == _work(3)["sum"]
    assert value["pid"] != os.getpid()  # it really ran elsewhere
    assert side.result() is value  # asked twice: the same object, no second run


def test_disabled_runs_inline_on_result():
    calls = []
    side = Beside(lambda: calls.append(1) or _work(3), enabled=False)
    assert not side.forked and calls == []
    assert side.result()["pid"] == os.getpid() and calls == [1]


@needs_fork
def test_an_exception_in_the_child_names_its_type_and_traceback():
    def fail():
        raise ValueError("no answers in fold 2")

    with pytest.raises(BesideError, match=r"ValueError: no answers in fold 2(.|\n)*Traceback"):
        Beside(fail).result()


@needs_fork
def test_a_child_that_dies_without_a_result_is_an_error():
    with pytest.raises(BesideError, match="exit code 7"):
        Beside(lambda: os._exit(7)).result()
