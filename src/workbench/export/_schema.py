"""The versioned JSON Schema of an exported record, shipped inside the package (``schema/candidate_record.v1.json``)."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from ..errors import DataError

__all__ = ["SCHEMA_VERSION", "SCHEMA_PATH", "record_schema", "schema_text", "validate_record", "record_validator"]

SCHEMA_VERSION = "1.0.0"
SCHEMA_PATH = Path(__file__).with_name("schema") / "candidate_record.v1.json"


def schema_text() -> str:
    """The schema file exactly as shipped (what ``workbench export schema`` prints)."""
    return SCHEMA_PATH.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def record_schema() -> dict:
    schema = json.loads(schema_text())
    if schema["properties"]["schema_version"]["const"] != SCHEMA_VERSION:
        raise RuntimeError(f"{SCHEMA_PATH} declares version {schema['properties']['schema_version']['const']}, the code expects {SCHEMA_VERSION}")
    return schema


@lru_cache(maxsize=1)
def record_validator():
    """A compiled Draft 2020-12 validator with format checks (uuid, date-time) switched on."""
    from jsonschema import Draft202012Validator

    schema = record_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# Records this process has already found valid, by the sha256 of their canonical JSON. Stage 06 validates each
# record when it writes the batch and again when the staging loader reads the batch back: a record whose JSON is
# byte-identical to one that passed passes again (jsonschema sees JSON values only), so the second check costs a
# hash instead of ~1 ms. Only plain JSON containers are remembered: a tuple serialises like a list but is no JSON
# array to the validator.
_VALID: set[bytes] = set()
_VALID_LIMIT = 1_000_000


def _fingerprint(record) -> bytes | None:
    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (str, int, float, bool)

    if not plain(record):
        return None
    text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).digest()


def validate_record(record: dict, *, where: str = "record") -> None:
    """Raise :class:`DataError` naming the record and the failing field if ``record`` does not match the schema."""
    fingerprint = _fingerprint(record)
    if fingerprint is not None and fingerprint in _VALID:
        return
    errors = sorted(record_validator().iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        ref = record.get("candidate_ref", "?") if isinstance(record, dict) else "?"
        raise DataError(f"{where} (candidate_ref {ref}) does not match schema {SCHEMA_VERSION} at {path}: {first.message}"
                        + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""))
    if fingerprint is not None:
        if len(_VALID) >= _VALID_LIMIT:  # a bound on memory in a long-lived process
            _VALID.clear()
        _VALID.add(fingerprint)
