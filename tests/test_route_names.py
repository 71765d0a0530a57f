"""Higress's route names, defined once (kube/references.route_name) and read back by the reference table: `name` in
the Higress namespace, `ns/name` elsewhere, `GRPC/` before a GRPCRoute's (pkg/ingress/kube/common/tool.go
GenerateUniqueRouteName, gateway/istio/conversion.go generateRouteName)."""

from __future__ import annotations

import pytest

from hgbackup.kube import references

GW = "gateway.networking.k8s.io"
HNS = "higress-system"


def plugin(*names: str) -> dict:
    return {"apiVersion": "extensions.higress.io/v1alpha1", "kind": "WasmPlugin",
            "metadata": {"name": "p", "namespace": HNS}, "spec": {"matchRules": [{"ingress": list(names)}]}}


@pytest.mark.parametrize("value,kinds,namespace,name", [
    ("web", {"Ingress", "HTTPRoute"}, HNS, "web"),
    ("shop/web", {"Ingress", "HTTPRoute"}, "shop", "web"),
    ("GRPC/rpc", {"GRPCRoute"}, HNS, "rpc"),
    ("GRPC/shop/rpc", {"GRPCRoute"}, "shop", "rpc"),
])
def test_a_rule_names_the_route_of_its_spelling(value, kinds, namespace, name):
    refs = references.of(plugin(value), HNS)
    assert [(r.namespace, r.name) for r in refs] == [(namespace, name)]
    assert {k for _, k in refs[0].row.targets} == kinds


@pytest.mark.parametrize("namespace,kind,expected", [
    (HNS, ("networking.k8s.io", "Ingress"), "web"),
    ("shop", ("networking.k8s.io", "Ingress"), "shop/web"),
    ("shop", (GW, "HTTPRoute"), "shop/web"),
    (HNS, (GW, "GRPCRoute"), "GRPC/web"),
    ("shop", (GW, "GRPCRoute"), "GRPC/shop/web"),
])
def test_route_name_spells_what_the_table_reads_back(namespace, kind, expected):
    assert references.route_name(namespace, "web", HNS, kind) == expected
    [ref] = references.of(plugin(expected), HNS)
    assert ref.names(*kind, namespace, "web")


def test_a_namespace_map_keeps_the_grpc_prefix():
    obj = plugin("GRPC/shop/rpc", "GRPC/rpc")
    refs = references.of(obj, HNS)
    assert refs[0].rewrite("staging", HNS) and refs[1].rewrite("staging", HNS)
    assert obj["spec"]["matchRules"][0]["ingress"] == ["GRPC/staging/rpc", "GRPC/staging/rpc"]
