"""restore/verify.py: `verify` re-reads archives and checks every checksum, each snapshot on its own; and the checks
the disaster-recovery runbook (README, "Disaster recovery" steps 1-2) makes before a restore, with only the store
and the key."""

from __future__ import annotations

import json

from conftest import EXAMPLE, run

from hgbackup.errors import EXIT_INTEGRITY, EXIT_OK
from hgbackup.restore.verify import verify
from hgbackup.store import open_store
from hgbackup.store.repository import Repository


def snapshot(store: str, *args: str) -> str:
    return json.loads(run("snapshot", "--from-file", EXAMPLE, "--store", store, "-o", "json", *args).stdout)["id"]


def test_a_damaged_archive_is_reported_and_the_other_snapshots_are_still_checked(tmp_path):
    store = str(tmp_path / "store")
    good, bad = snapshot(store), snapshot(store)
    [archive] = (tmp_path / "store").glob(f"*/snapshots/{bad}/archive.tar.gz")
    archive.write_bytes(archive.read_bytes()[:-40] + b"\0" * 40)
    doc = json.loads(run("verify", "--all", "--store", store, "-o", "json", code=4).stdout)
    by_id = {r["id"]: r for r in doc}
    assert by_id[good] == {"id": good, "cluster": "default", "ok": True, "objects": 25, "error": None}
    assert by_id[bad]["ok"] is False and by_id[bad]["objects"] is None and "checksum mismatch" in by_id[bad]["error"]
    repo = Repository(open_store(store))
    seen = []
    report = verify(repo, [s.key for s in repo.snapshots().snapshots], progress=lambda n, total, i: seen.append(i))
    assert report.exit_code == EXIT_INTEGRITY and sorted(seen) == sorted([good, bad])
    assert verify(repo, [s.key for s in repo.snapshots().snapshots if s.id == good]).exit_code == EXIT_OK


def test_the_disaster_recovery_checks_need_only_the_store_and_the_key(tmp_path):
    """Runbook steps 1-2: the key checked against the store, the snapshot found and authenticated, every archive
    verified; without the key the same verify fails naming the key it needs (exit 4), never passes."""
    store, key = str(tmp_path / "store"), str(tmp_path / "hgbackup.key")
    fingerprint = run("key", "generate", "-o", key).stderr.split("fingerprint ")[1].rstrip(")\n")
    sid = snapshot(store, "--encryption-key-file", key)
    opens = json.loads(run("key", "fingerprint", key, "--store", store, "-o", "json").stdout)
    assert opens["opens"] == [sid] and opens["other_key"] == []
    [listed] = json.loads(run("list", "--store", store, "--encryption-key-file", key, "-o", "json").stdout)
    assert (listed["id"], listed["encrypted"], listed["auth"]) == (sid, True, "verified")
    checked = json.loads(run("verify", "--all", "--store", store, "--encryption-key-file", key, "-o", "json").stdout)
    assert checked == [{"id": sid, "cluster": "default", "ok": True, "objects": 25, "error": None}]
    without = json.loads(run("verify", "--all", "--store", store, "-o", "json", code=4).stdout)
    assert without[0]["ok"] is False and fingerprint in without[0]["error"]
