"""Retention groups by identity and scope on the real API server and MinIO (issue 23, item 4): a restore's safety
snapshot never takes the daily slot of the nightly, and the CronJob's retention acts on its own schedule's group."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import run

pytestmark = [pytest.mark.kube, pytest.mark.s3]


def test_safety_snapshots_never_take_the_nightlys_slot(populated, kubeconfig, testenv, bucket, tmp_path):
    hns, app, _ = populated
    store = ["--store", f"s3://{bucket}/higress", "--s3-endpoint", testenv["HGBACKUP_TEST_S3_ENDPOINT"]]
    sched = tmp_path / "nightly.yaml"
    sched.write_text(yaml.safe_dump({
        "name": "nightly", "schedule": "30 2 * * *", "store": f"s3://{bucket}/higress",
        "s3Endpoint": testenv["HGBACKUP_TEST_S3_ENDPOINT"],
        "scope": {"higress_namespace": hns, "namespaces": [hns, app]}, "retention": {"keep_last": 1}}))
    first, second = (json.loads(run("schedule", "run", str(sched), "--kubeconfig", kubeconfig).stdout)
                     for _ in range(2))
    assert second["removed"] == [first["snapshot"]]

    # a restore of one namespace, and one of everything: each takes a safety snapshot, newer than the nightly
    narrow = json.loads(run("restore", second["snapshot"], *store, "--kubeconfig", kubeconfig, "-n", app, "--yes",
                            "-o", "json").stdout)["safety_snapshot"]
    full = json.loads(run("restore", second["snapshot"], *store, "--kubeconfig", kubeconfig, "--yes",
                          "-o", "json").stdout)["safety_snapshot"]
    doc = json.loads(run("forget", "--keep-daily", "7", *store, "-o", "json").stdout)
    kept = {k["id"]: k for k in doc["keep"]}
    assert set(kept) == {second["snapshot"], narrow, full} and doc["remove"] == []
    assert kept[second["snapshot"]]["reasons"][0].startswith("daily ")
    assert kept[narrow]["scope"].endswith("pre-restore") and kept[full]["scope"].endswith("pre-restore")

    # the CronJob's retention: its own schedule's snapshots only, whatever else the cluster's folder holds
    third = json.loads(run("schedule", "run", str(sched), "--kubeconfig", kubeconfig).stdout)
    assert third["removed"] == [second["snapshot"]]
    ids = {r["id"] for r in json.loads(run("list", *store, "-o", "json").stdout)}
    assert ids == {third["snapshot"], narrow, full}
