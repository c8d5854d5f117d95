"""Phrase banks the answer generator draws from (``data/synth/*.yaml``), validated on load."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .._paths import DATA_DIR
from ..errors import DataError

__all__ = ["CompetencyMaterial", "LanguageBank", "PHRASINGS", "load_material", "load_language"]

SYNTH_DIR = DATA_DIR / "synth"
# Two disjoint sets of phrase banks. A: written alongside the competency dictionary (the default). B: written
# separately, in other sentence patterns and everyday words, avoiding the dictionary's keywords and evidence
# phrases, so a scorer trained on A can be evaluated on phrasing it has never seen.
PHRASINGS = ("A", "B")
_MATERIAL_FILES = {
    "A": ("material_professional.yaml", "material_general_culture.yaml"),
    "B": ("material_professional_b.yaml", "material_general_culture_b.yaml"),
}
_LANGUAGE_FILES = {"A": "language.yaml", "B": "language_b.yaml"}
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
# Phrasing B never inserts the dictionary's evidence phrases; it needs its own words for the moves that A fills
# from the dictionary (naming a good practice, negating it) and for the few frames A keeps in code.
_MATERIAL_FIELDS_B = {"good_practices": 4}
_LANGUAGE_FIELDS_B = {"practice_frames": 4, "hypothetical_lead": 3, "name_mentions": 3}


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
    good_practices: tuple[str, ...] = ()  # phrasing B only: good practice in the candidate's own words


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


def _check_phrasing(phrasing: str) -> None:
    if phrasing not in PHRASINGS:
        raise DataError(f"unknown phrasing {phrasing!r}; choose one of {', '.join(PHRASINGS)}")


@lru_cache(maxsize=4)
def load_material(phrasing: str = "A") -> dict[str, CompetencyMaterial]:
    """Per-competency phrase banks of ``phrasing`` ("A" or "B"), each field checked for its minimum count."""
    _check_phrasing(phrasing)
    required = _MATERIAL_FIELDS | (_MATERIAL_FIELDS_B if phrasing == "B" else {})
    out: dict[str, CompetencyMaterial] = {}
    for name in _MATERIAL_FILES[phrasing]:
        path = SYNTH_DIR / name
        for cid, item in _read(path).items():
            for fld, minimum in required.items():
                values = item.get(fld) or []
                if len(values) < minimum:
                    raise DataError(f"{path}: {cid}.{fld} needs at least {minimum} entries, has {len(values)}")
            out[cid] = CompetencyMaterial(
                competency_id=cid,
                **{fld: tuple(str(v).strip() for v in item[fld]) for fld in _MATERIAL_FIELDS},
                stances=tuple(str(v).strip() for v in item.get("stances", []) or []),
                good_practices=tuple(str(v).strip() for v in item.get("good_practices", []) or []),
            )
    return out


@lru_cache(maxsize=4)
def load_language(phrasing: str = "A") -> LanguageBank:
    """Spoken-language material of ``phrasing`` ("A" or "B"), each field checked for its minimum count."""
    _check_phrasing(phrasing)
    path = SYNTH_DIR / _LANGUAGE_FILES[phrasing]
    raw = _read(path)
    required = _LANGUAGE_FIELDS | (_LANGUAGE_FIELDS_B if phrasing == "B" else {})
    for fld, minimum in required.items():
        if len(raw.get(fld) or []) < minimum:
            raise DataError(f"{path}: {fld} needs at least {minimum} entries")
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items()}
    fields["typos"] = tuple((str(a), str(b)) for a, b in raw["typos"])
    fields["dialect_by_region"] = {k: tuple(v) for k, v in raw["dialect_by_region"].items()}
    return LanguageBank(fields=fields)
