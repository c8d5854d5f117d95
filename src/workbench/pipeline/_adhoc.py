"""Ad-hoc runs (plain papermill, JupyterLab, nbval): missing upstream stages are built with their defaults, once.

A stage run ad hoc with its default parameters is kept in ``reports/adhoc/.cache/<key>/``, where the key is the
hash of the stage, its parameters, the report language, the workbench's code and data files, and the keys of the
upstream stages it read. A later ad-hoc run that needs the same stage copies it from there instead of recomputing
it, so opening notebook 05 after 04 does not rerun 00–04, and any change to the code, the data files or a default
gives a new key. Pipeline runs (``workbench run``) never use the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from .._paths import DATA_DIR, REPORTS_DIR

__all__ = ["cache_dir", "cache_key", "restore", "store"]

_CODE_SUFFIXES = (".py", ".yaml", ".yml", ".j2", ".css", ".json", ".csv")


def cache_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPORTS_DIR)) / "adhoc" / ".cache"


@lru_cache(maxsize=1)
def _code_version() -> str:
    """sha256 over the workbench's source and data files (names and contents)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for root in (package, DATA_DIR):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _CODE_SUFFIXES and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _record(run_dir: Path, stage: str) -> dict:
    path = run_dir / "stages" / f"{stage}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def cache_key(stage, params: dict, lang: str, run_dir: Path) -> str | None:
    """The stage's cache key in ``run_dir``, or None when it cannot be cached (non-default parameters, or an upstream
    stage that was not built with its defaults)."""
    if params != stage.params().as_dict():
        return None
    upstream = []
    for req in stage.requires:
        key = _record(run_dir, req).get("cache_key")
        if not key:
            return None
        upstream.append(key)
    blob = json.dumps({"stage": stage.name, "params": params, "lang": lang, "code": _code_version(), "upstream": upstream},
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _parts(stage_name: str) -> tuple[str, ...]:
    # what a stage writes into its run directory (intake also writes the generated cohort)
    return (f"artifacts/{stage_name}", f"stages/{stage_name}.json", *(("inputs",) if stage_name == "00_intake" else ()))


def restore(stage_name: str, key: str, run_dir: Path) -> bool:
    """Copy a cached stage into ``run_dir``; False when the cache has no such entry."""
    entry = cache_dir() / key
    if not (entry / "stages" / f"{stage_name}.json").is_file():
        return False
    for part in _parts(stage_name):
        source, target = entry / part, run_dir / part
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return True


def store(stage_name: str, key: str, run_dir: Path) -> None:
    """Keep a finished stage of ``run_dir`` under ``key`` (written to a temporary folder, then renamed: atomic)."""
    entry = cache_dir() / key
    if entry.exists():
        return
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=entry.parent))
    try:
        for part in _parts(stage_name):
            source, target = run_dir / part, staging / part
            if source.is_dir():
                shutil.copytree(source, target)
            elif source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        try:
            staging.rename(entry)
        except OSError:  # another process stored the same entry first
            pass
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
