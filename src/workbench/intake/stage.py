"""Library side of the ``00_intake`` notebook."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..competency import load_dictionary
from ..pipeline import StageContext
from ._intake import IntakeResult, resolve_sources, run_intake
from .contracts import TABLES
from .validate import REASONS

__all__ = ["run_intake_stage", "quarantine_overview", "quarantine_sample", "overview_figure"]


def run_intake_stage(
    stage: StageContext,
    *,
    data_dir: str = "",
    dictionary_path: str = "",
    table_files: dict[str, str] | None = None,
    cohort_scenario: str = "fair",
    cohort_candidates: int = 2000,
    cohort_employees_per_role: int = 300,
    seed: int = 7,
) -> IntakeResult:
    """Take in the input tables, or — with ``data_dir=""`` — generate the synthetic cohort into the run first."""
    from ..synth import generate_cohort, scenario_config

    if data_dir:
        base = Path(data_dir)
        if not base.is_absolute():
            from .._paths import PROJECT_ROOT

            base = PROJECT_ROOT / base
    else:
        base = stage.run_dir / "inputs" / "cohort"
        config = scenario_config(cohort_scenario, seed=seed, n_candidates=cohort_candidates, employees_per_role=cohort_employees_per_role)
        generate_cohort(config, base, fmt="csv")
        stage.record_input(base / "truth", role="ground_truth")
    dictionary = load_dictionary(dictionary_path or None)
    sources = resolve_sources(base, table_files)
    for path in sources.values():
        stage.record_input(path, role="table")
    stage.record_input(dictionary.path, role="dictionary")
    result = run_intake(sources, dictionary=dictionary)
    result.save(stage.artifacts)
    stage.publish_metrics(result.metrics())
    stage.finish()
    return result


def quarantine_overview(result: IntakeResult) -> pd.DataFrame:
    """Quarantine counts by table and reason (no values: values may be personal data)."""
    q = result.quarantine
    if q.empty:
        return pd.DataFrame(columns=["数据表", "原因", "问题数", "涉及行数"])
    grouped = q.groupby(["table", "reason_code"]).agg(问题数=("row", "size"), 涉及行数=("row", "nunique")).reset_index()
    grouped["数据表"] = grouped["table"].map(lambda t: TABLES[t].title)
    grouped["原因"] = grouped["reason_code"].map(REASONS)
    return grouped[["数据表", "原因", "问题数", "涉及行数"]]


def quarantine_sample(result: IntakeResult, n: int = 20) -> pd.DataFrame:
    """First quarantined problems with personal-data values masked, for the report."""
    q = result.quarantine.head(n).copy()
    pii = {(t.name, c.name) for t in TABLES.values() for c in t.columns if c.pii or c.name == "answer_text"}
    q["value"] = [("（已隐藏）" if (tbl, col) in pii else v) for tbl, col, v in zip(q["table"], q["column"], q["value"])]
    q["source_file"] = q["source_file"].map(lambda p: Path(p).name)
    return q.rename(columns={"table": "数据表", "source_file": "文件", "row": "行号", "column": "列", "value": "取值", "reason": "原因"})[
        ["数据表", "文件", "行号", "列", "取值", "原因"]
    ]


def overview_figure(result: IntakeResult):
    """Three Chinese-labelled charts: candidates per role, rating distribution, answer length."""
    import matplotlib.pyplot as plt

    from ..reports import setup_matplotlib

    setup_matplotlib()
    dictionary = result.dictionary
    tables = result.tables
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    per_role = tables["candidates"]["role_id"].value_counts()
    labels = [dictionary.roles[r].name if r in dictionary.roles else r for r in per_role.index]
    axes[0].barh(labels[::-1], per_role.to_numpy()[::-1], color="#3b6ea8")
    axes[0].set_title("各岗位候选人数")
    axes[0].set_xlabel("人数")
    ratings = tables["ratings"]["rating"].astype(int).value_counts().sort_index()
    axes[1].bar([f"{k}分" for k in ratings.index], ratings.to_numpy(), color="#5a9e6f")
    axes[1].set_title("人工评分分布（1–5 分）")
    axes[1].set_ylabel("评分条数")
    lengths = tables["answers"]["answer_text"].fillna("").str.len()
    axes[2].hist(lengths.clip(upper=800), bins=40, color="#c2773a")
    axes[2].set_title("作答长度分布（字）")
    axes[2].set_xlabel("字数（800 以上归入最右）")
    axes[2].axvline(lengths.median(), color="k", linestyle="--", linewidth=1)
    axes[2].text(lengths.median(), axes[2].get_ylim()[1] * 0.9, f" 中位数 {lengths.median():.0f}", fontsize=9)
    fig.tight_layout()
    return fig
