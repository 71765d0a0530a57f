"""Stores hold opaque blobs under string keys. The protocol stays tiny; repository.py owns every key name."""

from __future__ import annotations

from typing import Protocol


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
