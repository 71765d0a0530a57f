"""References between objects, as data: which field of which kind names which other object, and in which namespace
the controller looks for it.

One row per path. Every consumer reads these rows and nothing else: capture (a snapshot takes the Secrets and
Services its objects name), restore (a selective restore brings what it restores needs; WasmPlugin rules naming a
restored route are merged), prune (nothing a live object names is deleted), namespace maps (each reference of a
mapped object is rewritten or reported), diff and `hgbackup check` (dangling references).

Namespace rules, as the controllers resolve them:
- SAME: the referring object's namespace; a namespace written into the reference is not followed (reported).
- GIVEN: the namespace written in the reference (`namespace:` or `ns/name`), else the referring object's.
- GRANTED: as GIVEN, but another namespace only where a ReferenceGrant in that namespace allows it.
- HIGRESS: always the Higress namespace. CLUSTER: a cluster-scoped object. ANY: any namespace (matched by name).
- CERT_MANAGER: cert-manager's cluster resource namespace (the Secrets a ClusterIssuer names).
- HOST: a DNS name: `name` is the referring object's namespace, `name.ns.svc[.cluster.local][:port]` is `ns`;
  any other host (a domain, a registry service) names no Kubernetes object.
- ROUTE: a Higress route name: `name` is in the Higress namespace, `ns/name` elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .catalogue import CERT_MANAGER, CERT_MANAGER_NAMESPACE, CORE, GATEWAY, HIGRESS, ISTIO, NETWORKING, group_of

SAME, GIVEN, GRANTED, HIGRESS_NS, CLUSTER, ANY, CERT_MANAGER_NS, HOST, ROUTE = (
    "same", "given", "granted", "higress", "cluster", "any", "cert-manager", "host", "route")
ANY_NAMESPACE = "*"  # a target matched by name in whichever namespace holds it (rule ANY)

HIGRESS_SRC = "alibaba/higress "
GATEWAY_SRC = "kubernetes-sigs/gateway-api apis/v1/"
ISTIO_SRC = "istio/api networking/v1alpha3/"


@dataclass(frozen=True)
class Row:
    """One path that names another object. `form`: how the value names it (`name`, `ns/name`, `object` = a
    {group, kind, name, namespace} reference, `host`, `route`, `lines` = higress.io/destination lines of hosts).
    `ref_default`: (group, kind) an `object` reference means when it omits them; the row only covers references
    to `targets`. `when`: only objects this accepts (domain ConfigMaps)."""

    kind: str
    group: str
    path: str
    targets: tuple[tuple[str, str], ...]
    namespace: str
    form: str
    source: str
    ref_default: tuple[str, str] | None = None
    when: Callable[[dict], bool] | None = field(default=None, compare=False)
    fixed_name: str | None = None  # the one object the controller reads (McpBridge `default`)
    ref_kind: tuple[str, str] | None = None  # what an `object` reference must say, when not the target itself
    # the referring object attaches to the target rather than needing it (a plugin rule naming a route): restore
    # merges such rules, prune and the closure of a restore do not count them as needs
    attaches: bool = False
    home_only: bool = False  # read only from objects in the Higress namespace (console domain ConfigMaps)

    @property
    def accepts(self) -> tuple[str, str]:
        return self.ref_kind or self.targets[0]

    @property
    def target(self) -> tuple[str, str]:
        return self.targets[0]

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


SECRET, SERVICE = (CORE, "Secret"), (CORE, "Service")
ING = (NETWORKING, "Ingress")


def _domain_configmap(obj: dict) -> bool:
    return ((obj.get("metadata") or {}).get("labels") or {}).get("higress.io/config-map-type") == "domain"


def _annotation(key: str) -> list[str]:
    return [f'metadata.annotations["{prefix}{key}"]' for prefix in ("nginx.ingress.kubernetes.io/", "higress.io/")]


def _rows() -> tuple[Row, ...]:
    downstream = HIGRESS_SRC + "pkg/ingress/kube/annotations/downstreamtls.go"
    upstream = HIGRESS_SRC + "pkg/ingress/kube/annotations/upstreamtls.go"
    ingress_v1 = HIGRESS_SRC + "pkg/ingress/kube/ingressv1/controller.go"
    route_names = HIGRESS_SRC + "pkg/ingress/config/ingress_config.go (_match_route_), common/tool.go " \
                                "GenerateUniqueRouteName, gateway/istio/conversion.go generateRouteName"
    cm = "cert-manager pkg/apis/certmanager/v1/types_issuer.go, types_certificate.go"
    rows = [
        Row("Ingress", NETWORKING, "spec.tls[].secretName", (SECRET,), SAME, "name", ingress_v1),
        *(Row("Ingress", NETWORKING, p, (SECRET,), SAME, "ns/name", downstream)
          for p in _annotation("auth-tls-secret")),
        # Higress reads `ns/name` from another namespace too; hgbackup does not follow it there: an annotation
        # anyone may write to an Ingress must not make a snapshot carry another namespace's Secret.
        *(Row("Ingress", NETWORKING, p, (SECRET,), SAME, "ns/name", upstream + " (another namespace: not followed)")
          for p in _annotation("proxy-ssl-secret")),
        *(Row("Ingress", NETWORKING, p, (SECRET,), SAME, "ns/name",
              "kubernetes/ingress-nginx internal/ingress/annotations/auth/main.go (Higress 2.x ignores it: migrate)")
          for p in _annotation("auth-secret")),
        Row("Ingress", NETWORKING, "spec.defaultBackend.service.name", (SERVICE,), SAME, "name", ingress_v1),
        Row("Ingress", NETWORKING, "spec.rules[].http.paths[].backend.service.name", (SERVICE,), SAME, "name",
            ingress_v1),
        Row("Ingress", NETWORKING, "spec.rules[].http.paths[].backend.resource", ((HIGRESS, "McpBridge"),),
            HIGRESS_NS, "object", HIGRESS_SRC + "pkg/ingress/kube/common/tool.go (ValidateBackendResource)",
            ref_default=(CORE, ""), fixed_name="default"),
        Row("Ingress", NETWORKING, 'metadata.annotations["higress.io/destination"]', (SERVICE,), HOST, "lines",
            HIGRESS_SRC + "pkg/ingress/kube/annotations/destination.go, common/tool.go (SplitServiceFQDN)"),
        Row("Ingress", NETWORKING, 'metadata.annotations["higress.io/rpc-destination-name"]', ((HIGRESS, "Http2Rpc"),),
            ANY, "name", HIGRESS_SRC + "pkg/ingress/config/ingress_config.go (http2rpcs keyed by name alone)"),
        # spec.ingressClassName is no row: Higress matches the class by name, with or without an IngressClass
        # object (ingressv1/controller.go shouldProcessIngressWithClass)
        Row("Gateway", GATEWAY, "spec.gatewayClassName", ((GATEWAY, "GatewayClass"),), CLUSTER, "name",
            GATEWAY_SRC + "gateway_types.go"),
        Row("Gateway", GATEWAY, "spec.listeners[].tls.certificateRefs[]", (SECRET,), GRANTED, "object",
            GATEWAY_SRC + "gateway_types.go (certificateRefs)", ref_default=(CORE, "Secret")),
        Row("Gateway", ISTIO, "spec.servers[].tls.credentialName", (SECRET,), SAME, "name",
            ISTIO_SRC + "gateway.proto (credential_name; hgbackup follows the Gateway's own namespace)"),
        Row("DestinationRule", ISTIO, "spec.trafficPolicy.tls.credentialName", (SECRET,), SAME, "name",
            ISTIO_SRC + "destination_rule.proto (credential_name)"),
        Row("DestinationRule", ISTIO, "spec.host", (SERVICE,), HOST, "host", ISTIO_SRC + "destination_rule.proto"),
        Row("VirtualService", ISTIO, "spec.gateways[]", ((ISTIO, "Gateway"),), GIVEN, "ns/name",
            ISTIO_SRC + "virtual_service.proto (gateways: <gateway namespace>/<gateway name>)"),
        Row("VirtualService", ISTIO, "spec.hosts[]", (SERVICE,), HOST, "host", ISTIO_SRC + "virtual_service.proto"),
        *(Row("VirtualService", ISTIO, f"spec.{section}[].route[].destination.host", (SERVICE,), HOST, "host",
              ISTIO_SRC + "virtual_service.proto (short names resolve in the rule's namespace)")
          for section in ("http", "tcp", "tls")),
        Row("McpBridge", HIGRESS, "spec.registries[].authSecretName", (SECRET,), SAME, "name",
            HIGRESS_SRC + "registry/reconcile/reconcile.go (Secrets(r.namespace).Get)"),
        Row("WasmPlugin", "extensions.higress.io", "spec.matchRules[].ingress[]", (ING, (GATEWAY, "HTTPRoute")),
            ROUTE, "route", route_names, attaches=True),
        Row("WasmPlugin", "extensions.higress.io", "spec.matchRules[].service[]", (SERVICE,), HOST, "host",
            HIGRESS_SRC + "pkg/ingress/config/ingress_config.go (_match_service_)", attaches=True),
        Row("ConfigMap", CORE, "data.cert", (SECRET,), HIGRESS_NS, "name",
            "higress-group/higress-console backend/sdk/.../kubernetes/KubernetesModelConverter.java (K8S_CERT)",
            when=_domain_configmap, home_only=True),
        Row("BackendTLSPolicy", GATEWAY, "spec.targetRefs[]", (SERVICE,), SAME, "object",
            GATEWAY_SRC + "backendtlspolicy_types.go", ref_default=(CORE, "Service")),
        # BackendTLSPolicy spec.validation.caCertificateRefs (ConfigMaps in the policy's namespace) is no row yet:
        # a snapshot holds ConfigMaps of the Higress namespace only, so it could neither follow nor restore them
        Row("Certificate", CERT_MANAGER, "spec.issuerRef", ((CERT_MANAGER, "Issuer"),), SAME, "object", cm,
            ref_default=(CERT_MANAGER, "Issuer")),
        Row("Certificate", CERT_MANAGER, "spec.issuerRef", ((CERT_MANAGER, "ClusterIssuer"),), CLUSTER, "object", cm,
            ref_default=(CERT_MANAGER, "Issuer")),
        *(Row(kind, CERT_MANAGER, "spec.**", (SECRET,), SAME, "secrets", cm) for kind in ("Issuer", "Certificate")),
        Row("ClusterIssuer", CERT_MANAGER, "spec.**", (SECRET,), CERT_MANAGER_NS, "secrets",
            cm + "; cert-manager --cluster-resource-namespace"),
    ]
    for kind in ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute"):
        src = GATEWAY_SRC + ("grpcroute_types.go" if kind == "GRPCRoute" else "httproute_types.go")
        rows += [
            Row(kind, GATEWAY, "spec.parentRefs[]", ((GATEWAY, "Gateway"),), GIVEN, "object",
                GATEWAY_SRC + "shared_types.go (ParentReference: unset namespace is the route's)",
                ref_default=(GATEWAY, "Gateway")),
            Row(kind, GATEWAY, "spec.rules[].backendRefs[]", (SERVICE,), GRANTED, "object",
                src + " (BackendRef: another namespace needs a ReferenceGrant)", ref_default=(CORE, "Service")),
            Row(kind, GATEWAY, "spec.rules[].backendRefs[]", ((HIGRESS, "McpBridge"),), HIGRESS_NS, "object",
                HIGRESS_SRC + "pkg/ingress/kube/gateway/istio/conversion.go (networking.higress.io Service: a "
                              "registry of McpBridge default)",
                ref_default=(CORE, "Service"), fixed_name="default", ref_kind=(HIGRESS, "Service")),
        ]
    return tuple(rows)


REFERENCES: tuple[Row, ...] = _rows()
BY_SOURCE: dict[tuple[str, str], tuple[Row, ...]] = {}
for _row in REFERENCES:
    BY_SOURCE[(_row.group, _row.kind)] = BY_SOURCE.get((_row.group, _row.kind), ()) + (_row,)
# Kinds a snapshot takes because something names them (the others are in scope whole, or not at all).
FOLLOWED = frozenset({SECRET, SERVICE})


# -- reading the rows ------------------------------------------------------------------------------------------
_TOKEN = re.compile(r'\.?([A-Za-z0-9_*-]+)|\["([^"]+)"\]|(\[\])')


def _tokens(path: str) -> tuple:
    out = []
    for name, quoted, each in _TOKEN.findall(path):
        out.append([] if each else (quoted or name))
    return tuple(tuple(t) if isinstance(t, list) else t for t in out)


_PATHS: dict[str, tuple] = {row.path: _tokens(row.path) for row in REFERENCES}


def _values(node, tokens: tuple, where: str) -> Iterator[tuple]:
    """(value, concrete path, container, key) of every value at `tokens` below `node`."""
    if not tokens:
        return
    head, rest = tokens[0], tokens[1:]
    if head == ():
        if isinstance(node, list):
            for i, item in enumerate(node):
                if rest:
                    yield from _values(item, rest, f"{where}[{i}]")
                else:
                    yield item, f"{where}[{i}]", node, i
        return
    if head == "**":
        yield from _secret_refs(node, where)
        return
    if not isinstance(node, dict) or head not in node:
        return
    here = f'{where}["{head}"]' if "/" in head or "." in head else (f"{where}.{head}" if where else head)
    if rest:
        yield from _values(node[head], rest, here)
    else:
        yield node[head], here, node, head


def _secret_refs(node, where: str) -> Iterator[tuple]:
    """cert-manager's Secret references: every `...SecretRef`/`secretRef`/`credentialsRef` with a name, and
    `secretName` (a Certificate's issued Secret, a CA issuer's key pair)."""
    stack = [(node, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                here = f"{path}.{key}"
                if (key.endswith(("SecretRef", "secretRef")) or key == "credentialsRef") and isinstance(value, dict):
                    if isinstance(value.get("name"), str):
                        yield value["name"], here + ".name", value, "name"
                elif key == "secretName" and isinstance(value, str):
                    yield value, here, item, key
                else:
                    stack.append((value, here))
        elif isinstance(item, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(item))


@dataclass(eq=False, slots=True)
class Reference:
    """One reference an object holds: the row, the target's namespace (None: cluster-scoped; ANY_NAMESPACE: any)
    and name, where it is written, whether the namespace is written in it (a namespace map rewrites those), and
    why the controller does not follow it (`refused`, empty when it does)."""

    row: Row
    source_namespace: str | None
    source_name: str
    namespace: str | None
    name: str
    where: str
    explicit: bool = False
    refused: str = ""
    _container: object = None
    _key: object = None
    _token: str = ""

    @property
    def source(self) -> str:
        """The referring object, spelled as everywhere else (model.Ref): `Kind.group ns/name`."""
        kind = f"{self.row.kind}.{self.row.group}" if self.row.group else self.row.kind
        where = f"{self.source_namespace}/" if self.source_namespace else ""
        return f"{kind} {where}{self.source_name}"

    @property
    def cross(self) -> bool:
        """Needs a ReferenceGrant (GRANTED rule, another namespace)."""
        return self.row.namespace == GRANTED and self.namespace != self.source_namespace

    def target_text(self) -> str:
        kinds = " or ".join(k for _, k in self.row.targets)
        if self.namespace is None:
            return f"{kinds} {self.name}"
        return f"{kinds} {'(any namespace)/' if self.namespace == ANY_NAMESPACE else self.namespace + '/'}{self.name}"

    def names(self, group: str, kind: str, namespace: str | None, name: str) -> bool:
        """Whether this reference names that object."""
        return ((group, kind) in self.row.targets and name == self.name
                and self.namespace in (namespace, ANY_NAMESPACE))

    def rewrite(self, namespace: str, higress_namespace: str) -> bool:
        """Point the reference at `namespace` in the object it was read from; False when its form cannot say it."""
        container, key, form = self._container, self._key, self.row.form
        if container is None:
            return False
        value = container[key]
        if form == "object" and isinstance(value, dict):
            value["namespace"] = namespace
        elif form == "ns/name":
            container[key] = f"{namespace}/{self.name}"
        elif form == "route":
            container[key] = self.name if namespace == higress_namespace else f"{namespace}/{self.name}"
        elif form in ("host", "lines") and self._token:
            new = _host_in(self._token, namespace)
            container[key] = re.sub(rf"(?<![\w.-]){re.escape(self._token)}(?![\w.-])", new, value) \
                if form == "lines" else value.replace(self._token, new, 1)
            self._token = new
        else:
            return False
        self.namespace = namespace
        return True


def _host_in(host: str, namespace: str) -> str:
    parts = host.split(".")
    return ".".join([parts[0], namespace, *parts[2:]])


def _host(value: str, own: str | None) -> tuple[str | None, str, bool, str] | None:
    """(namespace, name, explicit, the host as written) of a cluster-local host; None for any other host."""
    host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    parts = host.split(".")
    if len(parts) == 1 and host and host != "*":
        return own, host, False, host
    if len(parts) in (3, 5) and parts[2] == "svc" and (len(parts) == 3 or parts[3:] == ["cluster", "local"]) \
            and all(parts):
        return parts[1], parts[0], True, host
    return None


def _named(row: Row, value, own: str | None, higress_namespace: str) -> Iterator[tuple]:
    """(given namespace or None, name, explicit, token) for each name one value holds, by the row's form."""
    form = row.form
    if form in ("name", "secrets"):
        if isinstance(value, str) and value:
            yield None, value, False, ""
    elif form == "ns/name":
        if isinstance(value, str) and value:
            ns, slash, name = value.rpartition("/")
            if name:
                yield (ns or None), name, bool(slash), ""
    elif form == "object":
        if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]:
            group, kind = row.ref_default or row.target
            group = value.get("group", value.get("apiGroup", group)) or ""
            if (("" if group == "core" else group), value.get("kind", kind)) == row.accepts:
                given = value.get("namespace")
                yield (given if isinstance(given, str) and given else None), value["name"], "namespace" in value, ""
    elif form == "host":
        found = _host(value, own) if isinstance(value, str) else None
        if found:
            yield found
    elif form == "route":
        if isinstance(value, str) and value and value.count("/") <= 1:
            ns, slash, name = value.rpartition("/")
            yield (ns if slash else higress_namespace), name, bool(slash), ""
    elif form == "lines" and isinstance(value, str):
        for line in value.splitlines():
            hosts = [t for t in line.split() if not t.endswith("%")]
            found = _host(hosts[0], own) if hosts else None
            if found:
                yield found


def _resolve(row: Row, given: str | None, name: str, own: str | None, higress_namespace: str) -> tuple[str | None,
                                                                                                          str, str]:
    """(target namespace, target name, why not followed) by the row's namespace rule."""
    rule = row.namespace
    if rule == SAME:
        if given and given != own:
            return given, name, (f"names {row.target[1]} {given}/{name} in another namespace; it is read only from "
                                 f"the {row.kind}'s own namespace")
        return own, name, ""
    if rule in (GIVEN, GRANTED, HOST, ROUTE):
        return given or own, name, ""
    if rule == HIGRESS_NS:
        if row.fixed_name and row.accepts == row.target and name != row.fixed_name:
            return higress_namespace, name, f"names {row.target[1]} {name}; Higress reads only {row.fixed_name}"
        return higress_namespace, row.fixed_name or name, ""
    if rule == CERT_MANAGER_NS:
        return CERT_MANAGER_NAMESPACE, name, ""
    if rule == ANY:
        return ANY_NAMESPACE, name, ""
    return None, name, ""  # CLUSTER


_ROWS_FOR: dict[tuple, tuple] = {}


def _rows_for(group: str, kind: str, kinds) -> tuple:
    """(row, leading dict fields, the rest of its path, the leading fields' path) of each row of a kind naming
    one of `kinds` (all when None), cached."""
    key = (group, kind, kinds if kinds is None or isinstance(kinds, frozenset) else frozenset(kinds))
    if key not in _ROWS_FOR:
        picked = []
        for row in BY_SOURCE.get((group, kind), ()):
            if kinds is None or set(kinds).intersection(row.targets):
                tokens = _PATHS[row.path]
                lead = []
                for token in tokens[:-1]:
                    if not isinstance(token, str) or token == "**":
                        break
                    lead.append(token)
                where = ""
                for token in lead:
                    where = f'{where}["{token}"]' if "/" in token or "." in token else (
                        f"{where}.{token}" if where else token)
                picked.append((row, tuple(lead), tokens[len(lead):], where))
        _ROWS_FOR[key] = tuple(picked)
    return _ROWS_FOR[key]


def of(obj: dict, higress_namespace: str, kinds=None, *, rewritable: bool = True) -> list[Reference]:
    """Every reference `obj` holds, by the table (followed or not: see Reference.refused, `followed`); only those
    naming one of `kinds` ((group, kind) pairs) when given. `rewritable=False`: the references do not keep hold
    of the object (a capture keeps references of objects already packed and freed)."""
    rows = _rows_for(group_of(obj.get("apiVersion", "")), obj.get("kind", ""), kinds)
    if not rows:
        return []
    meta = obj.get("metadata") or {}
    own, source_name = meta.get("namespace") or None, meta.get("name", "")
    found = []
    for row, lead, rest, lead_where in rows:
        node = obj
        for token in lead:  # the path's leading fields, looked up without a generator (most objects lack most)
            node = node.get(token) if isinstance(node, dict) else None
            if node is None:
                break
        if node is None or (row.when is not None and not row.when(obj)) or (row.home_only
                                                                           and own != higress_namespace):
            continue
        for value, where, container, key in _values(node, rest, lead_where):
            for given, name, explicit, token in _named(row, value, own, higress_namespace):
                namespace, name, refused = _resolve(row, given, name, own, higress_namespace)
                found.append(Reference(row, own, source_name, namespace, name, where, explicit, refused,
                                       *((container, key, token) if rewritable else ())))
    return found


@dataclass(frozen=True)
class Grant:
    """One permission of a ReferenceGrant: objects of (from_group, from_kind) in `from_namespace` may name objects
    of (to_group, to_kind) in `namespace` (`name`: any when None)."""

    namespace: str
    grant: str  # the ReferenceGrant's name
    from_group: str
    from_kind: str
    from_namespace: str
    to_group: str
    to_kind: str
    name: str | None


class Grants:
    """The ReferenceGrants among some objects (gateway-api apis/v1beta1/referencegrant_types.go)."""

    def __init__(self, objects: Iterable[dict] = ()):
        self.rules: list[Grant] = []
        for obj in objects:
            if obj.get("kind") != "ReferenceGrant" or group_of(obj.get("apiVersion", "")) != GATEWAY:
                continue
            meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
            for src in spec.get("from") or []:
                for to in spec.get("to") or []:
                    if isinstance(src, dict) and isinstance(to, dict) and src.get("namespace"):
                        self.rules.append(Grant(meta.get("namespace") or "", meta.get("name", ""),
                                                _group(src.get("group")), src.get("kind", ""), src["namespace"],
                                                _group(to.get("group")), to.get("kind", ""), to.get("name") or None))

    def allowing(self, ref: Reference) -> Grant | None:
        """The grant that lets `ref` cross into its target's namespace, or None."""
        for g in self.rules:
            if (g.namespace == ref.namespace and g.from_namespace == ref.source_namespace
                    and (g.from_group, g.from_kind) == (ref.row.group, ref.row.kind)
                    and (g.to_group, g.to_kind) in ref.row.targets and g.name in (None, ref.name)):
                return g
        return None


def _group(value) -> str:
    return "" if value in (None, "core") else value


def followed(ref: Reference, grants: Grants) -> bool:
    """Whether the controller follows `ref` (refused references and cross-namespace ones without a grant: no)."""
    return not ref.refused and (not ref.cross or grants.allowing(ref) is not None)


def why_not(ref: Reference) -> str:
    """The note for a reference the controller does not follow."""
    if ref.refused:
        return f"{ref.source}: {ref.where} {ref.refused}, so it was not fetched"
    return (f"{ref.source}: {ref.where} names {ref.target_text()} in another namespace and no ReferenceGrant "
            "allows it, so it was not fetched")


def needs(objects: Iterable[dict], higress_namespace: str, kinds=None) -> dict[tuple, str]:
    """(group, kind, namespace, name) of every object that `objects` need (references the controllers follow,
    attachments left out), of `kinds` ((group, kind) pairs) when given, each with the first referring object.
    ANY_NAMESPACE targets keep that namespace (see `needed_by`)."""
    objects = list(objects)
    grants = Grants(objects)
    found: dict[tuple, str] = {}
    for obj in objects:
        for ref in of(obj, higress_namespace, kinds, rewritable=False):
            if ref.row.attaches or not followed(ref, grants):
                continue
            for group, kind in ref.row.targets:
                if kinds is None or (group, kind) in kinds:
                    found.setdefault((group, kind, ref.namespace, ref.name), ref.source)
    return found


def needed_by(found: dict[tuple, str], group: str, kind: str, namespace: str | None, name: str) -> str | None:
    """The referring object (from `needs`) that needs this object, or None."""
    return found.get((group, kind, namespace, name)) or found.get((group, kind, ANY_NAMESPACE, name))


def needing_kinds(target_kinds) -> dict[tuple[str, str], bool]:
    """(group, kind) of every kind that can need one of `target_kinds`: True when such objects are read only in
    the Higress namespace (home_only rows), so listing that namespace is enough."""
    wanted = set(target_kinds)
    out: dict[tuple[str, str], bool] = {}
    for row in REFERENCES:
        if not row.attaches and wanted & set(row.targets):
            out[(row.group, row.kind)] = out.get((row.group, row.kind), True) and row.home_only
    return out


def route_name(namespace: str | None, name: str, higress_namespace: str) -> str:
    """How a WasmPlugin rule names a route (ROUTE rule)."""
    return name if namespace == higress_namespace else f"{namespace}/{name}"
