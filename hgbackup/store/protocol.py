"""What a store is: opaque blobs under string keys (local.py: a folder; s3.py: a bucket). Every store implements
all of it; nothing is looked up with hasattr."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol


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
        is slow (a remote store: the repository then reads manifests through the cache, cache.py); None where it
        is not (a local folder)."""
        ...

    def put_stream(self, key: str, chunks) -> None:
        """Write the chunks of an iterable as one new key, never holding them whole; an existing key is never
        replaced (FileExistsError). Nothing is left under `key` when the iterable or the write fails."""
        ...

    def get(self, key: str) -> bytes: ...

    def get_at_most(self, key: str, limit: int) -> bytes:
        """The first `limit` + 1 bytes of `key` at most: more than `limit` means it is larger, and the rest is never
        read (for files whose size the store's writer chose: manifest caches)."""
        ...

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
