"""Scored candidate records for the bank's EHR: schema, export batches, staging tables, security.

    build_export_batch(run_dir_or_tables, out_dir, config=ExportConfig(...)) → ExportBatch
    run_tables_from_context(ctx) / load_run_tables(run_dir)   what an export reads from a run (stage 06 / the CLI)
    load_batch(batch_dir, url)                      idempotent upsert into staging tables (one transaction)
    rollback_batch(batch_id, url)                   remove one batch, restoring exactly what it replaced
    reexport_records(url, candidate_refs, changes)  move hiring stages in the staging tables
    reexport_stage_changes(changes, db=url)          the same for the stage changes WeCom events applied
    staging_funnel(url) / current_records(url)      the funnel and alerts of the stages as they stand in the staging tables
    diff_batches(batch_a, batch_b)                  the data comparison table, per record and field: old → new
    record_schema() / schema_text()                 the versioned JSON Schema shipped with the package
"""

from ._batch import ExportBatch, ExportConfig, build_export_batch, default_batches_dir, iter_records, read_batch, verify_batch
from ._crypto import ExportKey, decrypt_file, encrypt_file, read_header
from ._diff import BatchDiff, diff_batches
from ._events import reexport_stage_changes
from ._pseudonym import PSEUDONYM_KEY_ENV, Pseudonymizer, RunPseudonymizer, pseudonymizer_for_run
from ._records import RunTables, load_run_tables, run_tables_from_context
from ._schema import SCHEMA_VERSION, record_schema, schema_text, validate_record
from ._staging import (
    LoadResult,
    StageUpdateResult,
    current_records,
    default_staging_url,
    load_batch,
    read_staging,
    reexport_records,
    requested_review_refs,
    rollback_batch,
    staging_funnel,
)

__all__ = [
    "PSEUDONYM_KEY_ENV",
    "SCHEMA_VERSION",
    "BatchDiff",
    "ExportBatch",
    "ExportConfig",
    "ExportKey",
    "LoadResult",
    "Pseudonymizer",
    "RunPseudonymizer",
    "RunTables",
    "StageUpdateResult",
    "build_export_batch",
    "reexport_stage_changes",
    "current_records",
    "decrypt_file",
    "default_batches_dir",
    "default_staging_url",
    "diff_batches",
    "encrypt_file",
    "iter_records",
    "load_batch",
    "load_run_tables",
    "pseudonymizer_for_run",
    "read_batch",
    "read_header",
    "read_staging",
    "record_schema",
    "reexport_records",
    "requested_review_refs",
    "rollback_batch",
    "run_tables_from_context",
    "schema_text",
    "staging_funnel",
    "validate_record",
    "verify_batch",
]
