"""Benchmark `hgbackup diff` on two snapshots of 10,000 objects with 1% changed, against a naive DeepDiff.

Measured in one run:
  hgbackup_process   the whole `hgbackup diff A B -o json` process (load, verify, compare, render)
  comparison         hgbackup's compare() alone, on already loaded snapshots (in-process)
  naive_deepdiff     DeepDiff of the two whole object sets keyed by object (in-process)
No API server needed: the snapshots are taken --from-file into a temporary local store.
Usage: .venv/bin/python bench/diff.py [N]
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import tempfile
import time

from common import HGBACKUP, emit, timed


def ingresses(n: int) -> list[dict]:
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
             "metadata": {"name": f"ing-{i}", "namespace": f"ns-{i % 20}",
                          "annotations": {"higress.io/timeout": "30", "higress.io/destination": f"svc-{i}:80"},
                          "labels": {"app": f"app-{i % 50}"}},
             "spec": {"ingressClassName": "higress", "tls": [{"hosts": [f"h{i}.example.com"]}],
                      "rules": [{"host": f"h{i}.example.com", "http": {"paths": [
                          {"path": f"/p{j}", "pathType": "Prefix",
                           "backend": {"service": {"name": f"svc-{i % 100}", "port": {"number": 80 + j}}}}
                          for j in range(3)]}}]}}
            for i in range(n)]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    work = tempfile.mkdtemp(prefix="hgb-bench-diff-")
    try:
        before = ingresses(n)
        after = copy.deepcopy(before)
        for i in range(0, n, 100):  # 1% changed
            after[i]["spec"]["rules"][0]["http"]["paths"][1]["path"] = "/changed"
        files = []
        for name, items in (("a.json", before), ("b.json", after)):
            path = os.path.join(work, name)
            with open(path, "w") as fh:
                json.dump({"apiVersion": "v1", "kind": "List", "items": items}, fh)
            files.append(path)
        store = os.path.join(work, "store")
        ids = [json.loads(timed([*HGBACKUP, "snapshot", "--from-file", f, "--store", store, "-o", "json"])["stdout"])
               ["id"] for f in files]

        ours = timed([*HGBACKUP, "diff", ids[0], ids[1], "--store", store, "-o", "json"])
        changed = json.loads(ours["stdout"])["summary"]["changed"]

        from hgbackup.diff.compare import compare
        from hgbackup.store import open_store
        from hgbackup.store.repository import Repository

        repo = Repository(open_store(store))
        a = repo.load(repo.resolve(ids[0]))[1]
        b = repo.load(repo.resolve(ids[1]))[1]
        start = time.perf_counter()
        result = compare(a, b)
        comparison = time.perf_counter() - start
        assert result.summary()["changed"] == changed == n // 100

        from deepdiff import DeepDiff

        def keyed(items):
            return {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o for o in items}

        start = time.perf_counter()
        naive = DeepDiff(keyed(before), keyed(after))
        naive_seconds = time.perf_counter() - start
        assert len(naive.get("values_changed", {})) == n // 100

        emit({"benchmark": "diff", "objects": n, "changed": changed,
              "hgbackup_process": {k: ours[k] for k in ("seconds", "peak_rss_mib")},
              "comparison_seconds": round(comparison, 4),
              "naive_deepdiff_seconds": round(naive_seconds, 3),
              "speedup_process_vs_naive": round(naive_seconds / ours["seconds"], 1)})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
