"""Selective restores and namespace maps on the real API server (issue 23 items 8 and 10): what a one-object
restore brings with it, how plugin rules are merged, and what a namespace map rewrites, leaves alone and refuses."""

from __future__ import annotations

import json

import pytest
from conftest import create_namespace, create_objects, rand_name, run
from kubernetes import client

pytestmark = pytest.mark.kube

PLUGIN_API = ("extensions.higress.io", "v1alpha1", "wasmplugins")


def ingress(name, ns, tls=None, annotations=None):
    spec = {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}
    if tls:
        spec["tls"] = [{"hosts": [f"{name}.example.com"], "secretName": tls}]
    meta = {"name": name, "namespace": ns, **({"annotations": annotations} if annotations else {})}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def plugin(ns, rules):
    return {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
            "metadata": {"name": "key-auth", "namespace": ns},
            "spec": {"url": "oci://example/key-auth:1", "defaultConfigDisable": True, "matchRules": rules}}


def restore(sid, store, kubeconfig, *args, code=0):
    return json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, *args, "-o", "json",
                          code=code).stdout)


def results(doc) -> dict[tuple[str, str], dict]:
    return {(r["ref"]["kind"], r["ref"]["name"]): r for r in doc["results"]}


def test_a_one_object_restore_brings_its_secret_and_merges_the_plugin_rules_naming_it(k8s, crds, kubeconfig,
                                                                                       tmp_path, cleanup):
    hns, app = create_namespace(k8s, cleanup, "hs"), create_namespace(k8s, cleanup, "app")
    core, net = client.CoreV1Api(k8s), client.NetworkingV1Api(k8s)
    custom = client.CustomObjectsApi(k8s)
    core.create_namespaced_secret(app, {"metadata": {"name": "web-tls"}, "type": "kubernetes.io/tls",
                                        "data": {"tls.crt": "", "tls.key": ""}})  # unlabelled
    rule_web = {"ingress": [f"{app}/web-01", f"{app}/gone"], "config": {"allow": ["mobile"]}}
    create_objects(k8s, [ingress("web-01", app, tls="web-tls"), ingress("other", app),
                         plugin(hns, [rule_web, {"ingress": [f"{app}/other"], "config": {"allow": ["b"]}}])],
                   cleanup=cleanup)
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]

    # later: the route and its certificate are deleted, the console drops its rule and adds one of its own
    net.delete_namespaced_ingress("web-01", app)
    core.delete_namespaced_secret("web-tls", app)
    live_rules = [{"ingress": [f"{app}/other"], "config": {"allow": ["b"]}},
                  {"ingress": [f"{app}/new"], "config": {"allow": ["c"]}}]
    custom.patch_namespaced_custom_object(*PLUGIN_API[:2], hns, PLUGIN_API[2], "key-auth",
                                          {"spec": {"matchRules": live_rules}})

    only = ["--kind", "Ingress", "-n", app, "--name", "web-01"]
    bare = results(restore(sid, store, kubeconfig, *only, "--dry-run", "--no-dependencies"))
    assert set(bare) == {("Ingress", "web-01")} | {k for k in bare if k[0] == "CustomResourceDefinition"}

    planned = results(restore(sid, store, kubeconfig, *only, "--dry-run"))
    assert planned[("Secret", "web-tls")]["action"] == "created"
    assert f"needed by Ingress.networking.k8s.io {app}/web-01" in planned[("Secret", "web-tls")]["message"]
    assert planned[("WasmPlugin", "key-auth")]["action"] == "updated"
    assert f"merges its rules naming {app}/web-01" in planned[("WasmPlugin", "key-auth")]["message"]

    done = restore(sid, store, kubeconfig, *only, "--yes")
    assert done["summary"]["failed"] == 0 and done["summary"]["skipped"] == 0
    assert core.read_namespaced_secret("web-tls", app).type == "kubernetes.io/tls"
    assert net.read_namespaced_ingress("web-01", app).spec.tls[0].secret_name == "web-tls"
    rules = custom.get_namespaced_custom_object(*PLUGIN_API[:2], hns, PLUGIN_API[2], "key-auth")["spec"]["matchRules"]
    assert rules == live_rules + [{"ingress": [f"{app}/web-01"], "config": {"allow": ["mobile"]}}]

    # a dependency that exists is left as it is (a renewed certificate is not put back to the old one)
    core.patch_namespaced_secret("web-tls", app, {"metadata": {"labels": {"renewed": "yes"}}})
    again = results(restore(sid, store, kubeconfig, *only, "--yes"))
    assert again[("Secret", "web-tls")]["action"] == "unchanged"
    assert "left as it is" in again[("Secret", "web-tls")]["message"]
    assert core.read_namespaced_secret("web-tls", app).metadata.labels == {"renewed": "yes"}
    assert again[("WasmPlugin", "key-auth")]["action"] == "unchanged"  # its rule is there now: nothing added twice


def test_a_namespace_map_restores_only_its_namespaces_and_rewrites_cluster_local_hosts(k8s, crds, kubeconfig,
                                                                                        tmp_path, cleanup):
    hns, shop, ops = (create_namespace(k8s, cleanup, p) for p in ("hs", "shop", "ops"))
    core, net = client.CoreV1Api(k8s), client.NetworkingV1Api(k8s)
    custom = client.CustomObjectsApi(k8s)
    core.create_namespaced_secret(shop, {"metadata": {"name": "shop-tls"}, "type": "kubernetes.io/tls",
                                         "data": {"tls.crt": "", "tls.key": ""}})
    host = f"search.{shop}.svc.cluster.local"
    create_objects(k8s, [
        ingress("web", shop, tls="shop-tls",
                annotations={"higress.io/destination": f"90% {host}:8080\n10% search-v2.{shop}.svc.cluster.local"}),
        ingress("admin", ops),
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
         "metadata": {"name": "s", "namespace": shop},
         "spec": {"hosts": ["search.example.com"], "gateways": [f"{hns}/gw"],
                  "http": [{"route": [{"destination": {"host": host}}]}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
         "metadata": {"name": "s", "namespace": shop}, "spec": {"host": host}},
    ], cleanup=cleanup)
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", shop, "-n", ops, "-o", "json").stdout)["id"]
    net.patch_namespaced_ingress("admin", ops, {"metadata": {"annotations": {"changed": "after the backup"}}})

    refused = run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--namespace-map",
                  f"{hns}:kube-system", "--yes", code=2)
    assert len(refused.stderr.strip().splitlines()) == 1 and "kube-system" in refused.stderr

    staging = rand_name("staging")
    cleanup(lambda: core.delete_namespace(staging))
    doc = restore(sid, store, kubeconfig, "--namespace-map", f"{shop}:{staging}", "--yes")
    assert doc["summary"]["failed"] == 0
    written = {(r["ref"]["kind"], r["ref"]["namespace"] or r["ref"]["name"]) for r in doc["results"]
               if r["action"] in ("created", "updated")}
    assert {ns for kind, ns in written if kind != "Namespace"} == {staging} and ("Namespace", staging) in written
    assert net.read_namespaced_ingress("admin", ops).metadata.annotations == {"changed": "after the backup"}
    vs = custom.get_namespaced_custom_object("networking.istio.io", "v1", staging, "virtualservices", "s")["spec"]
    assert vs["http"][0]["route"][0]["destination"]["host"] == f"search.{staging}.svc.cluster.local"
    assert vs["gateways"] == [f"{hns}/gw"]  # the shared gateway of an unmapped namespace stays
    dr = custom.get_namespaced_custom_object("networking.istio.io", "v1", staging, "destinationrules", "s")["spec"]
    assert dr["host"] == f"search.{staging}.svc.cluster.local"
    moved = net.read_namespaced_ingress("web", staging)
    assert moved.metadata.annotations["higress.io/destination"] == (
        f"90% search.{staging}.svc.cluster.local:8080\n10% search-v2.{staging}.svc.cluster.local")
    assert core.read_namespaced_secret("shop-tls", staging).type == "kubernetes.io/tls"


def test_a_restored_grpcroute_gets_the_plugin_rules_naming_it(k8s, crds, kubeconfig, tmp_path, cleanup):
    """Higress names a GRPCRoute's routes with a GRPC/ prefix (gateway/istio/conversion.go generateRouteName): a
    restore of the GRPCRoute alone merges the plugin rule naming it, spelled so, and `check` finds nothing
    dangling in a plugin naming GRPCRoutes in both spellings."""
    hns, app = create_namespace(k8s, cleanup, "hs"), create_namespace(k8s, cleanup, "app")
    custom = client.CustomObjectsApi(k8s)

    def grpcroute(name, ns):
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
                "metadata": {"name": name, "namespace": ns}, "spec": {}}

    rule = {"ingress": [f"GRPC/{app}/rpc"], "config": {"allow": ["a"]}}
    home = {"ingress": ["GRPC/home-rpc"], "config": {"allow": ["h"]}}
    create_objects(k8s, [grpcroute("rpc", app), grpcroute("home-rpc", hns), plugin(hns, [rule, home])],
                   cleanup=cleanup)
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    checked = json.loads(run("check", sid, "--store", store, "-o", "json", code=0).stdout)
    assert checked["references_checked"] == 2 and not checked["dangling"], checked  # the plugin's two route names

    custom.delete_namespaced_custom_object("gateway.networking.k8s.io", "v1", app, "grpcroutes", "rpc")
    custom.patch_namespaced_custom_object(*PLUGIN_API[:2], hns, PLUGIN_API[2], "key-auth",
                                          {"spec": {"matchRules": [home]}})
    done = restore(sid, store, kubeconfig, "--kind", "GRPCRoute", "-n", app, "--name", "rpc", "--yes")
    planned = results(done)
    assert planned[("GRPCRoute", "rpc")]["action"] == "created"
    assert planned[("WasmPlugin", "key-auth")]["action"] == "updated"
    assert f"merges its rules naming GRPC/{app}/rpc" in planned[("WasmPlugin", "key-auth")]["message"]
    rules = custom.get_namespaced_custom_object(*PLUGIN_API[:2], hns, PLUGIN_API[2], "key-auth")["spec"]["matchRules"]
    assert rules == [home, rule]
