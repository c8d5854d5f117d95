"""Provenance for a run: git state, package versions, hashes of every input and output."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from .._hashing import sha256_file
from .._paths import PROJECT_ROOT

__all__ = ["git_state", "package_versions", "hash_tree", "write_json_atomic", "read_manifest", "KEY_PACKAGES"]

KEY_PACKAGES = (
    "workbench", "papermill", "nbconvert", "ipykernel", "jupyterlab", "pandas", "numpy", "scipy", "scikit-learn",
    "jieba", "shap", "fairlearn", "pandera", "pyarrow", "matplotlib", "nbval",
)


def git_state(root: Path = PROJECT_ROOT) -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "branch": None, "note": "not a git checkout"}
    # Run outputs under reports/ are ignored by .gitignore, so they never make the tree dirty.
    status = git("status", "--porcelain", "--untracked-files=normal")
    return {
        "commit": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status),
        "changed_files": status.splitlines()[:50] if status else [],
    }


def package_versions() -> dict:
    everything = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            everything[name.lower()] = dist.version
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "key": {name: everything.get(name) for name in KEY_PACKAGES},
        "all": dict(sorted(everything.items())),
    }


def hash_tree(root: Path, *, exclude: tuple[str, ...] = ("manifest.json",)) -> list[dict]:
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel in exclude:
            continue
        files.append({"path": rel, "sha256": sha256_file(path), "bytes": path.stat().st_size})
    return files


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)


def read_manifest(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
