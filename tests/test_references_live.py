"""References on the real API server: what a snapshot takes because something names it, and what prune keeps
because a live object needs it (issue 23 items 2 and 5)."""

from __future__ import annotations

import json

import pytest
from conftest import create_namespace, create_objects, run
from kubernetes import client

pytestmark = pytest.mark.kube

CONSOLE_LABEL = {"higress.io/resource-definer": "higress"}


def snapshot(kubeconfig, store, hns, *namespaces) -> str:
    args = [a for ns in (hns, *namespaces) for a in ("-n", ns)]
    return json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                          *args, "-o", "json").stdout)["id"]


def objects_of(store, sid) -> set[tuple[str, str, str]]:
    rows = json.loads(run("show", sid, "--store", store, "--objects", "-o", "json").stdout)["objects"]
    return {(o["kind"], o["namespace"] or "-", o["name"]) for o in rows}


def test_a_plain_unlabelled_mcpbridge_auth_secret_is_backed_up_and_restored(k8s, crds, kubeconfig, tmp_path,
                                                                             cleanup):
    """Item 5: the registry's credentials carry no console label; the McpBridge naming them is reason enough."""
    hns = create_namespace(k8s, cleanup, "hs")
    core = client.CoreV1Api(k8s)
    core.create_namespaced_secret(hns, {"metadata": {"name": "nacos-auth-plain"},  # no label at all
                                        "stringData": {"nacosUsername": "u", "nacosPassword": "p"}})
    create_objects(k8s, [{"apiVersion": "networking.higress.io/v1", "kind": "McpBridge",
                          "metadata": {"name": "default", "namespace": hns},
                          "spec": {"registries": [{"name": "nacos", "type": "nacos2", "domain": "nacos.example",
                                                   "port": 8848, "authSecretName": "nacos-auth-plain"}]}}],
                   cleanup=cleanup)
    store = str(tmp_path / "store")
    sid = snapshot(kubeconfig, store, hns)
    assert ("Secret", hns, "nacos-auth-plain") in objects_of(store, sid)

    core.delete_namespaced_secret("nacos-auth-plain", hns)
    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--yes",
                         "--no-safety-snapshot", "-o", "json").stdout)
    created = {(r["ref"]["kind"], r["ref"]["name"]) for r in doc["results"] if r["action"] == "created"}
    assert ("Secret", "nacos-auth-plain") in created
    assert core.read_namespaced_secret("nacos-auth-plain", hns).data.keys() == {"nacosUsername", "nacosPassword"}
    run("diff", sid, "live", "--store", store, "--kubeconfig", kubeconfig, code=0)


def test_prune_never_deletes_a_secret_a_live_ingress_uses_whatever_the_filters(k8s, crds, kubeconfig, tmp_path,
                                                                                cleanup):
    """Item 2: a console Secret and the Ingress using it, both created after the snapshot; a prune limited to
    Secrets (or to that name) sees the live Ingress all the same."""
    hns = create_namespace(k8s, cleanup, "hs")
    core = client.CoreV1Api(k8s)
    core.create_namespaced_config_map(hns, {"metadata": {"name": "higress-config"}, "data": {"higress": "{}"}})
    store = str(tmp_path / "store")
    sid = snapshot(kubeconfig, store, hns)
    core.create_namespaced_secret(hns, {"metadata": {"name": "new-tls", "labels": CONSOLE_LABEL},
                                        "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}})
    core.create_namespaced_secret(hns, {"metadata": {"name": "unused", "labels": CONSOLE_LABEL},
                                        "stringData": {"k": "v"}})
    create_objects(k8s, [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                          "metadata": {"name": "web", "namespace": hns},
                          "spec": {"tls": [{"hosts": ["web.example.com"], "secretName": "new-tls"}],
                                   "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}],
                   cleanup=cleanup)

    for filters in (["--kind", "Secret"], ["--kind", "Secret", "--name", "new-tls", "--name", "unused"]):
        doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--dry-run",
                             *filters, "-o", "json").stdout)
        by_name = {r["ref"]["name"]: r for r in doc["results"] if r["ref"]["kind"] == "Secret"}
        assert by_name["new-tls"]["action"] == "unchanged", (filters, by_name)
        assert f"still referenced by Ingress.networking.k8s.io {hns}/web" in by_name["new-tls"]["message"]
        assert by_name["unused"]["action"] == "pruned"  # the plain case: nothing needs it, so it goes

    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--yes",
                         "--kind", "Secret", "--no-safety-snapshot", "-o", "json").stdout)
    assert doc["summary"]["pruned"] == 1
    assert core.read_namespaced_secret("new-tls", hns).metadata.name == "new-tls"
    assert not [s for s in core.list_namespaced_secret(hns).items if s.metadata.name == "unused"]


def test_prune_keeps_a_secret_a_live_gateway_in_another_namespace_uses_through_a_referencegrant(k8s, crds,
                                                                                                kubeconfig, tmp_path,
                                                                                                cleanup):
    """Review finding 1: the Gateway's certificateRef crosses into the Higress namespace, allowed by a live
    ReferenceGrant there; a prune limited to Secrets must see that grant, or the reference looks unfollowed and
    the certificate is deleted under a serving Gateway."""
    hns = create_namespace(k8s, cleanup, "hs")
    gw_ns = create_namespace(k8s, cleanup, "gw")
    core = client.CoreV1Api(k8s)
    core.create_namespaced_config_map(hns, {"metadata": {"name": "higress-config"}, "data": {"higress": "{}"}})
    store = str(tmp_path / "store")
    sid = snapshot(kubeconfig, store, hns)
    for name in ("granted-tls", "ungranted-tls", "unused"):
        core.create_namespaced_secret(hns, {"metadata": {"name": name, "labels": CONSOLE_LABEL},
                                            "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}})
    listeners = [{"name": f"l{i}", "port": 443, "protocol": "HTTPS", "hostname": f"h{i}.example.com",
                  "tls": {"certificateRefs": [{"kind": "Secret", "name": secret, "namespace": hns}]}}
                 for i, secret in enumerate(("granted-tls", "ungranted-tls"))]
    create_objects(k8s, [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "edge", "namespace": gw_ns},
         "spec": {"gatewayClassName": "higress", "listeners": listeners}},
        {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
         "metadata": {"name": "edge-certs", "namespace": hns},
         "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": gw_ns}],
                  "to": [{"group": "", "kind": "Secret", "name": "granted-tls"}]}}], cleanup=cleanup)

    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--dry-run",
                         "--kind", "Secret", "-o", "json").stdout)
    by_name = {r["ref"]["name"]: r for r in doc["results"] if r["ref"]["kind"] == "Secret"}
    assert by_name["granted-tls"]["action"] == "unchanged", by_name
    assert f"still referenced by Gateway.gateway.networking.k8s.io {gw_ns}/edge" in by_name["granted-tls"]["message"]
    # the plain cases: a reference no grant allows is not followed by the controller, and nothing names `unused`
    assert by_name["ungranted-tls"]["action"] == "pruned"
    assert by_name["unused"]["action"] == "pruned"

    run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--yes", "--kind", "Secret",
        "--no-safety-snapshot", "-o", "json")
    assert core.read_namespaced_secret("granted-tls", hns).metadata.name == "granted-tls"
