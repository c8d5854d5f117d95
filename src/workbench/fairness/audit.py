"""The fairness audit a compliance reviewer reads: advance decisions and dimension scores by protected attribute,
with the regulatory layer (impact ratios, exact four-fifths verdicts, significance, intervals, small samples,
one-person flips), the scorer-versus-human comparison, a lawful mitigation and a plain-language verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .._tabular import escape
from ..errors import DataError
from ._impact import UNKNOWN_LABEL, impact_table
from ._scores import scorer_vs_human
from ._tests import bootstrap_intervals, cmh_test

__all__ = ["AuditResult", "PROVINCE_REGION", "ATTRIBUTE_NAMES", "add_region", "advance_decision", "flagged_attributes", "omnibus_tests", "run_audit"]

PROVINCE_REGION = {
    **dict.fromkeys(("北京", "天津", "河北", "山西", "内蒙古"), "华北"),
    **dict.fromkeys(("辽宁", "吉林", "黑龙江"), "东北"),
    **dict.fromkeys(("上海", "江苏", "浙江", "安徽", "福建", "江西", "山东", "台湾"), "华东"),
    **dict.fromkeys(("河南", "湖北", "湖南"), "华中"),
    **dict.fromkeys(("广东", "广西", "海南", "香港", "澳门"), "华南"),
    **dict.fromkeys(("重庆", "四川", "贵州", "云南", "西藏"), "西南"),
    **dict.fromkeys(("陕西", "甘肃", "青海", "宁夏", "新疆"), "西北"),
}
ATTRIBUTE_NAMES = {
    "gender": ("性别", "Gender"), "age_band": ("年龄段", "Age band"), "hukou_type": ("户籍类型", "Hukou type"),
    "region": ("生源地区", "Home region"), "ethnicity": ("民族", "Ethnicity"), "school_tier": ("院校层次", "School tier"),
    "disability": ("残疾", "Disability"),
}
DIMENSION_LABELS = {"machine_professional": "专业能力", "machine_general": "综合素质", "machine_culture": "文化适配", "machine_overall": "综合分"}
VERDICT_FLAG, VERDICT_WATCH, VERDICT_OK = "存在不利影响迹象，需复核", "有比值低于基准但统计上不显著，需关注", "未发现不利影响"
VERDICT_EN = {VERDICT_FLAG: "Signs of adverse impact: review required", VERDICT_WATCH: "Ratio below the benchmark but not statistically significant: monitor", VERDICT_OK: "No adverse impact found"}


def _flag(value) -> bool:
    """Nullable booleans (adverse is NA where no ratio exists) → plain bool."""
    return False if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else bool(value)


def _flags(series: pd.Series) -> pd.Series:
    return series.map(_flag).astype(bool)


def add_region(candidates: pd.DataFrame) -> pd.DataFrame:
    out = candidates.copy()
    if "home_province" in out.columns:
        out["region"] = pd.Series([PROVINCE_REGION.get(p) if isinstance(p, str) else None for p in out["home_province"]], index=out.index, dtype=object)
    else:
        out["region"] = None
    return out


def advance_decision(scores: pd.DataFrame, *, score: str = "machine_overall", top_share: float = 0.2, by: str = "role_id") -> pd.Series:
    """1 for the top ``top_share`` of each role by ``score`` (ties broken by candidate id, deterministically).

    The rule lives in :func:`workbench.decisions.advance`; the audit and the EHR export use the same one.
    """
    from ..decisions import DecisionRule, advance

    if not 0 < top_share < 1:
        raise DataError(f"top_share must be between 0 and 1, got {top_share}")
    return advance(scores, rule=DecisionRule(top_share=top_share, score=score, by=by))


def omnibus_tests(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One χ² test of independence per attribute (its non-excluded, known categories × selected/not), Holm-corrected
    across the attributes of the table.

    Significance is decided here and not by the pairwise Fisher tests against the highest-rate category: that
    reference is picked from the data, so with many categories its pairwise p-values are anti-conservative
    (a range statistic); the omnibus test has the nominal false-alarm rate.
    """
    from scipy.stats import chi2_contingency

    from ._tests import adjust_pvalues

    rows = []
    for attribute, t in table.groupby("attribute", sort=False):
        known = t[(t["category"] != UNKNOWN_LABEL) & ~_flags(t["excluded"])]
        counts = np.array([[int(r.selected), int(r.count) - int(r.selected)] for r in known.itertuples()])
        if len(counts) < 2 or (counts.sum(axis=0) == 0).any():
            rows.append({"attribute": attribute, "chi2": np.nan, "df": len(counts) - 1, "p_value": np.nan})
            continue
        chi2, p, df, _ = chi2_contingency(counts, correction=len(counts) == 2)
        rows.append({"attribute": attribute, "chi2": float(chi2), "df": int(df), "p_value": float(p)})
    out = pd.DataFrame(rows)
    mask = out["p_value"].notna()
    out["p_adjusted"] = np.nan
    if mask.any():
        out.loc[mask, "p_adjusted"] = adjust_pvalues(out.loc[mask, "p_value"].to_numpy(), method="holm")
    out["significant"] = out["p_adjusted"] < alpha
    return out


def flagged_attributes(table: pd.DataFrame, alpha: float = 0.05) -> set[str]:
    """Attributes with an adverse category (exact 4/5) whose selection differs significantly (omnibus, Holm)."""
    tests = omnibus_tests(table, alpha).set_index("attribute")
    out = set()
    for attribute, t in table.groupby("attribute", sort=False):
        rows = t[(~_flags(t["excluded"])) & (t["category"] != UNKNOWN_LABEL)]
        if _flags(rows["adverse"]).any() and bool(tests.loc[attribute, "significant"]):
            out.add(attribute)
    return out


def _attribute_verdict(table: pd.DataFrame, alpha: float, significant_attribute: bool = False) -> tuple[str, list[str]]:
    rows = table[(~_flags(table["excluded"])) & (table["category"] != UNKNOWN_LABEL) & table["impact_ratio"].notna()]
    adverse = rows[_flags(rows["adverse"])]
    reasons = []
    for r in adverse.itertuples():
        sig = significant_attribute
        reasons.append(
            f"{r.category}：通过率 {r.rate:.1%}，影响比 {r.impact_ratio:.2f}（参照组 {r.reference}）"
            + ("，统计显著" if sig else "，统计上不显著")
            + (f"；再多录取 {int(r.flip)} 人即可达到 4/5" if _flag(r.flip) and r.flip <= 3 else "")
        )
    if len(adverse) and significant_attribute:
        return VERDICT_FLAG, reasons
    if len(adverse):
        return VERDICT_WATCH, reasons
    return VERDICT_OK, reasons


@dataclass
class AuditResult:
    config: dict
    selection: pd.DataFrame
    intervals: pd.DataFrame
    scoring: dict[str, pd.DataFrame]
    verdicts: pd.DataFrame
    score_verdicts: pd.DataFrame
    stratified: pd.DataFrame
    machine_vs_human: pd.DataFrame
    mitigation: pd.DataFrame | None
    source: dict
    audit_date: str = field(default_factory=lambda: datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d"))

    @property
    def overall_verdict(self) -> str:
        all_verdicts = list(self.verdicts["verdict"]) + list(self.score_verdicts["verdict"])
        for v in (VERDICT_FLAG, VERDICT_WATCH):
            if v in all_verdicts:
                return v
        return VERDICT_OK

    def record(self) -> dict:
        """What the audit log keeps: no personal data, only the decision-relevant summary."""
        return {
            "audit_date": self.audit_date,
            "source": self.source,
            "parameters": self.config,
            "overall_verdict": self.overall_verdict,
            "verdicts": {r.attribute: r.verdict for r in self.verdicts.itertuples()},
            "score_verdicts": {f"{r.score}|{r.attribute}": r.verdict for r in self.score_verdicts.itertuples()},
        }

    def metrics(self) -> dict:
        out = {"overall_verdict": self.overall_verdict, "attributes_flagged": int((self.verdicts["verdict"] == VERDICT_FLAG).sum())}
        for r in self.verdicts.itertuples():
            out[f"verdict[{r.attribute}]"] = r.verdict
            out[f"min_impact_ratio[{r.attribute}]"] = None if pd.isna(r.min_ratio) else round(float(r.min_ratio), 4)
        return out

    # -- rendering ------------------------------------------------------------------------------------------
    def to_html(self, *, lang: str = "zh") -> str:
        from ..reports import assert_offline, report_css

        html = (
            f"<!DOCTYPE html><html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>"
            f"<title>{'公平性审计报告' if lang == 'zh' else 'Fairness audit report'}</title><style>{report_css()}</style></head>"
            f"<body><main>{self.render(lang=lang)}</main></body></html>"
        )
        assert_offline(html)
        return html

    def _repr_html_(self) -> str:
        return self.render(lang=self.config.get("lang", "zh"))

    def render(self, *, lang: str = "zh") -> str:
        zh = lang == "zh"
        k = self.config["suppress_below"]
        v = self.overall_verdict
        cls = {VERDICT_FLAG: "wb-bad", VERDICT_WATCH: "wb-warn", VERDICT_OK: "wb-ok"}[v]
        parts = [
            f"<h2>{'AI 面试公平性审计报告' if zh else 'AI interview fairness audit'}</h2>",
            "<table><tbody>",
            f"<tr><th>{'审计日期' if zh else 'Audit date'}</th><td>{escape(self.audit_date)}</td></tr>",
            f"<tr><th>{'数据来源' if zh else 'Data source'}</th><td>{escape(self.source.get('description', ''))}</td></tr>",
            f"<tr><th>{'评分模型' if zh else 'Scorer'}</th><td>{escape(self.source.get('model_version', ''))}（sha256 {escape(str(self.source.get('model_sha256', ''))[:16])}…）</td></tr>",
            f"<tr><th>{'决策规则' if zh else 'Decision rule'}</th><td>{escape(self._decision_text(zh))}</td></tr>",
            f"<tr><th>{'评估人数' if zh else 'Candidates assessed'}</th><td>{self.source.get('n_candidates', 0):,}</td></tr>",
            "</tbody></table>",
            f"<div class='wb-note'><b class='{cls}' style='font-size:17px'>{escape(v if zh else VERDICT_EN[v])}</b></div>",
        ]
        reasons = []
        for r in self.verdicts.itertuples():
            name = ATTRIBUTE_NAMES.get(r.attribute, (r.attribute, r.attribute))[0 if zh else 1]
            reasons.append(f"<li><b>{escape(name)}</b>：{escape(r.verdict if zh else VERDICT_EN[r.verdict])}" + ("".join(f"<br>· {escape(x)}" for x in r.reasons) if r.reasons else "") + "</li>")
        for r in self.score_verdicts[self.score_verdicts["verdict"] != VERDICT_OK].itertuples():
            name = ATTRIBUTE_NAMES.get(r.attribute, (r.attribute, r.attribute))[0 if zh else 1]
            reasons.append(f"<li><b>{escape(DIMENSION_LABELS.get(r.score, r.score))} × {escape(name)}</b>（得分率）：{escape(r.verdict)}" + "".join(f"<br>· {escape(x)}" for x in r.reasons) + "</li>")
        parts.append(f"<h3>{'结论与理由' if zh else 'Verdict and reasons'}</h3><ul>{''.join(reasons)}</ul>")
        parts.append(
            "<p class='wb-muted'>"
            + escape(
                "判定基准：本行采用“五分之四规则”（影响比低于 0.8 视为不利影响迹象）作为内部基准。我国《个人信息保护法》第二十四条、《就业促进法》、"
                "《妇女权益保障法》第四十三条要求自动化决策公平、不得就业歧视，但未规定数值门槛；该基准参照美国 EEOC 统一指南与纽约市 LL144 的做法，"
                "由本行自行选定。“统计显著”指该属性的 χ² 独立性检验经 Holm 多重比较校正后 p < 0.05；表中另列各类别对参照组的 Fisher 精确检验（校正后）供参考。"
                if zh
                else "Benchmark: the bank applies the four-fifths rule (impact ratio below 0.8 indicates adverse impact) as its internal benchmark. "
                "PIPL Art. 24, the Employment Promotion Law and the Women's Rights Law Art. 43 require fair automated decisions but set no number; "
                "the benchmark follows the US EEOC Uniform Guidelines and NYC LL144 and is the bank's own choice. 'Significant' means the attribute's "
                "χ² test of independence has p < 0.05 after Holm correction; pairwise Fisher tests vs the reference are shown for reference."
            )
            + "</p>"
        )
        parts.append(f"<h3>{'按属性的通过率与影响比（进入下一轮）' if zh else 'Selection rates and impact ratios (advance decision)'}</h3>")
        iv = self.intervals.set_index(["attribute", "category"]) if len(self.intervals) else None
        for attribute, table in self.selection.groupby("attribute", sort=False):
            parts.append(self._impact_html(attribute, table, iv, k, zh))
        parts.append(f"<h3>{'各维度得分率（高于全体中位数的比例）' if zh else 'Scoring rates by dimension (share above the overall median)'}</h3>")
        for score, table in self.scoring.items():
            compact = table[(table["category"] != UNKNOWN_LABEL)]
            parts.append(f"<h4>{escape(DIMENSION_LABELS.get(score, score))}</h4>" + self._compact_html(compact, k, zh))
        if len(self.stratified):
            parts.append(f"<h3>{'分层检验（按面试机构，Cochran–Mantel–Haenszel）' if zh else 'Stratified test by site (Cochran–Mantel–Haenszel)'}</h3>")
            parts.append(_table(self.stratified, zh))
        parts.append(f"<h3>{'机器评分与人工评分的比较' if zh else 'Scorer versus human raters'}</h3>")
        parts.append(
            "<p>"
            + escape(
                "同一批候选人，分别用机器综合分与面试官综合分（0–100）比较各人群与参照组的差距（标准差单位）。差距变小说明机器缩小了人工评分中的群体差异，变大则说明机器放大了它。"
                if zh
                else "For the same candidates, group gaps (SD units) in the machine overall score versus the human overall score (0–100)."
            )
            + "</p>"
        )
        mvh = self.machine_vs_human[self.machine_vs_human["category"] != UNKNOWN_LABEL]
        parts.append(_table(mvh[["attribute", "category", "n", "human_smd", "machine_smd", "gap_change", "effect"]].rename(
            columns={"attribute": "属性", "category": "类别", "n": "人数", "human_smd": "人工差距", "machine_smd": "机器差距", "gap_change": "变化", "effect": "结论"}), zh, suppress=k))
        if self.mitigation is not None and len(self.mitigation):
            parts.append(f"<h3>{'缓解措施演示：去除地域方言代理词后重新训练' if zh else 'Mitigation: retraining without regional proxy terms'}</h3>")
            parts.append("<p>" + escape(
                "评分模型可能从方言词等与地域相关的措辞中学到面试官的地域偏差。下表比较去除这些代理词后重新训练的评分器：影响比的变化与效度代价（人机一致性 QWK）。"
                "按群体设置不同录取线的做法在多个法域属于违法，本报告不采用、仅供分析。" if zh else
                "The scorer may learn raters' regional bias through dialect wording. The table compares a scorer retrained without those proxy terms: "
                "change in impact ratios and the cost in validity (H–M QWK). Group-specific thresholds are unlawful in several jurisdictions and are not used.") + "</p>")
            parts.append(_table(self.mitigation, zh))
        parts.append(f"<h3>{'方法附录' if zh else 'Method appendix'}</h3>" + self._appendix(zh))
        return "<div class='wb-audit'>" + "".join(parts) + "</div>"

    def _decision_text(self, zh: bool) -> str:
        share = self.config["advance_top_share"]
        return (f"按岗位取机器综合分前 {share:.0%} 进入下一轮" if zh else f"top {share:.0%} of each role by machine overall score advance")

    def _impact_html(self, attribute: str, table: pd.DataFrame, iv, k: int, zh: bool) -> str:
        name = ATTRIBUTE_NAMES.get(attribute, (attribute, attribute))[0 if zh else 1] if "×" not in attribute else attribute
        unknown = int(table["unknown_count"].iloc[0]) if "unknown_count" in table.columns else 0
        head = ["类别", "人数", "通过人数", "通过率", "95% 区间", "影响比", "影响比 95% 区间", "校正后 p", "判定", "备注"] if zh else ["Category", "N", "Selected", "Rate", "95% CI", "Impact ratio", "Ratio 95% CI", "Adj. p", "Flag", "Note"]
        rows = []
        for r in table[table["category"] != UNKNOWN_LABEL].itertuples():
            small = r.count < k
            ci = iv.loc[(attribute, r.category)] if iv is not None and (attribute, r.category) in iv.index else None
            rate = "—" if small else f"{r.rate:.1%}"
            rate_ci = "—" if small or ci is None or pd.isna(ci["rate_ci_low"]) else f"{ci['rate_ci_low']:.1%}–{ci['rate_ci_high']:.1%}"
            ratio = "—" if (small or pd.isna(r.impact_ratio)) else f"{r.impact_ratio:.3f}"
            ratio_ci = "—" if small or ci is None or pd.isna(ci.get("ratio_ci_low", np.nan)) else f"{ci['ratio_ci_low']:.2f}–{ci['ratio_ci_high']:.2f}"
            p = getattr(r, "p_adjusted", r.p_value)
            flag = ("排除（<2%）" if zh else "excluded (<2%)") if _flag(r.excluded) else (("不利影响" if zh else "adverse") if _flag(r.adverse) else ("—"))
            notes = []
            if r.count < 30 and not small:
                notes.append("样本小" if zh else "small sample")
            if _flag(r.adverse) and _flag(r.flip) and r.flip <= 1:
                notes.append("一人之差" if zh else "one-person flip")
            cnt = escape(f"<{k}") if small else f"{r.count:,}"
            sel = escape(f"<{k}") if small or r.selected < k else f"{r.selected:,}"
            flag_cls = "wb-bad" if (_flag(r.adverse) and not _flag(r.excluded)) else ""
            rows.append(f"<tr><td>{escape(r.category)}</td><td>{cnt}</td><td>{sel}</td><td>{rate}</td><td>{rate_ci}</td><td>{ratio}</td><td>{ratio_ci}</td>"
                        f"<td>{'—' if p is None or pd.isna(p) else f'{p:.3f}'}</td><td class='{flag_cls}'>{escape(flag)}</td><td>{escape('、'.join(notes))}</td></tr>")
        head_html = "".join(f"<th>{h}</th>" for h in head)
        foot = (f"<p class='wb-muted'>{'未知/未填报' if zh else 'Unknown / not reported'}：{unknown:,} {'人（计入总数，不参与比值）' if zh else '(counted, not part of the ratios)'}；"
                f"{'人数少于' if zh else 'cells under'} {k} {'的单元格已隐去' if zh else 'are suppressed'}。</p>")
        return f"<h4>{escape(name)}</h4><table class='wb-table'><thead><tr>{head_html}</tr></thead><tbody>{''.join(rows)}</tbody></table>{foot}"

    def _compact_html(self, table: pd.DataFrame, k: int, zh: bool) -> str:
        rows = []
        for r in table.itertuples():
            small = r.count < k
            name = ATTRIBUTE_NAMES.get(r.attribute, (r.attribute, r.attribute))[0 if zh else 1] if "×" not in r.attribute else r.attribute
            rows.append(f"<tr><td>{escape(name)}</td><td>{escape(r.category)}</td><td>{escape('<' + str(k)) if small else r.count}</td><td>{'—' if small else f'{r.rate:.1%}'}</td>"
                        f"<td>{'—' if small or pd.isna(r.impact_ratio) else f'{r.impact_ratio:.3f}'}</td><td class='{'wb-bad' if _flag(r.adverse) and not _flag(r.excluded) else ''}'>{'不利影响' if _flag(r.adverse) and not _flag(r.excluded) else ''}</td></tr>")
        head = "".join(f"<th>{h}</th>" for h in (["属性", "类别", "人数", "得分率", "影响比", "判定"] if zh else ["Attribute", "Category", "N", "Scoring rate", "Impact ratio", "Flag"]))
        return f"<table class='wb-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def _appendix(self, zh: bool) -> str:
        c = self.config
        items = [
            f"通过率 = 进入下一轮人数 ÷ 该类别人数；得分率 = 得分严格高于全体中位数的比例（纽约市 LL144 规则）。" if zh else "Selection rate = advanced ÷ category size; scoring rate = share strictly above the overall median (NYC LL144).",
            "影响比 = 该类别通过率 ÷ 同一属性中通过率最高类别的通过率；用整数运算精确判断是否低于 4/5。" if zh else "Impact ratio = rate ÷ highest rate within the attribute; the 4/5 comparison is exact (integer arithmetic).",
            f"占已知人数不足 {c['min_share']:.0%} 的类别只报告人数与比率，不计算影响比（LL144 允许的排除）。" if zh else f"Categories under {c['min_share']:.0%} of the known rows are reported but excluded from ratios (as LL144 allows).",
            "显著性：每个属性一次 χ² 独立性检验（各属性间按 Holm 校正）；不用“对通过率最高类别”的两两检验下结论，因为参照组是从数据中挑出的最高者，类别多时两两检验会虚报。两两 Fisher 精确检验（Holm 校正）仍列出供参考；置信区间为固定随机种子的自助法（比率用 fairlearn MetricFrame）。" if zh else "Significance: one χ² test of independence per attribute, Holm-adjusted across attributes (pairwise tests against the data-chosen highest-rate category over-alarm with many categories); pairwise Fisher tests are listed for reference; intervals by seeded bootstrap (rates via fairlearn MetricFrame).",
            "分层检验：按面试机构分层的 Cochran–Mantel–Haenszel 检验，并以 Breslow–Day 检验各层比值是否一致。" if zh else "Stratified: Cochran–Mantel–Haenszel across interview sites with the Breslow–Day homogeneity test.",
            "“一人之差”：再多录取一人即可使影响比达到 4/5，此类结论对个别决定高度敏感。" if zh else "One-person flip: one more selection would lift the ratio to 4/5; such findings hinge on single decisions.",
            f"发布时人数少于 {c['suppress_below']} 的单元格隐去，报告不含任何个人信息；生源地按省份归入七大地区。" if zh else f"Cells under {c['suppress_below']} are suppressed; no personal data; provinces are grouped into seven regions.",
            "机器分为交叉验证得到的样本外分数（模型未见过该候选人），人工分为两位面试官评分的均值。" if zh else "Machine scores are out-of-sample (cross-validated); human scores are the mean of two raters.",
        ]
        return "<ol>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ol>"


def _table(frame: pd.DataFrame, zh: bool, suppress: int | None = None) -> str:
    frame = frame.copy()
    if suppress and "人数" in frame.columns:
        small = frame["人数"] < suppress
        frame["人数"] = frame["人数"].astype(object)
        frame.loc[small, "人数"] = f"<{suppress}"
        for col in frame.columns:
            if col not in ("属性", "类别", "人数"):
                frame[col] = frame[col].astype(object)
                frame.loc[small, col] = "—"
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None or (isinstance(v, float) and np.isnan(v)) else (f'{v:.3f}' if isinstance(v, float) else v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table class='wb-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def run_audit(
    candidates: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    attributes: list[str],
    intersections: list[list[str]] | None = None,
    advance_top_share: float = 0.2,
    min_share: float = 0.02,
    alpha: float = 0.05,
    n_boot: int = 200,
    suppress_below: int = 5,
    strata: str = "site",
    seed: int = 7,
    source: dict | None = None,
    mitigation: pd.DataFrame | None = None,
    lang: str = "zh",
) -> AuditResult:
    """Audit the advance decision and the dimension scores of ``scores`` (one row per candidate, from stage 03)."""
    cands = add_region(candidates)
    missing = [a for a in attributes if a not in cands.columns]
    if missing:
        raise DataError(f"attribute column(s) {missing} not found; available: {sorted(cands.columns)}")
    data = scores.merge(cands[["candidate_id", *attributes, *([strata] if strata in cands.columns else [])]], on="candidate_id", how="left")
    if data.empty:
        raise DataError("no scored candidates to audit")
    data["advance"] = advance_decision(data, top_share=advance_top_share)
    blocks = [impact_table(data, by=a, selected="advance", min_share=min_share) for a in attributes]
    for combo in intersections or []:
        inter = impact_table(data, by=list(combo), selected="advance", min_share=min_share)
        blocks.append(inter[inter["attribute"].str.contains("×")])
    selection = pd.concat(blocks, ignore_index=True)
    from ._tests import adjust_pvalues

    mask = selection["p_value"].notna()
    selection["p_adjusted"] = np.nan
    selection.loc[mask, "p_adjusted"] = adjust_pvalues(selection.loc[mask, "p_value"].to_numpy(), method="holm")
    intervals = pd.concat([bootstrap_intervals(data, by=a, selected="advance", n_boot=n_boot, random_state=seed, min_share=min_share) for a in attributes], ignore_index=True)
    omnibus = omnibus_tests(selection, alpha).set_index("attribute")
    verdict_rows = []
    for attribute, table in selection.groupby("attribute", sort=False):
        verdict, reasons = _attribute_verdict(table, alpha, bool(omnibus.loc[attribute, "significant"]))
        ratios = table.loc[~_flags(table["excluded"]) & table["impact_ratio"].notna(), "impact_ratio"]
        verdict_rows.append({"attribute": attribute, "verdict": verdict, "reasons": reasons, "min_ratio": ratios.min() if len(ratios) else np.nan})
    scoring, score_verdicts = {}, []
    for score in [c for c in ("machine_professional", "machine_general", "machine_culture", "machine_overall") if c in data.columns]:
        table = pd.concat([impact_table(data, by=a, score=score, min_share=min_share) for a in attributes], ignore_index=True)
        m = table["p_value"].notna()
        table["p_adjusted"] = np.nan
        table.loc[m, "p_adjusted"] = adjust_pvalues(table.loc[m, "p_value"].to_numpy(), method="holm")
        scoring[score] = table
        score_omnibus = omnibus_tests(table, alpha).set_index("attribute")
        for attribute, t in table.groupby("attribute", sort=False):
            verdict, reasons = _attribute_verdict(t, alpha, bool(score_omnibus.loc[attribute, "significant"]))
            score_verdicts.append({"score": score, "attribute": attribute, "verdict": verdict, "reasons": reasons})
    strat_rows = []
    if strata in data.columns:
        for r in verdict_rows:
            if r["verdict"] == VERDICT_OK or "×" in r["attribute"]:
                continue
            t = selection[(selection["attribute"] == r["attribute"]) & _flags(selection["adverse"]) & ~_flags(selection["excluded"])]
            for row in t.itertuples():
                try:
                    res = cmh_test(data.dropna(subset=[r["attribute"]]), group=r["attribute"], selected="advance", strata=strata, focal=row.category, reference=row.reference)
                except Exception as exc:  # too few strata etc.: report, do not hide
                    strat_rows.append({"属性": r["attribute"], "比较": f"{row.category} vs {row.reference}", "说明": str(exc)})
                    continue
                strat_rows.append({"属性": r["attribute"], "比较": f"{row.category} vs {row.reference}", "MH 合并优势比": res["odds_ratio"], "CMH p": res["p_value"],
                                   "Breslow–Day p": res["breslow_day_p"], "说明": "各机构内结论一致" if res["breslow_day_p"] >= 0.05 else "各机构之间差异不一致，需逐机构复核"})
    mvh = pd.DataFrame()
    if {"machine_overall", "human_overall"} <= set(data.columns):
        mvh = pd.concat([scorer_vs_human(data, by=a, machine="machine_overall", human="human_overall", n_boot=n_boot, random_state=seed) for a in attributes], ignore_index=True)
    config = {"attributes": attributes, "intersections": intersections or [], "advance_top_share": advance_top_share, "min_share": min_share, "alpha": alpha,
              "n_boot": n_boot, "suppress_below": suppress_below, "strata": strata, "seed": seed, "benchmark": "four-fifths rule (bank's internal benchmark)", "lang": lang}
    src = dict(source or {})
    src["n_candidates"] = len(data)
    return AuditResult(
        config=config, selection=selection, intervals=intervals, scoring=scoring, verdicts=pd.DataFrame(verdict_rows), score_verdicts=pd.DataFrame(score_verdicts),
        stratified=pd.DataFrame(strat_rows), machine_vs_human=mvh, mitigation=mitigation, source=src,
    )
