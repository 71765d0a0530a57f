"""Fixtures for tests against the real test ground (scripts/testenv): kube-apiserver + etcd, and MinIO.

Nothing here mocks the API server or S3: tests marked `kube` or `s3` talk to the real ones, started on demand.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_FILE = os.path.join(ROOT, ".testenv", "env")
CRD_DIR = os.path.join(ROOT, "tests", "crds")
EXAMPLE = os.path.join(ROOT, "examples", "higress-cluster.yaml")
EXAMPLE_SELECTED = {  # what a snapshot of examples/higress-cluster.yaml must hold, and why
    ("ConfigMap", "higress-system", "higress-config"),
    ("ConfigMap", "higress-system", "higress-console"),
    ("ConfigMap", "higress-system", "domain-shop.example.com"),
    ("ConfigMap", "higress-system", "ai-route-openai-chat"),
    ("Secret", "higress-system", "higress-console"),  # by name
    ("Secret", "higress-system", "nacos-auth-x7k2p"),  # label and McpBridge authSecretName
    ("Secret", "higress-system", "shop-example-com"),  # label, Ingress TLS, domain ConfigMap
    ("Secret", "shop", "api-example-com-tls"),  # referenced by an Ingress in another namespace
    ("Secret", "higress-system", "gateway-tls"),  # referenced by a Gateway listener, no label
    ("McpBridge", "higress-system", "default"),
    ("Http2Rpc", "higress-system", "order-dubbo"),
    ("WasmPlugin", "higress-system", "ai-proxy.internal"),
    ("WasmPlugin", "higress-system", "key-auth.internal"),
    ("WasmPlugin", "higress-system", "request-block"),
    ("Ingress", "higress-system", "shop-frontend"),
    ("Ingress", "higress-system", "ai-route-openai-chat.internal"),
    ("Ingress", "shop", "shop-api"),
    ("GatewayClass", "-", "higress"),
    ("Gateway", "higress-system", "public"),
    ("HTTPRoute", "shop", "blog"),
    ("ReferenceGrant", "shop", "allow-higress-gateway"),
    ("VirtualService", "shop", "legacy-search"),
    ("DestinationRule", "shop", "search"),
    ("ServiceEntry", "shop", "payments-provider"),
    ("EnvoyFilter", "higress-system", "global-request-id"),
}


CORPUS = sorted(glob.glob(os.path.join(ROOT, "tests", "migrate_corpus", "*.yaml")))


def invoke(*args, input=None, env=None):
    """Invoke the hgbackup CLI in-process (the one CliRunner of the suite); returns the click Result."""
    from click.testing import CliRunner

    from hgbackup.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env)


def run(*args, code=0, input=None, env=None):
    """`invoke`, asserting the exit code."""
    result = invoke(*args, input=input, env=env)
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    return result


def secret_values() -> list[bytes]:
    """Every Secret value in the bundled example, as stored (base64) and decoded."""
    import base64

    with open(EXAMPLE, encoding="utf-8") as fh:
        items = yaml.safe_load(fh)["items"]
    values = []
    for item in items:
        if item["kind"] == "Secret":
            for value in (item.get("data") or {}).values():
                values += [value.encode(), base64.b64decode(value)]
    return values


def sealed(objects, snapshot_id: str, key: bytes | None):
    """(bytes to store, ArchiveRecord, packed records) of objects: packed (and with a key encrypted) as the snapshot
    writer does."""
    from hgbackup.capture.packer import Digesting, packed_from, sealed_chunks

    packer, records = packed_from(objects, key)
    try:
        stream = Digesting(sealed_chunks(packer, snapshot_id, key), packer.unpacked_size)
        return b"".join(stream), stream.record(key), records
    finally:
        packer.close()


def archive_of(objects) -> bytes:
    """The plain archive of objects, in memory: what a streamed snapshot of the same objects writes, byte for byte."""
    return sealed(objects, "20260101T000000Z-abcdef", None)[0]


def manifest_for(objects, *, snapshot_id="20260101T000000Z-abcdef", key=None, tags=(), partial=False):
    """(archive bytes, Manifest) for objects, as the snapshot writer makes them; for offline archive tests."""
    from datetime import datetime, timezone

    from hgbackup.store.manifest import ClusterInfo, Manifest

    data, record, records = sealed(objects, snapshot_id, key)
    manifest = Manifest.build(snapshot_id, datetime(2026, 1, 1, tzinfo=timezone.utc), ClusterInfo("c"), records,
                              record, scope={}, tags=list(tags), partial=partial)
    return data, manifest


def put_snapshot(store: str, folder: str, sid: str, identity: str | None, *, partial=False, tags=()):
    """A snapshot of one ConfigMap as `snapshot` writes it, of a cluster with this folder name and identity."""
    import dataclasses

    from hgbackup.kube.model import StoredObject
    from hgbackup.store import open_store
    from hgbackup.store.layout import SnapshotKey
    from hgbackup.store.manifest import ClusterInfo
    from hgbackup.store.repository import Repository

    cm = StoredObject.from_object({"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "higress-config", "namespace": "higress-system"}})
    repo = Repository(open_store(store))
    data, manifest = manifest_for([cm], snapshot_id=sid, tags=tags, partial=partial)
    manifest = dataclasses.replace(manifest, cluster=ClusterInfo("kubernetes", "v1.35.4", identity),
                                   scope={"higress_namespace": "higress-system"})
    key = SnapshotKey(folder, sid)
    repo.store.put(key.archive_key(False), data)
    repo.store.put(key.manifest_key, manifest.to_bytes())
    return key


@pytest.fixture
def two_clusters_one_name(tmp_path):
    """Two kubeadm clusters, both named `kubernetes`, writing into one store."""
    store = str(tmp_path / "store")
    a = [put_snapshot(store, "kubernetes", f"2026111{d}T020000Z-aaaaaa", "aaaa1111-0000") for d in (1, 2)]
    b = [put_snapshot(store, "kubernetes", f"2026111{d}T030000Z-bbbbbb", "bbbb2222-0000") for d in (3, 4, 5)]
    return store, a, b


def rand_name(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _read_env() -> dict[str, str]:
    env = {}
    with open(ENV_FILE, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                env[key] = shlex.split(value)[0] if value else ""
    return env


@pytest.fixture(scope="session")
def testenv() -> dict[str, str]:
    """The test ground's settings; starts it when it is not up yet (and exports them to this process)."""
    status = subprocess.run([os.path.join(ROOT, "scripts", "testenv"), "status"], capture_output=True)
    if status.returncode != 0:
        subprocess.run([os.path.join(ROOT, "scripts", "testenv"), "up"], check=True, stdout=subprocess.DEVNULL)
    env = _read_env()
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def kubeconfig(testenv) -> str:
    return testenv["KUBECONFIG"]


@pytest.fixture(scope="session")
def limited_kubeconfig(testenv) -> str:
    return testenv["HGBACKUP_TEST_LIMITED_KUBECONFIG"]


@pytest.fixture(scope="session")
def k8s(kubeconfig):
    """An official kubernetes ApiClient as the admin user."""
    from kubernetes import config

    client = config.new_client_from_config(config_file=kubeconfig)
    yield client
    client.close()


@pytest.fixture(scope="session")
def k8s_limited(limited_kubeconfig):
    from kubernetes import config

    client = config.new_client_from_config(config_file=limited_kubeconfig)
    yield client
    client.close()


@pytest.fixture(scope="session")
def kube(kubeconfig):
    """hgbackup's own API wrapper as the admin user."""
    from hgbackup.kube.client import Kube

    k = Kube(kubeconfig)
    yield k
    k.close()


def load_crds() -> list[dict]:
    docs = []
    for path in sorted(glob.glob(os.path.join(CRD_DIR, "*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            docs.extend(d for d in yaml.safe_load_all(fh) if d)
    return docs


def install_crds(k8s_client, timeout: float = 60) -> None:
    """Create every test CRD that is missing and wait until all are Established."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = client.ApiextensionsV1Api(k8s_client)
    crds = load_crds()
    for crd in crds:
        try:
            api.create_custom_resource_definition(crd)
        except ApiException as exc:
            if exc.status != 409:
                raise
    deadline = time.time() + timeout
    for crd in crds:
        while True:
            live = api.read_custom_resource_definition(crd["metadata"]["name"])
            conditions = {c.type: c.status for c in (live.status.conditions or [])}
            if conditions.get("Established") == "True":
                break
            if time.time() > deadline:
                raise TimeoutError(f"CRD {crd['metadata']['name']} not Established after {timeout}s")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def crds(k8s) -> list[dict]:
    """The test CRDs (Higress, Istio, Gateway API, cert-manager kinds), installed and Established."""
    install_crds(k8s)
    return load_crds()


@pytest.fixture
def namespace(k8s):
    """A fresh namespace with a random name, deleted afterwards."""
    from kubernetes import client

    api = client.CoreV1Api(k8s)
    name = rand_name("ns")
    api.create_namespace({"metadata": {"name": name}})
    yield name
    api.delete_namespace(name)


@pytest.fixture
def keyfile(tmp_path) -> str:
    """A new encryption key in a file."""
    from hgbackup.store import crypto

    path = tmp_path / "key"
    path.write_text(crypto.generate_key())
    return str(path)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store_args(request, tmp_path) -> list[str]:
    """A store as command-line arguments: the local folder store, and a fresh bucket on the real MinIO."""
    if request.param == "local":
        return [str(tmp_path / "store")]
    bucket = request.getfixturevalue("bucket")
    return [f"s3://{bucket}/higress", "--s3-endpoint", request.getfixturevalue("testenv")["HGBACKUP_TEST_S3_ENDPOINT"]]


@pytest.fixture
def cleanup():
    """Register teardown actions (run newest first): live tests delete what they create."""
    from botocore.exceptions import ClientError
    from kubernetes.client.exceptions import ApiException

    actions = []
    yield actions.append
    for action in reversed(actions):
        try:
            action()
        except (ApiException, ClientError):  # already gone, or its namespace is: nothing left to delete
            pass


@pytest.fixture(scope="session")
def s3(testenv):
    import boto3

    return boto3.client("s3", endpoint_url=testenv["HGBACKUP_TEST_S3_ENDPOINT"])


@pytest.fixture
def bucket(s3, cleanup) -> str:
    """A fresh, empty bucket on the real MinIO, emptied and deleted afterwards."""
    name = rand_name("bkt")
    s3.create_bucket(Bucket=name)

    def remove():
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=item["Key"])
        s3.delete_bucket(Bucket=name)

    cleanup(remove)
    return name


def create_objects(k8s_client, objects: list[dict], workers: int = 8, cleanup=None) -> None:
    """Create objects through the official client's dynamic API (independent of hgbackup's own code); with
    `cleanup` (the fixture), they are deleted again after the test."""
    from concurrent.futures import ThreadPoolExecutor

    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(k8s_client)
    resources = {}
    for obj in objects:  # discovery first, in one thread: the client's discovery cache is not thread-safe
        key = (obj["apiVersion"], obj["kind"])
        if key not in resources:
            resources[key] = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])

    def where(obj):
        resource = resources[(obj["apiVersion"], obj["kind"])]
        return resource, obj["metadata"].get("namespace") if resource.namespaced else None

    def create(obj):
        resource, namespace = where(obj)
        return resource.create(body=obj, namespace=namespace)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(create, objects))
    if cleanup is not None:
        for obj in objects:
            cleanup(lambda obj=obj: where(obj)[0].delete(name=obj["metadata"]["name"], namespace=where(obj)[1]))


def create_namespace(k8s_client, cleanup, prefix: str = "ns") -> str:
    """A namespace with a random name, deleted after the test."""
    from kubernetes import client

    core = client.CoreV1Api(k8s_client)
    name = rand_name(prefix)
    core.create_namespace({"metadata": {"name": name}})
    cleanup(lambda: core.delete_namespace(name))
    return name


@dataclass
class ServiceAccount:
    kubeconfig: str
    namespace: str
    name: str
    binding: str  # the ClusterRoleBinding that grants its rules


@pytest.fixture
def service_account(k8s, kubeconfig, tmp_path, cleanup):
    """A factory: a ServiceAccount bound to a new ClusterRole with `rules`, a kubeconfig holding its token; all of
    it (namespace, ClusterRole, binding) deleted after the test."""
    from kubernetes import client

    core, rbac = client.CoreV1Api(k8s), client.RbacAuthorizationV1Api(k8s)

    def make(rules: list[dict], name: str) -> ServiceAccount:
        ns = create_namespace(k8s, cleanup, "sa")
        core.create_namespaced_service_account(ns, {"metadata": {"name": name}})
        role = f"{ns}-{name}"
        rbac.create_cluster_role({"metadata": {"name": role}, "rules": rules})
        cleanup(lambda: rbac.delete_cluster_role(role))
        rbac.create_cluster_role_binding({
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        })
        cleanup(lambda: rbac.delete_cluster_role_binding(role))
        token = core.create_namespaced_service_account_token(name, ns, {"spec": {"expirationSeconds": 3600}})
        path = token_kubeconfig(kubeconfig, str(tmp_path / f"{role}.kubeconfig"), token.status.token)
        return ServiceAccount(path, ns, name, role)

    return make


def token_kubeconfig(kubeconfig: str, path: str, token: str) -> str:
    with open(kubeconfig, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    cfg["users"] = [{"name": "sa", "user": {"token": token}}]
    for ctx in cfg["contexts"]:
        ctx["context"]["user"] = "sa"
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(cfg, fh)
    return path


SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")


def example_objects(higress_ns: str, app_ns: str, suffix: str) -> list[dict]:
    """The example cluster moved into test namespaces (cluster-scoped names get `suffix`), ready to create."""
    import copy

    with open(EXAMPLE, encoding="utf-8") as fh:
        items = yaml.safe_load(fh)["items"]
    out = []
    for item in items:
        obj = copy.deepcopy(item)
        if obj["kind"] == "Namespace":
            continue
        meta = obj["metadata"]
        for field in SERVER_FIELDS:
            meta.pop(field, None)
        obj.pop("status", None)
        if "namespace" in meta:
            meta["namespace"] = {"higress-system": higress_ns, "shop": app_ns}[meta["namespace"]]
        else:
            meta["name"] = f"{meta['name']}-{suffix}"
        if obj["kind"] == "Gateway" and "gatewayClassName" in obj.get("spec", {}):
            obj["spec"]["gatewayClassName"] += f"-{suffix}"
        out.append(obj)
    return out


def expected_example(higress_ns: str, app_ns: str, suffix: str) -> set[tuple[str, str, str]]:
    mapping = {"higress-system": higress_ns, "shop": app_ns, "-": "-"}
    return {(k, mapping[ns], n if ns != "-" else f"{n}-{suffix}") for k, ns, n in EXAMPLE_SELECTED}


@contextlib.contextmanager
def running_empty_cluster(folder):
    """A brand-new API server (no CRDs, no objects) with its state in `folder`; yields its kubeconfig."""
    binary = subprocess.run([os.path.join(ROOT, "scripts", "testenv"), "cluster-binary"], check=True,
                            capture_output=True, text=True).stdout.strip().splitlines()[-1]
    folder.mkdir()
    log = open(folder / "apiserver.log", "wb")
    proc = subprocess.Popen([binary, "-dir", str(folder)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)
    (folder / "pid").write_text(str(proc.pid))  # for tests that stop the server (SIGSTOP)
    try:
        deadline = time.time() + 90
        while not (folder / "ready").exists():
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"empty test cluster did not start; see {folder / 'apiserver.log'}")
            time.sleep(0.2)
        yield str(folder / "admin.kubeconfig")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # in case a test stopped it
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def empty_cluster(tmp_path):
    """A second, brand-new API server (no CRDs, no objects) for disaster-recovery tests; yields its kubeconfig."""
    with running_empty_cluster(tmp_path / "empty-cluster") as kubeconfig:
        yield kubeconfig


@pytest.fixture
def populated(k8s, crds, cleanup) -> tuple[str, str, str]:
    """The example cluster in two fresh namespaces (Higress's and an app's): (hns, app, suffix). Deleted after."""
    hns, app = create_namespace(k8s, cleanup, "hs"), create_namespace(k8s, cleanup, "app")
    suffix = rand_name("c")
    objects = example_objects(hns, app, suffix)
    create_objects(k8s, objects, cleanup=cleanup)
    return hns, app, suffix


def assert_golden(doc, golden: str) -> None:
    """`doc` equals the JSON golden file; HGBACKUP_UPDATE_GOLDEN=1 rewrites the file first (then review the diff)."""
    if os.environ.get("HGBACKUP_UPDATE_GOLDEN"):
        os.makedirs(os.path.dirname(golden), exist_ok=True)
        with open(golden, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, sort_keys=True)
            fh.write("\n")
    with open(golden, encoding="utf-8") as fh:
        assert doc == json.load(fh)
