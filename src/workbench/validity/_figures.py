"""Charts of a :class:`ValidityStudy` (matplotlib, Chinese labels from the message catalog, no personal data).

Each function returns a ``matplotlib.figure.Figure``; in a notebook show it with
:func:`workbench.reports.show_figure`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..i18n import label, resolve_lang, t

__all__ = ["validity_figure", "expectancy_figure", "tradeoff_figure", "machine_vs_human_figure", "potential_figure"]

_OBSERVED, _RANGE, _OPERATIONAL = "#8c959f", "#7aa6d6", "#1f4e8c"


def _plt():
    import matplotlib.pyplot as plt

    from ..reports import setup_matplotlib

    setup_matplotlib()
    return plt


def _err(values, low, high):
    values, low, high = (np.asarray(a, dtype=float) for a in (values, low, high))
    return np.vstack([np.clip(values - low, 0, None), np.clip(high - values, 0, None)])


def validity_figure(study, *, criterion: str = "performance_rating", role: str = "all", lang: str | None = None):
    """Observed, range-corrected and operational validity of each predictor (dots with 95 % intervals)."""
    lang = resolve_lang(lang or study.config.get("lang"))
    plt = _plt()
    v = study.validity
    rows = v[(v["criterion"] == criterion) & (v["role_id"] == role) & (v["status"] == "ok")].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * max(len(rows), 3) + 1.2))
    if rows.empty:
        ax.text(0.5, 0.5, t("validity.fig.no_data", lang), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    y = np.arange(len(rows))[::-1]
    series = [("r", _OBSERVED, "validity.col.r", -0.22), ("r_rr", _RANGE, "validity.col.r_rr", 0.0), ("r_op", _OPERATIONAL, "validity.col.r_op", 0.22)]
    for col, color, key, offset in series:
        if rows[col].notna().any():
            ax.errorbar(rows[col], y + offset, xerr=_err(rows[col], rows[f"{col}_ci_low"], rows[f"{col}_ci_high"]), fmt="o", color=color, ecolor=color,
                        capsize=3, label=t(key, lang))
    ax.axvline(0, color="#d0d7de", lw=1)
    ax.set_yticks(y, [label("validity.predictor", p, lang) for p in rows["predictor"]])
    ax.set_xlabel(t("validity.fig.validity_x", lang))
    ax.set_title(t("validity.fig.validity_title", lang, criterion=label("validity.criterion", criterion, lang), role=t("validity.role_all", lang) if role == "all" else role))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14 if len(rows) > 6 else -0.22), ncol=3, fontsize=8, frameon=False)
    ax.set_xlim(min(-0.1, float(np.nanmin(rows[["r_ci_low"]].to_numpy())) - 0.05), 1.0)
    fig.tight_layout()
    return fig


def expectancy_figure(study, *, predictor: str | None = None, criterion: str = "performance_rating", role: str = "all", lang: str | None = None):
    """Chance of a high rating by score band: among the hires (observed, Wilson intervals) and, when the study could
    correct for range restriction, for the whole applicant pool (theoretical, from the corrected validity)."""
    lang = resolve_lang(lang or study.config.get("lang"))
    plt = _plt()
    e = study.expectancy
    if e.empty:
        raise DataError(t("validity.expectancy.none", lang, min_n=study.config["min_n"]))
    sub = e[(e["role_id"] == role) & (e["criterion"] == criterion)]
    if predictor is None and len(sub):
        predictor = sub["predictor"].iloc[0]
    sub = sub[sub["predictor"] == predictor]
    if sub.empty:
        raise DataError(f"no expectancy table for predictor {predictor!r}, criterion {criterion!r}, role {role!r}")
    pool = study.expectancy_pool
    pool = pool[(pool["role_id"] == role) & (pool["criterion"] == criterion) & (pool["predictor"] == predictor)] if len(pool) else pool
    panels = 2 if len(pool) else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.6), squeeze=False)
    ax = axes[0, 0]
    x = np.arange(len(sub))
    ax.bar(x, sub["p_high"], color=_OPERATIONAL, yerr=_err(sub["p_high"], sub["ci_low"], sub["ci_high"]), capsize=3, alpha=0.9)
    ax.axhline(sub["base_rate"].iloc[0], color="#b26a00", ls="--", lw=1.2, label=t("validity.fig.base_rate", lang))
    ax.set_xticks(x, [f"{lo:.0f}–{hi:.0f}" if hi > 5 else f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(sub["score_low"], sub["score_high"])], fontsize=8)
    ax.set_xlabel(t("validity.fig.band_x", lang, predictor=label("validity.predictor", predictor, lang)))
    ax.set_ylabel(t("validity.fig.p_high_y", lang, high=study.config["high_rating"], criterion=label("validity.criterion", criterion, lang)))
    ax.set_ylim(0, 1)
    ax.set_title(t("validity.fig.expectancy_hired", lang), fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    for xi, (p, top, n) in enumerate(zip(sub["p_high"], sub["ci_high"], sub["n"])):
        ax.text(xi, min(top + 0.02, 0.9), f"{p:.0%}\nn={n}", ha="center", va="bottom", fontsize=7)
    if panels == 2:
        ax2 = axes[0, 1]
        xp = np.arange(len(pool))
        ax2.bar(xp, pool["p_high"], color=_RANGE)
        ax2.axhline(pool["pool_base_rate"].iloc[0], color="#b26a00", ls="--", lw=1.2, label=t("validity.fig.base_rate", lang))
        ax2.set_xticks(xp, [t("validity.fig.quintile", lang, k=int(b)) for b in pool["band"]], fontsize=8)
        ax2.set_ylim(0, 1)
        ax2.set_title(t("validity.fig.expectancy_pool", lang, rho=f"{pool['rho'].iloc[0]:.2f}"), fontsize=10)
        ax2.set_xlabel(t("validity.fig.pool_x", lang))
        for xi, p in enumerate(pool["p_high"]):
            ax2.text(xi, p + 0.02, f"{p:.0%}", ha="center", va="bottom", fontsize=7)
        ax2.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def tradeoff_figure(study, *, lang: str | None = None):
    """Expected performance gain of the selected group (SD units) against the lowest impact ratio, per option;
    Pareto-efficient options joined per selection ratio, the current rule starred, LDA candidates ringed."""
    lang = resolve_lang(lang or study.config.get("lang"))
    plt = _plt()
    tr = study.tradeoff
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    if tr.empty:
        ax.text(0.5, 0.5, t("validity.fig.no_data", lang), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    alt = tr[tr["kind"] != "current"]
    shares = sorted(alt["share"].unique())
    cmap = plt.get_cmap("viridis")
    for i, share in enumerate(shares):
        g = alt[np.isclose(alt["share"], share)]
        color = cmap(i / max(len(shares) - 1, 1))
        ax.scatter(g["worst_ratio"], g["gain_sd"], s=18, color=color, alpha=0.55, label=t("validity.fig.share", lang, share=f"{share:.0%}"))
        front = g[g["pareto"]].sort_values("worst_ratio")
        ax.plot(front["worst_ratio"], front["gain_sd"], color=color, lw=1.2)
    cand = tr[tr["lda_candidate"]]
    if len(cand):
        ax.scatter(cand["worst_ratio"], cand["gain_sd"], s=90, facecolors="none", edgecolors="#1a7f37", lw=1.5, label=t("validity.col.lda_candidate", lang))
    cur = tr[tr["kind"] == "current"]
    ax.scatter(cur["worst_ratio"], cur["gain_sd"], marker="*", s=220, color="#c62828", zorder=5, label=t("validity.tradeoff.current", lang))
    ax.axvline(0.8, color="#b26a00", ls="--", lw=1)
    ax.text(0.8, ax.get_ylim()[1], " 4/5", color="#b26a00", va="top", fontsize=8)
    ax.set_xlabel(t("validity.fig.tradeoff_x", lang))
    ax.set_ylabel(t("validity.fig.tradeoff_y", lang))
    ax.set_title(t("validity.fig.tradeoff_title", lang), fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="best")
    fig.tight_layout()
    return fig


def machine_vs_human_figure(study, *, criterion: str = "performance_rating", role: str = "all", lang: str | None = None):
    """The scorer's validity next to the human ratings' per aspect, and the difference with its bootstrap interval."""
    lang = resolve_lang(lang or study.config.get("lang"))
    plt = _plt()
    m = study.machine_vs_human
    rows = m[(m["role_id"] == role) & (m["criterion"] == criterion) & (m["status"] == "ok")] if len(m) else m
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    if rows is None or len(rows) == 0:
        for a in (ax, ax2):
            a.set_axis_off()
        ax.text(0.5, 0.5, t("validity.fig.no_data", lang), ha="center", va="center", transform=ax.transAxes)
        return fig
    x = np.arange(len(rows))
    names = [label("validity.aspect", a, lang) for a in rows["aspect"]]
    ax.bar(x - 0.2, rows["machine"], width=0.4, color=_OPERATIONAL, label=t("validity.col.machine", lang))
    ax.bar(x + 0.2, rows["human"], width=0.4, color=_OBSERVED, label=t("validity.col.human", lang))
    ax.set_xticks(x, names)
    ax.set_ylabel(label("validity.measure", rows["measure"].iloc[0], lang))
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(t("validity.fig.mvh_title", lang, criterion=label("validity.criterion", criterion, lang)), fontsize=10)
    ax2.errorbar(rows["difference"], x[::-1], xerr=_err(rows["difference"], rows["diff_ci_low"], rows["diff_ci_high"]), fmt="o", color=_OPERATIONAL, capsize=3)
    ax2.axvline(0, color="#8c959f", lw=1)
    ax2.set_yticks(x[::-1], names)
    ax2.set_xlabel(t("validity.fig.mvh_diff_x", lang))
    fig.tight_layout()
    return fig


def potential_figure(study, *, predictor: str | None = None, lang: str | None = None):
    """Chance of a high potential rating by learning-agility score band among the hires (pooled)."""
    e = study.expectancy
    sub = e[(e["criterion"] == "potential_rating") & (e["role_id"] == "all")] if len(e) else pd.DataFrame()
    if sub.empty:
        raise DataError(t("validity.potential.none", resolve_lang(lang or study.config.get("lang"))))
    if predictor is None:
        la = [p for p in sub["predictor"].unique() if p.endswith("learning_agility")]
        predictor = (la or list(sub["predictor"].unique()))[0]
    return expectancy_figure(study, predictor=predictor, criterion="potential_rating", lang=lang)
