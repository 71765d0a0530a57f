"""Issue 13's worst-day cases on real API servers (two where identities matter) and the real MinIO."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml
from conftest import create_namespace, create_objects, rand_name, run
from kubernetes import client

from hgbackup.kube.client import Kube

pytestmark = pytest.mark.kube


def _namespace_on(kubeconfig: str, name: str) -> None:
    Kube(kubeconfig).request("POST", "/api/v1/namespaces", body={"metadata": {"name": name}})


def _configmap_on(kubeconfig: str, ns: str, name: str, value: str) -> None:
    Kube(kubeconfig).request("POST", f"/api/v1/namespaces/{ns}/configmaps",
                             body={"metadata": {"name": name}, "data": {"v": value}})


@pytest.fixture
def two_clusters(kubeconfig, empty_cluster, k8s, cleanup):
    """The test API server and a second, empty one: both call their cluster `testcluster`, as kubeadm names every
    cluster `kubernetes`. Each gets a Higress namespace with one ConfigMap."""
    hns = create_namespace(k8s, cleanup, "hs")
    _configmap_on(kubeconfig, hns, "higress-config", "cluster-a")
    _namespace_on(empty_cluster, hns)
    _configmap_on(empty_cluster, hns, "higress-config", "cluster-b")
    return {"a": kubeconfig, "b": empty_cluster, "hns": hns}


def snap(kubeconfig, store, hns, *extra):
    return json.loads(run("snapshot", "--kubeconfig", kubeconfig, *store, "--higress-namespace", hns,
                          "--include", "ConfigMap", "-o", "json", *extra).stdout)


@pytest.mark.s3
def test_two_clusters_of_one_name_in_one_bucket(two_clusters, testenv, bucket, tmp_path):
    a, b, hns = two_clusters["a"], two_clusters["b"], two_clusters["hns"]
    store = ["--store", f"s3://{bucket}/higress", "--s3-endpoint", testenv["HGBACKUP_TEST_S3_ENDPOINT"]]
    only_a = snap(a, store, hns)
    assert only_a["cluster"] == "testcluster"

    # restore latest into B when the store holds only A: exit 5 naming the clusters it has
    missing = run("restore", "latest", *store, "--kubeconfig", b, "--dry-run", code=5)
    assert "has no snapshot of the target cluster" in missing.stderr and "testcluster" in missing.stderr

    # B's scheduled backups with keep_last 1: A's only backup stays
    sched = tmp_path / "b.yaml"
    sched.write_text(yaml.safe_dump({
        "name": "b", "schedule": "0 * * * *", "store": f"s3://{bucket}/higress",
        "s3Endpoint": testenv["HGBACKUP_TEST_S3_ENDPOINT"],
        "scope": {"higress_namespace": hns, "include": ["ConfigMap"]}, "retention": {"keep_last": 1}}))
    lines = [json.loads(run("schedule", "run", str(sched), "--kubeconfig", b).stdout) for _ in range(2)]
    assert lines[1]["removed"] == [lines[0]["snapshot"]]
    rows = json.loads(run("list", *store, "-o", "json").stdout)
    assert only_a["id"] in {r["id"] for r in rows}
    labels = {r["cluster"] for r in rows}
    assert len(labels) == 2 and all(label.startswith("testcluster@") for label in labels)

    # latest is each cluster's own: B restores its own newest, A diffs against its own
    plan = json.loads(run("restore", "latest", *store, "--kubeconfig", b, "--dry-run", "-o", "json").stdout)
    assert plan["snapshot"] == lines[1]["snapshot"] and plan["cross_cluster"] is False
    assert plan["source"]["identity"] == plan["target"]["identity"]
    run("diff", "latest", "live", *store, "--kubeconfig", a, "--higress-namespace", hns, "--include", "ConfigMap")

    # restoring A's snapshot into B is allowed, and said: in the header and the JSON
    result = run("restore", only_a["id"], *store, "--kubeconfig", b, "--dry-run", "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["cross_cluster"] is True and doc["source"]["identity"] != doc["target"]["identity"]
    assert "restoring into another cluster than the snapshot's" in result.stderr
    assert f"target: context {doc['target']['context']}, server {doc['target']['server']}" in result.stderr


def test_restore_with_namespace_filter_leaves_cluster_scoped_objects_alone(populated, k8s, kubeconfig, tmp_path,
                                                                            cleanup):
    hns, app, suffix = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    later = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
             "metadata": {"name": rand_name("later")}, "spec": {"controllerName": "example.com/x"}}
    create_objects(k8s, [later], cleanup=cleanup)
    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "-n", app, "--prune",
                         "--dry-run", "-o", "json").stdout)
    # neither reverted nor pruned: the GatewayClass the app's Gateway route needs is listed, left as it is
    assert {r["action"] for r in doc["results"] if r["ref"]["kind"] == "GatewayClass"} <= {"unchanged"}
    assert later["metadata"]["name"] not in {r["ref"]["name"] for r in doc["results"]}
    written = [r for r in doc["results"] if r["action"] in ("created", "updated", "pruned")]
    assert all(r["ref"]["namespace"] == app for r in written)


def test_prune_with_a_namespace_map_touches_only_the_target_namespace(populated, k8s, kubeconfig, tmp_path,
                                                                       cleanup):
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    extra = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "route-a",
                                                                                   "namespace": app},
             "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}}
    create_objects(k8s, [extra], cleanup=cleanup)
    target = rand_name("dr")
    cleanup(lambda: client.CoreV1Api(k8s).delete_namespace(target))
    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "-n", app,
                         "--namespace-map", f"{app}:{target}", "--prune", "--yes", "--no-safety-snapshot",
                         "-o", "json").stdout)
    assert doc["summary"]["pruned"] == 0
    assert client.NetworkingV1Api(k8s).read_namespaced_ingress("route-a", app).metadata.name == "route-a"


def test_a_safety_snapshots_undo_prunes_only_what_the_restore_created(populated, k8s, kubeconfig, tmp_path,
                                                                       cleanup):
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    net = client.NetworkingV1Api(k8s)
    net.delete_namespaced_ingress("shop-api", app)  # the restore will create it again
    added = {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
             "metadata": {"name": "added-later", "namespace": hns}, "spec": {"url": "oci://x/y:1"}}
    create_objects(k8s, [added], cleanup=cleanup)
    result = run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--kind", "Ingress", "--yes",
                 "--no-dependencies", "-o", "json")
    doc = json.loads(result.stdout)
    # an Ingress-only restore without its dependencies (their TLS Secrets) captured no Secret
    assert "holds live Secrets unencrypted" not in result.stderr
    safety = doc["safety_snapshot"]
    shown = json.loads(run("show", safety, "--store", store, "-o", "json").stdout)
    assert shown["undo_prunes"] == [["networking.k8s.io", "Ingress", app, "shop-api"]]
    undo = json.loads(run("restore", safety, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--yes",
                          "--no-safety-snapshot", "-o", "json").stdout)
    assert [(r["ref"]["kind"], r["ref"]["name"]) for r in undo["results"] if r["action"] == "pruned"] == [
        ("Ingress", "shop-api")]
    plugins = client.CustomObjectsApi(k8s).list_namespaced_custom_object(
        "extensions.higress.io", "v1alpha1", hns, "wasmplugins")["items"]
    assert "added-later" in {p["metadata"]["name"] for p in plugins}  # untouched by the restore, kept by the undo


def test_a_namespace_map_does_not_rewrite_references_held_in_other_namespaces(populated, k8s, kubeconfig, tmp_path,
                                                                              cleanup):
    hns, app, _ = populated
    store = str(tmp_path / "store")
    grant = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
             "metadata": {"name": "allow-app-gw", "namespace": hns},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": app}],
                      "to": [{"group": "", "kind": "Secret"}]}}
    create_objects(k8s, [grant], cleanup=cleanup)
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    target = rand_name("dr")
    cleanup(lambda: client.CoreV1Api(k8s).delete_namespace(target))
    result = run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--namespace-map",
                 f"{app}:{target}", "--yes", "--no-safety-snapshot", "-o", "json")
    doc = json.loads(result.stdout)
    assert any("allow-app-gw" in n and "not rewritten" in n for n in doc["notes"])
    live = client.CustomObjectsApi(k8s).get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1beta1", hns, "referencegrants", "allow-app-gw")
    assert live["spec"]["from"][0]["namespace"] == app  # production's grant still points at production
    route = client.CustomObjectsApi(k8s).get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", target, "httproutes", "blog")
    assert route["metadata"]["namespace"] == target


def test_schedule_run_skips_retention_after_a_partial_snapshot(populated, service_account, tmp_path):
    hns, app, _ = populated
    groups = ["networking.k8s.io", "gateway.networking.k8s.io", "networking.istio.io", "networking.higress.io",
              "extensions.higress.io", "apiextensions.k8s.io"]
    sa = service_account([{"apiGroups": groups, "resources": ["*"], "verbs": ["get", "list"]},
                          {"apiGroups": [""], "resources": ["configmaps", "namespaces"], "verbs": ["get", "list"]}],
                         "no-secrets")
    store = tmp_path / "store"
    sched = tmp_path / "s.yaml"
    sched.write_text(yaml.safe_dump({"name": "p", "schedule": "0 * * * *", "store": str(store),
                                     "scope": {"higress_namespace": hns, "namespaces": [hns, app]},
                                     "retention": {"keep_last": 1}}))
    first = json.loads(run("schedule", "run", str(sched), "--kubeconfig", sa.kubeconfig, code=3).stdout)
    second = run("schedule", "run", str(sched), "--kubeconfig", sa.kubeconfig, code=3)
    line = json.loads(second.stdout)
    assert line["partial"] is True and line["removed"] is None
    assert line["retention_skipped"] == "the snapshot is partial: no snapshot was removed"
    assert "retention skipped" in second.stderr
    ids = {r["id"] for r in json.loads(run("list", "--store", str(store), "-o", "json").stdout)}
    assert ids == {first["snapshot"], line["snapshot"]}


def test_a_safety_snapshot_without_a_key_says_it_holds_secrets_in_the_clear(populated, kubeconfig, tmp_path):
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    result = run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--yes")
    assert "the safety snapshot holds live Secrets unencrypted" in result.stderr


# -- 12. errors ----------------------------------------------------------------------------------------------------
class _Html(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"<html><body><h1>Welcome to nginx!</h1>" + b"<p>lorem</p>" * 200 + b"</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _kubeconfig_for(server: str, path, **cluster) -> str:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server, **cluster}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    return str(path)


def test_a_web_server_that_is_not_kubernetes_is_one_line_exit_6(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = _kubeconfig_for(f"http://127.0.0.1:{server.server_port}", tmp_path / "kc")
        result = run("snapshot", "--kubeconfig", cfg, "--store", str(tmp_path / "s"), code=6)
    finally:
        server.shutdown()
    lines = result.stderr.strip().splitlines()
    assert lines == [f"hgbackup: error: the server at http://127.0.0.1:{server.server_port} does not answer as a "
                     "Kubernetes API server (HTTP 200, text/html)"]


def test_insecure_skip_tls_verify_is_one_warning_not_one_per_request(kubeconfig, tmp_path):
    with open(kubeconfig, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    for cluster in cfg["clusters"]:
        cluster["cluster"].pop("certificate-authority-data", None)
        cluster["cluster"].pop("certificate-authority", None)
        cluster["cluster"]["insecure-skip-tls-verify"] = True
    path = tmp_path / "insecure"
    path.write_text(yaml.safe_dump(cfg))
    result = run("snapshot", "--kubeconfig", str(path), "--store", str(tmp_path / "s"), "--include", "GatewayClass",
                 "--allow-empty")
    assert "InsecureRequestWarning" not in result.stderr
    assert result.stderr.count("TLS verification is off") == 1


def test_a_stopped_api_server_is_exit_6_within_the_request_timeout(empty_cluster, tmp_path):
    with open(os.path.join(os.path.dirname(empty_cluster), "pid"), encoding="utf-8") as fh:
        pid = int(fh.read())
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        result = run("snapshot", "--kubeconfig", empty_cluster, "--store", str(tmp_path / "s"),
                     "--request-timeout", "2", code=6)
        took = time.monotonic() - start
    finally:
        os.kill(pid, signal.SIGCONT)
    assert took < 15, took  # was 150 s and more
    assert "cannot reach the Kubernetes API" in result.stderr and "no answer within 2s" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_nothing_listens_on_the_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _kubeconfig_for(f"https://127.0.0.1:{port}", tmp_path / "kc")
    result = run("snapshot", "--kubeconfig", cfg, "--store", str(tmp_path / "s"), "--request-timeout", "1", code=6)
    assert "cannot reach the Kubernetes API" in result.stderr
