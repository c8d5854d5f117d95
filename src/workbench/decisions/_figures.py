"""Charts of a :class:`Decisions` result, labelled from the message catalog (Chinese by default)."""

from __future__ import annotations

import numpy as np

from ..i18n import label, resolve_lang, t

__all__ = ["funnel_figure", "talent_pool_figure", "decision_figure"]

_STEPS = ("assessed", "passed", "advanced", "in_human_review")


def _role_names(decisions, roles, lang):
    d = decisions.dictionary
    english = resolve_lang(lang) == "en"
    if d is None:
        return list(roles)
    return [(d.roles[r].name_en if english else d.roles[r].name) if r in d.roles else r for r in roles]


def funnel_figure(decisions, *, lang: str | None = None):
    """Per role: candidates assessed, passed the pass mark, advanced and in human review; the pass-rate threshold
    as a marker on the "passed" bars, roles with an alert marked ⚠."""
    import matplotlib.pyplot as plt

    from ..reports import setup_matplotlib

    setup_matplotlib()
    f = decisions.funnel[decisions.funnel["level"] == "role"]
    wide = f.pivot(index="role_id", columns="step", values="count").reindex(columns=list(_STEPS)).fillna(0)
    wide = wide.sort_values("assessed", ascending=True)
    alerted = set(decisions.alerts.loc[decisions.alerts["level"] == "role", "role_id"]) if len(decisions.alerts) else set()
    names = [("⚠ " if r in alerted else "") + n for r, n in zip(wide.index, _role_names(decisions, wide.index, lang))]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(wide) + 1.4))
    y = np.arange(len(wide))
    height = 0.8 / len(_STEPS)
    for i, step in enumerate(_STEPS):
        ax.barh(y + (i - 1.5) * height, wide[step], height=height, label=label("funnel_step", step, lang))
    ax.scatter(wide["assessed"] * decisions.pass_threshold, y - 0.5 * height, marker="|", s=140, color="black", zorder=3,
               label=t("decisions.chart.threshold", lang, threshold=f"{decisions.pass_threshold:.0%}"))
    ax.set_yticks(y, names)
    ax.set_xlabel(t("decisions.chart.candidates", lang))
    ax.set_title(t("decisions.chart.funnel_title", lang))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=5, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def talent_pool_figure(decisions, *, lang: str | None = None):
    """Candidates per talent-pool tag and role (a heat table)."""
    import matplotlib.pyplot as plt

    from ..reports import setup_matplotlib

    setup_matplotlib()
    tags = decisions.talent_pool
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if tags.empty:
        ax.text(0.5, 0.5, t("decisions.chart.no_tags", lang), ha="center", va="center")
        ax.set_axis_off()
        return fig
    table = tags.pivot_table(index="tag", columns="role_id", values="candidate_id", aggfunc="count", fill_value=0)
    values = table.to_numpy()
    ax.imshow(values, cmap="Blues", aspect="auto", vmin=0)
    for (i, j), v in np.ndenumerate(values):  # white on the dark cells, so every number stays readable
        ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color="white" if v > 0.6 * values.max() else "black")
    ax.set_yticks(range(len(table.index)), [label("talent_tag", c, lang) for c in table.index])
    ax.set_xticks(range(len(table.columns)), _role_names(decisions, table.columns, lang), rotation=45, ha="right")
    ax.set_title(t("decisions.chart.talent_title", lang))
    fig.tight_layout()
    return fig


def decision_figure(decisions, *, lang: str | None = None):
    """Per role: share advanced, not advanced and sent to human review."""
    import matplotlib.pyplot as plt

    from ..reports import setup_matplotlib

    setup_matplotlib()
    s = decisions.summary().sort_values(["candidates", "role_id"], ascending=[True, False], kind="stable").set_index("role_id")  # biggest on top
    shares = s[["advance", "reject", "human_review"]].div(s["candidates"], axis=0)
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(s) + 1.4))
    left = np.zeros(len(s))
    for col, color in (("advance", "#2e7d32"), ("human_review", "#f9a825"), ("reject", "#9e9e9e")):
        ax.barh(_role_names(decisions, s.index, lang), shares[col], left=left, color=color, label=label("decision", col, lang))
        left += shares[col].to_numpy()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title(t("decisions.chart.decision_title", lang))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
