"""A LIST that starts again (410 Gone on a continue page) forgets the references of the pages it dropped
(issue 23 item 6), on the real API server.

The objects, pages and Secrets are the real server's. What is injected is only the moment: kube-apiserver 1.35
serves continue pages from its watch-cache snapshots (apiserver pkg/storage/cacher/cacher.go
ShouldDelegateContinue), so a token expires only once etcd compaction and the cache's own window have both passed
it, which no test can time. The client below therefore does what Kube.pages does on a 410 (yield RESTART, list
again from the start) after the first page, with an Ingress deleted in between.
"""

from __future__ import annotations

import json

import pytest
from conftest import create_namespace, create_objects, run
from kubernetes import client

from hgbackup.capture import snapshot
from hgbackup.kube.client import RESTART, Kube
from hgbackup.kube.scope import Scope
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

pytestmark = pytest.mark.kube


class ExpiresOnce(Kube):
    """Lists Ingresses two to a page; after the first page, `between` runs and the list restarts (as on a 410)."""

    def __init__(self, kubeconfig, between):
        super().__init__(kubeconfig)
        self.between, self.restarted = between, False

    def pages(self, kind, version, namespace=None, label_selector=None, page_size=500, prefetch=None):
        if kind.kind != "Ingress" or self.restarted:
            yield from super().pages(kind, version, namespace, label_selector, page_size, prefetch)
            return
        self.restarted = True
        first = super().pages(kind, version, namespace, label_selector, page_size=2)
        yield next(first)
        first.close()
        self.between()
        yield RESTART
        yield from super().pages(kind, version, namespace, label_selector, page_size=2)


def test_a_restarted_list_keeps_no_reference_of_a_deleted_object(k8s, crds, kubeconfig, tmp_path, cleanup):
    hns = create_namespace(k8s, cleanup, "hs")
    core, net = client.CoreV1Api(k8s), client.NetworkingV1Api(k8s)
    core.create_namespaced_secret(hns, {"metadata": {"name": "bulk-tls"}, "type": "kubernetes.io/tls",
                                        "data": {"tls.crt": "", "tls.key": ""}})  # unlabelled: only a-tls names it
    ingresses = [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": n, "namespace": hns},
                  "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}
                 for n in ("a-tls", "b", "c", "d", "e")]
    ingresses[0]["spec"]["tls"] = [{"hosts": ["a.example.com"], "secretName": "bulk-tls"}]
    create_objects(k8s, ingresses, cleanup=cleanup)
    store = str(tmp_path / "store")
    kube = ExpiresOnce(kubeconfig, lambda: net.delete_namespaced_ingress("a-tls", hns))
    report = snapshot.run(Repository(open_store(store)), Scope(higress_namespace=hns, namespaces=[hns]),
                          connect=lambda: kube)
    kube.close()
    assert report.exit_code == 0
    held = {(o.kind, o.name) for o in report.snapshot.manifest.objects}
    assert ("Ingress", "b") in held and ("Ingress", "a-tls") not in held
    assert ("Secret", "bulk-tls") not in held  # nothing in the snapshot names it any more

    run("verify", report.snapshot.id, "--store", store, code=0)
    doc = json.loads(run("restore", report.snapshot.id, "--store", store, "--kubeconfig", kubeconfig, "--dry-run",
                         "-o", "json").stdout)
    assert doc["summary"]["failed"] == 0


def test_the_plain_case_without_a_restart_keeps_the_referenced_secret(k8s, crds, kubeconfig, tmp_path, cleanup):
    """Without the restart the same Ingress brings its Secret: the test above fails for the right reason."""
    hns = create_namespace(k8s, cleanup, "hs")
    client.CoreV1Api(k8s).create_namespaced_secret(hns, {"metadata": {"name": "bulk-tls"},
                                                         "type": "kubernetes.io/tls",
                                                         "data": {"tls.crt": "", "tls.key": ""}})
    create_objects(k8s, [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                          "metadata": {"name": "a-tls", "namespace": hns},
                          "spec": {"tls": [{"hosts": ["a.example.com"], "secretName": "bulk-tls"}],
                                   "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}],
                   cleanup=cleanup)
    store = str(tmp_path / "store")
    kube = Kube(kubeconfig)
    report = snapshot.run(Repository(open_store(store)), Scope(higress_namespace=hns, namespaces=[hns]),
                          connect=lambda: kube)
    kube.close()
    assert ("Secret", "bulk-tls") in {(o.kind, o.name) for o in report.snapshot.manifest.objects}
