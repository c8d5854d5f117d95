"""Rendering of a :class:`ValidityStudy`: an HTML fragment (notebook display), a self-contained page, and run
metrics. Every sentence and label comes from the message catalog (``messages/validity.yaml``); values are escaped
by the template (jinja2 autoescape)."""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..i18n import label, resolve_lang, t

__all__ = ["render_body", "render_page", "study_metrics"]

_HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(_HERE)), autoescape=select_autoescape(["j2", "html"]), trim_blocks=True, lstrip_blocks=True)
    return env.get_template("_report.html.j2")


# -- formatting ------------------------------------------------------------------------------------------------------


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA


def _num(v, digits: int = 2) -> str:
    if not _ok(v):
        return "—"
    text = f"{float(v):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def _ci(lo, hi, digits: int = 2) -> str:
    return f"[{_num(lo, digits)}, {_num(hi, digits)}]" if _ok(lo) and _ok(hi) else ""


def _p(p) -> str:
    if not _ok(p):
        return "—"
    return "< .001" if p < 0.001 else f"{p:.3f}"


def _pct(v) -> str:
    return f"{float(v):.0%}" if _ok(v) else "—"


def predictor_label(code: str, lang: str) -> str:
    return label("validity.predictor", code, lang)


def _role(code: str, study, lang: str) -> str:
    if code == "all":
        return t("validity.role_all", lang)
    names = study.config.get("role_names") or {}
    return _with_note(names[code], code, lang) if code in names else code


def _with_note(value: str, note: str, lang: str) -> str:
    return t("validity.with_note", lang, value=value, note=note)


def _table(headers: list[str], rows: list[list[str]], classes: list[str] | None = None) -> dict:
    return {"kind": "table", "headers": headers, "rows": rows, "classes": classes or [""] * len(rows)}


def _para(text: str, cls: str = "") -> dict:
    return {"kind": "para", "text": text, "cls": cls}


def _items(texts: list[str]) -> dict:
    return {"kind": "list", "items": texts}


def _figure(fig) -> dict:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return {"kind": "image", "src": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")}


# -- sections ----------------------------------------------------------------------------------------------------------


def _headline(study) -> pd.Series | None:
    v = study.validity
    if v.empty:
        return None
    ok = v[(v["role_id"] == "all") & (v["criterion"] == "performance_rating") & (v["status"] == "ok") & (v["aspect"] == "overall")]
    if ok.empty:
        return None
    preferred = f"{study.config.get('procedure', 'machine')}_overall"
    pick = ok[ok["predictor"] == preferred]
    return (pick if len(pick) else ok).iloc[0]


def _key_findings(study, lang: str) -> list[str]:
    out = []
    h = _headline(study)
    if h is not None:
        measure = "r_op" if _ok(h["r_op"]) else "r_rr"
        out.append(t("validity.key.validity", lang, predictor=predictor_label(h["predictor"], lang), criterion=label("validity.criterion", "performance_rating", lang),
                     measure=label("validity.measure", measure, lang), value=_num(h[measure]), ci=_ci(h[f"{measure}_ci_low"], h[f"{measure}_ci_high"]),
                     r=_num(h["r"]), n=int(h["n"])))
    mvh = study.machine_vs_human
    if len(mvh) and "verdict" in mvh.columns:
        row = mvh[(mvh["role_id"] == "all") & (mvh["aspect"] == "overall") & (mvh["criterion"] == "performance_rating") & (mvh["status"] == "ok")]
        if len(row):
            r = row.iloc[0]
            out.append(t(f"validity.key.mvh.{r['verdict']}", lang, machine=_num(r["machine"]), human=_num(r["human"]), diff=_num(r["difference"]),
                         ci=_ci(r["diff_ci_low"], r["diff_ci_high"])))
    inc = study.incremental
    if len(inc) and "delta_r2" in inc.columns:
        row = inc[(inc["role_id"] == "all") & (inc["order"] == "interview_over_screen") & (inc["status"] == "ok")]
        if h is not None:
            row = row[row["predictor"] == h["predictor"]] if (row["predictor"] == h["predictor"]).any() else row
        if len(row):
            r = row.iloc[0]
            out.append(t("validity.key.incremental", lang, predictor=predictor_label(r["predictor"], lang), delta=_num(r["delta_r2"], 3), p=_p(r["p_value"])))
    if len(study.lda):
        r = study.lda.iloc[0]
        out.append(t(f"validity.lda.{r['verdict']}", lang, **_lda_fields(r, lang)))
    bad = study.samples[(study.samples["role_id"] != "all") & (study.samples["status"] != "ok")]
    if len(bad):
        out.append(t("validity.key.insufficient", lang, k=len(bad), min_n=study.config["min_n"], roles=t("validity.list_sep", lang).join(_role(r, study, lang) for r in bad["role_id"])))
    return out


def _lda_fields(r: pd.Series, lang: str) -> dict:
    return {
        "current_validity": _num(r.get("current_validity")), "current_ratio": _num(r.get("current_worst_ratio")),
        "attribute": label("validity.attribute", r.get("current_worst_attribute") or "", lang),
        "best": r.get("best_option") or "—", "best_validity": _num(r.get("best_validity")), "best_ratio": _num(r.get("best_worst_ratio")),
        "tolerance": _num(r.get("tolerance")), "share": _pct(r.get("share")), "reason": label("validity.reason", r.get("reason") or "", lang),
        "current_flags": _int(r.get("current_n_flagged")), "best_flags": _int(r.get("best_n_flagged")),
    }


def _int(v) -> str:
    return f"{int(v)}" if _ok(v) else "—"


def _samples_section(study, lang: str) -> list[dict]:
    s = study.samples
    crit = [c for c in ("performance_rating", "probation_passed", "potential_rating") if f"n_{c}" in s.columns]
    headers = [t("validity.col.role", lang), t("validity.col.applicants", lang), t("validity.col.hired", lang),
               *[t("validity.col.n_with", lang, criterion=label("validity.criterion", c, lang)) for c in crit], t("validity.col.status", lang)]
    rows, classes = [], []
    for r in s.itertuples():
        rows.append([_role(r.role_id, study, lang), f"{r.n_applicants:,}", f"{r.n_hired:,}", *[f"{getattr(r, 'n_' + c):,}" for c in crit],
                     label("validity.status", r.status, lang)])
        classes.append("" if r.status == "ok" else "wb-warn")
    c = study.config
    blocks = [_table(headers, rows, classes), _para(t("validity.samples.reconcile", lang, rows=c["outcome_rows"], matched=c["outcome_rows_matched"],
                                                      unmatched=c["outcome_rows_unmatched"], not_hired=c["outcome_rows_not_hired"]), "wb-muted")]
    if "attrition_score_gap" in s.columns:
        pooled = s[s["role_id"] == "all"].iloc[0]
        if _ok(pooled.get("attrition_score_gap")):
            blocks.append(_para(t("validity.samples.attrition", lang, n=int(pooled["n_without_performance"]), gap=_num(pooled["attrition_score_gap"])), "wb-muted"))
    return blocks


def _validity_headers(lang: str, first: str) -> list[str]:
    return [first, "n", t("validity.col.r", lang), t("validity.col.r_rel", lang), t("validity.col.r_rr", lang), t("validity.col.r_op", lang),
            t("validity.col.correction", lang), "U"]


def _validity_row(r, first: str, study, lang: str) -> tuple[list[str], str]:
    if r.status != "ok":
        note = t("validity.row.insufficient", lang, n=int(r.n), min_n=study.config["min_n"]) if r.status == "insufficient_data" else label("validity.status", r.status, lang)
        return [first, f"{int(r.n)}", note, "", "", "", "", ""], "wb-muted"
    return [
        first, f"{int(r.n)}", f"{_num(r.r)} {_ci(r.r_ci_low, r.r_ci_high)}", _num(r.r_rel), f"{_num(r.r_rr)} {_ci(r.r_rr_ci_low, r.r_rr_ci_high)}",
        f"{_num(r.r_op)} {_ci(r.r_op_ci_low, r.r_op_ci_high)}" if _ok(r.r_op) else t("validity.row.no_reliability", lang),
        label("validity.correction", r.correction, lang), _num(r.u),
    ], ""


def _validity_section(study, lang: str) -> list[dict]:
    v = study.validity
    blocks = []
    for criterion in study.config["criteria"]:
        sub = v[(v["criterion"] == criterion)]
        pooled = sub[sub["role_id"] == "all"]
        ryy = study.config["criterion_reliability"].get(criterion)
        blocks.append({"kind": "h4", "text": t("validity.validity.pooled", lang, criterion=label("validity.criterion", criterion, lang))})
        blocks.append(_para(t("validity.validity.reliability_known", lang, r_yy=_num(ryy)) if ryy else t("validity.validity.reliability_unknown", lang), "wb-muted"))
        rows, classes = [], []
        for r in pooled.itertuples():
            row, cls = _validity_row(r, predictor_label(r.predictor, lang), study, lang)
            rows.append(row)
            classes.append(cls)
        blocks.append(_table(_validity_headers(lang, t("validity.col.predictor", lang)), rows, classes))
        overall = sub[(sub["role_id"] != "all") & (sub["aspect"] == "overall")]
        if criterion != "performance_rating" or overall.empty:
            continue
        if (overall["status"] != "ok").all():
            blocks.append(_para(t("validity.validity.no_role", lang, min_n=study.config["min_n"]), "wb-muted"))
            continue
        for predictor, g in overall.groupby("predictor", sort=False):
            rows, classes = [], []
            for r in g.itertuples():
                row, cls = _validity_row(r, _role(r.role_id, study, lang), study, lang)
                rows.append(row)
                classes.append(cls)
            blocks.append({"kind": "h4", "text": t("validity.validity.by_role", lang, predictor=predictor_label(predictor, lang), criterion=label("validity.criterion", criterion, lang))})
            blocks.append(_table(_validity_headers(lang, t("validity.col.role", lang)), rows, classes))
    if len(study.sensitivity):
        rows = [[predictor_label(r.predictor, lang), _num(r.r_yy), f"{_num(r.r_op)} {_ci(r.r_op_ci_low, r.r_op_ci_high)}" if r.status == "ok" else label("validity.status", r.status, lang)]
                for r in study.sensitivity.itertuples()]
        blocks.append({"kind": "h4", "text": t("validity.sensitivity.title", lang)})
        blocks.append(_para(t("validity.sensitivity.note", lang), "wb-muted"))
        blocks.append(_table([t("validity.col.predictor", lang), "r_yy", t("validity.col.r_op", lang)], rows))
    return blocks


def _truth_section(study, lang: str) -> list[dict]:
    tc = study.truth_comparison
    if tc is None or tc.empty:
        return []
    pooled = tc[tc["role_id"] == "all"]
    rows = [[predictor_label(r.predictor, lang), label("validity.criterion", r.criterion, lang), f"{int(r.n)}", _num(r.observed), _num(r.truth_restricted),
             f"{_num(r.estimate)} {_ci(r.ci_low, r.ci_high)}", label("validity.measure", r.measure, lang), _num(r.truth),
             t("validity.yes", lang) if r.covered else t("validity.no", lang)] for r in pooled.itertuples()]
    per_role = tc[tc["role_id"] != "all"]
    note = (t("validity.truth.note", lang, covered=int(per_role["covered"].sum()), total=len(per_role)) if len(per_role)
            else t("validity.truth.note_pooled", lang, covered=int(pooled["covered"].sum()), total=len(pooled)))
    return [
        _para(note, ""),
        _table([t("validity.col.predictor", lang), t("validity.col.criterion", lang), "n", t("validity.col.observed", lang), t("validity.col.truth_restricted", lang),
                t("validity.col.corrected", lang), t("validity.col.measure", lang), t("validity.col.truth", lang), t("validity.col.covered", lang)], rows,
               ["" if r.covered else "wb-bad" for r in pooled.itertuples()]),
    ]


def _incremental_section(study, lang: str) -> list[dict]:
    inc = study.incremental
    blocks = []
    if len(inc) and "delta_r2" in inc.columns:
        ok = inc[inc["status"] == "ok"]
        rows = [[_role(r.role_id, study, lang), predictor_label(r.predictor, lang), label("validity.order", r.order, lang), f"{int(r.n)}", _num(r.r2_base, 3),
                 _num(r.r2_full, 3), _num(r.delta_r2, 3), f"F({int(r.df1)}, {int(r.df2)}) = {_num(r.f)}", _p(r.p_value)] for r in ok.itertuples()]
        blocks.append(_para(t("validity.incremental.note", lang, tiers="/".join(study.config["screen_tiers"])), ""))
        blocks.append(_table([t("validity.col.role", lang), t("validity.col.predictor", lang), t("validity.col.order", lang), "n", "R²₁", "R²₂", "ΔR²", "F", "p"], rows))
    si = study.screen_impact
    if len(si):
        rows, classes = [], []
        for r in si.itertuples():
            proc = t("validity.screen.screen", lang, tiers="/".join(study.config["screen_tiers"])) if r.procedure == "screen" else predictor_label(r.procedure, lang)
            rows.append([proc, label("validity.attribute", r.attribute, lang), _pct(r.selection_rate), _with_note(_num(r.min_ratio), f"{r.min_category or '—'} / {r.reference or '—'}", lang),
                         t("validity.yes", lang) if r.adverse else "", _p(r.p_adjusted), t("validity.flagged", lang) if r.flagged else ""])
            classes.append("wb-bad" if r.flagged else "")
        blocks.append({"kind": "h4", "text": t("validity.screen.title", lang)})
        blocks.append(_para(t("validity.screen.note", lang), "wb-muted"))
        blocks.append(_table([t("validity.col.procedure", lang), t("validity.col.attribute", lang), t("validity.col.selection_rate", lang), t("validity.col.min_ratio", lang),
                              t("validity.col.adverse", lang), t("validity.col.p_adjusted", lang), t("validity.col.flag", lang)], rows, classes))
    return blocks


def _expectancy_section(study, lang: str, figures: bool) -> list[dict]:
    e = study.expectancy
    if e.empty:
        return [_para(t("validity.expectancy.none", lang, min_n=study.config["min_n"]), "wb-muted")]
    blocks = [_para(t("validity.expectancy.note", lang, high=study.config["high_rating"]), "")]
    pooled = e[(e["role_id"] == "all") & (e["criterion"] == "performance_rating")]
    for predictor, g in pooled.groupby("predictor", sort=False):
        rows = [[f"{int(r.band)}", f"{_num(r.score_low, 1)}–{_num(r.score_high, 1)}", f"{int(r.n)}", f"{int(r.n_high)}", f"{_pct(r.p_high)} {_ci(r.ci_low, r.ci_high)}"]
                for r in g.itertuples()]
        blocks.append({"kind": "h4", "text": predictor_label(predictor, lang)})
        blocks.append(_table([t("validity.col.band", lang), t("validity.col.score_range", lang), "n", t("validity.col.n_high", lang), t("validity.col.p_high", lang)], rows))
        blocks.append(_para(t("validity.expectancy.base", lang, base=_pct(g["base_rate"].iloc[0]), p=_p(g["trend_p"].iloc[0])), "wb-muted"))
        if figures:
            from ._figures import expectancy_figure

            blocks.append(_figure(expectancy_figure(study, predictor=predictor, lang=lang)))
    return blocks


def _tradeoff_section(study, lang: str, figures: bool) -> list[dict]:
    lda = study.lda.iloc[0] if len(study.lda) else None
    blocks = []
    if lda is not None:
        blocks.append(_para(t(f"validity.lda.{lda['verdict']}", lang, **_lda_fields(lda, lang)), "wb-note"))
    tr = study.tradeoff
    if tr.empty:
        return blocks
    blocks.append(_para(t("validity.tradeoff.note", lang, tolerance=_num(study.config["lda_tolerance"])), "wb-muted"))
    share = study.config["current_share"]
    show = tr[(tr["kind"] == "current") | (np.isclose(tr["share"], share) & (tr["pareto"] | tr["lda_candidate"]))]
    weight_cols = [c for c in tr.columns if c.startswith("w_")]
    rows, classes = [], []
    for r in show.itertuples():
        name = t("validity.tradeoff.current", lang) if r.kind == "current" else r.option_id
        weights = "—" if r.kind == "current" else " / ".join(f"{getattr(r, c):.2f}" for c in weight_cols)
        rows.append([name, weights, _pct(r.share), _num(r.expected_rating), _num(r.gain_sd), _num(r.validity),
                     _with_note(_num(r.worst_ratio), label("validity.attribute", r.worst_attribute or "", lang), lang), f"{int(r.n_flagged)}",
                     t("validity.yes", lang) if r.pareto else "", t("validity.yes", lang) if r.lda_candidate else ""])
        classes.append("wb-ok" if r.lda_candidate else "")
    blocks.append(_table([t("validity.col.option", lang), t("validity.col.weights", lang, dims=" / ".join(label("validity.aspect", c[2:], lang) for c in weight_cols)),
                          t("validity.col.share", lang), t("validity.col.expected_rating", lang), t("validity.col.gain_sd", lang), t("validity.col.validity", lang),
                          t("validity.col.worst_ratio", lang), t("validity.col.n_flagged", lang), "Pareto", t("validity.col.lda_candidate", lang)], rows, classes))
    cut = []
    for s, g in tr[tr["kind"] != "current"].groupby("share"):
        best = g.sort_values("gain_sd", ascending=False).iloc[0]
        fair = g.sort_values(["worst_ratio", "gain_sd"], ascending=False).iloc[0]
        cut.append([_pct(s), _with_note(_num(best.gain_sd), best.option_id, lang), _num(best.worst_ratio), _with_note(_num(fair.worst_ratio), fair.option_id, lang), _num(fair.gain_sd)])
    blocks.append({"kind": "h4", "text": t("validity.tradeoff.cutoffs", lang)})
    blocks.append(_table([t("validity.col.share", lang), t("validity.col.best_gain", lang), t("validity.col.min_ratio_short", lang), t("validity.col.best_ratio", lang),
                          t("validity.col.gain_sd", lang)], cut))
    if figures:
        from ._figures import tradeoff_figure

        blocks.append(_figure(tradeoff_figure(study, lang=lang)))
    return blocks


def _mvh_section(study, lang: str) -> list[dict]:
    m = study.machine_vs_human
    if m.empty:
        return [_para(t("validity.mvh.none", lang), "wb-muted")]
    rows, classes = [], []
    for r in m.itertuples():
        if r.status != "ok":
            if r.role_id == "all":
                rows.append([_role(r.role_id, study, lang), label("validity.criterion", r.criterion, lang), label("validity.aspect", r.aspect, lang),
                             label("validity.status", r.status, lang), "", "", "", ""])
                classes.append("wb-muted")
            continue
        rows.append([_role(r.role_id, study, lang), label("validity.criterion", r.criterion, lang), label("validity.aspect", r.aspect, lang), _num(r.machine), _num(r.human),
                     f"{_num(r.difference)} {_ci(r.diff_ci_low, r.diff_ci_high)}", _pct(r.retained_share), label("validity.mvh_verdict", r.verdict, lang)])
        classes.append("wb-bad" if r.verdict == "lower" else "")
    return [_para(t("validity.mvh.note", lang), ""),
            _table([t("validity.col.role", lang), t("validity.col.criterion", lang), t("validity.col.aspect", lang), t("validity.col.machine", lang), t("validity.col.human", lang),
                    t("validity.col.difference", lang), t("validity.col.retained", lang), t("validity.col.verdict", lang)], rows, classes)]


def _potential_section(study, lang: str) -> list[dict]:
    v = study.validity
    pot = v[(v["criterion"] == "potential_rating") & (v["role_id"] == "all") & v["aspect"].isin(["learning_agility", "general", "overall"])]
    blocks = []
    if pot.empty:
        return [_para(t("validity.potential.none", lang), "wb-muted")]
    rows, classes = [], []
    for r in pot.itertuples():
        row, cls = _validity_row(r, predictor_label(r.predictor, lang), study, lang)
        rows.append(row)
        classes.append(cls)
    blocks.append(_para(t("validity.potential.note", lang), ""))
    blocks.append(_table(_validity_headers(lang, t("validity.col.predictor", lang)), rows, classes))
    sr = study.suggestion_rule
    if len(sr):
        rows, classes = [], []
        for r in sr.itertuples():
            if r.status != "ok":
                rows.append([predictor_label(r.predictor, lang), _num(r.threshold, 0), f"{int(r.n_flagged)}", label("validity.status", r.status, lang), "", "", "", ""])
                classes.append("wb-muted")
                continue
            rows.append([predictor_label(r.predictor, lang), _num(r.threshold, 0), f"{int(r.n_flagged)} / {int(r.n)}", _pct(r.p_high_flagged), _pct(r.p_high_other),
                         f"{_num(r.difference)} {_ci(r.diff_ci_low, r.diff_ci_high)}", _num(r.lift), label("validity.evidence", r.evidence, lang)])
            classes.append("wb-ok" if r.evidence == "supported" else "")
        blocks.append({"kind": "h4", "text": t("validity.rule.title", lang)})
        blocks.append(_para(t("validity.rule.note", lang, high=study.config["high_rating"]), "wb-muted"))
        blocks.append(_table([t("validity.col.predictor", lang), t("validity.col.threshold", lang), t("validity.col.flagged", lang), t("validity.col.p_high_flagged", lang),
                              t("validity.col.p_high_other", lang), t("validity.col.rule_difference", lang), t("validity.col.lift", lang), t("validity.col.evidence", lang)], rows, classes))
    return blocks


def _caveats(study, lang: str) -> list[str]:
    c = study.config
    keys = ["validity.caveat.sample", "validity.caveat.reliability", "validity.caveat.range", "validity.caveat.expectancy", "validity.caveat.tradeoff",
            "validity.caveat.incremental", "validity.caveat.law"]
    if c.get("selection_score") is None and c.get("range_correction"):
        keys.insert(2, "validity.caveat.selection_unknown")
    if not c.get("range_correction"):
        keys.insert(2, "validity.caveat.no_range")
    if c.get("synthetic"):
        keys.insert(0, "validity.caveat.synthetic")
    return [t(k, lang, min_n=c["min_n"], high=c["high_rating"]) for k in keys]


def _sections(study, lang: str, figures: bool) -> list[dict]:
    sections = [
        {"title": t("validity.section.key", lang), "blocks": [_items(_key_findings(study, lang))]},
        {"title": t("validity.section.samples", lang), "blocks": _samples_section(study, lang)},
        {"title": t("validity.section.validity", lang), "blocks": _validity_section(study, lang)},
    ]
    if figures:
        from ._figures import validity_figure

        sections[-1]["blocks"].insert(0, _figure(validity_figure(study, lang=lang)))
    truth = _truth_section(study, lang)
    if truth:
        sections.append({"title": t("validity.section.truth", lang), "blocks": truth})
    sections += [
        {"title": t("validity.section.incremental", lang), "blocks": _incremental_section(study, lang)},
        {"title": t("validity.section.expectancy", lang), "blocks": _expectancy_section(study, lang, figures)},
        {"title": t("validity.section.tradeoff", lang), "blocks": _tradeoff_section(study, lang, figures)},
        {"title": t("validity.section.mvh", lang), "blocks": _mvh_section(study, lang)},
        {"title": t("validity.section.potential", lang), "blocks": _potential_section(study, lang)},
        {"title": t("validity.section.caveats", lang), "blocks": [_items(_caveats(study, lang))]},
    ]
    return sections


def render_body(study, *, lang: str | None = None, figures: bool = False) -> str:
    """The study as an HTML fragment (what a notebook shows)."""
    lang = resolve_lang(lang)
    return _template().render(title=t("validity.title", lang), sections=_sections(study, lang, figures), page=False)


def render_page(study, *, lang: str | None = None, figures: bool = True) -> str:
    """A self-contained, offline HTML page (charts embedded as PNG data URIs)."""
    from ..reports import assert_offline, report_css, setup_matplotlib

    lang = resolve_lang(lang)
    if figures:
        setup_matplotlib()
    html = _template().render(title=t("validity.title", lang), sections=_sections(study, lang, figures), page=True, css=report_css(),
                              html_lang={"zh": "zh-CN"}.get(lang, lang))
    assert_offline(html)
    return html


def study_metrics(study) -> dict[str, Any]:
    s = study.samples.set_index("role_id")
    out: dict[str, Any] = {
        "n_applicants": int(s.loc["all", "n_applicants"]),
        "n_hired": int(s.loc["all", "n_hired"]),
        "n_with_performance": int(s.loc["all"].get("n_performance_rating", 0)),
        "roles_insufficient": int((study.samples["role_id"].ne("all") & study.samples["status"].ne("ok")).sum()),
    }
    v = study.validity
    pooled = v[(v["role_id"] == "all") & (v["criterion"] == "performance_rating") & (v["status"] == "ok")]
    for r in pooled.itertuples():
        if r.aspect == "overall":
            out[f"r[{r.predictor}]"] = round(float(r.r), 4)
            out[f"r_rr[{r.predictor}]"] = round(float(r.r_rr), 4)
            if _ok(r.r_op):
                out[f"r_op[{r.predictor}]"] = round(float(r.r_op), 4)
    if len(study.truth_comparison):
        out["truth_ci_coverage"] = round(float(study.truth_comparison["covered"].mean()), 4)
    inc = study.incremental
    if len(inc) and "delta_r2" in inc.columns:
        for r in inc[(inc["role_id"] == "all") & (inc["status"] == "ok") & (inc["order"] == "interview_over_screen")].itertuples():
            out[f"delta_r2_over_screen[{r.predictor}]"] = round(float(r.delta_r2), 4)
    if len(study.lda):
        out["lda_verdict"] = str(study.lda.iloc[0]["verdict"])
    m = study.machine_vs_human
    if len(m) and "verdict" in m.columns:
        for r in m[(m["role_id"] == "all") & (m["status"] == "ok") & (m["criterion"] == "performance_rating")].itertuples():
            out[f"machine_vs_human[{r.aspect}]"] = str(r.verdict)
    return out
