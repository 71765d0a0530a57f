"""cert-manager's real CRDs (issue 24), from the github.com/cert-manager/cert-manager Go module (scripts/testenv,
$HGBACKUP_TEST_CERT_MANAGER_CRDS), on real API servers: their schemas have properties named `caBundle`
(`spec.acme.caBundle`, `spec.vault.caBundle`), which install nothing, so a `--with-cert-manager` snapshot verifies
and restores into an empty cluster without --allow-crd-webhooks; a CRD with a real conversion webhook is still
refused."""

from __future__ import annotations

import copy
import glob
import json
import os

import pytest
import yaml
from conftest import create_objects, rand_name, run, running_empty_cluster
from kubernetes import config

from hgbackup.kube import catalogue
from hgbackup.kube.client import Kube

pytestmark = pytest.mark.kube
KINDS = ("certificates", "issuers", "clusterissuers")
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXq\n-----END CERTIFICATE-----\n"


def real_crds(testenv) -> list[dict]:
    """The CRDs of the kinds hgbackup snapshots with --with-cert-manager, as cert-manager ships them."""
    crds = []
    for path in sorted(glob.glob(os.path.join(testenv["HGBACKUP_TEST_CERT_MANAGER_CRDS"], "cert-manager.io_*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            crds += [d for d in yaml.safe_load_all(fh) if d and d["spec"]["names"]["plural"] in KINDS]
    assert sorted(c["spec"]["names"]["plural"] for c in crds) == sorted(KINDS)
    return crds


def cert_manager_objects(ns: str) -> list[dict]:
    import base64

    ca = base64.b64encode(CA_PEM.encode()).decode()
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "acme-account", "namespace": ns},
         "type": "Opaque", "data": {"tls.key": base64.b64encode(b"not a real key").decode()}},
        {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": rand_name("selfsigned")},
         "spec": {"selfSigned": {}}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "acme", "namespace": ns},
         "spec": {"acme": {"server": "https://acme.example.com/directory", "caBundle": ca,
                           "privateKeySecretRef": {"name": "acme-account"},
                           "solvers": [{"http01": {"ingress": {"ingressClassName": "higress"}}}]}}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "shop", "namespace": ns},
         "spec": {"secretName": "shop-tls", "dnsNames": ["shop.example.com"],
                  "issuerRef": {"name": "acme", "kind": "Issuer"}}},
    ]


def install(kubeconfig: str, crds: list[dict], objects: list[dict]) -> None:
    api = config.new_client_from_config(config_file=kubeconfig)
    try:
        create_objects(api, crds)
        _wait_established(Kube(kubeconfig), [c["metadata"]["name"] for c in crds])  # before objects of their kinds
        create_objects(api, objects)
    finally:
        api.close()


def _wait_established(kube: Kube, names: list[str], timeout: float = 60) -> None:
    import time

    deadline = time.time() + timeout
    for name in names:
        while True:
            crd = kube.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            if any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in (crd.get("status") or {}).get("conditions") or []):
                break
            assert time.time() < deadline, f"CRD {name} not Established"
            time.sleep(0.2)


def test_a_cert_manager_snapshot_verifies_and_restores_into_an_empty_cluster(testenv, empty_cluster, tmp_path):
    crds = real_crds(testenv)
    assert any("caBundle" in json.dumps(c) for c in crds)  # the word that used to fail every such snapshot
    ns = rand_name("certs")
    objects = cert_manager_objects(ns)
    install(empty_cluster, crds, objects)
    store = str(tmp_path / "store")
    sid = json.loads(run("snapshot", "--kubeconfig", empty_cluster, "--store", store, "--with-cert-manager",
                         "--cluster", "source", "-o", "json").stdout)["id"]
    held = {(o["kind"], o["name"]) for o in json.loads(run("show", sid, "--store", store, "--objects",
                                                           "-o", "json").stdout)["objects"]}
    assert {("CustomResourceDefinition", c["metadata"]["name"]) for c in crds} <= held
    assert {("Issuer", "acme"), ("Certificate", "shop"), ("Secret", "acme-account")} <= held
    run("verify", sid, "--store", store)

    with running_empty_cluster(tmp_path / "target") as target:
        doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", target, "--yes",
                             "--no-safety-snapshot", "-o", "json").stdout)
        assert doc["summary"].get("failed", 0) == 0 and doc["summary"]["created"] >= len(crds) + 4
        kube = Kube(target)
        for kind, namespace, name in (("Issuer", ns, "acme"), ("Certificate", ns, "shop"),
                                      ("ClusterIssuer", None, objects[2]["metadata"]["name"])):
            k = catalogue.BY_GROUP_KIND[("cert-manager.io", kind)]
            live = kube.get(k, "v1", namespace, name)
            assert live is not None, (kind, name)
        issuer = kube.get(catalogue.BY_GROUP_KIND[("cert-manager.io", "Issuer")], "v1", ns, "acme")
        assert issuer["spec"]["acme"]["caBundle"] == objects[3]["spec"]["acme"]["caBundle"]


def test_a_real_crd_with_a_conversion_webhook_is_still_refused(testenv, tmp_path):
    """The real Certificate CRD given a conversion webhook (a Service to call and the CA bundle to trust it with),
    in a keyless snapshot: restore and verify refuse it, exit 4; --allow-crd-webhooks is the only way in."""
    from test_names import forge_keyless

    crd = copy.deepcopy(next(c for c in real_crds(testenv) if c["spec"]["names"]["plural"] == "certificates"))
    crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": "evil", "namespace": "default", "path": "/convert"},
                         "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="}}}
    store, scope = str(tmp_path / "store"), {"optins": ["cert_manager"]}
    sid = forge_keyless(store, [crd], scope)
    result = run("restore", sid, "--store", store, "--kubeconfig", "/nonexistent/kubeconfig", "--yes", code=4)
    assert "has a conversion webhook" in result.stderr
    assert "has a conversion webhook" in run("verify", sid, "--store", store, code=4).stdout
    plain = copy.deepcopy(crd)
    plain["spec"]["conversion"] = {"strategy": "None"}
    sid = forge_keyless(str(tmp_path / "plain"), [plain], scope)
    run("verify", sid, "--store", str(tmp_path / "plain"))
