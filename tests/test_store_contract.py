"""One storage contract, run unchanged against the local folder store and the real MinIO."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from hgbackup.errors import NotFound, Unreachable
from hgbackup.store import open_store
from hgbackup.store.protocol import Store


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, tmp_path):
    if request.param == "local":
        return open_store(str(tmp_path / "store"))
    bucket = request.getfixturevalue("bucket")
    endpoint = request.getfixturevalue("testenv")["HGBACKUP_TEST_S3_ENDPOINT"]
    return open_store(f"s3://{bucket}/some/prefix", s3_endpoint=endpoint)


def test_put_get_exists(store):
    store.put("c/snapshots/1/archive.tar.gz", b"\x00\x01binary")
    assert store.get("c/snapshots/1/archive.tar.gz") == b"\x00\x01binary"
    assert store.exists("c/snapshots/1/archive.tar.gz")
    assert not store.exists("c/snapshots/1/manifest.json")


def test_every_store_implements_the_whole_protocol(store):
    """What the protocol declares, each store has: nothing is found by hasattr or getattr with a default."""
    declared = [name for name in vars(Store) if not name.startswith("_")] + list(Store.__annotations__)
    assert [name for name in declared if not hasattr(store, name)] == []


def test_get_at_most_reads_one_byte_beyond_the_limit_and_no_more(store):
    store.put("_index/c", b"0123456789")
    assert store.get_at_most("_index/c", 4) == b"01234"
    assert store.get_at_most("_index/c", 10) == b"0123456789"
    store.put("_index/empty", b"")
    assert store.get_at_most("_index/empty", 4) == b""
    with pytest.raises(NotFound):
        store.get_at_most("_index/missing", 4)


def test_put_overwrites(store):
    store.put("k", b"one")
    store.put("k", b"two")
    assert store.get("k") == b"two"


def test_put_without_overwrite_never_replaces(store):
    store.put("c/snapshots/1/manifest.json", b"first", overwrite=False)
    with pytest.raises(FileExistsError):
        store.put("c/snapshots/1/manifest.json", b"second", overwrite=False)
    assert store.get("c/snapshots/1/manifest.json") == b"first"


def test_modified_times(store):
    before = datetime.now(timezone.utc) - timedelta(minutes=1)
    store.put("a/1", b"x")
    times = store.modified("a/")
    assert list(times) == ["a/1"] and before < times["a/1"] < datetime.now(timezone.utc) + timedelta(minutes=1)
    assert store.leftovers(before) == []


def test_list_by_prefix_sorted(store):
    for key in ("b/2", "a/1", "a/2", "ab/3"):
        store.put(key, key.encode())
    assert store.list("a/") == ["a/1", "a/2"]
    assert store.list("") == ["a/1", "a/2", "ab/3", "b/2"]


def test_missing_key_is_not_found(store):
    with pytest.raises(NotFound):
        store.get("nope/never")


def test_delete_is_idempotent(store):
    store.put("x/y", b"1")
    store.delete("x/y")
    store.delete("x/y")
    assert not store.exists("x/y")
    assert store.list("") == []


def test_large_blob_round_trips(store):
    blob = os.urandom(3 * 1024 * 1024)
    store.put("big", blob)
    assert store.get("big") == blob


def test_local_store_modes(tmp_path):
    store = open_store(f"file://{tmp_path}/s")
    store.put("c/snapshots/1/manifest.json", b"{}")
    path = tmp_path / "s" / "c" / "snapshots" / "1"
    assert stat.S_IMODE(os.stat(path / "manifest.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


@pytest.mark.s3
def test_missing_bucket_is_not_found(testenv):
    # exit 5, not 6: retrying cannot make a bucket (the CronJob's podFailurePolicy fails the Job at once)
    store = open_store("s3://no-such-bucket-hgb/x", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"])
    with pytest.raises(NotFound, match="does not exist"):
        store.put("k", b"1")


@pytest.mark.s3
def test_wrong_credentials_are_access_denied(testenv, bucket, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    store = open_store(f"s3://{bucket}", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"])
    with pytest.raises(Unreachable):
        store.get("k")


def test_unreachable_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = open_store("s3://b/p", s3_endpoint="http://127.0.0.1:9")
    with pytest.raises(Unreachable, match="cannot reach"):
        store.get("k")


@pytest.mark.s3
def test_an_unfinished_multipart_upload_is_a_leftover_and_is_aborted(testenv, bucket, s3):
    store = open_store(f"s3://{bucket}/p", s3_endpoint=testenv["HGBACKUP_TEST_S3_ENDPOINT"])
    upload = s3.create_multipart_upload(Bucket=bucket, Key="p/c/snapshots/x/archive.tar.gz")
    s3.upload_part(Bucket=bucket, Key="p/c/snapshots/x/archive.tar.gz", UploadId=upload["UploadId"], PartNumber=1,
                   Body=b"half an archive")
    assert store.leftovers(datetime.now(timezone.utc) - timedelta(hours=1)) == []  # too young to be a leftover
    found = store.leftovers(datetime.now(timezone.utc) + timedelta(minutes=1))
    assert found == [f"{upload['UploadId']} p/c/snapshots/x/archive.tar.gz"]
    store.drop_leftover(found[0])
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_local_store_that_does_not_exist_is_not_an_empty_one(tmp_path):
    store = open_store(str(tmp_path / "missing"))
    with pytest.raises(NotFound, match="no store at"):
        store.list("")
    assert not (tmp_path / "missing").exists()


def _pieces(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.mark.parametrize("length", [0, 1000, 11 * 2**20 + 17])
def test_put_stream_writes_what_it_is_given_and_digest_reads_it_back(store, length):
    import hashlib

    store.part_size = 5 * 2**20  # S3's smallest part: 11 MiB go up in three parts (an attribute only S3 reads)
    data = os.urandom(length)
    store.put_stream("c/snapshots/1/archive.tar.gz", _pieces(data, 300_000))
    assert store.get("c/snapshots/1/archive.tar.gz") == data
    assert store.digest("c/snapshots/1/archive.tar.gz") == (length, hashlib.sha256(data).hexdigest())
    assert store.list("") == ["c/snapshots/1/archive.tar.gz"]


@pytest.mark.parametrize("length", [1000, 11 * 2**20])
def test_put_stream_never_replaces_a_key(store, length):
    store.part_size = 5 * 2**20
    store.put("k", b"first")
    with pytest.raises(FileExistsError):
        store.put_stream("k", _pieces(os.urandom(length), 2**20))
    assert store.get("k") == b"first"


@pytest.mark.parametrize("length", [1000, 11 * 2**20])
def test_a_stream_that_fails_half_way_leaves_nothing(store, length):
    """A packer that fails mid-archive: no key, no temporary file, no unfinished multipart upload."""
    store.part_size = 5 * 2**20

    def failing():
        yield from _pieces(os.urandom(length), 2**20)
        raise RuntimeError("the packer failed")

    with pytest.raises(RuntimeError):
        store.put_stream("c/snapshots/1/archive.tar.gz", failing())
    assert not store.exists("c/snapshots/1/archive.tar.gz")
    assert store.list("") == []
    assert store.leftovers(datetime.now(timezone.utc) + timedelta(minutes=1)) == []


def test_keys_that_need_escaping_list_as_written(store):
    """S3 lists keys URL-encoded (EncodingType=url) and botocore decodes them; hgbackup's fast ListObjectsV2
    parsing keeps that working."""
    for key in ("a b/x+y", "é/ü&<>", "plain"):
        store.put(key, b"1")
    assert sorted(store.list("")) == sorted(["a b/x+y", "é/ü&<>", "plain"])
    assert sorted(store.modified("")) == sorted(store.list(""))
