"""Which cluster a snapshot belongs to (store/clusters.py): its identity, never its name alone. Two clusters of one
name are told apart by identity (a suffix in listings, a prefix for --cluster) and `latest` is never a guess.

Identity without a cluster (issue 23, item 7): snapshots taken from files have no cluster and group only among
themselves by their --cluster name; a live snapshot of unknown identity (an older hgbackup) is grouped with nothing,
so no live cluster's snapshots are ever grouped by a name alone; the demo and offline use keep working."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from conftest import EXAMPLE, ROOT, manifest_for, run

from hgbackup.errors import InvalidInput
from hgbackup.kube.model import StoredObject
from hgbackup.restore.records import LIVE_CLUSTER, RestoreReport
from hgbackup.restore.run import target_case
from hgbackup.store import clusters, open_store
from hgbackup.store.layout import SnapshotKey
from hgbackup.store.manifest import ClusterInfo
from hgbackup.store.repository import Repository

CM = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "higress-config", "namespace": "higress-system"}})


def put(store: str, sid: str, cluster: ClusterInfo, folder: str = "kubernetes") -> str:
    repo = Repository(open_store(store))
    data, manifest = manifest_for([CM], snapshot_id=sid)
    manifest = dataclasses.replace(manifest, cluster=cluster, scope={"higress_namespace": "higress-system"})
    key = SnapshotKey(folder, sid)
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())
    return sid


def test_no_live_cluster_is_grouped_by_its_name_alone(tmp_path):
    """Two clusters whose identity was never read (written by an older hgbackup), and files, all in `kubernetes`:
    forget --keep-last 1 used to keep one snapshot of the three and remove the other clusters' backups."""
    store = str(tmp_path / "store")
    b = [put(store, f"2026111{d}T020000Z-bbbbbb", ClusterInfo("kubernetes", "v1.35.4", None)) for d in (1, 2)]
    c = [put(store, f"2026111{d}T030000Z-cccccc", ClusterInfo("kubernetes", "v1.34.1", None)) for d in (3, 4)]
    files = [put(store, f"2026111{d}T040000Z-ffffff", ClusterInfo("kubernetes", None, None, "files")) for d in (5, 6)]
    doc = json.loads(run("forget", "--keep-last", "1", "--store", store, "-o", "json").stdout)
    assert {r["id"] for r in doc["remove"]} == {files[0]}  # the older of the files' own group, nothing else
    assert {k["id"] for k in doc["keep"]} == {*b, *c, files[1]}
    rows = {r["id"]: r["cluster"] for r in json.loads(run("list", "--store", store, "-o", "json").stdout)}
    assert rows[files[1]] == "kubernetes@files" and rows[b[0]] == f"kubernetes@unknown-{b[0]}"
    # latest cannot be one of them by name: it names several clusters
    ambiguous = run("show", "latest", "--store", store, "--cluster", "kubernetes", code=2)
    assert "identity unknown" in ambiguous.stderr and "from files" in ambiguous.stderr
    only_files = json.loads(run("show", "latest", "--store", store, "--cluster", "kubernetes@files",
                                "-o", "json").stdout)
    assert only_files["id"] == files[1] and only_files["cluster"]["source"] == "files"


def test_snapshots_from_files_are_marked_and_never_mixed_with_a_live_clusters(tmp_path):
    store = str(tmp_path / "store")
    live = put(store, "20261110T020000Z-aaaaaa", ClusterInfo("kubernetes", "v1.35.4", "aaaa1111-0000", "live"))
    sid = json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", store, "--cluster", "kubernetes",
                         "-o", "json").stdout)["id"]
    shown = run("show", sid, "--store", store).stdout
    assert "(taken from files: no cluster)" in shown
    assert json.loads(run("show", sid, "--store", store, "-o", "json").stdout)["cluster"]["source"] == "files"
    doc = json.loads(run("forget", "--keep-last", "1", "--store", store, "-o", "json").stdout)
    assert {k["id"] for k in doc["keep"]} == {live, sid} and doc["remove"] == []
    assert {k["cluster"] for k in doc["keep"]} == {"kubernetes@aaaa1111", "kubernetes@files"}
    refused = run("snapshot", "--from-file", EXAMPLE, "--store", store, "--cluster-identity", "aaaa1111-0000",
                  code=2)
    assert "snapshots taken --from-file have none" in refused.stderr


def test_the_demos_commands_still_work_offline(tmp_path):
    """scripts/demo's steps: a snapshot from files, list, show latest (twice, so `latest` has a choice)."""
    with open(os.path.join(ROOT, "scripts", "demo"), encoding="utf-8") as fh:
        assert "snapshot --from-file examples/higress-cluster.yaml --tag demo" in fh.read()
    store = str(tmp_path / "hgbackup-store")
    first = run("snapshot", "--from-file", EXAMPLE, "--tag", "demo", "--store", store).stdout.strip()
    second = run("snapshot", "--from-file", EXAMPLE, "--tag", "demo", "--store", store).stdout.strip()
    assert first in run("list", "--store", store).stdout
    shown = run("show", "latest", "--store", store).stdout
    assert f"id:        {second}" in shown and "taken from files: no cluster" in shown


def test_a_shared_name_is_listed_with_an_identity_suffix_and_cluster_takes_a_prefix(two_clusters_one_name):
    store, a, b = two_clusters_one_name
    rows = json.loads(run("list", "--store", store, "-o", "json").stdout)
    assert {(r["id"], r["cluster"]) for r in rows} == {(k.id, "kubernetes@aaaa1111") for k in a} | {
        (k.id, "kubernetes@bbbb2222") for k in b}
    ambiguous = run("list", "--store", store, "--cluster", "kubernetes", code=2)
    assert "names 2 clusters" in ambiguous.stderr and "aaaa1111-0000" in ambiguous.stderr
    only_a = json.loads(run("list", "--store", store, "--cluster", "aaaa", "-o", "json").stdout)
    assert [r["id"] for r in only_a] == [k.id for k in reversed(a)]
    by_label = json.loads(run("list", "--store", store, "--cluster", "kubernetes@bbbb2222", "-o", "json").stdout)
    assert len(by_label) == 3


# -- 2. latest is never a guess ------------------------------------------------------------------------------------
def test_offline_latest_needs_one_cluster_or_cluster(two_clusters_one_name):
    store, a, b = two_clusters_one_name
    result = run("show", "latest", "--store", store, code=2)
    assert "several clusters" in result.stderr and "--cluster" in result.stderr
    assert json.loads(run("show", "latest", "--store", store, "--cluster", "aaaa1111", "-o", "json").stdout)[
        "id"] == a[-1].id
    assert json.loads(run("show", "latest~1", "--store", store, "--cluster", "bbbb", "-o", "json").stdout)[
        "id"] == b[-2].id


def test_one_spelling_of_a_clusters_identity_group_and_of_its_short_form(tmp_path):
    """Review finding 15: the identity group key and its shown prefix come from store/clusters.py alone, so the
    listing's suffix, the restore header's `--into-live-cluster` hint and the refusal's hint are the same text."""
    store = str(tmp_path / "store")
    uid = "5f0c7a9e-1111-2222-3333-444455556666"
    sid = put(store, "20261111T020000Z-aaaaaa", ClusterInfo("kubernetes", "v1.35.4", uid))
    put(store, "20261112T020000Z-bbbbbb", ClusterInfo("kubernetes", "v1.35.4", "0d1e2f3a-other"))
    repo = Repository(open_store(store))
    listing = repo.snapshots()
    snap = next(s for s in listing.snapshots if s.id == sid)
    assert clusters.group_of(snap) == clusters.identity_group(uid)
    assert clusters.of_cluster(snap, uid) and not clusters.of_cluster(snap, "0d1e2f3a-other")
    assert not clusters.of_cluster(snap, None) and not clusters.of_cluster(snap, "")
    assert listing.labels[clusters.identity_group(uid)] == f"kubernetes@{clusters.short(uid)}"
    header = RestoreReport([], True, sid, target={"identity": uid, "case": LIVE_CLUSTER, "own_snapshots": 1}).header()
    assert f"--into-live-cluster {clusters.short(uid)})" in header
    other = next(s for s in listing.snapshots if s.id != sid)
    with pytest.raises(InvalidInput, match=f"--into-live-cluster {clusters.short(uid)};"):
        target_case(repo, other, uid, None, dry_run=False)
