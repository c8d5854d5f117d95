"""Score-level fairness views: standardized group gaps, machine vs human gaps, score distributions.

Standardized mean difference (SMD) of category *g* against the reference *r*:
``(mean_g - mean_r) / s_pooled`` with ``s_pooled = sqrt(((n_g-1)·s_g² + (n_r-1)·s_r²) / (n_g + n_r - 2))``
(sample SDs, ddof=1). Confidence intervals are seeded percentile bootstraps that resample candidates within each
category (category sizes fixed; machine and human scores of a candidate stay paired).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigurationError
from ._impact import DEFAULT_UNKNOWN_VALUES, Attribute, build_attributes, check_column, check_frame, score_vector
from ._tests import _check_boot, _quantiles

__all__ = ["group_score_gaps", "scorer_vs_human", "score_distribution_figure"]

# effect codes (labels: fairness.effect.<code> in the message catalog); ``note`` holds codes too
EFFECT_NARROWED = "narrowed"
EFFECT_WIDENED = "widened"
EFFECT_NONE = "no_change"
NOTE_REFERENCE = "reference"
NOTE_NOT_COMPUTABLE = "not_computable"

_BATCH_CELLS = 4_000_000  # bootstrap indices drawn per batch (memory bound)


def _pooled_sd(n1, s1, n2, s2):
    dof = n1 + n2 - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / dof)


def _smd(m1, s1, n1, m2, s2, n2):
    sp = _pooled_sd(n1, s1, n2, s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sp > 0, (m1 - m2) / sp, np.nan)


def _boot_moments(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap means and SDs (ddof=1) of ``values`` (1-D) or of each column of ``values`` (2-D, rows paired)."""
    n = values.shape[0]
    two_d = values.ndim == 2
    width = values.shape[1] if two_d else 1
    means = np.empty((n_boot, width))
    sds = np.empty((n_boot, width))
    batch = max(1, _BATCH_CELLS // max(n, 1))
    for start in range(0, n_boot, batch):
        stop = min(n_boot, start + batch)
        idx = rng.integers(0, n, size=(stop - start, n))
        sample = values[idx] if two_d else values[idx][:, :, None]
        means[start:stop] = sample.mean(axis=1)
        sds[start:stop] = sample.std(axis=1, ddof=1) if n > 1 else np.nan
    return means, sds


def _resolve_reference(attr: Attribute, reference: Any, sizes: dict[str, int]) -> str:
    if isinstance(reference, Mapping):
        reference = reference.get(attr.name)
    if reference is None:
        # the largest category (most stable estimate); ties by report order
        return max(attr.categories, key=lambda c: (sizes[c], -attr.categories.index(c)))
    label = reference.strip() if isinstance(reference, str) else str(reference)
    if label not in attr.categories:
        raise ConfigurationError(
            f"reference {reference!r} is not a known category of {attr.name!r}; categories: {', '.join(attr.categories)}"
        )
    return label


def _groups(attr: Attribute, *arrays: np.ndarray) -> dict[str, tuple[np.ndarray, ...]]:
    out = {}
    for c in attr.categories:
        mask = attr.labels == c
        out[c] = tuple(a[mask] for a in arrays)
    return out


def group_score_gaps(
    data: pd.DataFrame,
    *,
    by: str | Sequence[str],
    score: str,
    reference: Any = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    random_state: int = 0,
    unknown_values: Iterable[Any] = DEFAULT_UNKNOWN_VALUES,
) -> pd.DataFrame:
    """Per category mean, SD, n and standardized mean difference vs a reference category, with bootstrap CI.

    ``by`` may be a list (one block per column plus the intersection, as in ``impact_table``); ``reference`` is a
    category label, a dict ``{attribute: label}``, or ``None`` for the largest category of each attribute.
    Columns: ``attribute, category, n, mean, sd, reference, mean_diff, smd, smd_ci_low, smd_ci_high,
    unknown_count, note``. Unknown attribute values are counted (``unknown_count``) but not compared.
    """
    data = check_frame(data)
    n_boot = _check_boot(n_boot)
    quantiles = _quantiles(ci)
    values = score_vector(data, score)
    attributes = build_attributes(data, by, unknown_values)
    frames = []
    for a_i, attr in enumerate(attributes):
        groups = _groups(attr, values)
        sizes = {c: len(groups[c][0]) for c in attr.categories}
        ref = _resolve_reference(attr, reference, sizes)
        rng = np.random.default_rng([int(random_state), a_i])
        boots = {c: _boot_moments(groups[c][0], n_boot, rng) for c in attr.categories}
        (ref_vals,) = groups[ref]
        n_r, m_r, s_r = len(ref_vals), ref_vals.mean(), ref_vals.std(ddof=1) if len(ref_vals) > 1 else np.nan
        bm_r, bs_r = boots[ref]
        rows = []
        for c in attr.categories:
            (vals,) = groups[c]
            n = len(vals)
            m = float(vals.mean())
            s = float(vals.std(ddof=1)) if n > 1 else np.nan
            smd = float(_smd(m, s, n, m_r, s_r, n_r))
            bm, bs = boots[c]
            bsmd = _smd(bm[:, 0], bs[:, 0], n, bm_r[:, 0], bs_r[:, 0], n_r)
            bsmd = bsmd[np.isfinite(bsmd)]
            lo, hi = (np.quantile(bsmd, quantiles) if bsmd.size and c != ref else (np.nan, np.nan))
            note = NOTE_REFERENCE if c == ref else ""
            if n < 2:
                note = NOTE_NOT_COMPUTABLE
            rows.append(
                {
                    "attribute": attr.name,
                    "category": c,
                    "n": n,
                    "mean": m,
                    "sd": s,
                    "reference": ref,
                    "mean_diff": m - m_r,
                    "smd": 0.0 if c == ref else smd,
                    "smd_ci_low": float(lo),
                    "smd_ci_high": float(hi),
                    "unknown_count": int((~attr.known).sum()),
                    "note": note,
                }
            )
        frames.append(pd.DataFrame(rows))
    return pd.concat(frames, ignore_index=True)


def scorer_vs_human(
    data: pd.DataFrame,
    *,
    by: str | Sequence[str],
    machine: str,
    human: str,
    reference: Any = None,
    n_boot: int = 1000,
    ci: float = 0.95,
    random_state: int = 0,
    min_change: float = 0.1,
    unknown_values: Iterable[Any] = DEFAULT_UNKNOWN_VALUES,
) -> pd.DataFrame:
    """Does the machine scorer narrow or widen the group gaps that human raters show?

    Per category: ``n``, ``mean_machine``, ``mean_human``, ``mean_diff`` = mean(machine − human) with bootstrap
    CI (``diff_ci_low``/``diff_ci_high``), ``human_smd`` and ``machine_smd`` (gap vs the reference category in
    pooled-SD units of the respective score), ``gap_change`` = |machine_smd| − |human_smd| with a paired
    bootstrap CI, and ``effect`` (a code): ``"narrowed"`` when the whole CI of ``gap_change`` is below 0 *and* the gap
    shrinks by at least ``min_change`` SD, ``"widened"`` when the CI is above 0 and it grows by at least
    ``min_change``, otherwise ``"no_change"`` (also for the reference category itself; ``note`` is ``"reference"``
    there and ``"not_computable"`` when a category is too small or has no variance). The practical threshold
    matters: machine and human scores are paired, so the bootstrap detects even trivial changes.
    Both scores should be on the same scale (e.g. the 1–5 rubric). Rows with an unknown attribute are counted
    in ``unknown_count`` only.
    """
    data = check_frame(data)
    n_boot = _check_boot(n_boot)
    quantiles = _quantiles(ci)
    if isinstance(min_change, bool) or not isinstance(min_change, (int, float)) or min_change < 0:
        raise ConfigurationError(f"min_change must be a non-negative number of SD units, got {min_change!r}")
    if machine == human:
        raise ConfigurationError("machine and human must be two different columns")
    m_vals = score_vector(data, machine)
    h_vals = score_vector(data, human)
    attributes = build_attributes(data, by, unknown_values)
    frames = []
    for a_i, attr in enumerate(attributes):
        groups = _groups(attr, m_vals, h_vals)
        sizes = {c: len(groups[c][0]) for c in attr.categories}
        ref = _resolve_reference(attr, reference, sizes)
        rng = np.random.default_rng([int(random_state), a_i])
        # columns: machine, human, machine - human (paired within candidate)
        stacked = {c: np.column_stack([groups[c][0], groups[c][1], groups[c][0] - groups[c][1]]) for c in attr.categories}
        boots = {c: _boot_moments(stacked[c], n_boot, rng) for c in attr.categories}
        ref_x = stacked[ref]
        n_r = len(ref_x)
        ref_mean = ref_x.mean(axis=0)
        ref_sd = ref_x.std(axis=0, ddof=1) if n_r > 1 else np.full(3, np.nan)
        bm_r, bs_r = boots[ref]
        rows = []
        for c in attr.categories:
            x = stacked[c]
            n = len(x)
            mean = x.mean(axis=0)
            sd = x.std(axis=0, ddof=1) if n > 1 else np.full(3, np.nan)
            machine_smd = float(_smd(mean[0], sd[0], n, ref_mean[0], ref_sd[0], n_r))
            human_smd = float(_smd(mean[1], sd[1], n, ref_mean[1], ref_sd[1], n_r))
            bm, bs = boots[c]
            diff_lo, diff_hi = np.quantile(bm[:, 2], quantiles)
            b_machine = _smd(bm[:, 0], bs[:, 0], n, bm_r[:, 0], bs_r[:, 0], n_r)
            b_human = _smd(bm[:, 1], bs[:, 1], n, bm_r[:, 1], bs_r[:, 1], n_r)
            change = np.abs(b_machine) - np.abs(b_human)
            change = change[np.isfinite(change)]
            note = ""
            if c == ref:
                machine_smd = human_smd = 0.0
                g_lo = g_hi = np.nan
                effect = EFFECT_NONE
                note = NOTE_REFERENCE
            elif change.size:
                g_lo, g_hi = (float(v) for v in np.quantile(change, quantiles))
                point = abs(machine_smd) - abs(human_smd)
                if g_hi < 0 and point <= -min_change:
                    effect = EFFECT_NARROWED
                elif g_lo > 0 and point >= min_change:
                    effect = EFFECT_WIDENED
                else:
                    effect = EFFECT_NONE
            else:
                g_lo = g_hi = np.nan
                effect = EFFECT_NONE
                note = NOTE_NOT_COMPUTABLE
            rows.append(
                {
                    "attribute": attr.name,
                    "category": c,
                    "n": n,
                    "reference": ref,
                    "mean_machine": float(mean[0]),
                    "mean_human": float(mean[1]),
                    "mean_diff": float(mean[2]),
                    "diff_ci_low": float(diff_lo),
                    "diff_ci_high": float(diff_hi),
                    "human_smd": human_smd,
                    "machine_smd": machine_smd,
                    "gap_change": abs(machine_smd) - abs(human_smd),
                    "gap_change_ci_low": g_lo,
                    "gap_change_ci_high": g_hi,
                    "effect": effect,
                    "unknown_count": int((~attr.known).sum()),
                    "note": note,
                }
            )
        frames.append(pd.DataFrame(rows))
    return pd.concat(frames, ignore_index=True)


def score_distribution_figure(
    data: pd.DataFrame,
    *,
    by: str,
    score: str,
    lang: str | None = "zh",
    bins: int | str = "auto",
    unknown_values: Iterable[Any] = DEFAULT_UNKNOWN_VALUES,
):
    """Overlaid density histograms of ``score``, one per category of ``by``, with the full-sample median.

    The dashed line is the LL144 scoring-rate threshold (a candidate counts only when strictly above it).
    Labels are Chinese (``lang="zh"``) or English (``"en"``); rows with an unknown category are left out and
    counted in the title. Returns the matplotlib Figure (show it with ``workbench.reports.show_figure``).
    """
    import matplotlib.pyplot as plt

    from ..i18n import label, resolve_lang, t
    from ..reports import setup_matplotlib

    setup_matplotlib()
    lang = resolve_lang(lang)
    data = check_frame(data)
    if not isinstance(by, str):
        raise ConfigurationError("score_distribution_figure takes a single attribute column as by=")
    check_column(data, by, "by")
    values = score_vector(data, score)
    (attr,) = build_attributes(data, by, unknown_values)
    median = float(np.median(values))
    edges = np.histogram_bin_edges(values, bins=bins)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for c in attr.categories:
        vals = values[attr.labels == c]
        ax.hist(vals, bins=edges, density=True, histtype="step", linewidth=1.6, label=t("fairness.fig.series", lang, category=c, n=len(vals)))
    ax.axvline(median, color="black", linestyle="--", linewidth=1)
    n_unknown = int((~attr.known).sum())
    ax.set_title(t("fairness.fig.title", lang, by=label("fairness.attribute", by, lang)) + (t("fairness.fig.unknown", lang, n=n_unknown) if n_unknown else ""))
    ax.set_xlabel(t("fairness.fig.xlabel", lang, score=label("fairness.score", score, lang), median=f"{median:.3g}"))
    ax.set_ylabel(t("fairness.fig.ylabel", lang))
    ax.legend(title=t("fairness.fig.legend", lang), fontsize=8)
    fig.tight_layout()
    return fig
