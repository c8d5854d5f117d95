"""The acceptance table ETS and testing programmes use for automated scoring (Williamson, Xi & Breyer 2012).

Per competency (or any grouping): N, human and machine mean/SD, QWK, Pearson r, exact and adjacent agreement,
standardised mean difference, SD ratio, human–human QWK on double-rated answers, degradation, and the largest
subgroup SMD for every demographic column. Each gate is evaluated; the report explains them (catalog ``gate.*``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._stats import qwk
from .._tabular import escape

__all__ = ["GATES", "Gates", "OVERALL", "acceptance_table", "render_acceptance", "qwk"]

OVERALL = "all"  # the overall row's key in every acceptance table (a code; reports show it as （全部） / (all))


@dataclass(frozen=True)
class Gates:
    min_qwk: float = 0.70
    min_r: float = 0.70
    max_degradation: float = 0.10
    max_abs_smd: float = 0.15
    max_abs_subgroup_smd: float = 0.10
    min_subgroup_n: int = 200  # smaller groups are reported but not gated: SE of SMD ≈ .04 at n = 200


GATES = Gates()



def _row(g: pd.DataFrame, demographics: tuple[str, ...], gates: Gates) -> dict:
    h1, h2 = g["human1"].to_numpy(float), g["human2"].to_numpy(float)
    h = g["human"].to_numpy(float)
    m_int = g["machine_rating"].to_numpy(int)
    m = g["machine"].to_numpy(float)
    sd_h = h.std(ddof=1) if len(h) > 1 else float("nan")
    q_hm = np.nanmean([qwk(m_int, h1.astype(int)), qwk(m_int, h2.astype(int))])
    q_hh = qwk(h1.astype(int), h2.astype(int))
    exact = np.mean([(m_int == h1).mean(), (m_int == h2).mean()])
    adjacent = np.mean([(np.abs(m_int - h1) <= 1).mean(), (np.abs(m_int - h2) <= 1).mean()])
    exact_hh = float((h1 == h2).mean())
    r = float(np.corrcoef(m, h)[0, 1]) if len(h) > 2 and m.std() > 0 and h.std() > 0 else float("nan")
    # SMD on the continuous machine score (the reported score); integer ratings serve the agreement statistics
    smd = float((m.mean() - h.mean()) / sd_h) if sd_h and sd_h > 0 else float("nan")
    row = {
        "n": len(g),
        "human_mean": h.mean(), "human_sd": sd_h, "machine_mean": m.mean(), "machine_sd": m.std(ddof=1) if len(g) > 1 else float("nan"),
        "qwk": q_hm, "r": r, "exact": exact, "adjacent": adjacent, "smd": smd,
        "sd_ratio": (sd_h / m.std(ddof=1)) if len(g) > 1 and m.std() > 0 else float("nan"),
        "qwk_hh": q_hh, "exact_hh": exact_hh, "degradation": q_hh - q_hm, "exact_drop": exact_hh - exact,
    }
    worst, worst_label = 0.0, ""
    for col in demographics:
        if col not in g.columns:
            continue
        for value, sub in g.groupby(col, dropna=True):
            if not sd_h or len(sub) < 10:
                continue
            d = float((sub["machine"].mean() - sub["human"].mean()) / sd_h)
            row[f"smd[{col}={value}]"] = d
            row[f"n[{col}={value}]"] = len(sub)
            if len(sub) >= gates.min_subgroup_n and abs(d) > abs(worst):
                worst, worst_label = d, f"{col}={value}"
    row["subgroup_smd_max"] = worst
    row["subgroup_smd_where"] = worst_label
    row["pass_qwk"] = bool(q_hm >= gates.min_qwk)
    row["pass_r"] = bool(r >= gates.min_r)
    row["pass_degradation"] = bool(row["degradation"] <= gates.max_degradation)
    row["pass_smd"] = bool(abs(smd) <= gates.max_abs_smd)
    row["pass_subgroup"] = bool(abs(worst) <= gates.max_abs_subgroup_smd)
    row["pass_all"] = all(row[k] for k in ("pass_qwk", "pass_r", "pass_degradation", "pass_smd", "pass_subgroup"))
    row["hm_meets_hh"] = bool(q_hm >= q_hh)
    return row


def acceptance_table(
    data: pd.DataFrame, *, by: str = "competency", demographics: tuple[str, ...] = (), gates: Gates = GATES, overall: bool = True
) -> pd.DataFrame:
    """``data``: one row per answer with ``human1``, ``human2`` (the two ratings), ``human`` (their consensus),
    ``machine`` (continuous score), ``machine_rating`` (integer) and the ``by`` and demographic columns."""
    need = ["human1", "human2", "human", "machine", "machine_rating", by]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise ValueError(f"acceptance_table needs columns {missing}")
    rows = [{by: key, **_row(g, demographics, gates)} for key, g in data.groupby(by, sort=True)]
    if overall:
        rows.append({by: OVERALL, **_row(data, demographics, gates)})
    return pd.DataFrame(rows)


_SHOWN = ["n", "human_mean", "machine_mean", "qwk", "r", "exact", "adjacent", "smd", "qwk_hh", "degradation", "subgroup_smd_max",
          "subgroup_smd_where", "pass_all"]
_GATE_OF = {"qwk": "pass_qwk", "r": "pass_r", "smd": "pass_smd", "degradation": "pass_degradation", "subgroup_smd_max": "pass_subgroup", "pass_all": "pass_all"}


def render_acceptance(table: pd.DataFrame, *, by: str = "competency", labels: dict | None = None, title: str = "", lang: str | None = None) -> str:
    """The acceptance table as HTML: every gate coloured pass/fail, codes shown as names, the gates explained."""
    from ..i18n import label, t
    from ..reports import render_table

    names = {**(labels or {}), OVERALL: t("report.all", lang)}
    shown = table[[by, *[c for c in _SHOWN if c in table.columns], *[g for g in _GATE_OF.values() if g != "pass_all" and g in table.columns]]].copy()
    if by == "dimension":
        names.update({d: label("dimension", d, lang) for d in shown[by] if d != OVERALL})
    shown[by] = shown[by].map(lambda v: names.get(v, v))
    shown["subgroup_smd_where"] = shown["subgroup_smd_where"].map(lambda w: _subgroup_text(w, lang))
    classes = {col: (lambda gate: lambda v, r: "wb-ok" if r.get(gate) else "wb-bad")(gate) for col, gate in _GATE_OF.items()}
    html = render_table(shown, hide=[g for g in _GATE_OF.values() if g != "pass_all"], classes=classes, caption=title, lang=lang,
                        # gated values with three fixed decimals: at two, a subgroup SMD of −0.103 reads "−0.10" beside "fail"
                        formats={"exact": "{:.0%}", "adjacent": "{:.0%}", "qwk": "{:.3f}", "r": "{:.3f}", "qwk_hh": "{:.3f}",
                                 "smd": "{:+.3f}", "degradation": "{:+.3f}", "subgroup_smd_max": "{:+.3f}",
                                 "pass_all": lambda v: t("report.pass" if v else "report.fail", lang)})
    legend = "".join(f"<li>{escape(t(f'gate.{g}', lang))}</li>" for g in ("qwk", "r", "degradation", "smd", "subgroup"))
    return f"{html}<p class='wb-muted'>{escape(t('gate.legend', lang))}</p><ul class='wb-muted'>{legend}</ul>"


def _subgroup_text(where, lang) -> str:
    from ..i18n import label

    if not where:
        return ""
    column, _, value = str(where).partition("=")
    return f"{label('attribute', column, lang)}={value}"
