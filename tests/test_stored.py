"""The stored form of an object (kube/stored.py): what the server set is dropped, the user's fields are kept, and the
same object always serialises to the same bytes."""

from __future__ import annotations

import json

from hgbackup.kube.model import StoredObject
from hgbackup.kube.stored import canonical_bytes

LIVE_INGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {
        "name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "42", "generation": 3,
        "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "kubectl"}],
        "ownerReferences": [{"kind": "X", "name": "y"}], "labels": {"app": "web"},
        "annotations": {"higress.io/timeout": "30"},
    },
    "spec": {"rules": [{"host": "a.example.com"}]},
    "status": {"loadBalancer": {}},
}


def make_objects():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
           "spec": {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "ports": [{"port": 80}]}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "mcpbridges.networking.higress.io", "namespace": ""}, "spec": {"group": "x"}}
    return [StoredObject.from_object(o) for o in (LIVE_INGRESS, svc, crd)]


def test_stored_form_drops_server_fields_and_keeps_user_fields():
    obj = StoredObject.from_object(LIVE_INGRESS).obj
    assert set(obj["metadata"]) == {"name", "namespace", "labels", "annotations"}
    assert "status" not in obj
    assert obj["spec"] == LIVE_INGRESS["spec"]
    assert LIVE_INGRESS["metadata"]["uid"] == "u-1"  # the input is not modified


def test_service_cluster_ips_dropped_and_cluster_scoped_namespace_dropped():
    _, svc, crd = make_objects()
    assert "clusterIP" not in svc.obj["spec"] and "clusterIPs" not in svc.obj["spec"]
    assert "namespace" not in crd.obj["metadata"] and crd.ref.namespace is None


def test_same_object_same_bytes_regardless_of_key_order():
    a = StoredObject.from_object(LIVE_INGRESS)
    reordered = json.loads(json.dumps(LIVE_INGRESS, sort_keys=True))
    reordered["metadata"]["resourceVersion"] = "99"
    b = StoredObject.from_object(reordered)
    assert a.data == b.data and a.sha256 == b.sha256


def test_canonical_bytes_match_the_stdlib_encoding():
    """orjson writes what json.dumps(sort_keys, compact, ensure_ascii=False) writes, strings and escapes included.

    The one known difference is the exponent of very small floats (orjson `1e-7`, json `1e-07`): same value, and
    every stored form is written by orjson, so hashes stay stable."""
    obj = {"b": [1, 2.5, None, True], "a": {"z": "ünïcødé ☃ \u2028", "ctl": "tab\there\x01", "q": 'say "hi" \\'},
           "n": -(2**63), "f": 123456.75, "e": {}, "l": []}
    expected = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_bytes(obj) == expected
    assert json.loads(canonical_bytes({"f": 1e-7})) == {"f": 1e-7}
    big = {"huge": 2**70}
    assert canonical_bytes(big) == b'{"huge":1180591620717411303424}'
