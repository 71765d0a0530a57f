"""Stores hold opaque blobs under string keys. The protocol stays tiny; repository.py owns every key name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

DEFAULT_URL = "./hgbackup-store"


class Store(Protocol):
    url: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...


def open_store(url: str, *, s3_endpoint: str | None = None, s3_sse: str | None = None,
               s3_kms_key_id: str | None = None) -> Store:
    """A store from a URL: a path or file://PATH for a local folder, s3://bucket/prefix for S3 or MinIO."""
    if url.startswith("s3://"):
        from .s3 import S3Store

        return S3Store(url, endpoint=s3_endpoint, sse=s3_sse, kms_key_id=s3_kms_key_id)
    from .local import LocalStore

    return LocalStore(url[len("file://"):] if url.startswith("file://") else url)


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
