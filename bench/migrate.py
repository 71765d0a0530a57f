"""Benchmark `hgbackup migrate nginx` on 1,000 Ingresses (the whole process, file in, YAML and report out), to
Ingresses and to Gateway API (`--to gateway-api`: Gateways, routes, grants, plugins).

Target: under 2 s each. Baseline in the same run: the time to merely load and re-dump the same YAML (the I/O floor).
Usage: .venv/bin/python bench/migrate.py [N]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import yaml
from common import HGBACKUP, ROOT, emit, timed

FLOOR = """
import sys, yaml
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
docs = list(yaml.load_all(open(sys.argv[1]), Loader=loader))
sys.stdout.write(yaml.dump_all(docs, Dumper=dumper))
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    corpus = []
    for path in sorted(os.listdir(os.path.join(ROOT, "tests", "migrate_corpus"))):
        with open(os.path.join(ROOT, "tests", "migrate_corpus", path)) as fh:
            for doc in yaml.safe_load_all(fh):
                items = doc.get("items", [doc]) if doc else []
                corpus += [d for d in items if d.get("kind") == "Ingress" and d["metadata"].get("name")]
    work = tempfile.mkdtemp(prefix="hgb-bench-migrate-")
    try:
        objects = []
        for i in range(n):
            obj = yaml.safe_load(yaml.safe_dump(corpus[i % len(corpus)]))
            obj["metadata"]["name"] = f"{obj['metadata']['name']}-{i}"
            obj.setdefault("spec", {})["ingressClassName"] = "nginx"
            objects.append(obj)
        source = os.path.join(work, "ingresses.yaml")
        with open(source, "w") as fh:
            yaml.safe_dump_all(objects, fh)
        ours = timed([*HGBACKUP, "migrate", "nginx", source, "--report", os.path.join(work, "r.md")])
        gateway = timed([*HGBACKUP, "migrate", "nginx", source, "--to", "gateway-api", "--channel", "experimental",
                         "--report", os.path.join(work, "g.md")])
        floor = timed([sys.executable, "-c", FLOOR, source])
        emit({"benchmark": "migrate", "ingresses": n,
              "hgbackup": {k: ours[k] for k in ("seconds", "peak_rss_mib")},
              "hgbackup_gateway_api": {k: gateway[k] for k in ("seconds", "peak_rss_mib")},
              "yaml_load_dump_floor": {k: floor[k] for k in ("seconds", "peak_rss_mib")},
              "target_seconds": 2.0,
              "within_target": ours["seconds"] < 2.0 and gateway["seconds"] < 2.0})
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
