"""HTML of :class:`workbench.questions.itemstats.ItemStatsResult`: presentation only, text from the catalog (``items.*``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._tabular import escape
from ..i18n import t as _t
from .itemstats import FLAG_CODES

__all__ = ["render_item_statistics"]


def render_item_statistics(result, lang: str) -> str:
    """The item statistics as an HTML fragment in ``lang`` (headings and notes escaped, tables through the one renderer)."""
    th = result.thresholds
    parts = ["<div class='wb-itemstats'>"]
    parts.append(f"<h3>{escape(_t('items.h.items', lang, n=len(result.items)))}</h3>")
    parts.append("<p>" + escape(_t("items.scale_note", lang, lo=f"{result.scale[0]:g}", hi=f"{result.scale[1]:g}", good=f"{th.min_item_total:.2f}",
                                   marginal=f"{th.marginal_item_total:.2f}", alpha=f"{th.min_alpha:.2f}")) + "</p>")
    parts.append(_html_table(result.items, _ITEM_COLS, lang))
    parts.append(f"<h3>{escape(_t('items.h.alpha', lang))}</h3>")
    parts.append(_html_table(result.competencies, _COMP_COLS, lang))
    parts.append(f"<h3>{escape(_t('items.h.icc', lang))}</h3>")
    agreement = result.agreement
    if "recommended" in agreement.columns:
        rec = agreement["recommended"]
        agreement = agreement[(rec.isna() | (rec == True)).to_numpy(dtype=bool)]  # noqa: E712
    parts.append(_html_table(agreement, _AGREE_COLS, lang))
    parts.append(f"<h3>{escape(_t('items.h.dif', lang))}</h3>")
    parts.append(f"<p>{escape(_t('items.dif_sign_note', lang))}</p>")
    parts.append(_html_table(result.dif, _DIF_COLS, lang))
    parts.append(f"<h3>{escape(_t('items.h.irt', lang))}</h3>")
    parts.append(_html_table(result.irt, _IRT_COLS, lang))
    parts.append("</div>")
    return "".join(parts)


# column headers: items.col.<column> in the catalog
_ITEM_COLS = ("question_id", "competency_id", "n", "mean", "sd", "floor_share", "ceiling_share", "corrected_item_total", "alpha_if_deleted", "qwk",
              "flags", "explanation")  # fmt: skip
_COMP_COLS = ("competency_id", "form", "n_items", "n_candidates", "alpha", "flag", "explanation")
_AGREE_COLS = ("competency_id", "label", "description", "icc", "ci95_low", "ci95_high", "n_answers", "n_raters", "flag", "explanation")
_DIF_COLS = ("competency_id", "form", "question_id", "group", "focal", "reference", "n_focal", "n_reference", "mh_d_dif", "se", "p_value",
             "ets_class", "smd_sd", "ets_poly_class", "explanation")  # fmt: skip
_IRT_COLS = ("competency_id", "form", "question_id", "fitted", "a", "b1", "b2", "b3", "b4", "converged", "reason")


def _fmt(value: object, lang: str | None = None) -> str:
    """A cell's text (plain: the one table renderer escapes it)."""
    if isinstance(value, (list, tuple)):
        return _t("items.list_sep", lang).join(_t(f"items.flag.{v}", lang) if str(v) in FLAG_CODES else str(v) for v in value)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return _t("items.yes" if value else "items.no", lang)
    if isinstance(value, (float, np.floating)):
        return f"{value:.3f}"
    if isinstance(value, str) and value in FLAG_CODES:
        return _t(f"items.flag.{value}", lang)
    return str(value)


def _html_table(frame: pd.DataFrame, names, lang: str | None = None) -> str:
    """One table through the reports' table renderer (escaping, styles); headers from ``items.col.<column>``."""
    from ..reports import render_table

    cols = [c for c in names if c in frame.columns]
    if frame.empty or not cols:
        return render_table(pd.DataFrame(), empty=_t("items.none", lang), lang=lang)
    # object columns, so that lists (flags) and missing values reach the formatter as they are
    shown = frame[cols].astype(object)
    return render_table(shown, labels={c: _t(f"items.col.{c}", lang) for c in cols}, formats=dict.fromkeys(cols, lambda v: _fmt(v, lang)),
                        max_rows=max(len(shown), 1), lang=lang)
