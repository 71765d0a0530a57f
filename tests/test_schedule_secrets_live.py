"""The CronJob's reach over Secrets (issue 24), on the real API server and MinIO: RBAC cannot filter a list by label,
so the default grant reads every Secret of the Higress namespace, and `schedule render` says so; with
`consoleSecrets` the job may only get the named Secrets, cannot list, and a scheduled run gets them by name and
stores exactly what the default schedule stores."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import create_namespace, create_objects, run, token_kubeconfig
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from hgbackup.schedule import file as schedule
from hgbackup.schedule.render import kubernetes_objects
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

pytestmark = [pytest.mark.kube, pytest.mark.s3]
CONSOLE = ["nacos-auth-x7k2p", "shop-example-com", "gateway-tls"]  # the example's Higress-namespace Secrets


def schedule_doc(name: str, hns: str, app: str, bucket: str, endpoint: str, **extra) -> dict:
    return {"name": name, "schedule": "0 * * * *", "store": f"s3://{bucket}/{name}", "s3Endpoint": endpoint,
            "cluster": name, "namespace": hns, "secretNamespaces": [app],
            "scope": {"higress_namespace": hns, "namespaces": [hns, app]}, **extra}


def as_identity(k8s, sched, kubeconfig: str, path: str, cleanup) -> str:
    """Create the rendered objects; a kubeconfig holding the rendered ServiceAccount's token."""
    objects = kubernetes_objects(sched)
    create_objects(k8s, objects, cleanup=cleanup)
    sa = next(o for o in objects if o["kind"] == "ServiceAccount")["metadata"]["name"]
    token = client.CoreV1Api(k8s).create_namespaced_service_account_token(
        sa, sched.namespace, {"spec": {"expirationSeconds": 3600}}).status.token
    return token_kubeconfig(kubeconfig, path, token)


def stored_secrets(store_url: str, endpoint: str) -> set[tuple[str, str, str]]:
    repo = Repository(open_store(store_url, s3_endpoint=endpoint))
    manifest = repo.snapshot(repo.resolve("latest")).manifest.as_json()
    return {(o["namespace"], o["name"], o["sha256"]) for o in manifest["objects"] if o["kind"] == "Secret"}


def test_console_secrets_by_name_narrow_the_grant_and_a_run_stores_the_same(populated, k8s, kubeconfig, testenv,
                                                                            bucket, tmp_path, cleanup):
    hns, app, suffix = populated
    endpoint = testenv["HGBACKUP_TEST_S3_ENDPOINT"]
    core = client.CoreV1Api(k8s)
    core.create_namespaced_secret(hns, {"metadata": {"name": "controller-token-x"}, "stringData": {"t": "x"}})

    wide = schedule.parse(yaml.safe_dump(schedule_doc(f"w{suffix[2:]}", hns, app, bucket, endpoint)), "wide")
    narrow_doc = schedule_doc(f"n{suffix[2:]}", hns, app, bucket, endpoint, consoleSecrets=CONSOLE)
    narrow = schedule.parse(yaml.safe_dump(narrow_doc), "narrow")

    # what render prints: the wide grant says it reads every Secret; the narrow one names them
    wide_file, narrow_file = tmp_path / "wide.yaml", tmp_path / "narrow.yaml"
    wide_file.write_text(yaml.safe_dump(schedule_doc(wide.name, hns, app, bucket, endpoint)))
    narrow_file.write_text(yaml.safe_dump(narrow_doc))
    said = run("schedule", "render", str(wide_file)).stderr
    assert f"in namespace {hns}: get,list,watch secrets (every Secret there" in said
    assert "RBAC cannot filter a list by label" in said
    said = run("schedule", "render", str(narrow_file)).stderr
    assert f"in namespace {hns}: get secrets named {', '.join(sorted([*CONSOLE, 'higress-console']))}" in said
    assert "get,list,watch secrets" not in said

    # the narrow identity, on the real API server: the named Secrets yes, a list or any other Secret no
    job = client.CoreV1Api(config.new_client_from_config(
        config_file=as_identity(k8s, narrow, kubeconfig, str(tmp_path / "narrow.kubeconfig"), cleanup)))
    for name in CONSOLE:
        assert job.read_namespaced_secret(name, hns).metadata.name == name
    for attempt in (lambda: job.list_namespaced_secret(hns), lambda: job.read_namespaced_secret("controller-token-x",
                                                                                               hns)):
        with pytest.raises(ApiException) as refused:
            attempt()
        assert refused.value.status == 403

    # a scheduled run as each identity: the narrow one is complete and stores exactly what the wide one stores
    wide_config = as_identity(k8s, wide, kubeconfig, str(tmp_path / "wide.kubeconfig"), cleanup)
    narrow_config = str(tmp_path / "narrow.kubeconfig")
    lines = {}
    for sched_file, identity in ((wide_file, wide_config), (narrow_file, narrow_config)):
        lines[sched_file.name] = json.loads(run("schedule", "run", str(sched_file), "--kubeconfig", identity).stdout)
    assert all(line["partial"] is False and line["exit_code"] == 0 for line in lines.values()), lines
    wide_secrets = stored_secrets(wide.store, endpoint)
    assert wide_secrets == stored_secrets(narrow.store, endpoint)
    assert {(hns, n) for n in CONSOLE} <= {(ns, n) for ns, n, _ in wide_secrets}
    assert "controller-token-x" not in {n for _, n, _ in wide_secrets}



def test_a_nightly_by_console_secret_names_never_prunes_a_console_secret_it_did_not_name(k8s, crds, kubeconfig,
                                                                                           tmp_path, cleanup):
    """Review finding 2: with consoleSecrets the Higress namespace's Secrets are got by name, never listed, so the
    snapshot cannot say it holds every console Secret there: a prune of it keeps a labelled console Secret it did
    not name. A named Secret the rules do not keep (no console label) is a warning, not dropped silently."""
    hns = create_namespace(k8s, cleanup, "hs")
    core = client.CoreV1Api(k8s)
    label = {"higress.io/resource-definer": "higress"}
    for name, labels in (("named-tls", label), ("named-plain", {}), ("other-console", label)):
        core.create_namespaced_secret(hns, {"metadata": {"name": name, "labels": labels}, "stringData": {"k": "v"}})
    store = str(tmp_path / "store")
    sched_file = tmp_path / "nightly.yaml"
    sched_file.write_text(yaml.safe_dump({"name": "bynames", "schedule": "0 * * * *", "store": store,
                                          "cluster": "bynames",
                                          "scope": {"higress_namespace": hns, "namespaces": [hns]},
                                          "consoleSecrets": ["named-tls", "named-plain", "named-missing"]}))
    line = json.loads(run("schedule", "run", str(sched_file), "--kubeconfig", kubeconfig).stdout)
    assert line["exit_code"] == 0 and line["partial"] is False, line
    warnings = " | ".join(line["warnings"])
    assert f"Secret {hns}/named-plain" in warnings and "consoleSecrets" in warnings, warnings
    assert f"Secret {hns}/named-missing" in warnings, warnings
    sid = line["snapshot"]
    stored = {o["name"] for o in json.loads(run("show", sid, "--store", store, "--objects", "-o", "json").stdout)
              ["objects"] if o["kind"] == "Secret"}
    assert stored == {"named-tls"}

    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--prune", "--dry-run",
                         "--kind", "Secret", "-o", "json", code=3).stdout)  # 3: a prune it could not do
    by_name = {r["ref"]["name"]: r for r in doc["results"] if r["ref"]["kind"] == "Secret"}
    assert by_name["other-console"]["action"] == "skipped", by_name
    assert "consoleSecrets" in by_name["other-console"]["message"], by_name["other-console"]
    assert by_name["named-tls"]["action"] == "unchanged"  # the plain case: what it holds is restored as ever
