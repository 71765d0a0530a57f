"""Monitoring against real servers: the Pushgateway (Debian's prometheus-pushgateway), promtool (Debian's
prometheus) and the API server with the prometheus-operator PrometheusRule CRD, all from scripts/testenv."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml
from conftest import create_objects, rand_name, run, token_kubeconfig
from kubernetes import client

from hgbackup.kube.client import ApiError
from hgbackup.schedule import file as schedule
from hgbackup.schedule import metrics
from hgbackup.schedule.render import MOUNT, kubernetes_objects
from hgbackup.store import crypto, layout, open_store
from hgbackup.store.repository import Repository

pytestmark = [pytest.mark.kube, pytest.mark.s3]
HGBACKUP = os.path.join(os.path.dirname(sys.executable), "hgbackup")


def pushed(testenv, schedule_name: str) -> dict[tuple, float]:
    """The Pushgateway's /metrics, as {(name, labels...): value} for one schedule."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(testenv["HGBACKUP_TEST_PUSHGATEWAY"] + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("schedule") == schedule_name:
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k not in ("instance",)))
                out[(sample.name, *labels)] = sample.value
    return out


def value(series: dict, name: str, **labels) -> float:
    matches = [v for key, v in series.items() if key[0] == name and all((k, val) in key[1:] for k, val in
                                                                         labels.items())]
    assert len(matches) == 1, (name, labels, sorted(series))
    return matches[0]


@pytest.fixture(scope="session")
def prometheus_rule_crd(k8s, testenv):
    """The prometheus-operator PrometheusRule CRD (from its Go module, fetched by scripts/testenv), Established."""
    from kubernetes.client.exceptions import ApiException

    with open(testenv["HGBACKUP_TEST_PROMETHEUSRULE_CRD"], encoding="utf-8") as fh:
        crd = yaml.safe_load(fh)
    api = client.ApiextensionsV1Api(k8s)
    try:
        api.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
    deadline = time.time() + 60
    while True:
        live = api.read_custom_resource_definition(crd["metadata"]["name"])
        if any(c.type == "Established" and c.status == "True" for c in live.status.conditions or []):
            return crd
        assert time.time() < deadline, "PrometheusRule CRD not Established"
        time.sleep(0.2)


def schedule_text(name, bucket, testenv, hns, app, **extra) -> str:
    doc = {"name": name, "schedule": "15 */6 * * *", "timeZone": "Europe/Berlin", "store": f"s3://{bucket}/b",
           "s3Endpoint": testenv["HGBACKUP_TEST_S3_ENDPOINT"], "cluster": "live-test", "namespace": name,
           "scope": {"higress_namespace": hns, "namespaces": [hns, app]}, "retention": {"keep_last": 1},
           "credentialsSecret": "hgbackup-credentials", "requireEncryption": True,
           "metrics": {"pushgateway": testenv["HGBACKUP_TEST_PUSHGATEWAY"]}, **extra}
    return yaml.safe_dump(doc, sort_keys=False)


def test_rendered_monitoring_applies_and_the_job_pushes_metrics_as_its_service_account(
        populated, k8s, kubeconfig, testenv, bucket, prometheus_rule_crd, tmp_path, cleanup):
    hns, app, _ = populated
    name = rand_name("mon")
    sched_path = tmp_path / "sched.yaml"
    sched_path.write_text(schedule_text(name, bucket, testenv, hns, app))
    digest = "registry.example/hgbackup@sha256:" + "ab" * 32
    rendered = run("schedule", "render", str(sched_path), "--with-monitoring", "--image", digest)
    objects = list(yaml.safe_load_all(rendered.stdout))
    kinds = [o["kind"] for o in objects]
    assert "PrometheusRule" in kinds and "Secret" not in kinds
    cleanup(lambda: client.CoreV1Api(k8s).delete_namespace(name))
    create_objects(k8s, objects, cleanup=cleanup)  # everything the render printed, for real
    cron = client.BatchV1Api(k8s).read_namespaced_cron_job(f"hgbackup-{name}", name)
    assert cron.spec.job_template.spec.pod_failure_policy.rules[0].on_exit_codes.values == [2, 4, 5]
    assert client.CustomObjectsApi(k8s).get_namespaced_custom_object(
        "monitoring.coreos.com", "v1", name, "prometheusrules", f"hgbackup-{name}")["spec"]["groups"]

    # the credentials Secret, made as the render's kubectl command says (keys as the job reads them)
    key = crypto.generate_key()
    assert "--from-file=HGBACKUP_ENCRYPTION_KEY=./hgbackup.key" in rendered.stderr
    data = {"AWS_ACCESS_KEY_ID": testenv["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": testenv["AWS_SECRET_ACCESS_KEY"],
            "AWS_DEFAULT_REGION": "us-east-1", "HGBACKUP_ENCRYPTION_KEY": key + "\n"}
    client.CoreV1Api(k8s).create_namespaced_secret(name, {"metadata": {"name": "hgbackup-credentials"}, "data": {
        k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})

    # the job's command, as the kubelet would run it: args, env and envFrom of the container, the mounted ConfigMap,
    # and the token of the rendered ServiceAccount
    container = cron.spec.job_template.spec.template.spec.containers[0]
    mount = tmp_path / "etc-hgbackup"
    mount.mkdir()
    config_map = client.CoreV1Api(k8s).read_namespaced_config_map(f"hgbackup-{name}", name)
    (mount / "schedule.yaml").write_text(config_map.data["schedule.yaml"])
    secret = client.CoreV1Api(k8s).read_namespaced_secret("hgbackup-credentials", name)
    token = client.CoreV1Api(k8s).create_namespaced_service_account_token(
        f"hgbackup-{name}", name, {"spec": {"expirationSeconds": 600}}).status.token
    env = {"PATH": os.environ["PATH"], "KUBECONFIG": token_kubeconfig(kubeconfig, str(tmp_path / "sa"), token)}
    env.update({e.name: e.value for e in container.env})
    env.update({k: base64.b64decode(v).decode() for k, v in secret.data.items()})
    env["HOME"] = str(tmp_path)  # the pod's /tmp
    args = [a.replace(MOUNT, str(mount)) for a in container.args]

    for _ in range(2):  # the second run's retention removes the first snapshot
        job = subprocess.run([HGBACKUP, *args], env=env, capture_output=True, text=True, timeout=120)
        assert job.returncode == 0, job.stderr
    line = json.loads(job.stdout)
    logs = [json.loads(x) for x in job.stderr.splitlines()]  # JSON logs, as the CronJob's env asks
    done = next(x for x in logs if x["message"] == "scheduled run finished")
    assert done["snapshot"] == line["snapshot"] and done["exit_code"] == 0 and done["removed"] == 1
    assert not any(x["level"] in ("warning", "error") for x in logs), logs

    series = pushed(testenv, name)
    repo = Repository(open_store(f"s3://{bucket}/b", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"]),
                      crypto.Keyring(crypto.parse_key(key, "test")))
    manifest = repo.snapshot(repo.resolve(line["snapshot"])).manifest
    labels = {"job": "hgbackup", "cluster": "live-test"}
    assert value(series, "hgbackup_last_run_failed", **labels) == 0
    assert value(series, "hgbackup_last_run_partial", **labels) == 0
    assert value(series, "hgbackup_retention_kept_snapshots", **labels) == 1
    assert value(series, "hgbackup_retention_removed_snapshots", **labels) == 1
    assert value(series, "hgbackup_snapshot_archive_bytes", **labels) == manifest.archive.size
    for kind, count in manifest.counts.items():
        assert value(series, "hgbackup_snapshot_objects", kind=kind, **labels) == count
    success = value(series, "hgbackup_last_success_timestamp_seconds", **labels)
    assert abs(success - time.time()) < 120
    assert value(series, "hgbackup_last_attempt_timestamp_seconds", **labels) == success

    # every series the dashboard and the alerts name is one the push created
    pushed_names = {key[0] for key in series}
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    board = json.loads(next(iter(next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"]
                                      .endswith("-dashboard"))["data"].values())))
    from test_schedule_monitoring import names_in
    used = set().union(*(names_in(t["expr"]) for p in board["panels"] for t in p["targets"]),
                       *(names_in(r["expr"]) for r in rule["spec"]["groups"][0]["rules"]))
    assert used <= pushed_names

    # a run that cannot write (a store that does not exist: exit 5) fails the Job at once and is pushed as failed;
    # the last success is kept
    (mount / "schedule.yaml").write_text(config_map.data["schedule.yaml"].replace(f"s3://{bucket}/b",
                                                                                  "s3://no-such-bucket-hg/b"))
    failed = subprocess.run([HGBACKUP, *args], env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 5, failed.stderr
    [error] = [json.loads(x) for x in failed.stderr.splitlines() if json.loads(x)["level"] == "error"]
    assert error["exit_code"] == 5 and "no-such-bucket-hg" in error["message"]
    series = pushed(testenv, name)
    assert value(series, "hgbackup_last_run_failed", **labels) == 1
    assert value(series, "hgbackup_last_run_exit_code", **labels) == 5
    assert value(series, "hgbackup_last_success_timestamp_seconds", **labels) == success
    assert value(series, "hgbackup_last_attempt_timestamp_seconds", **labels) > success


def test_prometheus_rule_passes_server_side_dry_run_and_promtool(kube, testenv, prometheus_rule_crd, tmp_path):
    text = schedule_text("promtool-check", "b", testenv, "higress-system", "app",
                         metrics={"pushgateway": "http://pg:9091", "ruleLabels": {"release": "prom"}})
    objects = kubernetes_objects(schedule.parse(text, "t"), monitoring=True, namespace="default")
    rule = next(o for o in objects if o["kind"] == "PrometheusRule")
    created = kube.request("POST", "/apis/monitoring.coreos.com/v1/namespaces/default/prometheusrules",
                           query={"dryRun": "All"}, body=rule)
    assert created["spec"] == rule["spec"]  # the CRD's schema pruned nothing
    bad = json.loads(json.dumps(rule))
    bad["spec"]["groups"][0]["rules"][0]["for"] = "two days"
    with pytest.raises(ApiError) as refused:  # the dry run can fail: the CRD's schema is checked
        kube.request("POST", "/apis/monitoring.coreos.com/v1/namespaces/default/prometheusrules",
                     query={"dryRun": "All"}, body=bad)
    assert (refused.value.status, refused.value.reason) == (422, "Invalid")
    assert "spec.groups[0].rules[0].for" in str(refused.value)  # refused for the bad duration, not anything else

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(rule["spec"]))
    check = subprocess.run([testenv["HGBACKUP_TEST_PROMTOOL"], "check", "rules", str(rules_file)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 4 rules found" in check.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text(rules_file.read_text().replace("max by (cluster)", "max by (cluster"))
    assert subprocess.run([testenv["HGBACKUP_TEST_PROMTOOL"], "check", "rules", str(broken)],
                          capture_output=True, timeout=60).returncode == 1


def test_snapshot_pushgateway_pushes_a_manual_run(testenv, tmp_path):
    from conftest import EXAMPLE

    cluster = rand_name("manual")
    store = str(tmp_path / "store")
    # a run that fails before it knows its cluster is pushed as cluster="unknown" ...
    run("snapshot", "--from-file", str(tmp_path / "missing.yaml"), "--store", store,
        "--pushgateway", testenv["HGBACKUP_TEST_PUSHGATEWAY"], code=5)
    assert value(pushed(testenv, metrics.MANUAL), "hgbackup_last_run_failed", cluster=metrics.UNKNOWN) == 1
    out = json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", store, "--cluster", cluster,
                         "--pushgateway", testenv["HGBACKUP_TEST_PUSHGATEWAY"], "-o", "json").stdout)
    series = pushed(testenv, metrics.MANUAL)
    assert value(series, "hgbackup_last_run_exit_code", cluster=cluster) == 0
    # ... and the next complete run clears it, so HgbackupRunFailed does not fire forever
    assert not [key for key in series if ("cluster", metrics.UNKNOWN) in key[1:]]
    assert value(series, "hgbackup_snapshot_objects", cluster=cluster, kind="secrets") == \
        Repository(open_store(store)).snapshot(Repository(open_store(store)).resolve(out["id"])).manifest.counts[
            "secrets"]


def test_a_failed_and_a_good_run_of_a_cluster_named_with_a_colon_push_one_group(testenv, tmp_path):
    """Review finding 12: a kube context's cluster may be `arn:aws:eks:...`; a failed run pushed that raw name, a
    good run the store folder's spelling, so the failed group stayed and HgbackupRunFailed fired forever."""
    from conftest import EXAMPLE

    cluster = f"arn:aws:{rand_name('eks')}"
    folder = layout.cluster_key(cluster)
    store = str(tmp_path / "store")
    gateway = ["--pushgateway", testenv["HGBACKUP_TEST_PUSHGATEWAY"]]
    run("snapshot", "--from-file", str(tmp_path / "missing.yaml"), "--store", store, "--cluster", cluster, *gateway,
        code=5)
    failed = pushed(testenv, metrics.MANUAL)
    assert value(failed, "hgbackup_last_run_failed", cluster=folder) == 1
    run("snapshot", "--from-file", EXAMPLE, "--store", store, "--cluster", cluster, *gateway)
    series = pushed(testenv, metrics.MANUAL)
    assert value(series, "hgbackup_last_run_failed", cluster=folder) == 0
    assert not [key for key in series if ("cluster", cluster) in key[1:]]
