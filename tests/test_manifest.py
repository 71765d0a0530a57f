"""The manifest (store/manifest.py): its JSON form round-trips, and every field of one read from a store is checked
(exit 4 naming the field)."""

from __future__ import annotations

import json

import pytest
from conftest import manifest_for
from test_stored import make_objects

from hgbackup import FORMAT
from hgbackup.errors import IntegrityError
from hgbackup.store.manifest import Manifest


def test_manifest_json_round_trips_exactly():
    _, manifest = manifest_for(make_objects(), tags=["t"])
    manifest = Manifest.from_bytes(manifest.to_bytes(), "test")  # as a reader sees it
    assert Manifest.from_bytes(manifest.to_bytes(), "test") == manifest


GOOD_DOC = {"format": "hgbackup/v1", "id": "20260101T000000Z-abcdef", "created": "2026-01-01T00:00:00Z",
            "cluster": {"name": "c"}, "archive": {"size": 1, "sha256": "0" * 64, "unpacked_size": 1},
            "objects": []}


@pytest.mark.parametrize("doc,match", [
    (b"not json", "not valid JSON"),
    (b"[]", "not a JSON object"),
    (b"[" * 100000 + b"]" * 100000, "not valid JSON|nested too deeply"),
    (json.dumps({"format": "hgbackup/v9"}).encode(), "unknown manifest format 'hgbackup/v9'"),
    (json.dumps({"format": "hgbackup/v1", "id": "x"}).encode(), "lacks created, cluster, archive, objects"),
    (json.dumps(dict(GOOD_DOC, id="x")).encode(), "field id is not a snapshot id"),
    (json.dumps(dict(GOOD_DOC, created="yesterday")).encode(), "field created is not a UTC time"),
    (json.dumps(dict(GOOD_DOC, tags=[1, 2])).encode(), "field tags is not a list of strings"),
    (json.dumps(dict(GOOD_DOC, archive={"size": "1"})).encode(), "field archive.size is not a whole number"),
    (json.dumps(dict(GOOD_DOC, objects=[{"kind": "Secret"}])).encode(), r"field objects\[0\].apiVersion is not"),
    (json.dumps(dict(GOOD_DOC, cluster="c")).encode(), "field cluster is not an object"),
])
def test_bad_manifests_are_refused(doc, match):
    with pytest.raises(IntegrityError, match=match):
        Manifest.from_bytes(doc, "snapshot x")


def test_a_well_formed_manifest_reads():
    assert Manifest.from_bytes(json.dumps(GOOD_DOC).encode(), "snapshot x").id == GOOD_DOC["id"]


@pytest.mark.parametrize("field, value, accepted", [
    ("namespace", None, True), ("namespace", 3, False), ("name", None, False), ("sha256", ["x"], False),
    ("kind", {"a": 1}, False),
])
def test_manifest_entries_are_type_checked_in_the_bulk_path(field, value, accepted):
    doc = {"format": "hgbackup/v1", "id": "20260101T000000Z-abcdef012", "created": "2026-01-01T00:00:00Z",
           "cluster": {"name": "c"}, "archive": {"size": 1, "sha256": "0" * 64, "unpacked_size": 1},
           "objects": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "a", "name": f"n{i}",
                        "sha256": "0" * 64} for i in range(3)]}
    doc["format"] = FORMAT
    doc["objects"][1][field] = value
    data = json.dumps(doc).encode()
    if accepted:
        assert Manifest.from_bytes(data, "m").objects[1].namespace is None
    else:
        with pytest.raises(IntegrityError, match=rf"objects\[1\]\.{field} is not"):
            Manifest.from_bytes(data, "m")
