"""A store in a local folder. Writes are atomic (temp file, fsync, then rename or link), files 0600 and folders 0700.

Reading from a folder that does not exist is "no store at PATH" (exit 5), never an empty store: a mistyped path or
a command run from another directory must not look like a store without backups. A path that is a file is exit 2.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime, timezone

from ..errors import InvalidInput, NotFound, Unreachable

TMP_PREFIX = ".tmp-"
CHUNK = 2**20


class LocalStore:
    read_concurrency = 1

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.url = self.root
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise InvalidInput(f"store {self.root} is a file, not a folder")

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad store key {key!r}")
        return os.path.join(self.root, *parts)

    def _require(self) -> None:
        if not os.path.isdir(self.root):
            raise NotFound(f"no store at {self.root}")

    def listing(self, prefix: str) -> None:
        """A folder reads its small files fast (page cache): no manifest cache, so no ETags to list."""
        return None

    def put(self, key: str, data: bytes, *, overwrite: bool = True) -> None:
        """Write atomically; with overwrite=False an existing key is never replaced (FileExistsError)."""
        self._write(key, (data,), overwrite)

    def put_stream(self, key: str, chunks) -> None:
        self._write(key, chunks, False)

    def _write(self, key: str, chunks, overwrite: bool) -> None:
        """A temporary file in the key's folder, fsynced, then renamed (or linked, which fails when the key exists:
        no other writer's file is ever replaced)."""
        path = self._path(key)
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX)
            try:
                with os.fdopen(fd, "wb") as fh:
                    for chunk in chunks:
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o600)
                if overwrite:
                    os.replace(tmp, path)
                else:
                    os.link(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except FileExistsError:
            raise
        except OSError as exc:
            raise Unreachable(f"cannot write {path}: {exc.strerror}") from None

    def digest(self, key: str) -> tuple[int, str]:
        path = self._path(key)
        sha, size = hashlib.sha256(), 0
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    sha.update(chunk)
                    size += len(chunk)
        except FileNotFoundError:
            raise NotFound(f"{key} not found in store {self.url}") from None
        except OSError as exc:
            raise Unreachable(f"cannot read {path}: {exc.strerror}") from None
        return size, sha.hexdigest()

    def get(self, key: str) -> bytes:
        return self.get_at_most(key, -1)

    def get_at_most(self, key: str, limit: int) -> bytes:
        """The first `limit` + 1 bytes at most (all of them for a `limit` of -1)."""
        path = self._path(key)
        try:
            with open(path, "rb") as fh:
                return fh.read(limit + 1 if limit >= 0 else -1)
        except FileNotFoundError:
            self._require()
            raise NotFound(f"{key} not found in store {self.url}") from None
        except OSError as exc:
            raise Unreachable(f"cannot read {path}: {exc.strerror}") from None

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def _walk(self, prefix: str, hidden: bool = False):
        self._require()
        try:
            for folder, dirs, files in os.walk(self.root):
                dirs.sort()
                rel = os.path.relpath(folder, self.root)
                for name in sorted(files):
                    if name.startswith(TMP_PREFIX) != hidden:
                        continue
                    key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                    if key.startswith(prefix):
                        yield key, os.path.join(folder, name)
        except OSError as exc:
            raise Unreachable(f"cannot list {self.root}: {exc.strerror}") from None

    def list(self, prefix: str) -> list[str]:
        return [key for key, _ in self._walk(prefix)]

    def modified(self, prefix: str) -> dict[str, datetime]:
        return {key: _mtime(path) for key, path in self._walk(prefix)}

    def leftovers(self, before: datetime) -> list[str]:
        """Temporary files of writes that were killed half-way."""
        return [key for key, path in self._walk("", hidden=True) if _mtime(path) < before]

    def drop_leftover(self, name: str) -> None:
        self.delete(name)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise Unreachable(f"cannot delete {path}: {exc.strerror}") from None
        folder = os.path.dirname(path)
        while folder != self.root and folder.startswith(self.root):
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)


def _mtime(path: str) -> datetime:
    return datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc)
