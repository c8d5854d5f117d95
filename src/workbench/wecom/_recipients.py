"""Who receives what: recruiters from the optional ``wecom_recipients`` intake table, candidates by their
``wecom_external_userid``. A missing mapping is reported with a reason code, never filled in by guessing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._tabular import escape
from ..intake.contracts import OPTIONAL_TABLES
from ..intake.readers import SUPPORTED_SUFFIXES, read_raw_table
from ..intake.validate import QUARANTINE_COLUMNS, validate_table

__all__ = ["RecipientDirectory", "USERID_RE", "load_recipients"]

CONTRACT = OPTIONAL_TABLES["wecom_recipients"]
# WeCom member userids: 1–64 characters of letters, digits and _ - @ . (WeCom lower-cases them in responses)
USERID_RE = re.compile(r"^[0-9A-Za-z_\-@.]{1,64}$")
_COLUMNS = ["role_id", "site", "requisition_id", "wecom_userid", "recruiter_name"]


def _blank(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class RecipientDirectory:
    """Recruiter mappings, most specific match first: requisition > role + site > role (all sites).

    Several recruiters at the same level all receive the message. ``quarantine`` lists rows that were not
    accepted (bad userid, unknown role, duplicates), in the intake quarantine's columns.

    >>> d = RecipientDirectory.from_frame(pd.DataFrame({"role_id": ["teller"], "wecom_userid": ["hr_li"]}))
    >>> d.recruiters_for("teller", site="北京分行")
    ('hr_li',)
    """

    mappings: pd.DataFrame
    quarantine: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUARANTINE_COLUMNS))
    rows_in: int = 0
    # answers per (role, site, requisition): a batch asks the same few questions thousands of times
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "RecipientDirectory":
        data = frame.reindex(columns=_COLUMNS)
        data = pd.DataFrame({c: [_blank(v) for v in data[c]] for c in _COLUMNS}, dtype=object)
        bad = data["role_id"].isna() | data["wecom_userid"].isna() | ~data["wecom_userid"].fillna("").map(lambda u: bool(USERID_RE.match(u)))
        if bad.any():
            rows = data.index[bad].tolist()
            raise ValueError(f"wecom_recipients rows {rows} lack role_id / wecom_userid or have an invalid userid; use load_recipients() for files")
        return cls(mappings=data.drop_duplicates(["role_id", "site", "requisition_id", "wecom_userid"]).reset_index(drop=True), rows_in=len(data))

    @property
    def reconciled(self) -> bool:
        quarantined = int(self.quarantine["row"].nunique()) if len(self.quarantine) else 0
        return self.rows_in == len(self.mappings) + quarantined

    def recruiters_for(self, role_id: str, *, site: str | None = None, requisition_id: str | None = None) -> tuple[str, ...]:
        key = (role_id, site, requisition_id)
        if key not in self._memo:
            self._memo[key] = self._lookup(role_id, site, requisition_id)
        return self._memo[key]

    def _lookup(self, role_id: str, site: str | None, requisition_id: str | None) -> tuple[str, ...]:
        m = self.mappings
        if requisition_id:
            hit = m[(m["requisition_id"] == requisition_id) & ((m["role_id"] == role_id))]
            if len(hit):
                return tuple(dict.fromkeys(hit["wecom_userid"]))
        generic = m[(m["role_id"] == role_id) & m["requisition_id"].isna()]
        if site:
            hit = generic[generic["site"] == site]
            if len(hit):
                return tuple(dict.fromkeys(hit["wecom_userid"]))
        hit = generic[generic["site"].isna()]
        return tuple(dict.fromkeys(hit["wecom_userid"]))

    def _repr_html_(self) -> str:
        return (f"<p>wecom_recipients: {len(self.mappings)} mappings, {len(self.quarantine)} quarantined rows; "
                f"roles: {escape(', '.join(sorted(set(self.mappings['role_id']))))}</p>")


def load_recipients(path_or_dir: str | Path, *, role_ids: set[str] | None = None) -> RecipientDirectory | None:
    """Read and validate ``wecom_recipients`` (a file, or a data folder that may hold one).

    Returns None when a folder has no such file (the table is optional). Rows with problems go to the
    quarantine with reason codes (``duplicate_key``, ``unknown_reference``, ``not_allowed`` for a bad userid, …);
    counts reconcile.
    """
    path = Path(path_or_dir)
    if path.is_dir():
        found = [path / f"{CONTRACT.name}{s}" for s in SUPPORTED_SUFFIXES if (path / f"{CONTRACT.name}{s}").is_file()]
        if not found:
            return None
        path = found[0]
    raw = read_raw_table(path, table=CONTRACT.name)

    def row_check(df: pd.DataFrame):
        seen: dict[tuple, int] = {}
        for idx in df.index:
            user = _blank(df.at[idx, "wecom_userid"])
            if user and not USERID_RE.match(user):
                yield idx, "wecom_userid", "not_allowed", "UserID 只能包含字母、数字和 _-@.，最长 64 位"
            key = tuple(_blank(df.at[idx, c]) if c in df.columns else None for c in CONTRACT.key)
            if key in seen:
                yield idx, "role_id", "duplicate_key", f"与第 {int(raw.rows.loc[seen[key]])} 行重复"
            else:
                seen[key] = idx

    references = {"dictionary.roles.id": role_ids} if role_ids is not None else None
    result = validate_table(raw, CONTRACT, references=references, row_check=row_check)
    directory = RecipientDirectory.from_frame(result.accepted)
    return RecipientDirectory(mappings=directory.mappings, quarantine=result.quarantine, rows_in=result.rows_in)
