"""Where snapshots live. A store holds opaque blobs under string keys (this protocol, a local folder, S3); the rest of
the package gives them meaning: key names (repository.py), manifests, archives, encryption, the manifest cache,
and which cluster a snapshot belongs to (clusters.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from ..errors import InvalidInput

DEFAULT_URL = "./hgbackup-store"


class Listed(NamedTuple):
    """A key as one LIST of a remote store shows it: its ETag (for a single PUT, the MD5 of the content) and size."""

    etag: str
    size: int


class Store(Protocol):
    url: str
    # how many reads pay to run at once: a network store hides latency with many, a local folder reads from the
    # page cache and only loses to thread switching
    read_concurrency: int

    def put(self, key: str, data: bytes, *, overwrite: bool = True) -> None:
        """Write `data` under `key`; with overwrite=False an existing key is never replaced (FileExistsError)."""
        ...

    def listing(self, prefix: str) -> dict[str, Listed] | None:
        """Keys under `prefix` with their ETag and size from one LIST, where reading many small objects one by one
        is slow (a remote store: repository.py then reads manifests through the cache in index.py); None where it
        is not (a local folder)."""
        ...

    def put_stream(self, key: str, chunks) -> None:
        """Write the chunks of an iterable as one new key, never holding them whole; an existing key is never
        replaced (FileExistsError). Nothing is left under `key` when the iterable or the write fails."""
        ...

    def get(self, key: str) -> bytes: ...

    def digest(self, key: str) -> tuple[int, str]:
        """Size and sha256 of what the store holds under `key`, read a piece at a time."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def modified(self, prefix: str) -> dict[str, datetime]:
        """Keys under `prefix` with their last-modified times (UTC)."""
        ...

    def leftovers(self, before: datetime) -> list[str]:
        """Traces of writes that never finished and are older than `before` (temporary files, multipart
        uploads), as names `drop_leftover` takes."""
        ...

    def drop_leftover(self, name: str) -> None: ...


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
        from .s3 import S3Store

        return S3Store(url, endpoint=s3_endpoint, sse=s3_sse, kms_key_id=s3_kms_key_id)
    from .local import LocalStore

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
