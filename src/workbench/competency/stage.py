"""Library side of the ``01_competency_model`` notebook."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..intake import load_accepted
from ..pipeline import StageContext
from .dictionary import DIMENSION_NAMES, load_dictionary
from .model import CompetencyModel, build_competency_model

__all__ = ["run_competency_stage", "weights_heatmap", "effect_plot", "truth_recovery", "recovery_table"]


def run_competency_stage(
    stage: StageContext,
    *,
    high_performer_grade: int = 4,
    n_bootstrap: int = 200,
    min_employees: int = 100,
    min_stability: float = 0.7,
    pinned_weights: dict | None = None,
    seed: int = 7,
) -> CompetencyModel:
    intake_dir = stage.upstream("00_intake")
    tables = load_accepted(intake_dir)
    info = json.loads((intake_dir / "dictionary.json").read_text(encoding="utf-8"))
    dictionary = load_dictionary(info["path"])
    for name in ("employees", "employee_competencies"):
        stage.record_input(intake_dir / f"{name}.parquet", role="table")
    model = build_competency_model(
        tables["employees"],
        tables["employee_competencies"],
        dictionary,
        high_performer_grade=high_performer_grade,
        n_bootstrap=n_bootstrap,
        min_employees=min_employees,
        min_stability=min_stability,
        pinned_weights=pinned_weights,
        seed=seed,
        progress=False,  # papermill shows per-cell progress; a bar inside the kernel would end up in the report
    )
    model.save(stage.path("competency_model.json"))
    model.estimates.to_csv(stage.path("estimates.csv"), index=False)
    metrics = {"version": model.version, "roles_estimated": int(model.roles["estimated"].sum()), "roles_total": len(model.roles)}
    for r in model.roles.itertuples():
        metrics[f"{r.role_id}.n"] = int(r.n)
        metrics[f"{r.role_id}.r2_cv"] = None if pd.isna(r.r2) else round(float(r.r2), 4)
    recovery = truth_recovery(model, stage.run_dir)
    if recovery is not None:
        recovery.to_csv(stage.path("truth_recovery.csv"), index=False)
        for r in recovery.itertuples():
            metrics[f"{r.role_id}.truth_spearman"] = None if pd.isna(r.spearman) else round(float(r.spearman), 4)
        applies = recovery[recovery["bar_applies"]]
        if len(applies):
            metrics["truth_spearman_min_n200"] = round(float(applies["spearman"].min()), 4)
    stage.publish_metrics(metrics)
    stage.finish()
    return model


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
                "found_drivers": "、".join(model.dictionary.competencies[c].name for c in cols if est[c] > 0) or "（等权，未估计）",
            }
        )
    return pd.DataFrame(rows)


def weights_heatmap(model: CompetencyModel, *, lang: str = "zh"):
    """Roles × competencies, final weights; empty cells: competency not in the role's model."""
    import matplotlib.pyplot as plt

    from ..reports import setup_matplotlib

    setup_matplotlib()
    d = model.dictionary
    comps = [c for c in d.competencies]
    roles = list(d.roles)
    grid = np.full((len(roles), len(comps)), np.nan)
    for r in model.estimates.itertuples():
        grid[roles.index(r.role_id), comps.index(r.competency_id)] = r.weight
    fig, ax = plt.subplots(figsize=(14, 5.5))
    im = ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(0.5, np.nanmax(grid)), aspect="auto")
    ax.set_yticks(range(len(roles)), [d.roles[r].name if lang == "zh" else d.roles[r].name_en for r in roles])
    ax.set_xticks(range(len(comps)), [d.competencies[c].name if lang == "zh" else d.competencies[c].name_en for c in comps], rotation=60, ha="right", fontsize=8)
    for i in range(len(roles)):
        for j in range(len(comps)):
            if not np.isnan(grid[i, j]) and grid[i, j] > 0:
                ax.text(j, i, f"{grid[i, j]:.0%}", ha="center", va="center", fontsize=7, color="white" if grid[i, j] > 0.3 else "black")
    ax.set_title("各岗位胜任力最终权重（空白=不在该岗位模型中）" if lang == "zh" else "Final competency weights by role (blank: not in the role's model)")
    fig.colorbar(im, ax=ax, fraction=0.02)
    fig.tight_layout()
    return fig


def effect_plot(model: CompetencyModel, role_id: str, *, lang: str = "zh"):
    """Effect sizes (Cohen's d, high performers vs the rest) with bootstrap 95% CIs for one role."""
    import matplotlib.pyplot as plt

    from ..reports import setup_matplotlib

    setup_matplotlib()
    d = model.dictionary
    est = model.estimates[model.estimates["role_id"] == role_id].sort_values("effect_size")
    labels = [f"{d.competencies[c].name}（{DIMENSION_NAMES[d.competencies[c].dimension]}）" for c in est["competency_id"]]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(est) + 1.2))
    y = np.arange(len(est))
    err = np.vstack([est["effect_size"] - est["effect_ci_low"], est["effect_ci_high"] - est["effect_size"]])
    colors = ["#3b6ea8" if w > 0 else "#9aa5b1" for w in est["weight"]]
    ax.errorbar(est["effect_size"], y, xerr=np.nan_to_num(err), fmt="none", ecolor="#666", capsize=3)
    ax.scatter(est["effect_size"], y, c=colors, zorder=3)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_yticks(y, labels)
    ax.set_xlabel("效应量 d（高绩效 − 其他，95% 置信区间；蓝色=模型选中）" if lang == "zh" else "Cohen's d (high performers − rest, 95% CI; blue: selected)")
    ax.set_title(f"{d.roles[role_id].name}：区分高绩效者的胜任力" if lang == "zh" else f"{d.roles[role_id].name_en}: what separates high performers")
    fig.tight_layout()
    return fig


def recovery_table(recovery: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """The truth-recovery table with reader-facing column names."""
    verdict = {True: "达标" if lang == "zh" else "pass", False: "未达标" if lang == "zh" else "fail", None: "不适用（员工 < 200）" if lang == "zh" else "n/a (< 200 employees)"}
    return pd.DataFrame(
        {
            ("岗位" if lang == "zh" else "Role"): recovery["role"],
            ("员工数" if lang == "zh" else "Employees"): recovery["n_employees"],
            ("等级相关" if lang == "zh" else "Spearman"): recovery["spearman"].map(lambda v: "—" if pd.isna(v) else f"{v:.2f}"),
            ("判定（≥ 0.80）" if lang == "zh" else "Verdict (≥ 0.80)"): recovery["passes"].map(lambda v: verdict[None if v is None or pd.isna(v) else bool(v)]),
            ("真实驱动因素" if lang == "zh" else "True drivers"): recovery["true_drivers"],
            ("模型找到的" if lang == "zh" else "Found"): recovery["found_drivers"],
        }
    )
