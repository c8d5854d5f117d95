"""Export security: keyed pseudonyms, AES-256-GCM files (tampering, wrong key, swapped files), no secret on disk."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct

import pytest
from export_support import make_cohort, new_key, scored_tables, write_run_dir

from workbench.cli import main
from workbench.errors import ConfigurationError, DecryptionError
from workbench.export import (
    ExportConfig,
    ExportKey,
    Pseudonymizer,
    build_export_batch,
    decrypt_file,
    encrypt_file,
    iter_records,
    load_batch,
    read_header,
    read_staging,
)
from workbench.export._crypto import MAGIC


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("security-cohort"))


def test_missing_or_weak_pseudonym_key_is_a_clear_error(monkeypatch, cohort, tmp_path, capsys):
    monkeypatch.delenv("WORKBENCH_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="WORKBENCH_PSEUDONYM_KEY is not set"):
        Pseudonymizer.from_env()
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", "short")
    with pytest.raises(ConfigurationError, match="too short"):
        Pseudonymizer.from_env()
    monkeypatch.delenv("WORKBENCH_PSEUDONYM_KEY")
    run_dir = write_run_dir(scored_tables(cohort), tmp_path / "run")
    assert main(["export", "--run", str(run_dir)]) == 2
    assert "WORKBENCH_PSEUDONYM_KEY" in capsys.readouterr().err
    assert not (run_dir / "artifacts" / "06_export" / "batches").exists() or not any((run_dir / "artifacts" / "06_export" / "batches").glob("eb-*"))


def test_pseudonyms_are_keyed_not_plain_hashes():
    a, b = Pseudonymizer(new_key().encode()), Pseudonymizer(new_key().encode())
    ref = a.candidate_ref("C0000001")
    assert ref == a.candidate_ref(" C0000001 ") and ref.startswith("cr_") and len(ref) == 67
    assert ref != b.candidate_ref("C0000001")
    assert ref[3:] != hashlib.sha256(b"C0000001").hexdigest()
    assert a.candidate_ref("Ａ１") == a.candidate_ref("Ａ１")  # NFC-normalised, deterministic
    assert "key_id" in repr(a) and a.key_id != b.key_id


def _key() -> ExportKey:
    return ExportKey(bytes.fromhex(new_key()))


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 10_000])
def test_encryption_round_trip_in_chunks(tmp_path, size):
    key = _key()
    plain = tmp_path / "records.jsonl"
    plain.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    encrypt_file(plain, tmp_path / "records.jsonl.enc", key, metadata={"batch_id": "eb-1", "file": "records.jsonl"}, chunk_size=4096)
    assert MAGIC + b"" in (tmp_path / "records.jsonl.enc").read_bytes()[:8]
    decrypt_file(tmp_path / "records.jsonl.enc", tmp_path / "out.jsonl", key, expected={"batch_id": "eb-1"})
    assert (tmp_path / "out.jsonl").read_bytes() == plain.read_bytes()
    # a fresh random nonce and salt per file: the same plaintext never gives the same ciphertext
    encrypt_file(plain, tmp_path / "again.enc", key, metadata={"batch_id": "eb-1", "file": "again"}, chunk_size=4096)
    h1, h2 = read_header(tmp_path / "records.jsonl.enc"), read_header(tmp_path / "again.enc")
    assert h1["nonce_prefix"] != h2["nonce_prefix"] and h1["salt"] != h2["salt"]


def _encrypted(tmp_path, key, size=20_000):
    plain = tmp_path / "records.csv"
    plain.write_bytes(b"candidate_ref,score\n" + b"cr_x,1\n" * (size // 7))
    enc = tmp_path / "records.csv.enc"
    encrypt_file(plain, enc, key, metadata={"batch_id": "eb-a", "file": "records.csv"}, chunk_size=4096)
    return enc


def _refused(enc, key, out, match, **kw):
    with pytest.raises(DecryptionError, match=match):
        decrypt_file(enc, out, key, **kw)
    assert not out.exists()  # nothing written, not even a partial file


def test_tampered_truncated_extended_or_edited_files_are_refused(tmp_path):
    key = _key()
    enc = _encrypted(tmp_path, key)
    data = enc.read_bytes()
    out = tmp_path / "out.csv"
    (header_len,) = struct.unpack(">I", data[8:12])
    body = 12 + header_len
    flipped = bytearray(data)
    flipped[body + 5000] ^= 0x01
    enc.write_bytes(bytes(flipped))
    _refused(enc, key, out, "failed authentication at chunk 1")  # byte 5000 of the body lies in chunk 1 (4096 + 16 bytes each)
    enc.write_bytes(data[: body + 2 * (4096 + 16)])  # the last chunks dropped: chunk 1 was not the final one
    _refused(enc, key, out, "failed authentication")
    enc.write_bytes(data + data[body: body + 4096 + 16])  # a chunk appended
    _refused(enc, key, out, "failed authentication")
    edited = data.replace(b'"batch_id":"eb-a"', b'"batch_id":"eb-b"')  # metadata edited to pass as another batch
    enc.write_bytes(edited)
    _refused(enc, key, out, "failed authentication", expected={"batch_id": "eb-b"})
    enc.write_bytes(b"not encrypted at all")
    _refused(enc, key, out, "not a workbench-encrypted file")


def test_wrong_key_and_swapped_files_are_refused(tmp_path):
    key = _key()
    enc = _encrypted(tmp_path, key)
    out = tmp_path / "out.csv"
    _refused(enc, _key(), out, "encrypted with another key")
    swapped = tmp_path / "records.jsonl.enc"
    shutil.copyfile(enc, swapped)  # the CSV passed off as the JSON Lines file
    _refused(swapped, key, out, "does not belong here")
    _refused(enc, key, out, "does not belong here", expected={"batch_id": "eb-other"})  # a file from another batch


def test_key_comes_from_env_or_key_file_and_bad_keys_are_not_echoed(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBENCH_EXPORT_KEY", raising=False)
    monkeypatch.delenv("WORKBENCH_EXPORT_KEY_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="WORKBENCH_EXPORT_KEY"):
        ExportKey.from_env()
    hexkey = new_key()
    monkeypatch.setenv("WORKBENCH_EXPORT_KEY", hexkey)
    assert ExportKey.from_env().key_id == ExportKey(bytes.fromhex(hexkey)).key_id
    wrong = hexkey[:-1] + "g"
    monkeypatch.setenv("WORKBENCH_EXPORT_KEY", wrong)
    with pytest.raises(ConfigurationError) as err:
        ExportKey.from_env()
    assert wrong not in str(err.value) and hexkey[:20] not in str(err.value)
    monkeypatch.delenv("WORKBENCH_EXPORT_KEY")
    key_file = tmp_path / "export.key"
    key_file.write_text(hexkey + "\n", encoding="ascii")
    monkeypatch.setenv("WORKBENCH_EXPORT_KEY_FILE", str(key_file))
    assert ExportKey.from_env().key_id == ExportKey(bytes.fromhex(hexkey)).key_id
    assert ExportKey.from_env(key_file).key_id == ExportKey(bytes.fromhex(hexkey)).key_id
    assert hexkey not in repr(ExportKey.from_env())


def test_encrypted_batch_loads_and_no_key_appears_anywhere_in_the_run(monkeypatch, cohort, tmp_path, capsys):
    pseudo_key, export_key = new_key(), new_key()
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", pseudo_key)
    monkeypatch.setenv("WORKBENCH_EXPORT_KEY", export_key)
    run_dir = write_run_dir(scored_tables(cohort, names=("张𠀀",)), tmp_path / "run")
    assert main(["export", "--run", str(run_dir), "--encrypt", "--include", "name"]) == 0
    printed = capsys.readouterr()
    batch_dir = next((run_dir / "artifacts" / "06_export" / "batches").glob("eb-*"))
    manifest = json.loads((batch_dir / "manifest.json").read_text(encoding="utf-8"))
    data_files = [f for f in manifest["files"] if f["kind"] != "schema"]
    assert all(f["encrypted"] and f["name"].endswith(".enc") for f in data_files)
    assert not any(p.suffix in (".jsonl", ".csv", ".xlsx", ".parquet") for p in batch_dir.iterdir())  # no plaintext left
    # the staging tables were loaded from the encrypted batch; reading it back needs the key
    state = read_staging(f"sqlite:///{run_dir / 'artifacts' / '06_export' / 'staging.sqlite'}")
    assert len(state["records"]) == manifest["counts"]["records_out"]
    assert any(json.loads(r)["personal_data"]["name"] == "张𠀀" for r in state["records"]["record_json"])
    records = list(iter_records(batch_dir))
    assert len(records) == manifest["counts"]["records_out"]
    # a decrypted copy through the CLI
    out = tmp_path / "plain.csv"
    assert main(["export", "decrypt", str(batch_dir / "records.csv.enc"), "--out", str(out)]) == 0
    assert "张𠀀" in out.read_text(encoding="utf-8-sig")
    # no secret anywhere: files of the run (batch, manifest, SQLite, stages) and what the commands printed
    needles = [pseudo_key.encode(), export_key.encode(), export_key.upper().encode(), bytes.fromhex(export_key)]
    for path in [p for p in run_dir.rglob("*") if p.is_file()]:
        blob = path.read_bytes()
        for needle in needles:
            assert needle not in blob, f"a key value was found in {path}"
    for text in (printed.out, printed.err):
        assert pseudo_key not in text and export_key not in text
    # the wrong key: refused, and nothing loaded
    monkeypatch.setenv("WORKBENCH_EXPORT_KEY", new_key())
    with pytest.raises(DecryptionError, match="another key"):
        load_batch(batch_dir, f"sqlite:///{tmp_path / 'other.sqlite'}")
    assert len(read_staging(f"sqlite:///{tmp_path / 'other.sqlite'}")["records"]) == 0


def test_encrypted_file_from_another_batch_is_refused_on_load(monkeypatch, cohort, tmp_path):
    monkeypatch.setenv("WORKBENCH_EXPORT_KEY", new_key())
    pseudo = Pseudonymizer(new_key().encode())
    tables = scored_tables(cohort)
    a = build_export_batch(tables, tmp_path / "a", pseudonymizer=pseudo, config=ExportConfig(encrypt=True))
    b = build_export_batch(tables, tmp_path / "b", pseudonymizer=pseudo, config=ExportConfig(encrypt=True, pass_threshold=0.5))
    shutil.copyfile(a.path / "records.jsonl.enc", b.path / "records.jsonl.enc")
    with pytest.raises(Exception, match="does not match its manifest"):
        load_batch(b.path, f"sqlite:///{tmp_path / 's.sqlite'}")
    # even with the manifest hash bypassed, the authenticated metadata names the wrong batch
    with pytest.raises(DecryptionError, match="does not belong here"):
        list(iter_records(b.path, verify=False))
