"""A live target is not a DR target (issue 23, item 9), on two real API servers sharing one MinIO bucket: both call
their cluster `testcluster`. A restore of A's snapshot into B is a disaster recovery while B has no snapshots of its
own in the store (safety snapshots do not count); once B is backed up, it is a live cluster and the restore needs
--into-live-cluster naming B's identity, in scripts too (--yes)."""

from __future__ import annotations

import json

import pytest
from conftest import create_namespace, run

from hgbackup.kube.client import Kube

pytestmark = [pytest.mark.kube, pytest.mark.s3]


def _configmap(kubeconfig: str, ns: str, value: str | None = None) -> str:
    kube = Kube(kubeconfig)
    if value is not None:
        kube.request("POST", f"/api/v1/namespaces/{ns}/configmaps",
                     body={"metadata": {"name": "higress-config"}, "data": {"v": value}})
    return kube.request("GET", f"/api/v1/namespaces/{ns}/configmaps/higress-config")["data"]["v"]


def test_a_backed_up_cluster_needs_into_live_cluster(kubeconfig, empty_cluster, k8s, cleanup, testenv, bucket):
    a, b = kubeconfig, empty_cluster
    hns = create_namespace(k8s, cleanup, "hs")
    _configmap(a, hns, "cluster-a")
    Kube(b).request("POST", "/api/v1/namespaces", body={"metadata": {"name": hns}})
    _configmap(b, hns, "cluster-b")
    store = ["--store", f"s3://{bucket}/higress", "--s3-endpoint", testenv["HGBACKUP_TEST_S3_ENDPOINT"]]
    scope = ["--higress-namespace", hns, "--include", "ConfigMap"]
    a_id = json.loads(run("snapshot", "--kubeconfig", a, *store, *scope, "-o", "json").stdout)["id"]
    b_identity = Kube(b).cluster_identity()

    # B has no snapshots of its own: a disaster-recovery target, twice (its safety snapshots do not count)
    for _ in range(2):
        result = run("restore", a_id, *store, "--kubeconfig", b, "--yes", "-o", "json")
        doc = json.loads(result.stdout)
        assert doc["target"]["case"] == "disaster-recovery" and doc["cross_cluster"] is True
        assert "disaster recovery: the target has no snapshots of its own" in result.stderr
    assert _configmap(b, hns) == "cluster-a"

    # B is backed up now: a live cluster
    Kube(b).request("PATCH", f"/api/v1/namespaces/{hns}/configmaps/higress-config",
                              body={"data": {"v": "cluster-b"}}, content_type="application/merge-patch+json")
    run("snapshot", "--kubeconfig", b, *store, *scope)
    refused = run("restore", a_id, *store, "--kubeconfig", b, "--yes", "--prune", code=2)
    [line] = [e for e in refused.stderr.splitlines() if e.startswith("hgbackup: error:")]
    assert "has 1 snapshot(s) of its own in this store" in line and f"--into-live-cluster {b_identity[:8]}" in line
    assert _configmap(b, hns) == "cluster-b"  # nothing written, no safety snapshot either
    assert len(json.loads(run("list", *store, "-o", "json").stdout)) == 4

    plan = run("restore", a_id, *store, "--kubeconfig", b, "--dry-run", "-o", "json")
    doc = json.loads(plan.stdout)
    assert doc["target"]["case"] == "live-cluster" and doc["target"]["own_snapshots"] == 1
    assert "a LIVE cluster" in plan.stderr and "a real restore needs --into-live-cluster" in plan.stderr

    wrong = run("restore", a_id, *store, "--kubeconfig", b, "--yes", "--into-live-cluster",
                Kube(a).cluster_identity()[:8], code=2)
    assert f"its identity is {b_identity}" in wrong.stderr
    done = run("restore", a_id, *store, "--kubeconfig", b, "--yes", "--into-live-cluster", b_identity[:8],
               "-o", "json")
    assert json.loads(done.stdout)["target"]["confirmed"] == b_identity[:8]
    assert _configmap(b, hns) == "cluster-a"
    # and into its own cluster, nothing is asked
    same = json.loads(run("restore", a_id, *store, "--kubeconfig", a, "--dry-run", "-o", "json").stdout)
    assert same["target"]["case"] == "same-cluster" and same["cross_cluster"] is False
