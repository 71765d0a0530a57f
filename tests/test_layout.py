"""The store's key names (store/layout.py): every key the repository writes parses back to the snapshot it names,
and nothing else does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hgbackup.store import layout
from hgbackup.store.layout import SnapshotKey

T0 = datetime(2026, 11, 20, 12, 30, 5, 250_000, tzinfo=timezone.utc)


def test_a_snapshot_key_builds_the_keys_it_parses_back():
    key = SnapshotKey("prod-1", layout.new_snapshot_id(T0))
    assert key.manifest_key == f"prod-1/snapshots/{key.id}/manifest.json"
    assert key.archive_key(False) == f"prod-1/snapshots/{key.id}/archive.tar.gz"
    assert key.archive_key(True) == f"prod-1/snapshots/{key.id}/archive.tar.gz.enc"
    assert layout.manifest_of(key.manifest_key) == key
    assert [layout.parse(key.archive_key(e)) for e in (False, True)] == [
        (key, "archive.tar.gz"), (key, "archive.tar.gz.enc")]
    assert all(layout.is_archive(layout.parse(key.archive_key(e))[1]) for e in (False, True))


def test_only_a_manifest_with_a_well_formed_id_names_a_snapshot():
    good = layout.new_snapshot_id(T0)
    assert layout.manifest_of(f"c/snapshots/{good}/archive.tar.gz") is None
    assert layout.manifest_of("c/snapshots/not-an-id/manifest.json") is None
    assert layout.manifest_of(f"x/c/snapshots/{good}/manifest.json") is None  # one folder level too deep
    assert layout.manifest_of(f"c/other/{good}/manifest.json") is None
    assert layout.parse("_index/manifests-x.json.gz") is None


def test_ids_taken_in_the_same_millisecond_differ():
    assert len({layout.new_snapshot_id(T0) for _ in range(2000)}) == 2000  # 3 random hex digits clashed at ~4,300


def test_ids_sort_by_time_to_the_millisecond():
    ids = [layout.new_snapshot_id(T0 + timedelta(milliseconds=ms)) for ms in (0, 1, 999)]
    assert ids == sorted(ids) and all(layout.ID_RE.match(i) for i in ids)
    assert ids[0].startswith("20261120T123005Z-0fa")


def test_cluster_names_become_one_safe_key_segment():
    assert layout.cluster_key("arn:aws:eks:eu-west-1:123:cluster/prod") == "arn-aws-eks-eu-west-1-123-cluster-prod"
    assert layout.cluster_key("..") == "default" and layout.cluster_key("") == "default"
    assert layout.cluster_key("kind-kind") == "kind-kind"


def test_a_cache_key_says_when_it_was_written():
    name = layout.cache_key(T0, "ab" * 32)
    assert name == "_index/manifests-20261120T123005Z-abababababababab.json.gz"
    assert layout.is_cache(name) and layout.cache_written(name) == T0.replace(microsecond=0)
    assert layout.cache_written("_index/manifests-20261399T000000Z-abababababababab.json.gz") is None
    assert not layout.is_cache(SnapshotKey("c", layout.new_snapshot_id(T0)).manifest_key)
