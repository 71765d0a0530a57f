"""Unit tests of the selection rules (pure logic: no API server needed)."""

from __future__ import annotations

import re

import pytest
from conftest import EXAMPLE, EXAMPLE_SELECTED

from hgbackup.capture import selection
from hgbackup.capture.selection import Scope
from hgbackup.errors import InvalidInput
from hgbackup.kube import yamlfiles as kubeyaml


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
    both = Scope(secret_selectors=[selection.DEFAULT_SECRET_SELECTOR, "higress.higress.io/resource-definer=console"])
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


@pytest.mark.parametrize("text,labels,expected", [
    ("a=b", {"a": "b"}, True),
    ("a=b", {"a": "c"}, False),
    ("a==b,c", {"a": "b", "c": ""}, True),
    ("a!=b", {}, True),
    ("!a", {"a": "x"}, False),
    ("a in (x, y)", {"a": "y"}, True),
    ("a notin (x,y),b", {"a": "z", "b": "1"}, True),
    ("higress.io/resource-definer=higress", {"higress.io/resource-definer": "higress"}, True),
    ("a=", {"a": ""}, True),
    ("  a = b ,  !c ", {"a": "b"}, True),
    ("n>5", {"n": "7"}, True),
    ("n<5", {"n": "7"}, False),
    ("n>5", {"n": "x"}, False),
])
def test_label_selectors(text, labels, expected):
    assert selection.matches(selection.parse_selector(text), labels) is expected


@pytest.mark.parametrize("text,why", [
    ("a=b,,=c", "',' is not a label key"),
    ("!a=b", "'!key' takes no operator"),  # was read as `!a`
    ("!a in (x)", "'!key' takes no operator"),
    ("a=b,", "separated by single commas"),
    ("a in x", "needs a parenthesised list"),
    ("a in (x", "unclosed value list"),
    ("a=b c", "separated by single commas"),
    ("-a=b", "is not a label key"),
    ("Example.COM/a=b", "is not a label key"),
    ("a=" + "v" * 64, "is not a label value"),
    ("a>x", "needs a whole number"),
    ("", "invalid label selector"),
])
def test_selectors_kubernetes_refuses_are_refused(text, why):
    with pytest.raises(InvalidInput, match=re.escape(why)):
        selection.parse_selector(text)
