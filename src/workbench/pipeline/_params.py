"""Declared stage parameters (read from each notebook's ``parameters`` cell), profiles and ``--set``.

A parameter is declared once, in the notebook, with a type annotation: ``seed: int = 7  # random seed``.
Profiles (``profiles/<name>.toml``) and ``--set key=value`` may only set declared parameters, with
values of the declared type; anything else is an error, never a warning.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .._paths import PROFILES_DIR
from ..errors import ConfigurationError
from ._stages import RESERVED_PARAMETERS, STAGES, Stage

__all__ = ["ParamSpec", "declared_parameters", "load_profile", "parse_set", "resolve_parameters", "list_profiles"]

_TYPES = ("str", "int", "float", "bool", "list", "dict")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Any
    help: str


def _base_type(name: str) -> str:
    name = (name or "").strip()
    base = name.split("[", 1)[0].lower()
    if base not in _TYPES:
        raise ConfigurationError(f"parameter type {name!r} is not supported; annotate with one of {_TYPES}")
    return base


@lru_cache(maxsize=32)
def _declared(path: str, mtime_ns: int) -> dict[str, ParamSpec]:
    import ast

    import papermill

    inspected = papermill.inspect_notebook(path)
    specs = {}
    for name, info in inspected.items():
        type_name = info.get("inferred_type_name") or "None"
        if type_name == "None":
            raise ConfigurationError(f"{path}: parameter {name!r} has no type annotation; write e.g. `{name}: int = 1`")
        specs[name] = ParamSpec(name=name, type=_base_type(type_name), default=ast.literal_eval(info["default"]), help=info.get("help") or "")
    return specs


def declared_parameters(stage: Stage) -> dict[str, ParamSpec]:
    path = stage.notebook
    if not path.is_file():
        raise ConfigurationError(f"stage notebook not found: {path}")
    return _declared(str(path), path.stat().st_mtime_ns)


def check_value(spec: ParamSpec, value: Any, *, where: str) -> Any:
    """Return ``value`` if it has the declared type (ints are accepted for floats), else raise."""
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list": isinstance(value, list),
        "dict": isinstance(value, dict),
    }[spec.type]
    if not ok:
        raise ConfigurationError(
            f"{where}: parameter {spec.name!r} must be {spec.type} (default {spec.default!r}), got {type(value).__name__} {value!r}"
        )
    if spec.type == "float":
        value = float(value)
    json.dumps(value)  # papermill stores parameters as JSON; reject anything else early
    return value


def parse_set(text: str, spec: ParamSpec) -> Any:
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
    return check_value(spec, value, where="--set")


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


def resolve_parameters(
    stages: list[Stage], profile: dict, sets: list[str], *, profile_path: str = "profile"
) -> dict[str, dict[str, Any]]:
    """Final parameters per stage: notebook defaults ← profile ``[params]`` ← ``[stages.X]`` ← ``--set``.

    ``--set name=value`` applies to every selected stage that declares ``name``; ``--set stage.name=value``
    to one stage. Unknown names and ill-typed values raise :class:`ConfigurationError`.
    """
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
            typed = parse_set(value, spec) if parse else check_value(spec, value, where=where)
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
