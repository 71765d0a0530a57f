"""The streaming packer: the same objects give the same archive bytes however and in whatever order they arrive,
the archive is a plain tar.gz every reader takes, and memory stays bounded when LIST pages arrive in key order."""

from __future__ import annotations

import gzip
import io
import os
import random
import tarfile
import tracemalloc
import zlib

import pytest
from conftest import archive_of, manifest_for

from hgbackup.capture import packer
from hgbackup.kube import catalogue
from hgbackup.kube.model import StoredObject
from hgbackup.store import archive, crypto


def ingress(ns: str, name: str, **extra) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns, "uid": "u", "resourceVersion": "7", **extra},
            "spec": {"rules": [{"host": f"{name}.{ns}.example.com"}]}, "status": {"loadBalancer": {}}}


def server_order(items: list[dict]) -> list[dict]:
    """How the API server lists a collection: by etcd key, `<namespace>/<name>` compared as bytes."""
    return sorted(items, key=lambda o: f"{o['metadata']['namespace']}/{o['metadata']['name']}".encode())


# names whose key order and name order differ ("app" < "app-canary" as keys, "app-canary.json" < "app.json" as
# paths), across namespaces whose key order differs from their sort order ("a-b/" < "a/")
ITEMS = [ingress(ns, name) for ns in ("a", "a-b", "shop", "z") for name in
         ("app", "app-canary", "app.v2", "web", *(f"w{i}" for i in range(40)))]
OTHERS = [
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls", "namespace": "shop"}, "type": "Opaque",
     "data": {"k": "c2VjcmV0"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "higress-config", "namespace": "higress-system"},
     "data": {"mesh": "x" * 3000}},
    {"apiVersion": "networking.higress.io/v1", "kind": "McpBridge",
     "metadata": {"name": "default", "namespace": "higress-system"}, "spec": {"registries": []}},
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": "mcpbridges.networking.higress.io" + "x" * 90}, "spec": {"group": "g"}},
]


def objects() -> list[StoredObject]:
    return [StoredObject.from_object(o) for o in ITEMS + OTHERS]


def streamed(pages: list[list[dict]], key: bytes | None = None) -> tuple[bytes, list[packer.Packed]]:
    """Pack Ingress pages the way a live snapshot does (one lane), then the other kinds one by one."""
    p = packer.Packer(key)
    try:
        for page in pages:
            p.add_items(catalogue.INGRESSES, page, lane=1)
        for obj in OTHERS:
            p.add(StoredObject.from_object(obj), lane="held")
        records = p.finish()
        return b"".join(p.chunks()), records
    finally:
        p.close()


def paged(items: list[dict], size: int) -> list[list[dict]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def test_crc32_combine_matches_crc32_of_the_concatenation():
    rng = random.Random(1)
    for _ in range(50):
        a, b = os.urandom(rng.randrange(0, 3000)), os.urandom(rng.randrange(0, 3000))
        assert packer.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@pytest.mark.parametrize("page_size", [1, 7, 50, 500])
def test_pages_in_server_order_give_the_bytes_of_pack(page_size):
    whole = archive_of(objects())
    data, records = streamed(paged(server_order(ITEMS), page_size))
    assert data == whole
    assert [r.archive_path for r in records] == [r.archive_path for r in sorted(
        records, key=lambda r: (r.kind.group_dir, r.kind.plural, r.ref.namespace or "_cluster", r.ref.name))]


def test_any_arrival_order_gives_the_same_bytes_and_duplicates_keep_the_first():
    whole = archive_of(objects())
    shuffled = list(ITEMS)
    random.Random(7).shuffle(shuffled)
    changed = ingress("shop", "web", labels={"a": "b"})  # same name, later: dropped
    data, records = streamed(paged(shuffled, 13) + [[ITEMS[0], changed]])
    assert data == whole
    assert len(records) == len(ITEMS) + len(OTHERS)


def test_records_from_live_items_equal_those_of_stored_objects():
    _, records = streamed([server_order(ITEMS)])
    by_path = {r.archive_path: r for r in records}
    for obj in objects():
        r = by_path[obj.archive_path]
        assert (r.api_version, r.ref, r.sha256, r.size, r.digest) == (obj.api_version, obj.ref, obj.sha256,
                                                                    len(obj.data), obj.sha256)


def test_the_archive_is_a_plain_tar_gz_that_every_reader_takes():
    data, _ = streamed(paged(server_order(ITEMS), 50))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
        assert tar.extractfile(tar.getmember("resources/core/secrets/shop/tls.json")).read() == \
            StoredObject.from_object(OTHERS[0]).data
    assert len(names) == len(ITEMS) + len(OTHERS)
    assert gzip.decompress(data).endswith(b"\0" * 1024)
    whole, manifest = manifest_for(objects())
    assert whole == data  # what the writer stores for the same objects
    read = archive.open_archive(data, manifest, None)
    assert sorted(o.data for o in read) == sorted(o.data for o in objects())


def test_an_encrypted_stream_is_what_decrypt_reads():
    key = os.urandom(32)
    p = packer.Packer(key)
    for page in paged(server_order(ITEMS), 9):
        p.add_items(catalogue.INGRESSES, page, lane=1)
    records = p.finish()
    stream = packer.Digesting(packer.sealed_chunks(p, "20260101T000000Z-abc", key), p.unpacked_size)
    sealed = b"".join(stream)
    record = stream.record(key)
    assert record.size == len(sealed) and record.encryption.key_id == crypto.fingerprint(key)
    assert crypto.decrypt(sealed, key, record.encryption, "20260101T000000Z-abc") == b"".join(p.chunks())
    assert all(r.digest == crypto.object_digest(key, o.data) for r, o in zip(
        records, sorted((StoredObject.from_object(i) for i in ITEMS), key=lambda o: (packer.segment_of(o),
                                                                                    o.ref.name))))
    p.close()


def test_a_restarted_list_forgets_what_it_had_packed():
    p = packer.Packer()
    p.add_items(catalogue.INGRESSES, server_order(ITEMS)[:30], lane=1)
    p.drop_lane(1)
    p.add_items(catalogue.INGRESSES, server_order(ITEMS)[5:], lane=1)
    assert len(p.finish()) == len(ITEMS) - 5
    p.close()


def test_memory_stays_bounded_when_pages_arrive_in_key_order():
    """20,000 objects in pages of 500: what stays behind is the records (well under 1 KiB an object) and the
    compressed segments, not the objects. (The list of 20,000 raw objects itself is made before tracing.)"""
    n = 20_000
    items = server_order([ingress(f"ns-{i % 7}", f"ing-{i}", labels={"app": f"a{i % 50}"},
                                  annotations={"higress.io/timeout": "30", "note": "x" * 2000})
                          for i in range(n)])
    raw_bytes = sum(len(StoredObject.from_object(o).data) for o in items[:100]) * n // 100
    p = packer.Packer()
    tracemalloc.start()
    try:
        for page in paged(items, 500):
            p.add_items(catalogue.INGRESSES, page, lane=1)
        p.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not any(s.plain for s in p._segments.values())
    assert peak < 1024 * n, (peak, raw_bytes)
    assert peak < raw_bytes / 2
    assert len(b"".join(p.chunks())) < raw_bytes / 10
    p.close()
