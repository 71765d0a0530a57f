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


# -- Retry-After from a misbehaving endpoint (issue 24) --------------------------------------------------------------
# The real API server sends `Retry-After: 1` with its APF rejections (above) and cannot be made to ask for an hour.
# These tests put a tiny HTTP server of their own in its place that answers 429 or 503 with a long Retry-After: not a
# model of the API server's or S3's logic, but the hostile or broken endpoint whose header the client must bound.
class Throttling:
    """A loopback HTTP server answering the first `refusals` requests with `status` and `headers`, then 200 with
    `body` (JSON); it records each request's path."""

    def __init__(self, status: int, headers: dict, refusals: int = 10**6, body: dict | None = None):
        import http.server
        import threading

        outer = self
        self.paths: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                outer.paths.append(self.path)
                if len(outer.paths) <= refusals:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    data = json.dumps({"kind": "Status", "code": status, "reason": "TooManyRequests"}).encode()
                else:
                    self.send_response(200)
                    data = json.dumps(body or {}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_PATCH = do_HEAD = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def kubeconfig_for(url: str, path) -> str:
    import yaml

    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": url}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))
    return str(path)


@pytest.fixture
def sleeps(monkeypatch):
    """Every wait hgbackup's API client takes (still really slept)."""
    import time

    from hgbackup.kube import retry

    taken: list[float] = []
    real = time.sleep

    def record(seconds):
        taken.append(seconds)
        real(seconds)

    monkeypatch.setattr(retry.time, "sleep", record)
    return taken


@pytest.mark.parametrize("retry_after", ["3600", "Wed, 21 Oct 2099 07:28:00 GMT"], ids=["seconds", "http-date"])
def test_a_retry_after_beyond_the_retry_window_is_exit_6_at_once(retry_after, sleeps, tmp_path):
    """`--request-timeout 5`: retries stop at twice that. A server asking to be retried after an hour is not
    waited for (the old client slept 30 s, past its documented 10 s): exit 6 at once, naming what it asked."""
    server = Throttling(429, {"Retry-After": retry_after})
    try:
        config = kubeconfig_for(server.url, tmp_path / "kubeconfig")
        result = run("snapshot", "--kubeconfig", config, "--request-timeout", "5", "--store",
                     str(tmp_path / "store"), code=6)
    finally:
        server.close()
    assert sleeps == [] and len(server.paths) == 1
    line = result.stderr.strip().splitlines()
    assert len(line) == 1 and "Retry-After" in line[0] and "10s a request may take" in line[0]


def test_a_retry_after_within_the_window_is_honoured(sleeps, tmp_path):
    from hgbackup.kube.client import RETRY_WINDOW, Kube

    server = Throttling(503, {"Retry-After": "1"}, refusals=2, body={"gitVersion": "v1.99.0"})
    try:
        kube = Kube(kubeconfig_for(server.url, tmp_path / "kubeconfig"), request_timeout=5)
        assert kube.version_info() == {"gitVersion": "v1.99.0"}
    finally:
        server.close()
    assert len(server.paths) == 3 and len(sleeps) == 2
    assert all(1.0 <= s <= RETRY_WINDOW * 5 for s in sleeps)


@pytest.mark.s3
def test_the_s3_store_does_not_wait_for_a_long_retry_after(tmp_path, testenv, monkeypatch):
    """The S3 side: botocore's standard retry mode ignores Retry-After and caps x-amz-retry-after at its own
    backoff plus 5 s, so a store that asks for an hour ends in exit 6 after a few seconds, not an hour."""
    import time

    server = Throttling(503, {"Retry-After": "3600", "x-amz-retry-after": "3600000"})
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    started = time.monotonic()
    try:
        result = run("list", "--store", "s3://bucket/p", "--s3-endpoint", server.url, code=6)
    finally:
        server.close()
    assert len(server.paths) == 2 and "store" in result.stderr
    assert time.monotonic() - started < 60  # one backoff of at most 1 s + 5 s, far from the hour it asked for
