"""Stage 00 — data intake: read the input tables, apply the data contracts, quarantine bad rows, profile the rest.

Without ``data_dir`` the synthetic cohort (known ground truth) is generated into the run first. Rows that break a
contract go to ``quarantine.csv`` with file, row, column and a reason code; ``rows in = accepted + quarantined``.
The competency dictionary is copied into the run, so every later stage uses exactly the dictionary taken in here.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..i18n import label, t
from ..intake import TABLES, IntakeResult, resolve_sources, run_intake
from ..intake.contracts import OPTIONAL_TABLES
from ..pipeline import StageContext
from ..reports import Report, setup_matplotlib
from ._base import StageDef, StageParams, param

__all__ = ["Params", "Result", "run", "report", "STAGE"]

_PII_COLUMNS = {(t.name, c.name) for t in (*TABLES.values(), *OPTIONAL_TABLES.values()) for c in t.columns if c.pii or c.name == "answer_text"}


@dataclass(frozen=True)
class Params(StageParams):
    data_dir: str = param("", "folder with the input tables (empty: generate the synthetic cohort into the run)")
    dictionary_path: str = param("", "competency dictionary YAML (empty: data/competency_dictionary.yaml)")
    table_files: dict = param({}, 'per-table file overrides, e.g. {"answers": "/data/answers.xlsx"}')
    cohort_scenario: str = param("fair", "synthetic cohort scenario when data_dir is empty: fair | biased")
    cohort_candidates: int = param(300, "synthetic cohort: number of candidates")
    cohort_employees_per_role: int = param(60, "synthetic cohort: EHR employees per role")
    cohort_phrasing_b_share: float = param(0.0, "synthetic cohort: share of candidates answering from the second, disjoint phrase banks")
    seed: int = param(7, "random seed (same seed, same data)")


@dataclass
class Result:
    intake: IntakeResult
    synthetic: bool


def run(ctx: StageContext, params: Params) -> Result:
    from .._paths import PROJECT_ROOT
    from ..competency import load_dictionary
    from ..synth import generate_cohort, scenario_config

    if params.data_dir:
        base = Path(params.data_dir)
        base = base if base.is_absolute() else PROJECT_ROOT / base
    else:
        base = ctx.run_dir / "inputs" / "cohort"
        config = scenario_config(params.cohort_scenario, seed=params.seed, n_candidates=params.cohort_candidates,
                                 employees_per_role=params.cohort_employees_per_role, phrasing_b_share=params.cohort_phrasing_b_share)
        generate_cohort(config, base, fmt="csv")
        ctx.record_input(base / "truth", role="ground_truth")
    dictionary = load_dictionary(params.dictionary_path or None)
    sources = resolve_sources(base, params.table_files or None)
    for path in sources.values():
        ctx.record_input(path, role="table")
    ctx.record_input(dictionary.path, role="dictionary")
    result = run_intake(sources, dictionary=dictionary)
    result.save(ctx.artifacts)
    shutil.copyfile(dictionary.path, ctx.path("competency_dictionary.yaml"))  # later stages read this copy
    ctx.publish_metrics(result.metrics())
    return Result(intake=result, synthetic=not params.data_dir)


# ------------------------------------------------------------------------------------------------------------
def quarantine_overview(result: IntakeResult) -> pd.DataFrame:
    """Quarantine counts by table and reason code (no values: values may be personal data)."""
    q = result.quarantine
    if q.empty:
        return pd.DataFrame(columns=["table", "reason_code", "problems", "rows"])
    return q.groupby(["table", "reason_code"]).agg(problems=("row", "size"), rows=("row", "nunique")).reset_index()


def quarantine_sample(result: IntakeResult, n: int = 20) -> pd.DataFrame:
    """The first quarantined problems with personal-data values hidden (full list: quarantine.csv)."""
    q = result.quarantine.head(n).copy()
    q["value"] = [None if (tbl, col) in _PII_COLUMNS else v for tbl, col, v in zip(q["table"], q["column"], q["value"])]
    q["source_file"] = q["source_file"].map(lambda p: Path(str(p)).name)
    return q[["table", "source_file", "row", "column", "value", "reason_code"]]


def overview_figure(result: IntakeResult, lang: str):
    """Candidates per role, the rating distribution and answer lengths (empty panels say so)."""
    import matplotlib.pyplot as plt

    setup_matplotlib()
    tables, dictionary = result.tables, result.dictionary
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    per_role = tables["candidates"]["role_id"].value_counts()
    names = [dictionary.roles[r].name if r in dictionary.roles else r for r in per_role.index]
    axes[0].barh(names[::-1], per_role.to_numpy()[::-1], color="#3b6ea8")
    axes[0].set_title(t("s00.fig.per_role", lang))
    axes[0].set_xlabel(t("s00.fig.people", lang))
    ratings = pd.to_numeric(tables["ratings"]["rating"], errors="coerce").dropna().astype(int).value_counts().sort_index()
    axes[1].bar([t("s00.fig.points", lang, k=k) for k in ratings.index], ratings.to_numpy(), color="#5a9e6f")
    axes[1].set_title(t("s00.fig.ratings", lang))
    axes[1].set_ylabel(t("s00.fig.n_ratings", lang))
    lengths = tables["answers"]["answer_text"].fillna("").astype(str).str.len()
    axes[2].set_title(t("s00.fig.lengths", lang))
    axes[2].set_xlabel(t("s00.fig.length_axis", lang))
    if len(lengths):
        axes[2].hist(lengths.clip(upper=800), bins=40, color="#c2773a")
        median = float(np.median(lengths))
        axes[2].axvline(median, color="k", linestyle="--", linewidth=1)
        axes[2].text(median, axes[2].get_ylim()[1] * 0.9, " " + t("s00.fig.median", lang, value=f"{median:.0f}"), fontsize=9)
    for ax, empty in ((axes[0], per_role.empty), (axes[1], ratings.empty), (axes[2], lengths.empty)):
        if empty:
            ax.text(0.5, 0.5, t("intake.chart.no_data", lang), ha="center", va="center", transform=ax.transAxes, color="#888")
    fig.tight_layout()
    return fig


def report(result: Result, lang: str = "zh") -> Report:
    intake = result.intake
    rep = Report(t("stage.00_intake", lang), lang)
    rep.paragraph(t("s00.intro", lang))
    if result.synthetic:
        rep.note(t("s00.synthetic", lang), "muted")
    counts = intake.counts().drop(columns=["title"], errors="ignore")
    counts["table"] = counts["table"].map(lambda n: label("table", n, lang))
    counts["source_file"] = counts["source_file"].map(lambda p: Path(str(p)).name)
    rep.heading(t("s00.h.counts", lang)).table(counts, classes={"reconciled": lambda v, r: "wb-ok" if v else "wb-bad"})
    if not intake.reconciled:
        rep.note(t("s00.not_reconciled", lang), "error")
    rep.heading(t("s00.h.quarantine", lang)).paragraph(t("s00.quarantine_note", lang))
    overview = quarantine_overview(intake)
    overview["table"] = overview["table"].map(lambda n: label("table", n, lang))
    overview["reason"] = overview["reason_code"].map(lambda c: label("intake.reason", c, lang))
    rep.table(overview, empty=t("s00.nothing_quarantined", lang))
    if len(intake.quarantine):
        sample = quarantine_sample(intake)
        sample["table"] = sample["table"].map(lambda n: label("table", n, lang))
        sample["reason_code"] = sample["reason_code"].map(lambda c: label("intake.reason", c, lang))
        rep.table(sample, labels={"value": t("col.value_hidden", lang), "reason_code": t("col.reason", lang)})
    rep.heading(t("s00.h.overview", lang)).figure(overview_figure(intake, lang))
    for name in intake.tables:
        rep.heading(label("table", name, lang), level=3).table(intake.profile(name, lang))
    return rep


STAGE = StageDef("00_intake", Params, run, report)
