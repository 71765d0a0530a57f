"""One scope (issue 23, item 1): what a capture takes is exactly what a restore may write.

Objects in kube-system, kube-public and kube-node-lease, service-account and bootstrap tokens and Helm release Secrets
are left out at capture with a warning naming them (excluded.left_out, the one definition), so any snapshot the writer
accepts is one `verify` accepts. Pure logic and a local folder store: no cluster needed.
"""

from __future__ import annotations

import json
import tempfile

from conftest import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hgbackup.capture import snapshot
from hgbackup.kube.scope import Scope
from hgbackup.restore.verify import verify
from hgbackup.store import open_store
from hgbackup.store.repository import Repository

NAMESPACES = ["higress-system", "shop", "kube-system", "kube-public", "kube-node-lease"]
NAMES = ["a", "tls", "higress-console", "sh.helm.release.v1.gw.v1", "kube-root-ca.crt"]
SECRET_TYPES = ["Opaque", "kubernetes.io/tls", "kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token",
                "helm.sh/release.v1"]
CONSOLE_LABEL = {"higress.io/resource-definer": "higress"}

names = st.sampled_from(NAMES)
namespaces = st.sampled_from(NAMESPACES)


def _meta(name, ns, labelled=False):
    meta = {"name": name, "namespace": ns}
    if labelled:
        meta["labels"] = dict(CONSOLE_LABEL)
    return meta


@st.composite
def documents(draw):
    """One object of a kind hgbackup snapshots, naming others by the references the selection follows."""
    ns, name, other = draw(namespaces), draw(names), draw(names)
    kind = draw(st.sampled_from(["Ingress", "Secret", "ConfigMap", "McpBridge", "Gateway", "ReferenceGrant",
                                 "IstioGateway", "Service", "HTTPRoute", "GatewayClass", "WasmPlugin"]))
    if kind == "Ingress":
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta(name, ns),
                "spec": {"tls": [{"secretName": other}],
                         "defaultBackend": {"service": {"name": other, "port": {"number": 80}}}}}
    if kind == "Secret":
        return {"apiVersion": "v1", "kind": "Secret", "type": draw(st.sampled_from(SECRET_TYPES)),
                "metadata": _meta(name, ns, draw(st.booleans())), "data": {"k": "eA=="}}
    if kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, ns, draw(st.booleans())),
                "data": {"k": "v"}}
    if kind == "McpBridge":
        return {"apiVersion": "networking.higress.io/v1", "kind": "McpBridge", "metadata": _meta("default", ns),
                "spec": {"registries": [{"name": "n", "type": "nacos2", "authSecretName": other}]}}
    if kind == "Gateway":
        ref = {"name": other, **({"namespace": draw(namespaces)} if draw(st.booleans()) else {})}
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": _meta(name, ns),
                "spec": {"gatewayClassName": "higress", "listeners": [
                    {"name": "https", "port": 443, "protocol": "HTTPS", "tls": {"certificateRefs": [ref]}}]}}
    if kind == "ReferenceGrant":
        return {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                "metadata": _meta(name, ns),
                "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                   "namespace": draw(namespaces)}], "to": [{"group": "", "kind": "Secret"}]}}
    if kind == "IstioGateway":
        return {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": _meta(name, ns),
                "spec": {"servers": [{"port": {"number": 443}, "hosts": ["*"], "tls": {"credentialName": other}}]}}
    if kind == "Service":
        return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, ns), "spec": {"ports": [{"port": 80}]}}
    if kind == "HTTPRoute":
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": _meta(name, ns),
                "spec": {"rules": [{"backendRefs": [{"name": other, "namespace": draw(namespaces), "port": 80}]}]}}
    if kind == "GatewayClass":
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": name},
                "spec": {"controllerName": "higress.io/gateway-controller"}}
    return {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin", "metadata": _meta(name, ns),
            "spec": {"url": "oci://x/y:1"}}


scopes = st.builds(
    lambda nss, services, hns: Scope(higress_namespace=hns, namespaces=nss,
                                     optins={"services"} if services else set()),
    st.lists(namespaces, max_size=2, unique=True), st.booleans(), st.sampled_from(["higress-system", "shop"]))

WRITTEN: list[int] = []


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(documents(), max_size=14), scopes)
def test_any_snapshot_the_writer_accepts_verify_accepts(docs, scope):
    with tempfile.TemporaryDirectory() as folder:
        repo = Repository(open_store(f"{folder}/store"))
        # every generated name is one Kubernetes accepts, no key is required and empty snapshots are allowed: the
        # writer has no reason to refuse any of these inputs, so any error it raises is a bug, and fails the test
        capture = snapshot.capture_from_documents(docs, scope)
        report = snapshot.take(repo, capture, scope, allow_empty=True)
        WRITTEN.append(len(report.snapshot.manifest.objects))
        result = verify(repo, [report.snapshot.key]).results[0]
        assert result.ok, (result.error, docs, scope.as_json())


def test_the_property_wrote_snapshots_with_objects():
    """The property above is not vacuous: most generated inputs were written, many with objects in them."""
    WRITTEN.clear()
    test_any_snapshot_the_writer_accepts_verify_accepts()
    assert len(WRITTEN) >= 60 and sum(1 for n in WRITTEN if n) >= 30


def test_a_kube_system_ingress_is_left_out_with_a_warning_and_the_snapshot_restores(tmp_path):
    items = [
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "dashboard",
                                                                               "namespace": "kube-system"},
         "spec": {"tls": [{"secretName": "dashboard-tls"}]}},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": {"name": "dashboard-tls", "namespace": "kube-system"}, "data": {"tls.crt": "eA=="}},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": {"name": "token", "namespace": "higress-system", "labels": CONSOLE_LABEL}, "data": {"t": "eA=="}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": "sh.helm.release.v1.higress.v3", "namespace": "higress-system",
                      "labels": CONSOLE_LABEL}, "data": {"r": "eA=="}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop",
                                                                               "namespace": "shop"}, "spec": {}},
    ]
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    store = str(tmp_path / "store")
    result = run("snapshot", "--from-file", str(path), "--store", store, "-o", "json")
    doc = json.loads(result.stdout)
    assert doc["objects"] == 1 and doc["left_out"] == 3 and doc["partial"] is False
    [note] = [w for w in doc["warnings"] if w.startswith("left out")]
    assert "Ingress kube-system/dashboard (in kube-system" in note
    assert "Secret higress-system/token (a kubernetes.io/service-account-token Secret" in note
    assert "Secret higress-system/sh.helm.release.v1.higress.v3 (a Helm release Secret" in note
    assert "left out 3 object(s)" in result.stderr
    run("verify", doc["id"], "--store", store)


def _crd(name: str, conversion: dict | None) -> dict:
    group, plural = name.split(".", 1)[1], name.split(".", 1)[0]
    spec = {"group": group, "names": {"plural": plural, "kind": "X", "listKind": "XList", "singular": "x"},
            "scope": "Namespaced", "versions": [{"name": "v1", "served": True, "storage": True,
                                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}
    if conversion is not None:
        spec["conversion"] = conversion
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
            "spec": spec}


def test_a_crd_with_a_conversion_webhook_is_left_out_so_the_snapshot_verifies(tmp_path):
    """A restore refuses to install a conversion webhook, so a capture never takes one: the snapshot it writes
    verifies (before, the capture took the CRD and verify refused the snapshot, exit 4)."""
    webhook = {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": {
        "url": "https://converter.example.com/convert", "caBundle": "eA=="}}}
    items = [_crd("wasmplugins.extensions.higress.io", webhook), _crd("mcpbridges.networking.higress.io", None),
             {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
              "metadata": {"name": "p", "namespace": "higress-system"}, "spec": {}}]
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    store = str(tmp_path / "store")
    doc = json.loads(run("snapshot", "--from-file", str(path), "--store", store, "-o", "json").stdout)
    assert doc["left_out"] == 1 and doc["objects"] == 2, doc
    [note] = [w for w in doc["warnings"] if w.startswith("left out")]
    assert "CustomResourceDefinition wasmplugins.extensions.higress.io (a CRD that has a conversion webhook" in note
    run("verify", "--store", store)
