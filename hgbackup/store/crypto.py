"""Client-side archive encryption and authentication, all from one 32-byte key.

Three subkeys are derived from the key with HKDF-SHA256, one per purpose: archive encryption (AES-256-GCM with a
fresh nonce; the snapshot id is the associated data, so an archive cannot be swapped under another snapshot), the
manifest MAC (HMAC-SHA256 over the manifest and the store folder it was written to, so no field can be edited and
no snapshot copied under another id or cluster), and object digests (HMAC-SHA256, so the manifest's per-object
digests cannot be matched against guesses of a Secret's content). The manifest records only the key's fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from ..errors import IntegrityError, InvalidInput, WrongKey

ALG = "AES-256-GCM"
MAC_ALG = "HMAC-SHA256"
DIGEST_ALG = "HMAC-SHA256"
MAGIC = b"HGBKENC2"  # 2: the archive key is an HKDF subkey (1 used the key itself)
NONCE_SIZE = 12
KEY_ENV = "HGBACKUP_ENCRYPTION_KEY"  # holds the key itself (base64)
KEY_FILE_ENV = "HGBACKUP_ENCRYPTION_KEY_FILE"  # holds a path to a file with the key


@dataclass(frozen=True)
class Keyring:
    """The reader's and writer's key, as the user gave it; `allow_unencrypted` lets a reader with a key accept
    snapshots that are not encrypted and authenticated (which it otherwise refuses as possibly forged)."""

    key: bytes | None = None
    allow_unencrypted: bool = False


def write_key_file(path: str, key: str) -> None:
    """A new file, 0600 from its creation; an existing file is never replaced (a key is not to be lost)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{path} exists: refusing to replace a key file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


KEY_FORMS = ("32 raw bytes, or the base64 of 32 bytes (what `hgbackup key generate` writes) with or without a "
             "trailing newline")
MAX_KEY_FILE = 4096  # bytes read from a key file at most: a key is 32 bytes, or 44 in base64


def parse_key(text: str, origin: str) -> bytes:
    """A key given as text ($HGBACKUP_ENCRYPTION_KEY): the base64 of 32 bytes. No message holds key material."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"encryption key from {origin} is not valid base64 (it must be the base64 of 32 "
                           "bytes)") from None
    if len(key) != 32:
        raise InvalidInput(f"encryption key from {origin} must be the base64 of 32 bytes, got {len(key)} bytes")
    return key


def parse_key_file(data: bytes, origin: str) -> bytes:
    """A key file's bytes: exactly 32 raw bytes, or the base64 of 32 bytes with or without a trailing newline
    (LF or CRLF). Anything else is refused (exit 2) naming the accepted forms, never quoting the file."""
    if len(data) == 32:
        return data
    text = data[:-2] if data.endswith(b"\r\n") else data[:-1] if data.endswith(b"\n") else data
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise InvalidInput(f"encryption key file {origin} ({len(data)} bytes) is not a key: a key file "
                           f"holds {KEY_FORMS}")
    return key


def read_key_file(path: str) -> bytes:
    """The key in a file, read as bytes (a key file need not be text)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read encryption key file {path}: {exc.strerror}") from None
    if len(data) > MAX_KEY_FILE:
        raise InvalidInput(f"encryption key file {path} is larger than any key file: it holds {KEY_FORMS}")
    return parse_key_file(data, path)


def load_key(key_file: str | None, key_text: str | None = None) -> bytes | None:
    """The key from a file (--encryption-key-file / $HGBACKUP_ENCRYPTION_KEY_FILE), else from the key text
    ($HGBACKUP_ENCRYPTION_KEY), else None. The caller reads the options and the environment."""
    if key_file:
        return read_key_file(key_file)
    if key_text:
        return parse_key(key_text, f"${KEY_ENV}")
    return None


def fingerprint(key: bytes) -> str:
    return "sha256:" + hashlib.sha256(b"hgbackup-key:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Subkeys:
    key_id: str
    archive: bytes
    manifest: bytes
    digest: bytes


@lru_cache(maxsize=8)
def subkeys(key: bytes) -> Subkeys:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    def derive(purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hgbackup " + purpose).derive(key)

    return Subkeys(fingerprint(key), derive(b"archive encryption"), derive(b"manifest mac"),
                   derive(b"object digest"))


def manifest_mac(key: bytes, payload: bytes) -> str:
    return hmac.new(subkeys(key).manifest, payload, hashlib.sha256).hexdigest()


def object_digest(key: bytes, data: bytes) -> str:
    return hmac.new(subkeys(key).digest, data, hashlib.sha256).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def encrypt(data: bytes, key: bytes, snapshot_id: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_SIZE)
    return MAGIC + nonce + AESGCM(subkeys(key).archive).encrypt(nonce, data, snapshot_id.encode())


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
        raise WrongKey(f"snapshot {snapshot_id}: wrong encryption key {fingerprint(key)}, expected {expected}")
    if len(data) < len(MAGIC) + NONCE_SIZE + 16 or not data.startswith(MAGIC):
        raise IntegrityError(f"snapshot {snapshot_id}: encrypted archive is truncated or not an hgbackup archive")
    nonce = data[len(MAGIC) : len(MAGIC) + NONCE_SIZE]
    try:
        return AESGCM(subkeys(key).archive).decrypt(nonce, data[len(MAGIC) + NONCE_SIZE :], snapshot_id.encode())
    except InvalidTag:
        raise IntegrityError(f"snapshot {snapshot_id}: archive failed authentication (corrupt or tampered)") from None


class Encryptor:
    """`encrypt` a piece at a time: the same format (magic, nonce, AES-256-GCM ciphertext, tag), for archives
    written as they are packed."""

    def __init__(self, key: bytes, snapshot_id: str):
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        nonce = os.urandom(NONCE_SIZE)
        self._cipher = Cipher(algorithms.AES(subkeys(key).archive), modes.GCM(nonce)).encryptor()
        self._cipher.authenticate_additional_data(snapshot_id.encode())
        self.header = MAGIC + nonce

    def update(self, data: bytes) -> bytes:
        return self._cipher.update(data)

    def finalize(self) -> bytes:
        return self._cipher.finalize() + self._cipher.tag
