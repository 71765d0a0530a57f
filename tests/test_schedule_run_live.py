"""A scheduled run (schedule/run.py, `schedule run`) against the real API server and MinIO: snapshot, then the
schedule's retention over its own snapshots."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import run

from hgbackup.kube import catalogue
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

pytestmark = pytest.mark.kube


@pytest.mark.s3
def test_schedule_run_snapshots_into_minio_and_applies_retention(populated, kubeconfig, testenv, bucket, tmp_path):
    hns, app, _ = populated
    path = tmp_path / "sched.yaml"
    path.write_text(yaml.safe_dump({
        "name": "ci", "schedule": "0 * * * *", "store": f"s3://{bucket}/backups",
        "s3Endpoint": testenv["HGBACKUP_TEST_S3_ENDPOINT"], "cluster": "ci-cluster",
        "scope": {"higress_namespace": hns, "namespaces": [hns, app]},
        "retention": {"keep_last": 2}, "tags": ["hourly"]}))
    lines = [json.loads(run("schedule", "run", str(path), "--kubeconfig", kubeconfig).stdout) for _ in range(3)]
    assert all(line["partial"] is False and line["objects"] >= 25 for line in lines)
    assert [line["removed"] for line in lines] == [[], [], [lines[0]["snapshot"]]]
    repo = Repository(open_store(f"s3://{bucket}/backups", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"]))
    assert sorted(k.id for k in repo.snapshot_keys()) == sorted([lines[1]["snapshot"], lines[2]["snapshot"]])
    manifest = repo.snapshot(repo.resolve("latest")).manifest.as_json()
    assert manifest["tags"] == ["hourly", "schedule:ci"] and manifest["cluster"]["name"] == "ci-cluster"
    assert catalogue.SECRETS.key in manifest["counts"]
