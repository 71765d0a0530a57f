"""The two shapes of a capture (capture/captured.py): objects in memory, or packed as they arrived. A caller cannot
read a packed capture's objects as an empty list, and both write the same snapshot."""

from __future__ import annotations

import pytest

from hgbackup.capture.captured import Capture, InMemoryCapture, PackedCapture
from hgbackup.capture.packer import Packer
from hgbackup.errors import HgbackupError
from hgbackup.kube.model import StoredObject
from hgbackup.store.manifest import ClusterInfo

OBJECTS = [StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": f"cm-{i}", "namespace": "higress-system"},
                                     "data": {"k": str(i)}}) for i in range(3)]
CLUSTER = ClusterInfo("c", "v1.31.0", "uid-1", "live")
KEY = bytes(range(32))


def packed_capture(key: bytes | None) -> PackedCapture:
    packer = Packer(key)
    for obj in reversed(OBJECTS):  # out of order: the packer sorts
        packer.add(obj)
    return PackedCapture(cluster=CLUSTER, packer=packer, records=packer.finish())


def test_a_capture_is_one_shape_or_the_other():
    with pytest.raises(TypeError):
        Capture(cluster=CLUSTER)  # what it found, without saying where its objects are: not a capture
    packed = packed_capture(None)
    try:
        assert not hasattr(packed, "objects")  # never an empty list where the objects were packed
        assert packed.refs == [o.ref for o in OBJECTS]
    finally:
        packed.close()
    assert InMemoryCapture(objects=OBJECTS, cluster=CLUSTER).refs == [o.ref for o in OBJECTS]


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "keyed"])
def test_both_shapes_pack_the_same_archive(key):
    packed = packed_capture(key)
    try:
        with packed.packed(key) as (packer, records), \
                InMemoryCapture(objects=OBJECTS, cluster=CLUSTER).packed(key) as (other, other_records):
            assert b"".join(packer.chunks()) == b"".join(other.chunks())
            assert records == other_records
    finally:
        packed.close()


def test_a_packed_capture_is_written_only_with_the_key_it_was_packed_for():
    packed = packed_capture(KEY)
    try:
        with pytest.raises(HgbackupError, match="packed for another encryption key"), packed.packed(None):
            pass
    finally:
        packed.close()
