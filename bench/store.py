"""Benchmark commands that read a large store: 5,000 snapshots (hourly backups for seven months) on the real MinIO.

Fills a fresh bucket of the test ground's MinIO with N snapshots of one cluster (M objects each, one hour apart),
then measures in one run, each as a whole process:
  list_cold       `hgbackup list -o json` on the store as written (no manifest cache yet: it writes one)
  list            `hgbackup list -o json` again
  forget_dry_run  `hgbackup forget --keep-hourly 24 --keep-daily 7 --keep-monthly 12 --dry-run -o json`
  latest          `hgbackup show latest -o json`
  floor           the raw S3 calls any of them needs at least: LIST of every key, then GET of every manifest
                  (16 at a time, boto3, parsed as JSON and discarded)
Prints JSON: seconds and peak RSS of each, ratio to the floor.
Usage: .venv/bin/python bench/store.py [N [M]]
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from common import HGBACKUP, ROOT, emit, testenv, timed

FLOOR = r"""
import json, sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], config=Config(s3={"addressing_style": "path"},
                  max_pool_connections=16))
keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2])
        for o in page.get("Contents", [])]
manifests = [k for k in keys if k.endswith("/manifest.json")]
with ThreadPoolExecutor(16) as pool:
    sizes = list(pool.map(lambda k: len(json.loads(s3.get_object(Bucket=sys.argv[2], Key=k)["Body"].read())["objects"]),
                          manifests))
print(json.dumps({"keys": len(keys), "manifests": len(manifests)}))
"""


def fill(s3, bucket: str, n: int, m: int) -> float:
    from hgbackup.capture.packer import Digesting, packed_from, sealed_chunks
    from hgbackup.kube.model import StoredObject
    from hgbackup.store.layout import SnapshotKey, new_snapshot_id
    from hgbackup.store.manifest import ClusterInfo, Manifest

    objects = [StoredObject.from_object({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": f"ing-{i}", "namespace": "shop"},
        "spec": {"rules": [{"host": f"h{i}.example.com"}]}}) for i in range(m)]
    cluster = ClusterInfo("prod", "v1.31.0", "0f0e7c1a-1111-2222-3333-444455556666")
    start_time = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def put(i: int) -> None:
        when = start_time + timedelta(hours=i)
        sid = new_snapshot_id(when)
        packer, records = packed_from(objects, None)
        try:
            stream = Digesting(sealed_chunks(packer, sid, None), packer.unpacked_size)
            data, record = b"".join(stream), stream.record(None)
        finally:
            packer.close()
        manifest = Manifest.build(sid, when, cluster, records, record, scope={}, tags=["schedule:hourly"])
        key = SnapshotKey("prod", sid)
        s3.put_object(Bucket=bucket, Key=key.archive_key(False), Body=data)
        s3.put_object(Bucket=bucket, Key=key.manifest_key, Body=manifest.to_bytes())

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, range(n)))
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    env = testenv()
    sys.path.insert(0, ROOT)
    import boto3
    from botocore.config import Config

    endpoint = env["HGBACKUP_TEST_S3_ENDPOINT"]
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"},
                                                                 max_pool_connections=16))
    bucket = f"bench-store-{secrets.token_hex(3)}"
    s3.create_bucket(Bucket=bucket)
    fill_seconds = fill(s3, bucket, n, m)
    store = ["--store", f"s3://{bucket}", "--s3-endpoint", endpoint]
    runs = {
        # the first listing reads every manifest and leaves the cache (index.py) the following commands use
        "list_cold": timed([*HGBACKUP, "list", *store, "-o", "json"]),
        "list": timed([*HGBACKUP, "list", *store, "-o", "json"]),
        "forget_dry_run": timed([*HGBACKUP, "forget", *store, "--keep-hourly", "24", "--keep-daily", "7",
                                 "--keep-monthly", "12", "--dry-run", "-o", "json"]),
        "latest": timed([*HGBACKUP, "show", "latest", *store, "-o", "json"]),
    }
    floor = timed([sys.executable, "-c", FLOOR, endpoint, bucket], env={**os.environ})
    listed = json.loads(runs["list"]["stdout"])
    assert len(listed["snapshots"] if isinstance(listed, dict) else listed) == n, "list did not show every snapshot"
    emit({"benchmark": "store", "snapshots": n, "objects_per_snapshot": m, "fill_seconds": round(fill_seconds, 1),
          **{name: {k: r[k] for k in ("seconds", "peak_rss_mib")} | {"ratio_to_floor": round(
              r["seconds"] / floor["seconds"], 2)} for name, r in runs.items()},
          "floor_raw_list_and_get": {k: floor[k] for k in ("seconds", "peak_rss_mib")}})


if __name__ == "__main__":
    main()
