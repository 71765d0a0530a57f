"""The manifest cache of a remote store (index.py), on the real MinIO: it saves the reads and is never believed
over the manifests themselves."""

from __future__ import annotations

import dataclasses
import gzip
import json
from datetime import datetime, timedelta, timezone

import pytest

from hgbackup import crypto, index, snapshot
from hgbackup.model import StoredObject
from hgbackup.repository import Repository
from hgbackup.selection import Scope
from hgbackup.store import open_store

pytestmark = pytest.mark.s3

N = index.MIN_MISSES + 4


class CountingStore:
    """The real S3 store, counting the GETs hgbackup makes through it."""

    def __init__(self, store):
        self.store, self.gets = store, []

    def __getattr__(self, name):
        return getattr(self.store, name)

    def get(self, key):
        self.gets.append(key)
        return self.store.get(key)


def fill(repo: Repository, n: int = N) -> list[str]:
    obj = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "higress-config", "namespace": "higress-system"},
                                    "data": {"k": "v"}})
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [snapshot.write(repo, snapshot.Capture([obj], snapshot.ClusterInfo("prod", "v1", "uid-1")), Scope(),
                           now=start + timedelta(hours=i)).id for i in range(n)]


@pytest.fixture(params=[False, True], ids=["plain", "keyed"])
def repo(request, testenv, bucket):
    store = CountingStore(open_store(f"s3://{bucket}/p", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"]))
    key = crypto.parse_key(crypto.generate_key(), "test") if request.param else None
    return Repository(store, crypto.Keyring(key))


def listed(repo: Repository) -> list[tuple]:
    return [(s.id, s.manifest.tags, s.verified) for s in repo.snapshots().snapshots]


def test_a_listing_writes_the_cache_and_the_next_reads_one_object(repo):
    ids = fill(repo)
    first = listed(repo)
    assert [i for i, _, _ in first] == sorted(ids, reverse=True)
    assert len(repo.store.gets) == N
    names = [k for k in repo.store.list("") if k.startswith(index.PREFIX)]
    assert len(names) == 1 and index.NAME.match(names[0])
    repo.store.gets.clear()
    assert listed(repo) == first
    assert repo.store.gets == names  # the cache, and not one manifest


def test_a_deleted_or_rewritten_snapshot_is_never_taken_from_the_cache(repo):
    ids = fill(repo)
    listed(repo)
    gone, edited = ids[0], ids[1]
    repo.delete(next(k for k in repo.snapshot_keys() if k.id == gone))
    key = next(k for k in repo.snapshot_keys() if k.id == edited)
    snap = repo.snapshot(key)
    if repo.encryption_key is None:  # rewrite it: another tag (without a key nothing can stop that)
        changed = dataclasses.replace(snap.manifest, tags=("edited",))
        repo.store.put(repo.manifest_key(key), changed.to_bytes())
    repo.store.gets.clear()
    now = {i: (tags, verified) for i, tags, verified in listed(repo)}
    assert gone not in now and len(now) == N - 1
    if repo.encryption_key is None:
        assert now[edited][0] == ("edited",)
        assert repo.store.gets[1:] == [repo.manifest_key(key)]  # the cache, then the rewritten manifest only


def test_a_forged_cache_entry_is_ignored(repo):
    """Someone with write access puts a cache file that says a snapshot holds other tags: the ETag the store
    lists for that manifest does not match, so the manifest itself is read."""
    ids = fill(repo)
    before = listed(repo)
    key = next(k for k in repo.snapshot_keys() if k.id == ids[3])
    doc = json.loads(repo.store.get(repo.manifest_key(key)))
    doc["tags"] = ["forged"]
    name = f"{index.PREFIX}manifests-29990101T000000Z-{'0' * 16}.json.gz"  # newer than any real one
    repo.store.put(name, gzip.compress(json.dumps({"format": index.FORMAT, "entries": {
        repo.manifest_key(key): json.dumps(doc)}}).encode()))
    repo.store.gets.clear()
    assert listed(repo) == before
    assert repo.manifest_key(key) in repo.store.gets


def test_a_cache_that_cannot_be_read_is_not_an_error(repo):
    fill(repo)
    before = listed(repo)
    name = next(k for k in repo.store.list("") if k.startswith(index.PREFIX))
    repo.store.put(name, b"not gzip")
    assert listed(repo) == before
