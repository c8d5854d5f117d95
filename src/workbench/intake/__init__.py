"""Intake: read the input tables, apply the data contracts, quarantine bad rows, profile the rest.

Example::

    from workbench.intake import resolve_sources, run_intake
    result = run_intake(resolve_sources("data/my_bank"))
    result.counts()        # rows in = accepted + quarantined, per table
    result.quarantine      # one row per problem: file, row, line, column, value, reason code, reason

The reader (``open_table`` / ``read_raw_table``), the quarantine format (``QUARANTINE_COLUMNS``) and the safe CSV
writer (``workbench._tabular.write_csv_safe``) are shared by every entry point that reads tables.
"""

from ._intake import IntakeResult, load_accepted, resolve_sources, run_intake
from .contracts import TABLE_ORDER, TABLES, ColumnSpec, TableContract, contracts_markdown
from .readers import RawChunk, RawProblem, RawTable, ReadCounts, TableStream, detect_encoding, open_table, read_raw_table
from .validate import QUARANTINE_COLUMNS, TableResult, reason_text, validate_table

__all__ = [
    "QUARANTINE_COLUMNS",
    "TABLES",
    "TABLE_ORDER",
    "ColumnSpec",
    "IntakeResult",
    "RawChunk",
    "RawProblem",
    "RawTable",
    "ReadCounts",
    "TableStream",
    "TableContract",
    "TableResult",
    "contracts_markdown",
    "detect_encoding",
    "load_accepted",
    "open_table",
    "read_raw_table",
    "reason_text",
    "resolve_sources",
    "run_intake",
    "validate_table",
]
