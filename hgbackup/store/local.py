"""A store in a local folder. Writes are atomic (temp file, fsync, rename), files 0600 and folders 0700."""

from __future__ import annotations

import os
import tempfile

from ..errors import NotFound, Unreachable


class LocalStore:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.url = self.root

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad store key {key!r}")
        return os.path.join(self.root, *parts)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise Unreachable(f"cannot write {path}: {exc.strerror}") from None

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise NotFound(f"{key} not found in store {self.url}") from None
        except OSError as exc:
            raise Unreachable(f"cannot read {path}: {exc.strerror}") from None

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def list(self, prefix: str) -> list[str]:
        keys = []
        if not os.path.isdir(self.root):
            return keys
        try:
            for folder, dirs, files in os.walk(self.root):
                dirs.sort()
                rel = os.path.relpath(folder, self.root)
                for name in sorted(files):
                    if name.startswith(".tmp-"):
                        continue
                    key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                    if key.startswith(prefix):
                        keys.append(key)
        except OSError as exc:
            raise Unreachable(f"cannot list {self.root}: {exc.strerror}") from None
        return keys

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
