"""Generated from the reference table: for every row, an object naming an unlabelled target on the real API server
is snapshotted with it, restored with it (a restore of the referring object alone brings the target), and mapped
with it (a namespace map leaves nothing dangling). A route row gets one case per target kind and per spelling of
the route's name: Higress names a route `name` in its own namespace, `ns/name` elsewhere, with `GRPC/` before a
GRPCRoute's (pkg/ingress/kube/common/tool.go GenerateUniqueRouteName, gateway/istio/conversion.go
generateRouteName)."""

from __future__ import annotations

import json

import pytest
from conftest import create_namespace, create_objects, rand_name, run
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from hgbackup.kube import catalogue, references, refpaths, reftable

pytestmark = pytest.mark.kube
HOME, OWN = "home", "own"  # a route in the Higress namespace (bare name) or in the app namespace (ns/name)


def _cases() -> list[tuple[reftable.Row, tuple[str, str], str]]:
    """(row, target kind, spelling): one per row, and for a route row one per target kind and spelling."""
    out = []
    for row in reftable.REFERENCES:
        if row.form != "route":
            out.append((row, row.target, OWN))
            continue
        out += [(row, target, where) for target in row.targets for where in (OWN, HOME)]
    return out


ROWS = list(enumerate(_cases()))
ROUTE_KINDS = {"HTTPRoute", "GRPCRoute"}


def test_the_cases_cover_every_route_spelling():
    """The route rows name Ingresses, HTTPRoutes and GRPCRoutes, each in both spellings."""
    spelled = {(target[1], where) for _, (row, target, where) in ROWS if row.form == "route"}
    assert spelled == {(k, w) for k in ("Ingress", "HTTPRoute", "GRPCRoute") for w in (OWN, HOME)}


def _set(node: dict, tokens: tuple, value) -> None:
    """Build the path `tokens` inside `node`, ending in `value` (`[]`: a one-item list)."""
    head, rest = tokens[0], tokens[1:]
    if rest and rest[0] == ():
        if len(rest) == 1:
            node[head] = [value]
        else:
            node[head] = [{}]
            _set(node[head][0], rest[1:], value)
    elif rest:
        _set(node.setdefault(head, {}), rest, value)
    else:
        node[head] = value


def _valid_ingress(spec: dict) -> None:
    """What the API server requires of an Ingress around the one field a row sets."""
    if "rules" not in spec:
        spec.setdefault("defaultBackend", {"service": {"name": "s"}})
    backends = [spec["defaultBackend"]] if "defaultBackend" in spec else []
    for rule in spec.get("rules") or []:
        for path in rule["http"]["paths"]:
            path.setdefault("path", "/")
            path.setdefault("pathType", "Prefix")
            backends.append(path["backend"])
    for backend in backends:
        if "service" in backend:
            backend["service"].setdefault("port", {"number": 80})


def _api(group: str, kind: str) -> str:
    k = catalogue.BY_GROUP_KIND[(group, kind)]
    return k.api_version(k.versions[0])


def _route_value(kind: str, namespace: str, name: str, where: str) -> str:
    """A WasmPlugin rule's name of a route, written out as Higress spells it (see the module's docstring)."""
    prefix = "GRPC/" if kind == "GRPCRoute" else ""
    return f"{prefix}{name}" if where == HOME else f"{prefix}{namespace}/{name}"


def _target(group: str, kind: str, namespace: str | None, name: str, gateway_class: str = "") -> dict:
    gateway = ({"gatewayClassName": gateway_class, "listeners": [{"name": "h", "protocol": "HTTP", "port": 80}]}
               if group == catalogue.GATEWAY else {"servers": []})
    specs = {"Service": {"ports": [{"port": 80}]}, "GatewayClass": {"controllerName": "example.com/none"},
             "Gateway": gateway, "Issuer": {"selfSigned": {}}, "ClusterIssuer": {"selfSigned": {}},
             "Ingress": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}}
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    obj = {"apiVersion": _api(group, kind), "kind": kind, "metadata": meta}
    if kind == "Secret":
        obj["stringData"] = {"k": "v"}  # no label: only the reference brings it
    elif kind in specs or kind in ("McpBridge", "Http2Rpc") or kind in ROUTE_KINDS:
        obj["spec"] = specs.get(kind, {})
    return obj


def build(i: int, case: tuple, hns: str, app: str) -> tuple[dict, dict]:
    """(referring object, target) for one case, in namespaces `hns` and `app`."""
    row, (group, kind), spelling = case
    own = hns if row.home_only else app
    name = row.fixed_name or f"t{i}-{rand_name('x')[2:]}"
    where = {reftable.HIGRESS_NS: hns, reftable.CLUSTER: None,
             reftable.CERT_MANAGER_NS: catalogue.CERT_MANAGER_NAMESPACE}.get(row.namespace, own)
    if row.form == "route" and spelling == HOME:
        where = hns
    form_values = {"name": name, "ns/name": name, "host": f"{name}.{own}.svc.cluster.local",
                   "lines": f"{name}.{own}.svc.cluster.local:80", "route": _route_value(kind, own, name, spelling),
                   "secrets": name}
    if row.form == "object":
        value = {"name": name}
        if row.ref_default != row.accepts:
            value.update({"group": row.accepts[0], "kind": row.accepts[1]})
            if row.ref_default == (catalogue.CORE, ""):
                value = {"apiGroup": row.accepts[0], "kind": row.accepts[1], "name": name}
        if row.ref_kind and row.ref_kind != row.target:  # a registry service of McpBridge default
            value["name"] = "provider.static"
    else:
        value = form_values[row.form]
    referrer = {"apiVersion": _api(row.group, row.kind), "kind": row.kind,
                "metadata": {"name": f"r{i}", **({"namespace": own} if row.kind != "ClusterIssuer" else {})}}
    tokens = refpaths.tokens(row.path.replace(".**", ".ca.secretName"))
    _set(referrer, tokens, value)
    if row.when is not None:
        referrer["metadata"]["labels"] = {"higress.io/config-map-type": "domain"}
    if row.kind == "Ingress":
        _valid_ingress(referrer.setdefault("spec", {}))
    assert any(r.row is row and r.names(group, kind, where, name) for r in references.of(referrer, hns)), case
    return referrer, _target(group, kind, where, name, f"gc-{app}")


@pytest.fixture
def table_cluster(k8s, crds, cleanup):
    hns, app = create_namespace(k8s, cleanup, "hs"), create_namespace(k8s, cleanup, "app")
    core = client.CoreV1Api(k8s)
    try:  # kept afterwards: the test ground runs no namespace controller, so a deleted namespace stays terminating
        core.create_namespace({"metadata": {"name": catalogue.CERT_MANAGER_NAMESPACE}})
    except ApiException as exc:
        if exc.status != 409:
            raise
    pairs = [build(i, case, hns, app) for i, case in ROWS]
    targets = {(t["kind"], t["metadata"].get("namespace"), t["metadata"]["name"]): t for _, t in pairs}
    # what the rows' objects need besides: an Ingress a default backend, a target Gateway its class
    targets["default backend"] = _target("", "Service", app, "s")
    targets["home default backend"] = _target("", "Service", hns, "s")  # of a target Ingress in the Higress namespace
    targets["class"] = _target(catalogue.GATEWAY, "GatewayClass", None, f"gc-{app}")
    create_objects(k8s, list(targets.values()) + [r for r, _ in pairs], cleanup=cleanup)
    accepted = {"status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                                           "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    for target in targets.values():  # the test ground runs no gateway controller: accept the classes as one would
        if target["kind"] == "GatewayClass":
            client.CustomObjectsApi(k8s).patch_cluster_custom_object_status(
                catalogue.GATEWAY, "v1", "gatewayclasses", target["metadata"]["name"], accepted)
    return hns, app, pairs


def test_every_row_is_snapshotted_restored_and_mapped_with_its_target(table_cluster, k8s, kubeconfig, tmp_path,
                                                                      cleanup):
    hns, app, pairs = table_cluster
    store = str(tmp_path / "store")
    scope = ["--higress-namespace", hns, "-n", hns, "-n", app, "-n", catalogue.CERT_MANAGER_NAMESPACE,
             "--with-services", "--with-cert-manager"]
    sid = json.loads(run("snapshot", "--kubeconfig", kubeconfig, "--store", store, *scope, "-o", "json").stdout)["id"]
    held = {(o["kind"], o["namespace"], o["name"])
            for o in json.loads(run("show", sid, "--store", store, "--objects", "-o", "json").stdout)["objects"]}
    run("check", sid, "--store", store, code=0)

    for (i, (row, _, _)), (referrer, target) in zip(ROWS, pairs):
        meta = target["metadata"]
        assert (target["kind"], meta.get("namespace"), meta["name"]) in held, row
        if row.attaches:
            continue  # a plugin rule needs nothing: the merge of rules is tested with the route (closure tests)
        ns = referrer["metadata"].get("namespace")
        doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--dry-run",
                             "--kind", f"{row.kind}", *(["-n", ns] if ns else []), "--name", f"r{i}",
                             "-o", "json").stdout)
        found = [r for r in doc["results"] if (r["ref"]["kind"], r["ref"]["namespace"], r["ref"]["name"])
                 == (target["kind"], meta.get("namespace"), meta["name"])]
        assert found and f"needed by {row.kind}" in found[0]["message"], (row, found)

    staging = rand_name("staging")
    cleanup(lambda: client.CoreV1Api(k8s).delete_namespace(staging))
    doc = json.loads(run("restore", sid, "--store", store, "--kubeconfig", kubeconfig, "--namespace-map",
                         f"{app}:{staging}", "--yes", "--no-safety-snapshot", "-o", "json").stdout)
    assert doc["summary"]["failed"] == 0 and not doc["notes"], doc["notes"]
    moved = {(r["ref"]["kind"], r["ref"]["name"]) for r in doc["results"] if r["ref"]["namespace"] == staging}
    for (i, (row, _, _)), (referrer, target) in zip(ROWS, pairs):
        if referrer["metadata"].get("namespace") == app:
            assert (row.kind, f"r{i}") in moved, row
        if target["metadata"].get("namespace") == app:
            assert (target["kind"], target["metadata"]["name"]) in moved, row
    # every reference of the mapped objects still resolves: nothing dangles in the new namespace
    run("check", "live", "--kubeconfig", kubeconfig, "--higress-namespace", hns, "-n", staging, "-n", hns,
        "-n", catalogue.CERT_MANAGER_NAMESPACE, "--with-cert-manager", code=0)
