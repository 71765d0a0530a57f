"""Every key name in a store, built and parsed here and nowhere else (as velero's object_store_layout.go does):

    <cluster>/snapshots/<id>/archive.tar.gz[.enc]   the archive (`.enc`: encrypted), written first
    <cluster>/snapshots/<id>/manifest.json          the manifest, written last: its presence means complete
    _index/manifests-<UTC time>-<16 hex>.json.gz    the manifest cache (cache.py)

`<cluster>` is a cluster name made safe for a key segment (`cluster_key`): every lookup by cluster (list, forget,
show, restore, diff, safety snapshots) goes through it, so a kube context name and its folder name find the same
snapshots. `<id>` is `new_snapshot_id`'s.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6,12}$")
# the start of an id, as a user may give it (restic and git take unique prefixes)
ID_PREFIX_RE = re.compile(r"^\d{1,8}$|^\d{8}T\d{0,6}$|^\d{8}T\d{6}Z(-[0-9a-f]{0,12})?$")
CLUSTER_RE = re.compile(r"[^A-Za-z0-9._-]+")
SNAPSHOTS = "snapshots"
MANIFEST = "manifest.json"
ARCHIVE = "archive.tar.gz"
ENCRYPTED = ".enc"
CACHE_PREFIX = "_index/"
CACHE_RE = re.compile(r"^_index/manifests-(\d{8}T\d{6}Z)-[0-9a-f]{16}\.json\.gz$")
CACHE_TIME = "%Y%m%dT%H%M%SZ"


def new_snapshot_id(now: datetime) -> str:
    """`YYYYMMDDTHHMMSSZ-xxxxxxxxxxxx`: the first three hex digits are the milliseconds, so ids taken within one
    second still sort by time; the last nine are random (36 bits: two snapshots in the same millisecond clash once
    in 68 billion, and a clash is never written over, see Repository.save)."""
    now = now.astimezone(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{now.microsecond // 1000:03x}{secrets.token_hex(5)[:9]}"


def cluster_key(name: str) -> str:
    """A cluster name made safe for a key segment (kube context names can hold `:` and `/`)."""
    return CLUSTER_RE.sub("-", name).strip("-.") or "default"


@dataclass(frozen=True, order=True)
class SnapshotKey:
    """Where a snapshot lives in a store: the folder `<cluster>/snapshots/<id>`."""

    cluster: str
    id: str

    @property
    def folder(self) -> str:
        return f"{self.cluster}/{SNAPSHOTS}/{self.id}"

    @property
    def manifest_key(self) -> str:
        return f"{self.folder}/{MANIFEST}"

    def archive_key(self, encrypted: bool) -> str:
        return f"{self.folder}/{ARCHIVE}" + (ENCRYPTED if encrypted else "")


def parse(key: str) -> tuple[SnapshotKey, str] | None:
    """(the snapshot folder, the file name) of a key inside a snapshot folder; None for any other key. The id is
    not checked (see `manifest_of`)."""
    parts = key.split("/")
    if len(parts) == 4 and parts[1] == SNAPSHOTS:
        return SnapshotKey(parts[0], parts[2]), parts[3]
    return None


def manifest_of(key: str) -> SnapshotKey | None:
    """The snapshot whose manifest `key` is (its id well formed), or None."""
    found = parse(key)
    if found is None or found[1] != MANIFEST or not ID_RE.match(found[0].id):
        return None
    return found[0]


def is_archive(name: str) -> bool:
    """A file name in a snapshot folder that an archive write leaves (plain or encrypted)."""
    return name.startswith(ARCHIVE)


def cache_key(written: datetime, content_hash: str) -> str:
    """A manifest cache file's key: named by when it was written (UTC) and its content's hash."""
    return f"{CACHE_PREFIX}manifests-{written.astimezone(timezone.utc):{CACHE_TIME}}-{content_hash[:16]}.json.gz"


def is_cache(key: str) -> bool:
    return CACHE_RE.match(key) is not None


def cache_written(key: str) -> datetime | None:
    """When a cache file says it was written; None when its name holds no real time (a month 13, say)."""
    try:
        return datetime.strptime(CACHE_RE.match(key).group(1), CACHE_TIME).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
