"""User-facing text in Simplified Chinese (default) or English, from one message catalog.

The catalog is every ``*.yaml`` file in ``workbench/messages/`` (one file per area, one namespace of keys):
``key: {zh: "…{name}…", en: "…{name}…"}``. Data, logs and artifacts hold codes; sentences are looked up here
when something is shown to a person. Choose the language with ``--lang``, the ``lang`` stage parameter, or
``WORKBENCH_LANG=en``.

    >>> t("status.ok", "en")
    'succeeded'
"""

from __future__ import annotations

import os
import string
from functools import lru_cache
from pathlib import Path

__all__ = ["LANGS", "catalog", "current_lang", "has", "label", "resolve_lang", "t"]

LANGS = ("zh", "en")
_CATALOG_DIR = Path(__file__).parent / "messages"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """Every message, checked once per process: both languages present, the same placeholders, unique keys."""
    import yaml

    messages: dict[str, dict[str, str]] = {}
    origin: dict[str, str] = {}
    for path in sorted(_CATALOG_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, entry in data.items():
            key = str(key)
            if key in messages:
                raise ValueError(f"message {key!r} is defined in both {origin[key]} and {path.name}; keys are one namespace")
            if not isinstance(entry, dict) or set(entry) != set(LANGS):
                raise ValueError(f"{path.name}: message {key!r} needs exactly {LANGS}, has {sorted(entry) if isinstance(entry, dict) else entry!r}")
            texts = {lang: str(entry[lang]) for lang in LANGS}
            if _fields(texts["zh"]) != _fields(texts["en"]):
                raise ValueError(f"{path.name}: message {key!r} has different placeholders in zh and en")
            messages[key] = texts
            origin[key] = path.name
    return messages


def current_lang() -> str:
    lang = os.environ.get("WORKBENCH_LANG", "zh").strip().lower() or "zh"
    return lang if lang in LANGS else "zh"


def resolve_lang(lang: str | None) -> str:
    if not lang:
        return current_lang()
    lang = lang.strip().lower()
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang


def has(key: str) -> bool:
    return key in catalog()


def t(key: str, lang: str | None = None, **fields: object) -> str:
    """The message ``key`` in ``lang`` (default: the current language) with ``fields`` filled in."""
    try:
        entry = catalog()[key]
    except KeyError:
        raise KeyError(f"no message {key!r} in the catalog (src/workbench/messages/*.yaml)") from None
    return entry[resolve_lang(lang)].format(**fields)


def label(prefix: str, code: object, lang: str | None = None) -> str:
    """The display text of a code (``label("status", "ok")`` → 成功); an unknown code is shown as itself."""
    key = f"{prefix}.{code}"
    return t(key, lang) if key in catalog() else str(code)
