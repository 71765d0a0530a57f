"""A restore the cluster stops half-way, on the real API server: every object gets a result, no further tier starts,
the report is still printed, and the exit code says whether anything was applied (3) or nothing could be (6)."""

from __future__ import annotations

import json
import time

import pytest
from conftest import rand_name, run
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from hgbackup import restore
from hgbackup.errors import EXIT_PARTIAL
from hgbackup.kube import catalogue
from hgbackup.kube.client import Kube
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

pytestmark = pytest.mark.kube

GROUPS = ["", "networking.k8s.io", "gateway.networking.k8s.io", "networking.istio.io", "networking.higress.io",
          "extensions.higress.io", "apiextensions.k8s.io"]
READ_ALL = {"apiGroups": GROUPS, "resources": ["*"], "verbs": ["get", "list"]}


@pytest.fixture
def snapshot_of_example(populated, kubeconfig, tmp_path):
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    return {"hns": hns, "app": app, "store": store, "id": sid}


def mapped(source, cleanup, k8s):
    """--namespace-map arguments that restore the example into two new namespaces (deleted afterwards)."""
    new_h, new_a = rand_name("rh"), rand_name("ra")
    core = client.CoreV1Api(k8s)
    for ns in (new_h, new_a):
        cleanup(lambda ns=ns: core.delete_namespace(ns))
    return {source["hns"]: new_h, source["app"]: new_a}


def test_rights_revoked_between_tiers_stop_the_restore_and_every_object_gets_a_result(
        snapshot_of_example, service_account, k8s, cleanup):
    src = snapshot_of_example
    sa = service_account([{"apiGroups": GROUPS, "resources": ["*"], "verbs": ["*"]}], "restorer")
    ns_map = mapped(src, cleanup, k8s)
    repo = Repository(open_store(src["store"]))
    rbac = client.RbacAuthorizationV1Api(k8s)

    def revoke_after_secrets(done, total, what):
        if what != f"tier {catalogue.SECRETS.tier}":
            return
        rbac.delete_cluster_role_binding(sa.binding)
        probe = client.CoreV1Api(_client(sa.kubeconfig))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the authorizer's cache follows the delete within moments
            try:
                probe.list_namespaced_config_map(ns_map[src["hns"]])
            except ApiException as exc:
                if exc.status == 403:
                    return
            time.sleep(0.1)
        raise AssertionError("the revoked binding never took effect")

    options = restore.RestoreOptions(namespace_map=ns_map)
    report = restore.restore_snapshot(repo, src["id"], options, connect=lambda: Kube(sa.kubeconfig),
                                      progress=revoke_after_secrets)

    assert report.stopped and "forbidden" in report.stopped
    assert report.exit_code == EXIT_PARTIAL  # namespaces and Secrets were applied before the cluster refused
    assert report.safety_snapshot  # taken before anything was written, and named in the report
    by_tier: dict[int, set[str]] = {}
    for result in report.results:
        tier = catalogue.NAMESPACE_TIER if result.ref.kind == "Namespace" else \
            catalogue.BY_GROUP_KIND[(result.ref.group, result.ref.kind)].tier
        by_tier.setdefault(tier, set()).add(result.action.value)
    assert by_tier[catalogue.NAMESPACE_TIER] == {"created"}
    assert by_tier[catalogue.SECRETS.tier] == {"created"}
    later = [t for t in by_tier if t > catalogue.SECRETS.tier]
    assert later and all(by_tier[t] == {"failed"} for t in later)
    # every object of the snapshot has exactly one result
    chosen = restore.choose(repo.load(repo.resolve(src["id"]))[1], options, [], restore.Closure(), src["hns"])
    assert sorted(str(r.ref) for r in report.results if r.ref.kind != "Namespace") == sorted(str(o.ref)
                                                                                           for o in chosen)
    # and nothing of a later tier reached the cluster
    ingresses = client.NetworkingV1Api(k8s).list_namespaced_ingress(ns_map[src["app"]]).items
    assert ingresses == []


def _client(kubeconfig):
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)


def test_a_tier_the_identity_may_not_write_stops_the_restore_with_the_report_printed(
        snapshot_of_example, service_account, k8s, cleanup):
    src = snapshot_of_example
    writes = {"apiGroups": [""], "resources": ["namespaces", "secrets", "configmaps"],
              "verbs": ["create", "patch", "update"]}
    sa = service_account([READ_ALL, writes], "half-writer")
    ns_map = mapped(src, cleanup, k8s)
    args = ["restore", src["id"], "--store", src["store"], "--kubeconfig", sa.kubeconfig, "--yes",
            "--no-safety-snapshot"] + [f"--namespace-map={a}:{b}" for a, b in ns_map.items()]
    result = run(*args, "-o", "json", code=3)
    doc = json.loads(result.stdout)
    assert doc["stopped"] and "forbidden" in doc["stopped"]
    actions = {(r["ref"]["kind"], r["action"]) for r in doc["results"]}
    assert ("Secret", "created") in actions and ("ConfigMap", "created") in actions
    assert ("McpBridge", "failed") in actions and ("Ingress", "failed") in actions
    assert not any(a == "created" for k, a in actions if k in ("Ingress", "WasmPlugin", "HTTPRoute"))
    assert doc["summary"]["failed"] == sum(1 for r in doc["results"] if r["action"] == "failed") > 0
    assert "the restore stopped early" in result.stderr

    # the text report too; the second run finds Secrets and ConfigMaps unchanged, so it wrote nothing: exit 6
    text = run(*args, code=6)
    assert "failed" in text.stdout and "unchanged" in text.stdout.splitlines()[-1]


def test_nothing_writable_is_exit_6_with_every_object_reported(snapshot_of_example, service_account, k8s,
                                                                cleanup):
    src = snapshot_of_example
    sa = service_account([READ_ALL], "reader")
    ns_map = mapped(src, cleanup, k8s)
    result = run("restore", src["id"], "--store", src["store"], "--kubeconfig", sa.kubeconfig, "--yes",
                 "--no-safety-snapshot", "-o", "json", *[f"--namespace-map={a}:{b}" for a, b in ns_map.items()],
                 code=6)
    doc = json.loads(result.stdout)
    assert doc["summary"]["created"] == 0 and doc["summary"]["updated"] == 0
    assert doc["summary"]["failed"] == sum(1 for r in doc["results"] if r["ref"]["kind"] != "CustomResourceDefinition")
    assert "forbidden" in doc["stopped"]
