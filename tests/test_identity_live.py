"""Identity is required, on the real API server (issue 23, item 7): a live snapshot whose identity (uid of
kube-system) cannot be read is refused with exit 6 naming the missing permission, unless the user names it with
--cluster-identity; a named identity that is not the cluster's is refused."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import run
from kubernetes import client

from hgbackup.capture import live, snapshot
from hgbackup.errors import AccessDenied
from hgbackup.kube.client import Kube
from hgbackup.kube.scope import Scope
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

pytestmark = pytest.mark.kube

KINDS_BUT_NOT_KUBE_SYSTEM = [  # everything in scope, but no `get namespaces/kube-system`
    {"apiGroups": ["networking.k8s.io", "gateway.networking.k8s.io", "networking.istio.io", "networking.higress.io",
                   "extensions.higress.io", "apiextensions.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list"]},
]


def test_an_unreadable_identity_is_refused_unless_named(populated, k8s, kubeconfig, service_account, tmp_path):
    hns, app, _ = populated
    sa = service_account(KINDS_BUT_NOT_KUBE_SYSTEM, "no-identity")
    store = tmp_path / "store"
    scope = ["--higress-namespace", hns, "-n", hns, "-n", app]
    refused = run("snapshot", "--kubeconfig", sa.kubeconfig, "--store", str(store), *scope, code=6)
    [line] = refused.stderr.strip().splitlines()
    assert "get namespaces/kube-system is forbidden" in line and "--cluster-identity" in line
    assert not store.exists()  # nothing written, not even a snapshot with identity null

    sched = tmp_path / "s.yaml"
    sched.write_text(yaml.safe_dump({"name": "n", "schedule": "0 * * * *", "store": str(store),
                                     "scope": {"higress_namespace": hns, "namespaces": [hns, app]},
                                     "retention": {"keep_last": 1}}))
    assert "get namespaces/kube-system" in run("schedule", "run", str(sched), "--kubeconfig", sa.kubeconfig,
                                               code=6).stderr
    assert not store.exists()

    # named by the user: taken, and recorded as that identity
    named = json.loads(run("snapshot", "--kubeconfig", sa.kubeconfig, "--store", str(store), *scope,
                           "--cluster-identity", "cluster-b-by-hand", "--cluster", "kubernetes", "-o", "json").stdout)
    shown = json.loads(run("show", named["id"], "--store", str(store), "-o", "json").stdout)
    assert shown["cluster"]["identity"] == "cluster-b-by-hand" and shown["cluster"]["source"] == "live"

    # the admin reads the real identity: a different cluster, never grouped with the named one
    real = client.CoreV1Api(k8s).read_namespace("kube-system").metadata.uid
    mine = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", str(store), *scope, "--cluster",
                          "kubernetes", "-o", "json").stdout)
    doc = json.loads(run("forget", "--keep-last", "1", "--store", str(store), "-o", "json").stdout)
    assert {k["id"] for k in doc["keep"]} == {named["id"], mine["id"]}

    # a named identity the cluster contradicts is refused
    wrong = run("snapshot", "--kubeconfig", kubeconfig, "--store", str(store), *scope, "--cluster-identity",
                "cluster-b-by-hand", code=2)
    assert f"the uid of its kube-system namespace is {real}" in wrong.stderr
    assert "is not an identity" in run("snapshot", "--kubeconfig", kubeconfig, "--store", str(store),
                                       "--cluster-identity", "a b", code=2).stderr


def test_the_one_identity_check_is_where_a_snapshot_is_written(populated, service_account, tmp_path):
    """Review finding 21: `snapshot` and `schedule run` no longer check the identity beforehand; snapshot.write is
    the one check, for every writer: a live capture without an identity (a `diff ... live` needs none) is captured,
    and refused there with exit 6 naming the permission it lacks, nothing written."""
    hns, app, _ = populated
    sa = service_account(KINDS_BUT_NOT_KUBE_SYSTEM, "no-identity-lib")
    scope = Scope(higress_namespace=hns, namespaces=[hns, app])
    capture = live.capture_live(Kube(sa.kubeconfig), scope)
    assert capture.objects and capture.cluster.identity is None
    repo = Repository(open_store(str(tmp_path / "store")))
    with pytest.raises(AccessDenied) as refused:
        snapshot.write(repo, capture, scope)
    assert refused.value.exit_code == 6 and "get namespaces/kube-system is forbidden" in str(refused.value)
    assert not (tmp_path / "store").exists()  # not even a folder
