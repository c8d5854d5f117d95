"""Shared fixtures. In CI (CI=true) a skipped test fails the run: nothing may be silently left out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
def _smoke_run_en_process(_isolated_reports, request, tmp_path_factory):
    """The English smoke run, started in the background as soon as the session needs a smoke run (Chinese or
    English) and some test of the session uses the English one. `workbench run` in its own process (a run sets
    WORKBENCH_LANG process-wide, so two runs cannot share one process): while the Chinese run goes through its
    stages one after another on one core, the English run uses the other. Yields (process, run folder, log)."""
    if not any("smoke_run_en" in getattr(item, "fixturenames", ()) for item in request.session.items):
        yield None
        return
    out = tmp_path_factory.mktemp("runs") / "smoke_en"
    log_path = out.with_name("smoke_en.log")
    env = {k: v for k, v in os.environ.items() if k != PSEUDONYM_KEY_ENV}
    sets = [arg for item in [*SMOKE_SETS, "lang=en"] for arg in ("--set", item)]
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "run", "--profile", "smoke", *sets, "--out", str(out), "--no-progress"],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, out, log_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def smoke_run(_smoke_run_en_process, tmp_path_factory):
    """One `workbench run --profile smoke --out <tmp>` per test session, shared by the runner, browser and export tests."""
    from workbench.pipeline import run_pipeline

    out = tmp_path_factory.mktemp("runs") / "smoke"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(PSEUDONYM_KEY_ENV, raising=False)
        return run_pipeline(profile="smoke", sets=SMOKE_SETS, out=out, progress=False)


@pytest.fixture(scope="session")
def smoke_run_en(_smoke_run_en_process):
    """The same smoke run with ``lang=en`` (`workbench run --profile smoke --set lang=en`), made next to `smoke_run`."""
    from workbench.pipeline import RunResult

    proc, out, log_path = _smoke_run_en_process
    returncode = proc.wait(timeout=3600)
    assert returncode == 0, f"English smoke run failed ({returncode}):\n{log_path.read_text(encoding='utf-8')[-4000:]}"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return RunResult(run_id=manifest["run_id"], run_dir=out, status=manifest["status"], manifest=manifest)


def pytest_sessionfinish(session, exitstatus):
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; skipping is not allowed in CI", red=True)
        session.exitstatus = 1
