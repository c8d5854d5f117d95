"""What a stage notebook sees: its run directory, upstream artifacts, and places to record inputs and metrics.

Inside a notebook::

    stage = open_stage("00_intake", run_dir=run_dir, params={...})
    stage.record_input(path)               # hashed into the manifest
    stage.publish_metrics({"rows": 123})   # machine-readable, compared by `workbench runs compare`
    stage.finish()

With ``run_dir=""`` (plain papermill, nbval, JupyterLab) the stage gets a fresh ad-hoc run directory under
``reports/adhoc/`` so it never writes into someone else's run.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._hashing import sha256_file
from .._paths import PROJECT_ROOT, REPORTS_DIR
from ..errors import ConfigurationError, DataError

__all__ = ["StageContext", "open_stage", "new_run_id"]


def new_run_id(label: str = "run") -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{label}-{secrets.token_hex(2)}"


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(PROJECT_ROOT))
        except ValueError:
            return str(path.resolve())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


@dataclass
class StageContext:
    name: str
    run_dir: Path
    params: dict[str, Any]
    adhoc: bool = False
    inputs: list[dict] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def artifacts(self) -> Path:
        path = self.run_dir / "artifacts" / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, *parts: str) -> Path:
        """A path inside this stage's artifact directory."""
        path = self.artifacts.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def upstream(self, stage: str) -> Path:
        """The artifact directory of an earlier stage of the same run.

        In an ad-hoc run (plain papermill, nbval, JupyterLab without ``run_dir``) a missing upstream stage is
        built first with its notebook's default parameters, so every notebook also runs on its own.
        """
        path = self.run_dir / "artifacts" / stage
        if not (self.run_dir / "stages" / f"{stage}.json").is_file():
            if self.adhoc:
                _build_adhoc(stage, self.run_dir)
                return path
            raise DataError(
                f"stage {self.name} needs the output of {stage}, which {self.run_dir} does not have; "
                f"run both with `workbench run --stage {self.name}` (required stages are added automatically)"
            )
        return path

    def has_upstream(self, stage: str) -> bool:
        return (self.run_dir / "stages" / f"{stage}.json").is_file()

    def record_input(self, path: str | Path, *, role: str = "input") -> None:
        path = Path(path)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                self.record_input(file, role=role)
            return
        self.inputs.append({"path": _rel(path, self.run_dir), "sha256": sha256_file(path), "bytes": path.stat().st_size, "role": role})

    def publish_metrics(self, metrics: dict[str, Any]) -> None:
        """Key numbers of this stage (flat name → number/str/bool), merged into the run's metrics.json."""
        self.metrics.update(_jsonable(metrics))
        self._write()

    def finish(self) -> Path:
        return self._write(finished=True)

    def _write(self, finished: bool = False) -> Path:
        record = {
            "stage": self.name,
            "params": _jsonable(self.params),
            "inputs": self.inputs,
            "metrics": self.metrics,
            "finished": finished,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        path = self.run_dir / "stages" / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        return path


def open_stage(name: str, *, run_dir: str = "", params: dict[str, Any] | None = None) -> StageContext:
    """Open the context of stage ``name`` in ``run_dir`` (or a new ad-hoc run directory if empty)."""
    params = dict(params or {})
    if run_dir:
        path = Path(run_dir)
        if not path.is_absolute():
            path = PROJECT_ROOT / path
        if not path.is_dir():
            raise ConfigurationError(f"run_dir {path} does not exist")
        return StageContext(name=name, run_dir=path.resolve(), params=params)
    base = Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPORTS_DIR)) / "adhoc"
    path = base / new_run_id(name)
    path.mkdir(parents=True, exist_ok=False)
    return StageContext(name=name, run_dir=path, params=params, adhoc=True)


def _build_adhoc(stage_name: str, run_dir: Path) -> None:
    """Run an upstream stage's library function in-process with its notebook defaults (ad-hoc runs only)."""
    import importlib
    import inspect

    from ._params import declared_parameters
    from ._stages import get_stage

    stage = get_stage(stage_name)
    for req in stage.requires:
        if not (run_dir / "stages" / f"{req}.json").is_file():
            _build_adhoc(req, run_dir)
    module, func = stage.builder.split(":")
    builder = getattr(importlib.import_module(module), func)
    defaults = {k: v.default for k, v in declared_parameters(stage).items()}
    accepted = inspect.signature(builder).parameters
    kwargs = {k: v for k, v in defaults.items() if k in accepted and k != "stage"}
    ctx = StageContext(name=stage.name, run_dir=run_dir, params=defaults, adhoc=True)
    builder(ctx, **kwargs)
