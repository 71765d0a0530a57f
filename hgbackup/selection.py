"""Which objects belong in a snapshot: pure rules, shared by live snapshots and `--from-file`.

The same rules run over whatever candidates a source offers, so a `kubectl get -A -o yaml` dump of a cluster selects
exactly what a live snapshot of that cluster would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import catalogue, confine
from .errors import InvalidInput

GENERATED_CONFIGMAPS = tuple(catalogue.LEFT_OUT_CONFIGMAPS)
CONSOLE_SECRET = "higress-console"
DEFAULT_SECRET_SELECTOR = "higress.io/resource-definer=higress"
SECRET_ANNOTATIONS = ("auth-tls-secret", "proxy-ssl-secret", "auth-secret")
ANNOTATION_PREFIXES = ("nginx.ingress.kubernetes.io/", "higress.io/")
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute")
LEFT_OUT_SHOWN = 10  # objects named in the capture's "left out" warning


@dataclass
class Scope:
    """The scope options of `snapshot` (and of `diff ... live`, restore's safety snapshot and schedule files)."""

    higress_namespace: str = "higress-system"
    secret_selectors: list[str] = field(default_factory=lambda: [DEFAULT_SECRET_SELECTOR])
    ingress_classes: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    optins: set[str] = field(default_factory=set)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.selectors = [parse_selector(s) for s in self.secret_selectors]

    def kinds(self) -> list[catalogue.Kind]:
        return catalogue.in_scope(self.optins, self.include, self.exclude)

    def wants_namespace(self, namespace: str | None) -> bool:
        return not self.namespaces or namespace is None or namespace in self.namespaces

    def as_json(self) -> dict:
        return {
            "higress_namespace": self.higress_namespace,
            "secret_selectors": list(self.secret_selectors),
            "ingress_classes": list(self.ingress_classes),
            "namespaces": list(self.namespaces),
            "optins": sorted(self.optins),
            "include": list(self.include),
            "exclude": list(self.exclude),
        }

    @classmethod
    def from_json(cls, data: dict) -> Scope:
        fields = ("higress_namespace", "secret_selectors", "ingress_classes", "namespaces", "include", "exclude")
        kwargs = {k: data[k] for k in fields if data.get(k) is not None}
        return cls(optins=set(data.get("optins") or ()), **kwargs)


# -- label selectors --------------------------------------------------------------------------------------------
# Kubernetes' grammar (k8s.io/apimachinery/pkg/labels/selector.go): comma-separated requirements, each `key`,
# `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key>N` or `key<N`.
_TOKEN = re.compile(r"\s*(==|!=|[!=(),<>]|[^\s!=(),<>]+)")
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_NAME = re.compile(rf"^{_NAME}$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _valid_key(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return bool(_LABEL_NAME.match(name))


def _valid_value(value: str) -> bool:
    return value == "" or bool(_LABEL_NAME.match(value))


def parse_selector(text: str) -> list[tuple]:
    """A Kubernetes label selector as a list of (key, op, values); anything Kubernetes would refuse is an error."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text) or not tokens:
        raise InvalidInput(f"invalid label selector {text!r}")
    reqs: list[tuple] = []
    pos = 0

    def fail(why: str):
        raise InvalidInput(f"invalid label selector {text!r}: {why}")

    def take() -> str | None:
        nonlocal pos
        pos += 1
        return tokens[pos - 1] if pos <= len(tokens) else None

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def key_token() -> str:
        key = take()
        if key is None or not _valid_key(key):
            fail(f"{key!r} is not a label key")
        return key

    while True:
        if peek() == "!":
            take()
            reqs.append((key_token(), "!", ()))
            if peek() not in (None, ","):
                fail("'!key' takes no operator or value")
        else:
            key = key_token()
            op = peek()
            if op in (None, ","):
                reqs.append((key, "exists", ()))
            elif op in ("=", "==", "!="):
                take()
                value = "" if peek() in (None, ",") else take()
                if not _valid_value(value):
                    fail(f"{value!r} is not a label value")
                reqs.append((key, "!=" if op == "!=" else "=", (value,)))
            elif op in ("in", "notin"):
                take()
                if take() != "(":
                    fail(f"'{op}' needs a parenthesised list")
                values = []
                while True:
                    value = "" if peek() in (",", ")") else take()
                    if value is None or not _valid_value(value):
                        fail(f"{value!r} is not a label value")
                    values.append(value)
                    sep = take()
                    if sep == ")":
                        break
                    if sep != ",":
                        fail("unclosed value list")
                reqs.append((key, op, tuple(values)))
            elif op in ("<", ">"):
                take()
                number = take()
                if number is None or not re.fullmatch(r"-?\d+", number):
                    fail(f"'{op}' needs a whole number")
                reqs.append((key, op, (int(number),)))
            else:
                fail(f"unexpected {op!r}")
        sep = take()
        if sep is None:
            return reqs
        if sep != "," or peek() is None:
            fail("requirements are separated by single commas")


def matches(selector: list[tuple], labels: dict) -> bool:
    for key, op, values in selector:
        present = key in labels
        value = labels.get(key)
        if op == "=":
            ok = present and value == values[0]
        elif op == "!=":
            ok = value != values[0]
        elif op == "in":
            ok = present and value in values
        elif op == "notin":
            ok = value not in values
        elif op == "exists":
            ok = present
        elif op in ("<", ">"):
            try:
                number = int(value) if present else None
            except ValueError:
                number = None
            ok = number is not None and (number < values[0] if op == "<" else number > values[0])
        else:  # "!"
            ok = not present
        if not ok:
            return False
    return True


# -- references between objects --------------------------------------------------------------------------------
def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def ingress_class(obj: dict) -> str | None:
    return (obj.get("spec") or {}).get("ingressClassName") or (_meta(obj).get("annotations") or {}).get(
        "kubernetes.io/ingress.class"
    )


def _split_ref(value: str, default_ns: str) -> tuple[str, str]:
    ns, _, name = value.rpartition("/")
    return (ns or default_ns, name)


@dataclass(frozen=True)
class Grant:
    """A ReferenceGrant's permission: Gateways of `from_namespace` may name Secrets in `namespace` (`name`: any
    when None)."""

    namespace: str
    from_namespace: str
    name: str | None


def secret_grants(candidates: list[dict]) -> set[Grant]:
    """What the ReferenceGrants among `candidates` allow Gateways to reference across namespaces."""
    grants: set[Grant] = set()
    for obj in candidates:
        if obj.get("kind") != "ReferenceGrant" or catalogue.group_of(obj.get("apiVersion", "")) != catalogue.GATEWAY:
            continue
        spec = obj.get("spec") or {}
        sources = [f.get("namespace") for f in spec.get("from") or []
                   if f.get("group") == catalogue.GATEWAY and f.get("kind") == "Gateway" and f.get("namespace")]
        targets = [t.get("name") for t in spec.get("to") or []
                   if t.get("group", "") in ("", "core") and t.get("kind") == "Secret"]
        grants |= {Grant(_meta(obj).get("namespace") or "", src, name) for src in sources for name in targets}
    return grants


def _granted(grants: set[Grant], gateway_ns: str, secret_ns: str, name: str) -> bool:
    return any(g.namespace == secret_ns and g.from_namespace == gateway_ns and g.name in (None, name)
               for g in grants)


def secret_refs(obj: dict, higress_namespace: str, grants: set[Grant] = frozenset(),
                refused: list[str] | None = None) -> set[tuple[str, str]]:
    """(namespace, name) of every Secret an object names, followed as the controllers follow them: an Ingress's
    TLS and auth Secrets only in its own namespace, a Gateway's certificateRefs in another namespace only where a
    ReferenceGrant allows it. References that are not followed are described in `refused` when given."""
    ns = _meta(obj).get("namespace") or ""
    spec = obj.get("spec") or {}
    kind, group = obj.get("kind"), catalogue.group_of(obj.get("apiVersion", ""))
    refs: set[tuple[str, str]] = set()
    if kind == "Ingress":
        refs |= {(ns, tls["secretName"]) for tls in spec.get("tls") or [] if tls.get("secretName")}
        annotations = _meta(obj).get("annotations") or {}
        for prefix in ANNOTATION_PREFIXES:
            for key in SECRET_ANNOTATIONS:
                value = annotations.get(prefix + key)
                if not isinstance(value, str) or not value:
                    continue
                target = _split_ref(value, ns)
                if target[0] == ns:
                    refs.add(target)
                elif refused is not None:
                    refused.append(f"{kind} {ns}/{_meta(obj).get('name')}: {prefix}{key} names Secret {value} in "
                                   "another namespace; Higress "
                                   "reads it only from the Ingress's own namespace, so it was not fetched")
    elif kind == "Gateway" and group == catalogue.GATEWAY:
        for listener in spec.get("listeners") or []:
            for ref in (listener.get("tls") or {}).get("certificateRefs") or []:
                if ref.get("kind", "Secret") == "Secret" and ref.get("group", "") in ("", "core"):
                    target = (ref.get("namespace") or ns, ref.get("name") or "")
                    if target[0] == ns or _granted(grants, ns, *target):
                        refs.add(target)
                    elif refused is not None:
                        refused.append(f"{kind} {ns}/{_meta(obj).get('name')}: certificateRef "
                                       f"{target[0]}/{target[1]} is in another namespace "
                                       "and no ReferenceGrant allows it, so it was not fetched")
    elif kind == "Gateway" and group == catalogue.ISTIO:
        for server in spec.get("servers") or []:
            if (server.get("tls") or {}).get("credentialName"):
                refs.add((ns, server["tls"]["credentialName"]))
    elif kind == "DestinationRule":
        name = ((spec.get("trafficPolicy") or {}).get("tls") or {}).get("credentialName")
        if name:
            refs.add((ns, name))
    elif group == catalogue.CERT_MANAGER and kind in ("Issuer", "ClusterIssuer", "Certificate"):
        # ACME account keys, DNS-01 solver credentials, CA keys, Vault/Venafi credentials, the issued certificate
        home = ns if kind != "ClusterIssuer" else catalogue.CERT_MANAGER_NAMESPACE
        refs |= {(home, name) for name in _cert_manager_secrets(spec)}
        refs |= {(ns, r["authSecretName"]) for r in spec.get("registries") or [] if r.get("authSecretName")}
    elif kind == "ConfigMap" and (_meta(obj).get("labels") or {}).get("higress.io/config-map-type") == "domain":
        cert = (obj.get("data") or {}).get("cert")
        if cert:
            refs.add((higress_namespace, cert))
    return {r for r in refs if r[1]}


def _cert_manager_secrets(spec: dict) -> set[str]:
    """Secret names in a cert-manager spec: every `...SecretRef`/`secretRef`/`credentialsRef` with a name, and
    `secretName` (a Certificate's issued Secret, a CA issuer's key pair)."""
    names: set[str] = set()
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if (key.endswith(("SecretRef", "secretRef")) or key == "credentialsRef") and isinstance(value, dict):
                    if isinstance(value.get("name"), str) and value["name"]:
                        names.add(value["name"])
                elif key == "secretName" and isinstance(value, str) and value:
                    names.add(value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return names


def service_refs(obj: dict) -> set[tuple[str, str]]:
    """(namespace, name) of every Service a route sends traffic to."""
    ns = _meta(obj).get("namespace") or ""
    spec = obj.get("spec") or {}
    refs: set[tuple[str, str]] = set()
    kind = obj.get("kind")
    if kind == "Ingress":
        backends = [spec.get("defaultBackend") or {}]
        for rule in spec.get("rules") or []:
            backends += [p.get("backend") or {} for p in (rule.get("http") or {}).get("paths") or []]
        refs |= {(ns, b["service"]["name"]) for b in backends if (b.get("service") or {}).get("name")}
    elif kind in ROUTE_KINDS:
        for rule in spec.get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core"):
                    refs.add((ref.get("namespace") or ns, ref["name"]))
    elif kind == "VirtualService":
        for section in ("http", "tcp", "tls"):
            for route in spec.get(section) or []:
                for dest in route.get("route") or []:
                    host = (dest.get("destination") or {}).get("host", "")
                    parts = host.split(".")
                    if len(parts) == 1 and host:
                        refs.add((ns, host))
                    elif len(parts) >= 3 and parts[2] == "svc":
                        refs.add((parts[1], parts[0]))
    return refs


# -- the rules ---------------------------------------------------------------------------------------------------
def select(candidates: list[dict], scope: Scope) -> list[dict]:
    """The objects of `candidates` that a snapshot with this scope holds (see DESIGN.md, default scope)."""
    return select_with_refs(candidates, scope)[0]


def select_with_refs(candidates: list[dict], scope: Scope, refused: list[str] | None = None,
                     left: list[str] | None = None) -> tuple[list[dict], set[tuple[str, str]]]:
    """`select`, plus the (namespace, name) of every Secret the selected objects reference; references not
    followed (another namespace) are described in `refused` when given, with one note naming what was left out
    because hgbackup never restores it (also listed in `left` when given)."""
    selector = Selector(scope, refused)
    chosen = [obj for obj in candidates if selector.offer(obj)]
    chosen += selector.finish()
    note = left_out_note(selector.left)
    if note and refused is not None:
        refused.append(note)
    if left is not None:
        left.extend(selector.left)
    return _dedupe(chosen), selector.secret_wanted


def left_out_note(left: list[str]) -> str | None:
    """The capture's one warning about what the rules would take but hgbackup never restores (confine.left_out)."""
    if not left:
        return None
    more = f" (and {len(left) - LEFT_OUT_SHOWN} more)" if len(left) > LEFT_OUT_SHOWN else ""
    return (f"left out {len(left)} object(s) that hgbackup never restores: " + "; ".join(left[:LEFT_OUT_SHOWN])
            + more)


class Selector:
    """The rules, an object at a time, for captures that cannot hold every candidate (a live snapshot packs each
    LIST page as it arrives). `offer` says at once whether most objects are kept; the kinds whose rule depends on
    the others (Secrets and Services: kept when referenced; CRDs: of the kinds in scope) are held and decided by
    `finish`, which also follows Gateways' certificate references once every ReferenceGrant is known."""

    HELD = frozenset({catalogue.SECRETS.key, catalogue.CRDS.key, "services"})

    def __init__(self, scope: Scope, refused: list[str] | None = None):
        self.scope = scope
        self.kinds = {k.key: k for k in scope.kinds()}
        self.refused = refused
        self.held: dict[str, list[dict]] = {}
        self.grants: list[dict] = []
        self.gateways: list[dict] = []
        self.secret_wanted: set[tuple[str, str]] = set()
        self.service_wanted: set[tuple[str, str]] = set()
        self.services = "services" in self.kinds
        self.left: list[str] = []  # what the rules would take but confine.left_out refuses, named for a warning

    def offer(self, obj: dict, kind: catalogue.Kind | None = None) -> bool:
        """True: `obj` belongs in the snapshot (and its references are noted). False: it does not, or it is held
        for `finish`."""
        kind = kind or catalogue.kind_of(obj)
        if kind is None or kind.key not in self.kinds:
            return False
        if kind.key in self.HELD:
            self.held.setdefault(kind.key, []).append(obj)
            return False
        if not _keep_plain(obj, kind, self.scope, self.left):
            return False
        if kind.kind == "ReferenceGrant":
            self.grants.append(obj)
        if kind.kind == "Gateway" and kind.group == catalogue.GATEWAY:
            self.gateways.append(obj)  # its cross-namespace references depend on the grants
        else:
            self.secret_wanted |= secret_refs(obj, self.scope.higress_namespace, frozenset(), self.refused)
        if self.services:
            self.service_wanted |= service_refs(obj)
        return True

    def finish(self) -> list[dict]:
        """The held objects the rules keep, now that every other object has been offered."""
        grants = secret_grants(self.grants)
        for gateway in self.gateways:
            self.secret_wanted |= secret_refs(gateway, self.scope.higress_namespace, grants, self.refused)
        chosen = [obj for obj in self.held.get(catalogue.SECRETS.key, [])
                  if _keep_secret(obj, self.scope, self.secret_wanted, self.left)]
        if self.services:
            # the Higress namespace's own Services too: higress-gateway holds the load balancer's address
            chosen.extend(
                o for o in self.held.get("services", [])
                if ((_meta(o).get("namespace"), _meta(o).get("name")) in self.service_wanted
                    or _meta(o).get("namespace") == self.scope.higress_namespace)
                and self.scope.wants_namespace(_meta(o).get("namespace"))
                and _not_left_out(o, catalogue.BY_KEY["services"], self.left)
            )
        if catalogue.CRDS.key in self.kinds:
            wanted_crds = crd_names(self.kinds.values())
            chosen.extend(o for o in self.held.get(catalogue.CRDS.key, []) if _meta(o).get("name") in wanted_crds)
        return _dedupe(chosen)


def select_fetched(chosen: list[dict], fetched: list[dict], scope: Scope,
                   referenced: set[tuple[str, str]], left: list[str] | None = None) -> list[dict]:
    """`chosen` plus those of `fetched` (Secrets and CRDs read one by one) that the rules keep, without selecting
    the (possibly many thousand) first-round objects again: fetched objects never add references, and were fetched
    because no listed object had their name, so there is nothing to deduplicate against."""
    kinds = {k.key for k in scope.kinds()}
    wanted_crds = crd_names(scope.kinds())
    extra = []
    for obj in fetched:
        kind = catalogue.kind_of(obj)
        if kind is None or kind.key not in kinds:
            continue
        keep_secret = kind is catalogue.SECRETS and _keep_secret(obj, scope, referenced, left)
        keep_crd = kind is catalogue.CRDS and _meta(obj).get("name") in wanted_crds
        if keep_secret or keep_crd:
            extra.append(obj)
    return chosen + _dedupe(extra)


def crd_names(kinds) -> set[str]:
    return {k.key for k in kinds if k.custom}


def _keep_plain(obj: dict, kind: catalogue.Kind, scope: Scope, left: list[str] | None = None) -> bool:
    """The rule of a kind that is not held; what it would keep but hgbackup never restores is named in `left`."""
    ns = _meta(obj).get("namespace")
    if kind.namespaced and not scope.wants_namespace(ns):
        return False
    if kind is catalogue.CONFIGMAPS:
        labels = _meta(obj).get("labels") or {}
        own = labels.get(catalogue.OWN_LABEL[0]) == catalogue.OWN_LABEL[1]
        keep = ns == scope.higress_namespace and _meta(obj).get("name") not in GENERATED_CONFIGMAPS and not own
    elif kind is catalogue.INGRESSES and scope.ingress_classes:
        keep = ingress_class(obj) in scope.ingress_classes
    else:
        keep = True
    return keep and _not_left_out(obj, kind, left)


def _keep_secret(obj: dict, scope: Scope, referenced: set[tuple[str, str]], left: list[str] | None = None) -> bool:
    """Referenced Secrets, and the console's in the Higress namespace; never what confine.left_out refuses (named in
    `left` when the rules would have kept it)."""
    meta = _meta(obj)
    ns, name = meta.get("namespace"), meta.get("name", "")
    if not scope.wants_namespace(ns):
        return False
    if (ns, name) in referenced:
        keep = True
    elif ns != scope.higress_namespace:
        keep = False
    else:
        keep = name == CONSOLE_SECRET or any(matches(sel, meta.get("labels") or {}) for sel in scope.selectors)
    return keep and _not_left_out(obj, catalogue.SECRETS, left)


def _not_left_out(obj: dict, kind: catalogue.Kind, left: list[str] | None) -> bool:
    """False for what hgbackup never takes nor restores (one definition: confine.left_out), named in `left`."""
    why = confine.left_out(obj)
    if why is None:
        return True
    if left is not None:
        meta = _meta(obj)
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        left.append(f"{kind.kind} {where}{meta.get('name')} ({why})")
    return False


def _dedupe(objects: list[dict]) -> list[dict]:
    seen, out = set(), []
    for obj in objects:
        meta = _meta(obj)
        key = (catalogue.group_of(obj["apiVersion"]), obj["kind"], meta.get("namespace"), meta.get("name"))
        if key not in seen:
            seen.add(key)
            out.append(obj)
    return out
