"""Where things live. Every path in the workbench is resolved from the project root, never the cwd."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PROJECT_ROOT", "DATA_DIR", "NOTEBOOKS_DIR", "PROFILES_DIR", "REPORTS_DIR", "project_root"]


def project_root() -> Path:
    """The repository root: ``WORKBENCH_ROOT`` if set, else the checkout this package was installed from."""
    env = os.environ.get("WORKBENCH_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "notebooks").is_dir():
            return parent
    # Installed as a plain wheel: fall back to the working directory, the only sensible anchor left.
    return Path.cwd().resolve()


PROJECT_ROOT = project_root()
DATA_DIR = PROJECT_ROOT / "data"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
PROFILES_DIR = PROJECT_ROOT / "profiles"
REPORTS_DIR = PROJECT_ROOT / "reports"
