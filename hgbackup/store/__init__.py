"""Where snapshots live. A store holds opaque blobs under string keys (protocol.py; a local folder, S3); the rest of
the package gives them meaning: key names (layout.py), manifests, archives, encryption, the manifest cache, the
repository (read, write, authenticate) and which cluster a snapshot belongs to (clusters.py). This module opens a
store from its URL."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInput
from .local import LocalStore
from .protocol import Store
from .s3 import S3Store

DEFAULT_URL = "./hgbackup-store"


def open_store(url: str, *, s3_endpoint: str | None = None, s3_sse: str | None = None,
               s3_kms_key_id: str | None = None) -> Store:
    """A store from a URL: a path or file://PATH for a local folder, s3://bucket/prefix for S3 or MinIO.
    Any other scheme is refused (exit 2) rather than taken for a folder name."""
    scheme, sep, _ = url.partition("://")
    if sep and scheme not in ("s3", "file"):
        raise InvalidInput(f"store {url!r}: unknown scheme {scheme}:// (a folder, file://PATH or s3://bucket/prefix)")
    if url.startswith("s3://"):
        if s3_endpoint is not None and not s3_endpoint.startswith(("http://", "https://")):
            raise InvalidInput(f"--s3-endpoint {s3_endpoint!r} needs a scheme: http://{s3_endpoint} or "
                               f"https://{s3_endpoint}")
        return S3Store(url, endpoint=s3_endpoint, sse=s3_sse, kms_key_id=s3_kms_key_id)
    return LocalStore(url[len("file://"):] if url.startswith("file://") else url)


SSE_MODES = ("AES256", "aws:kms")  # S3 server-side encryption: --s3-sse, a schedule file's s3ServerSideEncryption


@dataclass(frozen=True)
class StoreSettings:
    """Where the snapshots are, as the user gave it (options or environment, read by the CLI)."""

    url: str = DEFAULT_URL
    s3_endpoint: str | None = None
    s3_sse: str | None = None
    s3_kms_key_id: str | None = None

    def open(self) -> Store:
        return open_store(self.url, s3_endpoint=self.s3_endpoint, s3_sse=self.s3_sse,
                          s3_kms_key_id=self.s3_kms_key_id)
