"""`hgbackup check ID|live` on the real API server: dangling references, and nothing else."""

from __future__ import annotations

import json

import pytest
from conftest import create_namespace, create_objects, rand_name, run
from kubernetes import client

pytestmark = pytest.mark.kube
GW = "gateway.networking.k8s.io"


def test_check_reports_each_dangling_reference_live_and_in_a_snapshot(k8s, crds, kubeconfig, tmp_path, cleanup):
    hns, app = create_namespace(k8s, cleanup, "hs"), create_namespace(k8s, cleanup, "app")
    served, unserved = rand_name("served"), rand_name("unserved")
    core, custom = client.CoreV1Api(k8s), client.CustomObjectsApi(k8s)
    core.create_namespaced_secret(app, {"metadata": {"name": "ok-tls"}, "type": "kubernetes.io/tls",
                                        "data": {"tls.crt": "", "tls.key": ""}})
    core.create_namespaced_service(app, {"metadata": {"name": "ok-svc"}, "spec": {"ports": [{"port": 80}]}})
    backend = {"service": {"name": "ok-svc", "port": {"number": 80}}}
    create_objects(k8s, [
        {"apiVersion": f"{GW}/v1", "kind": "GatewayClass", "metadata": {"name": c},
         "spec": {"controllerName": "higress.io/gateway-controller"}} for c in (served, unserved)], cleanup=cleanup)
    status = {"status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
                                         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    custom.patch_cluster_custom_object_status(GW, "v1", "gatewayclasses", served, status)
    create_objects(k8s, [
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "good", "namespace": app},
         "spec": {"tls": [{"secretName": "ok-tls"}], "defaultBackend": backend}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "bad", "namespace": app},
         "spec": {"tls": [{"secretName": "missing-tls"}], "defaultBackend": backend}},
        {"apiVersion": "networking.higress.io/v1", "kind": "McpBridge", "metadata": {"name": "default",
                                                                                     "namespace": hns},
         "spec": {"registries": [{"name": "n", "type": "nacos2", "domain": "n.example", "port": 8848,
                                  "authSecretName": "gone-auth"}]}},
        {"apiVersion": f"{GW}/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": hns},
         "spec": {"gatewayClassName": served, "listeners": [{"name": "h", "protocol": "HTTP", "port": 80}]}},
        {"apiVersion": f"{GW}/v1", "kind": "Gateway", "metadata": {"name": "orphan", "namespace": hns},
         "spec": {"gatewayClassName": unserved, "listeners": [{"name": "h", "protocol": "HTTP", "port": 80}]}},
        {"apiVersion": f"{GW}/v1", "kind": "HTTPRoute", "metadata": {"name": "r", "namespace": app},
         "spec": {"parentRefs": [{"name": "gw", "namespace": hns}, {"name": "missing-gw", "namespace": hns}],
                  "rules": [{"backendRefs": [{"name": "ok-svc", "port": 80}, {"name": "no-svc", "port": 80}]}]}},
    ], cleanup=cleanup)
    scope = ["--higress-namespace", hns, "-n", hns, "-n", app]

    live = json.loads(run("check", "live", "--kubeconfig", kubeconfig, *scope, "-o", "json", code=1).stdout)
    found = {(d["object"], d["target"], d["problem"]) for d in live["dangling"]}
    assert found == {
        (f"Ingress.networking.k8s.io {app}/bad", f"Secret {app}/missing-tls", "does not exist"),
        (f"McpBridge.networking.higress.io {hns}/default", f"Secret {hns}/gone-auth", "does not exist"),
        (f"HTTPRoute.gateway.networking.k8s.io {app}/r", f"Gateway {hns}/missing-gw", "does not exist"),
        (f"HTTPRoute.gateway.networking.k8s.io {app}/r", f"Service {app}/no-svc", "does not exist"),
        (f"Gateway.gateway.networking.k8s.io {hns}/orphan", f"GatewayClass {unserved}",
         "no controller has accepted (its status has no Accepted=True condition)"),
    }
    text = run("check", "live", "--kubeconfig", kubeconfig, *scope, code=1).stdout.strip().splitlines()
    assert len(text) == 6 and text[-1].startswith("5 dangling reference(s)")

    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, *scope, "-o", "json",
                         code=0).stdout)["id"]
    snap = json.loads(run("check", sid, "--store", store, "-o", "json", code=1).stdout)
    assert {(d["object"], d["target"]) for d in snap["dangling"]} == {  # no status, no Services in its scope
        (f"Ingress.networking.k8s.io {app}/bad", f"Secret {app}/missing-tls"),
        (f"McpBridge.networking.higress.io {hns}/default", f"Secret {hns}/gone-auth"),
        (f"HTTPRoute.gateway.networking.k8s.io {app}/r", f"Gateway {hns}/missing-gw")}
    assert any("Service" in why for why in snap["not_checked"])

    # the plain case: once the missing objects exist, nothing dangles
    for name in ("missing-tls",):
        core.create_namespaced_secret(app, {"metadata": {"name": name}, "stringData": {"k": "v"}})
    core.create_namespaced_secret(hns, {"metadata": {"name": "gone-auth"}, "stringData": {"k": "v"}})
    core.create_namespaced_service(app, {"metadata": {"name": "no-svc"}, "spec": {"ports": [{"port": 80}]}})
    custom.patch_cluster_custom_object_status(GW, "v1", "gatewayclasses", unserved, status)
    create_objects(k8s, [{"apiVersion": f"{GW}/v1", "kind": "Gateway", "metadata": {"name": "missing-gw",
                                                                                   "namespace": hns},
                          "spec": {"gatewayClassName": served,
                                   "listeners": [{"name": "h", "protocol": "HTTP", "port": 80}]}}], cleanup=cleanup)
    clean = json.loads(run("check", "live", "--kubeconfig", kubeconfig, *scope, "-o", "json", code=0).stdout)
    assert clean["dangling"] == [] and clean["references_checked"] >= 8
