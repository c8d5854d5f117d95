"""What a stage is: typed parameters, a computation and a report — declared once, in the stage's own module.

Each stage module defines::

    @dataclass(frozen=True)
    class Params(StageParams):
        seed: int = param(7, "random seed")

    def run(ctx: StageContext, params: Params) -> Result: ...
    def report(result: Result, lang: str = "zh") -> Report: ...

    STAGE = StageDef("03_scoring", Params, run, report, requires=("00_intake", ...))

``Params`` is the single source of the parameters' names, types, defaults and help: the runner checks profiles
and ``--set`` against it, ``workbench stages`` lists it, and a test checks that the stage notebook's
``parameters`` cell says exactly the same (:func:`parameters_cell` writes that cell).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = ["StageParams", "StageDef", "ParamSpec", "param", "parameters_cell", "RESERVED_PARAMETERS"]

_TYPES = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict"}

#: Parameters every stage notebook declares and the runner sets itself (the run directory and report language).
RESERVED_PARAMETERS = {
    "run_dir": ("str", "", "run directory, set by workbench run (empty: a new ad-hoc run under reports/adhoc/)"),
    "lang": ("str", "zh", "report language: zh | en (set by workbench run --lang)"),
}


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Any
    help: str


def param(default: Any, help: str):
    """A stage parameter with its default and one line of help (lists and dicts are copied per instance)."""
    if isinstance(default, (list, dict)):
        frozen = copy.deepcopy(default)
        return dataclasses.field(default_factory=lambda: copy.deepcopy(frozen), metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class StageParams:
    """Base of every stage's ``Params``: frozen, JSON-typed fields declared with :func:`param`."""

    @classmethod
    def specs(cls) -> dict[str, ParamSpec]:
        hints = typing.get_type_hints(cls)
        out = {}
        for f in dataclasses.fields(cls):
            base = typing.get_origin(hints[f.name]) or hints[f.name]
            if base not in _TYPES:
                raise TypeError(f"{cls.__module__}.{cls.__name__}.{f.name}: type {hints[f.name]} is not one of str, int, float, bool, list, dict")
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            out[f.name] = ParamSpec(f.name, _TYPES[base], default, f.metadata.get("help", ""))
        return out

    @classmethod
    def from_namespace(cls, namespace: dict) -> "StageParams":
        """The parameters from a notebook's globals (what papermill injected over the parameters cell)."""
        return cls.from_dict({name: namespace[name] for name in cls.specs() if name in namespace})

    @classmethod
    def from_dict(cls, values: dict) -> "StageParams":
        specs = cls.specs()
        unknown = set(values) - set(specs)
        if unknown:
            raise ConfigurationError(f"unknown parameters {sorted(unknown)} for {cls.__module__}; declared: {', '.join(specs)}")
        return cls(**{k: check_value(specs[k], v, where=cls.__module__) for k, v in values.items()})

    def as_dict(self) -> dict:
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)}


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


@dataclass(frozen=True)
class StageDef:
    """One pipeline stage: its name (also its notebook's), parameters, computation, report and upstream stages."""

    name: str
    params: type[StageParams]
    run: Callable[..., Any]
    report: Callable[..., Any]
    requires: tuple[str, ...] = ()
    # stages whose artifacts this one reads when they are part of the same run, without requiring them (06 carries
    # 04's candidate feedback when 04 ran): in a run with both, this stage starts only after them
    after: tuple[str, ...] = ()

    @property
    def notebook(self):
        from .._paths import NOTEBOOKS_DIR

        return NOTEBOOKS_DIR / f"{self.name}.ipynb"

    def title(self, lang: str | None = None) -> str:
        from ..i18n import t

        return t(f"stage.{self.name}", lang)

    def specs(self) -> dict[str, ParamSpec]:
        return self.params.specs()

    def execute(self, *, run_dir: str = "", lang: str = "zh", params: StageParams | None = None):
        """Run this stage in ``run_dir`` (empty: a new ad-hoc run) and record it; returns the stage's result."""
        from ..pipeline import open_stage

        from ..pipeline._adhoc import cache_key, store

        params = params if params is not None else self.params()
        ctx = open_stage(self.name, run_dir=run_dir, params=params.as_dict(), lang=lang)
        result = self.run(ctx, params)
        if ctx.adhoc:  # an ad-hoc run with the defaults is kept for later ad-hoc runs that need this stage
            ctx.cache_key = cache_key(self, params.as_dict(), ctx.lang, ctx.run_dir)
        ctx.finish()
        if ctx.cache_key:
            store(self.name, ctx.cache_key, ctx.run_dir)
        return result


def _literal(value: Any) -> str:
    """A Python literal for a JSON-typed value, written the way a person would type it in a notebook."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def parameters_cell(stage: StageDef) -> str:
    """The exact source of the stage notebook's ``parameters`` cell (reserved parameters first)."""
    lines = [f"{name}: {typ} = {_literal(default)}  # {help}" for name, (typ, default, help) in RESERVED_PARAMETERS.items()]
    for spec in stage.specs().values():
        lines.append(f"{spec.name}: {spec.type} = {_literal(spec.default)}  # {spec.help}")
    return "\n".join(lines)
