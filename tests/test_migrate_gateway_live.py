"""`migrate nginx --to gateway-api` judged by the real Gateway API CRDs (sigs.k8s.io/gateway-api config/crd, both
channels, fetched by scripts/testenv): a fresh API server per channel, since the suite's shared one holds the stub
CRDs of tests/crds. The Higress WasmPlugin CRD is the suite's own."""

from __future__ import annotations

import glob
import json
import os
import time

import pytest
import yaml
from conftest import CORPUS, CRD_DIR, invoke, rand_name, running_empty_cluster
from kubernetes import client, config

from hgbackup.kube import yamlfiles as kubeyaml

pytestmark = pytest.mark.kube


def _install(kubeconfig: str, paths: list[str]) -> None:
    api_client = config.new_client_from_config(config_file=kubeconfig)
    api = client.ApiextensionsV1Api(api_client)
    names = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for crd in (d for d in yaml.safe_load_all(fh) if d):
                api.create_custom_resource_definition(crd)
                names.append(crd["metadata"]["name"])
    deadline = time.time() + 60
    for name in names:
        while {c.type: c.status for c in api.read_custom_resource_definition(name).status.conditions or []}.get(
                "Established") != "True":
            assert time.time() < deadline, f"CRD {name} not Established"
            time.sleep(0.1)
    api_client.close()


@pytest.fixture(scope="module", params=["standard", "experimental"])
def gateway_cluster(request, testenv, tmp_path_factory):
    """(kubeconfig, channel): a new API server with the real Gateway API CRDs of one channel."""
    crds = testenv.get("HGBACKUP_TEST_GATEWAY_API_CRDS")
    assert crds and os.path.isdir(crds), "scripts/testenv up fetches the Gateway API CRDs"
    folder = tmp_path_factory.mktemp("gw") / request.param
    with running_empty_cluster(folder) as kubeconfig:
        _install(kubeconfig, sorted(glob.glob(os.path.join(crds, request.param, "gateway.networking.k8s.io_*.yaml")))
                 + [os.path.join(CRD_DIR, "higress-wasmplugins.yaml")])
        yield kubeconfig, request.param


def _corpus(tmp_path, suffix: str):
    objects = [o for o in kubeyaml.load_paths(CORPUS, allow_generate_name=True)
               if o["kind"] == "Ingress" and o["metadata"].get("name")]
    for obj in objects:
        obj["metadata"]["namespace"] = f"{obj['metadata'].get('namespace', 'default')}-{suffix}"
    path = tmp_path / "corpus.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return path


def test_the_corpus_applies_to_the_real_crds_without_one_rejection(gateway_cluster, tmp_path):
    kubeconfig, channel = gateway_cluster
    suffix = rand_name("g")
    hns = f"higress-{suffix}"
    source = _corpus(tmp_path, suffix)
    common = ["migrate", "nginx", str(source), "--to", "gateway-api", "--channel", channel, "--higress-namespace",
              hns, "--apply", "--kubeconfig", kubeconfig, "--store", str(tmp_path / "store"), "--yes"]
    api_client = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api_client)
    printed = invoke(*common[:common.index("--apply")])
    existing = {n.metadata.name for n in core.list_namespace().items}
    for ns in {d["metadata"]["namespace"] for d in yaml.safe_load_all(printed.stdout)} - existing:
        core.create_namespace({"metadata": {"name": ns}})  # so that the dry run validates every object
    dry = invoke(*common, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "not validated" not in dry.stdout and "failed" not in dry.stdout, dry.stdout
    real = invoke(*common)
    assert real.exit_code == 0, real.output
    again = invoke(*common)
    assert again.exit_code == 0, again.output
    last = [line for line in again.stdout.splitlines() if line.strip()][-1]
    assert last.endswith("unchanged") and "created" not in last and "updated" not in last, last

    custom = client.CustomObjectsApi(api_client)
    routes = custom.list_cluster_custom_object("gateway.networking.k8s.io", "v1", "httproutes")["items"]
    grpc = custom.list_cluster_custom_object("gateway.networking.k8s.io", "v1", "grpcroutes")["items"]
    assert len(routes) >= 40 and grpc, (len(routes), len(grpc))
    gateways = custom.list_namespaced_custom_object("gateway.networking.k8s.io", "v1", hns, "gateways")["items"]
    assert [g["spec"]["gatewayClassName"] for g in gateways] == ["higress"]
    plugins = custom.list_namespaced_custom_object("extensions.higress.io", "v1alpha1", hns, "wasmplugins")["items"]
    names = {f"{r['metadata']['namespace']}/{r['metadata']['name']}" for r in routes} | {
        f"GRPC/{r['metadata']['namespace']}/{r['metadata']['name']}" for r in grpc}
    for plugin in plugins:
        for rule in plugin["spec"]["matchRules"]:
            assert set(rule["ingress"]) <= names, (plugin["metadata"]["name"], rule["ingress"])
    api_client.close()


def test_apply_refuses_routes_of_the_other_channel(gateway_cluster, tmp_path):
    kubeconfig, channel = gateway_cluster
    other = "experimental" if channel == "standard" else "standard"
    result = invoke("migrate", "nginx", str(_corpus(tmp_path, rand_name("c"))), "--to", "gateway-api", "--channel",
                    other, "--apply", "--dry-run", "--kubeconfig", kubeconfig, "--store", str(tmp_path / "s"))
    assert result.exit_code == 2 and f"--channel {channel}" in result.stderr, result.output


def test_json_report_lists_what_was_generated(gateway_cluster, tmp_path):
    kubeconfig, channel = gateway_cluster
    report = tmp_path / "r.json"
    result = invoke("migrate", "nginx", str(_corpus(tmp_path, rand_name("j"))), "--to", "gateway-api",
                    "--channel", channel, "--report", str(report), "--report-format", "json", "--output-dir",
                    str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    kinds = {g["kind"] for g in doc["generated"]}
    assert {"Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "WasmPlugin"} <= kinds, kinds


@pytest.mark.parametrize("rule,rejected_on", [
    ({"matches": [{"path": {"type": "PathPrefix", "value": "/api(/|$)(.*)"}}]}, {"standard", "experimental"}),
    ({"filters": [{"type": "CORS", "cors": {"allowOrigins": ["https://a.example.com"]}}]}, {"standard"}),
    ({"filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 308}}]}, {"standard", "experimental"}),
])
def test_the_crds_are_the_real_judges(gateway_cluster, rule, rejected_on):
    """What ingress2gateway emits and the real CRDs refuse: proof that these tests run against the real schemas."""
    from kubernetes.client.exceptions import ApiException

    kubeconfig, channel = gateway_cluster
    api_client = config.new_client_from_config(config_file=kubeconfig)
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": rand_name("r")}, "spec": {"rules": [rule]}}
    try:
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", "default", "httproutes", route, dry_run="All")
        rejected = False
    except ApiException as exc:
        assert exc.status == 422, exc
        rejected = True
    api_client.close()
    assert rejected == (channel in rejected_on)
