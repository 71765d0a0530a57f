"""Unit tests of the stored form and the archive format."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import tarfile

import pytest
from conftest import manifest_for

from hgbackup.errors import IntegrityError
from hgbackup.kube.model import StoredObject
from hgbackup.kube.stored import sha256_hex
from hgbackup.store import archive
from hgbackup.store.manifest import Manifest

LIVE_INGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {
        "name": "web", "namespace": "shop", "uid": "u-1", "resourceVersion": "42", "generation": 3,
        "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "kubectl"}],
        "ownerReferences": [{"kind": "X", "name": "y"}], "labels": {"app": "web"},
        "annotations": {"higress.io/timeout": "30"},
    },
    "spec": {"rules": [{"host": "a.example.com"}]},
    "status": {"loadBalancer": {}},
}


def make_objects():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
           "spec": {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "ports": [{"port": 80}]}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "mcpbridges.networking.higress.io", "namespace": ""}, "spec": {"group": "x"}}
    return [StoredObject.from_object(o) for o in (LIVE_INGRESS, svc, crd)]


def test_stored_form_drops_server_fields_and_keeps_user_fields():
    obj = StoredObject.from_object(LIVE_INGRESS).obj
    assert set(obj["metadata"]) == {"name", "namespace", "labels", "annotations"}
    assert "status" not in obj
    assert obj["spec"] == LIVE_INGRESS["spec"]
    assert LIVE_INGRESS["metadata"]["uid"] == "u-1"  # the input is not modified


def test_service_cluster_ips_dropped_and_cluster_scoped_namespace_dropped():
    _, svc, crd = make_objects()
    assert "clusterIP" not in svc.obj["spec"] and "clusterIPs" not in svc.obj["spec"]
    assert "namespace" not in crd.obj["metadata"] and crd.ref.namespace is None


def test_same_object_same_bytes_regardless_of_key_order():
    a = StoredObject.from_object(LIVE_INGRESS)
    reordered = json.loads(json.dumps(LIVE_INGRESS, sort_keys=True))
    reordered["metadata"]["resourceVersion"] = "99"
    b = StoredObject.from_object(reordered)
    assert a.data == b.data and a.sha256 == b.sha256


def build(objects=None):
    objects = objects or make_objects()
    data, manifest = manifest_for(objects, tags=["t"])
    return data, Manifest.from_bytes(manifest.to_bytes(), "test")  # as a reader sees it


def test_pack_is_deterministic_and_round_trips():
    data, manifest = build()
    again, _ = build()
    assert data == again
    objects = archive.open_archive(data, manifest, None)
    assert [o.sha256 for o in objects] == [e.sha256 for e in manifest.objects]
    assert manifest.counts == {"customresourcedefinitions.apiextensions.k8s.io": 1,
                               "ingresses.networking.k8s.io": 1, "services": 1}
    assert manifest.tags == ("t",) and manifest.partial is False


def test_manifest_json_round_trips_exactly():
    _, manifest = build()
    assert Manifest.from_bytes(manifest.to_bytes(), "test") == manifest


def test_checksum_mismatch_and_truncation_are_refused():
    data, manifest = build()
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    with pytest.raises(IntegrityError, match="checksum mismatch"):
        archive.open_archive(bytes(flipped), manifest, None)
    with pytest.raises(IntegrityError, match="truncated"):
        archive.open_archive(data[:-10], manifest, None)


def _retar(entries, manifest):
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, payload in entries:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    data = raw.getvalue()
    return data, dataclasses.replace(manifest, archive=dataclasses.replace(manifest.archive, size=len(data),
                                                                           sha256=sha256_hex(data)))


def test_object_checksum_mismatch_names_the_object():
    objects = make_objects()
    data, manifest = build(objects)
    tampered = []
    for obj in objects:
        info = tarfile.TarInfo(obj.archive_path)
        payload = obj.data.replace(b"a.example.com", b"b.example.com")
        info.size = len(payload)
        tampered.append((info, payload))
    data, manifest = _retar(tampered, manifest)
    with pytest.raises(IntegrityError, match="ingresses/shop/web.json checksum mismatch"):
        archive.open_archive(data, manifest, None)


@pytest.mark.parametrize("name,kind,refusal", [
    ("../../etc/passwd", tarfile.REGTYPE, "'../../etc/passwd' has an unexpected path"),
    ("/abs/path.json", tarfile.REGTYPE, "'/abs/path.json' has an unexpected path"),
    ("resources/core/services/../../../x.json", tarfile.REGTYPE, "has an unexpected path"),
    ("resources/core/services/shop/link.json", tarfile.SYMTYPE, "link.json' is not a regular file"),
    ("resources/core/services/shop/dev.json", tarfile.CHRTYPE, "dev.json' is not a regular file"),
    ("resources/core/services/shop/extra.json", tarfile.REGTYPE, "extra.json' is not in the manifest"),
])
def test_hostile_entries_are_refused(name, kind, refusal):
    _, manifest = build()
    info = tarfile.TarInfo(name)
    info.type = kind
    payload = b"{}" if kind == tarfile.REGTYPE else None
    info.size = len(payload or b"")
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    data, manifest = _retar([(info, payload)], manifest)
    with pytest.raises(IntegrityError, match=refusal.replace(".", r"\.")):
        archive.open_archive(data, manifest, None)


def test_an_entry_twice_is_refused():
    objects = make_objects()
    _, manifest = build(objects)
    entries = []
    for obj in [objects[0], objects[0]]:
        info = tarfile.TarInfo(obj.archive_path)
        info.size = len(obj.data)
        entries.append((info, obj.data))
    data, manifest = _retar(entries, manifest)
    with pytest.raises(IntegrityError, match="appears twice"):
        archive.open_archive(data, manifest, None)


def test_archive_expanding_beyond_manifest_is_refused():
    objects = make_objects()
    _, manifest = build(objects)
    big = objects[0]
    info = tarfile.TarInfo(big.archive_path)
    payload = b" " * (manifest.archive.unpacked_size + 1)
    info.size = len(payload)
    data, manifest = _retar([(info, payload)], manifest)
    with pytest.raises(IntegrityError, match="expands beyond"):
        archive.open_archive(data, manifest, None)


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


def test_canonical_bytes_match_the_stdlib_encoding():
    """orjson writes what json.dumps(sort_keys, compact, ensure_ascii=False) writes, strings and escapes included.

    The one known difference is the exponent of very small floats (orjson `1e-7`, json `1e-07`): same value, and
    every stored form is written by orjson, so hashes stay stable."""
    from hgbackup.kube.stored import canonical_bytes

    obj = {"b": [1, 2.5, None, True], "a": {"z": "ünïcødé ☃ \u2028", "ctl": "tab\there\x01", "q": 'say "hi" \\'},
           "n": -(2**63), "f": 123456.75, "e": {}, "l": []}
    expected = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_bytes(obj) == expected
    assert json.loads(canonical_bytes({"f": 1e-7})) == {"f": 1e-7}
    big = {"huge": 2**70}
    assert canonical_bytes(big) == b'{"huge":1180591620717411303424}'


def _regzip(raw: bytes, manifest):
    data = gzip.compress(raw, mtime=0)
    return data, dataclasses.replace(manifest, archive=dataclasses.replace(manifest.archive, size=len(data),
                                                                           sha256=sha256_hex(data)))


def test_a_damaged_tar_header_and_data_after_the_end_are_refused():
    objects = make_objects()
    data, manifest = build(objects)
    raw = bytearray(gzip.decompress(data))
    raw[100] ^= 0x01  # a bit of the first header's mode field: its checksum no longer matches
    with pytest.raises(IntegrityError, match="tar header checksum does not match"):
        archive.open_archive(*_regzip(bytes(raw), manifest), None)
    padded = gzip.decompress(data) + b"\0" * 512 + b"{}" + b"\0" * 510
    with pytest.raises(IntegrityError, match="has data after its end"):
        archive.open_archive(*_regzip(padded, manifest), None)


def test_a_pax_header_is_not_a_regular_file():
    """Only the format `pack` writes is read: tarfile's PAX extended headers are refused, not interpreted."""
    objects = make_objects()
    _, manifest = build(objects)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(objects[0].archive_path)
        info.size = len(objects[0].data)
        info.pax_headers = {"comment": "x"}
        tar.addfile(info, io.BytesIO(objects[0].data))
    with pytest.raises(IntegrityError, match="PaxHeader.* is not a regular file"):
        archive.open_archive(*_regzip(raw.getvalue(), manifest), None)
