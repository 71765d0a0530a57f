"""Issue 12's attacks by someone who can write to the backup store but holds no key and no cluster rights.

Every attack ends in a refusal (exit 4 for snapshot content, 2 for input), and an unreachable kubeconfig proves
that no restore contacted a cluster before refusing.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile

import pytest
import yaml
from conftest import EXAMPLE, manifest_for, run

from hgbackup.kube.model import StoredObject
from hgbackup.store import crypto, open_store
from hgbackup.store.layout import SnapshotKey
from hgbackup.store.manifest import ArchiveRecord, ClusterInfo
from hgbackup.store.repository import Repository

NOWHERE = ["--kubeconfig", "/nonexistent/kubeconfig"]  # a restore that got past the checks would fail with 6


@pytest.fixture
def store(store_args):
    return store_args


def repo_of(store, keyfile=None) -> Repository:
    keyring = crypto.Keyring(crypto.load_key(keyfile)) if keyfile else None
    return Repository(open_store(store[0], s3_endpoint=store[2] if len(store) > 2 else None), keyring)


def encrypted_snapshot(store, keyfile) -> str:
    return json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", *store, "--encryption-key-file", keyfile,
                          "-o", "json").stdout)["id"]


def forge(repo: Repository, key: SnapshotKey, objects: list[StoredObject], scope: dict | None = None,
          cluster: str = "default") -> None:
    """What an attacker without the key can write: a well-formed plaintext snapshot with matching checksums."""
    data, manifest = manifest_for(objects, snapshot_id=key.id)
    manifest = dataclasses.replace(manifest, cluster=ClusterInfo(cluster), scope=scope or manifest.scope)
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())


# -- 1. downgrade ----------------------------------------------------------------------------------------------------
def test_a_plaintext_snapshot_forged_over_an_encrypted_one_is_refused(store, keyfile):
    sid = encrypted_snapshot(store, keyfile)
    repo = repo_of(store)
    key = repo.resolve(sid)
    repo.store.delete(key.archive_key(True))
    evil = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "higress-config", "namespace": "higress-system"},
                                     "data": {"higress": "evil"}})
    forge(repo, key, [evil])
    enc = ["--store", *store, "--encryption-key-file", keyfile]
    result = run("verify", sid, *enc, code=4)
    assert "is not encrypted, though a key was given" in result.stdout
    restored = run("restore", sid, *enc, *NOWHERE, "--yes", code=4)
    assert "is not encrypted, though a key was given" in restored.stderr
    run("verify", sid, *enc, "--allow-unencrypted")  # the escape hatch reads it, knowingly


def test_a_stripped_encryption_block_is_exit_4_with_or_without_the_key(store, keyfile):
    sid = encrypted_snapshot(store, keyfile)
    repo = repo_of(store)
    key = repo.resolve(sid)
    manifest = repo.snapshot(key).manifest
    stripped = dataclasses.replace(manifest, archive=dataclasses.replace(manifest.archive, encryption=None))
    repo.store.put(key.manifest_key, stripped.to_bytes())
    with_key = run("verify", sid, "--store", *store, "--encryption-key-file", keyfile, code=4)
    assert "is not encrypted" in with_key.stdout
    without = run("verify", sid, "--store", *store, code=4)
    assert "store holds the other kind" in without.stdout  # not a "not found" (exit 5)


# -- 2. scope edit ---------------------------------------------------------------------------------------------------
def test_editing_any_manifest_field_of_an_encrypted_snapshot_is_exit_4(store, keyfile):
    sid = encrypted_snapshot(store, keyfile)
    repo = repo_of(store)
    key = repo.resolve(sid)
    original = repo.store.get(key.manifest_key)
    for edit in ({"scope": {"higress_namespace": "kube-system", "secret_selectors": ["!nonexistent"]}},
                 {"tags": ["pre-restore"]}, {"created": "2030-01-01T00:00:00Z"}, {"partial": True}):
        doc = json.loads(original)
        doc.update(edit)
        repo.store.put(key.manifest_key, json.dumps(doc).encode())
        result = run("restore", sid, "--store", *store, "--encryption-key-file", keyfile, *NOWHERE, "--prune",
                     "--yes", code=4)
        assert "manifest failed authentication" in result.stderr, edit
    repo.store.put(key.manifest_key, original)
    run("verify", sid, "--store", *store, "--encryption-key-file", keyfile)


# -- 4. replay -------------------------------------------------------------------------------------------------------
def test_an_old_snapshot_copied_under_a_newer_id_is_refused_and_listed_once(store, keyfile):
    old = encrypted_snapshot(store, keyfile)
    repo = repo_of(store)
    key = repo.resolve(old)
    newer = SnapshotKey(key.cluster, "20991231T235959Z-abcdef")
    for encrypted in (True,):
        repo.store.put(newer.archive_key(encrypted), repo.store.get(key.archive_key(encrypted)))
    repo.store.put(newer.manifest_key, repo.store.get(key.manifest_key))
    listed = run("list", "--store", *store, "-o", "json", code=4)
    assert [r["id"] for r in json.loads(listed.stdout)] == [old]  # one id, listed once; the copy reported
    assert "its manifest names another id" in listed.stderr
    skipped = run("restore", "latest", "--cluster", key.cluster, "--store", *store, "--encryption-key-file", keyfile,
                  *NOWHERE, "--yes", code=4)
    assert "would skip 20991231T235959Z-abcdef, which cannot be read" in skipped.stderr
    # the same copy with its id rewritten in the manifest: the MAC binds id and folder
    doc = json.loads(repo.store.get(key.manifest_key))
    doc["id"] = newer.id
    repo.store.put(newer.manifest_key, json.dumps(doc).encode())
    result = run("verify", newer.id, "--store", *store, "--encryption-key-file", keyfile, code=4)
    assert "manifest failed authentication" in result.stdout
    # and under another cluster folder
    other = SnapshotKey("prod", old)
    repo.store.put(other.archive_key(True), repo.store.get(key.archive_key(True)))
    repo.store.put(other.manifest_key, repo.store.get(key.manifest_key))
    result = run("verify", "--all", "--store", *store, "--encryption-key-file", keyfile, "-o", "json", code=4)
    by_folder = {(r["cluster"], r["id"]): r["ok"] for r in json.loads(result.stdout)}
    assert by_folder[(key.cluster, old)] is True and by_folder[("prod", old)] is False


# -- 5. guessable digests --------------------------------------------------------------------------------------------
def test_encrypted_manifests_carry_keyed_digests_only(tmp_path, keyfile):
    store = [str(tmp_path / "store")]
    sid = encrypted_snapshot(store, keyfile)
    repo = repo_of(store, keyfile)
    snap, objects = repo.load(repo.resolve(sid))
    plain = {o.sha256 for o in objects}
    listed = {e.sha256 for e in snap.manifest.objects}
    assert len(listed) == len(objects) and not plain & listed
    manifest_text = repo.store.get(snap.key.manifest_key).decode()
    assert not any(digest in manifest_text for digest in plain)


# -- 7. odd names ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Café", "../escape", "a/b", "nul\x00byte", "new\nline", "x" * 254])
def test_names_the_api_server_would_refuse_are_exit_2_and_nothing_is_written(name, tmp_path):
    items = yaml.safe_load(open(EXAMPLE))["items"]
    items.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                  "metadata": {"name": name, "namespace": "shop"}, "spec": {}})
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    store = tmp_path / "store"
    result = run("snapshot", "--from-file", str(path), "--store", str(store), code=2)
    assert "invalid object names" in result.stderr and "nothing was written" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not store.exists()


def test_a_gzip_bomb_with_a_declared_size_is_refused_without_inflating_it(tmp_path):
    import resource

    store = [str(tmp_path / "store")]
    repo = repo_of(store)
    key = SnapshotKey("default", "20260101T000000Z-abcdef")
    cm = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "higress-config", "namespace": "higress-system"}})
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo(cm.archive_path)
        info.size = 512 * 2**20
        tar.addfile(info, _Zeros(info.size))
    data = raw.getvalue()
    _, manifest = manifest_for([cm], snapshot_id=key.id)
    manifest = dataclasses.replace(manifest, archive=ArchiveRecord(len(data), hashlib.sha256(data).hexdigest(),
                                                                   6 * 2**30, None))
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run("verify", key.id, "--store", *store, "-o", "json", code=4)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert "a compression bomb?" in json.loads(result.stdout)[0]["error"]
    assert grown_mib < 200, grown_mib  # was 6.3 GB


class _Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = b"\0" * n
        self.left -= n
        return n


def test_manifest_type_confusion_is_exit_4_for_every_command(tmp_path):
    store = [str(tmp_path / "store")]
    sid = json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", *store, "-o", "json").stdout)["id"]
    repo = repo_of(store)
    key = repo.resolve(sid)
    doc = json.loads(repo.store.get(key.manifest_key))
    doc["archive"]["size"] = "12"
    repo.store.put(key.manifest_key, json.dumps(doc).encode())
    assert "archive.size is not a whole number" in run("show", sid, "--store", *store, code=4).stderr
    assert run("verify", "--all", "--store", *store, code=4)
    assert "archive.size" in run("list", "--store", *store, code=4).stderr


# -- an edited scope (review finding 6): exit 4 naming the field, never 70, never read as characters ---------------
@pytest.mark.parametrize("edited", [{"namespaces": 5}, {"namespaces": "shop"}, {"higress_namespace": ["x"]},
                                    {"secret_selectors": [7]}, {"include": ["NoSuchKind"]}, {"optins": "services"}],
                         ids=["namespaces-int", "namespaces-str", "hns-list", "selector-int", "include", "optins"])
def test_an_edited_scope_is_an_integrity_failure_naming_the_field(edited, tmp_path):
    store = str(tmp_path / "store")
    repo = Repository(open_store(store))
    cm = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "higress-config", "namespace": "shop"}, "data": {"k": "v"}})
    good, bad = SnapshotKey("default", "20260101T000000Z-abcdef"), SnapshotKey("default", "20260102T000000Z-abcdef")
    forge(repo, good, [cm], scope={"higress_namespace": "shop"})
    other = StoredObject.from_object({**cm.obj, "metadata": {"name": "domain-a", "namespace": "shop"}})
    forge(repo, bad, [other], scope={"higress_namespace": "shop", **edited})
    field = next(iter(edited))
    for args in (["verify", bad.id], ["check", bad.id], ["restore", bad.id, *NOWHERE, "--yes"]):
        result = run(*args, "--store", store, code=4)
        said = [line for line in (result.stdout + result.stderr).splitlines() if "scope" in line]
        assert said and all(f"scope.{field}" in line or "scope: " in line for line in said), (args, said)
    # what reads only the objects is not stopped by it (diff of two snapshots, show), nor log, which concludes
    # nothing from a scope it cannot read: an object missing from such a snapshot is never "removed"
    run("diff", good.id, bad.id, "--store", store, code=1)
    run("show", bad.id, "--store", store)
    events = json.loads(run("log", "--store", store, "-o", "json").stdout)["events"]
    assert [(e["action"], e["name"]) for e in events] == [("added", "domain-a")]  # higress-config not "removed"
