"""Coverage on a real API server (issue 23, item 3): a snapshot that could not list a kind (an identity without
`list wasmplugins`, or a 500 from the API server on a nightly run) records that in its manifest, and a prune of it
never deletes that kind."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from conftest import create_objects, install_crds, load_crds, run
from kubernetes import client, config
from test_server_errors_live import broken_conversion_crd

from hgbackup.kube.client import Kube

pytestmark = pytest.mark.kube

PLUGINS = "wasmplugins.extensions.higress.io"
NO_PLUGINS = [  # read everything in scope but WasmPlugins (group extensions.higress.io)
    {"apiGroups": ["networking.k8s.io", "gateway.networking.k8s.io", "networking.istio.io", "networking.higress.io",
                   "apiextensions.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["secrets", "configmaps", "namespaces"], "verbs": ["get", "list"]},
]


def plugin_names(k8s_client, ns: str) -> set[str]:
    return {p["metadata"]["name"] for p in client.CustomObjectsApi(k8s_client).list_namespaced_custom_object(
        "extensions.higress.io", "v1alpha1", ns, "wasmplugins")["items"]}


def test_a_snapshot_by_an_identity_without_list_wasmplugins_never_prunes_them(populated, k8s, kubeconfig,
                                                                              service_account, tmp_path):
    hns, app, _ = populated
    before = plugin_names(k8s, hns)
    assert len(before) == 3
    sa = service_account(NO_PLUGINS, "no-plugins")
    store = str(tmp_path / "store")
    doc = json.loads(run("snapshot", "--kubeconfig", sa.kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json", code=3).stdout)
    assert doc["partial"] is True
    manifest = json.loads(run("show", doc["id"], "--store", store, "-o", "json").stdout)
    gaps = manifest["coverage"]["incomplete"]
    assert sorted(g[:2] for g in gaps if g[0] == PLUGINS) == sorted([[PLUGINS, hns], [PLUGINS, app]])
    assert [PLUGINS, hns] in manifest["coverage"]["complete"]  # in scope, listed as far as it could be
    assert ["ingresses.networking.k8s.io", app] in manifest["coverage"]["complete"]

    result = run("restore", doc["id"], "--store", store, "--kubeconfig", kubeconfig, "--prune", "--yes",
                 "--no-safety-snapshot", code=3)
    assert plugin_names(k8s, hns) == before  # all three still there
    skipped = [line for line in result.stdout.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 3 and all("not pruned: the snapshot did not list " + PLUGINS in s for s in skipped)
    assert not any(line.startswith("pruned") for line in result.stdout.splitlines())

    # latest is never this partial snapshot unless asked
    complete = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                              "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    partial = json.loads(run("snapshot", "--kubeconfig", sa.kubeconfig, "--store", store, "--higress-namespace",
                             hns, "-n", hns, "-n", app, "-o", "json", code=3).stdout)["id"]
    plan = run("restore", "latest", "--store", store, "--kubeconfig", kubeconfig, "--dry-run", "-o", "json")
    assert json.loads(plan.stdout)["snapshot"] == complete and f"skipped 1 newer partial snapshot(s) ({partial})" \
        in plan.stderr
    plan = run("restore", "latest", "--store", store, "--kubeconfig", kubeconfig, "--dry-run", "--allow-partial",
               "-o", "json")
    assert json.loads(plan.stdout)["snapshot"] == partial


def _served(kube: Kube, path: str) -> None:
    for _ in range(200):
        try:
            kube.request("GET", path)
            return
        except Exception:  # noqa: BLE001 - 404 until the CRD is established
            time.sleep(0.1)
    raise AssertionError(f"{path} never served")


def test_a_500_on_one_kind_makes_the_nightly_partial_and_its_prune_keeps_that_kind(empty_cluster, tmp_path):
    admin = config.new_client_from_config(config_file=empty_cluster)
    install_crds(admin)
    kube = Kube(empty_cluster)
    hns = "higress-system"
    client.CoreV1Api(admin).create_namespace({"metadata": {"name": hns}})
    create_objects(admin, [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "higress-config", "namespace": hns},
         "data": {"higress": "gzip: {}"}},
        *[{"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
           "metadata": {"name": f"plugin-{i}", "namespace": hns}, "spec": {"url": "oci://x/y:1"}} for i in range(3)]])
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    good = next(c for c in load_crds() if c["metadata"]["name"] == PLUGINS)

    def replace_crd(body):
        live = kube.request("GET", f"{crds}/{PLUGINS}")
        kube.request("PUT", f"{crds}/{PLUGINS}", body=dict(body, metadata={
            "name": PLUGINS, "resourceVersion": live["metadata"]["resourceVersion"]}))

    replace_crd(broken_conversion_crd())  # preferred version v1 now needs a webhook nobody serves: LIST is a 500
    _served(kube, "/apis/extensions.higress.io/v1")
    store = str(tmp_path / "store")
    sched = tmp_path / "nightly.yaml"
    sched.write_text(yaml.safe_dump({"name": "nightly", "schedule": "30 2 * * *", "store": store,
                                     "scope": {"higress_namespace": hns}, "retention": {"keep_daily": 7}}))
    line = json.loads(run("schedule", "run", str(sched), "--kubeconfig", empty_cluster, code=3).stdout)
    assert line["partial"] is True and any(PLUGINS in w and "500" in w for w in line["warnings"])

    replace_crd(good)  # the API server answers again; the nightly still lacks the plugins
    for _ in range(100):
        try:
            kube.request("GET", f"/apis/extensions.higress.io/v1alpha1/namespaces/{hns}/wasmplugins")
            break
        except Exception:  # noqa: BLE001 - the old version may still be cached for a moment
            time.sleep(0.1)
    # (the nightly holds the CRD as it was, with its conversion webhook: a restore needs the flag to accept it)
    result = run("restore", line["snapshot"], "--store", store, "--kubeconfig", empty_cluster, "--prune", "--yes",
                 "--allow-crd-webhooks", "-o", "json", code=3)
    doc = json.loads(result.stdout)
    assert doc["summary"]["pruned"] == 0
    assert sorted(r["ref"]["name"] for r in doc["results"] if r["action"] == "skipped") == [
        "plugin-0", "plugin-1", "plugin-2"]
    assert plugin_names(admin, hns) == {"plugin-0", "plugin-1", "plugin-2"}
