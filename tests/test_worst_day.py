"""Issue 13's worst-day cases that need no cluster: identities in one store, `latest`, wrong stores, empty and partial
snapshots, bad manifests, leftovers, ids, keys, scope gaps, exports and clear errors."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from conftest import EXAMPLE, manifest_for, run

from hgbackup.kube.model import StoredObject
from hgbackup.schedule.retention import Policy, Snap, apply_policy
from hgbackup.store import crypto, open_store
from hgbackup.store.manifest import ClusterInfo
from hgbackup.store.repository import Repository, SnapshotKey, new_snapshot_id

T0 = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
CM = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "higress-config", "namespace": "higress-system"}})


def put_snapshot(store: str, folder: str, sid: str, identity: str | None, *, partial=False, tags=()):
    """A snapshot as `snapshot` writes it, of a cluster with this folder name and identity."""
    repo = Repository(open_store(store))
    data, manifest = manifest_for([CM], snapshot_id=sid, tags=tags, partial=partial)
    manifest = dataclasses.replace(manifest, cluster=ClusterInfo("kubernetes", "v1.35.4", identity),
                                   scope={"higress_namespace": "higress-system"})
    key = SnapshotKey(folder, sid)
    repo.store.put(repo.archive_key(key, False), data)
    repo.store.put(repo.manifest_key(key), manifest.to_bytes())
    return key


@pytest.fixture
def two_clusters_one_name(tmp_path):
    """Two kubeadm clusters, both named `kubernetes`, writing into one store."""
    store = str(tmp_path / "store")
    a = [put_snapshot(store, "kubernetes", f"2026111{d}T020000Z-aaaaaa", "aaaa1111-0000") for d in (1, 2)]
    b = [put_snapshot(store, "kubernetes", f"2026111{d}T030000Z-bbbbbb", "bbbb2222-0000") for d in (3, 4, 5)]
    return store, a, b


# -- 1. retention and names by identity ---------------------------------------------------------------------------
def test_retention_never_removes_another_clusters_backups_of_the_same_name(two_clusters_one_name):
    store, a, b = two_clusters_one_name
    doc = json.loads(run("forget", "--keep-last", "1", "--store", store, "-o", "json").stdout)
    kept = {k["id"] for k in doc["keep"]}
    assert kept == {a[-1].id, b[-1].id}  # the newest of each identity, although both are "kubernetes"
    assert {k["cluster"] for k in doc["keep"]} == {"kubernetes@aaaa1111", "kubernetes@bbbb2222"}


def test_a_shared_name_is_listed_with_an_identity_suffix_and_cluster_takes_a_prefix(two_clusters_one_name):
    store, a, b = two_clusters_one_name
    rows = json.loads(run("list", "--store", store, "-o", "json").stdout)
    assert {(r["id"], r["cluster"]) for r in rows} == {(k.id, "kubernetes@aaaa1111") for k in a} | {
        (k.id, "kubernetes@bbbb2222") for k in b}
    ambiguous = run("list", "--store", store, "--cluster", "kubernetes", code=2)
    assert "names 2 clusters" in ambiguous.stderr and "aaaa1111-0000" in ambiguous.stderr
    only_a = json.loads(run("list", "--store", store, "--cluster", "aaaa", "-o", "json").stdout)
    assert [r["id"] for r in only_a] == [k.id for k in reversed(a)]
    by_label = json.loads(run("list", "--store", store, "--cluster", "kubernetes@bbbb2222", "-o", "json").stdout)
    assert len(by_label) == 3


# -- 2. latest is never a guess ------------------------------------------------------------------------------------
def test_offline_latest_needs_one_cluster_or_cluster(two_clusters_one_name):
    store, a, b = two_clusters_one_name
    result = run("show", "latest", "--store", store, code=2)
    assert "several clusters" in result.stderr and "--cluster" in result.stderr
    assert json.loads(run("show", "latest", "--store", store, "--cluster", "aaaa1111", "-o", "json").stdout)[
        "id"] == a[-1].id
    assert json.loads(run("show", "latest~1", "--store", store, "--cluster", "bbbb", "-o", "json").stdout)[
        "id"] == b[-2].id


# -- 5. stores that are wrong look wrong ------------------------------------------------------------------------------
def test_a_store_that_does_not_exist_is_exit_5_for_every_read(tmp_path):
    missing = str(tmp_path / "typo")
    for args in (["list"], ["show", "latest"], ["verify", "--all"], ["forget", "--keep-last", "1"]):
        result = run(*args, "--store", missing, code=5)
        assert f"no store at {missing}" in result.stderr, args
    assert not os.path.exists(missing)


def test_a_store_path_that_is_a_file_or_an_unknown_scheme_is_exit_2(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    assert "is a file, not a folder" in run("list", "--store", str(path), code=2).stderr
    os.chdir(tmp_path)
    result = run("snapshot", "--from-file", EXAMPLE, "--store", "gs://bucket/x", code=2)
    assert "unknown scheme gs://" in result.stderr
    assert not (tmp_path / "gs:").exists()


def test_schedule_render_refuses_a_local_store(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nschedule: '0 * * * *'\nstore: ./backups\n")
    result = run("schedule", "render", str(path), code=2)
    assert "would live and die with the CronJob's pod" in result.stderr


# -- 6. empty and partial backups -------------------------------------------------------------------------------------
def test_a_scope_that_matches_nothing_writes_nothing_unless_allowed(tmp_path):
    store = tmp_path / "store"
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    result = run("snapshot", "--from-file", str(empty), "--store", str(store), code=3)
    assert "matched no object" in result.stderr and not store.exists()
    run("snapshot", "--from-file", EXAMPLE, "--store", str(store), "--include", "ConfigMap", "--higress-namespace",
        "nowhere", code=3)
    assert not store.exists()
    doc = json.loads(run("snapshot", "--from-file", str(empty), "--store", str(store), "--allow-empty",
                         "-o", "json").stdout)
    assert doc["objects"] == 0


def test_retention_fills_rules_with_complete_snapshots_only():
    """keep-last 1 used to remove the only complete snapshot and keep a newer partial one."""
    snaps = [Snap("partial-new", T0, "c", partial=True), Snap("complete", T0 - timedelta(days=1), "c"),
             Snap("partial-old", T0 - timedelta(days=2), "c", partial=True)]
    decision = apply_policy(snaps, Policy(keep_last=1), now=T0)
    reasons = {s.id: r for s, r in decision.keep}
    assert reasons == {"partial-new": ["partial, newer than the newest complete snapshot"], "complete": ["last"]}
    assert [s.id for s in decision.remove] == ["partial-old"]


def test_the_newest_complete_snapshot_is_never_removed():
    snaps = [Snap("p1", T0, "c", partial=True), Snap("c1", T0 - timedelta(days=400), "c")]
    decision = apply_policy(snaps, Policy(keep_within=None, keep_daily=1), now=T0)
    assert {s.id for s, _ in decision.keep} == {"p1", "c1"}


def test_forget_with_a_bad_manifest_reports_it_and_exits_4(tmp_path):
    store = str(tmp_path / "store")
    keys = [put_snapshot(store, "c", f"2026111{d}T020000Z-cccccc", "cccc") for d in (1, 2, 3)]
    repo = Repository(open_store(store))
    repo.store.put(repo.manifest_key(keys[0]), b'{"format": "hgbackup/v1", "created": 7}')
    result = run("forget", "--keep-last", "1", "--store", store, "-o", "json", code=4)
    doc = json.loads(result.stdout)
    assert [k["id"] for k in doc["keep"]] == [keys[2].id] and [r["id"] for r in doc["remove"]] == [keys[1].id]
    assert keys[0].id in result.stderr  # reported, never counted or removed
    assert repo.store.exists(repo.manifest_key(keys[0]))


# -- 8. leftovers and ids -------------------------------------------------------------------------------------------
def test_forget_removes_leftovers_older_than_an_hour(tmp_path):
    store = str(tmp_path / "store")
    keys = [put_snapshot(store, "c", f"2026111{d}T020000Z-dddddd", "dddd") for d in (1, 2)]
    repo = Repository(open_store(store))
    old = (datetime.now() - timedelta(hours=2)).timestamp()
    folder = os.path.join(store, "c", "snapshots")
    stale_tmp = os.path.join(folder, keys[1].id, ".tmp-abc")
    fresh_tmp = os.path.join(folder, keys[1].id, ".tmp-def")
    orphan = SnapshotKey("c", "20261101T000000Z-eeeeee")
    repo.store.put(repo.archive_key(orphan, False), b"plaintext secrets nobody can list")
    for path in (stale_tmp, fresh_tmp):
        with open(path, "wb") as fh:
            fh.write(b"half")
    os.utime(stale_tmp, (old, old))
    os.utime(os.path.join(folder, orphan.id, "archive.tar.gz"), (old, old))
    doc = json.loads(run("forget", "--keep-last", "5", "--store", store, "-o", "json").stdout)
    assert sorted(doc["leftovers_removed"]) == sorted([f"c/snapshots/{keys[1].id}/.tmp-abc",
                                                       f"c/snapshots/{orphan.id}/archive.tar.gz"])
    assert not os.path.exists(stale_tmp) and os.path.exists(fresh_tmp)
    assert len(repo.snapshot_keys()) == 2


def test_ids_taken_in_the_same_millisecond_differ_and_an_existing_id_is_never_written_over(tmp_path):
    assert len({new_snapshot_id(T0) for _ in range(2000)}) == 2000  # 3 random hex digits clashed at ~4,300 pairs
    store = open_store(str(tmp_path / "store"))
    store.put("c/snapshots/x/manifest.json", b"first")
    with pytest.raises(FileExistsError):
        store.put("c/snapshots/x/manifest.json", b"second", overwrite=False)
    assert store.get("c/snapshots/x/manifest.json") == b"first"


# -- 9. keys ---------------------------------------------------------------------------------------------------------
def test_key_generate_to_a_file_is_0600_and_never_replaces_one(tmp_path):
    path = tmp_path / "k"
    result = run("key", "generate", "-o", str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert crypto.fingerprint(crypto.load_key(str(path))) in result.stderr
    assert "refusing to replace a key file" in run("key", "generate", "-o", str(path), code=2).stderr


def test_key_fingerprint_checks_a_key_against_a_store(tmp_path):
    store = str(tmp_path / "store")
    mine, other = tmp_path / "mine", tmp_path / "other"
    run("key", "generate", "-o", str(mine))
    run("key", "generate", "-o", str(other))
    a = json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", store, "-o", "json",
                       env={"HGBACKUP_ENCRYPTION_KEY_FILE": str(mine)}).stdout)["id"]
    b = json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", store, "--encryption-key-file", str(other),
                       "-o", "json").stdout)["id"]
    doc = json.loads(run("key", "fingerprint", str(mine), "--store", store, "-o", "json", code=1).stdout)
    assert doc == {"fingerprint": crypto.fingerprint(crypto.load_key(str(mine))), "opens": [a], "other_key": [b],
                   "unencrypted": [], "unreadable": []}


# -- 10. scope gaps --------------------------------------------------------------------------------------------------
def test_cert_manager_issuer_secrets_higress_services_and_no_generated_or_own_configmaps(tmp_path):
    extra = [
        {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "letsencrypt-prod"},
         "spec": {"acme": {"privateKeySecretRef": {"name": "letsencrypt-account-key"}, "solvers": [
             {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cloudflare-api-token-secret",
                                                             "key": "api-token"}}}}]}}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "letsencrypt-account-key",
                                                            "namespace": "cert-manager"}, "data": {"tls.key": "eA=="}},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "cloudflare-api-token-secret", "namespace": "cert-manager"},
         "data": {"api-token": "eA=="}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "higress-gateway", "namespace": "higress-system"},
         "spec": {"type": "LoadBalancer", "loadBalancerIP": "192.0.2.10", "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "higress-ca-root-cert",
                                                               "namespace": "higress-system"}, "data": {"a": "b"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "hgbackup-nightly", "namespace": "higress-system",
            "labels": {"app.kubernetes.io/name": "hgbackup"}}, "data": {"schedule.yaml": "x"}},
    ]
    items = yaml.safe_load(open(EXAMPLE))["items"] + extra
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--from-file", str(path), "--store", store, "--with-cert-manager",
                         "--with-services", "-o", "json").stdout)["id"]
    names = {(o["kind"], o["name"]) for o in json.loads(run("show", sid, "--store", store,
                                                             "-o", "json").stdout)["objects"]}
    assert {("Secret", "letsencrypt-account-key"), ("Secret", "cloudflare-api-token-secret"),
            ("Service", "higress-gateway")} <= names
    assert ("ConfigMap", "higress-ca-root-cert") not in names and ("ConfigMap", "hgbackup-nightly") not in names


# -- 12. errors in one line with a documented code ------------------------------------------------------------------
def test_a_malformed_kubeconfig_is_exit_2_in_one_line(tmp_path):
    cfg = tmp_path / "kubeconfig"
    cfg.write_text("apiVersion: v1\nclusters: [\n  - name: x\n")
    result = run("snapshot", "--kubeconfig", str(cfg), "--store", str(tmp_path / "s"), code=2)
    assert "is not valid YAML" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_s3_endpoint_without_a_scheme_is_exit_2():
    result = run("list", "--store", "s3://bucket/x", "--s3-endpoint", "127.0.0.1:9000", code=2)
    assert "needs a scheme: http://127.0.0.1:9000" in result.stderr


def test_a_snapshot_the_reader_would_refuse_is_never_written(tmp_path):
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge", "namespace": "higress-system"},
           "data": {"blob": "x" * (5 * 2**20)}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big))
    store = tmp_path / "store"
    result = run("snapshot", "--from-file", str(path), "--store", str(store), code=4)
    assert "more than a reader accepts; nothing was written" in result.stderr
    assert not store.exists()
