"""Shared fixtures. In CI (CI=true) a skipped test fails the run: nothing may be silently left out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The session's smoke run: the smoke profile on an even smaller cohort (its reports are what the browser opens).
SMOKE_SETS = ["cohort_candidates=80", "cohort_employees_per_role=10"]


@pytest.fixture(autouse=True, scope="session")
def _isolated_reports(tmp_path_factory):
    """Runs made by tests go to a temporary reports folder, never into the checkout's reports/."""
    path = tmp_path_factory.mktemp("reports")
    # runs made by tests keep their run-local pseudonym keys (synthetic cohorts, see 06_export) there too, not in ~/.local/state
    values = {"WORKBENCH_REPORTS_DIR": str(path), "WORKBENCH_STATE_DIR": str(tmp_path_factory.mktemp("state"))}
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    yield path
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def fair_cohort(tmp_path_factory) -> Path:
    """A mid-sized fair cohort shared by the statistical tests (CSV)."""
    from workbench.synth import generate_cohort, scenario_config

    out = tmp_path_factory.mktemp("cohort") / "fair"
    generate_cohort(scenario_config("fair", seed=7, n_candidates=3000, employees_per_role=300), out, fmt="csv")
    return out


# A run made by the tests is what a newcomer's `make run` makes: no pseudonym key (a synthetic cohort's export then
# uses a run-local key, kept in the session's state directory).
PSEUDONYM_KEY_ENV = "WORKBENCH_PSEUDONYM_KEY"


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One `workbench run --profile smoke --out <tmp>` per test session, shared by the runner, browser and export tests."""
    from workbench.pipeline import run_pipeline

    out = tmp_path_factory.mktemp("runs") / "smoke"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(PSEUDONYM_KEY_ENV, raising=False)
        return run_pipeline(profile="smoke", sets=SMOKE_SETS, out=out, progress=False)


def pytest_sessionfinish(session, exitstatus):
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; skipping is not allowed in CI", red=True)
        session.exitstatus = 1
