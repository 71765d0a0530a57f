"""A dry run into an empty target (issue 23, item 12), on a real second API server: what can be validated is (an
object whose namespace the restore would create is validated in namespace default), and the summary and the JSON
say how many rows were not validated and why (a kind whose CRD the restore would create)."""

from __future__ import annotations

import json

import pytest
from conftest import run

from hgbackup.kube import catalogue

pytestmark = pytest.mark.kube


def test_a_dry_run_on_an_empty_target_validates_what_it_can_and_counts_the_rest(populated, kubeconfig,
                                                                               empty_cluster, tmp_path):
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    objects = json.loads(run("show", sid, "--store", store, "-o", "json").stdout)["objects"]
    custom = [o for o in objects if o["kind"] != "CustomResourceDefinition"
              and catalogue.BY_GROUP_KIND[(catalogue.group_of(o["apiVersion"]), o["kind"])].custom]
    core = [o for o in objects if o["kind"] in ("Secret", "ConfigMap", "Ingress")]
    assert custom and core

    result = run("restore", sid, "--store", store, "--kubeconfig", empty_cluster, "--dry-run", "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["not_validated"] == {"count": len(custom), "reasons": {"its CRD is created first": len(custom)}}
    by_name = {(r["ref"]["kind"], r["ref"]["name"]): r for r in doc["results"]}
    for o in core:  # their namespaces do not exist in the target: validated in namespace default instead
        assert by_name[(o["kind"], o["name"])]["message"].endswith(
            "validated in namespace default (its own namespace is created first)"), o
    text = run("restore", sid, "--store", store, "--kubeconfig", empty_cluster, "--dry-run").stdout
    assert text.splitlines()[-1].endswith(f"({len(custom)} not validated: {len(custom)} because its CRD is "
                                          "created first)")


def test_an_invalid_object_in_a_namespace_to_be_created_fails_the_dry_run(empty_cluster, tmp_path):
    bad = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Sometimes", "backend": {
               "service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--from-file", str(path), "--store", store, "-o", "json").stdout)["id"]
    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", empty_cluster, "--dry-run", "-o", "json",
                         code=3).stdout)
    [ingress] = [r for r in doc["results"] if r["ref"]["kind"] == "Ingress"]
    assert ingress["action"] == "failed" and "pathType" in ingress["message"]
    assert doc["not_validated"]["count"] == 0
