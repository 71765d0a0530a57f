"""The reference table, as data: which field of which kind names which other object, and in which namespace the
controller looks for it. One row per path, each naming the source it follows. Every consumer reads these rows
through references.py and nothing else: capture (a snapshot takes the Secrets and Services its objects name),
restore (a selective restore brings what it restores needs; WasmPlugin rules naming a restored route are merged),
prune (nothing a live object names is deleted), namespace maps (each reference of a mapped object is rewritten or
reported), diff and `hgbackup check` (dangling references).

Namespace rules, as the controllers resolve them:
- SAME: the referring object's namespace; a namespace written into the reference is not followed (reported).
- GIVEN: the namespace written in the reference (`namespace:` or `ns/name`), else the referring object's.
- GRANTED: as GIVEN, but another namespace only where a ReferenceGrant in that namespace allows it.
- HIGRESS: always the Higress namespace. CLUSTER: a cluster-scoped object. ANY: any namespace (matched by name).
- CERT_MANAGER: cert-manager's cluster resource namespace (the Secrets a ClusterIssuer names).
- HOST: a DNS name: `name` is the referring object's namespace, `name.ns.svc[.cluster.local][:port]` is `ns`;
  any other host (a domain, a registry service) names no Kubernetes object.
- ROUTE: a Higress route name: `name` is in the Higress namespace, `ns/name` elsewhere, and a GRPCRoute's names
  start with `GRPC/` (ROUTE_PREFIXES; references.route_name spells them, references.of reads them).

Paths (`spec.rules[].backendRefs[]`, `metadata.annotations["higress.io/destination"]`, `spec.**` for every Secret
reference below) are read by refpaths.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .catalogue import BY_GROUP_KIND, CERT_MANAGER, CORE, GATEWAY, HIGRESS, ISTIO, NETWORKING

SAME, GIVEN, GRANTED, HIGRESS_NS, CLUSTER, ANY, CERT_MANAGER_NS, HOST, ROUTE = (
    "same", "given", "granted", "higress", "cluster", "any", "cert-manager", "host", "route")

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
HTTP_ROUTE, GRPC_ROUTE = (GATEWAY, "HTTPRoute"), (GATEWAY, "GRPCRoute")
# what Higress puts before a route kind's names (gateway/istio/conversion.go generateRouteName: routeType "GRPC";
# Ingresses and HTTPRoutes have none)
ROUTE_PREFIXES = {GRPC_ROUTE: "GRPC/"}


def _domain_configmap(obj: dict) -> bool:
    return ((obj.get("metadata") or {}).get("labels") or {}).get("higress.io/config-map-type") == "domain"


def _annotation(key: str) -> list[str]:
    return [f'metadata.annotations["{prefix}{key}"]' for prefix in ("nginx.ingress.kubernetes.io/", "higress.io/")]


def _route_rows(kind: str) -> tuple[Row, ...]:
    """The rows every Gateway API route kind has: its parents, and its backends (Services, or McpBridge's)."""
    src = GATEWAY_SRC + ("grpcroute_types.go" if kind == "GRPCRoute" else "httproute_types.go")
    return (
        Row(kind, GATEWAY, "spec.parentRefs[]", ((GATEWAY, "Gateway"),), GIVEN, "object",
            GATEWAY_SRC + "shared_types.go (ParentReference: unset namespace is the route's)",
            ref_default=(GATEWAY, "Gateway")),
        Row(kind, GATEWAY, "spec.rules[].backendRefs[]", (SERVICE,), GRANTED, "object",
            src + " (BackendRef: another namespace needs a ReferenceGrant)", ref_default=(CORE, "Service")),
        Row(kind, GATEWAY, "spec.rules[].backendRefs[]", ((HIGRESS, "McpBridge"),), HIGRESS_NS, "object",
            HIGRESS_SRC + "pkg/ingress/kube/gateway/istio/conversion.go (networking.higress.io Service: a "
                          "registry of McpBridge default)",
            ref_default=(CORE, "Service"), fixed_name="default", ref_kind=(HIGRESS, "Service")),
    )


_DOWNSTREAM = HIGRESS_SRC + "pkg/ingress/kube/annotations/downstreamtls.go"
_UPSTREAM = HIGRESS_SRC + "pkg/ingress/kube/annotations/upstreamtls.go"
_INGRESS_V1 = HIGRESS_SRC + "pkg/ingress/kube/ingressv1/controller.go"
_ROUTE_NAMES = HIGRESS_SRC + "pkg/ingress/config/ingress_config.go (_match_route_), common/tool.go " \
                            "GenerateUniqueRouteName, gateway/istio/conversion.go generateRouteName"
_CM_SRC = "cert-manager pkg/apis/certmanager/v1/types_issuer.go, types_certificate.go"
REFERENCES: tuple[Row, ...] = (
    Row("Ingress", NETWORKING, "spec.tls[].secretName", (SECRET,), SAME, "name", _INGRESS_V1),
    *(Row("Ingress", NETWORKING, p, (SECRET,), SAME, "ns/name", _DOWNSTREAM)
      for p in _annotation("auth-tls-secret")),
    # Higress reads `ns/name` from another namespace too; hgbackup does not follow it there: an annotation
    # anyone may write to an Ingress must not make a snapshot carry another namespace's Secret.
    *(Row("Ingress", NETWORKING, p, (SECRET,), SAME, "ns/name", _UPSTREAM + " (another namespace: not followed)")
      for p in _annotation("proxy-ssl-secret")),
    *(Row("Ingress", NETWORKING, p, (SECRET,), SAME, "ns/name",
          "kubernetes/ingress-nginx internal/ingress/annotations/auth/main.go (Higress 2.x ignores it: migrate)")
      for p in _annotation("auth-secret")),
    Row("Ingress", NETWORKING, "spec.defaultBackend.service.name", (SERVICE,), SAME, "name", _INGRESS_V1),
    Row("Ingress", NETWORKING, "spec.rules[].http.paths[].backend.service.name", (SERVICE,), SAME, "name",
        _INGRESS_V1),
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
    Row("WasmPlugin", "extensions.higress.io", "spec.matchRules[].ingress[]", (ING, HTTP_ROUTE),
        ROUTE, "route", _ROUTE_NAMES, attaches=True),
    Row("WasmPlugin", "extensions.higress.io", "spec.matchRules[].ingress[]", (GRPC_ROUTE,),
        ROUTE, "route", _ROUTE_NAMES + " (GRPC/ prefix)", attaches=True),
    Row("WasmPlugin", "extensions.higress.io", "spec.matchRules[].service[]", (SERVICE,), HOST, "host",
        HIGRESS_SRC + "pkg/ingress/config/ingress_config.go (_match_service_)", attaches=True),
    Row("ConfigMap", CORE, "data.cert", (SECRET,), HIGRESS_NS, "name",
        "higress-group/higress-console backend/sdk/.../kubernetes/KubernetesModelConverter.java (K8S_CERT)",
        when=_domain_configmap, home_only=True),
    Row("BackendTLSPolicy", GATEWAY, "spec.targetRefs[]", (SERVICE,), SAME, "object",
        GATEWAY_SRC + "backendtlspolicy_types.go", ref_default=(CORE, "Service")),
    # BackendTLSPolicy spec.validation.caCertificateRefs (ConfigMaps in the policy's namespace) is no row yet:
    # a snapshot holds ConfigMaps of the Higress namespace only, so it could neither follow nor restore them
    Row("Certificate", CERT_MANAGER, "spec.issuerRef", ((CERT_MANAGER, "Issuer"),), SAME, "object", _CM_SRC,
        ref_default=(CERT_MANAGER, "Issuer")),
    Row("Certificate", CERT_MANAGER, "spec.issuerRef", ((CERT_MANAGER, "ClusterIssuer"),), CLUSTER, "object", _CM_SRC,
        ref_default=(CERT_MANAGER, "Issuer")),
    *(Row(kind, CERT_MANAGER, "spec.**", (SECRET,), SAME, "secrets", _CM_SRC) for kind in ("Issuer", "Certificate")),
    Row("ClusterIssuer", CERT_MANAGER, "spec.**", (SECRET,), CERT_MANAGER_NS, "secrets",
        _CM_SRC + "; cert-manager --cluster-resource-namespace"),
) + tuple(row for kind in ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute") for row in _route_rows(kind))
BY_SOURCE: dict[tuple[str, str], tuple[Row, ...]] = {}
for _row in REFERENCES:
    BY_SOURCE[(_row.group, _row.kind)] = BY_SOURCE.get((_row.group, _row.kind), ()) + (_row,)
# Kinds a snapshot takes because something names them (the others are in scope whole, or not at all), and the
# same by catalogue key: what a capture holds back until every reference is known, and what coverage leaves
# incomplete when any LIST failed.
FOLLOWED = frozenset({SECRET, SERVICE})
FOLLOWED_KEYS = frozenset(BY_GROUP_KIND[pair].key for pair in FOLLOWED)
