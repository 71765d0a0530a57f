"""Client-side archive encryption: AES-256-GCM with a fresh nonce per archive.

An encrypted archive is MAGIC + nonce + ciphertext; the snapshot id is bound in as associated data, so an archive
cannot be swapped under another snapshot's manifest. The manifest records only the key's fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from .errors import IntegrityError, InvalidInput

ALG = "AES-256-GCM"
MAGIC = b"HGBKENC1"
NONCE_SIZE = 12
KEY_ENV = "HGBACKUP_ENCRYPTION_KEY"  # holds the key itself (base64)
KEY_FILE_ENV = "HGBACKUP_ENCRYPTION_KEY_FILE"  # holds a path to a file with the key


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


def parse_key(text: str, origin: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"encryption key from {origin} is not valid base64") from None
    if len(key) != 32:
        raise InvalidInput(f"encryption key from {origin} must be 32 bytes (base64), got {len(key)}")
    return key


def load_key(key_file: str | None, key_text: str | None = None) -> bytes | None:
    """The key from a file (--encryption-key-file / $HGBACKUP_ENCRYPTION_KEY_FILE), else from the key text
    ($HGBACKUP_ENCRYPTION_KEY), else None. The caller reads the options and the environment."""
    if key_file:
        try:
            with open(key_file, encoding="utf-8") as fh:
                return parse_key(fh.read(), key_file)
        except OSError as exc:
            raise InvalidInput(f"cannot read encryption key file {key_file}: {exc.strerror}") from None
    if key_text:
        return parse_key(key_text, f"${KEY_ENV}")
    return None


def fingerprint(key: bytes) -> str:
    return "sha256:" + hashlib.sha256(b"hgbackup-key:" + key).hexdigest()[:16]


def encrypt(data: bytes, key: bytes, snapshot_id: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_SIZE)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, data, snapshot_id.encode())


def decrypt(data: bytes, key: bytes | None, encryption, snapshot_id: str) -> bytes:
    """Decrypt an archive; `encryption` is the manifest's record (alg, key_id)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    expected = encryption.key_id
    if encryption.alg != ALG:
        raise IntegrityError(f"snapshot {snapshot_id}: unknown encryption algorithm {encryption.alg!r:.40}")
    if key is None:
        raise IntegrityError(f"snapshot {snapshot_id} is encrypted with key {expected}: give it with "
                             f"--encryption-key-file, ${KEY_FILE_ENV} or ${KEY_ENV}")
    if fingerprint(key) != expected:
        raise IntegrityError(f"snapshot {snapshot_id}: wrong encryption key {fingerprint(key)}, expected {expected}")
    if len(data) < len(MAGIC) + NONCE_SIZE + 16 or not data.startswith(MAGIC):
        raise IntegrityError(f"snapshot {snapshot_id}: encrypted archive is truncated or not an hgbackup archive")
    nonce = data[len(MAGIC) : len(MAGIC) + NONCE_SIZE]
    try:
        return AESGCM(key).decrypt(nonce, data[len(MAGIC) + NONCE_SIZE :], snapshot_id.encode())
    except InvalidTag:
        raise IntegrityError(f"snapshot {snapshot_id}: archive failed authentication (corrupt or tampered)") from None
