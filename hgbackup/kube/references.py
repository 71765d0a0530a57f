"""The references objects hold, read by the table (reftable.py): what an object names, where, in which namespace the
controller looks for it, and whether it follows it (ReferenceGrants). Every consumer asks here: capture, restore
(closure, prune, namespace maps), diff and `hgbackup check`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import refpaths
from .catalogue import CERT_MANAGER_NAMESPACE, GATEWAY, group_of
from .reftable import (
    ANY,
    BY_SOURCE,
    CERT_MANAGER_NS,
    GIVEN,
    GRANTED,
    HIGRESS_NS,
    HOST,
    ING,
    REFERENCES,
    ROUTE,
    ROUTE_PREFIXES,
    SAME,
    Row,
)

ANY_NAMESPACE = "*"  # a target matched by name in whichever namespace holds it (rule ANY)


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
            container[key] = route_name(namespace, self.name, higress_namespace, self.row.target)
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
        found = _route(value, row.target, higress_namespace)
        if found:
            yield found
    elif form == "lines" and isinstance(value, str):
        for line in value.splitlines():
            hosts = [t for t in line.split() if not t.endswith("%")]
            found = _host(hosts[0], own) if hosts else None
            if found:
                yield found


def _route(value, kind: tuple[str, str], higress_namespace: str) -> tuple[str, str, bool, str] | None:
    """(namespace, name, explicit, "") of a route name of `kind` (the inverse of route_name), or None when the
    value names no route of that kind (another kind's prefix, or none where the kind has one)."""
    if not isinstance(value, str):
        return None
    prefix = ROUTE_PREFIXES.get(kind, "")
    if prefix and not value.startswith(prefix):
        return None
    if not prefix and any(value.startswith(p) for p in ROUTE_PREFIXES.values()):
        return None
    value = value[len(prefix):]
    if not value or value.count("/") > 1:
        return None
    ns, slash, name = value.rpartition("/")
    return (ns if slash else higress_namespace), name, bool(slash), ""


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
        _ROWS_FOR[key] = tuple((row, *refpaths.leading(row.path)) for row in BY_SOURCE.get((group, kind), ())
                               if kinds is None or set(kinds).intersection(row.targets))
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
        for value, where, container, key in refpaths.values(node, rest, lead_where):
            for given, name, explicit, token in _named(row, value, own, higress_namespace):
                namespace, name, refused = _resolve(row, given, name, own, higress_namespace)
                found.append(Reference(row, own, source_name, namespace, name, where, explicit, refused,
                                       *((container, key, token) if rewritable else ())))
    return found


REFERENCE_GRANT = (GATEWAY, "ReferenceGrant")


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
            if (group_of(obj.get("apiVersion", "")), obj.get("kind")) != REFERENCE_GRANT:
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
    the Higress namespace (home_only rows), so listing that namespace is enough. Where a GRANTED row can name
    one of them, ReferenceGrants too (in every namespace): without them a granted reference is not followed."""
    wanted = set(target_kinds)
    out: dict[tuple[str, str], bool] = {}
    for row in REFERENCES:
        if not row.attaches and wanted & set(row.targets):
            out[(row.group, row.kind)] = out.get((row.group, row.kind), True) and row.home_only
            if row.namespace == GRANTED:
                out[REFERENCE_GRANT] = False
    return out


def route_name(namespace: str | None, name: str, higress_namespace: str, kind: tuple[str, str] = ING) -> str:
    """The name Higress gives the routes of an Ingress, HTTPRoute or GRPCRoute (`kind`), which a WasmPlugin's
    matchRules[].ingress must name (ROUTE rule): the bare name in the Higress namespace, `ns/name` elsewhere
    (Ingresses: pkg/ingress/kube/common/tool.go GenerateUniqueRouteName with the system namespace), with the kind's
    prefix, `GRPC/` for GRPCRoutes (gateway/istio/conversion.go generateRouteName). The one definition: migrate
    writes these names, capture, restore and `check` read them back (`of`)."""
    base = name if namespace == higress_namespace else f"{namespace}/{name}"
    return ROUTE_PREFIXES.get(kind, "") + base
