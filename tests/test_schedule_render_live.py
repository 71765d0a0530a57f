"""The rendered objects (schedule/render.py) against the real API server: accepted as they are, and least privilege:
the rendered ServiceAccount reads everything in scope and writes nothing."""

from __future__ import annotations

import json
import os

import pytest
from conftest import ROOT, create_namespace, create_objects, rand_name, run, token_kubeconfig
from kubernetes import client

from hgbackup.schedule import file as schedule
from hgbackup.schedule.render import kubernetes_objects
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

pytestmark = pytest.mark.kube



def test_rendered_nightly_is_accepted_by_the_api_server(k8s, kube, cleanup):
    ns = rand_name("cron")  # the rendered objects bring their own Namespace
    cleanup(lambda: client.CoreV1Api(k8s).delete_namespace(ns))
    with open(os.path.join(ROOT, "schedules", "nightly.yaml"), encoding="utf-8") as fh:
        text = fh.read().replace("name: nightly", f"name: nightly-{ns}")  # unique names on a reused server
    objects = kubernetes_objects(schedule.parse(text, "nightly.yaml"), namespace=ns)
    dyn_paths = {"Namespace": "/api/v1/namespaces", "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
                 "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
                 "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
                 "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
                 "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                 "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                 "CronJob": "/apis/batch/v1/namespaces/{ns}/cronjobs"}
    for obj in objects:  # server-side dry run of every object first
        path = dyn_paths[obj["kind"]].format(ns=obj["metadata"].get("namespace"))
        if obj["kind"] in ("Role", "RoleBinding") or obj["metadata"].get("namespace") == ns:
            continue  # their namespace does not exist yet; created for real below
        kube.request("POST", path, query={"dryRun": "All"}, body=obj)
    if "higress-system" not in {n.metadata.name for n in client.CoreV1Api(k8s).list_namespace().items}:
        client.CoreV1Api(k8s).create_namespace({"metadata": {"name": "higress-system"}})
    create_objects(k8s, objects, cleanup=cleanup)
    cron = client.BatchV1Api(k8s).read_namespaced_cron_job(f"hgbackup-nightly-{ns}", ns)
    assert cron.spec.schedule == "30 2 * * *" and cron.spec.concurrency_policy == "Forbid"


def _apply_schedule(k8s, text: str, tmp_path, kubeconfig, cleanup) -> str:
    """Render a schedule, create its objects, and return a kubeconfig holding its ServiceAccount's token."""
    sched = schedule.parse(text, "test")
    ns = sched.namespace
    objects = kubernetes_objects(sched)
    create_objects(k8s, objects, cleanup=cleanup)
    sa = next(o for o in objects if o["kind"] == "ServiceAccount")["metadata"]["name"]
    token = client.CoreV1Api(k8s).create_namespaced_service_account_token(
        sa, ns, {"spec": {"expirationSeconds": 3600}}).status.token
    return token_kubeconfig(kubeconfig, str(tmp_path / "sa.kubeconfig"), token)


def test_the_rendered_service_account_reads_everything_in_scope_and_writes_nothing(populated, k8s, kubeconfig,
                                                                                   tmp_path, cleanup):
    hns, app, _ = populated
    text = (f"name: {rand_name('s')}\nschedule: '0 * * * *'\nstore: s3://unused/x\nnamespace: {hns}\n"
            f"scope:\n  higress_namespace: {hns}\n  namespaces: [{hns}, {app}]\n")
    sa_config = _apply_schedule(k8s, text, tmp_path, kubeconfig, cleanup)
    store = str(tmp_path / "store")
    scope = ["--higress-namespace", hns, "-n", hns, "-n", app]
    as_sa = json.loads(run("snapshot", "--kubeconfig", sa_config, "--store", store, *scope, "--cluster", "sa",
                           "-o", "json").stdout)
    as_admin = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, *scope, "--cluster", "admin",
                              "-o", "json").stdout)
    assert as_sa["partial"] is False and as_sa["warnings"] == []
    repo = Repository(open_store(store))

    def content(sid):
        entries = repo.snapshot(repo.resolve(sid)).manifest.as_json()["objects"]
        return {(o["kind"], o["namespace"], o["name"], o["sha256"]) for o in entries}

    assert content(as_sa["id"]) == content(as_admin["id"])
    assert any(kind == "Secret" for kind, *_ in content(as_sa["id"]))

    # the same identity cannot write: a restore is refused with exit 6
    client.NetworkingV1Api(k8s).delete_namespaced_ingress("shop-api", app)
    result = run("restore", as_sa["id"], "--kubeconfig", sa_config, "--store", store, "--yes",
                 "--no-safety-snapshot", code=6)
    errors = [line for line in result.stderr.splitlines() if line.startswith("hgbackup: error:")]
    assert len(errors) == 1 and "forbidden" in errors[0]

    # and it is refused wherever its snapshot has no business: Secrets of other namespaces, any write
    from kubernetes import config
    from kubernetes.client.exceptions import ApiException

    as_job = client.CoreV1Api(config.new_client_from_config(config_file=sa_config))
    other = create_namespace(k8s, cleanup, "other")
    client.CoreV1Api(k8s).create_namespaced_secret(other, {"metadata": {"name": "not-yours"}, "stringData": {"a": "b"}})
    for attempt in (lambda: as_job.read_namespaced_secret("not-yours", other),
                    lambda: as_job.list_secret_for_all_namespaces(),
                    lambda: as_job.list_namespaced_secret("kube-system"),
                    lambda: as_job.create_namespaced_config_map(hns, {"metadata": {"name": "x"}})):
        with pytest.raises(ApiException) as refused:
            attempt()
        assert refused.value.status == 403
