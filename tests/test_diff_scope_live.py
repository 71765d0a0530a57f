"""`diff <id> live` with one scope on both sides (issue 23 item 13), on the real API server."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from conftest import create_objects, run
from kubernetes import client

pytestmark = pytest.mark.kube


def test_namespace_and_exclude_filter_both_sides(populated, k8s, kubeconfig, tmp_path, cleanup):
    hns, app, _ = populated
    client.CoreV1Api(k8s).create_namespaced_secret(app, {"metadata": {"name": "shop-gw-cert"},
                                                         "type": "kubernetes.io/tls",
                                                         "data": {"tls.crt": "", "tls.key": ""}})
    create_objects(k8s, [{"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                          "metadata": {"name": "gw-certs", "namespace": app},
                          "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                             "namespace": hns}],
                                   "to": [{"group": "", "kind": "Secret", "name": "shop-gw-cert"}]}}],
                   cleanup=cleanup)
    gateways = ("gateway.networking.k8s.io", "v1", hns, "gateways", "public")
    custom = client.CustomObjectsApi(k8s)
    gateway = custom.get_namespaced_custom_object(*gateways)
    gateway["spec"]["listeners"][0]["tls"]["certificateRefs"].append({"name": "shop-gw-cert", "namespace": app})
    custom.replace_namespaced_custom_object(*gateways, gateway)
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    held = json.loads(run("show", sid, "--store", store, "--objects", "-o", "json").stdout)["objects"]
    assert ("Secret", app, "shop-gw-cert") in {(o["kind"], o["namespace"], o["name"]) for o in held}

    common = ["--store", store, "--kubeconfig", kubeconfig, "--higress-namespace", hns, "-o", "json"]
    # -n app: the certificate is referenced from hns, which neither side now holds
    narrow = json.loads(run("diff", sid, "live", *common, "-n", app, code=0).stdout)
    assert narrow["removed"] == [] and narrow["added"] == []
    # --exclude: CRDs left out of both sides, not "removed"
    no_crds = json.loads(run("diff", sid, "live", *common, "-n", hns, "-n", app, "--exclude",
                             "CustomResourceDefinition", code=0).stdout)
    assert no_crds["removed"] == [] and no_crds["summary"]["unchanged"] > 0

    # the plain case: a real difference inside the narrowed scope still counts
    client.CoreV1Api(k8s).patch_namespaced_secret("shop-gw-cert", app, {"metadata": {"labels": {"x": "y"}}})
    changed = json.loads(run("diff", sid, "live", *common, "-n", hns, "-n", app, code=1).stdout)
    assert [c["ref"]["name"] for c in changed["changed"]] == ["shop-gw-cert"]


def test_crds_that_differ_from_the_live_ones_are_noted_not_counted(populated, kubeconfig, tmp_path):
    """A restore never changes an existing CRD, so the runbook's final diff must not stay at exit 1 for them."""
    hns, app, _ = populated
    store, folder = str(tmp_path / "store"), tmp_path / "export"
    scope = ["--higress-namespace", hns, "-n", hns, "-n", app]
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, *scope, "-o", "json").stdout)["id"]
    run("export", sid, str(folder), "--store", store)
    edited = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            doc = yaml.safe_load(open(path, encoding="utf-8"))
            if doc.get("kind") == "CustomResourceDefinition":
                doc["metadata"].setdefault("labels", {})["from-another-release"] = "yes"
                with open(path, "w", encoding="utf-8") as fh:
                    yaml.safe_dump(doc, fh)
                edited += 1
    assert edited > 0
    result = run("diff", str(folder), "live", "--kubeconfig", kubeconfig, *scope, "-o", "json", code=0)
    doc = json.loads(result.stdout)
    assert len(doc["crds_kept"]) == edited and doc["changed"] == []
    assert "CustomResourceDefinition" in result.stderr and "not counted" in result.stderr
