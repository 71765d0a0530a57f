"""Benchmark `hgbackup snapshot` against the floor (raw paginated LIST calls) and `kubectl get -o yaml`.

Fills the real API server of the test ground (scripts/testenv) with N Ingresses plus the other kinds, in a fresh
namespace, for N in 1,000 and 10,000, then measures in one run, each as a whole process:
  hgbackup   `hgbackup snapshot` of that namespace into a local store
  floor      the same kinds' paginated LIST calls, decoded and discarded (bench/floor_list.py)
  kubectl    one `kubectl get <kind> -o yaml` per kind, when kubectl is installed
and `snapshot --from-file` of 10,000 Ingresses as JSON and as YAML against loading the file alone.
Prints JSON: seconds, peak RSS, ratio to the floor, archive size against the raw YAML size.
Usage: .venv/bin/python bench/snapshot.py [N ...]
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import yaml
from common import HGBACKUP, ROOT, create_many, emit, testenv, timed
from kubernetes import client, config

OTHER = {  # kind -> count created beside the Ingresses
    "ConfigMap": 20, "Secret": 10, "WasmPlugin": 20, "HTTPRoute": 50, "VirtualService": 50, "McpBridge": 1,
}


def install_crds(api_client) -> None:
    api = client.ApiextensionsV1Api(api_client)
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "crds", "*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            crd = yaml.safe_load(fh)
        try:
            api.create_custom_resource_definition(crd)
        except client.exceptions.ApiException as exc:
            if exc.status != 409:
                raise
    time.sleep(2)


def objects(ns: str, n: int) -> list[dict]:
    out = [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": f"ing-{i}", "namespace": ns, "annotations": {"higress.io/timeout": "30"},
                         "labels": {"app": f"app-{i % 50}"}},
            "spec": {"ingressClassName": "higress", "rules": [{"host": f"h{i}.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": f"svc-{i % 100}", "port": {"number": 80}}}}]}}]}}
           for i in range(n)]
    out += [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": ns},
             "data": {"k": "v" * 200}} for i in range(OTHER["ConfigMap"])]
    out += [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s-{i}", "namespace": ns, "labels": {
        "higress.io/resource-definer": "higress"}}, "stringData": {"password": secrets.token_hex(16)}}
            for i in range(OTHER["Secret"])]
    out += [{"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
             "metadata": {"name": f"p-{i}", "namespace": ns}, "spec": {"url": "oci://r/p:1"}}
            for i in range(OTHER["WasmPlugin"])]
    out += [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": f"r-{i}", "namespace": ns}, "spec": {"hostnames": [f"r{i}.example.org"]}}
            for i in range(OTHER["HTTPRoute"])]
    out += [{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
             "metadata": {"name": f"vs-{i}", "namespace": ns}, "spec": {"hosts": [f"v{i}.example.org"]}}
            for i in range(OTHER["VirtualService"])]
    out += [{"apiVersion": "networking.higress.io/v1", "kind": "McpBridge", "metadata": {"name": "default",
                                                                                         "namespace": ns},
             "spec": {"registries": [{"name": "dns", "type": "dns", "domain": "x.example.com", "port": 80}]}}]
    return out


def list_paths(ns: str) -> list[str]:
    """The collections hgbackup lists for a one-namespace snapshot with the default scope."""
    from hgbackup.kube import catalogue

    paths = []
    for kind in catalogue.in_scope(set()):
        if kind.key == "customresourcedefinitions.apiextensions.k8s.io":
            continue
        version = kind.versions[0]
        base = f"/apis/{kind.group}/{version}" if kind.group else f"/api/{version}"
        paths.append(f"{base}/namespaces/{ns}/{kind.plural}" if kind.namespaced else f"{base}/{kind.plural}")
    return paths


def run_case(env: dict, api_client, n: int) -> dict:
    ns = f"bench-snap-{n}-{secrets.token_hex(3)}"
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": ns}})
    start = time.perf_counter()
    create_many(api_client, objects(ns, n))
    fill = time.perf_counter() - start
    kubeconfig = env["KUBECONFIG"]
    store = tempfile.mkdtemp(prefix="hgb-bench-")
    try:
        floor = timed([sys.executable, os.path.join(ROOT, "bench", "floor_list.py"), kubeconfig, *list_paths(ns)])
        ours = timed([*HGBACKUP, "snapshot", "--kubeconfig", kubeconfig, "--store", store, "--higress-namespace", ns,
                      "-n", ns, "-o", "json"], env={**os.environ, "HGBACKUP_ENCRYPTION_KEY": ""})
        sid = json.loads(ours["stdout"])["id"]
        manifest = json.loads(timed([*HGBACKUP, "show", sid, "--store", store, "-o", "json"])["stdout"])
        result = {
            "ingresses": n, "objects": len(manifest["objects"]), "fill_seconds": round(fill, 1),
            "hgbackup": {k: ours[k] for k in ("seconds", "peak_rss_mib")},
            "floor_raw_list": {k: floor[k] for k in ("seconds", "peak_rss_mib")},
            "ratio_to_floor": round(ours["seconds"] / floor["seconds"], 2),
            "archive_bytes": manifest["archive"]["size"],
        }
        if shutil.which("kubectl"):
            kinds = [p.rsplit("/", 1)[1] + ("." + p.split("/")[2] if p.startswith("/apis/") else "")
                     for p in list_paths(ns)]
            start = time.perf_counter()
            raw = 0
            for kind in kinds:
                args = ["kubectl", "--kubeconfig", kubeconfig, "get", kind, "-o", "yaml"]
                args += ["-n", ns] if "/namespaces/" in next(p for p in list_paths(ns) if kind.split(".")[0] in p) \
                    else []
                raw += len(subprocess.run(args, capture_output=True, check=True).stdout)
            result["kubectl_get_yaml"] = {"seconds": round(time.perf_counter() - start, 3)}
            result["raw_yaml_bytes"] = raw
            result["archive_to_yaml"] = round(manifest["archive"]["size"] / raw, 3)
        return result
    finally:
        shutil.rmtree(store, ignore_errors=True)


LOAD_FLOOR = r"""
import json, sys, yaml
with open(sys.argv[1], encoding="utf-8") as fh:
    docs = json.load(fh) if sys.argv[1].endswith(".json") else list(yaml.load_all(fh, Loader=yaml.CSafeLoader))
"""


def run_files(n: int) -> dict:
    """`snapshot --from-file` of n Ingresses (plus the other kinds) as one JSON and one YAML List, against just
    loading the file (json.load; PyYAML's C loader)."""
    work = tempfile.mkdtemp(prefix="hgb-bench-files-")
    try:
        items = objects("files", n)
        doc = {"apiVersion": "v1", "kind": "List", "items": items}
        result = {"ingresses": n, "objects": len(items)}
        for fmt in ("json", "yaml"):
            path = os.path.join(work, f"objects.{fmt}")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(doc, fh) if fmt == "json" else yaml.safe_dump(doc, fh)
            ours = timed([*HGBACKUP, "snapshot", "--from-file", path, "--store", os.path.join(work, f"store-{fmt}"),
                          "--higress-namespace", "files", "-o", "json"],
                         env={**os.environ, "HGBACKUP_ENCRYPTION_KEY": ""})
            floor = timed([sys.executable, "-c", LOAD_FLOOR, path])
            result[fmt] = {"bytes": os.path.getsize(path),
                           "hgbackup": {k: ours[k] for k in ("seconds", "peak_rss_mib")},
                           "floor_load_only": {k: floor[k] for k in ("seconds", "peak_rss_mib")}}
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 50000]
    env = testenv()
    api_client = config.new_client_from_config(config_file=env["KUBECONFIG"])
    install_crds(api_client)
    emit({"benchmark": "snapshot", "cases": [run_case(env, api_client, n) for n in sizes],
          "from_file": run_files(10000)})


if __name__ == "__main__":
    main()
