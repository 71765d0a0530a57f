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
import re
import tarfile

import pytest
import yaml
from conftest import EXAMPLE, manifest_for, run

from hgbackup.kube.model import StoredObject
from hgbackup.kube.stored import sha256_hex
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


# -- 3. out-of-scope content -----------------------------------------------------------------------------------------
CROSS_SCOPE = {
    "kube-system ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "coredns", "namespace": "kube-system"}, "data": {"Corefile": "x"}},
    "service-account token": {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                              "metadata": {"name": "tok", "namespace": "higress-system",
                                           "labels": {"higress.io/resource-definer": "higress"}}},
    "bootstrap token": {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
                        "metadata": {"name": "bootstrap-token-abcdef", "namespace": "higress-system",
                                     "labels": {"higress.io/resource-definer": "higress"}}},
    "foreign CRD": {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                    "metadata": {"name": "things.evil.example.com"}, "spec": {"group": "evil.example.com"}},
    "webhook CRD": {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                    "metadata": {"name": "wasmplugins.extensions.higress.io"},
                    "spec": {"group": "extensions.higress.io", "conversion": {
                        "strategy": "Webhook", "webhook": {"clientConfig": {"url": "https://evil.example.com/x"},
                                                           "conversionReviewVersions": ["v1"]}}}},
    "ConfigMap outside the Higress namespace": {"apiVersion": "v1", "kind": "ConfigMap",
                                                "metadata": {"name": "x", "namespace": "shop"}, "data": {"a": "b"}},
    "unreferenced Secret": {"apiVersion": "v1", "kind": "Secret",
                            "metadata": {"name": "cloud-creds", "namespace": "shop"}, "data": {"a": "Yg=="}},
}
REFUSAL = {
    "kube-system ConfigMap": "is in kube-system, which hgbackup never writes to",
    "service-account token": "kubernetes.io/service-account-token Secret, which hgbackup never restores",
    "bootstrap token": "bootstrap.kubernetes.io/token Secret, which hgbackup never restores",
    "foreign CRD": "is not the CRD of a kind hgbackup handles",
    "webhook CRD": "has a conversion webhook or a caBundle",
    "ConfigMap outside the Higress namespace": "is not something a snapshot of its recorded scope could hold",
    "unreferenced Secret": "is not something a snapshot of its recorded scope could hold",
}


@pytest.mark.parametrize("case", sorted(CROSS_SCOPE))
def test_content_a_snapshot_of_its_scope_could_not_hold_is_refused_before_any_cluster_call(case, tmp_path):
    store = [str(tmp_path / "store")]
    repo = repo_of(store)
    key = SnapshotKey("default", "20260101T000000Z-abcdef")
    scope = {"higress_namespace": "higress-system", "secret_selectors": ["higress.io/resource-definer=higress"]}
    forge(repo, key, [StoredObject.from_object(CROSS_SCOPE[case])], scope=scope)
    result = run("restore", key.id, "--store", *store, *NOWHERE, "--yes", code=4)
    assert REFUSAL[case] in result.stderr
    verified = run("verify", key.id, "--store", *store, "-o", "json", code=4)
    assert REFUSAL[case] in json.loads(verified.stdout)[0]["error"]


def test_bytes_of_another_kind_under_a_configmap_entry_fail_verify(tmp_path):
    """A ClusterRole's bytes stored under a ConfigMap's entry path and manifest entry: the checksums match, the
    object does not."""
    store = [str(tmp_path / "store")]
    repo = repo_of(store)
    key = SnapshotKey("default", "20260101T000000Z-abcdef")
    role = json.dumps({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                       "metadata": {"name": "admin-all"}, "rules": [{"verbs": ["*"]}]}).encode()
    cm = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "higress-config", "namespace": "higress-system"}})
    swapped = StoredObject(cm.api_version, cm.ref, role, sha256_hex(role))
    forge(repo, key, [swapped])
    result = run("verify", key.id, "--store", *store, "-o", "json", code=4)
    assert "does not decode to that object" in json.loads(result.stdout)[0]["error"]
    run("restore", key.id, "--store", *store, *NOWHERE, "--yes", code=4)


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


# -- 8. hostile input ------------------------------------------------------------------------------------------------
BILLION_LAUGHS = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]" for i in range(8)]
    + ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: x, namespace: higress-system}", "data: {k: *i}"])


# The contract is: exit 2, one line, the file named, the cause named. The cause is matched loosely where a parser
# library may refuse first in its own words (PyYAML 6.0.4's libyaml has its own nesting limit), so the test holds
# for every version the project allows, not only the locked one.
NESTING = r"nest"


@pytest.mark.parametrize("text,cause", [
    (BILLION_LAUGHS, r"expands far beyond its size"),
    ("[" * 60000 + "]" * 60000, NESTING),
    ("a: " + "[" * 1000 + "]" * 1000, NESTING),
    ("x:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(500)) + " " * 502 + "v\n", NESTING),
    ('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": [1, 2]}', r"lacks apiVersion, kind or metadata\.name"),
    ('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 7}}', r"metadata\.name is not a string"),
    ('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": 1}}}',
     r"metadata\.labels is not a map of strings"),
    ('{"apiVersion": ["v1"], "kind": "ConfigMap", "metadata": {"name": "x"}}', r"apiVersion is not a string"),
])
def test_hostile_input_is_exit_2_in_one_line(text, cause, tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(text)
    result = run("snapshot", "--from-file", str(path), "--store", str(tmp_path / "store"), code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(path) in lines[0] and re.search(cause, lines[0], re.IGNORECASE), lines[0]
    assert not (tmp_path / "store").exists()


def test_non_utf8_stdin_is_exit_2(tmp_path):
    result = run("snapshot", "--from-file", "-", "--store", str(tmp_path / "store"),
                 input=b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \xff\xfe}\n", code=2)
    assert "not UTF-8" in result.stderr


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
