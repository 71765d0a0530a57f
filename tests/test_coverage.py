"""Coverage as a record (issue 23, item 3), without a cluster: the manifest says what was listed completely; prune
acts only inside it; `latest` skips partial snapshots unless --allow-partial, and says so."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import manifest_for, run

from hgbackup.capture import confine, selection
from hgbackup.errors import IntegrityError
from hgbackup.kube import catalogue, reftable
from hgbackup.kube.model import StoredObject
from hgbackup.kube.scope import Scope
from hgbackup.restore import RestoreOptions, prune_scope
from hgbackup.store import coverage, open_store
from hgbackup.store.layout import SnapshotKey
from hgbackup.store.manifest import ClusterInfo, Manifest
from hgbackup.store.repository import Repository

PLUGINS = catalogue.BY_KEY["wasmplugins.extensions.higress.io"]
INGRESSES = catalogue.INGRESSES


def obj(kind, name, namespace, api):
    return StoredObject.from_object({"apiVersion": api, "kind": kind,
                                     "metadata": {"name": name, "namespace": namespace}})


LIVE = [obj("WasmPlugin", f"p{i}", "higress-system", "extensions.higress.io/v1alpha1") for i in range(3)] + [
    obj("Ingress", "web", "shop", "networking.k8s.io/v1"), obj("ConfigMap", "c", "higress-system", "v1")]


def test_a_capture_that_could_not_list_one_kind_covers_everything_else():
    kinds = Scope().kinds()
    cov = coverage.of_capture(kinds, [], [], [(PLUGINS.key, None, "cannot list wasmplugins: forbidden")])
    assert not cov.covers(PLUGINS.key, "higress-system") and "forbidden" in cov.why_not(PLUGINS.key, "x")
    assert cov.covers(INGRESSES.key, "shop") and cov.covers("configmaps", "higress-system")
    # Secrets and Services are kept by reference: a kind not read leaves their references unknown
    assert not cov.covers("secrets", "higress-system")
    narrow = coverage.of_capture(kinds, ["shop"], [PLUGINS.key], [])
    assert narrow.covers(INGRESSES.key, "shop") and not narrow.covers(INGRESSES.key, "other")
    assert not narrow.covers(PLUGINS.key, "shop")  # not served: the snapshot says nothing about it


def test_prune_considers_only_what_the_snapshot_listed_completely():
    cov = coverage.of_capture(Scope().kinds(), [], [], [(PLUGINS.key, None, "cannot list wasmplugins: 500")])
    outside: list = []
    kept = prune_scope(LIVE, RestoreOptions(prune=True), coverage=cov, outside=outside)
    assert {o.ref.kind for o in kept} == {"Ingress", "ConfigMap"}
    assert [o.ref.name for o, _ in outside] == ["p0", "p1", "p2"]
    assert outside[0][1] == ("not pruned: the snapshot did not list wasmplugins.extensions.higress.io in "
                             "higress-system completely (cannot list wasmplugins: 500)")
    # a namespace map: live objects of the target namespace are looked up as the snapshot's namespace
    mapped = prune_scope([obj("Ingress", "web", "staging", "networking.k8s.io/v1")],
                         RestoreOptions(prune=True, namespace_map={"shop": "staging"}),
                         coverage=coverage.of_capture(Scope(namespaces=["shop"]).kinds(), ["shop"], [], []))
    assert [o.ref.name for o in mapped] == ["web"]


def test_a_manifest_without_a_record_is_complete_unless_partial():
    _, manifest = manifest_for(LIVE)
    assert manifest.coverage is None
    assert coverage.of_manifest(manifest).covers(PLUGINS.key, "anywhere")
    partial = dataclasses.replace(manifest, partial=True)
    assert not coverage.of_manifest(partial).covers(INGRESSES.key, "shop")


def test_the_record_round_trips_and_a_bad_one_is_an_integrity_error():
    cov = coverage.of_capture(Scope().kinds(), [], [], [(PLUGINS.key, None, "cannot list")])
    _, manifest = manifest_for(LIVE)
    manifest = dataclasses.replace(manifest, coverage=cov)
    again = Manifest.from_bytes(manifest.to_bytes(), "test")
    assert again.coverage == cov and again.as_json()["coverage"]["incomplete"][0] == [PLUGINS.key, None,
                                                                                      "cannot list"]
    doc = json.loads(manifest.to_bytes())
    doc["coverage"] = {"complete": [["x"]]}
    with pytest.raises(IntegrityError, match="coverage"):
        Manifest.from_bytes(json.dumps(doc).encode(), "test")


def put(store: str, sid: str, *, partial: bool) -> SnapshotKey:
    repo = Repository(open_store(store))
    data, manifest = manifest_for(LIVE[-1:], snapshot_id=sid, partial=partial)
    manifest = dataclasses.replace(manifest, cluster=ClusterInfo("prod", "v1.35.4", "aaaa1111-0000"),
                                   scope={"higress_namespace": "higress-system"})
    key = SnapshotKey("prod", sid)
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())
    return key


def test_latest_skips_partial_snapshots_unless_allowed_and_says_so(tmp_path):
    store = str(tmp_path / "store")
    complete = put(store, "20261120T020000Z-aaaaaa", partial=False)
    newer = put(store, "20261121T020000Z-bbbbbb", partial=True)
    result = run("show", "latest", "--store", store, "-o", "json")
    assert json.loads(result.stdout)["id"] == complete.id
    assert f"skipped 1 newer partial snapshot(s) ({newer.id})" in result.stderr and "--allow-partial" in result.stderr
    allowed = run("show", "latest", "--store", store, "--allow-partial", "-o", "json")
    assert json.loads(allowed.stdout)["id"] == newer.id and "skipped" not in allowed.stderr
    missing = run("show", "latest~1", "--store", store, code=5)
    assert "only 1 complete snapshot(s)" in missing.stderr and "1 partial one(s) skipped" in missing.stderr


def test_the_kinds_kept_because_something_names_them_are_one_definition():
    """Review finding 16: the reference table's FOLLOWED kinds are what coverage leaves incomplete when a LIST
    failed and what a capture holds back until every reference is known (with the CRDs); the CRDs a snapshot
    may hold are the catalogue's custom kinds, by one rule."""
    followed = {catalogue.BY_GROUP_KIND[pair].key for pair in reftable.FOLLOWED}
    assert followed == {"secrets", "services"} == reftable.FOLLOWED_KEYS
    failed = coverage.of_capture(catalogue.KINDS, [], [], [(PLUGINS.key, None, "forbidden")])
    assert {k for k, _, _ in failed.incomplete if k != PLUGINS.key} == followed
    assert followed | {catalogue.CRDS.key} == selection.Selector.HELD
    assert confine.KNOWN_CRDS == selection.crd_names(catalogue.KINDS) == {k.key for k in catalogue.KINDS if k.custom}
