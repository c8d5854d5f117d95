"""Stage 01 — competency model: which competencies separate high performers, per role, from EHR data.

Per role: effect sizes (Cohen's d, high performers vs the rest) with bootstrap intervals and a non-negative lasso
(penalty by cross-validation, one-standard-error rule) with selection stability. Data-derived weights and the
dictionary become a versioned ``competency_model.json``; HR can pin or override weights; roles with too few
employees get equal weights and a warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._tabular import write_csv_safe
from ..competency.model import CompetencyModel, build_competency_model
from ..i18n import label, t
from ..pipeline import StageContext
from ..reports import Report, setup_matplotlib
from ._base import StageDef, StageParams, param

__all__ = ["Params", "Result", "run", "report", "STAGE"]


@dataclass(frozen=True)
class Params(StageParams):
    high_performer_grade: int = param(4, "performance_grade at or above which an employee counts as a high performer")
    n_bootstrap: int = param(40, "bootstrap resamples for confidence intervals and stability")
    min_employees: int = param(50, "below this many employees a role gets equal weights and a warning")
    min_stability: float = param(0.7, "a competency must be selected in this share of resamples to get data weight")
    pinned_weights: dict = param({}, 'fixed weights, e.g. {"compliance_awareness": 0.15} or {"teller.customer_first": 0.2}')
    seed: int = param(7, "random seed")


@dataclass
class Result:
    model: CompetencyModel
    recovery: pd.DataFrame | None


def run(ctx: StageContext, params: Params) -> Result:
    tables = ctx.tables
    model = build_competency_model(
        tables["employees"], tables["employee_competencies"], ctx.dictionary, high_performer_grade=params.high_performer_grade,
        n_bootstrap=params.n_bootstrap, min_employees=params.min_employees, min_stability=params.min_stability,
        pinned_weights=params.pinned_weights or None, seed=params.seed, progress=False,
    )
    model.save(ctx.path("competency_model.json"))
    write_csv_safe(model.estimates, ctx.path("estimates.csv"))
    metrics = {"version": model.version, "roles_estimated": int(model.roles["estimated"].sum()), "roles_total": len(model.roles)}
    for r in model.roles.itertuples():
        metrics[f"{r.role_id}.n"] = int(r.n)
        metrics[f"{r.role_id}.r2_cv"] = None if pd.isna(r.r2) else round(float(r.r2), 4)
    recovery = truth_recovery(model, ctx.run_dir)
    if recovery is not None:
        write_csv_safe(recovery, ctx.path("truth_recovery.csv"))
        for r in recovery.itertuples():
            metrics[f"{r.role_id}.truth_spearman"] = None if pd.isna(r.spearman) else round(float(r.spearman), 4)
        applies = recovery[recovery["bar_applies"]]
        if len(applies):
            metrics["truth_spearman_min_n200"] = round(float(applies["spearman"].min()), 4)
    ctx.publish_metrics(metrics)
    return Result(model=model, recovery=recovery)


def report(result: Result, lang: str = "zh") -> Report:
    model = result.model
    rep = Report(t("stage.01_competency_model", lang), lang)
    rep.paragraph(t("s01.intro", lang)).html(model.to_html(lang))
    rep.heading(t("s01.h.weights", lang)).figure(weights_heatmap(model, lang=lang))
    if result.recovery is not None:
        rep.heading(t("s01.h.truth", lang)).paragraph(t("s01.truth_note", lang)).table(recovery_table(result.recovery, model.dictionary, lang=lang))
    rep.heading(t("s01.h.roles", lang)).paragraph(t("s01.roles_note", lang))
    for role_id in model.roles["role_id"]:
        rep.heading(model.dictionary.roles[role_id].label(lang), level=3)
        rep.figure(effect_plot(model, role_id, lang=lang)).table(model.comparison_table(role_id, lang))
    return rep


def truth_recovery(model: CompetencyModel, run_dir: Path) -> pd.DataFrame | None:
    """When the run used the synthetic cohort: rank correlation of estimated with true weights per role."""
    from scipy.stats import spearmanr

    truth_file = Path(run_dir) / "inputs" / "cohort" / "truth" / "truth.json"
    if not truth_file.is_file():
        return None
    truth = json.loads(truth_file.read_text(encoding="utf-8"))["true_weights"]
    rows = []
    for role_id, true in truth.items():
        if role_id not in model.dictionary.roles:
            continue
        est = model.weights(role_id)
        cols = list(true)
        n = int(model.roles.set_index("role_id").loc[role_id, "n"])
        a, b = [est[c] for c in cols], [true[c] for c in cols]
        rho = float(spearmanr(a, b).statistic) if len(set(a)) > 1 and len(set(b)) > 1 else float("nan")
        rows.append(
            {
                "role_id": role_id,
                "role": model.dictionary.roles[role_id].name,
                "n_employees": n,
                "spearman": rho,
                "bar_applies": n >= 200,
                "passes": bool(rho >= 0.8) if n >= 200 else None,
                "true_drivers": "、".join(model.dictionary.competencies[c].name for c in cols if true[c] > 0),
                "found_drivers": "、".join(model.dictionary.competencies[c].name for c in cols if est[c] > 0) or t("competency.not_estimated", "zh"),
                "true_driver_ids": " ".join(c for c in cols if true[c] > 0),
                "found_driver_ids": " ".join(c for c in cols if est[c] > 0),
            }
        )
    return pd.DataFrame(rows)


def weights_heatmap(model: CompetencyModel, *, lang: str = "zh"):
    """Roles × competencies, final weights; empty cells: competency not in the role's model."""
    import matplotlib.pyplot as plt

    setup_matplotlib()
    d = model.dictionary
    comps = [c for c in d.competencies]
    roles = list(d.roles)
    grid = np.full((len(roles), len(comps)), np.nan)
    for r in model.estimates.itertuples():
        grid[roles.index(r.role_id), comps.index(r.competency_id)] = r.weight
    fig, ax = plt.subplots(figsize=(14, 5.5))
    im = ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(0.5, np.nanmax(grid)), aspect="auto")
    ax.set_yticks(range(len(roles)), [d.roles[r].label(lang) for r in roles])
    ax.set_xticks(range(len(comps)), [d.competencies[c].label(lang) for c in comps], rotation=60, ha="right", fontsize=8)
    for i in range(len(roles)):
        for j in range(len(comps)):
            if not np.isnan(grid[i, j]) and grid[i, j] > 0:
                ax.text(j, i, f"{grid[i, j]:.0%}", ha="center", va="center", fontsize=7, color="white" if grid[i, j] > 0.3 else "black")
    ax.set_title(t("s01.fig.weights", lang))
    fig.colorbar(im, ax=ax, fraction=0.02)
    fig.tight_layout()
    return fig


def effect_plot(model: CompetencyModel, role_id: str, *, lang: str = "zh"):
    """Effect sizes (Cohen's d, high performers vs the rest) with bootstrap 95% CIs for one role."""
    import matplotlib.pyplot as plt

    setup_matplotlib()
    d = model.dictionary
    est = model.estimates[model.estimates["role_id"] == role_id].sort_values("effect_size")
    labels = [t("s01.fig.effect_label", lang, competency=d.competencies[c].label(lang), dimension=label("dimension", d.competencies[c].dimension, lang))
              for c in est["competency_id"]]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(est) + 1.2))
    y = np.arange(len(est))
    err = np.vstack([est["effect_size"] - est["effect_ci_low"], est["effect_ci_high"] - est["effect_size"]])
    colors = ["#3b6ea8" if w > 0 else "#9aa5b1" for w in est["weight"]]
    ax.errorbar(est["effect_size"], y, xerr=np.nan_to_num(err), fmt="none", ecolor="#666", capsize=3)
    ax.scatter(est["effect_size"], y, c=colors, zorder=3)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_yticks(y, labels)
    ax.set_xlabel(t("s01.fig.effect_x", lang))
    ax.set_title(t("s01.fig.effect_title", lang, role=d.roles[role_id].label(lang)))
    fig.tight_layout()
    return fig


def recovery_table(recovery: pd.DataFrame, dictionary=None, *, lang: str = "zh") -> pd.DataFrame:
    """The truth-recovery table with reader-facing column names (role and competency names in ``lang``)."""
    verdict = {True: t("s01.verdict.pass", lang), False: t("s01.verdict.fail", lang), None: t("s01.verdict.na", lang)}
    roles, drivers_true, drivers_found = recovery["role"], recovery["true_drivers"], recovery["found_drivers"]
    if dictionary is not None and "true_driver_ids" in recovery:
        sep = t("competency.list_sep", lang)

        def names(ids: str) -> str:
            return sep.join(dictionary.competencies[c].label(lang) for c in str(ids).split())

        roles = recovery["role_id"].map(lambda r: dictionary.roles[r].label(lang))
        drivers_true = recovery["true_driver_ids"].map(names)
        drivers_found = recovery["found_driver_ids"].map(lambda ids: names(ids) or t("competency.not_estimated", lang))
    return pd.DataFrame(
        {
            t("col.role", lang): roles,
            t("col.employees", lang): recovery["n_employees"],
            t("col.spearman", lang): recovery["spearman"].map(lambda v: "—" if pd.isna(v) else f"{v:.2f}"),
            t("col.verdict_080", lang): recovery["passes"].map(lambda v: verdict[None if v is None or pd.isna(v) else bool(v)]),
            t("col.true_drivers", lang): drivers_true,
            t("col.found_drivers", lang): drivers_found,
        }
    )


STAGE = StageDef("01_competency_model", Params, run, report, requires=("00_intake",))
