"""Every key name in a store, and the snapshots found under them.

Layout: `<cluster>/snapshots/<id>/archive.tar.gz[.enc]` then `<cluster>/snapshots/<id>/manifest.json`, written last:
a manifest's presence means the snapshot is complete, so a failed or half-done write is never listed.
"""

from __future__ import annotations

import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from . import archive
from .errors import HgbackupError, InvalidInput, NotFound
from .model import StoredObject
from .store import Store

ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
LATEST_RE = re.compile(r"^latest(?:~(\d+))?$")
CLUSTER_RE = re.compile(r"[^A-Za-z0-9._-]+")
MANIFEST = "manifest.json"


def new_snapshot_id(now: datetime) -> str:
    """`YYYYMMDDTHHMMSSZ-xxxxxx`: the first three hex digits are the milliseconds, so ids taken within one second
    still sort by time; the last three are random, so they stay unique."""
    now = now.astimezone(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{now.microsecond // 1000:03x}{secrets.token_hex(2)[:3]}"


def cluster_key(name: str) -> str:
    """A cluster name made safe for a key segment (kube context names can hold `:` and `/`)."""
    return CLUSTER_RE.sub("-", name).strip("-.") or "default"


@dataclass(frozen=True)
class SnapshotKey:
    cluster: str
    id: str


class Repository:
    def __init__(self, store: Store):
        self.store = store

    @staticmethod
    def manifest_key(key: SnapshotKey) -> str:
        return f"{key.cluster}/snapshots/{key.id}/{MANIFEST}"

    @staticmethod
    def archive_key(key: SnapshotKey, encrypted: bool) -> str:
        return f"{key.cluster}/snapshots/{key.id}/archive.tar.gz" + (".enc" if encrypted else "")

    def snapshot_keys(self, cluster: str | None = None) -> list[SnapshotKey]:
        """Complete snapshots (those with a manifest), newest first."""
        found = []
        for key in self.store.list(f"{cluster}/snapshots/" if cluster else ""):
            parts = key.split("/")
            if len(parts) == 4 and parts[1] == "snapshots" and parts[3] == MANIFEST and ID_RE.match(parts[2]):
                found.append(SnapshotKey(parts[0], parts[2]))
        return sorted(found, key=lambda k: (k.id, k.cluster), reverse=True)

    def manifests(self, cluster: str | None = None) -> tuple[list[dict], list[str]]:
        """Every readable manifest, newest first, plus a warning for each one that could not be read."""
        keys = self.snapshot_keys(cluster)
        warnings: list[str] = []

        def load(key: SnapshotKey):
            try:
                return self.manifest(key)
            except HgbackupError as exc:
                warnings.append(str(exc))
                return None

        with ThreadPoolExecutor(max_workers=8) as pool:
            loaded = list(pool.map(load, keys))
        return [m for m in loaded if m is not None], warnings

    def manifest(self, key: SnapshotKey) -> dict:
        data = self.store.get(self.manifest_key(key))
        manifest = archive.parse_manifest(data, f"snapshot {key.id}")
        manifest["_cluster_key"] = key.cluster
        return manifest

    def resolve(self, name: str, cluster: str | None = None) -> SnapshotKey:
        """An id, `latest` or `latest~N` (newest of --cluster when given, else of the whole store)."""
        latest = LATEST_RE.match(name)
        if latest:
            keys = self.snapshot_keys(cluster_key(cluster) if cluster else None)
            n = int(latest.group(1) or 0)
            if n >= len(keys):
                where = f"cluster {cluster!r}" if cluster else f"store {self.store.url}"
                raise NotFound(f"{name}: only {len(keys)} snapshot(s) in {where}")
            return keys[n]
        if not ID_RE.match(name):
            raise InvalidInput(f"{name!r} is not a snapshot id (YYYYMMDDTHHMMSSZ-xxxxxx), 'latest' or 'latest~N'")
        matches = [k for k in self.snapshot_keys(cluster_key(cluster) if cluster else None) if k.id == name]
        if not matches:
            raise NotFound(f"snapshot {name} not found in store {self.store.url}")
        return matches[0]

    def save(self, key: SnapshotKey, manifest: dict, archive_bytes: bytes) -> None:
        """Archive first, manifest last; if the manifest cannot be written, the archive is removed again."""
        encrypted = bool(manifest["archive"].get("encryption"))
        self.store.put(self.archive_key(key, encrypted), archive_bytes)
        body = {k: v for k, v in manifest.items() if not k.startswith("_")}
        try:
            self.store.put(self.manifest_key(key), archive.json_bytes(body))
        except BaseException:
            try:
                self.store.delete(self.archive_key(key, encrypted))
            except HgbackupError:
                pass
            raise

    def load(self, key: SnapshotKey, encryption_key: bytes | None = None) -> tuple[dict, list[StoredObject]]:
        """The manifest and every object of a snapshot, all checksums verified."""
        manifest = self.manifest(key)
        encrypted = bool(manifest["archive"].get("encryption"))
        data = self.store.get(self.archive_key(key, encrypted))
        return manifest, archive.open_archive(data, manifest, encryption_key)

    def delete(self, key: SnapshotKey) -> None:
        """Manifest first, so a half-removed snapshot is never listed as complete."""
        self.store.delete(self.manifest_key(key))
        for encrypted in (False, True):
            self.store.delete(self.archive_key(key, encrypted))


def default_store_url() -> str:
    return os.environ.get("HGBACKUP_STORE") or "./hgbackup-store"
