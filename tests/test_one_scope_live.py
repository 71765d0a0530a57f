"""One scope on a real API server (issue 23, item 1): a dashboard Ingress in kube-system, with its TLS Secret, is left
out of the snapshot with a warning naming it; the snapshot verifies and restores, and the CronJob's own identity
(which may not read kube-system's Secrets) is not made partial by it."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import create_objects, rand_name, run, token_kubeconfig
from kubernetes import client, config

from hgbackup.schedule import file as schedule
from hgbackup.schedule.render import kubernetes_objects

pytestmark = pytest.mark.kube


def dashboard_in_kube_system(hns: str) -> list[dict]:
    return [
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": {"name": "dashboard-tls", "namespace": "kube-system"},
         "data": {"tls.crt": "eA==", "tls.key": "eA=="}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
         "metadata": {"name": "dashboard", "namespace": "kube-system"},
         "spec": {"tls": [{"hosts": ["dash.example.com"], "secretName": "dashboard-tls"}],
                  "defaultBackend": {"service": {"name": "kubernetes-dashboard", "port": {"number": 443}}}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "higress-config", "namespace": hns},
         "data": {"higress": "gzip: {}"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop", "namespace": hns},
         "spec": {"defaultBackend": {"service": {"name": "shop", "port": {"number": 80}}}}},
    ]


def test_a_kube_system_ingress_is_left_out_so_the_nightly_verifies_restores_and_is_complete(empty_cluster, tmp_path):
    admin = config.new_client_from_config(config_file=empty_cluster)
    hns = rand_name("hs")
    client.CoreV1Api(admin).create_namespace({"metadata": {"name": hns}})
    create_objects(admin, dashboard_in_kube_system(hns))
    store = str(tmp_path / "store")
    scope = ["--higress-namespace", hns, "--include", "Ingress", "--include", "Secret", "--include", "ConfigMap"]

    result = run("snapshot", "--kubeconfig", empty_cluster, "--store", store, *scope, "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["partial"] is False and doc["left_out"] == 1
    assert "Ingress kube-system/dashboard (in kube-system, which hgbackup never writes to)" in result.stderr
    shown = json.loads(run("show", doc["id"], "--store", store, "-o", "json").stdout)
    assert all(o["namespace"] != "kube-system" for o in shown["objects"]) and len(shown["objects"]) == 2
    run("verify", doc["id"], "--store", store)
    for narrow in ([], ["--kind", "ConfigMap"], ["-n", hns]):
        run("restore", doc["id"], "--store", store, "--kubeconfig", empty_cluster, "--dry-run", *narrow)

    # the CronJob's own identity (rendered RBAC: Secrets read by name only in the Higress namespace)
    text = yaml.safe_dump({"name": rand_name("n"), "schedule": "30 2 * * *", "store": "s3://unused/x",
                           "namespace": hns, "scope": {"higress_namespace": hns,
                                                       "include": ["Ingress", "Secret", "ConfigMap"]}})
    objects = kubernetes_objects(schedule.parse(text, "nightly"))
    create_objects(admin, [o for o in objects if o["kind"] != "Namespace"])
    sa = next(o for o in objects if o["kind"] == "ServiceAccount")["metadata"]["name"]
    token = client.CoreV1Api(admin).create_namespaced_service_account_token(
        sa, hns, {"spec": {"expirationSeconds": 3600}}).status.token
    as_job = token_kubeconfig(empty_cluster, str(tmp_path / "job.kubeconfig"), token)
    path = tmp_path / "nightly.yaml"
    path.write_text(text.replace("s3://unused/x", store))
    line = json.loads(run("schedule", "run", str(path), "--kubeconfig", as_job).stdout)
    assert line["partial"] is False and line["exit_code"] == 0 and line["objects"] == 2
    assert any("Ingress kube-system/dashboard" in w for w in line["warnings"])
