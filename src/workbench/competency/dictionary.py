"""The competency dictionary: roles, competencies in three dimensions, indicators, BARS and evidence.

Loaded from ``data/competency_dictionary.yaml``. Ids are stable ASCII; names are Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from .._hashing import sha256_file
from .._paths import DATA_DIR
from ..errors import DataError
from ..i18n import resolve_lang

__all__ = [
    "DIMENSIONS",
    "BarsLevel",
    "Competency",
    "CompetencyDictionary",
    "Indicator",
    "Role",
    "load_dictionary",
    "DEFAULT_DICTIONARY_PATH",
]

DEFAULT_DICTIONARY_PATH = DATA_DIR / "competency_dictionary.yaml"
DIMENSIONS = ("professional", "general", "culture")
DIMENSION_NAMES = {"professional": "专业能力", "general": "综合素质", "culture": "文化适配"}
DIMENSION_NAMES_EN = {"professional": "Professional", "general": "General qualities", "culture": "Culture fit"}
BarsLevel = int


@dataclass(frozen=True)
class Indicator:
    id: str
    text: str


@dataclass(frozen=True)
class Competency:
    id: str
    name: str
    name_en: str
    dimension: str
    definition: str
    indicators: tuple[Indicator, ...]
    bars: dict[int, str]
    positive_evidence: tuple[str, ...]
    negative_evidence: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # names vendors use (细致性 → 严谨细致); one alias on several entries = ambiguous

    def label(self, lang: str | None = None) -> str:
        """The name a reader sees: ``name_en`` in English reports, ``name`` in Chinese ones."""
        return self.name_en if resolve_lang(lang) == "en" else self.name


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    name_en: str
    family: str
    summary: str
    competency_ids: tuple[str, ...]
    aliases: tuple[str, ...] = ()  # e.g. 综合柜员 → 柜员; 客户经理 sits on two roles on purpose (ambiguous)

    def label(self, lang: str | None = None) -> str:
        """The name a reader sees: ``name_en`` in English reports, ``name`` in Chinese ones."""
        return self.name_en if resolve_lang(lang) == "en" else self.name


@dataclass(frozen=True)
class CompetencyDictionary:
    """Read-only view of the dictionary file, with lookups by id."""

    version: str
    path: str
    sha256: str
    competencies: dict[str, Competency]
    roles: dict[str, Role]
    dimension_names: dict[str, str] = field(default_factory=lambda: dict(DIMENSION_NAMES))

    def role(self, role_id: str) -> Role:
        try:
            return self.roles[role_id]
        except KeyError:
            raise DataError(f"unknown role id {role_id!r}; known roles: {', '.join(self.roles)}") from None

    def competency(self, competency_id: str) -> Competency:
        try:
            return self.competencies[competency_id]
        except KeyError:
            raise DataError(f"unknown competency id {competency_id!r}") from None

    def role_competencies(self, role_id: str) -> list[Competency]:
        return [self.competencies[c] for c in self.role(role_id).competency_ids]

    def role_table(self) -> pd.DataFrame:
        """One row per (role, competency): the layout HR readers expect."""
        rows = []
        for role in self.roles.values():
            for cid in role.competency_ids:
                comp = self.competencies[cid]
                rows.append(
                    {
                        "role_id": role.id,
                        "role": role.name,
                        "dimension": comp.dimension,
                        "dimension_name": DIMENSION_NAMES[comp.dimension],
                        "competency_id": cid,
                        "competency": comp.name,
                        "n_indicators": len(comp.indicators),
                    }
                )
        return pd.DataFrame(rows)

    def user_words(self) -> list[str]:
        """Domain words for the tokenizer's user dictionary (keywords and evidence phrases)."""
        words: set[str] = set()
        for comp in self.competencies.values():
            words.update(comp.keywords)
            words.update(p for p in comp.positive_evidence + comp.negative_evidence if 2 <= len(p) <= 8)
        return sorted(words)


def _need(mapping: dict, key: str, where: str, path: Path):
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] in (None, ""):
        raise DataError(f"{path}: {where} is missing '{key}'")
    return mapping[key]


def _aliases(item: dict, where: str, path: Path) -> tuple[str, ...]:
    value = item.get("aliases") or []
    if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
        raise DataError(f"{path}: {where} aliases must be a list of non-empty names")
    return tuple(a.strip() for a in value)


def _check_aliases(entries, kind: str, path: Path) -> None:
    """An alias may not be another entry's name (that would make a name mean two things); it may sit on several
    entries, which marks it as ambiguous on purpose (客户经理 → 个人 / 对公客户经理)."""
    names = {e.name: e.id for e in entries}
    for e in entries:
        for a in e.aliases:
            if a in names and names[a] != e.id:
                raise DataError(f"{path}: {kind} {e.id!r} has alias {a!r}, which is the name of {kind} {names[a]!r}")


def _parse(raw: dict, path: Path) -> CompetencyDictionary:
    competencies: dict[str, Competency] = {}
    for i, item in enumerate(_need(raw, "competencies", "top level", path)):
        where = f"competencies[{i}]"
        cid = _need(item, "id", where, path)
        where = f"competency {cid!r}"
        if cid in competencies:
            raise DataError(f"{path}: duplicate competency id {cid!r}")
        dimension = _need(item, "dimension", where, path)
        if dimension not in DIMENSIONS:
            raise DataError(f"{path}: {where} has dimension {dimension!r}; allowed: {', '.join(DIMENSIONS)}")
        indicators = tuple(Indicator(id=str(ind["id"]), text=str(ind["text"])) for ind in _need(item, "indicators", where, path))
        if len(indicators) < 3:
            raise DataError(f"{path}: {where} needs at least 3 behavioural indicators, has {len(indicators)}")
        bars = {int(k): str(v) for k, v in _need(item, "bars", where, path).items()}
        if sorted(bars) != [1, 2, 3, 4, 5]:
            raise DataError(f"{path}: {where} BARS must have levels 1..5, has {sorted(bars)}")
        evidence = _need(item, "evidence", where, path)
        competencies[cid] = Competency(
            id=cid,
            name=str(_need(item, "name", where, path)),
            name_en=str(item.get("name_en", cid)),
            dimension=dimension,
            definition=str(_need(item, "definition", where, path)),
            indicators=indicators,
            bars=bars,
            positive_evidence=tuple(map(str, evidence.get("positive", []))),
            negative_evidence=tuple(map(str, evidence.get("negative", []))),
            keywords=tuple(map(str, item.get("keywords", []) or [])),
            aliases=_aliases(item, where, path),
        )
    roles: dict[str, Role] = {}
    for i, item in enumerate(_need(raw, "roles", "top level", path)):
        rid = _need(item, "id", f"roles[{i}]", path)
        where = f"role {rid!r}"
        if rid in roles:
            raise DataError(f"{path}: duplicate role id {rid!r}")
        comp_ids = tuple(_need(item, "competencies", where, path))
        unknown = [c for c in comp_ids if c not in competencies]
        if unknown:
            raise DataError(f"{path}: {where} lists unknown competencies {unknown}")
        dims = {competencies[c].dimension for c in comp_ids}
        if dims != set(DIMENSIONS):
            raise DataError(f"{path}: {where} must cover all three dimensions, covers {sorted(dims)}")
        roles[rid] = Role(
            id=rid,
            name=str(_need(item, "name", where, path)),
            name_en=str(item.get("name_en", rid)),
            family=str(item.get("family", "")),
            summary=str(item.get("summary", "")),
            competency_ids=comp_ids,
            aliases=_aliases(item, where, path),
        )
    _check_aliases(competencies.values(), "competency", path)
    _check_aliases(roles.values(), "role", path)
    return CompetencyDictionary(
        version=str(raw.get("version", "unversioned")),
        path=str(path),
        sha256=sha256_file(path),
        competencies=competencies,
        roles=roles,
    )


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> CompetencyDictionary:
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{p}: not valid YAML: {exc}") from exc
    return _parse(raw, p)


def load_dictionary(path: str | Path | None = None) -> CompetencyDictionary:
    """Load and validate the competency dictionary (default: ``data/competency_dictionary.yaml``)."""
    p = Path(path) if path else DEFAULT_DICTIONARY_PATH
    if not p.is_file():
        raise DataError(f"competency dictionary not found: {p}")
    return _load_cached(str(p.resolve()), p.stat().st_mtime_ns)
