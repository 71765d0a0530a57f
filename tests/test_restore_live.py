"""Restore against the real API server: disaster recovery into an empty server, order, policies, dry run, prune."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml
from conftest import create_objects, put_snapshot, rand_name, run
from kubernetes import client

from hgbackup.kube import catalogue
from hgbackup.kube.client import Kube
from hgbackup.restore import RestoreOptions
from hgbackup.restore.run import restore_snapshot
from hgbackup.store import crypto, open_store
from hgbackup.store.repository import Repository

pytestmark = pytest.mark.kube



def restore_json(*args, code=0):
    return json.loads(run("restore", "-o", "json", *args, code=code).stdout)


@pytest.fixture
def source(populated, kubeconfig, tmp_path):
    """The example cluster in fresh namespaces, and a snapshot of it in a local store."""
    hns, app, _ = populated
    store = str(tmp_path / "store")
    doc = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)
    return {"hns": hns, "app": app, "store": store, "id": doc["id"]}


def test_disaster_recovery_into_an_empty_cluster(source, empty_cluster):
    store, sid = source["store"], source["id"]
    doc = restore_json(sid, "--store", store, "--kubeconfig", empty_cluster, "--yes")
    assert doc["summary"]["failed"] == 0 and doc["summary"]["skipped"] == 0
    assert doc["summary"]["created"] > 25 and doc["safety_snapshot"]
    actions = {(r["ref"]["kind"], r["ref"]["name"]): r["action"] for r in doc["results"]}
    assert actions[("Namespace", source["app"])] == "created"
    assert actions[("CustomResourceDefinition", "mcpbridges.networking.higress.io")] == "created"

    # a live snapshot of the new cluster equals the original
    run("diff", sid, "live", "--store", store, "--kubeconfig", empty_cluster)

    # tiers were created in order: every object of tier t has a lower resourceVersion than any of tier t+1
    kube = Kube(empty_cluster)
    served = kube.served()
    by_tier: dict[int, list[int]] = {}
    for entry in doc["results"]:
        ref = entry["ref"]
        if ref["kind"] == "Namespace":
            continue
        kind = catalogue.BY_GROUP_KIND[(catalogue.group_of(ref["apiVersion"]), ref["kind"])]
        live = kube.get(kind, served[kind.key].version, ref["namespace"], ref["name"])
        by_tier.setdefault(kind.tier, []).append(int(live["metadata"]["resourceVersion"]))
    tiers = sorted(by_tier)
    assert len(tiers) >= 8
    for lower, upper in zip(tiers, tiers[1:]):
        assert max(by_tier[lower]) < min(by_tier[upper]), (lower, upper)

    # a second restore changes nothing
    again = restore_json(sid, "--store", store, "--kubeconfig", empty_cluster, "--yes", "--no-safety-snapshot")
    assert {r["action"] for r in again["results"]} == {"unchanged"}


def test_existing_policies(source, k8s, kubeconfig):
    store, sid, app = source["store"], source["id"], source["app"]
    net = client.NetworkingV1Api(k8s)
    net.patch_namespaced_ingress("shop-api", app, {"metadata": {"annotations": {"higress.io/timeout": "1"}}})
    common = ["--store", store, "--kubeconfig", kubeconfig, "--yes", "--no-safety-snapshot", "--kind", "Ingress"]

    skipped = restore_json(sid, *common, "--existing", "skip", code=3)
    assert [r["ref"]["name"] for r in skipped["results"] if r["action"] == "skipped"] == ["shop-api"]
    failed = restore_json(sid, *common, "--existing", "fail", code=3)
    assert [r["ref"]["name"] for r in failed["results"] if r["action"] == "failed"] == ["shop-api"]
    assert net.read_namespaced_ingress("shop-api", app).metadata.annotations["higress.io/timeout"] == "1"

    updated = restore_json(sid, *common)
    assert [r["ref"]["name"] for r in updated["results"] if r["action"] == "updated"] == ["shop-api"]
    assert net.read_namespaced_ingress("shop-api", app).metadata.annotations.get("higress.io/timeout") is None


def test_an_invalid_object_fails_alone(k8s, kubeconfig, tmp_path):
    ns = rand_name("bad")
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fine", "namespace": ns}, "data": {"a": "1"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "broken", "namespace": ns},
         "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Bogus",
                                                 "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ok", "namespace": ns},
         "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}},
    ]
    path = tmp_path / "objs.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--from-file", str(path), "--store", store, "--higress-namespace", ns,
                         "-o", "json").stdout)["id"]
    doc = restore_json(sid, "--store", store, "--kubeconfig", kubeconfig, "--yes", "--no-safety-snapshot", code=3)
    actions = {r["ref"]["name"]: r["action"] for r in doc["results"]}
    assert actions == {ns: "created", "fine": "created", "broken": "failed", "ok": "created"}
    message = next(r["message"] for r in doc["results"] if r["ref"]["name"] == "broken")
    assert "pathType" in message


def test_dry_run_writes_nothing_and_validates(source, k8s, kubeconfig):
    store, sid = source["store"], source["id"]
    target = rand_name("dry")
    doc = restore_json(sid, "--store", store, "--kubeconfig", kubeconfig, "--dry-run",
                       "--namespace-map", f"{source['app']}:{target}", "-n", source["app"])
    assert doc["dry_run"] is True and doc["safety_snapshot"] is None and doc["summary"]["failed"] == 0
    assert any(r["action"] == "created" and r["ref"]["namespace"] == target for r in doc["results"])
    names = {ns.metadata.name for ns in client.CoreV1Api(k8s).list_namespace().items}
    assert target not in names
    rows = json.loads(run("list", "--store", store, "-o", "json").stdout)
    assert len(rows) == 1  # no safety snapshot either

    # existing namespace: dry run of an update is validated by the server and not written
    net = client.NetworkingV1Api(k8s)
    net.patch_namespaced_ingress("shop-api", source["app"], {"metadata": {"annotations": {"higress.io/timeout": "7"}}})
    dry = restore_json(sid, "--store", store, "--kubeconfig", kubeconfig, "--dry-run", "--kind", "Ingress")
    assert [r["ref"]["name"] for r in dry["results"] if r["action"] == "updated"] == ["shop-api"]
    assert net.read_namespaced_ingress("shop-api", source["app"]).metadata.annotations["higress.io/timeout"] == "7"


def test_namespace_mapping(source, k8s, kubeconfig):
    store, sid = source["store"], source["id"]
    target = rand_name("mapped")
    doc = restore_json(sid, "--store", store, "--kubeconfig", kubeconfig, "--yes", "--no-safety-snapshot",
                       "-n", source["app"], "--namespace-map", f"{source['app']}:{target}")
    assert doc["summary"]["failed"] == 0
    route = client.CustomObjectsApi(k8s).get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", target, "httproutes", "blog")
    assert route["spec"]["hostnames"] == ["blog.example.org"]
    assert client.NetworkingV1Api(k8s).read_namespaced_ingress("shop-api", target).spec.tls[0].secret_name


def test_prune_needs_yes_and_deletes_what_the_snapshot_lacks(source, k8s, kubeconfig):
    store, sid, hns = source["store"], source["id"], source["hns"]
    extra = {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
             "metadata": {"name": "added-later", "namespace": hns}, "spec": {"url": "oci://x/y:1"}}
    create_objects(k8s, [extra])
    run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", code=2)
    plan = restore_json(sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--dry-run")
    assert [r["ref"]["name"] for r in plan["results"] if r["action"] == "pruned"] == ["added-later"]
    doc = restore_json(sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--yes")
    assert [r["ref"]["name"] for r in doc["results"] if r["action"] == "pruned"] == ["added-later"]
    plugins = client.CustomObjectsApi(k8s).list_namespaced_custom_object(
        "extensions.higress.io", "v1alpha1", hns, "wasmplugins")["items"]
    assert "added-later" not in {p["metadata"]["name"] for p in plugins}
    run("diff", sid, "live", "--store", store, "--kubeconfig", kubeconfig)

    # the safety snapshot taken before that restore brings the plugin back
    safety = doc["safety_snapshot"]
    back = restore_json(safety, "--store", store, "--kubeconfig", kubeconfig, "--yes", "--prune")
    assert [r["ref"]["name"] for r in back["results"] if r["action"] == "created"] == ["added-later"]
    run("diff", safety, "live", "--store", store, "--kubeconfig", kubeconfig)


def test_bad_archive_is_refused_before_touching_the_cluster(source, tmp_path):
    import glob

    archive = glob.glob(f"{source['store']}/**/archive.tar.gz", recursive=True)[0]
    with open(archive, "r+b") as fh:
        fh.seek(40)
        fh.write(b"\x00" * 16)
    # an unreachable kubeconfig proves the cluster was never contacted: integrity fails first
    result = run("restore", source["id"], "--store", source["store"], "--kubeconfig", str(tmp_path / "none"),
                 "--yes", code=4)
    assert "checksum" in result.stderr


@pytest.mark.s3
def test_encrypted_snapshot_restores_from_minio(populated, k8s, kubeconfig, testenv, bucket, tmp_path):
    from hgbackup.store import crypto

    hns, app, _ = populated
    keyfile = tmp_path / "key"
    keyfile.write_text(crypto.generate_key())
    st = ["--store", f"s3://{bucket}/enc", "--s3-endpoint", testenv["HGBACKUP_TEST_S3_ENDPOINT"]]
    enc = ["--encryption-key-file", str(keyfile)]
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, *st, *enc, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "-o", "json").stdout)["id"]
    client.CoreV1Api(k8s).delete_namespaced_secret("nacos-auth-x7k2p", hns)
    # without the key nothing happens (exit 4 before the cluster is contacted)
    run("restore", sid, "--kubeconfig", kubeconfig, *st, "--yes", code=4)
    doc = restore_json(sid, "--kubeconfig", kubeconfig, *st, *enc, "--yes")
    assert [r["ref"]["name"] for r in doc["results"] if r["action"] == "created"] == ["nacos-auth-x7k2p"]
    run("diff", sid, "live", "--kubeconfig", kubeconfig, *st, *enc)
    safety = json.loads(run("show", doc["safety_snapshot"], *st, "-o", "json").stdout)
    assert safety["archive"]["encryption"]["alg"] == "AES-256-GCM"  # the safety snapshot is encrypted too


def test_kind_not_served_without_its_crd_is_skipped(empty_cluster, tmp_path):
    ns = rand_name("nocrd")
    objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "higress-config", "namespace": ns},
             "data": {"higress": "gzip: {enable: true}"}},
            {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
             "metadata": {"name": "request-block", "namespace": ns}, "spec": {"url": "oci://x/y:1"}}]
    path = tmp_path / "objs.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--from-file", str(path), "--store", store, "--higress-namespace", ns,
                         "-o", "json").stdout)["id"]
    doc = restore_json(sid, "--store", store, "--kubeconfig", empty_cluster, "--yes", code=3)
    actions = {r["ref"]["kind"]: (r["action"], r["message"]) for r in doc["results"]}
    assert actions["ConfigMap"][0] == "created"
    assert actions["WasmPlugin"][0] == "skipped" and "not served" in actions["WasmPlugin"][1]


def test_the_safety_snapshot_is_filed_under_the_targets_own_cluster_name(populated, kubeconfig, tmp_path):
    """Review finding 4: `--cluster` chooses which snapshots `latest` means (a name, or an identity prefix); it is
    not where the target's safety snapshot goes: that is the target's own cluster name (its kube context's)."""
    hns, app, _ = populated
    store = str(tmp_path / "store")
    context = "kubernetes-admin@prod"
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "--cluster", context, "-o", "json").stdout)["id"]
    identity = json.loads(run("show", sid, "--store", store, "-o", "json").stdout)["cluster"]["identity"]
    for ref, chooser in (("latest", context), (sid, identity[:8])):  # (latest is now the first safety snapshot)
        doc = restore_json(ref, "--store", store, "--kubeconfig", kubeconfig, "--cluster", chooser, "--yes")
        assert doc["snapshot"] == sid and doc["safety_snapshot"]
        folders = {p.parent.parent.name for p in (tmp_path / "store").glob(f"*/snapshots/{doc['safety_snapshot']}")}
        assert folders == {"testcluster"}, chooser  # the target's cluster in the kube context
        rows = {r["id"]: r for r in json.loads(run("list", "--store", store, "-o", "json").stdout)}
        assert rows[doc["safety_snapshot"]]["tags"] == ["pre-restore"]
    assert (tmp_path / "store" / "kubernetes-admin-prod" / "snapshots" / sid).is_dir()  # stays where it was


def test_a_restore_lists_each_collection_once_and_sees_objects_the_scope_skips(populated, k8s, kubeconfig,
                                                                                tmp_path):
    """The safety snapshot's LISTs serve the plan too (no second LIST of the same collection), and the plan still
    sees an object the snapshot's selection rules skip: an Ingress whose class no longer matches the scope exists,
    so it is updated, not reported as created."""
    hns, app, _ = populated
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", hns,
                         "-n", hns, "-n", app, "--ingress-class", "higress", "-o", "json").stdout)["id"]
    net = client.NetworkingV1Api(k8s)
    net.patch_namespaced_ingress("shop-api", app, {"spec": {"ingressClassName": "nginx"}})

    kube = Kube(kubeconfig)
    lists: list[str] = []
    request = kube.request

    def counting(method, path, **kwargs):  # a spy on our own client; the server is the real one
        if method == "GET" and "limit" in (kwargs.get("query") or {}):
            lists.append(path)
        return request(method, path, **kwargs)

    kube.request = counting
    repo = Repository(open_store(store), crypto.Keyring())
    report = restore_snapshot(repo, sid, RestoreOptions(), connect=lambda: kube, safety=True)
    actions = {(r.ref.kind, r.ref.namespace, r.ref.name): r.action.value for r in report.results}
    assert actions[("Ingress", app, "shop-api")] == "updated"
    assert net.read_namespaced_ingress("shop-api", app).spec.ingress_class_name == "higress"
    assert report.safety_snapshot and not [r for r in report.results if r.action.value == "failed"]
    assert lists and len(lists) == len(set(lists)), sorted(p for p in lists if lists.count(p) > 1)
    assert f"/apis/networking.k8s.io/v1/namespaces/{app}/ingresses" in lists


class CountingStore:
    """The real local store, counting the manifests hgbackup reads through it."""

    def __init__(self, store):
        self.store, self.manifest_gets = store, []

    def __getattr__(self, name):
        return getattr(self.store, name)

    def get(self, key):
        if key.endswith("manifest.json"):
            self.manifest_gets.append(key)
        return self.store.get(key)


def test_restore_latest_reads_each_manifest_once(kubeconfig, tmp_path):
    """Review finding 20: `restore latest` into a cluster of another identity reads the store's manifests to
    choose `latest` and again to say which target this is; one listing serves both."""
    store = str(tmp_path / "store")
    ids = [f"2026010{i}T000000Z-abcde{i}" for i in range(1, 4)]
    for sid in ids:
        put_snapshot(store, "prod", sid, "0123abcd-other-cluster")
    counting = CountingStore(open_store(store))
    repo = Repository(counting, crypto.Keyring())
    kube = Kube(kubeconfig)
    report = restore_snapshot(repo, "latest", RestoreOptions(dry_run=True), connect=lambda: kube, cluster="prod",
                              safety=False)
    assert report.source["snapshot"] == ids[-1] and report.target["case"] == "disaster-recovery"
    reads = Counter(counting.manifest_gets)
    assert len(reads) == len(ids)
    # each manifest once; the chosen one again when its archive is read (repo.load checks what it opens)
    assert {key: n - key.endswith(f"{ids[-1]}/manifest.json") for key, n in reads.items()} == dict.fromkeys(reads, 1)
