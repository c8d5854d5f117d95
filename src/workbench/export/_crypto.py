"""AES-256-GCM file encryption for export batches, streaming (flat memory for any file size).

File layout (all integers big-endian)::

    magic "WBXENC1\\n" | header length (4 bytes) | header (canonical JSON) | chunk 0 | chunk 1 | … | last chunk

Each chunk is AES-256-GCM(ciphertext ‖ 16-byte tag) of up to ``chunk_size`` plaintext bytes. The key of a file is
derived from the export key with HKDF-SHA256 and a random 16-byte salt stored in the header; the nonce of chunk
*i* is a random 7-byte per-file prefix ‖ *i* (4 bytes) ‖ 1 if it is the last chunk else 0 (the STREAM
construction), so reordered, dropped, appended or truncated chunks fail. Every chunk authenticates the whole
header as associated data, and the header carries the batch metadata (batch id, file name, schema version,
source run): a file swapped in from another batch or renamed is refused before anything is written.

The export key comes from ``WORKBENCH_EXPORT_KEY`` (64 hex characters = 32 bytes) or a key file
(``WORKBENCH_EXPORT_KEY_FILE`` or ``--key-file``) holding the same 64 hex characters.
"""

from __future__ import annotations

import json
import os
import secrets
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import ConfigurationError, DecryptionError
from ._pseudonym import key_id

__all__ = ["EXPORT_KEY_ENV", "EXPORT_KEY_FILE_ENV", "ExportKey", "encrypt_file", "decrypt_file", "iter_decrypted", "read_header", "is_encrypted"]

EXPORT_KEY_ENV = "WORKBENCH_EXPORT_KEY"
EXPORT_KEY_FILE_ENV = "WORKBENCH_EXPORT_KEY_FILE"
MAGIC = b"WBXENC1\n"
ALGORITHM = "AES-256-GCM-STREAM-HKDF-SHA256"
DEFAULT_CHUNK = 1 << 20
_TAG = 16
_MAX_HEADER = 64 * 1024


class ExportKey:
    """A 32-byte export key. Its ``repr`` shows only the public key id."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ConfigurationError(f"the export key must be 32 bytes (64 hex characters), got {len(key)} bytes")
        self._key = key

    def __repr__(self) -> str:
        return f"ExportKey(key_id={self.key_id})"

    @property
    def key_id(self) -> str:
        return key_id(self._key, "export")

    @classmethod
    def from_env(cls, key_file: str | Path | None = None) -> ExportKey:
        """The key from ``key_file``, else ``WORKBENCH_EXPORT_KEY``, else ``WORKBENCH_EXPORT_KEY_FILE``."""
        if key_file:
            return cls(_parse_hex(Path(key_file).read_text(encoding="ascii", errors="replace"), f"key file {key_file}"))
        value = os.environ.get(EXPORT_KEY_ENV, "")
        if value.strip():
            return cls(_parse_hex(value, EXPORT_KEY_ENV))
        path = os.environ.get(EXPORT_KEY_FILE_ENV, "")
        if path.strip():
            p = Path(path.strip())
            if not p.is_file():
                raise ConfigurationError(f"{EXPORT_KEY_FILE_ENV} points to {p}, which is not a file")
            return cls(_parse_hex(p.read_text(encoding="ascii", errors="replace"), f"key file {p}"))
        raise ConfigurationError(
            f"no export key: set {EXPORT_KEY_ENV} to 64 hex characters (32 random bytes, e.g. `python -c \"import secrets; "
            f"print(secrets.token_hex(32))\"`) or {EXPORT_KEY_FILE_ENV} to a file holding them"
        )

    def _file_key(self, salt: bytes) -> AESGCM:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"workbench-export-file-v1").derive(self._key)
        return AESGCM(derived)


def _parse_hex(text: str, where: str) -> bytes:
    value = text.strip()
    if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
        # never echo the value: it may be a real key with a typo
        raise ConfigurationError(f"{where} must hold exactly 64 hex characters (a 32-byte key); it holds {len(value)} characters")
    return bytes.fromhex(value)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


def is_encrypted(path: str | Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _read_header(handle, path: Path) -> tuple[dict, bytes]:
    magic = handle.read(len(MAGIC))
    if magic != MAGIC:
        raise DecryptionError(f"{path} is not a workbench-encrypted file (wrong magic bytes)")
    raw_len = handle.read(4)
    if len(raw_len) != 4:
        raise DecryptionError(f"{path} is truncated (no header)")
    (length,) = struct.unpack(">I", raw_len)
    if not 0 < length <= _MAX_HEADER:
        raise DecryptionError(f"{path} has a damaged header (length {length})")
    header_bytes = handle.read(length)
    if len(header_bytes) != length:
        raise DecryptionError(f"{path} is truncated (header)")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DecryptionError(f"{path} has a damaged header (not JSON)") from None
    return header, MAGIC + raw_len + header_bytes


def read_header(path: str | Path) -> dict:
    """The unencrypted header of a file (algorithm, key id, batch metadata) — authenticated only on decryption."""
    path = Path(path)
    with open(path, "rb") as handle:
        return _read_header(handle, path)[0]


def encrypt_file(src: str | Path, dst: str | Path, key: ExportKey, *, metadata: dict, chunk_size: int = DEFAULT_CHUNK) -> dict:
    """Encrypt ``src`` into ``dst`` (written to a temporary name, then renamed). ``metadata`` (batch id, file name,
    …) is stored in the header and authenticated with every chunk. Returns the header."""
    src, dst = Path(src), Path(dst)
    salt, prefix = secrets.token_bytes(16), secrets.token_bytes(7)
    header = {"alg": ALGORITHM, "chunk_size": int(chunk_size), "key_id": key.key_id, "salt": salt.hex(), "nonce_prefix": prefix.hex(), "metadata": metadata}
    header_bytes = json.dumps(header, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    aad = MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes
    aead = key._file_key(salt)
    with open(src, "rb") as reader, _atomic_writer(dst, 0o666) as writer:
        writer.write(aad)
        index = 0
        current = reader.read(chunk_size)
        while True:
            following = reader.read(chunk_size)
            last = not following
            writer.write(aead.encrypt(_nonce(prefix, index, last), current, aad))
            if last:
                break
            current, index = following, index + 1
    return header


@contextmanager
def _atomic_writer(dst: Path, mode: int):
    """A binary file at a temporary name next to ``dst``, synced and renamed to ``dst`` only if the block succeeds."""
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as writer:
            yield writer
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def iter_decrypted(path: str | Path, key: ExportKey, *, expected: dict | None = None) -> Iterator[bytes]:
    """Plaintext chunks of an encrypted file, each verified before it is yielded.

    ``expected`` maps metadata fields to the values they must have (e.g. ``{"file": "records.jsonl", "batch_id": …}``);
    by default the file name must match the ``file`` it was encrypted as (``records.jsonl.enc`` ↔ ``records.jsonl``).
    A caller that must not act on partial plaintext should use :func:`decrypt_file`, which writes nothing unless
    the whole file verifies.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        header, aad = _read_header(handle, path)
        if header.get("alg") != ALGORITHM:
            raise DecryptionError(f"{path}: unsupported algorithm {header.get('alg')!r}; expected {ALGORITHM}")
        if header.get("key_id") != key.key_id:
            raise DecryptionError(
                f"{path} was encrypted with another key (key id {header.get('key_id')}); the key you supplied has key id {key.key_id}. "
                f"Use the export key of that batch"
            )
        metadata = header.get("metadata") or {}
        want = dict(expected or {})
        if path.name.endswith(".enc"):
            want.setdefault("file", path.name[: -len(".enc")])
        for field, value in want.items():
            if metadata.get(field) != value:
                raise DecryptionError(
                    f"{path} does not belong here: it was encrypted as {field}={metadata.get(field)!r}, expected {value!r} "
                    f"(a file swapped from another batch or renamed)"
                )
        try:
            aead = key._file_key(bytes.fromhex(header["salt"]))
            prefix = bytes.fromhex(header["nonce_prefix"])
            chunk = int(header["chunk_size"]) + _TAG
        except (KeyError, ValueError):
            raise DecryptionError(f"{path} has a damaged header") from None
        index = 0
        current = handle.read(chunk)
        while True:
            following = handle.read(chunk)
            last = not following
            if len(current) < _TAG:
                raise DecryptionError(f"{path} is truncated (chunk {index})")
            try:
                yield aead.decrypt(_nonce(prefix, index, last), current, aad)
            except InvalidTag:
                raise DecryptionError(
                    f"{path} failed authentication at chunk {index}: the file was modified, truncated or extended, or its header "
                    f"was edited. Do not use it; export the batch again"
                ) from None
            if last:
                return
            current, index = following, index + 1


def decrypt_file(src: str | Path, dst: str | Path, key: ExportKey, *, expected: dict | None = None) -> dict:
    """Decrypt ``src`` to ``dst``; ``dst`` appears only when every chunk verified (temporary name, then rename)."""
    src, dst = Path(src), Path(dst)
    header = read_header(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_writer(dst, 0o600) as writer:  # plaintext personal data: owner-only
        for block in iter_decrypted(src, key, expected=expected):
            writer.write(block)
    return header
