"""The repository (store/repository.py) over a local store: what killed writes leave behind is removed once it is old
enough, and nothing a complete snapshot holds."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

from conftest import put_snapshot, run

from hgbackup.store import open_store
from hgbackup.store.layout import SnapshotKey
from hgbackup.store.repository import Repository


def test_forget_removes_leftovers_older_than_an_hour(tmp_path):
    store = str(tmp_path / "store")
    keys = [put_snapshot(store, "c", f"2026111{d}T020000Z-dddddd", "dddd") for d in (1, 2)]
    repo = Repository(open_store(store))
    old = (datetime.now() - timedelta(hours=2)).timestamp()
    folder = os.path.join(store, "c", "snapshots")
    stale_tmp = os.path.join(folder, keys[1].id, ".tmp-abc")
    fresh_tmp = os.path.join(folder, keys[1].id, ".tmp-def")
    orphan = SnapshotKey("c", "20261101T000000Z-eeeeee")
    repo.store.put(orphan.archive_key(False), b"plaintext secrets nobody can list")
    for path in (stale_tmp, fresh_tmp):
        with open(path, "wb") as fh:
            fh.write(b"half")
    os.utime(stale_tmp, (old, old))
    os.utime(os.path.join(folder, orphan.id, "archive.tar.gz"), (old, old))
    doc = json.loads(run("forget", "--keep-last", "5", "--store", store, "-o", "json").stdout)
    assert sorted(doc["leftovers_removed"]) == sorted([f"c/snapshots/{keys[1].id}/.tmp-abc",
                                                       f"c/snapshots/{orphan.id}/archive.tar.gz"])
    assert not os.path.exists(stale_tmp) and os.path.exists(fresh_tmp)
    assert len(repo.snapshot_keys()) == 2
