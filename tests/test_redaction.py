"""Redaction audit: every command and output format, over objects with known secret values, never prints one.

A value counts as leaked in any form: as stored (base64) or decoded. Only `--show-secrets` may reveal them, and
the test checks that it does, so the audit itself can fail.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
import yaml
from conftest import EXAMPLE, ROOT, invoke, rand_name, secret_values
from kubernetes import client

NEW_VALUE = "Rotated-Nacos-Password-9"
NEW_B64 = base64.b64encode(NEW_VALUE.encode()).decode()
FORMATS = (["-o", "text"], ["-o", "json"], ["-o", "yaml"])


def forbidden() -> list[str]:
    """Values of 8 characters or more: shorter ones ("admin", "nacos") also occur as names in the output."""
    values = [v.decode() for v in secret_values()] + [NEW_VALUE, NEW_B64]
    return [v for v in values if len(v) >= 8]


def audit(*args, code=None):
    """Run a command twice, as is and with JSON debug logs (every log line, API paths and retries included), and
    look for secret values in all it printed."""
    logged_args = list(args)
    if args[0] == "export":  # into a folder of its own: export refuses a folder that is not empty
        logged_args[2] = f"{args[2]}-logged"
    logged = invoke("--log-format", "json", "-v", *logged_args)
    result = invoke(*args)
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        assert logged.exit_code == code, (logged.exit_code, logged.stderr)
    for run_ in (result, logged):
        out = run_.stdout + run_.stderr
        for value in forbidden():
            assert value not in out, f"secret value leaked by {args}"
    lines = [line for line in logged.stderr.splitlines() if line.startswith("{")]
    assert all("level" in json.loads(line) for line in lines)
    return result


@pytest.fixture
def store_with_change(tmp_path):
    store = str(tmp_path / "store")
    first = json.loads(audit("snapshot", "--from-file", EXAMPLE, "--store", store, "-o", "json").stdout)["id"]
    items = yaml.safe_load(open(EXAMPLE))["items"]
    next(i for i in items if i["metadata"]["name"] == "nacos-auth-x7k2p")["data"]["nacosPassword"] = NEW_B64
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    second = json.loads(audit("snapshot", "--from-file", str(changed), "--store", store, "-o", "json").stdout)["id"]
    return store, first, second, str(changed)


def test_offline_commands_never_print_secret_values(store_with_change, tmp_path):
    store, a, b, changed = store_with_change
    st = ["--store", store]
    for fmt in FORMATS:
        audit("snapshot", "--from-file", EXAMPLE, *st, *fmt, code=0)
        audit("list", *st, *fmt, code=0)
        audit("show", a, *st, *fmt, code=0)
        audit("show", b, *st, "--objects", *fmt, code=0)
        audit("verify", "--all", *st, *fmt, code=0)
        audit("export", a, str(tmp_path / f"export{fmt[1]}"), *st, *fmt, code=0)
        audit("diff", a, b, *st, *fmt, code=1)
        audit("diff", a, b, *st, "--unified", *fmt, code=1)
        audit("diff", a, changed, *st, "--unified", *fmt, code=1)
        audit("forget", "--keep-last", "1", "--dry-run", *st, *fmt, code=0)
    audit("migrate", "nginx", EXAMPLE, "--include-unclassed", "--ingress-class", "higress", code=0)
    audit("schedule", "render", os.path.join(ROOT, "schedules", "nightly.yaml"), code=0)
    revealed = invoke("diff", a, b, *st, "--unified", "--show-secrets")
    assert NEW_B64 in revealed.stdout  # the audit can fail: the value is there when asked for


@pytest.mark.kube
def test_live_commands_never_print_secret_values(populated, k8s, kubeconfig, tmp_path):
    core = client.CoreV1Api(k8s)
    hns, app, _ = populated
    store = str(tmp_path / "store")
    kc = ["--kubeconfig", kubeconfig, "--store", store]
    scope = ["--higress-namespace", hns, "-n", hns, "-n", app]
    sid = json.loads(audit("snapshot", *kc, *scope, "-o", "json", code=0).stdout)["id"]
    core.patch_namespaced_secret("nacos-auth-x7k2p", hns, {"data": {"nacosPassword": NEW_B64}})
    core.patch_namespaced_secret("higress-console", hns, {"metadata": {"annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"data": {"adminPassword": NEW_B64}})}}})
    for fmt in FORMATS:
        audit("diff", sid, "live", *kc, *fmt, code=1)
        audit("diff", sid, "live", *kc, "--unified", *fmt, code=1)
        audit("restore", sid, *kc, "--dry-run", *fmt, code=0)
    target = rand_name("restored")
    audit("restore", sid, *kc, "--yes", "--namespace-map", f"{app}:{target}", "-n", app, code=0)
    # a Secret the API server rejects: its error message must not carry the value either
    bad = {"apiVersion": "v1", "kind": "List", "items": [{
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "broken-tls", "namespace": hns, "labels": {"higress.io/resource-definer": "higress"}},
        "data": {"tls.crt": NEW_B64}}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    bad_id = json.loads(audit("snapshot", "--from-file", str(path), "--store", store, "--higress-namespace", hns,
                              "-o", "json", code=0).stdout)["id"]
    # (a snapshot taken from files restored over a cluster backed up in this store: confirmed by its identity)
    identity = client.CoreV1Api(k8s).read_namespace("kube-system").metadata.uid
    result = audit("restore", bad_id, *kc, "--yes", "--no-safety-snapshot", "--into-live-cluster", identity[:8],
                   "-o", "json", code=3)
    assert json.loads(result.stdout)["summary"]["failed"] == 1
