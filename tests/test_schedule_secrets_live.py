"""The CronJob's reach over Secrets (issue 24), on the real API server and MinIO: RBAC cannot filter a list by label,
so the default grant reads every Secret of the Higress namespace, and `schedule render` says so; with
`consoleSecrets` the job may only get the named Secrets, cannot list, and a scheduled run gets them by name and
stores exactly what the default schedule stores."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import create_objects, run, token_kubeconfig
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

