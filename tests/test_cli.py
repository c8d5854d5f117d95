"""CLI habits: `workbench lab` passes JupyterLab's arguments through; `workbench runs` sees ad-hoc runs and runs by path."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from workbench import cli
from workbench._paths import NOTEBOOKS_DIR
from workbench.errors import ConfigurationError
from workbench.pipeline import compare_runs, find_run, list_runs, open_stage

# --- workbench lab ---------------------------------------------------------------------------------------------


@pytest.fixture
def lab_call(monkeypatch):
    """Run `workbench lab …` through main() and return the command it would start (nothing is started)."""
    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda argv, env=None: calls.append((argv, env)) or 0)

    def run(*args: str, uid: int = 1000) -> tuple[list[str], dict]:
        monkeypatch.setattr(cli.os, "geteuid", lambda: uid)
        assert cli.main(["lab", *args]) == 0
        return calls.pop()

    return run


def test_lab_passes_jupyterlab_arguments_through(lab_call):
    argv, env = lab_call("--port", "8890", "--ip", "0.0.0.0", "--no-browser", "--ServerApp.token=abc")
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--notebook-dir={NOTEBOOKS_DIR}" in argv
    assert argv[-6:] == ["--port", "8890", "--ip", "0.0.0.0", "--no-browser", "--ServerApp.token=abc"]  # as given, in order
    assert "--allow-root" not in argv
    assert env["WORKBENCH_ROOT"]


def test_lab_adds_allow_root_only_as_root_and_once(lab_call):
    argv, _ = lab_call(uid=0)
    assert argv.count("--allow-root") == 1
    argv, _ = lab_call("--allow-root", uid=0)
    assert argv.count("--allow-root") == 1
    argv, _ = lab_call("--allow-root", uid=1000)  # a user's own --allow-root is passed through as given
    assert argv.count("--allow-root") == 1


def test_lab_respects_the_users_folder_and_double_dash(lab_call):
    argv, _ = lab_call("--notebook-dir=/srv/notebooks")
    assert [a for a in argv if a.startswith("--notebook-dir")] == ["--notebook-dir=/srv/notebooks"]
    argv, _ = lab_call("--", "--help")  # after `--`, even --help is JupyterLab's
    assert argv[-1] == "--help" and "--" not in argv


def test_other_commands_still_reject_unknown_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["stages", "--port", "8890"])
    assert exc.value.code == 2 and "--port 8890" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_lab_really_starts_with_passed_arguments(tmp_path):
    """A real JupyterLab on a free port answers, then stops (as root this needs the automatic --allow-root)."""
    import httpx

    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "lab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port), "--ServerApp.token=wb-test"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/api/status", params={"token": "wb-test"}, timeout=2).status_code
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert status == 200, f"JupyterLab did not answer on port {port} (exit code {proc.poll()}):\n{(tmp_path / 'lab.log').read_text()[-3000:]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # our own session only: workbench and the JupyterLab it started
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


# --- workbench runs --------------------------------------------------------------------------------------------


@pytest.fixture
def reports(tmp_path, monkeypatch) -> Path:
    """An empty reports folder; notebooks run without a run_dir (plain papermill, JupyterLab) write into its adhoc/."""
    root = tmp_path / "reports"
    root.mkdir()
    monkeypatch.setenv("WORKBENCH_REPORTS_DIR", str(root))
    return root


def _adhoc_run(finished: bool = True):
    """An ad-hoc run as a notebook without run_dir makes it (the same open_stage call, the same records)."""
    stage = open_stage("00_intake", params={"cohort_candidates": 60, "seed": 7, "lang": "zh"})
    stage.publish_metrics({"rows_in": 123, "reconciled": True})
    if finished:
        stage.finish()
    return stage


def test_runs_list_sees_adhoc_runs(reports):
    done, unfinished = _adhoc_run(), _adhoc_run(finished=False)
    runs = list_runs().set_index("run_id")
    assert set(runs.index) == {done.run_dir.name, unfinished.run_dir.name}
    assert set(runs["kind"]) == {"adhoc"}
    assert runs.loc[done.run_dir.name, "status"] == "ok" and runs.loc[unfinished.run_dir.name, "status"] == "unfinished"
    assert runs.loc[done.run_dir.name, "dir"] == str(done.run_dir.resolve())
    assert runs.loc[done.run_dir.name, "stages"] == "00_intake:ok"


def test_find_and_compare_adhoc_runs_by_id_prefix_and_path(reports):
    a, b = _adhoc_run(), _adhoc_run()
    b.params["cohort_candidates"] = 90  # as if the notebook had been run with -p cohort_candidates 90
    b.publish_metrics({"rows_in": 150})
    b.finish()
    run_dir, manifest = find_run(a.run_dir.name)
    assert run_dir == a.run_dir and manifest["kind"] == "adhoc" and manifest["parameters"]["00_intake"]["seed"] == 7
    assert find_run(str(a.run_dir))[1]["run_id"] == a.run_dir.name
    diff = compare_runs(a.run_dir.name, str(b.run_dir)).set_index("name")
    assert diff.loc["00_intake.cohort_candidates", "a"] == 60 and diff.loc["00_intake.cohort_candidates", "b"] == 90
    assert diff.loc["00_intake.rows_in", "delta"] == 27 and "00_intake.seed" not in diff.index


def test_runs_given_by_path_must_be_runs(reports, tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        find_run(str(tmp_path / "no" / "such-run"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="not a run directory"):
        find_run(str(tmp_path / "empty"))
    with pytest.raises(ConfigurationError, match="neither a run directory"):
        list_runs(paths=[tmp_path / "empty"])
    assert cli.main(["runs", "show", str(tmp_path / "empty")]) == 2  # a clear error, not a traceback


@pytest.mark.notebooks
def test_runs_list_show_compare_across_kinds_and_places(smoke_run, reports, capsys):
    """The session's smoke run lives outside reports/ (--out): given by path it is listed, shown and compared
    with an ad-hoc run from reports/adhoc/."""
    adhoc = _adhoc_run()
    assert smoke_run.run_id not in set(list_runs()["run_id"])  # not under reports/, so only found when given

    for given in (smoke_run.run_dir, smoke_run.run_dir.parent):  # the run itself, or the folder holding it
        runs = list_runs(paths=[given]).set_index("run_id")
        assert runs.loc[smoke_run.run_id, "kind"] == "pipeline" and runs.loc[adhoc.run_dir.name, "kind"] == "adhoc"
        assert runs.loc[smoke_run.run_id, "dir"] == str(smoke_run.run_dir.resolve())
        assert runs.loc[smoke_run.run_id, "profile"] == "smoke"
    when = pd.to_datetime(list_runs(paths=[smoke_run.run_dir])["started_at"], utc=True, format="ISO8601")
    assert when.is_monotonic_increasing  # oldest first, whatever each timestamp's UTC offset

    assert cli.main(["runs", "list", str(smoke_run.run_dir), "--json"]) == 0
    listed = {row["run_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed[smoke_run.run_id]["dir"] == str(smoke_run.run_dir.resolve()) and listed[adhoc.run_dir.name]["kind"] == "adhoc"

    assert cli.main(["runs", "show", str(smoke_run.run_dir)]) == 0
    out = capsys.readouterr().out
    assert smoke_run.run_id in out and "流水线运行" in out and "05_fairness_audit" in out
    assert cli.main(["--lang", "en", "runs", "show", adhoc.run_dir.name]) == 0
    out = capsys.readouterr().out
    assert "ad-hoc run" in out and str(adhoc.run_dir.resolve()) in out and "cohort_candidates=60" in out

    assert cli.main(["runs", "compare", adhoc.run_dir.name, str(smoke_run.run_dir), "--json"]) == 0
    diff = pd.DataFrame(json.loads(capsys.readouterr().out)).set_index("name")
    assert diff.loc["kind", "a"] == "adhoc" and diff.loc["kind", "b"] == "pipeline"
    assert diff.loc["00_intake.cohort_candidates", "a"] == 60 and diff.loc["00_intake.cohort_candidates", "b"] == 80
    assert "03_scoring.cv_folds" in diff.index  # stages only one run has are differences too
