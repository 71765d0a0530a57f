"""Property-based tests of the archive reader: whatever the bytes, it returns the objects or raises IntegrityError.

The manifest is made to match the bytes (size and sha256), so the fuzzed data reaches the decompressor, the tar
parser and the per-object checks instead of stopping at the checksum.
"""

from __future__ import annotations

import dataclasses

from conftest import archive_of, manifest_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hgbackup.errors import IntegrityError
from hgbackup.kube.model import StoredObject
from hgbackup.kube.stored import sha256_hex
from hgbackup.store import archive, crypto
from hgbackup.store.manifest import ArchiveRecord, Encryption, Manifest

OBJECTS = [StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": f"cm-{i}", "namespace": "ns"}, "data": {"k": "v" * i}})
           for i in range(5)]
GOOD = archive_of(OBJECTS)
KEY = bytes(range(32))


BASE = manifest_for(OBJECTS)[1]


def matching(data: bytes, encryption=None) -> Manifest:
    """The manifest of OBJECTS, made to match `data` (size and sha256)."""
    record = ArchiveRecord(len(data), sha256_hex(data), BASE.archive.unpacked_size, encryption)
    return dataclasses.replace(BASE, archive=record)


def read(data: bytes, encryption=None, key=None):
    try:
        return archive.open_archive(data, matching(data, encryption), key)
    except IntegrityError:
        return None


settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@given(st.binary(max_size=4096))
def test_random_bytes(data):
    read(data)


@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_archive(flips):
    data = bytearray(GOOD)
    for index, value in flips:
        data[index] = value
    objects = read(bytes(data))
    if objects is not None:  # a mutation the reader accepted must still be exactly the original content
        assert [o.sha256 for o in objects] == [o.sha256 for o in OBJECTS]


@given(st.integers(0, len(GOOD) - 1))
def test_truncated_archive(length):
    assert read(GOOD[:length]) is None


@given(st.binary(max_size=512))
def test_random_ciphertext(data):
    encryption = Encryption(crypto.ALG, crypto.fingerprint(KEY))
    assert read(crypto.MAGIC + data, encryption, KEY) is None


@given(st.binary(max_size=2048))
def test_random_manifest(data):
    try:
        Manifest.from_bytes(data, "fuzz")
    except IntegrityError:
        pass


def test_the_good_archive_reads():
    assert [o.sha256 for o in read(GOOD)] == [o.sha256 for o in OBJECTS]
    assert sha256_hex(GOOD) == matching(GOOD).archive.sha256
