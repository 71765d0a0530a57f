"""Benchmark `hgbackup restore` against the API server's limit: a minimal concurrent apply client (and kubectl).

For N in 1,000 and 10,000 objects (Ingresses and ConfigMaps), each target a fresh namespace on the real API server
of the test ground, measured in one run:
  hgbackup     the whole `hgbackup restore ID --yes --no-safety-snapshot` process (default concurrency)
  floor        the same server-side apply requests from a minimal client: no snapshot to read, no planning, no
               ordering, one urllib3 pool and a thread pool; best of concurrency 8, 16 and 32
  sequential   server-side apply one object at a time, in one Python process (same client library)
  kubectl      `kubectl apply --server-side -f FILE`, when kubectl is installed
Prints JSON: seconds, objects per second, peak RSS, ratio to the floor, speedup against sequential.
Usage: .venv/bin/python bench/restore.py [N ...]   (BENCH_KUBECTL=0 leaves kubectl out)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import yaml
from common import HGBACKUP, ROOT, emit, testenv, timed
from kubernetes import client, config

SEQUENTIAL = r"""
import json, sys
from kubernetes import client, config
cfg = client.Configuration()
config.load_kube_config(config_file=sys.argv[1], client_configuration=cfg)
api = client.ApiClient(cfg)
for obj in json.load(open(sys.argv[2])):
    group = obj["apiVersion"].rpartition("/")[0]
    base = f"/apis/{obj['apiVersion']}" if group else f"/api/{obj['apiVersion']}"
    plural = {"Ingress": "ingresses", "ConfigMap": "configmaps"}[obj["kind"]]
    path = f"{base}/namespaces/{obj['metadata']['namespace']}/{plural}/{obj['metadata']['name']}"
    query = [("fieldManager", "seq"), ("force", "true")]
    _, url, headers, _, _ = api.param_serialize("PATCH", path, query_params=query,
        header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
        auth_settings=["BearerToken"])
    resp = api.call_api("PATCH", url, header_params=headers, body=json.dumps(obj).encode())
    resp.read()
    assert resp.status in (200, 201), resp.status
"""


FLOOR = r"""
import json, sys
from concurrent.futures import ThreadPoolExecutor
from kubernetes import client, config
cfg = client.Configuration()
config.load_kube_config(config_file=sys.argv[1], client_configuration=cfg)
workers = int(sys.argv[3])
cfg.connection_pool_maxsize = workers
api = client.ApiClient(cfg)
pool = api.rest_client.pool_manager
headers = {"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"}
auth = cfg.auth_settings().get("BearerToken")
if auth and auth.get("value"):
    headers["Authorization"] = auth["value"]
PLURAL = {"Ingress": "ingresses", "ConfigMap": "configmaps"}

def apply(obj):
    group = obj["apiVersion"].rpartition("/")[0]
    base = f"/apis/{obj['apiVersion']}" if group else f"/api/{obj['apiVersion']}"
    path = f"{base}/namespaces/{obj['metadata']['namespace']}/{PLURAL[obj['kind']]}/{obj['metadata']['name']}"
    resp = pool.request("PATCH", cfg.host + path + "?fieldManager=floor&force=true", body=json.dumps(obj),
                        headers=headers)
    assert resp.status in (200, 201), resp.status

with ThreadPoolExecutor(max_workers=workers) as threads:
    list(threads.map(apply, json.load(open(sys.argv[2]))))
"""


def objects(ns: str, n: int) -> list[dict]:
    half = n // 2
    out = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": ns},
            "data": {"config": f"value-{i}" * 10}} for i in range(half)]
    out += [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
             "metadata": {"name": f"ing-{i}", "namespace": ns, "annotations": {"higress.io/timeout": "30"}},
             "spec": {"rules": [{"host": f"h{i}.example.com", "http": {"paths": [
                 {"path": "/", "pathType": "Prefix",
                  "backend": {"service": {"name": f"svc-{i % 100}", "port": {"number": 80}}}}]}}]}}
            for i in range(n - half)]
    return out


def retarget(objs: list[dict], ns: str) -> list[dict]:
    return [dict(o, metadata=dict(o["metadata"], namespace=ns)) for o in objs]


def count_in(api_client, ns: str) -> int:
    return (len(client.CoreV1Api(api_client).list_namespaced_config_map(ns).items)
            + len(client.NetworkingV1Api(api_client).list_namespaced_ingress(ns).items))


def run_case(env: dict, api_client, n: int, work: str) -> dict:
    tag = secrets.token_hex(3)
    base = objects(f"bench-r-{n}-{tag}", n)
    path = os.path.join(work, f"objs-{n}.json")
    with open(path, "w") as fh:
        json.dump({"apiVersion": "v1", "kind": "List", "items": base}, fh)
    store = os.path.join(work, "store")
    sid = json.loads(timed([*HGBACKUP, "snapshot", "--from-file", path, "--store", store, "--higress-namespace",
                            base[0]["metadata"]["namespace"], "-o", "json"])["stdout"])["id"]
    kubeconfig = env["KUBECONFIG"]

    ours = timed([*HGBACKUP, "restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--yes",
                  "--no-safety-snapshot", "-o", "json"])
    summary = json.loads(ours["stdout"])["summary"]
    assert summary["created"] == n + 1 and summary["failed"] == 0, summary  # + the namespace
    assert count_in(api_client, base[0]["metadata"]["namespace"]) == n

    floors = {}
    for workers in (8, 16, 32):
        floor_ns = f"bench-floor-{n}-{workers}-{tag}"
        client.CoreV1Api(api_client).create_namespace({"metadata": {"name": floor_ns}})
        floor_path = os.path.join(work, f"floor-{n}-{workers}.json")
        with open(floor_path, "w") as fh:
            json.dump(retarget(base, floor_ns), fh)
        floors[workers] = timed([sys.executable, "-c", FLOOR, kubeconfig, floor_path, str(workers)])
        assert count_in(api_client, floor_ns) == n
    best = min(floors, key=lambda w: floors[w]["seconds"])

    seq_ns = f"bench-seq-{n}-{tag}"
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": seq_ns}})
    seq_path = os.path.join(work, f"seq-{n}.json")
    with open(seq_path, "w") as fh:
        json.dump(retarget(base, seq_ns), fh)
    sequential = timed([sys.executable, "-c", SEQUENTIAL, kubeconfig, seq_path])
    assert count_in(api_client, seq_ns) == n

    result = {"objects": n,
              "hgbackup": {**{k: ours[k] for k in ("seconds", "peak_rss_mib")},
                           "objects_per_second": round(n / ours["seconds"])},
              "sequential_apply": {**{k: sequential[k] for k in ("seconds", "peak_rss_mib")},
                                   "objects_per_second": round(n / sequential["seconds"])},
              "floor_concurrent_apply": {"seconds": {w: f["seconds"] for w, f in floors.items()},
                                         "best_concurrency": best,
                                         "peak_rss_mib": floors[best]["peak_rss_mib"]},
              "ratio_to_floor": round(ours["seconds"] / floors[best]["seconds"], 2),
              "speedup_vs_sequential": round(sequential["seconds"] / ours["seconds"], 2)}
    if shutil.which("kubectl") and os.environ.get("BENCH_KUBECTL", "1") != "0":  # 6 minutes at 10,000
        k_ns = f"bench-kubectl-{n}-{tag}"
        client.CoreV1Api(api_client).create_namespace({"metadata": {"name": k_ns}})
        k_path = os.path.join(work, f"kubectl-{n}.yaml")
        with open(k_path, "w") as fh:
            yaml.safe_dump_all(retarget(base, k_ns), fh)
        start = time.perf_counter()
        subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", k_path],
                       check=True, capture_output=True)
        seconds = time.perf_counter() - start
        result["kubectl_apply_server_side"] = {"seconds": round(seconds, 3), "objects_per_second": round(n / seconds)}
    return result


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    env = testenv()
    api_client = config.new_client_from_config(config_file=env["KUBECONFIG"])
    work = tempfile.mkdtemp(prefix="hgb-bench-restore-")
    try:
        emit({"benchmark": "restore", "cases": [run_case(env, api_client, n, work) for n in sizes]})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
