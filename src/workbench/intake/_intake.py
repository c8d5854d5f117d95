"""The intake stage: find the input files, apply the contracts in dependency order, profile the result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._tabular import escape, write_csv_safe
from ..competency import CompetencyDictionary, load_dictionary
from ..errors import IntakeError
from .contracts import TABLE_ORDER, TABLES
from .profile import profile_table
from .readers import SUPPORTED_SUFFIXES, read_raw_table
from .validate import QUARANTINE_COLUMNS, TableResult, validate_table

__all__ = ["IntakeResult", "resolve_sources", "run_intake", "load_accepted"]


def resolve_sources(data_dir: str | Path, overrides: dict[str, str] | None = None) -> dict[str, Path]:
    """Map each table to a file: an explicit override, else ``<data_dir>/<table>.{csv,xlsx,parquet}``.

    A table with no file raises :class:`IntakeError` naming what was looked for.
    """
    data_dir = Path(data_dir)
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    unknown = set(overrides) - set(TABLES)
    if unknown:
        raise IntakeError(f"未知的输入表 / unknown table(s): {sorted(unknown)}; known: {list(TABLE_ORDER)}")
    sources: dict[str, Path] = {}
    for name in TABLE_ORDER:
        if name in overrides:
            sources[name] = Path(overrides[name])
            continue
        candidates = [data_dir / f"{name}{suffix}" for suffix in SUPPORTED_SUFFIXES]
        found = [p for p in candidates if p.is_file()]
        if not found:
            raise IntakeError(
                f"[{name}] 在 {data_dir} 中找不到输入文件（尝试了 {', '.join(p.name for p in candidates)}）"
                f" / no input file for table {name} in {data_dir}",
                file=str(candidates[0]),
            )
        if len(found) > 1:
            raise IntakeError(f"[{name}] {data_dir} 中有多个候选文件，无法确定用哪个：{[p.name for p in found]}", file=str(found[0]))
        sources[name] = found[0]
    return sources


def _row_checks(name: str, accepted: dict[str, pd.DataFrame], dictionary: CompetencyDictionary):
    if name == "questions":

        def check(df: pd.DataFrame):
            for idx, role, comp in zip(df.index, df["role_id"], df["competency_id"]):
                if role in dictionary.roles and comp in dictionary.competencies and comp not in dictionary.roles[role].competency_ids:
                    yield idx, "competency_id", "inconsistent", f"{comp} 不属于岗位 {role} 的胜任力模型"

        return check
    if name == "answers":
        q_role = dict(zip(accepted["questions"]["question_id"], accepted["questions"]["role_id"]))
        c_role = dict(zip(accepted["candidates"]["candidate_id"], accepted["candidates"]["role_id"]))

        def check(df: pd.DataFrame):
            texts = df["answer_text"].map(lambda v: v if isinstance(v, str) else "")
            for idx, status, text, cand, qid in zip(df.index, df["status"], texts, df["candidate_id"], df["question_id"]):
                if status == "answered" and not text.strip():
                    yield idx, "answer_text", "empty_answer", ""
                if cand in c_role and qid in q_role and c_role[cand] != q_role[qid]:
                    yield idx, "question_id", "inconsistent", f"题目属于岗位 {q_role[qid]}，候选人应聘 {c_role[cand]}"

        return check
    return None


@dataclass
class IntakeResult:
    """Validated tables, their quarantine and reconciliation counts. Displays itself in a notebook."""

    results: dict[str, TableResult]
    dictionary: CompetencyDictionary

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: r.accepted for name, r in self.results.items()}

    @property
    def quarantine(self) -> pd.DataFrame:
        frames = [r.quarantine for r in self.results.values() if len(r.quarantine)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=QUARANTINE_COLUMNS)

    def counts(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "table": name,
                    "title": r.contract.title,
                    "source_file": r.source_file,
                    "format": r.file_format,
                    "encoding": r.encoding or "",
                    "rows_in": r.rows_in,
                    "accepted": r.rows_accepted,
                    "quarantined": r.rows_quarantined,
                    "reconciled": r.reconciles,
                    "extra_columns": ", ".join(r.extra_columns),
                }
                for name, r in self.results.items()
            ]
        )

    @property
    def reconciled(self) -> bool:
        return all(r.reconciles for r in self.results.values())

    def profile(self, table: str) -> pd.DataFrame:
        return profile_table(self.results[table].accepted, TABLES[table])

    def metrics(self) -> dict:
        counts = self.counts()
        out: dict[str, float | int | bool] = {"reconciled": self.reconciled}
        for row in counts.itertuples():
            out[f"{row.table}.rows_in"] = int(row.rows_in)
            out[f"{row.table}.accepted"] = int(row.accepted)
            out[f"{row.table}.quarantined"] = int(row.quarantined)
        return out

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write accepted tables (Parquet), the quarantine (CSV, formulas neutralised) and the counts."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, r in self.results.items():
            written[name] = out_dir / f"{name}.parquet"
            r.accepted.to_parquet(written[name], index=False)
        written["quarantine"] = write_csv_safe(self.quarantine, out_dir / "quarantine.csv")
        written["counts"] = write_csv_safe(self.counts(), out_dir / "intake_counts.csv")
        (out_dir / "dictionary.json").write_text(
            json.dumps({"path": self.dictionary.path, "sha256": self.dictionary.sha256, "version": self.dictionary.version}, ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
        written["dictionary"] = out_dir / "dictionary.json"
        return written

    def _repr_html_(self) -> str:
        counts = self.counts()
        rows = []
        for r in counts.itertuples():
            ok = "✔" if r.reconciled else "✘"
            rows.append(
                f"<tr><td>{escape(r.title)}<br><code>{escape(r.table)}</code></td><td>{escape(Path(r.source_file).name)}</td>"
                f"<td>{escape(r.format)}{(' / ' + escape(r.encoding)) if r.encoding else ''}</td>"
                f"<td style='text-align:right'>{r.rows_in:,}</td><td style='text-align:right'>{r.accepted:,}</td>"
                f"<td style='text-align:right'>{r.quarantined:,}</td><td style='text-align:center'>{ok}</td></tr>"
            )
        status = "全部对账一致（读入 = 接收 + 隔离）" if self.reconciled else "存在对账不一致，请检查！"
        return (
            "<div class='wb-intake'><h3>数据接入对账</h3>"
            f"<p>{escape(status)}；胜任力词典版本 {escape(self.dictionary.version)}，"
            f"{len(self.dictionary.roles)} 个岗位、{len(self.dictionary.competencies)} 项胜任力。</p>"
            "<table><thead><tr><th>数据表</th><th>文件</th><th>格式/编码</th><th>读入行数</th><th>接收</th><th>隔离</th><th>对账</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )


def run_intake(sources: dict[str, Path], *, dictionary: CompetencyDictionary | None = None, progress=None) -> IntakeResult:
    """Read and validate every table in dependency order (foreign keys point at accepted parent rows)."""
    dictionary = dictionary or load_dictionary()
    references: dict[str, set[str]] = {
        "dictionary.roles.id": set(dictionary.roles),
        "dictionary.competencies.id": set(dictionary.competencies),
    }
    results: dict[str, TableResult] = {}
    accepted: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        raw = read_raw_table(sources[name], table=name)
        result = validate_table(raw, TABLES[name], references=references, row_check=_row_checks(name, accepted, dictionary))
        results[name] = result
        accepted[name] = result.accepted
        for col in TABLES[name].key:
            if len(TABLES[name].key) == 1:
                references[f"{name}.{col}"] = set(result.accepted[col].dropna().astype(str))
        if progress is not None:
            progress(name)
    return IntakeResult(results=results, dictionary=dictionary)


def load_accepted(intake_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the accepted tables an intake stage wrote (for downstream stages)."""
    intake_dir = Path(intake_dir)
    return {name: pd.read_parquet(intake_dir / f"{name}.parquet") for name in TABLE_ORDER}
