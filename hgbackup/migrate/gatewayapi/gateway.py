"""Gateway API side of `migrate nginx --to gateway-api`: the Gateways and listeners the routes attach to, and the
ReferenceGrants a Gateway in another namespace needs for its certificates. (Higress's names of the routes, which
WasmPlugin matchRules[].ingress name, are kube/references.route_name's.)

Facts (alibaba/higress pkg/ingress/kube/gateway/istio/conversion.go): a Gateway without addresses is served by
the default higress-gateway Service (UseDefaultService); a certificateRef into another namespace needs a
ReferenceGrant (buildTLS, "missing a ReferenceGrant?"). Listener limits follow the Gateway API CRDs (64 listeners
per Gateway, 16 `to` entries per ReferenceGrant).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ..model import generated_metadata

GROUP = "gateway.networking.k8s.io"
V1 = f"{GROUP}/v1"
GRANT_VERSION = f"{GROUP}/v1beta1"
STANDARD, EXPERIMENTAL = "standard", "experimental"
CHANNELS = (STANDARD, EXPERIMENTAL)
HTTP_LISTENER = "http"
MAX_LISTENERS = 64  # gateways CRD: spec.listeners maxItems
MAX_GRANT_TO = 16  # referencegrants CRD: spec.to maxItems


def suffixed(name: str, suffix: str, limit: int = 253) -> str:
    """`name-suffix`, shortened with a hash when it would pass the DNS subdomain limit."""
    out = f"{name}-{suffix}"
    if len(out) <= limit:
        return out
    digest = hashlib.sha256(out.encode()).hexdigest()[:8]
    return f"{name[: limit - len(suffix) - 10]}-{digest}-{suffix}"


def listener_name(hostname: str) -> str:
    """A SectionName (`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`) for the HTTPS listener of one hostname."""
    slug = re.sub(r"[^a-z0-9]+", "-", hostname.lower().replace("*", "wildcard")).strip("-")
    return f"https-{slug}"[:253].rstrip("-")


@dataclass(frozen=True)
class Parent:
    """Where a route attaches: a Gateway and one of its listeners (by name, or by port on a Gateway we do not
    write)."""

    namespace: str
    name: str
    section: str | None = None
    port: int | None = None

    def ref(self, route_namespace: str) -> dict:
        out = {"group": GROUP, "kind": "Gateway", "name": self.name}
        if self.namespace != route_namespace:
            out["namespace"] = self.namespace
        if self.section:
            out["sectionName"] = self.section
        if self.port:
            out["port"] = self.port
        return out

    def __str__(self) -> str:
        where = f"/{self.section}" if self.section else f":{self.port}" if self.port else ""
        return f"Gateway {self.namespace}/{self.name}{where}"


@dataclass
class GatewayPlan:
    """The listeners every converted Ingress asked for. With `existing` (--gateway NS/NAME) nothing is written to
    that Gateway: routes attach to it by port, and the report lists the HTTPS listeners it must have."""

    namespace: str
    name: str
    existing: bool = False
    gateway_class: str = "higress"
    certificates: dict[str, tuple[str, str]] = field(default_factory=dict)  # hostname -> (namespace, secret)
    conflicts: list[str] = field(default_factory=list)

    def add_certificate(self, hostname: str, namespace: str, secret: str, where: str) -> None:
        known = self.certificates.get(hostname)
        if known is None:
            self.certificates[hostname] = (namespace, secret)
        elif known != (namespace, secret):
            self.conflicts.append(f"host {hostname}: {where} names Secret {namespace}/{secret}, but the listener "
                                  f"uses {known[0]}/{known[1]} (named first)")

    def _shards(self) -> list[list[str]]:
        hosts = sorted(self.certificates)
        first = MAX_LISTENERS - 1  # the first Gateway also holds the HTTP listener
        shards = [hosts[:first]]
        rest = hosts[first:]
        shards += [rest[i:i + MAX_LISTENERS] for i in range(0, len(rest), MAX_LISTENERS)]
        return shards

    def _gateway_of(self, index: int) -> str:
        return self.name if index == 0 else suffixed(self.name, str(index + 1))

    def http_parent(self) -> Parent:
        if self.existing:
            return Parent(self.namespace, self.name, port=80)
        return Parent(self.namespace, self.name, HTTP_LISTENER)

    def https_parent(self, hostname: str) -> Parent | None:
        """The HTTPS listener serving `hostname`, or None when no Ingress gave it a certificate."""
        if hostname not in self.certificates:
            return None
        if self.existing:
            return Parent(self.namespace, self.name, port=443)
        for index, hosts in enumerate(self._shards()):
            if hostname in hosts:
                return Parent(self.namespace, self._gateway_of(index), listener_name(hostname))
        return None

    def gateways(self) -> list[dict]:
        """The Gateways to write (none when attaching to an existing one)."""
        if self.existing:
            return []
        out = []
        for index, hosts in enumerate(self._shards()):
            listeners = [_listener(h, *self.certificates[h], self.namespace) for h in hosts]
            if index == 0:
                listeners.insert(0, {"name": HTTP_LISTENER, "port": 80, "protocol": "HTTP",
                                     "allowedRoutes": {"namespaces": {"from": "All"}}})
            if not listeners:
                continue
            out.append({"apiVersion": V1, "kind": "Gateway",
                        "metadata": generated_metadata(self._gateway_of(index), self.namespace),
                        "spec": {"gatewayClassName": self.gateway_class, "listeners": listeners}})
        return out

    def grants(self) -> list[dict]:
        """ReferenceGrants letting the Gateway's namespace read the TLS Secrets of the others."""
        by_namespace: dict[str, set[str]] = {}
        for namespace, secret in self.certificates.values():
            if namespace != self.namespace:
                by_namespace.setdefault(namespace, set()).add(secret)
        source = {"group": GROUP, "kind": "Gateway", "namespace": self.namespace}
        return [g for namespace, secrets in sorted(by_namespace.items())
                for g in grants(namespace, self.name, "certificates", source, "Secret", secrets)]


def _listener(hostname: str, namespace: str, secret: str, gateway_namespace: str) -> dict:
    ref = {"group": "", "kind": "Secret", "name": secret}
    if namespace != gateway_namespace:
        ref["namespace"] = namespace
    return {"name": listener_name(hostname), "hostname": hostname, "port": 443, "protocol": "HTTPS",
            "tls": {"mode": "Terminate", "certificateRefs": [ref]},
            "allowedRoutes": {"namespaces": {"from": "All"}}}


def grant(namespace: str, name: str, source: dict, targets: list[dict]) -> dict:
    return {"apiVersion": GRANT_VERSION, "kind": "ReferenceGrant",
            "metadata": generated_metadata(name, namespace),
            "spec": {"from": [source], "to": targets}}


def grants(namespace: str, base: str, what: str, source: dict, kind: str, names) -> list[dict]:
    """ReferenceGrants in `namespace` letting `source` reach the core objects of `kind` named `names`: MAX_GRANT_TO
    to a grant, named `<base>-<what>`, `<base>-<what>-2`, ..."""
    names = sorted(names)
    return [grant(namespace, suffixed(base, what if start == 0 else f"{what}-{start // MAX_GRANT_TO + 1}"), source,
                  [{"group": "", "kind": kind, "name": n} for n in names[start:start + MAX_GRANT_TO]])
            for start in range(0, len(names), MAX_GRANT_TO)]


def service_grants(needs: dict[tuple[str, str], set[str]]) -> list[dict]:
    """ReferenceGrants for backendRefs (mirrors) into another namespace: (route namespace, target namespace) ->
    Service names."""
    return [g for (source_ns, target_ns), services in sorted(needs.items())
            for g in grants(target_ns, f"from-{source_ns}", "httproutes",
                            {"group": GROUP, "kind": "HTTPRoute", "namespace": source_ns}, "Service", services)]
