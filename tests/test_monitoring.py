"""Metrics, JSON logs, alert rules, dashboard and the CronJob's failure handling, without servers.

The live side (a real Pushgateway, promtool, the API server's dry run of the PrometheusRule) is in
tests/test_monitoring_live.py.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import yaml
from conftest import EXAMPLE, run

from hgbackup.errors import InvalidInput
from hgbackup.schedule import file as schedule
from hgbackup.schedule import metrics
from hgbackup.schedule.cron import cron_interval
from hgbackup.schedule.render import kubernetes_objects
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

BASE = "name: x\nstore: s3://b/p\ncluster: prod\n"


def parse(extra: str, cron: str = "30 2 * * *"):
    return schedule.parse(f"{BASE}schedule: '{cron}'\n{extra}", "f")


@pytest.mark.parametrize("cron, tz, interval", [
    ("30 2 * * *", "Etc/UTC", timedelta(days=1)),
    ("*/5 * * * *", "UTC", timedelta(minutes=5)),
    ("0 3 * * 1-5", "UTC", timedelta(days=3)),  # Friday to Monday
    ("@hourly", "UTC", timedelta(hours=1)),
    ("@weekly", "UTC", timedelta(days=7)),
    ("0 0 1 * *", "UTC", timedelta(days=31)),
    ("0 0 ? * MON", "UTC", timedelta(days=7)),  # robfig/cron's ? is *
    ("30 2 * * *", "Europe/Berlin", timedelta(hours=25)),  # the autumn DST change makes one day 25 hours
])
def test_cron_interval_is_the_longest_gap(cron, tz, interval):
    assert cron_interval(cron, tz) == interval


@pytest.mark.parametrize("cron, tz, message", [
    ("61 * * * *", "UTC", "schedule: '61 * * * *'"),
    ("* * * *", "UTC", "not a cron expression"),
    ("@every 5m", "UTC", "unknown descriptor"),
    ("TZ=Europe/Berlin 0 2 * * *", "UTC", "set the time zone with timeZone"),
    ("0 2 30 2 *", "UTC", "Bad day-of-month"),
    ("30 2 * * *", "Mars/Olympus", "not an IANA time zone"),
    ("30 2 * * *", "../../etc/passwd", "not an IANA time zone"),
])
def test_render_refuses_bad_cron_and_time_zones(cron, tz, message, tmp_path):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        parse(f"timeZone: '{tz}'\n", cron)
    path = tmp_path / "s.yaml"
    path.write_text(f"{BASE}schedule: '{cron}'\ntimeZone: '{tz}'\n")
    result = run("schedule", "render", str(path), code=2)
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_cronjob_fails_at_once_on_errors_a_retry_cannot_fix():
    objects = kubernetes_objects(parse(""))
    job = next(o for o in objects if o["kind"] == "CronJob")["spec"]["jobTemplate"]["spec"]
    rules = job["podFailurePolicy"]["rules"]
    assert rules[0] == {"action": "FailJob", "onExitCodes": {"containerName": "hgbackup", "operator": "In",
                                                             "values": [2, 4, 5]}}
    assert job["ttlSecondsAfterFinished"] > 0 and job["template"]["spec"]["restartPolicy"] == "Never"
    env = {e["name"]: e.get("value") for e in job["template"]["spec"]["containers"][0]["env"]}
    assert env["HGBACKUP_LOG_FORMAT"] == "json"


def test_schedule_sse_fields_reach_the_store_settings():
    sched = parse("s3ServerSideEncryption: aws:kms\ns3KmsKeyId: alias/backups\n")
    settings = sched.store_settings()
    assert (settings.s3_sse, settings.s3_kms_key_id) == ("aws:kms", "alias/backups")
    with pytest.raises(InvalidInput, match="s3ServerSideEncryption"):
        parse("s3ServerSideEncryption: DES\n")
    with pytest.raises(InvalidInput, match="needs s3ServerSideEncryption: aws:kms"):
        parse("s3KmsKeyId: alias/backups\n")


def test_image_references_are_checked_and_digests_recognised():
    digest = "sha256:" + "0" * 64
    assert schedule.image_pinned(f"reg.example:5000/team/hgbackup:0.1.0@{digest}")
    assert not schedule.image_pinned("reg.example/hgbackup:0.1.0")
    for bad in ("Reg/UPPER:1", f"x@{digest[:-1]}", "x:tag with space", "x@md5:abc"):
        with pytest.raises(InvalidInput, match="not an image reference"):
            schedule.check_image(bad, "--image")
    cron = next(o for o in kubernetes_objects(parse(""), image=f"reg/h@{digest}") if o["kind"] == "CronJob")
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == f"reg/h@{digest}"


def test_the_credentials_secret_is_documented_never_rendered(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"{BASE}schedule: '0 * * * *'\ncredentialsSecret: creds\nrequireEncryption: true\n")
    result = run("schedule", "render", str(path))
    assert "Secret" not in {o["kind"] for o in yaml.safe_load_all(result.stdout)}
    assert "kubectl -n hgbackup create secret generic creds" in result.stderr
    assert "--from-file=HGBACKUP_ENCRYPTION_KEY=./hgbackup.key" in result.stderr
    assert "&" not in result.stdout and "*id" not in result.stdout  # no YAML anchors or aliases


def test_monitoring_needs_a_pushgateway():
    with pytest.raises(InvalidInput, match="metrics.pushgateway"):
        kubernetes_objects(parse(""), monitoring=True)
    with pytest.raises(InvalidInput, match="metrics.pushgateway: required"):
        parse("metrics:\n  pushgateway: ftp://x\n")


def names_in(expr: str) -> set[str]:
    return set(re.findall(r"\bhgbackup_[a-z_]+\b", expr))


def test_alerts_and_dashboard_name_only_pushed_series():
    sched = parse("metrics:\n  pushgateway: http://pg:9091\n  ruleLabels: {release: kube-prometheus}\n")
    objects = kubernetes_objects(sched, monitoring=True)
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus"
    rules = rule["spec"]["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == {"HgbackupBackupTooOld", "HgbackupNeverSucceeded",
                                           "HgbackupSnapshotPartial", "HgbackupRunFailed"}
    too_old = next(r for r in rules if r["alert"] == "HgbackupBackupTooOld")
    assert too_old["expr"].endswith("> 172800")  # twice a day
    board_cm = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-dashboard"))
    assert board_cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(next(iter(board_cm["data"].values())))
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    used = set().union(*(names_in(e) for e in exprs + [r["expr"] for r in rules]))
    used |= names_in(json.dumps(board["templating"]))
    assert used and used <= set(metrics.SERIES)
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


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


def log_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]


def test_json_logs_are_one_object_per_line_errors_included(tmp_path):
    store = str(tmp_path / "store")
    ok = run("--log-format", "json", "snapshot", "--from-file", EXAMPLE, "--store", store, "--cluster", "prod")
    lines = log_lines(ok.stderr)
    assert all({"time", "level", "message"} <= set(line) for line in lines)
    done = next(line for line in lines if line["message"] == "snapshot written")
    assert done["level"] == "info" and done["snapshot"] == ok.stdout.strip() and done["cluster"] == "prod"
    assert done["exit_code"] == 0 and done["objects"] > 0 and done["archive_bytes"] > 0
    assert any(line["level"] == "warning" for line in lines)  # Secrets without a key
    missing = run("snapshot", "--from-file", str(tmp_path / "nope.yaml"), "--store", store, code=5,
                  env={"HGBACKUP_LOG_FORMAT": "json"})
    [error] = log_lines(missing.stderr)
    assert error["level"] == "error" and error["exit_code"] == 5 and "nope.yaml" in error["message"]
    usage = run("--log-format", "json", "list", "--bogus", code=2)
    [error] = log_lines(usage.stderr)
    assert error["exit_code"] == 2 and "--bogus" in error["message"]


def test_text_logs_stay_quiet_without_verbose(tmp_path):
    store = str(tmp_path / "store")
    quiet = run("snapshot", "--from-file", EXAMPLE, "--store", store)
    assert "snapshot written" not in quiet.stderr and "hgbackup: warning:" in quiet.stderr
    loud = run("-v", "snapshot", "--from-file", EXAMPLE, "--store", store)
    assert "hgbackup: snapshot written snapshot=" in loud.stderr
