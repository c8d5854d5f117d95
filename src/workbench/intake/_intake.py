"""The intake stage: find the input files, apply the contracts in dependency order, profile the result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._tabular import escape, write_csv_safe
from ..competency import CompetencyDictionary, load_dictionary
from ..errors import IntakeError
from ..i18n import resolve_lang, t
from .contracts import OPTIONAL_TABLES, TABLE_ORDER, TABLES, is_blank
from .profile import profile_table
from .readers import SUPPORTED_SUFFIXES, read_raw_table
from .validate import QUARANTINE_COLUMNS, TableResult, validate_table

__all__ = ["IntakeResult", "contract_of", "resolve_sources", "run_intake", "load_accepted"]


def resolve_sources(data_dir: str | Path, overrides: dict[str, str] | None = None) -> dict[str, Path]:
    """Map each table to a file: an explicit override, else ``<data_dir>/<table>.{csv,xlsx,parquet}``.

    A required table with no file raises :class:`IntakeError` naming what was looked for; an optional table
    (``OPTIONAL_TABLES``: outcomes, wecom_recipients) is included when its file exists.
    """
    data_dir = Path(data_dir)
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    unknown = set(overrides) - set(TABLES) - set(OPTIONAL_TABLES)
    if unknown:
        raise IntakeError(t("intake.error.unknown_table", tables=sorted(unknown), known=list(TABLE_ORDER)), code="unknown_table")
    sources: dict[str, Path] = {}
    for name in TABLE_ORDER:
        if name in overrides:
            sources[name] = Path(overrides[name])
            continue
        candidates = [data_dir / f"{name}{suffix}" for suffix in SUPPORTED_SUFFIXES]
        found = [p for p in candidates if p.is_file()]
        if not found:
            raise IntakeError(
                t("intake.error.no_source", table=name, folder=data_dir, tried=", ".join(p.name for p in candidates)),
                file=str(candidates[0]), code="no_source",
            )
        if len(found) > 1:
            raise IntakeError(
                t("intake.error.ambiguous_source", table=name, folder=data_dir, found=", ".join(p.name for p in found)),
                file=str(found[0]), code="ambiguous_source",
            )
        sources[name] = found[0]
    for name in OPTIONAL_TABLES:
        if name in overrides:
            sources[name] = Path(overrides[name])
            continue
        found = [data_dir / f"{name}{suffix}" for suffix in SUPPORTED_SUFFIXES if (data_dir / f"{name}{suffix}").is_file()]
        if len(found) > 1:
            raise IntakeError(
                t("intake.error.ambiguous_source", table=name, folder=data_dir, found=", ".join(p.name for p in found)),
                file=str(found[0]), code="ambiguous_source",
            )
        if found:
            sources[name] = found[0]
    return sources


def contract_of(name: str):
    """The contract of a required or optional table."""
    return TABLES[name] if name in TABLES else OPTIONAL_TABLES[name]


def _row_checks(name: str, accepted: dict[str, pd.DataFrame], dictionary: CompetencyDictionary):
    if name == "questions":

        def check(df: pd.DataFrame):
            for idx, role, comp in zip(df.index, df["role_id"], df["competency_id"]):
                if role in dictionary.roles and comp in dictionary.competencies and comp not in dictionary.roles[role].competency_ids:
                    yield idx, "competency_id", "inconsistent", ("intake.detail.not_in_role_model", {"competency": comp, "role": role})

        return check
    if name == "answers":
        q_role = dict(zip(accepted["questions"]["question_id"], accepted["questions"]["role_id"]))
        c_role = dict(zip(accepted["candidates"]["candidate_id"], accepted["candidates"]["role_id"]))

        def check(df: pd.DataFrame):
            texts = df["answer_text"].map(lambda v: v if isinstance(v, str) else None)
            for idx, status, text, cand, qid in zip(df.index, df["status"], texts, df["candidate_id"], df["question_id"]):
                if status == "answered" and is_blank(text):  # invisible-only answers (U+200B, U+FEFF …) are blank too
                    yield idx, "answer_text", "empty_answer", None
                if cand in c_role and qid in q_role and c_role[cand] != q_role[qid]:
                    yield idx, "question_id", "inconsistent", (
                        "intake.detail.role_mismatch", {"question_role": q_role[qid], "candidate_role": c_role[cand]})

        return check
    return None


@dataclass
class IntakeResult:
    """Validated tables, their quarantine and reconciliation counts. Displays itself in a notebook."""

    results: dict[str, TableResult]
    dictionary: CompetencyDictionary
    lang: str = "zh"

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
                    "lines_in": r.lines_in,
                    "blank_rows": r.read_counts.blank_records,
                    "rows_in": r.rows_in,
                    "accepted": r.rows_accepted,
                    "quarantined": r.rows_quarantined,
                    "reconciled": r.reconciles and r.read_counts.reconciles,
                    "extra_columns": ", ".join(r.extra_columns),
                }
                for name, r in self.results.items()
            ]
        )

    @property
    def reconciled(self) -> bool:
        """rows in = accepted + quarantined for every table, and every physical line of every file is accounted for."""
        return all(r.reconciles and r.read_counts.reconciles for r in self.results.values())

    def profile(self, table: str, lang: str | None = None) -> pd.DataFrame:
        return profile_table(self.results[table].accepted, contract_of(table), lang)

    def metrics(self) -> dict:
        counts = self.counts()
        out: dict[str, float | int | bool] = {"reconciled": self.reconciled}
        for row in counts.itertuples():
            out[f"{row.table}.rows_in"] = int(row.rows_in)
            if pd.notna(row.lines_in):
                out[f"{row.table}.lines_in"] = int(row.lines_in)
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
        lang = self.lang
        counts = self.counts()
        rows = []
        for r in counts.itertuples():
            ok = "✔" if r.reconciled else "✘"
            lines = f"{int(r.lines_in):,}" if pd.notna(r.lines_in) else "—"
            rows.append(
                f"<tr><td>{escape(r.title)}<br><code>{escape(r.table)}</code></td><td>{escape(Path(r.source_file).name)}</td>"
                f"<td>{escape(r.format)}{(' / ' + escape(r.encoding)) if r.encoding else ''}</td>"
                f"<td style='text-align:right'>{lines}</td><td style='text-align:right'>{r.blank_rows:,}</td>"
                f"<td style='text-align:right'>{r.rows_in:,}</td><td style='text-align:right'>{r.accepted:,}</td>"
                f"<td style='text-align:right'>{r.quarantined:,}</td><td style='text-align:center'>{ok}</td></tr>"
            )
        status = t("intake.report.reconciled" if self.reconciled else "intake.report.not_reconciled", lang)
        dictionary = t("intake.report.dictionary", lang, version=self.dictionary.version, roles=len(self.dictionary.roles),
                       competencies=len(self.dictionary.competencies))
        head = "".join(f"<th>{escape(t(f'intake.report.{k}', lang))}</th>" for k in
                       ("table", "file", "format", "lines_in", "blank_rows", "rows_in", "accepted", "quarantined", "check"))
        return (
            f"<div class='wb-intake'><h3>{escape(t('intake.report.title', lang))}</h3>"
            f"<p>{escape(status)} {escape(dictionary)}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )


def run_intake(
    sources: dict[str, Path], *, dictionary: CompetencyDictionary | None = None, progress=None, lang: str | None = None
) -> IntakeResult:
    """Read and validate every table in dependency order (foreign keys point at accepted parent rows).

    ``lang`` is the language of the quarantine's ``reason`` column and of the report (default: the current one).
    """
    lang = resolve_lang(lang)
    dictionary = dictionary or load_dictionary()
    references: dict[str, set[str]] = {
        "dictionary.roles.id": set(dictionary.roles),
        "dictionary.competencies.id": set(dictionary.competencies),
    }
    results: dict[str, TableResult] = {}
    accepted: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        raw = read_raw_table(sources[name], table=name, single_line_columns=TABLES[name].single_line_columns)
        result = validate_table(raw, TABLES[name], references=references, row_check=_row_checks(name, accepted, dictionary), lang=lang)
        results[name] = result
        accepted[name] = result.accepted
        for col in TABLES[name].key:
            if len(TABLES[name].key) == 1:
                references[f"{name}.{col}"] = set(result.accepted[col].dropna().astype(str))
        if progress is not None:
            progress(name)
    for name in OPTIONAL_TABLES:  # after the required tables, whose keys they reference
        if name not in sources:
            continue
        contract = OPTIONAL_TABLES[name]
        raw = read_raw_table(sources[name], table=name, single_line_columns=contract.single_line_columns)
        results[name] = validate_table(raw, contract, references=references, lang=lang)
        if progress is not None:
            progress(name)
    return IntakeResult(results=results, dictionary=dictionary, lang=lang)


def load_accepted(intake_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the accepted tables an intake stage wrote (for downstream stages), optional ones when present."""
    intake_dir = Path(intake_dir)
    names = [*TABLE_ORDER, *(n for n in OPTIONAL_TABLES if (intake_dir / f"{n}.parquet").is_file())]
    return {name: pd.read_parquet(intake_dir / f"{name}.parquet") for name in names}
