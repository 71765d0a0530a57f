"""The manifest cache of a remote store (index.py), on the real MinIO: it saves the reads and is never believed
over the manifests themselves."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from conftest import ROOT

from hgbackup.capture import snapshot
from hgbackup.capture.captured import InMemoryCapture
from hgbackup.kube.model import StoredObject
from hgbackup.kube.scope import Scope
from hgbackup.store import cache as index
from hgbackup.store import crypto, layout, open_store
from hgbackup.store.manifest import ClusterInfo
from hgbackup.store.repository import Repository

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

    def get_at_most(self, key, limit):
        self.gets.append(key)
        return self.store.get_at_most(key, limit)


def fill(repo: Repository, n: int = N) -> list[str]:
    obj = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "higress-config", "namespace": "higress-system"},
                                    "data": {"k": "v"}})
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [snapshot.write(repo, InMemoryCapture(objects=[obj], cluster=ClusterInfo("prod", "v1", "uid-1")), Scope(),
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
    names = [k for k in repo.store.list("") if k.startswith(layout.CACHE_PREFIX)]
    assert len(names) == 1 and layout.is_cache(names[0])
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
        repo.store.put(key.manifest_key, changed.to_bytes())
    repo.store.gets.clear()
    now = {i: (tags, verified) for i, tags, verified in listed(repo)}
    assert gone not in now and len(now) == N - 1
    if repo.encryption_key is None:
        assert now[edited][0] == ("edited",)
        assert repo.store.gets[1:] == [key.manifest_key]  # the cache, then the rewritten manifest only


def test_a_forged_cache_entry_is_ignored(repo):
    """Someone with write access puts a cache file that says a snapshot holds other tags: the ETag the store
    lists for that manifest does not match, so the manifest itself is read."""
    ids = fill(repo)
    before = listed(repo)
    key = next(k for k in repo.snapshot_keys() if k.id == ids[3])
    doc = json.loads(repo.store.get(key.manifest_key))
    doc["tags"] = ["forged"]
    soon = datetime.now(timezone.utc) + timedelta(hours=1)  # newer than the real one, and a plausible time
    name = layout.cache_key(soon, "0" * 16)
    repo.store.put(name, gzip.compress(json.dumps({"format": index.FORMAT, "entries": {
        key.manifest_key: json.dumps(doc)}}).encode()))
    repo.store.gets.clear()
    assert listed(repo) == before
    assert key.manifest_key in repo.store.gets


def test_a_cache_that_cannot_be_read_is_not_an_error(repo):
    fill(repo)
    before = listed(repo)
    name = next(k for k in repo.store.list("") if k.startswith(layout.CACHE_PREFIX))
    repo.store.put(name, b"not gzip")
    assert listed(repo) == before


def test_a_manifest_that_is_not_utf8_is_a_problem_and_never_cached(repo):
    """Review finding 5: one manifest among MIN_MISSES+ uncached ones holds bytes that are not UTF-8: the listing
    reports it (exit 4 for `list`), lists the others, and writes a cache of the manifests that parsed."""
    ids = fill(repo)
    key = next(k for k in repo.snapshot_keys() if k.id == ids[2])
    bad = b"\xff\xfe" + repo.store.get(key.manifest_key)
    repo.store.put(key.manifest_key, bad)
    listing = repo.snapshots()
    assert [p.key.id for p in listing.problems] == [ids[2]] and len(listing.snapshots) == N - 1
    names = [k for k in repo.store.list("") if k.startswith(layout.CACHE_PREFIX)]
    assert len(names) == 1
    entries = index.parse(index.read(repo.store, names[0]))
    assert key.manifest_key not in entries and len(entries) == N - 1
    repo.store.gets.clear()
    assert [p.key.id for p in repo.snapshots().problems] == [ids[2]]
    assert repo.store.gets == [names[0], key.manifest_key]  # the cache, and the broken manifest again
    index.save(repo.store, {key.manifest_key: bad}, repo.store.listing(""))  # given such bytes, save never raises
    names = [k for k in repo.store.list("") if k.startswith(layout.CACHE_PREFIX)]
    assert len(names) == 1 and index.parse(index.read(repo.store, names[0])) == {}


# -- hostile caches (issue 24): a cache is only an aid, never the reason a listing fails ---------------------------
def gzip_bomb(inflated_gib: int = 4) -> bytes:
    """A valid gzip file of about 4 MB that inflates to `inflated_gib` GiB of zeros (built from one fully flushed
    deflate block repeated, so the test does not compress 4 GiB)."""
    chunk = bytes(2**24)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    count = inflated_gib * 64
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + block * count + deflate.flush()
            + struct.pack("<II", crc, (count * len(chunk)) & 0xFFFFFFFF))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb()


def cache_name(data: bytes, when: str) -> str:
    return f"{layout.CACHE_PREFIX}manifests-{when}-{hashlib.sha256(data).hexdigest()[:16]}.json.gz"


LIMITED = """import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
from hgbackup.cli import cli
sys.argv[0] = "hgbackup"
cli()
"""


def run_limited(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a process of its own, with at most 2 GiB of address space (as the red team ran it)."""
    return subprocess.run([sys.executable, "-c", LIMITED, *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "HGBACKUP_DEBUG": ""})


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("hgbackup: warning:")]


@pytest.mark.parametrize("future", [True, False], ids=["future", "plausible"])
def test_a_gzip_bomb_under_the_index_is_ignored_with_one_warning(future, bomb, testenv, bucket):
    """4 MB that inflate to 4 GiB, named as the newest cache (the year 2999, or half an hour from now): every
    listing command exits normally under a 2 GiB limit, with one warning, and lists what the manifests say."""
    soon = datetime.now(timezone.utc) + timedelta(minutes=30)
    when = "29991231T235959Z" if future else f"{soon:%Y%m%dT%H%M%SZ}"
    store = open_store(f"s3://{bucket}/p", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"])
    ids = fill(Repository(store))
    st = ["--store", f"s3://{bucket}/p", "--s3-endpoint", testenv["HGBACKUP_TEST_S3_ENDPOINT"]]
    for args in (["list", "-o", "json"], ["forget", "--keep-last", "1", "--dry-run", "-o", "json"],
                 ["show", "latest", "-o", "json"]):
        store.put(cache_name(bomb, when), bomb)  # again each time: the listing replaced it with a real cache
        result = run_limited(*args, *st)
        assert result.returncode == 0, (args, result.returncode, result.stderr[-2000:])
        warned = warnings_of(result.stderr)
        assert len(warned) == 1 and "manifest cache" in warned[0] and "ignored" in warned[0], result.stderr
        doc = json.loads(result.stdout)
        if args[0] == "list":
            assert [s["id"] for s in doc] == sorted(ids, reverse=True)
        elif args[0] == "forget":
            assert len(doc["keep"]) == 1 and len(doc["remove"]) == len(ids) - 1
        else:
            assert doc["id"] == max(ids)


@pytest.mark.parametrize("content", ["inflates too far", "too large to fetch", "not json", "not the format",
                                     "truncated", "empty"])
def test_a_cache_that_is_not_one_is_ignored_and_replaced(content, repo, monkeypatch):
    """Too big (a small MAX_BYTES here, so the test stays small), not JSON, another document, a cut-off gzip
    stream, an empty file: the listing reads the manifests, and the cache it writes replaces the bad one."""
    ids = fill(repo)
    bodies = {"inflates too far": gzip.compress(json.dumps({"format": index.FORMAT,
                                                            "entries": {"x": "y" * 300_000}}).encode()),
              "too large to fetch": os.urandom(150_000),
              "not json": gzip.compress(b"{" * 100000),
              "not the format": gzip.compress(b'{"format": "other", "entries": []}'),
              "truncated": gzip.compress(json.dumps({"format": index.FORMAT, "entries": {}}).encode())[:-6],
              "empty": b""}
    monkeypatch.setattr(index, "MAX_BYTES", 100_000)  # 20 real manifests need about 30 KB
    bad = cache_name(bodies[content], "20260101T000000Z")
    repo.store.put(bad, bodies[content])
    assert [i for i, _, _ in listed(repo)] == sorted(ids, reverse=True)
    caches = [k for k in repo.store.list("") if k.startswith(layout.CACHE_PREFIX)]
    assert bad not in caches


@pytest.mark.kube
def test_schedule_run_with_a_bomb_in_the_index_writes_one_snapshot_and_exits_0(populated, kubeconfig, testenv,
                                                                                bucket, bomb, tmp_path):
    """The CronJob's command: the snapshot is written, retention runs over the manifests, exit 0 (not 70, which
    the Job would retry into three snapshots a night and no retention)."""
    hns, app, _ = populated
    store = open_store(f"s3://{bucket}/backups", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"])
    store.put(cache_name(bomb, "29991231T235959Z"), bomb)
    path = tmp_path / "sched.yaml"
    path.write_text(yaml.safe_dump({
        "name": "bomb", "schedule": "0 * * * *", "store": f"s3://{bucket}/backups",
        "s3Endpoint": testenv["HGBACKUP_TEST_S3_ENDPOINT"], "cluster": "bomb",
        "scope": {"higress_namespace": hns, "namespaces": [hns, app]}, "retention": {"keep_last": 1}}))
    first = run_limited("schedule", "run", str(path), "--kubeconfig", kubeconfig)
    second = run_limited("schedule", "run", str(path), "--kubeconfig", kubeconfig)
    for result in (first, second):
        assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert json.loads(second.stdout)["removed"] == [json.loads(first.stdout)["snapshot"]]
    assert [k.id for k in Repository(store).snapshot_keys()] == [json.loads(second.stdout)["snapshot"]]


# the peak of this process's own memory (VmHWM, KiB): ru_maxrss would carry the test runner's peak across fork+exec
MEASURED = """import atexit, os, re, sys
atexit.register(lambda: open(os.environ["RSS_FILE"], "w").write(
    re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)))
from hgbackup.cli import cli
sys.argv[0] = "hgbackup"
cli()
"""


def test_a_plausible_bomb_costs_no_more_than_the_listed_manifests(bomb, testenv, bucket, tmp_path):
    """The inflate bound comes from the listing (twice the listed manifests' size, and some room), not from the
    256 MiB a cache may hold at most: a bomb named as a plausible newest cache of a store of 20 small snapshots is
    given up after about a MiB (peak RSS stayed near 330 MiB while it inflated to MAX_BYTES)."""
    soon = datetime.now(timezone.utc) + timedelta(minutes=30)
    store = open_store(f"s3://{bucket}/p", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"])
    fill(Repository(store))
    listed = store.listing("")
    assert index.limit(listed) < 4 * 2**20
    small = zlib.compress(bytes(2**26), 9, wbits=31)  # 64 KiB that inflate to 64 MiB: within the old bound
    for data, refusal in ((bomb, "larger than a cache of the listed manifests can be"),
                          (small, "inflates beyond what a cache of the listed manifests can hold")):
        store.put(cache_name(data, f"{soon:%Y%m%dT%H%M%SZ}"), data)
        rss = tmp_path / "rss"
        result = subprocess.run([sys.executable, "-c", MEASURED, "list", "--store", f"s3://{bucket}/p",
                                 "--s3-endpoint", testenv["HGBACKUP_TEST_S3_ENDPOINT"]], capture_output=True,
                                text=True, timeout=300, cwd=ROOT, env={**os.environ, "RSS_FILE": str(rss)})
        assert result.returncode == 0, result.stderr[-2000:]
        assert refusal in result.stderr
        assert int(rss.read_text()) < 120 * 1024, int(rss.read_text())  # KiB
