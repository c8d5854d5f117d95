"""WeCom callback crypto, exactly as documented (加解密方案, developer.work.weixin.qq.com/document/path/91144).

* signature: ``msg_signature = hex(SHA1(concat(sorted([token, timestamp, nonce, encrypt]))))``;
* key: ``AESKey = Base64_Decode(EncodingAESKey + "=")`` — 43 characters give 32 bytes: AES-256;
* cipher: AES-256-CBC, IV = the first 16 bytes of the key, PKCS#7 padding to a multiple of **32** bytes;
* plaintext: ``random(16 B) ‖ msg_len (4 B, network byte order) ‖ msg ‖ receiveid`` — receiveid is the CorpID
  for a self-built app; a message for another receiver is refused.

Checked against the official sample vectors (``callback/Sample.py`` of the official Python sample, repository
sbzhu/weworkapi_python) in ``tests/test_wecom_callback.py``. There is no MAC over the ciphertext: integrity
rests on the signature, whose only secret is the Token — keep it long and out of logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import struct
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import CallbackRejected, ConfigurationError

__all__ = ["WeComCrypto", "CALLBACK_ENV", "parse_xml"]

CALLBACK_ENV = {"token": "WORKBENCH_WECOM_CALLBACK_TOKEN", "aes_key": "WORKBENCH_WECOM_ENCODING_AES_KEY", "receive_id": "WORKBENCH_WECOM_CORP_ID"}
_BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16: a standard 16-byte unpadder fails on half of all messages
_MAX_BODY = 64 * 1024


def parse_xml(data: bytes | str) -> ET.Element:
    """Parse a small XML document, refusing DTDs and entities (no XXE, no entity expansion)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > _MAX_BODY:
        raise CallbackRejected("bad_xml", "XML body too large")
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise CallbackRejected("bad_xml", "XML with a DTD or entities is refused")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise CallbackRejected("bad_xml", f"malformed XML: {exc}") from None


class WeComCrypto:
    """Verify, decrypt and encrypt WeCom callback messages for one app (Token, EncodingAESKey, receive id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        if not token:
            raise ConfigurationError("the callback Token is empty")
        if len(encoding_aes_key or "") != 43 or not encoding_aes_key.isalnum():
            raise ConfigurationError("EncodingAESKey must be exactly 43 letters and digits (as shown in the WeCom admin console)")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise ConfigurationError("EncodingAESKey is not valid Base64") from None
        if len(key) != 32:
            raise ConfigurationError("EncodingAESKey must decode to 32 bytes")
        self._token = token
        self._key = key
        self.receive_id = receive_id

    def __repr__(self) -> str:
        return f"WeComCrypto(receive_id={self.receive_id!r}, token=***, aes_key=***)"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "WeComCrypto":
        env = os.environ if env is None else env
        missing = [v for v in CALLBACK_ENV.values() if not env.get(v)]
        if missing:
            raise ConfigurationError(f"callback settings missing from the environment: {', '.join(missing)}")
        return cls(env[CALLBACK_ENV["token"]], env[CALLBACK_ENV["aes_key"]], env[CALLBACK_ENV["receive_id"]])

    # ------------------------------------------------------------------------------------------ signature
    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        parts = sorted([self._token, str(timestamp), str(nonce), str(encrypt)])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        expected = self.signature(timestamp, nonce, encrypt)
        return hmac.compare_digest(expected.encode("ascii"), str(msg_signature or "").lower().encode("ascii", "replace"))

    # ------------------------------------------------------------------------------------------ cipher
    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, msg: str | bytes, *, random16: bytes | None = None) -> str:
        body = msg.encode("utf-8") if isinstance(msg, str) else msg
        rand = random16 if random16 is not None else secrets.token_bytes(16)
        if len(rand) != 16:
            raise ValueError("random16 must be 16 bytes")
        plain = rand + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        pad = _BLOCK - len(plain) % _BLOCK
        plain += bytes([pad]) * pad
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """The ``msg`` inside ``encrypt``; raises :class:`CallbackRejected` (decrypt_failed / wrong_receiver)."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackRejected("decrypt_failed", "ciphertext is not Base64") from None
        if not data or len(data) % 16:
            raise CallbackRejected("decrypt_failed", "ciphertext length is not a multiple of the AES block")
        dec = self._cipher().decryptor()
        plain = dec.update(data) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackRejected("decrypt_failed", "bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CallbackRejected("decrypt_failed", "plaintext too short")
        (n,) = struct.unpack(">I", plain[16:20])
        if 20 + n > len(plain):
            raise CallbackRejected("decrypt_failed", "message length exceeds the plaintext")
        msg, receiver = plain[20:20 + n], plain[20 + n:]
        if not hmac.compare_digest(receiver, self.receive_id.encode("utf-8")):
            raise CallbackRejected("wrong_receiver", "message is for another receiver id")
        return msg

    # ------------------------------------------------------------------------------------------ envelopes
    @staticmethod
    def extract_encrypt(body: bytes) -> str:
        """``Encrypt`` from a POST body: XML ``<xml><Encrypt>…`` or JSON ``{"encrypt": …}``."""
        text = body.strip()
        if text.startswith(b"{"):
            try:
                value = json.loads(text.decode("utf-8")).get("encrypt")
            except (ValueError, UnicodeDecodeError, AttributeError):
                raise CallbackRejected("bad_xml", "malformed JSON envelope") from None
        else:
            node = parse_xml(text).find("Encrypt")
            value = node.text if node is not None else None
        if not value:
            raise CallbackRejected("bad_xml", "no Encrypt field")
        return value.strip()

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL verification (GET): check the signature over ``echostr`` and return its decrypted content."""
        if not self.verify(msg_signature, timestamp, nonce, echostr):
            raise CallbackRejected("bad_signature")
        return self.decrypt(echostr).decode("utf-8")

    def decrypt_message(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> bytes:
        encrypt = self.extract_encrypt(body)
        if not self.verify(msg_signature, timestamp, nonce, encrypt):
            raise CallbackRejected("bad_signature")
        return self.decrypt(encrypt)

    def encrypt_message(self, msg: str | bytes, *, timestamp: str, nonce: str, random16: bytes | None = None) -> tuple[bytes, str]:
        """An encrypted POST body as WeCom sends it, and its ``msg_signature`` (for tests and passive replies)."""
        encrypt = self.encrypt(msg, random16=random16)
        sig = self.signature(timestamp, nonce, encrypt)
        body = (f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                f"<AgentID><![CDATA[1000002]]></AgentID></xml>").encode("utf-8")
        return body, sig
