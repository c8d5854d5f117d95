"""Stage parameters, profiles and ``--set``: checked against each stage's ``Params`` (its single declaration).

Profiles (``profiles/<name>.toml``) and ``--set key=value`` may only set declared parameters, with values of the
declared type; anything else is an error, never a warning.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from .._paths import PROFILES_DIR
from ..errors import ConfigurationError

__all__ = ["declared_parameters", "load_profile", "parse_set", "resolve_parameters", "list_profiles", "split_lang"]


def declared_parameters(stage) -> dict:
    """The stage's declared parameters (name → ParamSpec), from its ``Params``."""
    return stage.specs()


def _check(spec, value, where):
    from ..stages._base import check_value

    return check_value(spec, value, where=where)


def parse_set(text: str, spec) -> Any:
    """Parse the value of ``--set name=value`` according to the declared type."""
    raw = text
    if spec.type == "str":
        return raw
    if spec.type == "bool":
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ConfigurationError(f"--set {spec.name}: expected true/false, got {raw!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigurationError(f"--set {spec.name}: {raw!r} is not a valid {spec.type} (write it as JSON)") from None
    return _check(spec, value, "--set")


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def load_profile(name_or_path: str) -> tuple[str, Path, dict]:
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = PROFILES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise ConfigurationError(f"profile {name_or_path!r} not found; available: {', '.join(list_profiles())} (files in {PROFILES_DIR})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid TOML: {exc}") from exc
    unknown = set(data) - {"description", "params", "stages"}
    if unknown:
        raise ConfigurationError(f"{path}: unknown top-level keys {sorted(unknown)}; use description, [params], [stages.<name>]")
    return path.stem, path, data


def split_lang(sets: list[str]) -> tuple[str | None, list[str]]:
    """``--set lang=en`` sets the run's report language (every stage's), not one stage parameter."""
    lang, rest = None, []
    for item in sets:
        key = item.split("=", 1)[0].strip()
        if key == "lang" or key.endswith(".lang"):
            lang = item.split("=", 1)[1].strip() if "=" in item else None
        else:
            rest.append(item)
    return lang, rest


def resolve_parameters(stages: list, profile: dict, sets: list[str], *, profile_path: str = "profile") -> dict[str, dict[str, Any]]:
    """Final parameters per stage: notebook defaults ← profile ``[params]`` ← ``[stages.X]`` ← ``--set``.

    ``--set name=value`` applies to every selected stage that declares ``name``; ``--set stage.name=value``
    to one stage. Unknown names and ill-typed values raise :class:`ConfigurationError`.
    """
    from ..stages import RESERVED_PARAMETERS, STAGES

    all_names = {s.name for s in STAGES}
    declared = {s.name: declared_parameters(s) for s in STAGES}
    chosen = {s.name for s in stages}
    resolved = {s.name: {k: v.default for k, v in declared[s.name].items()} for s in stages}

    def apply(stage_names: list[str], key: str, value: Any, where: str, parse: bool) -> None:
        if key in RESERVED_PARAMETERS:
            raise ConfigurationError(f"{where}: {key!r} is set by the runner and cannot be overridden")
        targets = [n for n in stage_names if key in declared[n]]
        if not targets:
            known = sorted({k for n in stage_names for k in declared[n]} - set(RESERVED_PARAMETERS))
            raise ConfigurationError(f"{where}: unknown parameter {key!r}; declared parameters: {', '.join(known)}")
        for name in targets:
            spec = declared[name][key]
            typed = parse_set(value, spec) if parse else _check(spec, value, where)
            if name in chosen:
                resolved[name][key] = typed

    for key, value in (profile.get("params") or {}).items():
        apply(sorted(all_names), key, value, f"{profile_path} [params]", parse=False)
    for stage_name, table in (profile.get("stages") or {}).items():
        if stage_name not in all_names:
            raise ConfigurationError(f"{profile_path}: unknown stage [stages.{stage_name}]; stages: {', '.join(sorted(all_names))}")
        for key, value in table.items():
            apply([stage_name], key, value, f"{profile_path} [stages.{stage_name}]", parse=False)
    for item in sets:
        if "=" not in item:
            raise ConfigurationError(f"--set {item!r}: write it as name=value or stage.name=value")
        key, value = item.split("=", 1)
        key = key.strip()
        if "." in key and key.split(".", 1)[0] in all_names:
            stage_name, key = key.split(".", 1)
            apply([stage_name], key, value, f"--set {item}", parse=True)
        else:
            apply(sorted(all_names), key, value, f"--set {item}", parse=True)
    return resolved
