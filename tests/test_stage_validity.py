"""Stage 07 (validity) in a pipeline run: its outputs, its metrics against the study's own numbers, the report in
both languages, and the run without an outcomes table."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.fairness.audit import PROVINCE_REGION
from workbench.pipeline import StageContext
from workbench.stages import get_stage
from workbench.stages import validity as stage
from workbench.validity import mean_rating_scores


@pytest.fixture(scope="module")
def run_dir(smoke_run):
    return smoke_run.run_dir


@pytest.fixture(scope="module")
def scratch_run(smoke_run, tmp_path_factory):
    """A copy of the smoke run to re-run stage 07 in (the shared run's outputs and hashes stay untouched)."""
    return Path(shutil.copytree(smoke_run.run_dir, tmp_path_factory.mktemp("validity") / "run"))


def test_stage_runs_after_scoring_and_writes_its_tables(run_dir):
    folder = run_dir / "artifacts" / "07_validity"
    for name in ("samples", "validity", "machine_vs_human"):
        assert (folder / f"{name}.csv").is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["07_validity"]
    samples = pd.read_csv(folder / "samples.csv", encoding="utf-8-sig")
    pooled = samples[samples["role_id"] == "all"].iloc[0]
    outcomes = pd.read_parquet(run_dir / "artifacts" / "00_intake" / "outcomes.parquet")
    # every hire listed in outcomes is counted, and the applicants are stage 03's scored candidates
    assert metrics["n_hired"] == pooled["n_hired"] == outcomes["candidate_id"].nunique()
    scores = pd.read_parquet(run_dir / "artifacts" / "03_scoring" / "candidate_scores.parquet")
    assert metrics["n_applicants"] == len(scores)
    assert (run_dir / "html" / "07_validity.html").is_file()


def test_the_legacy_selection_score_is_what_the_synthetic_bank_hired_on(run_dir):
    """The default selection_score (mean_rating) must be the score the synthetic hires were chosen by: the hires are
    the top of each role on it, so the direct (Case II) correction applies to it and Case III to everything else."""
    tables = {n: pd.read_parquet(run_dir / "artifacts" / "00_intake" / f"{n}.parquet") for n in ("answers", "ratings", "candidates", "outcomes")}
    legacy = mean_rating_scores(tables["answers"], tables["ratings"]).merge(tables["candidates"][["candidate_id", "role_id"]])
    hired = legacy["candidate_id"].isin(tables["outcomes"]["candidate_id"])
    # within each role, every hire scores at least as high as every applicant not hired
    for _, group in legacy.assign(hired=hired).groupby("role_id"):
        if group["hired"].any() and (~group["hired"]).any():
            assert group.loc[group["hired"], "mean_rating"].min() >= group.loc[~group["hired"], "mean_rating"].max() - 1e-9
    validity = pd.read_csv(run_dir / "artifacts" / "07_validity" / "validity.csv", encoding="utf-8-sig")
    corrections = validity.dropna(subset=["correction"]).groupby("predictor")["correction"].agg(set)
    assert corrections.get("mean_rating", set()) <= {"case_ii", "none"}
    assert {"case_iii"} >= corrections.get("machine_overall", {"case_iii"}) - {"none"}


def test_report_in_english_has_no_chinese_outside_data(scratch_run):
    ctx = StageContext(name="07_validity", run_dir=scratch_run, params={}, lang="en")
    result = stage.run(ctx, stage.Params(n_boot=50))
    html = stage.report(result, "en").to_page()
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S))
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", " ", text)
    chinese = set(re.findall(r"[\u4e00-\u9fff]+", text))
    # data values (attribute categories such as 男/女, 城镇/农村, 35岁及以上) stay as the bank wrote them
    values = " ".join(str(v) for table in ("candidates", "outcomes") for column in ctx.tables[table].select_dtypes(exclude="number")
                      for v in pd.unique(ctx.tables[table][column].astype(str)))
    values += " " + " ".join(PROVINCE_REGION.values())  # region: a category derived from home_province, like the others
    data_words = set(re.findall(r"[\u4e00-\u9fff]+", values))
    assert html and not chinese - data_words, sorted(chinese - data_words)[:10]


def test_without_outcomes_the_report_says_what_is_missing(scratch_run):
    ctx = StageContext(name="07_validity", run_dir=scratch_run, params={}, lang="zh")
    ctx.__dict__["tables"] = {k: v for k, v in ctx.tables.items() if k != "outcomes"}
    result = stage.run(ctx, stage.Params())
    assert result.study is None
    page = stage.report(result, "zh").to_page()
    assert "outcomes" in page and "data/README.md" in page
    assert get_stage("validity").name == "07_validity"
