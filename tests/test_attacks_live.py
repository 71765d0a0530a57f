"""Issue 12's attacks that need a cluster, on the real API server: what a forged or edited snapshot, or an annotation
written by anyone who can edit an Ingress, must not be able to do."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import create_namespace, create_objects, manifest_for, rand_name, run
from kubernetes import client

from hgbackup.kube.model import StoredObject
from hgbackup.store import open_store
from hgbackup.store.layout import SnapshotKey
from hgbackup.store.repository import Repository

pytestmark = pytest.mark.kube


def test_an_edited_scope_cannot_make_prune_delete_in_kube_system(k8s, kubeconfig, tmp_path, cleanup):
    core = client.CoreV1Api(k8s)
    victims = [rand_name("coredns"), rand_name("bootstrap-token")]
    core.create_namespaced_config_map("kube-system", {"metadata": {"name": victims[0]}, "data": {"Corefile": "."}})
    core.create_namespaced_secret("kube-system", {"metadata": {"name": victims[1]}, "stringData": {"t": "x"}})
    cleanup(lambda: core.delete_namespaced_config_map(victims[0], "kube-system"))
    cleanup(lambda: core.delete_namespaced_secret(victims[1], "kube-system"))

    store = str(tmp_path / "store")
    repo = Repository(open_store(store))
    key = SnapshotKey("default", "20260101T000000Z-abcdef")
    data, manifest = manifest_for([], snapshot_id=key.id)
    evil_scope = {"higress_namespace": "kube-system", "secret_selectors": ["!nonexistent"],
                  "namespaces": ["kube-system"]}
    manifest = dataclasses.replace(manifest, scope=evil_scope)
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())

    doc = json.loads(run("restore", key.id, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--yes",
                         "--no-safety-snapshot", "-o", "json").stdout)
    assert doc["summary"]["pruned"] == 0
    assert core.read_namespaced_config_map(victims[0], "kube-system").data == {"Corefile": "."}
    assert core.read_namespaced_secret(victims[1], "kube-system").metadata.name == victims[1]


def test_an_ingress_annotation_cannot_make_a_snapshot_carry_a_secret_of_another_namespace(
        k8s, kubeconfig, tmp_path, cleanup):
    hns, app, vault = (create_namespace(k8s, cleanup, p) for p in ("hs", "app", "vault"))
    client.CoreV1Api(k8s).create_namespaced_secret(vault, {"metadata": {"name": "cloud-creds"},
                                                          "stringData": {"key": "AKIA-SECRET"}})
    create_objects(k8s, [{
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "innocent", "namespace": app, "annotations": {
            "nginx.ingress.kubernetes.io/auth-tls-secret": f"{vault}/cloud-creds"}},
        "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}}], cleanup=cleanup)
    store = str(tmp_path / "store")
    doc = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-n", vault, "-o", "json").stdout)
    rows = json.loads(run("show", doc["id"], "--store", store, "-o", "json").stdout)["objects"]
    assert not any(o["kind"] == "Secret" and o["name"] == "cloud-creds" for o in rows)
    assert any("names Secret" in w and "cloud-creds" in w and "not fetched" in w for w in doc["warnings"])


def test_prune_keeps_a_secret_that_a_restored_ingress_references(populated, k8s, kubeconfig, tmp_path):
    """A certificate issued after the backup, referenced by an Ingress the restore puts back, is not pruned."""
    hns, app, _ = populated
    store = str(tmp_path / "store")
    net, core = client.NetworkingV1Api(k8s), client.CoreV1Api(k8s)
    net.patch_namespaced_ingress("shop-api", app, {"spec": {"tls": [{"hosts": ["grafana.example.com"],
                                                                     "secretName": "grafana-tls"}]}})
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    # after the backup: the certificate is issued
    core.create_namespaced_secret(app, {"metadata": {"name": "grafana-tls"}, "type": "kubernetes.io/tls",
                                        "data": {"tls.crt": "", "tls.key": ""}})
    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--yes",
                         "--no-safety-snapshot", "-o", "json").stdout)
    kept = [r for r in doc["results"] if r["ref"]["name"] == "grafana-tls"]
    assert [r["action"] for r in kept] == ["unchanged"]
    assert "still referenced by Ingress.networking.k8s.io" in kept[0]["message"]
    assert core.read_namespaced_secret("grafana-tls", app).metadata.name == "grafana-tls"


def test_a_crafted_snapshot_writes_nothing(k8s, kubeconfig, tmp_path, cleanup):
    """The whole crafted snapshot of the finding (coredns, a token Secret, a foreign CRD, a webhook CRD, a plugin):
    refused as a whole, and the cluster is untouched."""
    ns = create_namespace(k8s, cleanup, "hs")
    objects = [StoredObject.from_object(o) for o in (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "higress-config", "namespace": ns},
         "data": {"higress": "x"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": "kube-system"},
         "data": {"Corefile": "evil"}},
        {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
         "metadata": {"name": "evil-plugin", "namespace": ns}, "spec": {"url": "oci://evil/x:1"}},
    )]
    store = str(tmp_path / "store")
    repo = Repository(open_store(store))
    key = SnapshotKey("default", "20260101T000000Z-abcdef")
    data, manifest = manifest_for(objects, snapshot_id=key.id)
    manifest = dataclasses.replace(manifest, scope={"higress_namespace": ns})
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())
    result = run("restore", key.id, "--store", store, "--kubeconfig", kubeconfig, "--yes", code=4)
    assert "is in kube-system" in result.stderr
    assert client.CoreV1Api(k8s).list_namespaced_config_map(ns).items == []
    assert client.CustomObjectsApi(k8s).list_namespaced_custom_object(
        "extensions.higress.io", "v1alpha1", ns, "wasmplugins")["items"] == []
    assert json.loads(run("list", "--store", store, "-o", "json").stdout)[0]["tags"] == []  # no safety snapshot
