"""Question-set evaluation, usable on any question set: coverage, compliance lint, redundancy, item statistics.

A question set is a table with ``question_id, role, competency, type, text`` and an optional ``rubric`` (ids or
Chinese names for role and competency). :func:`read_question_set` validates it like intake does (bad rows go to a
quarantine with reasons); :func:`evaluate_question_set` computes everything and returns a
:class:`QuestionSetEvaluation` that renders itself, serialises to a scorecard, and feeds the vendor leaderboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .._hashing import sha256_file
from .._tabular import escape, write_csv_safe
from ..competency import DIMENSION_NAMES, CompetencyDictionary, load_dictionary
from ..errors import DataError, IntakeError
from ..intake.contracts import QUESTION_TYPES, ColumnSpec, ForeignKey, TableContract
from ..intake.readers import read_raw_table
from ..intake.validate import QUARANTINE_COLUMNS, validate_table

__all__ = [
    "QUESTION_SET_CONTRACT",
    "QuestionSetEvaluation",
    "coverage",
    "evaluate_question_set",
    "read_question_set",
    "redundancy",
    "leaderboard",
]

QUESTION_SET_CONTRACT = TableContract(
    name="question_set",
    title="题目集",
    default_file="questions.csv",
    key=("question_id",),
    description="供应商或自建的面试题目集。",
    columns=(
        ColumnSpec("question_id", "str", "题目编号", max_length=64),
        ColumnSpec("role", "str", "岗位编号或名称（如 teller / 柜员）"),
        ColumnSpec("competency", "str", "胜任力编号或名称（如 aml_cdd / 反洗钱与客户尽职调查）"),
        ColumnSpec("type", "str", "题型：情景 / 行为 / 文化", allowed=QUESTION_TYPES),
        ColumnSpec("text", "str", "题干", max_length=1000),
        ColumnSpec("rubric", "str", "评分要点（可选）", required=False, nullable=True),
    ),
    foreign_keys=(ForeignKey("role", "dictionary.roles", "id"), ForeignKey("competency", "dictionary.competencies", "id")),
)

_TYPE_SYNONYMS = {
    "situational": "情景", "situation": "情景", "情景题": "情景", "情境": "情景", "情境题": "情景",
    "behavioral": "行为", "behavioural": "行为", "bei": "行为", "行为题": "行为", "行为事件": "行为",
    "culture": "文化", "values": "文化", "文化题": "文化", "价值观": "文化",
}


def read_question_set(path: str | Path, dictionary: CompetencyDictionary | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read and validate a question set (CSV/XLSX/Parquet). Returns (questions, quarantine, source info).

    Role and competency may be given as ids or Chinese names; types accept common English/Chinese synonyms.
    A missing file or required column raises :class:`IntakeError` naming it.
    """
    dictionary = dictionary or load_dictionary()
    raw = read_raw_table(path, table="question_set")
    frame = raw.frame
    role_names = {r.name: r.id for r in dictionary.roles.values()}
    comp_names = {c.name: c.id for c in dictionary.competencies.values()}
    if "role" in frame.columns:
        frame["role"] = [role_names.get(v.strip(), v.strip()) if isinstance(v, str) else v for v in frame["role"]]
    if "competency" in frame.columns:
        frame["competency"] = [comp_names.get(v.strip(), v.strip()) if isinstance(v, str) else v for v in frame["competency"]]
    if "type" in frame.columns:
        frame["type"] = [_TYPE_SYNONYMS.get(v.strip().lower(), v.strip()) if isinstance(v, str) else v for v in frame["type"]]
    refs = {"dictionary.roles.id": set(dictionary.roles), "dictionary.competencies.id": set(dictionary.competencies)}

    def check(df: pd.DataFrame):
        for idx, role, comp in zip(df.index, df["role"], df["competency"]):
            if role in dictionary.roles and comp in dictionary.competencies and comp not in dictionary.roles[role].competency_ids:
                yield idx, "competency", "inconsistent", f"{comp} 不属于岗位 {role} 的胜任力模型"

    result = validate_table(raw, QUESTION_SET_CONTRACT, references=refs, row_check=check)
    questions = result.accepted.rename(columns={"role": "role_id", "competency": "competency_id"})
    if "rubric" not in questions.columns:
        questions["rubric"] = pd.NA
    info = {
        "path": str(path),
        "name": Path(path).stem,
        "sha256": sha256_file(path),
        "format": raw.file_format,
        "encoding": raw.encoding,
        "rows_in": result.rows_in,
        "accepted": result.rows_accepted,
        "quarantined": result.rows_quarantined,
    }
    return questions.reset_index(drop=True), result.quarantine, info


def _role_weights(model: dict | None, dictionary: CompetencyDictionary, role_id: str) -> dict[str, float]:
    if model and role_id in model.get("roles", {}):
        out = {}
        for dim in model["roles"][role_id]["dimensions"].values():
            for cid, comp in dim["competencies"].items():
                out[cid] = comp["weight"]
        return out
    role = dictionary.roles[role_id]
    return {c: 1 / len(role.competency_ids) for c in role.competency_ids}


def coverage(questions: pd.DataFrame, dictionary: CompetencyDictionary, *, model: dict | None = None, min_per_competency: int = 3) -> pd.DataFrame:
    """One row per (role, competency) of every role the set covers: question counts, types, status, weight."""
    rows = []
    for role_id in sorted(set(questions["role_id"].dropna())):
        weights = _role_weights(model, dictionary, role_id)
        sub = questions[questions["role_id"] == role_id]
        for cid in dictionary.roles[role_id].competency_ids:
            comp = dictionary.competencies[cid]
            qs = sub[sub["competency_id"] == cid]
            n = len(qs)
            status = "missing" if n == 0 else ("too_few" if n < min_per_competency else "ok")
            rows.append(
                {
                    "role_id": role_id,
                    "role": dictionary.roles[role_id].name,
                    "competency_id": cid,
                    "competency": comp.name,
                    "dimension": DIMENSION_NAMES[comp.dimension],
                    "weight": round(weights.get(cid, 0.0), 4),
                    "n_questions": n,
                    "types": "、".join(f"{t}{c}" for t, c in qs["type"].value_counts().items()),
                    "status": status,
                }
            )
    return pd.DataFrame(rows, columns=["role_id", "role", "competency_id", "competency", "dimension", "weight", "n_questions", "types", "status"])


def type_balance(questions: pd.DataFrame) -> pd.DataFrame:
    """Share of each type per role, flagged when a role has no behavioural questions or one type dominates (> 70 %)."""
    rows = []
    for role_id, sub in questions.groupby("role_id"):
        shares = sub["type"].value_counts(normalize=True)
        flags = []
        if shares.get("行为", 0) == 0:
            flags.append("缺少行为题（行为题对工作绩效的预测效度最高）")
        if shares.max() > 0.7:
            flags.append(f"题型过于单一：{shares.idxmax()} 占 {shares.max():.0%}")
        rows.append({"role_id": role_id, **{t: round(float(shares.get(t, 0)), 3) for t in QUESTION_TYPES}, "flags": "；".join(flags)})
    return pd.DataFrame(rows, columns=["role_id", *QUESTION_TYPES, "flags"])


def _normalise(text: str) -> str:
    import re

    return re.sub(r"[\s\W_]+", "", text or "")


def redundancy(questions: pd.DataFrame, *, threshold: float = 0.7, within_role: bool = True) -> pd.DataFrame:
    """Near-duplicate pairs by cosine similarity of TF-IDF weighted character 2–3-grams (Chinese has no spaces,
    and IDF down-weights the boilerplate that every question of a template shares).

    By default only pairs within one role count: a candidate only ever sees their role's questions, and the same
    question legitimately serves a competency shared by several roles.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    cols = ["question_a", "question_b", "similarity", "text_a", "text_b"]
    texts = [_normalise(t) for t in questions["text"].fillna("")]
    if len(texts) < 2:
        return pd.DataFrame(columns=cols)
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True).fit_transform(texts)
    sims = (matrix @ matrix.T).toarray()
    np.fill_diagonal(sims, 0)
    if within_role and "role_id" in questions.columns:
        roles = questions["role_id"].to_numpy()
        sims = np.where(roles[:, None] == roles[None, :], sims, 0.0)
    i, j = np.where(np.triu(sims) >= threshold)
    ids, raw = questions["question_id"].tolist(), questions["text"].tolist()
    pairs = [{"question_a": ids[a], "question_b": ids[b], "similarity": round(float(sims[a, b]), 4), "text_a": raw[a], "text_b": raw[b]} for a, b in zip(i, j)]
    return pd.DataFrame(pairs, columns=cols).sort_values("similarity", ascending=False, kind="stable").reset_index(drop=True)


@dataclass
class QuestionSetEvaluation:
    name: str
    questions: pd.DataFrame
    quarantine: pd.DataFrame
    coverage: pd.DataFrame
    type_balance: pd.DataFrame
    findings: pd.DataFrame
    redundancy: pd.DataFrame
    item_stats: object | None = None
    source: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    # -- summary numbers -----------------------------------------------------------------------------------
    def summary(self) -> dict:
        n = len(self.questions)
        legal = self.findings[self.findings["category"] == "legal"] if len(self.findings) else self.findings
        quality = self.findings[self.findings["category"] == "quality"] if len(self.findings) else self.findings
        cov = self.coverage
        covered = float((cov["status"] == "ok").mean()) if len(cov) else 0.0
        weighted = float((cov["weight"] * (cov["status"] == "ok")).sum() / cov["weight"].sum()) if len(cov) and cov["weight"].sum() else covered
        redundant_ids = set(self.redundancy["question_b"]) if len(self.redundancy) else set()
        out = {
            "questions": n,
            "quarantined_rows": int(self.quarantine["row"].nunique()) if len(self.quarantine) else 0,
            "roles": int(self.questions["role_id"].nunique()) if n else 0,
            "competency_slots": len(cov),
            "coverage_rate": round(covered, 4),
            "weighted_coverage_rate": round(weighted, 4),
            "missing_competencies": int((cov["status"] == "missing").sum()) if len(cov) else 0,
            "legal_violations": int(legal["question_id"].nunique()) if len(legal) else 0,
            "quality_flagged": int(quality["question_id"].nunique()) if len(quality) else 0,
            "quality_flag_rate": round(quality["question_id"].nunique() / n, 4) if n and len(quality) else 0.0,
            "near_duplicate_pairs": len(self.redundancy),
            "redundant_share": round(len(redundant_ids) / n, 4) if n else 0.0,
            "with_rubric_share": round(float(self.questions["rubric"].notna().mean()), 4) if n else 0.0,
        }
        if self.item_stats is not None:
            items = self.item_stats.items
            out["items_flagged_share"] = round(float((items["flags"].map(len) > 0).mean()), 4) if len(items) else None
            comp = self.item_stats.competencies
            out["median_alpha"] = round(float(comp["alpha"].median()), 4) if len(comp) and comp["alpha"].notna().any() else None
        out["score"] = self.score(out)
        out["verdict"] = self.verdict(out)
        return out

    @staticmethod
    def score(s: dict) -> float:
        """0–100: coverage 35, compliance 30, quality 15, redundancy 10, data hygiene 10 (documented in benchmark/README.md)."""
        compliance = max(0.0, 1 - 0.25 * s["legal_violations"])
        hygiene = 1.0 if s["questions"] and not s["quarantined_rows"] else max(0.0, 1 - s["quarantined_rows"] / max(s["questions"], 1) * 10)
        total = 35 * s["weighted_coverage_rate"] + 30 * compliance + 15 * (1 - s["quality_flag_rate"]) + 10 * (1 - min(1.0, 5 * s["redundant_share"])) + 10 * hygiene
        if s.get("items_flagged_share") is not None:
            total = 0.85 * total + 15 * (1 - s["items_flagged_share"])
        return round(total, 1)

    @staticmethod
    def verdict(s: dict) -> str:
        if s["legal_violations"]:
            return "不合格：含有涉及婚育、年龄、户籍、民族、宗教、健康或性别的违规问题，必须删除后方可使用"
        if s["coverage_rate"] < 1:
            return "需改进：部分胜任力未被充分覆盖"
        if s["quality_flag_rate"] > 0.1 or s["near_duplicate_pairs"]:
            return "基本可用：存在题目质量或重复问题，建议修订"
        return "良好：覆盖完整，未发现合规问题"

    # -- output -------------------------------------------------------------------------------------------
    def scorecard(self) -> dict:
        return {
            "schema_version": 1,
            "name": self.name,
            "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": self.source,
            "parameters": self.params,
            "summary": self.summary(),
            "coverage": self.coverage.to_dict(orient="records"),
            "type_balance": self.type_balance.to_dict(orient="records"),
            "findings": self.findings.to_dict(orient="records"),
            "near_duplicates": self.redundancy.to_dict(orient="records"),
            "quarantine": self.quarantine.drop(columns=["value"], errors="ignore").to_dict(orient="records"),
        }

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {
            "scorecard": out_dir / "scorecard.json",
            "html": out_dir / "scorecard.html",
        }
        paths["scorecard"].write_text(json.dumps(self.scorecard(), ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8")
        paths["findings"] = write_csv_safe(self.findings, out_dir / "findings.csv")
        paths["coverage"] = write_csv_safe(self.coverage, out_dir / "coverage.csv")
        paths["near_duplicates"] = write_csv_safe(self.redundancy, out_dir / "near_duplicates.csv")
        paths["quarantine"] = write_csv_safe(self.quarantine, out_dir / "quarantine.csv")
        if self.item_stats is not None:
            paths["item_stats"] = write_csv_safe(self.item_stats.items.assign(flags=self.item_stats.items["flags"].map("、".join)), out_dir / "item_stats.csv")
        paths["html"].write_text(self.to_html(), encoding="utf-8")
        return paths

    def to_html(self) -> str:
        from ..reports import assert_offline, report_css

        body = self._repr_html_()
        html = (
            f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>题目集评估 · {escape(self.name)}</title>"
            f"<style>{report_css()}</style></head><body><main>{body}</main></body></html>"
        )
        assert_offline(html)
        return html

    def _repr_html_(self) -> str:
        s = self.summary()
        verdict_cls = "wb-bad" if s["legal_violations"] else ("wb-warn" if s["score"] < 85 else "wb-ok")
        parts = [
            f"<h2>题目集评估：{escape(self.name)}</h2>",
            f"<p class='{verdict_cls}' style='font-size:16px'>{escape(s['verdict'])}（综合得分 {s['score']:.1f} / 100）</p>",
            "<table><tbody>",
            f"<tr><th>题目数</th><td>{s['questions']}（另有 {s['quarantined_rows']} 行数据问题被隔离）</td></tr>",
            f"<tr><th>覆盖岗位</th><td>{s['roles']}</td></tr>",
            f"<tr><th>胜任力覆盖率（每项 ≥ {self.params.get('min_per_competency', 3)} 题）</th><td>{s['coverage_rate']:.0%}（按模型权重 {s['weighted_coverage_rate']:.0%}；完全缺失 {s['missing_competencies']} 项）</td></tr>",
            f"<tr><th>合规问题（法律红线）</th><td class='{'wb-bad' if s['legal_violations'] else 'wb-ok'}'>{s['legal_violations']} 题</td></tr>",
            f"<tr><th>题目质量提示</th><td>{s['quality_flagged']} 题（{s['quality_flag_rate']:.0%}）</td></tr>",
            f"<tr><th>近似重复</th><td>{s['near_duplicate_pairs']} 对</td></tr>",
            f"<tr><th>附评分标准的题目</th><td>{s['with_rubric_share']:.0%}</td></tr>",
        ]
        if "median_alpha" in s:
            parts.append(f"<tr><th>试测：被标记题目占比 / 胜任力 α 中位数</th><td>{_pct(s.get('items_flagged_share'))} / {_fmt(s.get('median_alpha'))}</td></tr>")
        parts.append("</tbody></table>")
        if len(self.findings):
            legal = self.findings[self.findings["category"] == "legal"]
            if len(legal):
                parts.append("<h3>合规问题（必须删除或改写）</h3>" + _table(legal, ["question_id", "title", "evidence", "message", "legal_basis", "suggestion"], ["题目", "问题", "触发内容", "说明", "依据", "建议"]))
            quality = self.findings[self.findings["category"] != "legal"]
            if len(quality):
                parts.append("<h3>题目质量提示</h3>" + _table(quality, ["question_id", "title", "evidence", "message", "suggestion"], ["题目", "问题", "触发内容", "说明", "建议"]))
        gaps = self.coverage[self.coverage["status"] != "ok"]
        parts.append("<h3>覆盖缺口</h3>" + (_table(gaps, ["role", "dimension", "competency", "n_questions", "types"], ["岗位", "维度", "胜任力", "题目数", "题型"]) if len(gaps) else "<p class='wb-ok'>每个胜任力都有足够的题目。</p>"))
        flagged_balance = self.type_balance[self.type_balance["flags"] != ""]
        if len(flagged_balance):
            parts.append("<h3>题型结构</h3>" + _table(flagged_balance, ["role_id", "情景", "行为", "文化", "flags"], ["岗位", "情景", "行为", "文化", "提示"]))
        if len(self.redundancy):
            parts.append("<h3>近似重复题目</h3>" + _table(self.redundancy, ["question_a", "question_b", "similarity", "text_a", "text_b"], ["题目 A", "题目 B", "相似度", "A 题干", "B 题干"]))
        if len(self.quarantine):
            parts.append("<h3>数据问题（已隔离，未参与评估）</h3>" + _table(self.quarantine, ["row", "column", "reason"], ["行号", "列", "原因"]))
        if self.item_stats is not None:
            parts.append(self.item_stats._repr_html_())
        return "<div class='wb-qset'>" + "".join(parts) + "</div>"


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _pct(v) -> str:
    return "—" if v is None else f"{v:.0%}"


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def _table(frame: pd.DataFrame, cols: list[str], headers: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if pd.isna(v) else v)}</td>" for v in row) + "</tr>" for row in frame[cols].itertuples(index=False))
    return f"<table class='wb-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def evaluate_question_set(
    questions: pd.DataFrame,
    *,
    name: str = "question set",
    dictionary: CompetencyDictionary | None = None,
    model: dict | None = None,
    pilot: pd.DataFrame | None = None,
    quarantine: pd.DataFrame | None = None,
    source: dict | None = None,
    min_per_competency: int = 3,
    redundancy_threshold: float = 0.7,
    dif_columns: tuple[str, ...] = (),
) -> QuestionSetEvaluation:
    """Evaluate a validated question set (columns question_id, role_id, competency_id, type, text[, rubric])."""
    from .lint import lint_questions

    dictionary = dictionary or load_dictionary()
    missing = [c for c in ("question_id", "role_id", "competency_id", "type", "text") if c not in questions.columns]
    if missing:
        raise DataError(f"question set lacks column(s) {missing}")
    questions = questions.copy()
    if "rubric" not in questions.columns:
        questions["rubric"] = pd.NA
    item_stats = None
    if pilot is not None:
        from .itemstats import item_statistics

        item_stats = item_statistics(pilot, questions[["question_id", "competency_id"]], group_columns=tuple(dif_columns))
    return QuestionSetEvaluation(
        name=name,
        questions=questions,
        quarantine=quarantine if quarantine is not None else pd.DataFrame(columns=QUARANTINE_COLUMNS),
        coverage=coverage(questions, dictionary, model=model, min_per_competency=min_per_competency),
        type_balance=type_balance(questions),
        findings=lint_questions(questions[["question_id", "text", "type"]]),
        redundancy=redundancy(questions, threshold=redundancy_threshold),
        item_stats=item_stats,
        source=source or {},
        params={"min_per_competency": min_per_competency, "redundancy_threshold": redundancy_threshold, "dif_columns": list(dif_columns)},
    )


def leaderboard(scorecards: list[dict]) -> pd.DataFrame:
    """Several scorecards side by side, best first."""
    rows = []
    for card in scorecards:
        s = card["summary"]
        rows.append(
            {
                "题目集": card["name"],
                "综合得分": s["score"],
                "结论": s["verdict"].split("：")[0],
                "题目数": s["questions"],
                "覆盖率": f"{s['coverage_rate']:.0%}",
                "合规问题": s["legal_violations"],
                "质量提示率": f"{s['quality_flag_rate']:.0%}",
                "近似重复对": s["near_duplicate_pairs"],
                "数据问题行": s["quarantined_rows"],
                "附评分标准": f"{s['with_rubric_share']:.0%}",
            }
        )
    return pd.DataFrame(rows).sort_values("综合得分", ascending=False, kind="stable").reset_index(drop=True)
