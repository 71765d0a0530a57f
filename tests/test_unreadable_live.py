"""An unreadable snapshot of another identity does not block this one (issue 23, item 11), on two real API servers
sharing one MinIO bucket (both call their cluster `testcluster`, so their snapshots share a folder). Cluster A's
snapshots are encrypted and signed; cluster B's were written without the key, so a reader with the key cannot
authenticate them, but their manifests still say whose they are: B's cannot be A's newest."""

from __future__ import annotations

import json

import pytest
from conftest import create_namespace, run

from hgbackup.kube.client import Kube

pytestmark = [pytest.mark.kube, pytest.mark.s3]


def test_unauthenticated_snapshots_of_another_cluster_never_block_latest(kubeconfig, empty_cluster, k8s, cleanup,
                                                                         testenv, bucket, keyfile, s3):
    a, b = kubeconfig, empty_cluster
    hns = create_namespace(k8s, cleanup, "hs")
    for cfg, value in ((a, "cluster-a"), (b, "cluster-b")):
        kube = Kube(cfg)
        if cfg == b:
            kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": hns}})
        kube.request("POST", f"/api/v1/namespaces/{hns}/configmaps",
                     body={"metadata": {"name": "higress-config"}, "data": {"v": value}})
    store = ["--store", f"s3://{bucket}/higress", "--s3-endpoint", testenv["HGBACKUP_TEST_S3_ENDPOINT"]]
    scope = ["--higress-namespace", hns, "--include", "ConfigMap"]
    key = ["--encryption-key-file", keyfile]
    a_id = json.loads(run("snapshot", "--kubeconfig", a, *store, *scope, *key, "-o", "json").stdout)["id"]
    b_ids = [json.loads(run("snapshot", "--kubeconfig", b, *store, *scope, "-o", "json").stdout)["id"]
             for _ in range(2)]  # newer than A's, same folder, no key
    a_prefix = Kube(a).cluster_identity()[:8]

    for args in (["--cluster", a_prefix], []):  # by --cluster, and by the target's own identity
        plan = json.loads(run("restore", "latest", *store, *key, "--kubeconfig", a, "--dry-run", *args,
                              "-o", "json").stdout)
        assert plan["snapshot"] == a_id
    assert json.loads(run("diff", "latest", "live", *store, *key, "--kubeconfig", a, *scope,
                          "-o", "json").stdout)["summary"]["changed"] == 0
    verified = json.loads(run("verify", "--all", "--cluster", a_prefix, *store, *key, "-o", "json").stdout)
    assert [r["id"] for r in verified] == [a_id]
    run("log", "--cluster", a_prefix, *store, *key)
    # the store as a whole still reports B's two as unreadable
    everything = run("verify", "--all", *store, *key, "-o", "json", code=4)
    assert {r["id"] for r in json.loads(everything.stdout) if not r["ok"]} == set(b_ids)

    # a newer manifest that says nothing readable may be A's: latest stops rather than skip it
    garbage = "20991231T000000Z-0000000000aa"
    s3.put_object(Bucket=bucket, Key=f"higress/testcluster/snapshots/{garbage}/manifest.json", Body=b"not json")
    blocked = run("restore", "latest", *store, *key, "--kubeconfig", a, "--dry-run", code=4)
    assert f"would skip {garbage}" in blocked.stderr
