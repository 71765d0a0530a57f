"""The rendered CronJob, RBAC and ConfigMap (schedule/render.py), cronjob.yaml and `schedule render` (no cluster
needed; the API server's view is in test_schedule_render_live.py)."""

from __future__ import annotations

import os

import pytest
import yaml
from conftest import ROOT, run

from hgbackup.errors import InvalidInput
from hgbackup.schedule import file as schedule
from hgbackup.schedule.render import kubernetes_objects

BASE = "name: x\nstore: s3://b/p\ncluster: prod\n"


def parse(extra: str, cron: str = "30 2 * * *"):
    return schedule.parse(f"{BASE}schedule: '{cron}'\n{extra}", "f")


def test_cronjob_yaml_is_the_rendered_nightly_schedule():
    rendered = run("schedule", "render", os.path.join(ROOT, "schedules", "nightly.yaml")).stdout
    with open(os.path.join(ROOT, "cronjob.yaml"), encoding="utf-8") as fh:
        assert fh.read() == rendered


@pytest.mark.parametrize("name", ["nightly.yaml", "hourly.yaml"])


def test_shipped_schedules_render(name):
    objects = list(yaml.safe_load_all(run("schedule", "render", os.path.join(ROOT, "schedules", name)).stdout))
    kinds = [o["kind"] for o in objects]
    assert kinds[:2] == ["Namespace", "ServiceAccount"] and kinds[-1] == "CronJob" and "ClusterRole" in kinds
    assert objects[0]["metadata"]["name"] == "hgbackup"  # its own namespace
    cron = objects[-1]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid" and cron["startingDeadlineSeconds"] > 0
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 0 and job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert container["envFrom"] == [{"secretRef": {"name": "hgbackup-credentials"}}]


def _rules(objects, kind):
    return [r for o in objects if o["kind"] == kind for r in o["rules"]]


def test_rbac_is_read_only_and_narrow():
    sched = schedule.load(os.path.join(ROOT, "schedules", "nightly.yaml"))
    objects = kubernetes_objects(sched)
    verbs = {v for kind in ("ClusterRole", "Role") for r in _rules(objects, kind) for v in r["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    cluster = _rules(objects, "ClusterRole")
    assert not any("secrets" in r["resources"] for r in cluster)  # no Secret is readable cluster-wide
    assert not any("configmaps" in r["resources"] for r in cluster)
    roles = {o["metadata"]["namespace"]: o["rules"] for o in objects if o["kind"] == "Role"}
    assert set(roles) == {"higress-system"}  # not the job's own namespace, where its credentials live
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]} in roles["higress-system"]
    granted = {(g, res) for r in cluster for g in r["apiGroups"] for res in r["resources"]}
    for kind in sched.scope.kinds():
        if kind.key not in ("secrets", "configmaps"):
            assert (kind.group, kind.plural) in granted, kind.key
    assert ("", "services") not in granted  # not in scope


def test_namespaced_scope_gets_roles_only():
    sched = schedule.parse("name: x\nschedule: '0 * * * *'\nstore: s3://b/p\nscope:\n  namespaces: [a, b]\n",
                           "f")
    objects = kubernetes_objects(sched)
    cluster = {res for r in _rules(objects, "ClusterRole") for res in r["resources"]}
    assert "ingresses" not in cluster and "secrets" not in cluster
    roles = {o["metadata"]["namespace"] for o in objects if o["kind"] == "Role"}
    assert roles == {"a", "b", "higress-system"}


def test_secret_namespaces_narrow_secret_reads_and_render_says_what_it_grants():
    text = ("name: x\nschedule: '0 * * * *'\nstore: s3://b/p\ncredentialsSecret: creds\n"
            "secretNamespaces: [shop, blog]\n")
    objects = kubernetes_objects(schedule.parse(text, "f"))
    secret_rules = {(o["metadata"].get("namespace"), tuple(r["verbs"])) for o in objects
                    if o["kind"] in ("Role", "ClusterRole") for r in o["rules"] if "secrets" in r["resources"]}
    assert secret_rules == {("higress-system", ("get", "list", "watch")), ("shop", ("get",)), ("blog", ("get",))}
    path = os.path.join(ROOT, "schedules", "nightly.yaml")
    result = run("schedule", "render", path)
    assert "in namespace higress-system: get,list,watch secrets" in result.stderr
    assert "cluster-wide: get namespaces named kube-system" in result.stderr
    # the shipped schedule keeps its credentials out of reach: its one warning is that no image digest exists yet
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "not pinned by digest" in warnings[0]
    pinned = "registry.example/hgbackup@sha256:" + "a" * 64
    assert "warning" not in run("schedule", "render", path, "--image", pinned).stderr


def test_render_warns_when_the_job_can_read_its_own_credentials(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nschedule: '0 * * * *'\nstore: s3://b/p\nnamespace: higress-system\n"
                    "credentialsSecret: creds\n")
    result = run("schedule", "render", str(path))
    assert "credentials Secret higress-system/creds is readable by its identity" in result.stderr
    assert "Secrets are read only in the Higress namespace" in result.stderr


def test_render_cli_error_is_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nschedule: nope\nstore: s\n")
    result = run("schedule", "render", str(bad), code=2)
    assert "schedule" in result.stderr


def test_cronjob_fails_at_once_on_errors_a_retry_cannot_fix():
    objects = kubernetes_objects(parse(""))
    job = next(o for o in objects if o["kind"] == "CronJob")["spec"]["jobTemplate"]["spec"]
    rules = job["podFailurePolicy"]["rules"]
    assert rules[0] == {"action": "FailJob", "onExitCodes": {"containerName": "hgbackup", "operator": "In",
                                                             "values": [2, 4, 5]}}
    assert job["ttlSecondsAfterFinished"] > 0 and job["template"]["spec"]["restartPolicy"] == "Never"
    env = {e["name"]: e.get("value") for e in job["template"]["spec"]["containers"][0]["env"]}
    assert env["HGBACKUP_LOG_FORMAT"] == "json"


def test_the_credentials_secret_is_documented_never_rendered(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"{BASE}schedule: '0 * * * *'\ncredentialsSecret: creds\nrequireEncryption: true\n")
    result = run("schedule", "render", str(path))
    assert "Secret" not in {o["kind"] for o in yaml.safe_load_all(result.stdout)}
    assert "kubectl -n hgbackup create secret generic creds" in result.stderr
    assert "--from-file=HGBACKUP_ENCRYPTION_KEY=./hgbackup.key" in result.stderr
    assert "&" not in result.stdout and "*id" not in result.stdout  # no YAML anchors or aliases


def test_the_image_option_is_checked_and_reaches_the_cronjob():
    digest = "sha256:" + "0" * 64
    with pytest.raises(InvalidInput, match="--image: 'x:tag with space' is not an image reference"):
        kubernetes_objects(parse(""), image="x:tag with space")
    cron = next(o for o in kubernetes_objects(parse(""), image=f"reg/h@{digest}") if o["kind"] == "CronJob")
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == f"reg/h@{digest}"


def test_monitoring_needs_a_pushgateway():
    with pytest.raises(InvalidInput, match="monitoring needs metrics.pushgateway"):
        kubernetes_objects(parse(""), monitoring=True)
