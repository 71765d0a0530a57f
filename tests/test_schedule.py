"""Schedule files, rendering, cronjob.yaml, forget on a store, and key generate (no cluster needed)."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from conftest import EXAMPLE, ROOT, run

from hgbackup.capture import snapshot
from hgbackup.capture.selection import Scope
from hgbackup.errors import InvalidInput
from hgbackup.schedule import file as schedule
from hgbackup.schedule.render import kubernetes_objects
from hgbackup.store import open_store
from hgbackup.store.repository import Repository


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


@pytest.mark.parametrize("text,field", [
    ("name: x\nstore: s\n", "schedule"),
    ("name: x\nschedule: 'daily'\nstore: s\n", "schedule"),
    ("name: X_Y\nschedule: '0 * * * *'\nstore: s\n", "name"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\nretention: {keep_daily: seven}\n", "retention.keep_daily"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\nscope: {include: [Pod]}\n", "scope"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\nscope: {namespace: a}\n", "scope.namespace"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\nbackup: yes\n", "backup"),
    ("name: x\nschedule: '0 * * * *'\nstore: s\ntags: nightly\n", "tags"),
    ("- a\n", "mapping"),
])
def test_malformed_schedule_names_the_field(text, field):
    with pytest.raises(InvalidInput, match=field):
        schedule.parse(text, "bad.yaml")


def test_render_cli_error_is_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nschedule: nope\nstore: s\n")
    result = run("schedule", "render", str(bad), code=2)
    assert "schedule" in result.stderr


def test_forget_on_a_local_store(tmp_path):
    store = str(tmp_path / "store")
    repo = Repository(open_store(store))
    capture = snapshot.capture_files([EXAMPLE], Scope())
    t0 = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
    ids = [snapshot.write(repo, capture, Scope(), now=t0 - timedelta(days=d)).id for d in range(5)]
    other = snapshot.capture_files([EXAMPLE], Scope(), cluster_name="other")
    lone = snapshot.write(repo, other, Scope(), now=t0 - timedelta(days=30)).id

    dry = json.loads(run("forget", "--keep-daily", "2", "--store", store, "--dry-run", "-o", "json").stdout)
    assert sorted(k["id"] for k in dry["keep"]) == sorted([ids[0], ids[1], lone])
    assert sorted(r["id"] for r in dry["remove"]) == sorted(ids[2:])
    assert len(repo.snapshot_keys()) == 6

    done = json.loads(run("forget", "--keep-daily", "2", "--store", store, "-o", "json").stdout)
    assert done["keep"][0]["reasons"]
    remaining = {k.id for k in repo.snapshot_keys()}
    assert remaining == {ids[0], ids[1], lone}
    assert not any(ids[2] in key for key in repo.store.list(""))  # manifest and archive both gone
    run("forget", "--store", store, code=2)


def test_key_generate():
    key = run("key", "generate").stdout.strip()
    assert len(base64.b64decode(key)) == 32
    assert key != run("key", "generate").stdout.strip()
