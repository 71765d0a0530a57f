"""Throttling by the real API server: API Priority and Fairness rejects with 429, hgbackup retries with backoff.

A FlowSchema sends every request of one ServiceAccount to a priority level with the smallest concurrency share and
no queue, so a restore at high concurrency is refused (429) again and again. The API server's own metrics prove
that rejections happened, and the restore must still create every object.
"""

from __future__ import annotations

import json

import pytest
from conftest import rand_name, run
from kubernetes import client

pytestmark = pytest.mark.kube
FLOWCONTROL = "/apis/flowcontrol.apiserver.k8s.io/v1"


def rejected(k8s, flow_schema: str) -> float:
    """apiserver_flowcontrol_rejected_requests_total for one FlowSchema, read from the API server's /metrics."""
    text = k8s.call_api(*k8s.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])[:3]).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("apiserver_flowcontrol_rejected_requests_total")
               and f'flow_schema="{flow_schema}"' in line)


def throttle(kube, name: str, sa_namespace: str, cleanup) -> None:
    """Route every request of ServiceAccount `name` to a level of concurrency share 1 that rejects, never queues."""
    cleanup(lambda: kube.request("DELETE", f"{FLOWCONTROL}/prioritylevelconfigurations/{name}"))
    cleanup(lambda: kube.request("DELETE", f"{FLOWCONTROL}/flowschemas/{name}"))
    kube.request("POST", f"{FLOWCONTROL}/prioritylevelconfigurations", body={
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
        "metadata": {"name": name},
        "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 1, "lendablePercent": 0,
                                                 "limitResponse": {"type": "Reject"}}}})
    kube.request("POST", f"{FLOWCONTROL}/flowschemas", body={
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": name},
        "spec": {"priorityLevelConfiguration": {"name": name}, "matchingPrecedence": 100,
                 "distinguisherMethod": {"type": "ByUser"},
                 "rules": [{"subjects": [{"kind": "ServiceAccount",
                                          "serviceAccount": {"name": name, "namespace": sa_namespace}}],
                            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                               "clusterScope": True, "namespaces": ["*"]}],
                            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}})


def test_restore_survives_429_from_priority_and_fairness(k8s, kube, service_account, tmp_path, cleanup):
    name = rand_name("throttle")
    sa = service_account([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}], name)
    sa_config = sa.kubeconfig
    throttle(kube, name, sa.namespace, cleanup)

    ns = rand_name("thr")
    cleanup(lambda: client.CoreV1Api(k8s).delete_namespace(ns))
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": ns},
                "data": {"i": str(i)}} for i in range(600)]
    path = tmp_path / "objs.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--from-file", str(path), "--store", store, "--higress-namespace", ns,
                         "-o", "json").stdout)["id"]
    before = rejected(k8s, name)
    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", sa_config, "--yes",
                         "--no-safety-snapshot", "--concurrency", "64", "-o", "json").stdout)
    assert doc["summary"]["created"] == 601 and doc["summary"]["failed"] == 0  # 600 ConfigMaps and the namespace
    assert rejected(k8s, name) > before  # the API server really refused requests, and each one was retried
