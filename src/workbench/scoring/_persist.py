"""Safe persistence of answer scorers: skops (no pickle, nothing executes on load) plus a model card.

``save_scorer`` writes ``<name>.skops`` and ``<name>.card.json``; the card records the model file's sha256, the
training-data hash, parameters, metrics, intended use, known limits and the library versions. ``load_scorer``
refuses a file whose hash does not match the card (or the hash a run manifest expects), a card written by other
library versions, and any type outside an explicit allow-list.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from .._hashing import sha256_file
from ..errors import IntegrityError

__all__ = ["TRUSTED_TYPES", "card_path_for", "load_scorer", "save_scorer", "library_versions"]

# Everything an AnswerScorer contains beyond skops' default-trusted scikit-learn/numpy types.
TRUSTED_TYPES = (
    "workbench.scoring._scorer.AnswerScorer",
    "workbench.scoring._scorer._DenseSVD",
    "workbench.scoring._featurize.AnswerFeaturizer",
    "workbench.scoring._ridge.SparseRidge",
    "scipy.sparse._csr.csr_matrix",  # the advisory topic centroids (plain data)
)
_VERSIONED = ("scikit-learn", "skops", "numpy", "scipy", "workbench")


def library_versions() -> dict[str, str]:
    out = {name: metadata.version(name) for name in _VERSIONED}
    out["python"] = platform.python_version()
    return out


def card_path_for(model_path: str | Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.name.removesuffix(".skops") + ".card.json")


def save_scorer(scorer, path: str | Path, *, card: dict | None = None) -> tuple[Path, Path]:
    """Write the scorer with skops and its model card beside it; returns (model path, card path)."""
    import skops.io as sio

    path = Path(path)
    if path.suffix != ".skops":
        raise ValueError("scorer files end in .skops")
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(scorer, path)
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        path.unlink()
        raise IntegrityError(f"the scorer contains types outside the allow-list, refusing to save: {sorted(untrusted)}")
    full_card = {
        "model_file": path.name,
        "sha256": sha256_file(path),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "format": "skops",
        "library_versions": library_versions(),
        "parameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in scorer.get_params().items()},
        **(card or {}),
    }
    card_file = card_path_for(path)
    card_file.write_text(json.dumps(full_card, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path, card_file


def load_scorer(path: str | Path, *, expected_sha256: str | None = None, check_versions: bool = True):
    """Load a scorer after verifying its hash, its card's library versions and the types it contains."""
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise IntegrityError(f"model file not found: {path}")
    card_file = card_path_for(path)
    if not card_file.is_file():
        raise IntegrityError(f"model card {card_file.name} is missing next to {path.name}; a scorer is only loaded with its card")
    card = json.loads(card_file.read_text(encoding="utf-8"))
    actual = sha256_file(path)
    if actual != card.get("sha256"):
        raise IntegrityError(
            f"{path.name} has been modified: sha256 {actual[:16]}… does not match the model card ({str(card.get('sha256'))[:16]}…); "
            "refusing to load. Restore the original file or retrain."
        )
    if expected_sha256 and actual != expected_sha256:
        raise IntegrityError(f"{path.name} is not the model the run manifest recorded (sha256 {actual[:16]}… ≠ {expected_sha256[:16]}…)")
    if check_versions:
        now = library_versions()
        recorded = card.get("library_versions", {})
        different = {k: (recorded.get(k), now[k]) for k in ("scikit-learn", "skops", "numpy", "scipy") if recorded.get(k) != now[k]}
        if different:
            detail = ", ".join(f"{k} {a} → {b}" for k, (a, b) in different.items())
            raise IntegrityError(
                f"{path.name} was saved with other library versions ({detail}); results could differ. "
                "Re-run with the locked environment (make setup) or retrain the scorer."
            )
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise IntegrityError(f"{path.name} contains types outside the allow-list: {sorted(untrusted)}; refusing to load")
    return sio.load(path, trusted=list(TRUSTED_TYPES) + list(sio.get_untrusted_types(file=path)))
