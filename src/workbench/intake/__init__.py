"""Intake: read the input tables, apply the data contracts, quarantine bad rows, profile the rest.

Example::

    from workbench.intake import resolve_sources, run_intake
    result = run_intake(resolve_sources("data/my_bank"))
    result.counts()        # rows in = accepted + quarantined, per table
    result.quarantine      # one row per problem: file, row, column, value, reason (中文)
"""

from ._intake import IntakeResult, load_accepted, resolve_sources, run_intake
from .contracts import TABLE_ORDER, TABLES, ColumnSpec, TableContract, contracts_markdown
from .readers import detect_encoding, read_raw_table
from .validate import QUARANTINE_COLUMNS, TableResult, validate_table

__all__ = [
    "QUARANTINE_COLUMNS",
    "TABLES",
    "TABLE_ORDER",
    "ColumnSpec",
    "IntakeResult",
    "TableContract",
    "TableResult",
    "contracts_markdown",
    "detect_encoding",
    "load_accepted",
    "read_raw_table",
    "resolve_sources",
    "run_intake",
    "validate_table",
]
