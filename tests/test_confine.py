"""What a snapshot may hold (capture/confine.py, with kube/excluded.py): content a snapshot of its recorded scope
could not hold, or bytes that decode to another object, is refused by restore and verify before any cluster call."""

from __future__ import annotations

import json

import pytest
from conftest import run
from test_store_attacks import NOWHERE, forge, repo_of

from hgbackup.capture import confine
from hgbackup.kube import model
from hgbackup.kube.model import StoredObject
from hgbackup.kube.stored import sha256_hex
from hgbackup.store.layout import SnapshotKey

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


def test_confining_a_snapshot_does_not_serialise_its_objects_again(monkeypatch):
    """Review finding 19: the check compares references of what the scope selects with the archive's; it needs
    each selected object's Ref, not its stored form re-serialised and re-hashed (the whole snapshot, on every verify
    and restore)."""
    objects = [StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": f"domain-{i}", "namespace": "higress-system"},
                                         "data": {"k": "v" * 100}}) for i in range(50)]
    serialised = []
    real = model.canonical_bytes
    monkeypatch.setattr(model, "canonical_bytes", lambda obj: serialised.append(1) or real(obj))  # a spy on our own
    assert confine.problems(objects, {"higress_namespace": "higress-system"}) == []
    assert serialised == []
    outside = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "x", "namespace": "shop"}})
    serialised.clear()
    found = confine.problems([*objects, outside], {"higress_namespace": "higress-system"})  # the plain case
    assert found == ["ConfigMap shop/x is not something a snapshot of its recorded scope could hold"]
    assert serialised == []
