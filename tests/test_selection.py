"""Unit tests of the selection rules (pure logic: no API server needed)."""

from __future__ import annotations

import pytest
from conftest import EXAMPLE, EXAMPLE_SELECTED

from hgbackup.capture import selection
from hgbackup.kube import yamlfiles as kubeyaml
from hgbackup.kube.scope import DEFAULT_SECRET_SELECTOR, Scope


def refs(objects):
    return {(o["kind"], (o["metadata"].get("namespace") or "-"), o["metadata"]["name"]) for o in objects}


@pytest.fixture(scope="module")
def example():
    return kubeyaml.load_paths([EXAMPLE])


def test_example_selects_exactly_the_higress_config(example):
    chosen = refs(selection.select(example, Scope()))
    expected = EXAMPLE_SELECTED
    assert chosen == expected


def test_decoys_are_left_out(example):
    names = {o["metadata"]["name"] for o in selection.select(example, Scope())}
    for decoy in ("kube-root-ca.crt", "istio-ca-root-cert", "higress-controller-token-8zq4f",
                  "sh.helm.release.v1.higress.v3", "shop-db-password", "shop-settings", "higress-gateway"):
        assert decoy not in names


def test_referenced_service_account_token_is_still_excluded():
    token = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
             "metadata": {"name": "tok", "namespace": "a"}}
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "a"},
               "spec": {"tls": [{"secretName": "tok"}]}}
    assert refs(selection.select([token, ingress], Scope())) == {("Ingress", "a", "i")}


def test_ingress_class_filter(example):
    ingresses = [o for o in selection.select(example, Scope(ingress_classes=["nginx"])) if o["kind"] == "Ingress"]
    assert ingresses == []
    annotated = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": "n", "namespace": "a", "annotations": {"kubernetes.io/ingress.class": "nginx"}}}
    assert refs(selection.select([annotated], Scope(ingress_classes=["nginx"]))) == {("Ingress", "a", "n")}


def test_namespace_filter_and_include_exclude(example):
    only_shop = refs(selection.select(example, Scope(namespaces=["shop"])))
    assert all(ns in ("shop", "-") for _, ns, _ in only_shop)
    assert ("Ingress", "shop", "shop-api") in only_shop
    no_secrets = refs(selection.select(example, Scope(exclude=["Secret"])))
    assert not any(kind == "Secret" for kind, _, _ in no_secrets)
    only_plugins = refs(selection.select(example, Scope(include=["wasmplugins.extensions.higress.io"])))
    assert {kind for kind, _, _ in only_plugins} == {"WasmPlugin"}


def test_secret_selector_is_configurable_and_ored(example):
    old_label = {"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": "old", "namespace": "higress-system",
                              "labels": {"higress.higress.io/resource-definer": "console"}}}
    default = refs(selection.select(example + [old_label], Scope()))
    assert ("Secret", "higress-system", "old") not in default
    both = Scope(secret_selectors=[DEFAULT_SECRET_SELECTOR, "higress.higress.io/resource-definer=console"])
    assert ("Secret", "higress-system", "old") in refs(selection.select(example + [old_label], both))


def test_services_opt_in_follow_route_references(example):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop-api", "namespace": "shop"}}
    other = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "unused", "namespace": "shop"}}
    blog = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "blog", "namespace": "shop"}}
    search = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "search", "namespace": "shop"}}
    objs = example + [svc, other, blog, search]
    assert not any(o["kind"] == "Service" for o in selection.select(objs, Scope()))
    chosen = refs(selection.select(objs, Scope(optins={"services"})))
    assert {n for k, _, n in chosen if k == "Service"} == {"shop-api", "blog", "search"}


def test_the_example_mcpbridge_credential_is_kept_for_its_reference_not_its_label(example):
    """The example's nacos-auth Secret carries the console label too, which would hide a lost authSecretName
    reference (it did for two rounds): without the label it must still be selected, because the McpBridge names it,
    and without the reference it must not."""
    plain = [dict(o, metadata={k: v for k, v in o["metadata"].items() if k != "labels"})
             if o["kind"] == "Secret" and o["metadata"]["name"] == "nacos-auth-x7k2p" else o for o in example]
    assert ("Secret", "higress-system", "nacos-auth-x7k2p") in refs(selection.select(plain, Scope()))
    unnamed = [o for o in plain if o["kind"] != "McpBridge"]
    assert ("Secret", "higress-system", "nacos-auth-x7k2p") not in refs(selection.select(unnamed, Scope()))
