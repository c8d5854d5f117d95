"""From a scored run to export records: the run's tables, one record per candidate × application × assessment,
and the flat row the spreadsheet and Parquet files carry."""

from __future__ import annotations

import hashlib
import json
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .._hashing import sha256_json
from ..competency import DIMENSION_NAMES, DIMENSIONS
from ..errors import DataError
from ._pseudonym import Pseudonymizer
from ._schema import SCHEMA_VERSION

__all__ = ["RunTables", "load_run_tables", "run_tables_from_context", "FEEDBACK_STAGE", "FEEDBACK_FILE", "to_cst", "PERSONAL_FIELDS", "HELD_BACK_REASONS", "RecordBuilder", "flat_columns"]

CST = timezone(timedelta(hours=8), "CST")
RECORD_NAMESPACE = uuid.UUID("6f1d3c1e-5b1a-4c84-9f0e-7d7a1b6e2c10")
PERSONAL_FIELDS = ("candidate_id", "name", "demographics", "answers")
DEMOGRAPHIC_COLUMNS = ("gender", "age_band", "hukou_type", "home_province", "ethnicity", "school_tier", "disability")
HELD_BACK_REASONS = ("not_scored", "unknown_role", "duplicate_candidate")
# Fields that describe the export rather than the candidate: a re-export that changes only these is "unchanged".
PROVENANCE_FIELDS = ("exported_at", "export_batch_id")


def to_cst(value) -> str:
    """ISO 8601 in China Standard Time, seconds precision: ``2026-12-04T23:49:03+08:00``. Naive values are UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(CST).replace(microsecond=0).isoformat()


def _nfc(value):
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _none(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True, kw_only=True)
class RunTables:
    """Everything an export needs from a scored run. Build it with :func:`load_run_tables` or by hand (tests,
    other pipelines): the score tables have the columns stage 03 writes."""

    run_id: str
    candidate_scores: pd.DataFrame
    answer_scores: pd.DataFrame
    candidates: pd.DataFrame
    card: dict
    dictionary: object
    answers: pd.DataFrame | None = None
    questions: pd.DataFrame | None = None
    competency_model: dict | None = None
    scored_at: str | None = None
    feedback: Mapping[str, dict] | None = None
    run_dir: Path | None = None
    inputs: dict = field(default_factory=dict)
    synthetic: bool = False  # the run's intake generated the cohort (no data_dir): fictional candidates
    recipients: pd.DataFrame | None = None  # intake's optional wecom_recipients table

    @property
    def model_sha256(self) -> str:
        return str(self.card["sha256"])

    @property
    def model_version(self) -> str:
        return str(self.card.get("model_version") or self.card["sha256"][:12])

    @property
    def dictionary_version(self) -> str:
        return f"{self.dictionary.version}+{self.dictionary.sha256[:10]}"

    @property
    def rubric_version(self) -> str:
        """The BARS of the dictionary plus the question rubrics actually used (hash of question id → rubric)."""
        if self.questions is None or "rubric" not in self.questions.columns:
            return f"bars-{self.dictionary_version}"
        q = self.questions[["question_id", "rubric"]].astype(object).where(self.questions[["question_id", "rubric"]].notna(), None)
        digest = sha256_json(sorted((str(a), b) for a, b in q.itertuples(index=False)))
        return f"bars-{self.dictionary_version}+q{digest[:10]}"

    @property
    def competency_model_version(self) -> str | None:
        if self.card.get("competency_model_version"):
            return str(self.card["competency_model_version"])
        return str(self.competency_model["version"]) if self.competency_model else None


FEEDBACK_STAGE = "04_explanations"
FEEDBACK_FILE = "candidate_feedback.jsonl"


def _read_feedback(path: Path) -> dict[str, dict]:
    """Candidate feedback of stage 04: one JSON object per line with a ``candidate_id``; the feedback is its
    ``feedback`` member, or else everything but the id (``{"candidate_id", "role_id", "lang", "dimensions": …}``)."""
    out: dict[str, dict] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                cid = str(item["candidate_id"])
                feedback = item["feedback"] if "feedback" in item else {k: v for k, v in item.items() if k != "candidate_id"}
                if feedback is not None and not isinstance(feedback, dict):
                    raise TypeError("feedback must be an object")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"{path}, line {line_no}: expected {{\"candidate_id\": …, \"feedback\": {{…}}}} or "
                                f"{{\"candidate_id\": …, \"dimensions\": […]}}: {exc}") from None
            if cid in out:
                raise DataError(f"{path}, line {line_no}: candidate {cid!r} has feedback twice")
            out[cid] = feedback
    return out


def run_tables_from_context(ctx, *, feedback: Mapping[str, dict] | None = None) -> RunTables:
    """Everything an export needs, read through a stage context (the one place that knows a run's layout).

    Stages 00 and 03 are required, 01 (competency model) and 04 (candidate feedback) are used when the run has
    them. Every file read is recorded (hashed) as an input of the context's stage.
    """
    tables = ctx.tables
    if "candidates" not in tables:
        raise DataError(f"{ctx.run_dir}: intake wrote no candidates table; re-run 00_intake")
    scores_dir = ctx.upstream("03_scoring")
    candidate_scores = ctx.candidate_scores
    answer_scores = ctx.answer_dataset
    card = ctx.scorer_card
    competency_model = ctx.competency_model if ctx.has_upstream("01_competency_model") else None
    if feedback is None and ctx.has_upstream(FEEDBACK_STAGE) and (ctx.upstream(FEEDBACK_STAGE) / FEEDBACK_FILE).is_file():
        feedback = _read_feedback(ctx.read_upstream(FEEDBACK_STAGE, FEEDBACK_FILE, role="feedback"))
    stages = ctx.run_dir / "stages"
    scoring = json.loads((stages / "03_scoring.json").read_text(encoding="utf-8"))
    intake = json.loads((stages / "00_intake.json").read_text(encoding="utf-8"))
    manifest = ctx.run_dir / "manifest.json"
    run_id = ctx.run_dir.name
    if manifest.is_file():
        run_id = json.loads(manifest.read_text(encoding="utf-8")).get("run_id") or run_id
    return RunTables(
        run_id=str(run_id),
        candidate_scores=candidate_scores,
        answer_scores=answer_scores,
        candidates=tables["candidates"],
        card=card,
        dictionary=ctx.dictionary,
        answers=tables.get("answers"),
        questions=tables.get("questions"),
        competency_model=competency_model,
        scored_at=scoring.get("written_at"),
        feedback=feedback,
        run_dir=ctx.run_dir,
        inputs={"candidate_scores": scores_dir / "candidate_scores.parquet", "answer_scores": scores_dir / "answer_scores.parquet",
                "card": scores_dir / "scorer.card.json", "candidates": ctx.upstream("00_intake") / "candidates.parquet"},
        synthetic=not (intake.get("params") or {}).get("data_dir"),
        recipients=tables.get("wecom_recipients"),
    )


def load_run_tables(run_dir: str | Path, *, feedback: Mapping[str, dict] | None = None) -> RunTables:
    """Read a run directory written by ``workbench run`` (stages 00 and 03; 01 and 04's feedback when present),
    through the same accessors the export stage uses (nothing is recorded: the context is not finished)."""
    from ..pipeline import StageContext

    run_dir = Path(run_dir).resolve()
    if not run_dir.is_dir():
        raise DataError(f"{run_dir} is not a run directory")
    return run_tables_from_context(StageContext(name="06_export", run_dir=run_dir, params={}), feedback=feedback)


def flat_columns(dictionary, include_personal: tuple[str, ...] = ()) -> list[str]:
    """Columns of the CSV / XLSX / Parquet files, fixed by the dictionary and the configuration (so a file written
    in chunks has one header)."""
    cols = [
        "record_id", "idempotency_key", "candidate_ref", "application_id", "requisition_id", "role_id", "batch", "assessment_id", "status",
        "completed_at", "overall_score", "max_score", "recommendation", "rank", "population_size", "percentile", "decision", "decided_by",
        "review_reasons", "advisories", "talent_pool_tags", "role_suggestions", "hiring_stage", "hiring_stage_updated_at",
        *[f"score_{d}" for d in DIMENSIONS], *[f"score_{c}" for c in dictionary.competencies],
        "candidate_feedback", "model_sha256", "model_version", "rubric_version", "dictionary_version", "competency_model_version",
        "rules_version", "export_batch_id", "exported_at", "source_run_id", "schema_version",
    ]
    if "candidate_id" in include_personal:
        cols.append("candidate_id")
    if "name" in include_personal:
        cols.append("name")
    if "demographics" in include_personal:
        cols += [f"demographic_{c}" for c in DEMOGRAPHIC_COLUMNS]
    if "answers" in include_personal:
        cols.append("answers")
    return cols


def flatten(record: dict, columns: list[str]) -> dict:
    """One record as one spreadsheet row: codes joined with ``;``, nested objects as JSON text."""
    row = {k: record.get(k) for k in columns if k in record and not isinstance(record.get(k), (list, dict))}
    row["model_sha256"] = record["model"]["sha256"]
    row["model_version"] = record["model"]["version"]
    row["review_reasons"] = ";".join(record["review_reasons"])
    row["advisories"] = ";".join(record["advisories"])
    row["talent_pool_tags"] = ";".join(t["code"] for t in record["talent_pool_tags"])
    row["role_suggestions"] = ";".join(s["role_id"] for s in record["role_suggestions"])
    row["candidate_feedback"] = None if record["candidate_feedback"] is None else json.dumps(record["candidate_feedback"], ensure_ascii=False, sort_keys=True)
    for s in record["sub_scores"]:
        row[f"score_{s['code']}"] = s["score"]
    personal = record.get("personal_data") or {}
    if "candidate_id" in columns:
        row["candidate_id"] = personal.get("candidate_id")
    if "name" in columns:
        row["name"] = personal.get("name")
    for c in DEMOGRAPHIC_COLUMNS:
        if f"demographic_{c}" in columns:
            row[f"demographic_{c}"] = (personal.get("demographics") or {}).get(c)
    if "answers" in columns:
        row["answers"] = json.dumps(personal.get("answers") or [], ensure_ascii=False)
    return {k: row.get(k) for k in columns}


class RecordBuilder:
    """Turns decided candidates into schema records, chunk by chunk (nothing about all candidates is held twice)."""

    def __init__(self, tables: RunTables, decisions, *, pseudonymizer: Pseudonymizer, batch_id: str, exported_at: str,
                 include_personal: tuple[str, ...] = (), requisitions: Mapping[str, str] | None = None):
        self.tables = tables
        self.decisions = decisions
        self.pseudonymizer = pseudonymizer
        self.batch_id = batch_id
        self.exported_at = exported_at
        self.include_personal = include_personal
        self.requisitions = dict(requisitions or {})
        dictionary = tables.dictionary
        self._dim_labels = {d: DIMENSION_NAMES[d] for d in DIMENSIONS}
        self._comp = {c: (comp.name, comp.dimension) for c, comp in dictionary.competencies.items()}
        self._role_comps = {r: role.competency_ids for r, role in dictionary.roles.items()}
        self._scored_at = to_cst(tables.scored_at) if tables.scored_at else exported_at
        self._versions = (tables.model_sha256, tables.rubric_version, tables.dictionary_version)  # computed once, not per record
        self._common = {
            "model": {"sha256": tables.model_sha256, "version": tables.model_version},
            "rubric_version": self._versions[1],
            "dictionary_version": self._versions[2],
            "competency_model_version": tables.competency_model_version,
            "rules_version": decisions.rules_version,
            "decision_rule": decisions.rule.as_dict(),
            "export_batch_id": batch_id,
            "exported_at": exported_at,
            "source_run_id": tables.run_id,
        }
        answers = tables.answers
        if answers is not None and "status" in answers.columns:
            unanswered = answers[answers["status"].astype(str) != "answered"]
            self._unanswered = set(unanswered["candidate_id"].astype(str))
        else:
            self._unanswered = set()
        self._completed_col = next((c for c in ("completed_at", "submitted_at") if c in tables.candidates.columns), None)

    def requisition_id(self, role_id: str, batch) -> str:
        if batch is not None and f"{batch}/{role_id}" in self.requisitions:
            return self.requisitions[f"{batch}/{role_id}"]
        if role_id in self.requisitions:
            return self.requisitions[role_id]
        return role_id if batch is None else f"{role_id}@{batch}"

    def partition(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(candidates to export, held back with reason): every intake candidate lands in exactly one."""
        cands = self.tables.candidates.copy()
        cands["candidate_id"] = cands["candidate_id"].astype(str)
        decided = set(self.decisions.candidates["candidate_id"])
        unknown = sorted(decided - set(cands["candidate_id"]))
        if unknown:
            raise DataError(f"{len(unknown)} scored candidate(s) are not in the candidates table (first: {unknown[0]!r}); "
                            "scores and intake must come from the same run")
        dup = cands["candidate_id"].duplicated(keep="first")
        reason = pd.Series(None, index=cands.index, dtype=object)
        reason[~cands["candidate_id"].isin(decided)] = "not_scored"
        reason[~cands["role_id"].astype(str).isin(self._role_comps)] = "unknown_role"
        reason[dup] = "duplicate_candidate"
        held = cands.loc[reason.notna(), ["candidate_id", "role_id"]].assign(reason=reason[reason.notna()])
        return cands[reason.isna()], held

    def held_back_rows(self, held: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "candidate_ref": [self.pseudonymizer.candidate_ref(c) for c in held["candidate_id"]],
            "role_id": held["role_id"].astype(str).to_numpy(),
            "reason": held["reason"].to_numpy(),
            "export_batch_id": self.batch_id,
        })

    def iter_chunks(self, export: pd.DataFrame, chunk_size: int) -> Iterator[list[dict]]:
        d = self.decisions
        table = d.candidates.set_index("candidate_id", drop=False)
        info = export.set_index("candidate_id", drop=False)
        ids = export["candidate_id"].tolist()
        for start in range(0, len(ids), chunk_size):
            chunk = ids[start: start + chunk_size]
            chunk_set = set(chunk)
            rows = table.loc[chunk].to_dict("records")
            cands = info.loc[chunk].to_dict("records")
            comp_by = _group(d.competencies, chunk_set)
            tag_by = _group(d.talent_pool, chunk_set)
            sugg_by = _group(d.role_suggestions, chunk_set)
            answers_by: dict = {}
            if "answers" in self.include_personal and self.tables.answers is not None:
                a = self.tables.answers.assign(candidate_id=self.tables.answers["candidate_id"].astype(str))
                answers_by = _group(a, chunk_set)
            yield [self._record(row, cand, comp_by.get(row["candidate_id"], []), tag_by.get(row["candidate_id"], []),
                                sugg_by.get(row["candidate_id"], []), answers_by.get(row["candidate_id"]))
                   for row, cand in zip(rows, cands)]

    def _record(self, row: dict, cand: dict, comps: list[dict], tags: list[dict], suggestions: list[dict], answers: list[dict] | None) -> dict:
        p = self.pseudonymizer
        cid = str(row["candidate_id"])
        role = str(row["role_id"])
        batch = _none(row.get("batch"))
        requisition = self.requisition_id(role, batch)
        candidate_ref = p.candidate_ref(cid)
        assessment_id = p.assessment_id(cid, requisition, "ai_interview")
        key = hashlib.sha256(json.dumps([candidate_ref, requisition, assessment_id, *self._versions], separators=(",", ":")).encode()).hexdigest()
        subs = []
        for dim in DIMENSIONS:
            subs.append({"kind": "dimension", "code": dim, "label": self._dim_labels[dim], "dimension": dim,
                         "score": _none(row.get(f"machine_{dim}")), "max_score": 100, "percentile": _none(row.get(f"percentile_{dim}"))})
        comp_rows = {r["competency"]: r for r in comps}
        for comp_id in self._role_comps[role]:
            name, dim = self._comp[comp_id]
            r = comp_rows.get(comp_id)
            subs.append({"kind": "competency", "code": comp_id, "label": name, "dimension": dim,
                         "score": None if r is None else _none(r["score"]), "max_score": 100,
                         "percentile": None if r is None else _none(r["percentile"]), "n_answers": 0 if r is None else int(r["n_answers"])})
        scored_comps = sum(1 for s in subs if s["kind"] == "competency" and s["score"] is not None)
        complete = cid not in self._unanswered and scored_comps == len(self._role_comps[role])
        completed_at = self._scored_at
        if self._completed_col and _none(cand.get(self._completed_col)) is not None:
            completed_at = to_cst(cand.get(self._completed_col))
        feedback = (self.tables.feedback or {}).get(cid)
        record = {
            "schema_version": SCHEMA_VERSION,
            "record_id": str(uuid.uuid5(RECORD_NAMESPACE, key)),
            "idempotency_key": key,
            "candidate_ref": candidate_ref,
            "application_id": p.application_id(cid, requisition),
            "requisition_id": requisition,
            "role_id": role,
            "batch": _nfc(batch),
            "assessment_id": assessment_id,
            "status": "completed" if complete else "incomplete",
            "completed_at": completed_at,
            "overall_score": _none(row["score"]),
            "max_score": 100,
            "recommendation": row["recommendation"],
            "sub_scores": subs,
            "rank": _none(row["rank"]),
            "population_size": int(row["population_size"]),
            "percentile": _none(row["percentile"]),
            "decision": row["decision"],
            "decided_by": row["decided_by"],
            "review_reasons": list(row["review_reasons"]),
            "advisories": list(row["advisories"]),
            "talent_pool_tags": [{"code": t["tag"], "rule": t["rule"]} for t in tags],
            "role_suggestions": [{"role_id": s["suggested_role_id"], "rank": int(s["rank"]), "reason": s["reason"], "competencies": list(s["competencies"])}
                                 for s in suggestions],
            "hiring_stage": row["hiring_stage"],
            "hiring_stage_updated_at": None,
            "candidate_feedback": feedback,
            **self._common,
        }
        if self.include_personal:
            personal: dict = {}
            if "candidate_id" in self.include_personal:
                personal["candidate_id"] = cid
            if "name" in self.include_personal:
                personal["name"] = _nfc(_none(cand.get("name")))
            if "demographics" in self.include_personal:
                personal["demographics"] = {c: _nfc(_none(cand.get(c))) for c in DEMOGRAPHIC_COLUMNS if c in cand}
            if "answers" in self.include_personal:
                personal["answers"] = [] if answers is None else [
                    {"question_id": str(a["question_id"]), "text": _nfc(_none(a.get("answer_text")))} for a in answers]
            record["personal_data"] = personal
        return record


def _group(frame: pd.DataFrame, ids: set) -> dict[str, list[dict]]:
    """Rows of ``frame`` whose candidate_id is in ``ids``, as plain dicts grouped by candidate."""
    out: dict[str, list[dict]] = {}
    part = frame[frame["candidate_id"].isin(ids)]
    for row in part.to_dict("records"):
        out.setdefault(str(row["candidate_id"]), []).append(row)
    return out


def content_sha256(record: dict) -> str:
    """Hash of what a record says about the candidate (provenance fields excluded): equal → nothing changed."""
    return sha256_json({k: v for k, v in record.items() if k not in PROVENANCE_FIELDS})
