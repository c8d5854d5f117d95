"""``workbench runs``: list, show and compare runs — pipeline runs, ad-hoc runs and runs given by path.

Three kinds of run directory are understood:

- a **pipeline run** (``workbench run``) has a ``manifest.json``; by default it lives in ``reports/<run_id>/``,
  with ``--out`` anywhere;
- an **ad-hoc run** (a notebook run by plain papermill, nbval or JupyterLab) lives in ``reports/adhoc/<id>/``
  and has no manifest, only the records its stages wrote (``stages/<stage>.json``); a manifest-shaped summary
  is assembled from those records, so the same commands show and compare it;
- any of the two **given by path**: ``find_run`` and ``compare_runs`` accept a run directory, ``list_runs``
  takes extra directories (a run, or a folder holding runs).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd

from .._paths import REPORTS_DIR
from ..errors import ConfigurationError

__all__ = ["RUN_KINDS", "find_run", "list_runs", "compare_runs", "flatten", "read_run"]

RUN_KINDS = ("pipeline", "adhoc")
ADHOC_DIR = "adhoc"
LIST_COLUMNS = ["run_id", "kind", "started_at", "profile", "status", "stages", "commit", "overrides", "dir"]


def _reports_dir(root: str | Path | None) -> Path:
    return Path(root) if root else Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPORTS_DIR))


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _adhoc_started_at(run_dir: Path) -> str:
    """When an ad-hoc run began: the stamp in its id (``new_run_id``: YYYYmmdd-HHMMSS-…), else the folder's mtime."""
    try:
        stamp = datetime.strptime(run_dir.name[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        stamp = datetime.fromtimestamp(run_dir.stat().st_mtime)
    return stamp.astimezone().isoformat(timespec="seconds")


def _adhoc_manifest(run_dir: Path) -> dict | None:
    """A manifest-shaped summary of an ad-hoc run from its stage records; None if it has none."""
    records = [r for r in (_read_json(p) for p in sorted((run_dir / "stages").glob("*.json"))) if r and "stage" in r]
    if not records:
        return None
    stages = [{"name": r["stage"], "status": "ok" if r.get("finished") else "unfinished"} for r in records]
    return {
        "run_id": run_dir.name,
        "kind": "adhoc",
        "run_dir": str(run_dir.resolve()),
        "profile": None,
        "status": "ok" if all(s["status"] == "ok" for s in stages) else "unfinished",
        "started_at": _adhoc_started_at(run_dir),
        "finished_at": max((r.get("written_at") or "" for r in records), default="") or None,
        "git": None,
        "overrides": [],
        "parameters": {r["stage"]: r.get("params", {}) for r in records},
        "metrics": {r["stage"]: r.get("metrics", {}) for r in records},
        "stages": stages,
    }


def read_run(run_dir: str | Path) -> dict | None:
    """The manifest of the run in ``run_dir`` (assembled for an ad-hoc run), with ``kind``; None if not a run."""
    run_dir = Path(run_dir)
    if (run_dir / "manifest.json").is_file():
        manifest = _read_json(run_dir / "manifest.json")
        return None if manifest is None else {**manifest, "kind": "pipeline"}
    if (run_dir / "stages").is_dir():
        return _adhoc_manifest(run_dir)
    return None


def _runs_in(folder: Path) -> Iterator[tuple[Path, dict]]:
    """Runs directly inside ``folder`` and, for a reports folder, the ad-hoc runs in its ``adhoc/``."""
    if not folder.is_dir():
        return
    for sub in (folder, folder / ADHOC_DIR):
        if not sub.is_dir():
            continue
        for run_dir in sorted(p for p in sub.iterdir() if p.is_dir()):
            manifest = read_run(run_dir)
            if manifest is not None:
                yield run_dir, manifest


def _collect(root: str | Path | None, paths: Iterable[str | Path] = ()) -> list[tuple[Path, dict]]:
    found: dict[Path, tuple[Path, dict]] = {}
    for path in paths:
        path = Path(path)
        manifest = read_run(path)
        if manifest is not None:
            found.setdefault(path.resolve(), (path, manifest))
            continue
        if not path.is_dir():
            raise ConfigurationError(f"{path} does not exist; give a run directory or a folder holding runs")
        runs = list(_runs_in(path))
        if not runs:
            raise ConfigurationError(f"{path} is neither a run directory (manifest.json or stages/*.json) nor a folder holding runs")
        for run_dir, manifest in runs:
            found.setdefault(run_dir.resolve(), (run_dir, manifest))
    for run_dir, manifest in _runs_in(_reports_dir(root)):
        found.setdefault(run_dir.resolve(), (run_dir, manifest))
    return list(found.values())


def list_runs(root: str | Path | None = None, paths: Iterable[str | Path] = ()) -> pd.DataFrame:
    """Every run under ``root`` (default ``reports/``; pipeline and ad-hoc runs) plus the runs in ``paths``.

    One row per run, oldest first: ``run_id, kind`` (``pipeline`` | ``adhoc``), ``started_at, profile, status,
    stages, commit, overrides`` and ``dir`` (where it lives).
    """
    rows = []
    for run_dir, m in _collect(root, paths):
        git = m.get("git") or {}
        rows.append(
            {
                "run_id": m.get("run_id", run_dir.name),
                "kind": m["kind"],
                "started_at": m.get("started_at"),
                "profile": m.get("profile"),
                "status": m.get("status"),
                "stages": " ".join(f"{s['name']}:{s['status']}" for s in m.get("stages", [])),
                "commit": (git.get("commit") or "")[:10] + ("*" if git.get("dirty") else ""),
                "overrides": " ".join(m.get("overrides", [])),
                "dir": str(run_dir.resolve()),
            }
        )
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
    # timestamps carry their UTC offset: order by the instant, not the string
    order = pd.to_datetime(frame["started_at"], utc=True, errors="coerce", format="ISO8601")
    return frame.assign(_order=order).sort_values("_order", na_position="first", kind="stable").drop(columns="_order").reset_index(drop=True)


def find_run(run_id: str | Path, root: str | Path | None = None) -> tuple[Path, dict]:
    """A run by directory path, id, or unique id prefix (pipeline and ad-hoc runs under ``root``)."""
    as_path = Path(run_id)
    manifest = read_run(as_path)
    if manifest is not None:
        return as_path, manifest
    if as_path.is_dir():
        raise ConfigurationError(f"{as_path} is not a run directory: it has neither manifest.json nor stages/*.json")
    if os.sep in str(run_id):
        raise ConfigurationError(f"run directory {as_path} does not exist")
    run_id = str(run_id)
    matches = [(d, m) for d, m in _runs_in(_reports_dir(root)) if m.get("run_id", d.name).startswith(run_id)]
    if not matches:
        raise ConfigurationError(f"no run {run_id!r} under {_reports_dir(root)}; see `workbench runs list`, or give the run's directory")
    exact = [(d, m) for d, m in matches if m.get("run_id") == run_id]
    if exact:
        return exact[0]
    if len(matches) > 1:
        raise ConfigurationError(f"run id prefix {run_id!r} is ambiguous: {[m.get('run_id') for _, m in matches]}")
    return matches[0]


def flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def compare_runs(run_a: str | Path, run_b: str | Path, root: str | Path | None = None, *, only_different: bool = True) -> pd.DataFrame:
    """Parameter and metric differences between two runs, given by id or directory (tidy: kind, name, a, b, delta)."""
    _, a = find_run(run_a, root)
    _, b = find_run(run_b, root)
    rows = []
    for kind, left, right in (
        ("parameter", flatten(a.get("parameters", {})), flatten(b.get("parameters", {}))),
        ("metric", flatten(a.get("metrics", {})), flatten(b.get("metrics", {}))),
    ):
        for name in sorted(set(left) | set(right)):
            va, vb = left.get(name), right.get(name)
            if only_different and va == vb:
                continue
            delta = None
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool) and not isinstance(vb, bool):
                delta = vb - va
            rows.append({"kind": kind, "name": name, "a": va, "b": vb, "delta": delta})
    for label, key in (("profile", "profile"), ("status", "status"), ("kind", "kind")):
        if a.get(key) != b.get(key) or not only_different:
            rows.insert(0, {"kind": "run", "name": label, "a": a.get(key), "b": b.get(key), "delta": None})
    ca, cb = (a.get("git") or {}).get("commit"), (b.get("git") or {}).get("commit")
    if ca != cb or not only_different:
        rows.insert(0, {"kind": "run", "name": "git.commit", "a": ca, "b": cb, "delta": None})
    return pd.DataFrame(rows, columns=["kind", "name", "a", "b", "delta"])
