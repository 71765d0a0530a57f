"""Benchmark `hgbackup log` over 500 snapshots of 1,000 objects (2 objects changed per snapshot). Target <= 2 s.

Measured in one run:
  hgbackup_log         the whole `hgbackup log -o json` process (read every manifest, build the timeline)
  hgbackup_log_name    `log --kind Ingress --name ing-7` (the "when did this route change?" question)
  list_floor           the whole `hgbackup list -o json` process: reading the same manifests, no timeline
  naive_pairwise       loading both archives of consecutive snapshots and comparing them (diff.compare), timed over
                       20 pairs and scaled to all 499 (what `diff latest~N latest~N-1` in a loop would cost)
No API server needed: the snapshots are written in-process into a temporary local store.
Usage: .venv/bin/python bench/log.py [SNAPSHOTS] [OBJECTS]
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

from common import HGBACKUP, emit, timed
from diff import ingresses


def main() -> None:
    snapshots = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    work = tempfile.mkdtemp(prefix="hgb-bench-log-")
    try:
        from hgbackup.capture import snapshot
        from hgbackup.diff.compare import compare
        from hgbackup.kube.model import StoredObject
        from hgbackup.kube.scope import Scope
        from hgbackup.kube.stored import stored_form
        from hgbackup.store import open_store
        from hgbackup.store.repository import Repository

        store = os.path.join(work, "store")
        repo = Repository(open_store(store))
        items = ingresses(n)
        capture = snapshot.capture_from_documents(items, Scope(), "bench")
        start_time = datetime(2026, 1, 1, tzinfo=timezone.utc)
        setup = time.perf_counter()
        for s in range(snapshots):
            for i in (s * 7 % n, (s * 13 + 1) % n):  # two objects change in every snapshot
                obj = copy.deepcopy(items[i])
                obj["metadata"]["annotations"]["higress.io/timeout"] = str(30 + s)
                items[i] = obj
                index = next(k for k, o in enumerate(capture.objects) if o.ref.name == obj["metadata"]["name"])
                capture.objects[index] = StoredObject.from_object(stored_form(obj))
            snapshot.write(repo, capture, Scope(), now=start_time + timedelta(hours=s))
        setup = time.perf_counter() - setup

        ours = timed([*HGBACKUP, "log", "--store", store, "-o", "json"])
        doc = json.loads(ours["stdout"])
        assert doc["snapshots"] == snapshots and len(doc["events"]) >= snapshots - 1
        one = timed([*HGBACKUP, "log", "--store", store, "--kind", "Ingress", "--name", "ing-7", "-o", "json"])
        floor = timed([*HGBACKUP, "list", "--store", store, "-o", "json"])

        ordered = sorted(repo.snapshots().snapshots, key=lambda s: s.id)
        pairs = min(20, snapshots - 1)
        start = time.perf_counter()
        for a, b in zip(ordered[:pairs], ordered[1:pairs + 1]):
            compare(repo.load(a.key)[1], repo.load(b.key)[1])
        naive = (time.perf_counter() - start) / pairs * (snapshots - 1)

        emit({"benchmark": "log", "snapshots": snapshots, "objects_per_snapshot": n,
              "events": len(doc["events"]), "setup_seconds": round(setup, 1),
              "hgbackup_log": {k: ours[k] for k in ("seconds", "peak_rss_mib")},
              "hgbackup_log_one_route": {k: one[k] for k in ("seconds", "peak_rss_mib")},
              "list_floor": {k: floor[k] for k in ("seconds", "peak_rss_mib")},
              "naive_pairwise_seconds_scaled": round(naive, 1),
              "target_seconds": 2.0, "target_met": ours["seconds"] <= 2.0})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
