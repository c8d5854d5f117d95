"""Keyed pseudonyms for candidate, application and assessment references (GB/T 37964 style).

``HMAC-SHA256(key, kind ‖ NFC(id))`` with the key from ``WORKBENCH_PSEUDONYM_KEY`` — never a plain hash, which
anyone could recompute from an enumerable id space. The same key gives the same reference in every batch (so
the EHR can upsert), a different key gives unrelated references; the mapping back to real ids stays in the bank.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError

__all__ = ["PSEUDONYM_KEY_ENV", "STATE_DIR_ENV", "Pseudonymizer", "RunPseudonymizer", "key_id", "pseudonymizer_for_run", "state_dir"]

PSEUDONYM_KEY_ENV = "WORKBENCH_PSEUDONYM_KEY"
STATE_DIR_ENV = "WORKBENCH_STATE_DIR"
_MIN_KEY_BYTES = 16


def key_id(key: bytes, purpose: str) -> str:
    """A public fingerprint of a key (to tell keys apart in manifests) that reveals nothing about the key."""
    return hmac.new(key, f"workbench-key-id:{purpose}".encode(), hashlib.sha256).hexdigest()[:16]


class Pseudonymizer:
    """Deterministic keyed references. Build it with :meth:`from_env` so the key never passes through parameters.

    >>> p = Pseudonymizer(b"0123456789abcdef0123456789abcdef")
    >>> p.candidate_ref("C0000001")[:3]
    'cr_'
    """

    def __init__(self, key: bytes):
        self._key = key

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymizer(key_id={self.key_id})"

    @classmethod
    def from_env(cls) -> Pseudonymizer:
        value = os.environ.get(PSEUDONYM_KEY_ENV, "")
        if not value.strip():
            raise ConfigurationError(
                f"{PSEUDONYM_KEY_ENV} is not set: exported candidate references are keyed pseudonyms and need a secret key. "
                f"Generate one with `python -c \"import secrets; print(secrets.token_hex(32))\"`, keep it in the bank's key store, "
                f"and export it as {PSEUDONYM_KEY_ENV} (the same key in every export, or references will not match)"
            )
        key = value.strip().encode("utf-8")
        if len(key) < _MIN_KEY_BYTES:
            raise ConfigurationError(f"{PSEUDONYM_KEY_ENV} is too short ({len(key)} bytes); use at least {_MIN_KEY_BYTES} random bytes, e.g. 64 hex characters")
        return cls(key)

    @property
    def key_id(self) -> str:
        return key_id(self._key, "pseudonym")

    def _mac(self, kind: str, *parts: str) -> str:
        message = "\x1f".join([kind, *(unicodedata.normalize("NFC", str(p).strip()) for p in parts)])
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def candidate_ref(self, candidate_id: str) -> str:
        return "cr_" + self._mac("candidate", candidate_id)

    def application_id(self, candidate_id: str, requisition_id: str) -> str:
        return "ap_" + self._mac("application", candidate_id, requisition_id)[:32]

    def assessment_id(self, candidate_id: str, requisition_id: str, label: str) -> str:
        return "as_" + self._mac("assessment", candidate_id, requisition_id, label)[:32]


# -- synthetic runs without a key ------------------------------------------------------------------------------
def state_dir() -> Path:
    """Where the workbench keeps machine-local state that must not live in a run directory:
    ``$WORKBENCH_STATE_DIR``, else ``$XDG_STATE_HOME/workbench``, else ``~/.local/state/workbench``."""
    if os.environ.get(STATE_DIR_ENV, "").strip():
        return Path(os.environ[STATE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_STATE_HOME", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".local" / "state") / "workbench"


@dataclass(frozen=True)
class RunPseudonymizer:
    """The pseudonymizer of one run and where its key came from: ``source`` is ``environment``
    (``WORKBENCH_PSEUDONYM_KEY``) or ``run_local`` (a random key of this synthetic run, kept in ``key_file``)."""

    pseudonymizer: Pseudonymizer
    source: str
    key_file: Path | None = None

    @property
    def key_id(self) -> str:
        return self.pseudonymizer.key_id


def _run_local_key_file(run_dir: Path, run_id: str) -> Path:
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in run_id)[:80] or "run"
    where = hashlib.sha256(str(run_dir.resolve()).encode("utf-8")).hexdigest()[:12]
    return state_dir() / "pseudonym-keys" / f"{safe}-{where}.key"


def _read_or_create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text(encoding="ascii").strip()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ConfigurationError(f"the run-local pseudonym key file {path} is damaged; delete it to start this run's references afresh, "
                                     f"or set {PSEUDONYM_KEY_ENV}") from None
        return value.encode("ascii")
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value.encode("ascii")


def pseudonymizer_for_run(run_dir: str | Path, run_id: str, *, synthetic: bool, allow_run_local: bool = True) -> RunPseudonymizer:
    """The pseudonymizer for exporting one run.

    ``WORKBENCH_PSEUDONYM_KEY`` set → that key, always. Not set → for real data (``synthetic=False``) a
    :class:`ConfigurationError` naming the variable; for a synthetic cohort (fictional candidates) and
    ``allow_run_local`` a random key of this run, created on first use and kept *outside* the run directory
    (``state_dir()/pseudonym-keys/``, mode 0600) so that re-exporting the run gives the same references while
    nothing in the run — notebooks, manifests, logs, reports — ever holds the key. Its references match no
    other run's. The caller must say so loudly (the export stage's report does).
    """
    if os.environ.get(PSEUDONYM_KEY_ENV, "").strip() or not (synthetic and allow_run_local):
        try:
            return RunPseudonymizer(Pseudonymizer.from_env(), "environment")
        except ConfigurationError as exc:
            if synthetic:
                raise
            raise ConfigurationError(f"{exc}. This run's candidates are real data (intake read data_dir), so the export refuses to "
                                     "make up a key") from None
    path = _run_local_key_file(Path(run_dir), run_id)
    return RunPseudonymizer(Pseudonymizer(_read_or_create_key(path)), "run_local", path)
