"""A run's metrics (schedule/metrics.py): the series of complete and failed runs, and a push that cannot be made
(the real Pushgateway is in test_schedule_monitoring_live.py)."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLE, run

from hgbackup.capture.snapshot import SnapshotReport
from hgbackup.errors import NotFound
from hgbackup.schedule import metrics
from hgbackup.store import open_store
from hgbackup.store.repository import Repository


def snapshot_of(tmp_path):
    store = str(tmp_path / "store")
    run("snapshot", "--from-file", EXAMPLE, "--store", store, "--cluster", "prod")
    repo = Repository(open_store(store))
    return repo.snapshot(repo.resolve("latest"))


def exposition(run_outcome) -> dict[str, float]:
    from prometheus_client import generate_latest

    out = {}
    for line in generate_latest(metrics.registry(run_outcome)).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_a_complete_run_sets_last_success_and_a_failed_one_does_not(tmp_path):
    snap = snapshot_of(tmp_path)
    ok = exposition(metrics.RunOutcome("nightly", "prod", 100.0, 103.5, 0, snap, kept=4, removed=1))
    assert ok["hgbackup_last_success_timestamp_seconds"] == 103.5
    assert ok["hgbackup_last_run_duration_seconds"] == 3.5 and ok["hgbackup_last_run_failed"] == 0
    assert ok['hgbackup_snapshot_objects{kind="ingresses.networking.k8s.io"}'] == \
        snap.manifest.counts["ingresses.networking.k8s.io"]
    assert ok["hgbackup_snapshot_archive_bytes"] == snap.manifest.archive.size
    assert ok["hgbackup_retention_removed_snapshots"] == 1
    failed = exposition(metrics.RunOutcome("nightly", "prod", 100.0, 101.0, 6))
    assert "hgbackup_last_success_timestamp_seconds" not in failed
    assert failed["hgbackup_last_run_failed"] == 1 and failed["hgbackup_last_run_exit_code"] == 6
    assert not any(name.startswith("hgbackup_snapshot_") for name in failed)


def test_an_unreachable_pushgateway_is_exit_3_and_the_snapshot_is_kept(tmp_path):
    store = str(tmp_path / "store")
    result = run("--log-format", "json", "snapshot", "--from-file", EXAMPLE, "--store", store, "--pushgateway",
                 "http://127.0.0.1:9", "-o", "json", code=3)
    doc = json.loads(result.stdout)
    assert "cannot push metrics to the Pushgateway at http://127.0.0.1:9" in doc["metrics_error"]
    assert Repository(open_store(store)).resolve(doc["id"])


def test_a_monitored_run_that_fails_raises_its_own_error_and_one_that_works_is_timed(tmp_path, capsys):
    attempt = metrics.Attempt("nightly", "prod")

    def fails(_):
        raise NotFound("no such store")

    with pytest.raises(NotFound, match="^no such store$"):  # the run's error, not the push's
        metrics.monitored("http://127.0.0.1:9", attempt, fails)
    assert "cannot push metrics to the Pushgateway at http://127.0.0.1:9" in capsys.readouterr().err
    snap = snapshot_of(tmp_path)
    report = SnapshotReport(snap, "store")
    assert metrics.monitored(None, attempt, lambda _: report) is report and report.metrics_error is None
    assert attempt.finished >= attempt.started and attempt.duration == attempt.finished - attempt.started
