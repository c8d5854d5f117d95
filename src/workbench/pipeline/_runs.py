"""``workbench runs``: list, show and compare finished runs from their manifests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from .._paths import REPORTS_DIR
from ..errors import ConfigurationError

__all__ = ["find_run", "list_runs", "compare_runs", "flatten"]


def _reports_dir(root: str | Path | None) -> Path:
    return Path(root) if root else Path(os.environ.get("WORKBENCH_REPORTS_DIR", REPORTS_DIR))


def _manifests(root: Path):
    for path in sorted(root.glob("*/manifest.json")):
        try:
            yield path.parent, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue


def list_runs(root: str | Path | None = None) -> pd.DataFrame:
    rows = []
    for run_dir, m in _manifests(_reports_dir(root)):
        stages = m.get("stages", [])
        rows.append(
            {
                "run_id": m.get("run_id", run_dir.name),
                "started_at": m.get("started_at"),
                "profile": m.get("profile"),
                "status": m.get("status"),
                "stages": " ".join(f"{s['name']}:{s['status']}" for s in stages),
                "commit": ((m.get("git") or {}).get("commit") or "")[:10] + ("*" if (m.get("git") or {}).get("dirty") else ""),
                "overrides": " ".join(m.get("overrides", [])),
            }
        )
    frame = pd.DataFrame(rows, columns=["run_id", "started_at", "profile", "status", "stages", "commit", "overrides"])
    return frame.sort_values("started_at", na_position="first").reset_index(drop=True)


def find_run(run_id: str, root: str | Path | None = None) -> tuple[Path, dict]:
    """A run by id, unique id prefix, or directory path."""
    as_path = Path(run_id)
    if (as_path / "manifest.json").is_file():
        return as_path, json.loads((as_path / "manifest.json").read_text(encoding="utf-8"))
    matches = [(d, m) for d, m in _manifests(_reports_dir(root)) if m.get("run_id", d.name).startswith(run_id)]
    if not matches:
        raise ConfigurationError(f"no run {run_id!r} under {_reports_dir(root)}; see `workbench runs list`")
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


def compare_runs(run_a: str, run_b: str, root: str | Path | None = None, *, only_different: bool = True) -> pd.DataFrame:
    """Parameter and metric differences between two runs (tidy: kind, name, a, b, delta)."""
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
    for label, key in (("profile", "profile"), ("status", "status")):
        if a.get(key) != b.get(key) or not only_different:
            rows.insert(0, {"kind": "run", "name": label, "a": a.get(key), "b": b.get(key), "delta": None})
    ca, cb = (a.get("git") or {}).get("commit"), (b.get("git") or {}).get("commit")
    if ca != cb or not only_different:
        rows.insert(0, {"kind": "run", "name": "git.commit", "a": ca, "b": cb, "delta": None})
    return pd.DataFrame(rows, columns=["kind", "name", "a", "b", "delta"])
