"""The acceptance table ETS and testing programmes use for automated scoring (Williamson, Xi & Breyer 2012).

Per competency (or any grouping): N, human and machine mean/SD, QWK, Pearson r, exact and adjacent agreement,
standardised mean difference, SD ratio, human–human QWK on double-rated answers, degradation, and the largest
subgroup SMD for every demographic column. Each gate is evaluated and explained in plain Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._tabular import escape

__all__ = ["GATES", "Gates", "acceptance_table", "render_acceptance", "qwk"]


@dataclass(frozen=True)
class Gates:
    min_qwk: float = 0.70
    min_r: float = 0.70
    max_degradation: float = 0.10
    max_abs_smd: float = 0.15
    max_abs_subgroup_smd: float = 0.10
    min_subgroup_n: int = 200  # smaller groups are reported but not gated: SE of SMD ≈ .04 at n = 200


GATES = Gates()

EXPLAIN = {
    "qwk": "机器评分与人工评分的加权一致性（QWK）至少 0.70：低于此值说明机器与面试官经常给出不同等级。",
    "r": "机器分数与人工分数的相关至少 0.70：低于此值说明机器没有抓住面试官看重的内容。",
    "degradation": "人机一致性比两位面试官之间的一致性低不超过 0.10：机器不应明显不如第二位面试官。",
    "smd": "机器平均分与人工平均分之差不超过 0.15 个标准差：机器整体不应偏严或偏宽。",
    "subgroup": "任一人群（性别、户籍等）中机器相对人工的偏差不超过 0.10 个标准差：机器不应对某一人群系统性偏严或偏宽。",
}


def qwk(a, b) -> float:
    """Quadratic weighted kappa for integer ratings (equals sklearn's ``cohen_kappa_score(weights="quadratic")``)."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(a), np.asarray(b)
    if len(a) < 2 or (len(set(a)) < 2 and len(set(b)) < 2):
        return float("nan")
    return float(cohen_kappa_score(a, b, weights="quadratic"))


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
        rows.append({by: "（全部）", **_row(data, demographics, gates)})
    return pd.DataFrame(rows)


def _cell(value: float, ok: bool | None, fmt: str = "{:.2f}") -> str:
    text = "—" if value is None or (isinstance(value, float) and np.isnan(value)) else fmt.format(value)
    cls = "" if ok is None else (" class='wb-ok'" if ok else " class='wb-bad'")
    return f"<td{cls}>{escape(text)}</td>"


def render_acceptance(table: pd.DataFrame, *, by: str = "competency", labels: dict | None = None, title: str = "") -> str:
    """HTML acceptance table with each gate coloured pass/fail and the gates explained in Chinese."""
    labels = labels or {}
    head = "".join(
        f"<th>{h}</th>"
        for h in ("胜任力", "N", "人工 均值/SD", "机器 均值/SD", "QWK", "r", "完全一致", "相邻一致", "SMD", "SD 比", "人人 QWK", "退化", "最大子群 SMD", "结论")
    )
    rows = []
    for r in table.itertuples(index=False):
        d = r._asdict()
        rows.append(
            "<tr>"
            f"<td>{escape(labels.get(d[by], d[by]))}</td><td>{d['n']}</td>"
            f"<td>{d['human_mean']:.2f} / {d['human_sd']:.2f}</td><td>{d['machine_mean']:.2f} / {d['machine_sd']:.2f}</td>"
            + _cell(d["qwk"], d["pass_qwk"]) + _cell(d["r"], d["pass_r"]) + _cell(d["exact"], None, "{:.0%}") + _cell(d["adjacent"], None, "{:.0%}")
            + _cell(d["smd"], d["pass_smd"], "{:+.2f}") + _cell(d["sd_ratio"], None) + _cell(d["qwk_hh"], None)
            + _cell(d["degradation"], d["pass_degradation"], "{:+.2f}")
            + f"<td class='{'wb-ok' if d['pass_subgroup'] else 'wb-bad'}'>{d['subgroup_smd_max']:+.2f} {escape(d['subgroup_smd_where'])}</td>"
            + f"<td class='{'wb-ok' if d['pass_all'] else 'wb-bad'}'>{'通过' if d['pass_all'] else '未通过'}</td>"
            "</tr>"
        )
    legend = "".join(f"<li>{escape(text)}</li>" for text in EXPLAIN.values())
    return (
        f"<div><h4>{escape(title)}</h4><table class='wb-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p>绿色 = 达到门槛，红色 = 未达到。门槛（ETS/Williamson 等 2012）：</p><ul>{legend}</ul></div>"
    )
