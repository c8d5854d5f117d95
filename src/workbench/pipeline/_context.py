"""What a stage sees: its run directory, typed and cached upstream artifacts, and places to record inputs and metrics.

Inside a stage's ``run``::

    tables = ctx.tables                    # intake's accepted tables, read once, hashed into the stage record
    dictionary = ctx.dictionary            # the run's competency dictionary (a copy taken at intake)
    ctx.publish_metrics({"rows": 123})     # machine-readable, compared by `workbench runs compare`

Every accessor loads its artifact once per stage and records the file's sha256 as an input. With ``run_dir=""``
(plain papermill, nbval, JupyterLab) the stage gets a fresh ad-hoc run directory under ``reports/adhoc/`` so it
never writes into someone else's run, and missing upstream stages are built first with their default parameters.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
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
    lang: str = "zh"
    adhoc: bool = False
    cache_key: str | None = None  # ad-hoc runs: the key this stage's result is cached under (see _adhoc)
    inputs: list[dict] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    # -- this stage's own files -------------------------------------------------------------------------------
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

    # -- upstream stages ------------------------------------------------------------------------------------
    def upstream(self, stage: str) -> Path:
        """The artifact directory of an earlier stage of the same run (built first in an ad-hoc run)."""
        path = self.run_dir / "artifacts" / stage
        if not self.has_upstream(stage):
            if self.adhoc:
                _build_adhoc(stage, self.run_dir, self.lang)
                return path
            raise DataError(
                f"stage {self.name} needs the output of {stage}, which {self.run_dir} does not have; "
                f"run both with `workbench run --stage {self.name}` (required stages are added automatically)"
            )
        return path

    def has_upstream(self, stage: str) -> bool:
        record = self.run_dir / "stages" / f"{stage}.json"
        return record.is_file() and bool(json.loads(record.read_text(encoding="utf-8")).get("finished"))

    def read_upstream(self, stage: str, name: str, *, role: str = "upstream") -> Path:
        """The path of artifact ``name`` of ``stage``, recorded (hashed) as an input of this stage."""
        path = self.upstream(stage) / name
        if not path.is_file():
            raise DataError(f"{stage} did not write {name} in {path.parent}; re-run {stage}")
        self.record_input(path, role=role)
        return path

    # typed, cached accessors (each read once per stage, recorded as an input) ------------------------------
    @cached_property
    def dictionary(self):
        """The run's competency dictionary: the copy intake took, so later edits of the source file change nothing."""
        from ..competency import load_dictionary

        return load_dictionary(self.read_upstream("00_intake", "competency_dictionary.yaml", role="upstream"))

    @cached_property
    def tables(self) -> dict:
        """Intake's accepted tables (employees, employee_competencies, candidates, questions, answers, ratings, …)."""
        import pandas as pd

        folder = self.upstream("00_intake")
        out = {}
        for path in sorted(folder.glob("*.parquet")):
            self.record_input(path, role="table")
            out[path.stem] = pd.read_parquet(path)
        return out

    @cached_property
    def competency_model(self) -> dict:
        from ..competency.model import load_competency_model

        return load_competency_model(self.read_upstream("01_competency_model", "competency_model.json", role="competency_model"))

    @cached_property
    def questions(self):
        """The questions this run's candidates answered, with stage 02's lint verdict per question."""
        import pandas as pd

        return pd.read_parquet(self.read_upstream("02_question_bank", "questions_in_use.parquet", role="questions"))

    @cached_property
    def answer_dataset(self):
        """Stage 03's answer dataset (one row per double-rated answer) with its cross-validated machine scores."""
        import pandas as pd

        return pd.read_parquet(self.read_upstream("03_scoring", "answer_scores.parquet", role="scores"))

    @cached_property
    def candidate_scores(self):
        import pandas as pd

        return pd.read_parquet(self.read_upstream("03_scoring", "candidate_scores.parquet", role="scores"))

    @cached_property
    def scorer_card(self) -> dict:
        return json.loads(self.read_upstream("03_scoring", "scorer.card.json", role="model_card").read_text(encoding="utf-8"))

    @cached_property
    def scorer(self):
        """The run's scorer, loaded only if its sha256 matches the card (skops, allow-listed types)."""
        from ..scoring import load_scorer

        path = self.read_upstream("03_scoring", "scorer.skops", role="model")
        return load_scorer(path, expected_sha256=self.scorer_card["sha256"])

    # -- records ---------------------------------------------------------------------------------------------
    def record_input(self, path: str | Path, *, role: str = "input") -> None:
        path = Path(path)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                self.record_input(file, role=role)
            return
        entry = {"path": _rel(path, self.run_dir), "sha256": sha256_file(path), "bytes": path.stat().st_size, "role": role}
        if entry not in self.inputs:
            self.inputs.append(entry)

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
            "lang": self.lang,
            "inputs": self.inputs,
            "metrics": self.metrics,
            "finished": finished,
            **({"cache_key": self.cache_key} if self.cache_key else {}),
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        path = self.run_dir / "stages" / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)
        return path


def open_stage(name: str, *, run_dir: str = "", params: dict[str, Any] | None = None, lang: str = "zh") -> StageContext:
    """Open the context of stage ``name`` in ``run_dir`` (or a new ad-hoc run directory if empty)."""
    from ..i18n import resolve_lang

    params = dict(params or {})
    lang = resolve_lang(lang)
    if run_dir:
        path = Path(run_dir)
        if not path.is_absolute():
            path = PROJECT_ROOT / path
        if not path.is_dir():
            raise ConfigurationError(f"run_dir {path} does not exist")
        return StageContext(name=name, run_dir=path.resolve(), params=params, lang=lang)
    base = Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPORTS_DIR)) / "adhoc"
    path = base / new_run_id(name)
    path.mkdir(parents=True, exist_ok=False)
    return StageContext(name=name, run_dir=path, params=params, lang=lang, adhoc=True)


def _build_adhoc(stage_name: str, run_dir: Path, lang: str) -> None:
    """Build an upstream stage in-process with its default parameters (ad-hoc runs only), from the cache if it can."""
    from ..stages import get_stage
    from ._adhoc import cache_key, restore, store

    stage = get_stage(stage_name)
    for req in stage.requires:
        record = run_dir / "stages" / f"{req}.json"
        if not (record.is_file() and json.loads(record.read_text(encoding="utf-8")).get("finished")):
            _build_adhoc(req, run_dir, lang)
    params = stage.params()
    key = cache_key(stage, params.as_dict(), lang, run_dir)
    if key and restore(stage.name, key, run_dir):
        return
    ctx = StageContext(name=stage.name, run_dir=run_dir, params=params.as_dict(), lang=lang, adhoc=True, cache_key=key)
    stage.run(ctx, params)
    ctx.finish()
    if key:
        store(stage.name, key, run_dir)
