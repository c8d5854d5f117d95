"""One export batch: decide, build records, write every format atomically, encrypt on request, write the manifest.

    batch = build_export_batch(run_dir)                  # or RunTables; files under <run>/artifacts/06_export/batches/<batch_id>/
    batch.counts          {'candidates_in': 300, 'records_out': 297, 'held_back': 3, …}
    for record in iter_records(batch.path): …            # verified against the manifest (and decrypted) on the way

A batch directory appears under its final name only when complete: files are written into a hidden
``.<batch_id>.partial-<pid>`` directory that is renamed at the end, so an export killed mid-way leaves no partial
file under a final name, and running it again (same inputs → same batch id) finishes the job. Exporting an
existing batch again returns it unchanged after checking its files against the manifest.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .._hashing import sha256_file, sha256_json
from .._tabular import escape
from ..decisions import DecisionRule, Decisions, make_decisions
from ..decisions._profile import load_rules
from ..errors import ConfigurationError, DataError, IntegrityError
from ..i18n import t
from ._crypto import ExportKey, encrypt_file, is_encrypted, iter_decrypted
from ._pseudonym import Pseudonymizer
from ._records import PERSONAL_FIELDS, RecordBuilder, RunTables, flat_columns, flatten, load_run_tables, to_cst
from ._schema import SCHEMA_PATH, SCHEMA_VERSION, validate_record
from ._writers import CSV_ENCODINGS, FILE_NAMES, FORMATS, BatchFileWriter, write_small_csv

__all__ = ["ExportConfig", "ExportBatch", "build_export_batch", "read_batch", "iter_records", "verify_batch", "default_batches_dir", "MANIFEST"]

MANIFEST = "manifest.json"
HELD_BACK = "held_back.csv"


@dataclass(frozen=True, kw_only=True)
class ExportConfig:
    """What an export contains and how it is written. Personal data only when listed in ``include_personal``
    (any of ``candidate_id``, ``name``, ``demographics``, ``answers``); minimum necessary data otherwise."""

    rule: DecisionRule = field(default_factory=DecisionRule)
    pass_threshold: float = 0.3
    min_population: int = 10
    formats: tuple[str, ...] = FORMATS
    csv_encoding: str = "utf-8"
    encrypt: bool = False
    include_personal: tuple[str, ...] = ()
    requisitions: Mapping[str, str] = field(default_factory=dict)
    chunk_size: int = 5000
    rules_path: str | None = None

    def __post_init__(self) -> None:
        bad = [p for p in self.include_personal if p not in PERSONAL_FIELDS]
        if bad:
            raise ConfigurationError(f"include_personal accepts {', '.join(PERSONAL_FIELDS)}; got {bad}")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise ConfigurationError(f"unknown export format(s) {unknown}; choose from {', '.join(FORMATS)}")
        if self.csv_encoding not in CSV_ENCODINGS:
            raise ConfigurationError(f"csv_encoding must be one of {', '.join(CSV_ENCODINGS)} (never gbk: it cannot encode names such as 䶮 or 𠀀), "
                                     f"got {self.csv_encoding!r}")
        if "jsonl" not in self.formats:
            raise ConfigurationError("formats must include 'jsonl': it is the validated master copy that `export load` and `export diff` read")
        if self.chunk_size < 1:
            raise ConfigurationError(f"chunk_size must be positive, got {self.chunk_size}")

    def fingerprint(self) -> dict:
        return {"rule": self.rule.as_dict(), "pass_threshold": self.pass_threshold, "min_population": self.min_population,
                "formats": sorted(self.formats), "csv_encoding": self.csv_encoding, "encrypt": self.encrypt,
                "include_personal": sorted(self.include_personal), "requisitions": dict(sorted(self.requisitions.items()))}


@dataclass(frozen=True)
class ExportBatch:
    """A written batch: its directory, manifest and (when just built) the decisions behind it."""

    batch_id: str
    path: Path
    manifest: dict
    decisions: Decisions | None = field(default=None, repr=False)
    reused: bool = False

    @property
    def counts(self) -> dict:
        return dict(self.manifest["counts"])

    @property
    def encrypted(self) -> bool:
        return self.manifest.get("encryption") is not None

    def files(self) -> pd.DataFrame:
        return pd.DataFrame(self.manifest["files"])

    def held_back(self, key: ExportKey | None = None) -> pd.DataFrame:
        entry = _file_entry(self.manifest, "held_back")
        path = self.path / entry["name"]
        if entry.get("encrypted"):
            import io

            data = b"".join(iter_decrypted(path, key or ExportKey.from_env(), expected={"batch_id": self.batch_id}))
            return pd.read_csv(io.BytesIO(data), encoding=entry["encoding"], dtype=str, keep_default_na=False)
        return pd.read_csv(path, encoding=entry["encoding"], dtype=str, keep_default_na=False)

    def records(self, key: ExportKey | None = None) -> Iterator[dict]:
        return iter_records(self.path, key=key)

    def _repr_html_(self) -> str:
        c = self.counts
        rows = "".join(f"<tr><td>{escape(f['name'])}</td><td>{escape(f.get('rows', ''))}</td><td>{escape(f['bytes'])}</td><td><code>{escape(f['sha256'][:16])}…</code></td></tr>"
                       for f in self.manifest["files"])
        return (f"<div><p>{escape(t('export.repr.batch', batch_id=self.batch_id, records=c['records_out'], held=c['held_back'], total=c['candidates_in']))}</p>"
                f"<table><thead><tr><th>{escape(t('export.repr.file'))}</th><th>{escape(t('export.repr.rows'))}</th><th>{escape(t('export.repr.bytes'))}</th>"
                f"<th>sha256</th></tr></thead><tbody>{rows}</tbody></table></div>")


def default_batches_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "artifacts" / "06_export" / "batches"


def _file_entry(manifest: dict, kind: str) -> dict:
    for entry in manifest["files"]:
        if entry["kind"] == kind:
            return entry
    raise DataError(f"batch {manifest.get('batch_id')} has no {kind} file")


def _now_cst() -> str:
    return to_cst(datetime.now(timezone.utc))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _batch_lock(out_dir: Path, batch_id: str):
    """One writer per batch id; the lock disappears with the process, so a killed export never blocks the re-run."""
    lock_path = out_dir / f".{batch_id}.lock"
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(f"batch {batch_id} is being exported by another process right now; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_export_batch(
    source: RunTables | str | Path,
    out_dir: str | Path | None = None,
    *,
    config: ExportConfig | None = None,
    decisions: Decisions | None = None,
    review_requested=None,
    pseudonymizer: Pseudonymizer | None = None,
    export_key: ExportKey | None = None,
) -> ExportBatch:
    """Decide (unless ``decisions`` are given), build and write one export batch; return it.

    ``source`` is a run directory or :class:`RunTables`. ``out_dir`` defaults to the run's
    ``artifacts/06_export/batches``. Keys come from the environment (``WORKBENCH_PSEUDONYM_KEY``, and
    ``WORKBENCH_EXPORT_KEY`` / ``WORKBENCH_EXPORT_KEY_FILE`` when ``config.encrypt``) unless passed as objects.
    """
    config = config or ExportConfig()
    tables = source if isinstance(source, RunTables) else load_run_tables(source)
    if out_dir is None:
        if tables.run_dir is None:
            raise ConfigurationError("out_dir is required when the tables do not come from a run directory")
        out_dir = default_batches_dir(tables.run_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pseudonymizer = pseudonymizer or Pseudonymizer.from_env()
    if config.encrypt:
        export_key = export_key or ExportKey.from_env()
    rules = load_rules(config.rules_path)
    if decisions is not None and (decisions.rule != config.rule or decisions.rules_version != rules.version):
        raise ConfigurationError("the decisions were made with another rule than config.rule (or other talent rules); "
                                 "pass the same DecisionRule to make_decisions and ExportConfig, or leave decisions out")
    if decisions is None:
        decisions = make_decisions(
            tables.candidate_scores, tables.answer_scores, candidates=tables.candidates, dictionary=tables.dictionary,
            competency_model=tables.competency_model, rule=config.rule, rules=rules, review_requested=review_requested,
            pass_threshold=config.pass_threshold, min_population=config.min_population,
        )
    identity = {
        "schema_version": SCHEMA_VERSION, "run_id": tables.run_id, "model_sha256": tables.model_sha256, "rubric": tables.rubric_version,
        "dictionary": tables.dictionary_version, "rules": decisions.rules_version, "config": config.fingerprint(),
        "decisions": sha256_json(decisions.candidates[["candidate_id", "decision", "review_reasons"]].astype(str).values.tolist()),
        "data": _tables_fingerprint(tables, config),
        "feedback": sha256_json(dict(tables.feedback or {})), "pseudonym_key_id": pseudonymizer.key_id,
        "export_key_id": export_key.key_id if config.encrypt else None,
    }
    safe_run = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in tables.run_id)[:80]
    batch_id = f"eb-{safe_run}-{sha256_json(identity)[:10]}"
    final = out_dir / batch_id
    with _batch_lock(out_dir, batch_id):
        if final.exists():
            batch = read_batch(final)
            verify_batch(final)
            return ExportBatch(batch_id=batch_id, path=final, manifest=batch.manifest, decisions=decisions, reused=True)
        for stale in out_dir.glob(f".{batch_id}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by an export that was killed: start it again
        partial = out_dir / f".{batch_id}.partial-{os.getpid()}"
        partial.mkdir(mode=0o700)
        try:
            manifest = _write_batch(partial, tables, decisions, config, batch_id, pseudonymizer, export_key, identity)
            _fsync_dir(partial)
            os.rename(partial, final)
            _fsync_dir(out_dir)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return ExportBatch(batch_id=batch_id, path=final, manifest=manifest, decisions=decisions)


def _tables_fingerprint(tables: RunTables, config: ExportConfig) -> str:
    """Content hash of the tables a batch is made from (so changed inputs under the same run id are a new batch)."""
    frames = {"candidate_scores": tables.candidate_scores, "candidates": tables.candidates, "answer_scores": tables.answer_scores}
    if "answers" in config.include_personal and tables.answers is not None:
        frames["answers"] = tables.answers
    digests = []
    for name, frame in frames.items():
        try:
            digests.append(int(pd.util.hash_pandas_object(frame.astype(str), index=False).sum().item()) % (1 << 63))
        except UnicodeEncodeError:
            raise _invalid_text(name, frame) from None
    return sha256_json(digests)


def _invalid_text(name: str, frame: pd.DataFrame) -> DataError:
    """Name the first cell that is not valid Unicode (a lone surrogate): no file format can hold it."""
    for col in frame.columns:
        for row, value in enumerate(frame[col].tolist(), start=1):
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as exc:
                    return DataError(f"{name}: row {row} column {col!r} holds text that is not valid Unicode "
                                     f"(U+{ord(value[exc.start]):04X}); the export refuses to replace characters. Fix the source value")
    return DataError(f"{name}: holds text that is not valid Unicode")


def _write_batch(directory: Path, tables: RunTables, decisions: Decisions, config: ExportConfig, batch_id: str,
                 pseudonymizer: Pseudonymizer, export_key: ExportKey | None, identity: dict) -> dict:
    exported_at = _now_cst()
    builder = RecordBuilder(tables, decisions, pseudonymizer=pseudonymizer, batch_id=batch_id, exported_at=exported_at,
                            include_personal=config.include_personal, requisitions=config.requisitions)
    export, held = builder.partition()
    columns = flat_columns(tables.dictionary, config.include_personal)
    writer = BatchFileWriter(directory, formats=config.formats, columns=columns, csv_encoding=config.csv_encoding)
    tally: dict[str, int] = {}
    try:
        for chunk in builder.iter_chunks(export, config.chunk_size):
            for i, record in enumerate(chunk):
                validate_record(record, where=f"record {writer.rows + i + 1}")
                tally[record["decision"]] = tally.get(record["decision"], 0) + 1
            writer.write(chunk, [flatten(r, columns) for r in chunk])
        writer.close()
    except BaseException:
        writer.abort()
        raise
    encoding = writer.csv_encoding
    write_small_csv(builder.held_back_rows(held), directory / HELD_BACK, encoding=encoding)
    candidates_in = len(tables.candidates)
    counts = {
        "candidates_in": candidates_in, "records_out": writer.rows, "held_back": len(held),
        "held_back_by_reason": {str(k): int(v) for k, v in held["reason"].value_counts().sort_index().items()},
        "decisions": dict(sorted(tally.items())), "funnel_alerts": len(decisions.alerts),
    }
    counts["reconciled"] = counts["records_out"] + counts["held_back"] == candidates_in
    if not counts["reconciled"]:
        raise IntegrityError(f"export counts do not reconcile: {candidates_in} candidates in, {writer.rows} records out, {len(held)} held back")
    files = []
    kinds = [(fmt, FILE_NAMES[fmt], writer.rows) for fmt in config.formats] + [("held_back", HELD_BACK, len(held))]
    for kind, name, rows in kinds:
        plain = directory / name
        entry = {"kind": kind, "format": "csv" if kind == "held_back" else kind, "rows": int(rows), "plaintext_sha256": sha256_file(plain)}
        if kind in ("csv", "held_back"):
            entry["encoding"] = encoding
        if export_key is not None:
            metadata = {"batch_id": batch_id, "file": name, "format": entry["format"], "schema_version": SCHEMA_VERSION, "source_run_id": tables.run_id}
            encrypt_file(plain, directory / f"{name}.enc", export_key, metadata=metadata)
            plain.unlink()
            name = f"{name}.enc"
        path = directory / name
        os.chmod(path, 0o600)
        files.append({"name": name, **entry, "encrypted": export_key is not None, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    shutil.copyfile(SCHEMA_PATH, directory / "schema.json")
    files.append({"kind": "schema", "name": "schema.json", "format": "json-schema", "encrypted": False,
                  "bytes": (directory / "schema.json").stat().st_size, "sha256": sha256_file(directory / "schema.json")})
    manifest = {
        "manifest_version": 1,
        "batch_id": batch_id,
        "schema_version": SCHEMA_VERSION,
        "exported_at": exported_at,
        "source": {"run_id": tables.run_id, "model": {"sha256": tables.model_sha256, "version": tables.model_version},
                   "rubric_version": tables.rubric_version, "dictionary_version": tables.dictionary_version,
                   "competency_model_version": tables.competency_model_version, "rules_version": decisions.rules_version,
                   "inputs": {k: sha256_file(p) for k, p in sorted(tables.inputs.items())}},
        "config": config.fingerprint(),
        "pseudonym_key_id": pseudonymizer.key_id,
        "encryption": None if export_key is None else {"alg": "AES-256-GCM", "container": "WBXENC1", "key_id": export_key.key_id},
        "counts": counts,
        "files": files,
        "identity_sha256": sha256_json(identity),
    }
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)
    return manifest


def read_batch(path: str | Path) -> ExportBatch:
    """Open a batch directory by its manifest (no decisions attached)."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{path} is not an export batch (no {MANIFEST}); an interrupted export leaves only a hidden .partial directory — run the export again")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"{manifest_path} is damaged: {exc}") from None
    return ExportBatch(batch_id=manifest["batch_id"], path=path, manifest=manifest)


def verify_batch(path: str | Path) -> ExportBatch:
    """Check every file of a batch against the sha256 in its manifest; raise :class:`IntegrityError` naming the first mismatch."""
    batch = read_batch(path)
    for entry in batch.manifest["files"]:
        file = batch.path / entry["name"]
        if not file.is_file():
            raise IntegrityError(f"batch {batch.batch_id}: {entry['name']} is missing")
        if sha256_file(file) != entry["sha256"]:
            raise IntegrityError(f"batch {batch.batch_id}: {entry['name']} does not match its manifest (sha256); it was modified or replaced — do not load it")
    return batch


def iter_records(path: str | Path, *, key: ExportKey | None = None, verify: bool = True) -> Iterator[dict]:
    """The records of a batch from its JSON Lines master copy, decrypted if needed, after checking its sha256."""
    batch = verify_batch(path) if verify else read_batch(path)
    entry = _file_entry(batch.manifest, "jsonl")
    file = batch.path / entry["name"]
    if entry.get("encrypted") or is_encrypted(file):
        key = key or ExportKey.from_env()
        pending = b""
        for block in iter_decrypted(file, key, expected={"batch_id": batch.batch_id}):
            pending += block
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line:
                    yield json.loads(line)
        if pending.strip():
            yield json.loads(pending)
        return
    with open(file, "rb") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
