"""Shared helpers for the benchmarks: the test ground, bulk object creation, timing a whole process."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HGBACKUP = [sys.executable, "-m", "hgbackup"]


def testenv() -> dict[str, str]:
    """Start the test ground if needed (scripts/testenv up) and return its settings."""
    script = os.path.join(ROOT, "scripts", "testenv")
    if subprocess.run([script, "status"], capture_output=True).returncode != 0:
        subprocess.run([script, "up"], check=True, stdout=subprocess.DEVNULL)
    env = {}
    with open(os.path.join(ROOT, ".testenv", "env"), encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("export "):
                key, _, value = line[len("export "):].strip().partition("=")
                env[key] = shlex.split(value)[0]
    os.environ.update(env)
    return env


def timed(cmd: list[str], ok_codes=(0, 1), **kwargs) -> dict:
    """Run a whole process; wall seconds and its own peak resident memory (MiB).

    The process is started by a small launcher (this file run as a script), which times it and reads its peak RSS
    from wait4: Linux carries a process's peak RSS across fork and exec, so a child forked straight from this
    benchmark (which holds tens of thousands of objects) would report the benchmark's own peak instead of its."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".json") as report:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), report.name, *cmd], stdout=out,
                              stderr=err, **kwargs)
        measured = json.load(report)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode not in ok_codes:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {stderr[-500:]}")
    return {"seconds": measured["seconds"], "peak_rss_mib": measured["peak_rss_mib"], "stdout": stdout}


def _launch(report: str, cmd: list[str]) -> int:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    with open(report, "w", encoding="utf-8") as fh:
        json.dump({"seconds": round(wall, 3), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}, fh)
    return os.waitstatus_to_exitcode(status)


def create_many(api_client, objects: list[dict], workers: int = 8) -> None:
    """POST objects through the official client (raw JSON, no models), concurrently."""
    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(api_client)
    resources = {}

    def create(obj):
        key = (obj["apiVersion"], obj["kind"])
        if key not in resources:
            resources[key] = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        res = resources[key]
        res.create(body=obj, namespace=obj["metadata"].get("namespace") if res.namespaced else None)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(create, objects))


def emit(result: dict) -> None:
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(_launch(sys.argv[1], sys.argv[2:]))
