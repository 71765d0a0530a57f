"""`hgbackup forget` (cli/forget.py) on a local store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from conftest import EXAMPLE, run

from hgbackup.capture import snapshot
from hgbackup.kube.scope import Scope
from hgbackup.store import open_store
from hgbackup.store.repository import Repository


def test_forget_on_a_local_store(tmp_path):
    store = str(tmp_path / "store")
    repo = Repository(open_store(store))
    capture = snapshot.capture_files([EXAMPLE], Scope())
    t0 = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
    ids = [snapshot.write(repo, capture, Scope(), now=t0 - timedelta(days=d)).id for d in range(5)]
    other = snapshot.capture_files([EXAMPLE], Scope(), cluster_name="other")
    lone = snapshot.write(repo, other, Scope(), now=t0 - timedelta(days=30)).id

    dry = json.loads(run("forget", "--keep-daily", "2", "--store", store, "--dry-run", "-o", "json").stdout)
    assert sorted(k["id"] for k in dry["keep"]) == sorted([ids[0], ids[1], lone])
    assert sorted(r["id"] for r in dry["remove"]) == sorted(ids[2:])
    assert len(repo.snapshot_keys()) == 6

    done = json.loads(run("forget", "--keep-daily", "2", "--store", store, "-o", "json").stdout)
    assert done["keep"][0]["reasons"]
    remaining = {k.id for k in repo.snapshot_keys()}
    assert remaining == {ids[0], ids[1], lone}
    assert not any(ids[2] in key for key in repo.store.list(""))  # manifest and archive both gone
    run("forget", "--store", store, code=2)
