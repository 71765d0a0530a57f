"""The archive format (store/archive.py): what the packer writes reads back, and every damage or hostile entry is
refused (exit 4)."""

from __future__ import annotations

import dataclasses
import gzip
import io
import tarfile

import pytest
from conftest import manifest_for
from test_stored import make_objects

from hgbackup.errors import IntegrityError
from hgbackup.kube.stored import sha256_hex
from hgbackup.store import archive
from hgbackup.store.manifest import Manifest


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
    """Only the format packer.py writes is read: tarfile's PAX extended headers are refused, not interpreted."""
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
