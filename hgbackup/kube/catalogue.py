"""The resource kinds hgbackup knows: data, not code.

Each entry says where a kind lives in the API (group, plural, scope), which restore tier it belongs to (see
DESIGN.md: whatever an object references must exist before it), whether it is in the default scope or needs an
opt-in flag, and which extra fields its stored form drops. Versions are only a fallback: the version used against a
live cluster comes from API discovery (the group's preferred version).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import InvalidInput

CORE = ""
NETWORKING = "networking.k8s.io"
GATEWAY = "gateway.networking.k8s.io"
ISTIO = "networking.istio.io"
HIGRESS = "networking.higress.io"
HIGRESS_EXT = "extensions.higress.io"
CERT_MANAGER = "cert-manager.io"
APIEXT = "apiextensions.k8s.io"


@dataclass(frozen=True)
class Tier:
    number: int
    name: str
    reason: str


# The restore order (DESIGN.md): whatever an object references must exist before it. Objects within one tier are
# applied concurrently; tiers run one after the other. Every kind below names its tier; `namespaces` and `prune` are
# steps of the restore itself.
TIERS: tuple[Tier, ...] = (
    Tier(0, "crds", "a kind must be served before any object of it can be created"),
    Tier(1, "namespaces", "every namespaced object needs its namespace"),
    Tier(2, "secrets", "TLS certificates and registry credentials are mounted or read by everything below"),
    Tier(3, "config", "higress-config and console ConfigMaps name secrets; issuers read their credentials"),
    Tier(4, "services", "Services and certificates are what routes and gateways point at"),
    Tier(5, "service-sources", "McpBridge registries are backends too (console routes point at McpBridge default)"),
    Tier(6, "classes", "classes before the gateways and ingresses that name them"),
    Tier(7, "gateways", "gateways before the routes that attach to them"),
    Tier(8, "policies", "grants, policies and backend definitions that routes refer to"),
    Tier(9, "routes", "Gateway API and Istio routes"),
    Tier(10, "ingresses", "Ingresses name secrets, McpBridge backends and Http2Rpc objects, all restored above"),
    Tier(11, "plugins", "plugins' matchRules name ingresses, domains and services, so they come last"),
    Tier(12, "prune", "deletions last, once everything the snapshot holds is in place"),
)
TIER_BY_NAME = {t.name: t.number for t in TIERS}
NAMESPACE_TIER = TIER_BY_NAME["namespaces"]
PRUNE_TIER = TIER_BY_NAME["prune"]


# The opt-ins a scope can add (a flag `--with-<name>` each, see scope.OPTIN_FLAGS), and what each adds; every
# Kind.optin below is one of these.
OPTINS = {
    "cert_manager": "cert-manager Certificates and Issuers",
    "ingress_classes": "IngressClasses",
    "services": "Services referenced by routes",
}


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str
    plural: str
    namespaced: bool
    tier: int
    versions: tuple[str, ...]
    optin: str | None = None  # name of the scope flag that adds this kind; None = default scope
    strip: tuple[tuple[str, ...], ...] = ()  # extra paths dropped from the stored form

    @property
    def key(self) -> str:
        """kubectl's resource name: `plural.group`, or the bare plural for the core group."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_dir(self) -> str:
        return self.group or "core"

    @property
    def custom(self) -> bool:
        """Served through a CustomResourceDefinition, so a snapshot carries the CRD too."""
        return self.group not in (CORE, NETWORKING, APIEXT)

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version


def _k(kind, group, plural, namespaced, tier, versions, optin=None, strip=()):
    return Kind(kind, group, plural, namespaced, tier, tuple(versions), optin, tuple(strip))


KINDS: tuple[Kind, ...] = (
    # 0: a kind must be served before any object of it can be created.
    _k("CustomResourceDefinition", APIEXT, "customresourcedefinitions", False, 0, ["v1"]),
    # 2: TLS certificates and registry credentials are mounted/read by everything below.
    _k("Secret", CORE, "secrets", True, 2, ["v1"]),
    # 3: higress-config and console ConfigMaps name secrets and are read by the controller at start.
    _k("ConfigMap", CORE, "configmaps", True, 3, ["v1"]),
    # 3: cert-manager issuers read their credentials from Secrets; certificates need their issuer.
    _k("ClusterIssuer", CERT_MANAGER, "clusterissuers", False, 3, ["v1"], optin="cert_manager"),
    _k("Issuer", CERT_MANAGER, "issuers", True, 3, ["v1"], optin="cert_manager"),
    _k("Certificate", CERT_MANAGER, "certificates", True, 4, ["v1"], optin="cert_manager"),
    # 4: Services are the backends that routes point at; cluster IPs are assigned anew.
    _k("Service", CORE, "services", True, 4, ["v1"], optin="services",
       strip=[("spec", "clusterIP"), ("spec", "clusterIPs"), ("spec", "healthCheckNodePort")]),
    # 5: McpBridge registries are backends too (console routes point at McpBridge `default`).
    _k("McpBridge", HIGRESS, "mcpbridges", True, 5, ["v1"]),
    # 6: classes before the gateways and ingresses that name them.
    _k("IngressClass", NETWORKING, "ingressclasses", False, 6, ["v1"], optin="ingress_classes"),
    _k("GatewayClass", GATEWAY, "gatewayclasses", False, 6, ["v1", "v1beta1"]),
    # 7: gateways before the routes that attach to them.
    _k("Gateway", GATEWAY, "gateways", True, 7, ["v1", "v1beta1"]),
    _k("Gateway", ISTIO, "gateways", True, 7, ["v1", "v1beta1", "v1alpha3"]),
    # 8: policies and backend definitions that routes refer to.
    _k("ReferenceGrant", GATEWAY, "referencegrants", True, 8, ["v1beta1", "v1alpha2"]),
    _k("BackendTLSPolicy", GATEWAY, "backendtlspolicies", True, 8, ["v1", "v1alpha3"]),
    _k("ServiceEntry", ISTIO, "serviceentries", True, 8, ["v1", "v1beta1", "v1alpha3"]),
    _k("DestinationRule", ISTIO, "destinationrules", True, 8, ["v1", "v1beta1", "v1alpha3"]),
    _k("Http2Rpc", HIGRESS, "http2rpcs", True, 8, ["v1"]),
    # 9: routes.
    _k("HTTPRoute", GATEWAY, "httproutes", True, 9, ["v1", "v1beta1"]),
    _k("GRPCRoute", GATEWAY, "grpcroutes", True, 9, ["v1", "v1alpha2"]),
    _k("TCPRoute", GATEWAY, "tcproutes", True, 9, ["v1alpha2"]),
    _k("TLSRoute", GATEWAY, "tlsroutes", True, 9, ["v1alpha2"]),
    _k("VirtualService", ISTIO, "virtualservices", True, 9, ["v1", "v1beta1", "v1alpha3"]),
    # 10: Ingresses name secrets, McpBridge backends and Http2Rpc objects, all restored above.
    _k("Ingress", NETWORKING, "ingresses", True, 10, ["v1"]),
    # 11: plugins' matchRules name ingresses, domains and services, so they come last.
    _k("WasmPlugin", HIGRESS_EXT, "wasmplugins", True, 11, ["v1alpha1"]),
    _k("EnvoyFilter", ISTIO, "envoyfilters", True, 11, ["v1alpha3"]),
)

# Objects of kinds in scope that a snapshot leaves out, each with its reason (selection.py applies them; what
# hgbackup never takes nor restores at all is excluded.py's).
LEFT_OUT_CONFIGMAPS = {
    "kube-root-ca.crt": "written by kube-controller-manager into every namespace",
    "istio-ca-root-cert": "written by istiod into every namespace",
    "higress-ca-root-cert": "written by the Higress controller into every namespace",
}
OWN_LABEL = ("app.kubernetes.io/name", "hgbackup")  # hgbackup's own schedule ConfigMap: the backup job, not the gateway
# cert-manager keeps the Secrets a ClusterIssuer names (ACME account key, DNS-01 credentials) in its "cluster
# resource namespace": cert-manager unless its --cluster-resource-namespace says otherwise.
CERT_MANAGER_NAMESPACE = "cert-manager"

BY_KEY: dict[str, Kind] = {k.key: k for k in KINDS}
BY_GROUP_KIND: dict[tuple[str, str], Kind] = {(k.group, k.kind): k for k in KINDS}

SECRETS = BY_KEY["secrets"]
SERVICES = BY_KEY["services"]
CONFIGMAPS = BY_KEY["configmaps"]
CRDS = BY_KEY["customresourcedefinitions.apiextensions.k8s.io"]
INGRESSES = BY_KEY["ingresses.networking.k8s.io"]


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else CORE


def version_of(api_version: str) -> str:
    return api_version.split("/", 1)[1] if "/" in api_version else api_version


def kind_of(obj: dict) -> Kind | None:
    """The catalogue entry of a Kubernetes object, or None when hgbackup does not handle its kind."""
    return BY_GROUP_KIND.get((group_of(obj.get("apiVersion", "")), obj.get("kind", "")))


def lookup(name: str) -> list[Kind]:
    """Kinds named by a user: a Kind (`Gateway` matches both Gateway kinds), a plural, or `plural.group`."""
    lowered = name.lower()
    found = [k for k in KINDS if lowered in (k.kind.lower(), k.key.lower(), k.plural.lower())]
    if not found:
        known = ", ".join(sorted({k.kind for k in KINDS}))
        raise InvalidInput(f"unknown kind {name!r} (known: {known})")
    return found


def in_scope(optins: set[str], include: list[str] = (), exclude: list[str] = ()) -> list[Kind]:
    """The kinds a snapshot covers: the default scope plus opt-ins, narrowed by --include and --exclude."""
    kinds = [k for k in KINDS if k.optin is None or k.optin in optins]
    if include:
        wanted = {k.key for name in include for k in lookup(name)}
        wanted.add(CRDS.key)
        kinds = [k for k in kinds if k.key in wanted] + [
            k for k in KINDS if k.key in wanted and k not in kinds
        ]
    if exclude:
        unwanted = {k.key for name in exclude for k in lookup(name)}
        kinds = [k for k in kinds if k.key not in unwanted]
    return sorted(kinds, key=lambda k: (k.tier, k.key))


def named(names: Iterable[str]) -> frozenset[tuple[str, str]] | None:
    """The (group, kind) pairs that `--kind` options name (each read by `lookup`), for every command that takes
    them (diff, restore, log); None when none is given: every kind."""
    names = list(names)
    if not names:
        return None
    return frozenset((k.group, k.kind) for name in names for k in lookup(name))


# The annotation that named an Ingress's class before spec.ingressClassName; the API server refuses to create an
# Ingress whose two disagree (k8s.io/kubernetes pkg/apis/networking/validation ValidateIngressCreate).
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def ingress_class(obj: dict) -> str | None:
    """An Ingress's class, as capture's --ingress-class and migrate's selection both read it: spec.ingressClassName,
    else the older annotation; None when it names none (the cluster's default IngressClass serves it)."""
    return (obj.get("spec") or {}).get("ingressClassName") or (
        (obj.get("metadata") or {}).get("annotations") or {}).get(INGRESS_CLASS_ANNOTATION)
