"""Issue 13's worst-day cases that need no cluster: identities in one store, `latest`, wrong stores, empty and partial
snapshots, bad manifests, leftovers, ids, keys, scope gaps, exports and clear errors."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone

import yaml
from conftest import EXAMPLE, put_snapshot, run

from hgbackup.schedule.retention import Policy, Snap, apply_policy
from hgbackup.store import crypto, open_store
from hgbackup.store.repository import Repository

T0 = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


# -- 1. retention and names by identity ---------------------------------------------------------------------------
def test_retention_never_removes_another_clusters_backups_of_the_same_name(two_clusters_one_name):
    store, a, b = two_clusters_one_name
    doc = json.loads(run("forget", "--keep-last", "1", "--store", store, "-o", "json").stdout)
    kept = {k["id"] for k in doc["keep"]}
    assert kept == {a[-1].id, b[-1].id}  # the newest of each identity, although both are "kubernetes"
    assert {k["cluster"] for k in doc["keep"]} == {"kubernetes@aaaa1111", "kubernetes@bbbb2222"}


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
    repo.store.put(keys[0].manifest_key, b'{"format": "hgbackup/v1", "created": 7}')
    result = run("forget", "--keep-last", "1", "--store", store, "-o", "json", code=4)
    doc = json.loads(result.stdout)
    assert [k["id"] for k in doc["keep"]] == [keys[2].id] and [r["id"] for r in doc["remove"]] == [keys[1].id]
    assert keys[0].id in result.stderr  # reported, never counted or removed
    assert repo.store.exists(keys[0].manifest_key)


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




def test_a_snapshot_the_reader_would_refuse_is_never_written(tmp_path):
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge", "namespace": "higress-system"},
           "data": {"blob": "x" * (5 * 2**20)}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big))
    store = tmp_path / "store"
    result = run("snapshot", "--from-file", str(path), "--store", str(store), code=4)
    assert "more than a reader accepts; nothing was written" in result.stderr
    assert not store.exists()
