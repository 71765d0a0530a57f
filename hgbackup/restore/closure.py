"""What a selective restore needs besides what was asked for, read from the reference table (pure).

A restore limited by --kind, -n, --name, -l or a namespace map brings, from the same snapshot, every object that
what it restores needs (a TLS Secret, the Gateway and GatewayClass of a route, the ReferenceGrant that lets a
route cross into another namespace ...), transitively. Those dependencies are only created when missing: a live
object of the same name is left as it is, since the user did not ask to restore it. WasmPlugin rules that named a
restored route are merged into the live plugin (never replacing a rule it has); the rest of the plugin is left
alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..kube import catalogue, references, reftable
from ..kube.model import Ref, StoredObject

_RULE = re.compile(r"^spec\.matchRules\[(\d+)\]")


@dataclass
class Closure:
    """`needed_by`: each dependency added, with the object that needs it. `merges`: WasmPlugins whose rules named a
    restored route, with the rules to merge into the live plugin (route names already as the target spells them)."""

    needed_by: dict[Ref, str] = field(default_factory=dict)
    merges: dict[Ref, list[dict]] = field(default_factory=dict)

    def rekey(self, moved: dict[Ref, Ref]) -> None:
        """Follow a namespace map: the same entries under the refs the objects were moved to."""
        self.needed_by = {moved.get(r, r): why for r, why in self.needed_by.items()}
        self.merges = {moved.get(r, r): rules for r, rules in self.merges.items()}


def dependencies(objects: list[StoredObject], chosen: list[StoredObject], higress_namespace: str,
                 mapping: dict[str, str] | None = None) -> tuple[list[StoredObject], Closure]:
    """The snapshot objects (of `objects`) that `chosen` needs and does not hold, and the plugins to merge."""
    mapping = mapping or {}
    index = {o.ref: o for o in objects}
    by_name: dict[tuple[str, str, str], list[StoredObject]] = {}
    for o in objects:
        by_name.setdefault((o.ref.group, o.ref.kind, o.ref.name), []).append(o)
    grants = references.Grants(o.obj for o in objects if o.ref.kind == "ReferenceGrant")
    have = {o.ref for o in chosen}
    closure = Closure()
    extra: list[StoredObject] = []
    queue = [o for o in chosen if o.ref.kind != "CustomResourceDefinition"]
    while queue:
        obj = queue.pop()
        for ref in references.of(obj.obj, higress_namespace, rewritable=False):
            if ref.row.attaches or not references.followed(ref, grants):
                continue
            needed = _named(ref, index, by_name)
            grant = grants.allowing(ref) if ref.cross else None
            if grant is not None:
                needed.append(index.get(Ref(catalogue.GATEWAY, "ReferenceGrant", grant.namespace, grant.grant)))
            for dep in needed:
                if dep is not None and dep.ref not in have:
                    have.add(dep.ref)
                    extra.append(dep)
                    closure.needed_by[dep.ref] = ref.source
                    queue.append(dep)
    _plugin_merges(objects, have, chosen + extra, higress_namespace, mapping, closure)
    extra += [index[r] for r in closure.merges]
    return extra, closure


def _named(ref: references.Reference, index, by_name) -> list[StoredObject | None]:
    found: list[StoredObject | None] = []
    for group, kind in ref.row.targets:
        if ref.namespace == references.ANY_NAMESPACE:
            same = by_name.get((group, kind, ref.name), [])
            mine = [o for o in same if o.ref.namespace == ref.source_namespace]
            found += (mine or same)[:1]
        else:
            found.append(index.get(Ref(group, kind, ref.namespace, ref.name)))
    return found


def _plugin_merges(objects, have: set[Ref], restored: list[StoredObject], higress_namespace: str,
                   mapping: dict[str, str], closure: Closure) -> None:
    """WasmPlugins not restored whole whose matchRules name a restored route: each such rule, cut down to the
    restored routes (spelled as in the target, after the namespace map), to merge into the live plugin."""
    routes = {o.ref: o for o in restored if (o.ref.group, o.ref.kind) in _ROUTE_KINDS}
    if not routes:
        return
    target_higress = mapping.get(higress_namespace, higress_namespace)
    for plugin in objects:
        if plugin.ref.kind != "WasmPlugin" or plugin.ref in have:
            continue
        wanted: dict[int, list[str]] = {}
        for ref in references.of(plugin.obj, higress_namespace, rewritable=False):
            if ref.row.form != "route":
                continue
            for route in routes:
                if ref.names(route.group, route.kind, route.namespace, route.name):
                    ns = mapping.get(route.namespace, route.namespace)
                    name = references.route_name(ns, route.name, target_higress, (route.group, route.kind))
                    wanted.setdefault(int(_RULE.match(ref.where).group(1)), []).append(name)
        rules = plugin.obj["spec"]["matchRules"] if wanted else []
        merged = [_cut(rules[i], names) for i, names in sorted(wanted.items())]
        if merged:
            closure.merges[plugin.ref] = merged


def _cut(rule: dict, names: list[str]) -> dict:
    """A rule that applies only to `names`: its `ingress` list replaced, domain and service matches dropped."""
    out = {k: v for k, v in rule.items() if k not in ("ingress", "domain", "service")}
    out["ingress"] = list(dict.fromkeys(names))
    return out


_ROUTE_KINDS = {t for row in reftable.REFERENCES if row.form == "route" for t in row.targets}


def merge_rules(live: dict, rules: list[dict], higress_namespace: str) -> tuple[dict, list[str], list[str]]:
    """The live plugin with `rules` appended: (the object to apply, routes added, routes left to the live plugin's
    own rule). A route the live plugin already names keeps the live rule; no other rule is touched."""
    named = {references.route_name(r.namespace, r.name, higress_namespace, r.row.target)
             for r in references.of(live, higress_namespace, rewritable=False) if r.row.form == "route"}
    added, kept, new_rules = [], [], []
    for rule in rules:
        fresh = [n for n in rule["ingress"] if n not in named]
        kept += [n for n in rule["ingress"] if n in named]
        if fresh:
            new_rules.append(dict(rule, ingress=fresh))
            added += fresh
            named |= set(fresh)
    spec = dict(live.get("spec") or {})
    spec["matchRules"] = list(spec.get("matchRules") or []) + new_rules
    return dict(live, spec=spec), added, kept
