"""The runner: parameters and profiles, run directories and manifests, failures, run history, plain papermill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from workbench._hashing import sha256_file
from workbench._paths import PROJECT_ROOT
from workbench.errors import ConfigurationError, StageFailed
from workbench.pipeline import compare_runs, declared_parameters, find_run, list_runs, resolve_parameters, run_pipeline
from workbench.pipeline._params import split_lang
from workbench.stages import RESERVED_PARAMETERS, STAGES, parameters_cell

from cli_support import run_cli
from conftest import SMOKE_SETS  # the session's smoke run (fixture `smoke_run`) uses these too


# --- parameters -------------------------------------------------------------------------------------------


def test_every_stage_declares_typed_parameters_once():
    for stage in STAGES:
        params = declared_parameters(stage)
        assert params and all(spec.help for spec in params.values()), stage.name
        assert not set(params) & set(RESERVED_PARAMETERS), stage.name  # run_dir and lang belong to the runner
        stage.params()  # the defaults construct


def test_notebook_parameters_cell_matches_the_stage_params_exactly():
    """The stage's Params is the single source; the notebook's parameters cell must say exactly the same."""
    for stage in STAGES:
        nb = nbformat.read(str(stage.notebook), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", []))
        assert cell.source.strip() == parameters_cell(stage), (
            f"{stage.notebook.name}: the parameters cell differs from {stage.run.__module__}.Params; replace it with:\n{parameters_cell(stage)}"
        )
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and c is not cell)
        assert f"from workbench.stages import {stage.run.__module__.rsplit('.', 1)[-1]} as stage" in code
        assert len([c for c in nb.cells if c.cell_type == "code"]) == 3  # parameters, one run, one report



def test_papermill_reads_every_parameter_of_every_notebook():
    """papermill skips a parameters-cell line with a second "=" (a help text saying "1 = in turn" did): the
    parameter is then unknown to papermill and `workbench run` warns and drops it."""
    import papermill

    for stage in STAGES:
        found = papermill.inspect_notebook(str(stage.notebook))
        assert set(found) == {"run_dir", "lang", *declared_parameters(stage)}, stage.notebook.name

def test_notebooks_are_committed_clean_and_use_python3_kernel():
    for stage in STAGES:
        nb = nbformat.read(str(stage.notebook), as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        assert nb.metadata["language_info"]["name"] == "python"
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, stage.name
        # secrets never travel as notebook parameters (papermill records parameters in output notebooks)
        import re

        names = re.findall(r"^(\w+)\s*:", tagged[0].source, flags=re.M)
        assert not [n for n in names if re.search(r"secret|password|passwd|api_?key|access_?token|credential", n, flags=re.I)], names


def test_unknown_parameter_is_an_error():
    with pytest.raises(ConfigurationError, match="unknown parameter 'cohort_size'"):
        resolve_parameters(list(STAGES), {}, ["cohort_size=10"])


def test_ill_typed_parameter_is_an_error():
    with pytest.raises(ConfigurationError, match="not a valid int"):
        resolve_parameters(list(STAGES), {}, ["cohort_candidates=lots"])
    with pytest.raises(ConfigurationError, match="must be int"):
        resolve_parameters(list(STAGES), {}, ["cohort_candidates=1.5"])
    with pytest.raises(ConfigurationError, match="must be int"):
        resolve_parameters(list(STAGES), {"stages": {"00_intake": {"cohort_candidates": "10"}}}, [])


def test_set_precedence_and_stage_prefix():
    lang, sets = split_lang(["00_intake.cohort_candidates=42", "lang=en"])
    assert lang == "en" and sets == ["00_intake.cohort_candidates=42"]  # --set lang=en is the run's language
    params = resolve_parameters(list(STAGES), {"params": {"seed": 3}}, sets)
    assert params["00_intake"]["seed"] == 3
    assert params["00_intake"]["cohort_candidates"] == 42
    assert resolve_parameters(list(STAGES), {}, ['table_files={"answers": "/x.csv"}'])["00_intake"]["table_files"] == {"answers": "/x.csv"}


def test_run_dir_and_lang_are_reserved():
    for item in ("run_dir=/tmp/x", "lang=en"):
        with pytest.raises(ConfigurationError, match="set by the runner"):
            resolve_parameters(list(STAGES), {}, [item])


def test_profile_with_unknown_stage_or_key_is_an_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[stages."99_nope"]\nx = 1\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown stage"):
        run_pipeline(profile=str(bad), out=tmp_path / "r", progress=False)
    bad.write_text('[params]\nnot_a_param = 1\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown parameter"):
        run_pipeline(profile=str(bad), out=tmp_path / "r2", progress=False)


def test_shipped_profiles_resolve():
    from workbench.pipeline import list_profiles, load_profile

    assert {"smoke", "default", "full", "biased"} <= set(list_profiles())
    for name in list_profiles():
        _, path, data = load_profile(name)
        resolve_parameters(list(STAGES), data, [], profile_path=str(path))


# --- a real run -------------------------------------------------------------------------------------------


def test_smoke_run_produces_complete_run_directory(smoke_run):
    run_dir = smoke_run.run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and smoke_run.status == "ok"
    for key in ("run_id", "profile", "parameters", "git", "environment", "stages", "inputs", "outputs", "started_at", "finished_at"):
        assert manifest[key] not in (None, "", []), key
    assert manifest["environment"]["key"]["papermill"] and manifest["environment"]["key"]["pandas"]
    assert "commit" in manifest["git"] and "dirty" in manifest["git"]
    assert manifest["parameters"]["00_intake"]["cohort_candidates"] == 80
    for stage in manifest["stages"]:
        assert stage["status"] == "ok"
        assert (run_dir / stage["notebook"]).is_file()
        assert (run_dir / stage["html"]).is_file()
        assert stage["started_at"] and stage["ended_at"] and stage["duration_s"] > 0
    assert (run_dir / "index.html").is_file()
    # every output is listed with a correct hash; every recorded input exists with its hash
    for item in manifest["outputs"]:
        assert sha256_file(run_dir / item["path"]) == item["sha256"], item["path"]
    listed = {o["path"] for o in manifest["outputs"]}
    assert "index.html" in listed and "notebooks/00_intake.ipynb" in listed
    roles = {i["role"] for i in manifest["inputs"]}
    assert {"notebook", "table", "dictionary"} <= roles
    for item in manifest["inputs"]:
        path = PROJECT_ROOT / item["path"] if item["role"] in ("notebook", "dictionary") else run_dir / item["path"]
        assert sha256_file(path) == item["sha256"], item


def test_stages_start_only_after_what_they_require(smoke_run):
    """The runner starts a stage once the stages it requires have finished, up to `jobs` at a time (2 by default on
    this 2-core machine): in the manifest no stage starts before any of its requirements ended."""
    from workbench.stages import get_stage

    manifest = json.loads((smoke_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["jobs"] >= 1
    ended = {s["name"]: s["ended_at"] for s in manifest["stages"]}
    for record in manifest["stages"]:
        stage = get_stage(record["name"])
        for required in (*stage.requires, *stage.after):
            assert record["started_at"] >= ended[required], (record["name"], required)
    assert [s["name"] for s in manifest["stages"]] == sorted(ended)  # the manifest keeps pipeline order


def test_export_carries_the_feedback_of_the_same_run(smoke_run):
    """Stage 06 reads stage 04's candidate feedback when 04 is part of the run (``after``): with two jobs it used to
    start beside 04 and export no feedback at all, with one job all of it — results must not depend on ``jobs``."""
    import pandas as pd

    (records,) = (smoke_run.run_dir / "artifacts" / "06_export" / "batches").glob("*/records.parquet")
    exported = pd.read_parquet(records)
    scored = exported[exported["overall_score"].notna()]
    assert len(scored) and scored["candidate_feedback"].notna().mean() > 0.9


def test_jobs_must_be_a_positive_whole_number(tmp_path):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigurationError, match="jobs"):
            run_pipeline(profile="smoke", sets=SMOKE_SETS, out=tmp_path / "r", progress=False, jobs=bad)
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_metrics_are_published(smoke_run):
    metrics = json.loads((smoke_run.run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["00_intake"]["reconciled"] is True
    assert metrics["00_intake"]["candidates.rows_in"] == 80
    assert set(metrics) == {s.name for s in STAGES}
    manifest = json.loads((smoke_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    model = next(o for o in manifest["outputs"] if o["path"].endswith("scorer.skops"))
    assert metrics["03_scoring"]["model_sha256"] == model["sha256"]  # the manifest records the model's hash
    assert metrics["05_fairness_audit"]["audit_log_ok"] is True


def test_reports_are_offline_and_codeless(smoke_run):
    html = (smoke_run.run_dir / "html" / "00_intake.html").read_text(encoding="utf-8")
    assert "对账" in html and 'lang="zh-CN"' in html
    assert "STAGE.execute(" not in html and "notebook-only" not in html  # no code cells, no notebook-only narrative
    assert 'src="http' not in html and "<script src=" not in html
    index = (smoke_run.run_dir / "index.html").read_text(encoding="utf-8")
    assert "html/00_intake.html" in index and "成功" in index


def test_runs_are_never_overwritten(smoke_run):
    with pytest.raises(ConfigurationError, match="never overwritten"):
        run_pipeline(profile="smoke", sets=SMOKE_SETS, out=smoke_run.run_dir, progress=False)


def test_failing_stage_is_recorded_and_partial_notebook_kept(tmp_path):
    with pytest.raises(StageFailed) as info:
        run_pipeline(profile="smoke", sets=["data_dir=/nonexistent/folder"], out=tmp_path / "r", progress=False)
    err = info.value
    assert err.stage == "00_intake" and err.cell is not None and "IntakeError" in err.error
    assert "/nonexistent/folder" in str(err)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    stage = manifest["stages"][0]
    assert stage["status"] == "failed" and stage["error"]["cell"] == err.cell
    assert (tmp_path / "r" / stage["notebook"]).is_file()  # the partial output notebook is kept
    assert (tmp_path / "r" / "index.html").read_text(encoding="utf-8").count("失败") >= 1


def test_runs_list_show_compare(smoke_run, tmp_path):
    root = smoke_run.run_dir.parent
    second = run_pipeline(profile="smoke", stages=["00_intake"], sets=SMOKE_SETS + ["seed=8"], out=root / "second", progress=False)
    runs = list_runs(root)
    assert {smoke_run.run_id, second.run_id} <= set(runs["run_id"])
    run_dir, manifest = find_run(second.run_id, root)
    assert manifest["run_id"] == second.run_id
    diff = compare_runs(smoke_run.run_id, second.run_id, root)
    params = diff[diff["kind"] == "parameter"].set_index("name")
    assert params.loc["00_intake.seed", "a"] == 7 and params.loc["00_intake.seed", "b"] == 8
    assert "03_scoring.cv_folds" in params.index  # stages the second run did not include show up as differences
    metrics = diff[diff["kind"] == "metric"]
    assert len(metrics) > 0  # a different seed draws different numbers of answers


def test_cli_runs_commands(smoke_run, monkeypatch):
    monkeypatch.setenv("WORKBENCH_REPORTS_DIR", str(smoke_run.run_dir.parent))
    out = run_cli("runs", "list", "--json")  # `python -m workbench runs list --json`, in this process
    assert out.returncode == 0, out.stderr
    assert smoke_run.run_id in out.stdout
    out = run_cli("runs", "show", smoke_run.run_id)
    assert out.returncode == 0, out.stderr
    assert "00_intake" in out.stdout and "status" in out.stdout


def test_cli_help_tells_the_story():
    out = subprocess.run([sys.executable, "-m", "workbench", "--help"], capture_output=True, text=True, check=True)
    assert "胜任力模型" in out.stdout and "workbench run --profile smoke" in out.stdout
    out = subprocess.run([sys.executable, "-m", "workbench", "--lang", "en", "--help"], capture_output=True, text=True, check=True)
    assert "competency models" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "workbench", "run", "--set", "nope=1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_plain_papermill_from_another_directory(tmp_path):
    """The notebook resolves its paths from the project root, not the cwd."""
    papermill = Path(sys.executable).with_name("papermill")
    out = tmp_path / "out.ipynb"
    env = dict(os.environ, WORKBENCH_REPORTS_DIR=str(tmp_path / "reports"))
    proc = subprocess.run(
        [str(papermill), str(PROJECT_ROOT / "notebooks" / "00_intake.ipynb"), str(out), "-p", "cohort_candidates", "60",
         "-p", "cohort_employees_per_role", "5", "--no-progress-bar"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    nb = nbformat.read(str(out), as_version=4)
    assert nb.metadata["papermill"]["parameters"]["cohort_candidates"] == 60
    adhoc = list((tmp_path / "reports" / "adhoc").glob("*/stages/00_intake.json"))
    assert len(adhoc) == 1


def test_unseen_phrasing_is_also_reported_with_cuts_re_equated_on_the_new_population(smoke_run):
    """The equated table keeps the machine scores (r, SMD, n) and only moves the rating cuts to phrasing B's own
    score quantiles, so its machine ratings follow the human rating shares of the training population."""
    import numpy as np
    import pandas as pd

    art = smoke_run.run_dir / "artifacts" / "03_scoring"
    plain = pd.read_csv(art / "acceptance_unseen_phrasing_by_dimension.csv").set_index("dimension")
    equated = pd.read_csv(art / "acceptance_unseen_phrasing_equated_by_dimension.csv").set_index("dimension")
    for column in ("n", "human_mean", "machine_mean", "r", "smd"):
        assert np.allclose(plain[column], equated[column], equal_nan=True), column
    assert not np.allclose(plain["qwk"], equated["qwk"])  # the cuts moved
    metrics = json.loads((smoke_run.run_dir / "metrics.json").read_text(encoding="utf-8"))["03_scoring"]
    assert "unseen_phrasing_equated.qwk[all]" in metrics
    html = (smoke_run.run_dir / "html" / "03_scoring.html").read_text(encoding="utf-8")
    assert "重新等值" in html


def test_advisories_are_counted_per_question_as_well_as_per_competency(smoke_run):
    """Issue 10: flags counted per question and competency. The per-question table reconciles with the per-competency
    one and with the scored answers, and the report lists the questions that route the largest share."""
    import pandas as pd

    art = smoke_run.run_dir / "artifacts" / "03_scoring"
    by_competency = pd.read_csv(art / "advisories.csv")
    by_question = pd.read_csv(art / "advisories_by_question.csv")
    scores = pd.read_parquet(art / "answer_scores.parquet")
    assert by_question["question_id"].is_unique and set(by_question["question_id"]) == set(scores["question_id"])
    assert by_question["answers"].sum() == len(scores) and by_question["routed"].sum() == (scores["route"] == "human").sum()
    rolled = by_question.drop(columns=["question_id", "rate"]).groupby("competency").sum()
    expected = by_competency.set_index("competency")[rolled.columns]
    pd.testing.assert_frame_equal(rolled.sort_index(), expected.sort_index(), check_dtype=False)
    html = (smoke_run.run_dir / "html" / "03_scoring.html").read_text(encoding="utf-8")
    assert "转人工提示（按题目）" in html
    # the tests' small cohort has no question with 20 answers: the report says so instead of ranking noise
    assert (by_question["answers"] < 20).all() and "逐题比例不作排名" in html


def test_the_report_ranks_questions_by_routed_share_only_when_they_have_enough_answers():
    import pandas as pd

    from workbench.reports import Report
    from workbench.stages.scoring import _advisories_by_question_section

    rows = [("q.many_routed", "c1", 40, 12, 8, 4), ("q.few_routed", "c1", 60, 3, 0, 3), ("q.tiny", "c2", 4, 4, 4, 0)]
    table = pd.DataFrame(rows, columns=["question_id", "competency", "answers", "routed", "too_short", "off_topic"]).assign(
        question_text=["请描述一次你" * 10, "短题", "很短的题"])
    table["rate"] = table["routed"] / table["answers"]
    rep = Report("t", "en")
    _advisories_by_question_section(rep, table, {"c1": "合规意识"}, "en")
    html = rep._repr_html_()
    assert html.index("q.many_routed") < html.index("q.few_routed") and "q.tiny" not in html  # 4 answers: not ranked
    assert "Of the 2 questions with at least 20 answers (3 in all)" in html and "合规意识" in html and "…" in html
    few = Report("t", "en")
    _advisories_by_question_section(few, table[table["answers"] < 20], {}, "en")
    html = few._repr_html_()
    assert "not ranked" in html and "q.tiny" not in html
