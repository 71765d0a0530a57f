"""diff against the live cluster, on the real API server."""

from __future__ import annotations

import json

import pytest
from conftest import create_objects, invoke
from kubernetes import client

pytestmark = pytest.mark.kube


def test_diff_snapshot_against_live_reports_exactly_three_changes(populated, k8s, kubeconfig, tmp_path):
    core = client.CoreV1Api(k8s)
    hns, app, _ = populated
    store = str(tmp_path / "store")
    snap = invoke("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                               "-n", hns, "-n", app, "-o", "json")
    assert snap.exit_code == 0, snap.output
    sid = json.loads(snap.stdout)["id"]

    same = invoke("diff", sid, "live", "--kubeconfig", kubeconfig, "--store", store)
    assert same.exit_code == 0, same.output

    # change one field, delete one object, add one object, and change a Secret value
    net = client.NetworkingV1Api(k8s)
    net.patch_namespaced_ingress("shop-api", app, {"metadata": {"annotations": {"higress.io/timeout": "99"}}})
    client.CustomObjectsApi(k8s).delete_namespaced_custom_object(
        "networking.higress.io", "v1", hns, "http2rpcs", "order-dubbo")
    create_objects(k8s, [{"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
                          "metadata": {"name": "new-plugin", "namespace": hns}, "spec": {"url": "oci://x/y:1"}}])
    new_password = "TmV3LUxpdmUtU2VjcmV0LVZhbHVl"  # "New-Live-Secret-Value"
    core.patch_namespaced_secret("nacos-auth-x7k2p", hns, {"data": {"nacosPassword": new_password}})

    result = invoke("diff", sid, "live", "--kubeconfig", kubeconfig, "--store", store, "-o", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert [(r["kind"], r["name"]) for r in doc["added"]] == [("WasmPlugin", "new-plugin")]
    assert [(r["kind"], r["name"]) for r in doc["removed"]] == [("Http2Rpc", "order-dubbo")]
    assert sorted((c["ref"]["name"], tuple(c["paths"])) for c in doc["changed"]) == [
        ("nacos-auth-x7k2p", ("data.nacosPassword",)),
        ("shop-api", ('metadata.annotations["higress.io/timeout"]',)),
    ]
    for args in ([], ["--unified"], ["-o", "yaml"]):
        out = invoke("diff", sid, "live", "--kubeconfig", kubeconfig, "--store", store, *args)
        assert out.exit_code == 1
        assert new_password not in out.stdout + out.stderr and "New-Live-Secret-Value" not in out.stdout
        assert "RXhhbXBsZS1OYWNvcy1QYXNzd29yZC0y" not in out.stdout


def test_unified_against_live_shows_only_what_changed(populated, k8s, kubeconfig, tmp_path):
    """Live objects come in the API server's key order, snapshots sorted: both sides are written alike, so
    metadata blocks do not show up as moved."""
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(invoke("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                            "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    client.NetworkingV1Api(k8s).patch_namespaced_ingress(
        "shop-api", app, {"metadata": {"annotations": {"higress.io/timeout": "42"}}})
    out = invoke("diff", sid, "live", "--kubeconfig", kubeconfig, "--store", store, "--unified", "--kind", "Ingress",
                 "--color", "never")
    assert out.exit_code == 1, out.output
    changed = [line for line in out.stdout.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["+    higress.io/timeout: '42'"], out.stdout
