"""Phrase banks the answer generator draws from (``data/synth/*.yaml``), validated on load."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .._paths import DATA_DIR
from ..errors import DataError

__all__ = ["CompetencyMaterial", "LanguageBank", "load_material", "load_language"]

SYNTH_DIR = DATA_DIR / "synth"
_MATERIAL_FILES = ("material_professional.yaml", "material_general_culture.yaml")
_MATERIAL_FIELDS = {
    "situations": 4, "tasks": 3, "actions_strong": 6, "actions_weak": 3, "results": 4, "results_vague": 2,
    "lapses": 3, "paraphrases": 3, "bei_topics": 3, "scenarios": 3,
}
_LANGUAGE_FIELDS = {
    "openers": 5, "situation_lead": 5, "task_lead": 4, "action_lead": 5, "result_lead": 5, "reflection": 5, "closers": 4,
    "hedges": 8, "fillers": 6, "generic_claims": 8, "off_topic": 8, "padding": 10, "negation_frames": 4, "affirm_frames": 4,
    "negated_positive_frames": 4, "typos": 10, "english_mix": 8, "dialect_by_region": 4, "surnames": 20,
    "given_names_rare": 4, "given_names": 20,
}


@dataclass(frozen=True)
class CompetencyMaterial:
    competency_id: str
    situations: tuple[str, ...]
    tasks: tuple[str, ...]
    actions_strong: tuple[str, ...]
    actions_weak: tuple[str, ...]
    results: tuple[str, ...]
    results_vague: tuple[str, ...]
    lapses: tuple[str, ...]
    paraphrases: tuple[str, ...]
    bei_topics: tuple[str, ...]
    scenarios: tuple[str, ...]
    stances: tuple[str, ...] = ()


@dataclass(frozen=True)
class LanguageBank:
    fields: dict

    def __getattr__(self, name: str):
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None


def _read(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"synthetic-data material missing: {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_material() -> dict[str, CompetencyMaterial]:
    out: dict[str, CompetencyMaterial] = {}
    for name in _MATERIAL_FILES:
        path = SYNTH_DIR / name
        for cid, item in _read(path).items():
            for fld, minimum in _MATERIAL_FIELDS.items():
                values = item.get(fld) or []
                if len(values) < minimum:
                    raise DataError(f"{path}: {cid}.{fld} needs at least {minimum} entries, has {len(values)}")
            out[cid] = CompetencyMaterial(
                competency_id=cid,
                **{fld: tuple(str(v).strip() for v in item[fld]) for fld in _MATERIAL_FIELDS},
                stances=tuple(str(v).strip() for v in item.get("stances", []) or []),
            )
    return out


@lru_cache(maxsize=1)
def load_language() -> LanguageBank:
    path = SYNTH_DIR / "language.yaml"
    raw = _read(path)
    for fld, minimum in _LANGUAGE_FIELDS.items():
        if len(raw.get(fld) or []) < minimum:
            raise DataError(f"{path}: {fld} needs at least {minimum} entries")
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items()}
    fields["typos"] = tuple((str(a), str(b)) for a, b in raw["typos"])
    fields["dialect_by_region"] = {k: tuple(v) for k, v in raw["dialect_by_region"].items()}
    return LanguageBank(fields=fields)
