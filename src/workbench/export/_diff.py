"""The data comparison table (数据对比表) between two export batches: per record and field, old → new.

Records are matched by application and assessment (candidate_ref, requisition_id, assessment_id), not by
idempotency key, so a re-scoring with a new model shows up as changed scores of the same interview. Fields that
only describe the export (record id, idempotency key, batch id, export time) are left out unless asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._tabular import escape
from ..i18n import t
from ._batch import iter_records, read_batch
from ._crypto import ExportKey

__all__ = ["BatchDiff", "diff_batches", "flatten_record"]

PROVENANCE = ("record_id", "idempotency_key", "export_batch_id", "exported_at")
# The same for every record of a batch: reported once per comparison, not once per record.
BATCH_LEVEL = ("schema_version", "source_run_id", "model.sha256", "model.version", "rubric_version", "dictionary_version",
               "competency_model_version", "rules_version", "decision_rule")
_MATCH = ("candidate_ref", "requisition_id", "assessment_id")


def flatten_record(record: dict) -> dict:
    """A record as field path → scalar: sub-scores by code, code lists joined with ``;``, objects as JSON."""
    out = {}
    for key, value in record.items():
        if key == "sub_scores":
            for s in value:
                out[f"sub_scores.{s['code']}.score"] = s.get("score")
                if s.get("percentile") is not None:
                    out[f"sub_scores.{s['code']}.percentile"] = s.get("percentile")
        elif key == "model":
            out["model.sha256"], out["model.version"] = value["sha256"], value["version"]
        elif key == "talent_pool_tags":
            out[key] = ";".join(tag["code"] for tag in value)
        elif key == "role_suggestions":
            out[key] = ";".join(s["role_id"] for s in value)
        elif key == "personal_data":
            for pk, pv in value.items():
                out[f"personal_data.{pk}"] = json.dumps(pv, ensure_ascii=False, sort_keys=True) if isinstance(pv, (dict, list)) else pv
        elif isinstance(value, list):
            out[key] = ";".join(map(str, value))
        elif isinstance(value, dict):
            out[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class BatchDiff:
    """``table``: one row per changed field of a matched record, plus one row per added or removed record.
    Columns: candidate_ref, requisition_id, assessment_id, change (changed / added / removed), field, old, new.
    ``batch_changes``: fields that are the same for every record of a batch (model, rule, versions): field, old, new."""

    batch_a: str
    batch_b: str
    table: pd.DataFrame
    summary: dict
    batch_changes: pd.DataFrame

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(c)}</th>" for c in self.table.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in self.table.head(500).itertuples(index=False))
        s = self.summary
        level = "".join(f"<li>{escape(r.field)}: {escape(r.old)} → {escape(r.new)}</li>" for r in self.batch_changes.itertuples())
        return (f"<div><p>{escape(t('export.diff.summary', a=self.batch_a, b=self.batch_b, **s))}</p>" + (f"<ul>{level}</ul>" if level else "") +
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _index(batch_dir: Path, key: ExportKey | None) -> dict[tuple, dict]:
    out = {}
    for record in iter_records(batch_dir, key=key):
        out[tuple(record[k] for k in _MATCH)] = flatten_record(record)
    return out


def diff_batches(batch_a: str | Path, batch_b: str | Path, *, include_provenance: bool = False, key: ExportKey | None = None) -> BatchDiff:
    """Compare batch A (old) with batch B (new). Both are verified against their manifests first."""
    a_dir, b_dir = Path(batch_a), Path(batch_b)
    a_id, b_id = read_batch(a_dir).batch_id, read_batch(b_dir).batch_id
    old, new = _index(a_dir, key), _index(b_dir, key)
    skip = set(_MATCH) | set(BATCH_LEVEL) | (set() if include_provenance else set(PROVENANCE))
    level_a, level_b = _batch_level(old), _batch_level(new)
    batch_changes = pd.DataFrame([{"field": f, "old": level_a.get(f), "new": level_b.get(f)} for f in BATCH_LEVEL if level_a.get(f) != level_b.get(f)],
                                 columns=["field", "old", "new"])
    rows = []
    changed_records = 0
    for match in sorted(old.keys() | new.keys()):
        ident = dict(zip(_MATCH, match))
        if match not in new:
            rows.append({**ident, "change": "removed", "field": None, "old": None, "new": None})
            continue
        if match not in old:
            rows.append({**ident, "change": "added", "field": None, "old": None, "new": None})
            continue
        a, b = old[match], new[match]
        fields = [f for f in sorted(a.keys() | b.keys()) if f not in skip and a.get(f) != b.get(f)]
        changed_records += bool(fields)
        rows += [{**ident, "change": "changed", "field": f, "old": a.get(f), "new": b.get(f)} for f in fields]
    table = pd.DataFrame(rows, columns=[*_MATCH, "change", "field", "old", "new"])
    matched = len(old.keys() & new.keys())
    summary = {"records_a": len(old), "records_b": len(new), "added": len(new.keys() - old.keys()), "removed": len(old.keys() - new.keys()),
               "changed": changed_records, "unchanged": matched - changed_records, "fields_changed": int((table["change"] == "changed").sum())}
    return BatchDiff(batch_a=a_id, batch_b=b_id, table=table, summary=summary, batch_changes=batch_changes)


def _batch_level(records: dict[tuple, dict]) -> dict:
    first = next(iter(records.values()), {})
    return {f: first.get(f) for f in BATCH_LEVEL}
