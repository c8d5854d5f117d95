"""Question-set evaluation, usable on any question set: coverage, compliance lint, redundancy, item statistics.

A question set is a table with ``question_id, role, competency, type, text`` and an optional ``rubric`` (Chinese
headers such as 题目编号 / 岗位 / 胜任力 / 题型 / 题目 / 评分标准 are accepted; role and competency as ids,
names, dictionary aliases or close names, see :mod:`workbench.questions.names`).

:func:`load_question_set` reads a vendor file and keeps **every row that has a question text**: rows whose role,
competency or type cannot be resolved are still linted, and the reference problem becomes a finding beside the
question's lint findings (category ``reference``), never a reason to skip the text. Only rows with no text (or that
cannot be split into columns) are quarantined. :func:`evaluate_question_set` computes everything and returns a
:class:`QuestionSetEvaluation` that renders itself, serialises to a scorecard, and feeds the vendor leaderboard.
The verdict and score count every legal violation in the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .._hashing import sha256_file
from .._tabular import write_csv_safe
from ..competency import CompetencyDictionary, load_dictionary
from ..errors import DataError, IntakeError
from ..i18n import label, resolve_lang, t
from ..intake.contracts import QUESTION_TYPES
from ..intake.readers import RawTable, read_raw_table
from ..intake.validate import QUARANTINE_COLUMNS, quarantine_record
from .names import NameResolver, read_mapping

__all__ = [
    "FINDING_COLUMNS",
    "QUESTION_SET_COLUMNS",
    "QuestionSet",
    "QuestionSetEvaluation",
    "VERDICTS",
    "coverage",
    "evaluate_question_set",
    "leaderboard",
    "load_question_set",
    "read_question_set",
    "read_vendor_table",
    "redundancy",
]

QUESTION_SET_COLUMNS = ("question_id", "role", "competency", "type", "text")
# headers vendors write → our column names (after stripping spaces; matched case-insensitively)
HEADER_ALIASES = {
    "question_id": ("题目编号", "题号", "编号", "序号", "题目id", "questionid", "id", "qid"),
    "role": ("岗位", "岗位名称", "适用岗位", "应聘岗位", "职位", "role_id", "position"),
    "competency": ("胜任力", "胜任力名称", "能力项", "考察能力", "考察要素", "测评维度", "能力维度", "competency_id", "skill"),
    "type": ("题型", "题目类型", "类型", "question_type"),
    "text": ("题目", "题干", "问题", "题目内容", "面试题", "question", "question_text"),
    "rubric": ("评分标准", "评分要点", "评分参考", "参考答案", "评分细则", "scoring_guide"),
}
VERDICTS = ("fail", "needs_work", "usable", "good")
# one row per finding (lint, reference or data problem); ``row`` is the row in the vendor's file
FINDING_COLUMNS = ["question_id", "row", "rule_id", "category", "severity", "title", "message", "legal_basis", "suggestion", "evidence"]

_TYPE_SYNONYMS = {
    "situational": "情景", "situation": "情景", "情景题": "情景", "情境": "情景", "情境题": "情景", "情景模拟": "情景",
    "behavioral": "行为", "behavioural": "行为", "bei": "行为", "行为题": "行为", "行为事件": "行为", "行为面试": "行为",
    "culture": "文化", "values": "文化", "文化题": "文化", "价值观": "文化", "文化适配": "文化", "价值观题": "文化",
}


def read_vendor_table(path: str | Path, *, table: str, required: tuple[str, ...] = (), aliases: dict | None = None) -> tuple[RawTable, dict]:
    """Read a file a vendor sent (CSV in any common encoding, XLSX, Parquet) with our column names.

    The one place vendor files are read (question sets, score files, mappings): intake's reader does the decoding;
    here headers are mapped (``aliases``, default :data:`HEADER_ALIASES`) and, for a workbook, the first sheet that
    has every ``required`` column is used (vendors put an instructions sheet first, with Chinese sheet names).
    Returns the table and ``{"sheet": …}``. Raises :class:`IntakeError` naming the file, the missing columns, the
    columns found and the Chinese headers accepted.
    """
    path = Path(path)
    alias_map = HEADER_ALIASES if aliases is None else aliases

    def rename(frame: pd.DataFrame) -> pd.DataFrame:
        mapping = {}
        for col in frame.columns:
            key = str(col).strip().lower().replace(" ", "").replace("_", "")
            for column, names in alias_map.items():
                if key == column.replace("_", "") or key in {a.lower().replace("_", "") for a in names}:
                    mapping[col] = column
                    break
        return frame.rename(columns=mapping)

    sheet = None
    if path.suffix.lower() == ".xlsx" and path.is_file():
        raw = _read_workbook(path, table, required, rename)
        sheet = raw[1]
        raw = raw[0]
    else:
        raw = read_raw_table(path, table=table)
        raw.frame = rename(raw.frame)
    missing = [c for c in required if c not in raw.frame.columns]
    if missing:
        accepted = "；".join(f"{c}: {'/'.join(alias_map.get(c, ())[:4])}" for c in missing)
        raise IntakeError(
            f"[{table}] {path} 缺少列 / lacks column(s) {missing}；文件中的列 / columns found: {list(map(str, raw.frame.columns))}；"
            f"可用的中文表头 / accepted headers: {accepted}",
            file=str(path), column=missing[0],
        )
    return raw, {"sheet": sheet}


def _read_workbook(path: Path, table: str, required: tuple[str, ...], rename) -> tuple[RawTable, str]:
    """The first sheet whose header has every ``required`` column (after ``rename``), read by intake's reader."""
    from ..intake.readers import xlsx_sheet_headers

    headers = xlsx_sheet_headers(path, table=table)
    for name, header in headers.items():
        if all(c in rename(pd.DataFrame(columns=header)).columns for c in required):
            raw = read_raw_table(path, table=table, sheet=name)
            raw.frame = rename(raw.frame)
            return raw, name
    raise IntakeError(
        f"[{table}] {path}: 没有哪个工作表包含全部必需列 / no sheet has every required column {list(required)}; "
        f"sheets and their columns: {headers}", file=str(path),
    )


@dataclass
class QuestionSet:
    """A vendor file read for evaluation.

    ``questions``: every row with a text — ``question_id`` (unique: a repeated id gets ``@r<row>``), ``source_id``,
    ``row``, the given ``role_given / competency_given / type_given``, the resolved ``role_id / competency_id / type``
    (None when unresolved), ``text``, ``rubric``. ``references``: reference and data findings (FINDING_COLUMNS).
    ``quarantine``: rows that could not be evaluated at all. ``mapping``: the name mapping table. Counts reconcile:
    ``rows_in == len(questions) + quarantined rows``.
    """

    questions: pd.DataFrame
    references: pd.DataFrame
    quarantine: pd.DataFrame
    mapping: pd.DataFrame
    source: dict


def _finding_row(qid, row, code: str, message: str, evidence: str, category: str = "reference") -> dict:
    return {
        "question_id": qid, "row": row, "rule_id": code, "category": category, "severity": "warning",
        "title": t("bench.ref.title", "zh"), "message": message, "legal_basis": "", "suggestion": t("bench.q.mapping_hint", "zh"),
        "evidence": evidence,
    }


def load_question_set(
    path: str | Path,
    dictionary: CompetencyDictionary | None = None,
    *,
    mapping: str | Path | dict | None = None,
) -> QuestionSet:
    """Read a question set and resolve its names; see :class:`QuestionSet`. ``mapping``: the vendor's mapping
    file (or an already-read dict from :func:`~workbench.questions.names.read_mapping`)."""
    dictionary = dictionary or load_dictionary()
    raw, extra = read_vendor_table(path, table="question_set", required=("text",))
    frame = raw.frame
    for col in ("question_id", "role", "competency", "type", "rubric"):
        if col not in frame.columns:
            frame[col] = None
    absent = [c for c in ("question_id", "role", "competency", "type") if raw.frame[c].isna().all()]
    vendor_map = read_mapping(mapping, dictionary) if isinstance(mapping, (str, Path)) else (mapping or {})
    resolver = NameResolver(dictionary, mapping=vendor_map)
    source_file = str(path)
    quarantine = [quarantine_record("question_set", source_file, problem) for problem in raw.problems]
    rows, refs = [], []
    first_row: dict[str, int] = {}
    for idx in frame.index:
        row = int(raw.rows.loc[idx])
        text = frame.at[idx, "text"]
        if not isinstance(text, str) or not text.strip():
            quarantine.append(dict(table="question_set", source_file=source_file, row=row, column="text", value=None,
                                   reason_code="missing_value", reason="题干为空，无法检查 / no question text"))
            continue
        given_id = (frame.at[idx, "question_id"] or "").strip() if isinstance(frame.at[idx, "question_id"], str) else ""
        qid = given_id or f"row{row}"
        if not given_id:
            refs.append(_finding_row(qid, row, "missing_id", t("bench.ref.missing_id", "zh", id=qid), "", category="data"))
        elif given_id in first_row:
            qid = f"{given_id}@r{row}"
            refs.append(_finding_row(qid, row, "duplicate_id", t("bench.ref.duplicate_id", "zh", given=given_id, first=first_row[given_id], id=qid),
                                     given_id, category="data"))
        else:
            first_row[given_id] = row
        role_given, comp_given, type_given = (frame.at[idx, c] for c in ("role", "competency", "type"))
        role = resolver.role(role_given)
        comp = resolver.competency(comp_given, role.resolved)
        qtype = _resolve_type(type_given)
        for res, kind in ((role, "role"), (comp, "competency")):
            if res.decided:
                continue
            code = {"empty": f"missing_{kind}", "ambiguous": f"ambiguous_{kind}"}.get(res.method, f"unknown_{kind}")
            cands = "、".join((dictionary.roles if kind == "role" else dictionary.competencies)[c].name for c in res.candidates)
            refs.append(_finding_row(qid, row, code, t(f"bench.ref.{code}", "zh", given=res.given, candidates=cands) if "ambiguous" in code
                                     else t(f"bench.ref.{code}", "zh", given=res.given) if "unknown" in code else t(f"bench.ref.{code}", "zh"),
                                     res.given))
        in_role = True
        if role.decided and comp.decided and comp.resolved not in dictionary.roles[role.resolved].competency_ids:
            in_role = False
            refs.append(_finding_row(qid, row, "competency_not_in_role", t(
                "bench.ref.competency_not_in_role", "zh", given=comp.given, resolved=dictionary.competencies[comp.resolved].name,
                role=dictionary.roles[role.resolved].name), comp.given))
        if qtype is None:
            given = "" if type_given is None else str(type_given).strip()
            code = "unknown_type" if given else "missing_type"
            refs.append(_finding_row(qid, row, code, t(f"bench.ref.{code}", "zh", given=given) if given else t("bench.ref.missing_type", "zh"), given))
        rubric = frame.at[idx, "rubric"]
        rows.append({
            "question_id": qid, "source_id": given_id, "row": row,
            "role_given": role_given, "competency_given": comp_given, "type_given": type_given,
            "role_id": role.resolved, "competency_id": comp.resolved, "in_role": bool(in_role and role.decided and comp.decided),
            "type": qtype, "text": text, "rubric": rubric if isinstance(rubric, str) and rubric.strip() else pd.NA,
        })
    columns = ["question_id", "source_id", "row", "role_given", "competency_given", "type_given", "role_id", "competency_id", "in_role", "type", "text", "rubric"]
    questions = pd.DataFrame(rows, columns=columns)
    quarantine_frame = pd.DataFrame(quarantine, columns=QUARANTINE_COLUMNS)
    rows_in = raw.rows_in
    source = {
        "path": source_file, "name": Path(path).stem, "sha256": sha256_file(path), "format": raw.file_format,
        "encoding": raw.encoding, "sheet": extra.get("sheet"), "rows_in": rows_in, "evaluated": len(questions),
        "quarantined": int(quarantine_frame["row"].nunique()) if len(quarantine_frame) else 0,
        "columns_absent": absent, "vendor_mapping": str(mapping) if isinstance(mapping, (str, Path)) else None,
    }
    if source["evaluated"] + source["quarantined"] != rows_in:  # every row is accounted for
        raise DataError(f"internal: {rows_in} rows in, {source['evaluated']} evaluated + {source['quarantined']} quarantined")
    return QuestionSet(questions=questions, references=pd.DataFrame(refs, columns=FINDING_COLUMNS), quarantine=quarantine_frame,
                       mapping=resolver.table(), source=source)


def _resolve_type(value) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    v = value.strip()
    v = _TYPE_SYNONYMS.get(v.lower(), v)
    return v if v in QUESTION_TYPES else None


def read_question_set(path: str | Path, dictionary: CompetencyDictionary | None = None, *, mapping=None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(questions, quarantine, source) of :func:`load_question_set`; the source also holds ``references`` and
    ``mapping`` frames. Kept for callers that want the three-tuple."""
    qs = load_question_set(path, dictionary, mapping=mapping)
    return qs.questions, qs.quarantine, {**qs.source, "references": qs.references, "mapping": qs.mapping}


def _role_weights(model: dict | None, dictionary: CompetencyDictionary, role_id: str) -> dict[str, float]:
    if model and role_id in model.get("roles", {}):
        out = {}
        for dim in model["roles"][role_id]["dimensions"].values():
            for cid, comp in dim["competencies"].items():
                out[cid] = comp["weight"]
        return out
    role = dictionary.roles[role_id]
    return {c: 1 / len(role.competency_ids) for c in role.competency_ids}


def coverage(questions: pd.DataFrame, dictionary: CompetencyDictionary, *, model: dict | None = None, min_per_competency: int = 3,
             lang: str | None = None) -> pd.DataFrame:
    """One row per (role, competency) of every role the set covers: question counts, types, status, weight
    (role, competency and dimension names, and the types summary, in ``lang``).

    Only questions whose role and competency resolved, with the competency in that role's model, count.
    """
    if "in_role" in questions.columns:
        questions = questions[questions["in_role"].astype(bool)]
    questions = questions[questions["role_id"].isin(list(dictionary.roles))]
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
                    "role": dictionary.roles[role_id].label(lang),
                    "competency_id": cid,
                    "competency": comp.label(lang),
                    "dimension": label("dimension", comp.dimension, lang),
                    "weight": round(weights.get(cid, 0.0), 4),
                    "n_questions": n,
                    "types": t("bench.q.types_sep", lang).join(t("bench.q.type_count", lang, type=t_, n=c) for t_, c in qs["type"].dropna().value_counts().items()),
                    "status": status,
                }
            )
    return pd.DataFrame(rows, columns=["role_id", "role", "competency_id", "competency", "dimension", "weight", "n_questions", "types", "status"])


def type_balance(questions: pd.DataFrame) -> pd.DataFrame:
    """Share of each type per resolved role; ``flags`` holds codes: ``no_behavioural`` (behavioural questions
    predict job performance best) and ``one_type_dominates`` (> 70 %)."""
    rows = []
    known = questions[questions["role_id"].notna() & questions["type"].notna()]
    for role_id, sub in known.groupby("role_id"):
        shares = sub["type"].value_counts(normalize=True)
        flags = []
        if shares.get("行为", 0) == 0:
            flags.append("no_behavioural")
        if shares.max() > 0.7:
            flags.append("one_type_dominates")
        rows.append({"role_id": role_id, **{t_: round(float(shares.get(t_, 0)), 3) for t_ in QUESTION_TYPES}, "flags": " ".join(flags)})
    return pd.DataFrame(rows, columns=["role_id", *QUESTION_TYPES, "flags"])


def redundancy(questions: pd.DataFrame, *, threshold: float | None = None, within_role: bool = True) -> pd.DataFrame:
    """Near-duplicate pairs by meaning (paraphrases included), see :mod:`workbench.questions.paraphrase`.

    ``within_role=True`` keeps only pairs a candidate of one role could both get; otherwise pairs across roles are
    returned too (``scope`` = ``cross_role``). Questions with an unresolved role are grouped by the role name given.
    """
    from .paraphrase import DEFAULT_THRESHOLD, near_duplicates

    frame = questions.copy()
    if "role_given" in frame.columns:
        frame["_role"] = [r if isinstance(r, str) else ("?" + str(g) if g is not None else None) for r, g in zip(frame["role_id"], frame["role_given"])]
    else:
        frame["_role"] = frame["role_id"]
    pairs = near_duplicates(frame, threshold=DEFAULT_THRESHOLD if threshold is None else threshold, role_column="_role", across_roles=not within_role)
    return pairs


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
    mapping: pd.DataFrame = field(default_factory=pd.DataFrame)
    lang: str = "zh"

    # -- summary numbers -----------------------------------------------------------------------------------
    def _of(self, category: str) -> pd.DataFrame:
        return self.findings[self.findings["category"] == category] if len(self.findings) else self.findings

    def same_role_pairs(self) -> pd.DataFrame:
        r = self.redundancy
        return r[r["scope"] == "same_role"] if len(r) and "scope" in r.columns else r

    def summary(self) -> dict:
        n = len(self.questions)
        legal, quality, refs = self._of("legal"), self._of("quality"), self.findings[self.findings["category"].isin(["reference", "data"])] if len(self.findings) else self.findings
        cov = self.coverage
        covered = float((cov["status"] == "ok").mean()) if len(cov) else 0.0
        weighted = float((cov["weight"] * (cov["status"] == "ok")).sum() / cov["weight"].sum()) if len(cov) and cov["weight"].sum() else covered
        same = self.same_role_pairs()
        redundant_ids = set(same["question_b"]) if len(same) else set()
        out = {
            "questions": n,
            "quarantined_rows": int(self.quarantine["row"].nunique()) if len(self.quarantine) else 0,
            "reference_problems": int(refs["question_id"].nunique()) if len(refs) else 0,
            "roles": int(self.questions["role_id"].dropna().nunique()) if n else 0,
            "competency_slots": len(cov),
            "coverage_rate": round(covered, 4),
            "weighted_coverage_rate": round(weighted, 4),
            "missing_competencies": int((cov["status"] == "missing").sum()) if len(cov) else 0,
            "legal_violations": int(legal["question_id"].nunique()) if len(legal) else 0,
            "legal_findings": len(legal),
            "quality_flagged": int(quality["question_id"].nunique()) if len(quality) else 0,
            "quality_flag_rate": round(quality["question_id"].nunique() / n, 4) if n and len(quality) else 0.0,
            "near_duplicate_pairs": len(same),
            "cross_role_duplicate_pairs": int(len(self.redundancy) - len(same)),
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
        """0–100: coverage 35, compliance 30, quality 15, redundancy 10, data hygiene 10 (documented in benchmark/README.md).

        Compliance loses a quarter per question with a legal violation, wherever it sits in the file. Data hygiene
        counts quarantined rows and questions with a reference problem (unresolved or ambiguous names, a
        competency outside the role's model, unknown type, repeated ids).
        """
        compliance = max(0.0, 1 - 0.25 * s["legal_violations"])
        bad = s["quarantined_rows"] + s.get("reference_problems", 0)
        rows = s["questions"] + s["quarantined_rows"]
        hygiene = 1.0 if rows and not bad else max(0.0, 1 - bad / max(rows, 1) * 10)
        total = 35 * s["weighted_coverage_rate"] + 30 * compliance + 15 * (1 - s["quality_flag_rate"]) + 10 * (1 - min(1.0, 5 * s["redundant_share"])) + 10 * hygiene
        if s.get("items_flagged_share") is not None:
            total = 0.85 * total + 15 * (1 - s["items_flagged_share"])
        return round(total, 1)

    @staticmethod
    def verdict(s: dict) -> str:
        """A code from :data:`VERDICTS`; ``fail`` whenever any question in the file breaks a legal red line."""
        if s["legal_violations"]:
            return "fail"
        if s["coverage_rate"] < 1:
            return "needs_work"
        if s["quality_flag_rate"] > 0.1 or s["near_duplicate_pairs"] or s.get("reference_problems", 0):
            return "usable"
        return "good"

    # -- output -------------------------------------------------------------------------------------------
    def scorecard(self) -> dict:
        return {
            "schema_version": 2,
            "kind": "question_set",
            "name": self.name,
            "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": self.source,
            "parameters": self.params,
            "summary": self.summary(),
            "coverage": self.coverage.to_dict(orient="records"),
            "type_balance": self.type_balance.to_dict(orient="records"),
            "findings": self.findings.to_dict(orient="records"),
            "name_mapping": self.mapping.to_dict(orient="records"),
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
        paths["name_mapping"] = write_csv_safe(self.mapping, out_dir / "name_mapping.csv")
        paths["quarantine"] = write_csv_safe(self.quarantine, out_dir / "quarantine.csv")
        if self.item_stats is not None:
            paths["item_stats"] = write_csv_safe(self.item_stats.items.assign(flags=self.item_stats.items["flags"].map("、".join)), out_dir / "item_stats.csv")
        paths["html"].write_text(self.to_html(), encoding="utf-8")
        return paths

    def to_html(self, lang: str | None = None) -> str:
        """The scorecard as a self-contained offline page."""
        from ..reports import render_page
        from ._evaluate_html import render_question_set

        lang = resolve_lang(lang or self.lang)
        return render_page(t("bench.q.title", lang, name=self.name), render_question_set(self, lang), lang=lang)

    def _repr_html_(self) -> str:
        from ._evaluate_html import render_question_set

        return render_question_set(self, resolve_lang(self.lang))


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def evaluate_question_set(
    questions: pd.DataFrame | QuestionSet,
    *,
    name: str = "question set",
    dictionary: CompetencyDictionary | None = None,
    model: dict | None = None,
    pilot: pd.DataFrame | None = None,
    quarantine: pd.DataFrame | None = None,
    source: dict | None = None,
    min_per_competency: int = 3,
    redundancy_threshold: float | None = None,
    dif_columns: tuple[str, ...] = (),
    lang: str | None = None,
) -> QuestionSetEvaluation:
    """Evaluate a question set: a :class:`QuestionSet` from :func:`load_question_set`, or a frame with columns
    question_id, role_id, competency_id, type, text[, rubric] (e.g. the workbench's generated bank).

    Every question with a text is linted, whatever else is wrong with its row.
    """
    from .lint import lint_questions
    from .paraphrase import DEFAULT_THRESHOLD

    dictionary = dictionary or load_dictionary()
    references = pd.DataFrame(columns=FINDING_COLUMNS)
    mapping = pd.DataFrame()
    if isinstance(questions, QuestionSet):
        references, mapping = questions.references, questions.mapping
        quarantine = questions.quarantine if quarantine is None else quarantine
        source = {**questions.source, **(source or {})}
        questions = questions.questions
    missing = [c for c in ("question_id", "role_id", "competency_id", "type", "text") if c not in questions.columns]
    if missing:
        raise DataError(f"question set lacks column(s) {missing}")
    questions = questions.copy()
    if "rubric" not in questions.columns:
        questions["rubric"] = pd.NA
    if "row" not in questions.columns:
        questions["row"] = range(2, len(questions) + 2)
    if "in_role" not in questions.columns:
        questions["in_role"] = [r in dictionary.roles and c in dictionary.roles[r].competency_ids for r, c in zip(questions["role_id"], questions["competency_id"])]
    if not questions["question_id"].is_unique:
        raise DataError("question ids must be unique; read vendor files with load_question_set, which renames repeated ids")
    item_stats = None
    if pilot is not None:
        from .itemstats import item_statistics

        known = questions[questions["in_role"].astype(bool)]
        item_stats = item_statistics(pilot, known[["question_id", "competency_id"]], group_columns=tuple(dif_columns), lang=lang)
    lint = lint_questions(questions[["question_id", "text", "type"]])
    lint.insert(1, "row", lint["question_id"].map(dict(zip(questions["question_id"], questions["row"]))))
    findings = pd.concat([f for f in (lint, references) if len(f)], ignore_index=True) if (len(lint) or len(references)) else pd.DataFrame(columns=FINDING_COLUMNS)
    findings = findings.reindex(columns=FINDING_COLUMNS)
    if len(findings):
        order = {"legal": 0, "reference": 1, "data": 2, "quality": 3}
        findings = findings.sort_values(["category", "row"], key=lambda c: c.map(order) if c.name == "category" else c, kind="stable").reset_index(drop=True)
    threshold = DEFAULT_THRESHOLD if redundancy_threshold is None else redundancy_threshold
    return QuestionSetEvaluation(
        name=name,
        questions=questions,
        quarantine=quarantine if quarantine is not None else pd.DataFrame(columns=QUARANTINE_COLUMNS),
        coverage=coverage(questions, dictionary, model=model, min_per_competency=min_per_competency, lang=lang),
        type_balance=type_balance(questions),
        findings=findings,
        redundancy=redundancy(questions, threshold=threshold, within_role=False),
        item_stats=item_stats,
        source=source or {},
        params={"min_per_competency": min_per_competency, "redundancy_threshold": threshold, "dif_columns": list(dif_columns)},
        mapping=mapping,
        lang=resolve_lang(lang),
    )


def leaderboard(scorecards: list[dict], lang: str | None = None) -> pd.DataFrame:
    """Question-set scorecards side by side, best first (column names in ``lang``)."""
    lang = resolve_lang(lang)
    rows = []
    for card in scorecards:
        s = card["summary"]
        c = lambda k: t(f"bench.board.col.{k}", lang)  # noqa: E731
        rows.append(
            {
                c("name"): card["name"],
                c("score"): s["score"],
                c("verdict"): label("bench.verdict", s["verdict"], lang),
                c("questions"): s["questions"],
                c("coverage"): f"{s['coverage_rate']:.0%}",
                c("legal"): s["legal_violations"],
                c("quality"): f"{s['quality_flag_rate']:.0%}",
                c("duplicates"): s["near_duplicate_pairs"],
                c("references"): s.get("reference_problems", 0),
                c("quarantined"): s["quarantined_rows"],
                c("rubric"): f"{s['with_rubric_share']:.0%}",
            }
        )
    frame = pd.DataFrame(rows)
    return frame.sort_values(frame.columns[1], ascending=False, kind="stable").reset_index(drop=True) if len(frame) else frame
