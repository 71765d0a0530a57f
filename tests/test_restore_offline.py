"""The pure parts of restore, without a cluster: choosing objects, namespace maps, safety scope, tiers, exit codes."""

from __future__ import annotations

import pytest

from hgbackup.diff import timeline
from hgbackup.diff.compare import compare
from hgbackup.errors import EXIT_OK, EXIT_PARTIAL, EXIT_UNREACHABLE, InvalidInput
from hgbackup.kube import catalogue
from hgbackup.kube.model import Ref, StoredObject
from hgbackup.restore import (
    Action,
    Intent,
    Plan,
    RestoreOptions,
    RestoreReport,
    Result,
    Step,
    choose,
    map_namespaces,
    parse_namespace_map,
    safety_scope,
)


def obj(kind, name, namespace=None, api="v1", labels=None, spec=None):
    meta = {"name": name, **({"namespace": namespace} if namespace else {}), **({"labels": labels} if labels else {})}
    return StoredObject.from_object({"apiVersion": api, "kind": kind, "metadata": meta, **({"spec": spec} if spec
                                                                                           else {})})


OBJECTS = [
    obj("CustomResourceDefinition", "wasmplugins.extensions.higress.io", api="apiextensions.k8s.io/v1"),
    obj("Secret", "tls", "shop", labels={"app": "web"}),
    obj("ConfigMap", "higress-config", "higress-system"),
    obj("Ingress", "web", "shop", api="networking.k8s.io/v1", labels={"app": "web"}),
    obj("Ingress", "admin", "ops", api="networking.k8s.io/v1"),
    obj("GatewayClass", "higress", api="gateway.networking.k8s.io/v1"),
]


def names(objects):
    return sorted(f"{o.ref.kind}/{o.ref.namespace or '-'}/{o.ref.name}" for o in objects)


def test_choose_by_kind_keeps_the_crds():
    chosen = choose(OBJECTS, RestoreOptions(kinds=["Ingress"]))
    assert names(chosen) == ["CustomResourceDefinition/-/wasmplugins.extensions.higress.io", "Ingress/ops/admin",
                             "Ingress/shop/web"]


def test_choose_by_namespace_name_and_selector():
    # -n leaves cluster-scoped objects alone (a GatewayClass is not "of" a namespace); a missing CRD is still made
    assert names(choose(OBJECTS, RestoreOptions(namespaces=["shop"]))) == [
        "CustomResourceDefinition/-/wasmplugins.extensions.higress.io", "Ingress/shop/web", "Secret/shop/tls"]
    assert names(choose(OBJECTS, RestoreOptions(names=["web"]))) == [
        "CustomResourceDefinition/-/wasmplugins.extensions.higress.io", "Ingress/shop/web"]
    assert names(choose(OBJECTS, RestoreOptions(selector="app=web"))) == ["Ingress/shop/web", "Secret/shop/tls"]


def test_choose_applies_the_namespace_map():
    chosen = choose(OBJECTS, RestoreOptions(namespaces=["shop"], namespace_map={"shop": "shop2"}))
    assert "Ingress/shop2/web" in names(chosen) and "Secret/shop2/tls" in names(chosen)


def test_map_namespaces_moves_the_object_and_namespace_fields_in_spec():
    route = obj("HTTPRoute", "r", "shop", api="gateway.networking.k8s.io/v1",
                spec={"parentRefs": [{"name": "gw", "namespace": "shop"}, {"name": "gw", "namespace": "infra"}]})
    moved = map_namespaces(route, {"shop": "dr"})
    assert moved.ref == Ref("gateway.networking.k8s.io", "HTTPRoute", "dr", "r")
    assert moved.obj["spec"]["parentRefs"] == [{"name": "gw", "namespace": "dr"}, {"name": "gw", "namespace": "infra"}]
    assert map_namespaces(OBJECTS[5], {"shop": "dr"}) is OBJECTS[5]  # cluster-scoped: untouched


@pytest.mark.parametrize("pairs,mapping", [
    ([], {}),
    (["a:b"], {"a": "b"}),
    (["a:b", "c:d", "a:b"], {"a": "b", "c": "d"}),
])
def test_parse_namespace_map(pairs, mapping):
    assert parse_namespace_map(pairs) == mapping


@pytest.mark.parametrize("pairs,why", [
    (["ab"], "takes OLD:NEW"), ([":b"], "takes OLD:NEW"), (["a:"], "takes OLD:NEW"), (["a:b:c"], "takes OLD:NEW"),
    (["a:b", "a:c"], "maps 'a' twice"),
])
def test_bad_namespace_maps(pairs, why):
    with pytest.raises(InvalidInput, match=why):
        parse_namespace_map(pairs)


def test_safety_scope_follows_the_namespace_map_and_the_filter():
    scope_json = {"higress_namespace": "higress-system", "namespaces": ["shop", "ops"]}
    scope = safety_scope(scope_json, RestoreOptions(namespace_map={"shop": "shop2", "higress-system": "hs2"}))
    # a namespace map without -n restores only the mapped namespaces (issue 23 item 10): ops is not touched
    assert scope.namespaces == ["hs2", "shop2"] and scope.higress_namespace == "hs2"
    narrowed = safety_scope(scope_json, RestoreOptions(namespaces=["ops"]))
    assert narrowed.namespaces == ["ops"] and narrowed.higress_namespace == "higress-system"


def test_plan_tiers_run_in_catalogue_order():
    steps = [Step(Ref("", k, "ns", "x"), "v1", tier, Intent.CREATE) for k, tier in
             [("Ingress", 10), ("Secret", 2), ("Namespace", catalogue.NAMESPACE_TIER), ("x", catalogue.PRUNE_TIER)]]
    assert [t[0].tier for t in Plan(steps).tiers()] == [1, 2, 10, 12]


def test_every_tier_is_a_catalogue_row_with_a_reason():
    numbers = [t.number for t in catalogue.TIERS]
    assert numbers == list(range(len(numbers)))
    assert all(t.reason for t in catalogue.TIERS)
    assert {k.tier for k in catalogue.KINDS} <= set(numbers)
    assert catalogue.SECRETS.tier > catalogue.NAMESPACE_TIER and max(numbers) == catalogue.PRUNE_TIER


def result(action):
    return Result(Ref("", "Secret", "ns", "x"), "v1", action)


@pytest.mark.parametrize("actions,stopped,code", [
    ([Action.CREATED, Action.UNCHANGED], None, EXIT_OK),
    ([Action.CREATED, Action.SKIPPED], None, EXIT_PARTIAL),
    ([Action.CREATED, Action.FAILED], "forbidden", EXIT_PARTIAL),  # something applied before the cluster stopped us
    ([Action.FAILED, Action.FAILED], "forbidden", EXIT_UNREACHABLE),  # nothing could be applied
    ([Action.UNCHANGED, Action.FAILED], "forbidden", EXIT_UNREACHABLE),  # nothing written either
    ([], None, EXIT_OK),
])
def test_restore_exit_codes(actions, stopped, code):
    report = RestoreReport([result(a) for a in actions], dry_run=False, stopped=stopped,
                           stopped_code=EXIT_UNREACHABLE if stopped else None)
    assert report.exit_code == code


MAP = {"ai-apps": "ai-apps-dr"}


def test_a_mapped_routes_references_into_its_own_namespace_follow_and_others_stay():
    route = obj("HTTPRoute", "chat", "ai-apps", api="gateway.networking.k8s.io/v1", spec={
        "parentRefs": [{"name": "public", "namespace": "higress-system"}],
        "rules": [{"backendRefs": [{"name": "llm", "namespace": "ai-apps"}, {"name": "x", "namespace": "shared"}]}]})
    moved = map_namespaces(route, MAP)
    assert moved.ref.namespace == "ai-apps-dr"
    assert moved.obj["spec"]["parentRefs"] == [{"name": "public", "namespace": "higress-system"}]
    assert moved.obj["spec"]["rules"][0]["backendRefs"] == [{"name": "llm", "namespace": "ai-apps-dr"},
                                                            {"name": "x", "namespace": "shared"}]


def test_a_reference_grant_of_an_unmapped_namespace_is_reported_not_rewritten():
    grant = obj("ReferenceGrant", "allow-ai-apps-gw", "higress-system", api="gateway.networking.k8s.io/v1beta1",
                spec={"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "ai-apps"}],
                      "to": [{"group": "", "kind": "Secret"}]})
    notes: list[str] = []
    same = map_namespaces(grant, MAP, notes)
    assert same is grant and same.obj["spec"]["from"][0]["namespace"] == "ai-apps"
    assert notes == ["ReferenceGrant.gateway.networking.k8s.io higress-system/allow-ai-apps-gw is not in a mapped "
                     "namespace and keeps its references to mapped ones (spec.from[0].namespace): not rewritten"]


def test_wasmplugin_match_rules_follow_a_mapped_plugin_and_are_reported_for_an_unmapped_one():
    spec = {"matchRules": [{"ingress": ["ai-apps/chat", "shop/web"], "config": {}}]}
    mapped = map_namespaces(obj("WasmPlugin", "p", "ai-apps", api="extensions.higress.io/v1alpha1", spec=spec), MAP)
    assert mapped.obj["spec"]["matchRules"][0]["ingress"] == ["ai-apps-dr/chat", "shop/web"]
    notes: list[str] = []
    plugin = obj("WasmPlugin", "key-auth", "higress-system", api="extensions.higress.io/v1alpha1", spec=spec)
    assert map_namespaces(plugin, MAP, notes) is plugin
    assert "spec.matchRules[0].ingress[0]" in notes[0]


def test_an_ingress_moves_with_its_tls_secret_name():
    ingress = obj("Ingress", "web", "ai-apps", api="networking.k8s.io/v1",
                  spec={"tls": [{"hosts": ["a.example.com"], "secretName": "a-tls"}]})
    secret = obj("Secret", "a-tls", "ai-apps")
    chosen = choose([ingress, secret], RestoreOptions(namespace_map=MAP))
    assert {(o.ref.kind, o.ref.namespace) for o in chosen} == {("Ingress", "ai-apps-dr"), ("Secret", "ai-apps-dr")}
    assert chosen[0].obj["spec"]["tls"][0]["secretName"] == "a-tls"  # same namespace as the Secret again


GATEWAYS = [obj("Gateway", "api", "shop", api="gateway.networking.k8s.io/v1"),
            obj("Gateway", "mesh", "shop", api="networking.istio.io/v1")]


@pytest.mark.parametrize("given,expected", [
    (["Gateway"], ["api", "mesh"]), (["gateways.networking.istio.io"], ["mesh"]),
    (["gateways.gateway.networking.k8s.io", "Ingress"], ["api", "web"]),
])
def test_kind_names_the_same_objects_in_restore_diff_and_log(given, expected):
    """One reading of --kind (catalogue.named) for the three commands that take it."""
    objects = GATEWAYS + [o for o in OBJECTS if o.ref.kind == "Ingress" and o.ref.name == "web"]
    wanted = catalogue.named(given)
    restored = [o.ref.name for o in choose(objects, RestoreOptions(kinds=given))]
    diffed = sorted(c.ref.name for c in compare([], objects, kinds=wanted).changes)
    logged = sorted(o.ref.name for o in objects if timeline.Filter(wanted).wants(o.ref))
    assert sorted(restored) == diffed == logged == expected
    assert catalogue.named([]) is None and timeline.Filter().wants(objects[0].ref)
    with pytest.raises(InvalidInput, match="unknown kind 'Pod'"):
        catalogue.named(["Pod"])
