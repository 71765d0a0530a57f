"""Which snapshot objects a restore covers and in what form: filters, namespace maps, prune scope (pure)."""

from __future__ import annotations

import copy

import orjson

from .. import catalogue, selection
from ..coverage import Coverage
from ..errors import InvalidInput
from ..model import StoredObject
from ..sanitize import canonical_bytes, sha256_hex, stored_form
from ..selection import Scope
from .records import Ref, RestoreOptions


def parse_namespace_map(pairs: list[str]) -> dict[str, str]:
    """`OLD:NEW` pairs; each namespace mapped at most once."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition(":")
        if not sep or not old or not new or ":" in new:
            raise InvalidInput(f"--namespace-map takes OLD:NEW, got {pair!r}")
        if old in mapping and mapping[old] != new:
            raise InvalidInput(f"--namespace-map maps {old!r} twice ({mapping[old]!r} and {new!r})")
        mapping[old] = new
    return mapping


def choose(objects: list[StoredObject], options: RestoreOptions,
           notes: list[str] | None = None) -> list[StoredObject]:
    """The snapshot objects a restore covers (filters), with --namespace-map applied. With -n, cluster-scoped
    objects are left alone (CRDs excepted: a missing one is still created). References that an object of an
    unmapped namespace holds to a mapped one are described in `notes`, not rewritten."""
    kinds = {(k.group, k.kind) for name in options.kinds for k in catalogue.lookup(name)} if options.kinds else None
    selector = selection.parse_selector(options.selector) if options.selector else None
    chosen = []
    for obj in objects:
        ref = obj.ref
        if kinds is not None and (ref.group, ref.kind) not in kinds and ref.kind != "CustomResourceDefinition":
            continue
        if options.namespaces and ref.namespace not in options.namespaces and ref.kind != "CustomResourceDefinition":
            continue
        if options.names and ref.name not in options.names and ref.kind != "CustomResourceDefinition":
            continue
        if selector is not None and not selection.matches(selector, obj.obj["metadata"].get("labels") or {}):
            continue
        chosen.append(map_namespaces(obj, options.namespace_map, notes) if options.namespace_map else obj)
    return chosen


def map_namespaces(obj: StoredObject, mapping: dict[str, str], notes: list[str] | None = None) -> StoredObject:
    """Moves an object of a mapped namespace to its new one; inside its spec, `namespace` fields and WasmPlugin
    matchRules (`namespace/name`) that name a mapped namespace follow. An object of an unmapped namespace is left
    as it is: its references to a mapped namespace are described in `notes` (rewriting them would cut the live
    object that still uses them off, e.g. a ReferenceGrant of higress-system)."""
    if obj.ref.namespace is None or obj.ref.kind == "CustomResourceDefinition":
        return obj
    mapped = obj.ref.namespace in mapping
    data = copy.deepcopy(obj.obj) if mapped else obj.obj
    found: list[str] = []

    def visit(node, path: str):
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{path}.{key}"
                if key == "namespace" and isinstance(value, str) and value in mapping:
                    found.append(here)
                    if mapped:
                        node[key] = mapping[value]
                elif key == "ingress" and isinstance(value, list) and obj.ref.kind == "WasmPlugin":
                    for i, item in enumerate(value):
                        ns, slash, name = item.partition("/") if isinstance(item, str) else ("", "", "")
                        if slash and ns in mapping:
                            found.append(f"{here}[{i}]")
                            if mapped:
                                value[i] = f"{mapping[ns]}/{name}"
                else:
                    visit(value, here)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                visit(item, f"{path}[{i}]")

    visit(data.get("spec"), "spec")
    if not mapped:
        if found and notes is not None:
            notes.append(f"{obj.ref} is not in a mapped namespace and keeps its references to mapped ones "
                         f"({', '.join(found)}): not rewritten")
        return obj
    data["metadata"]["namespace"] = mapping[obj.ref.namespace]
    return StoredObject.from_object(data)


def safety_scope(scope_json: dict, options: RestoreOptions) -> Scope:
    """The live objects a restore may touch: the snapshot's scope, in the target namespaces, of the kinds
    restored (--kind)."""
    scope = Scope.from_json(scope_json)
    if options.kinds:
        scope.include, scope.exclude = list(options.kinds), []
    namespaces = options.namespaces or scope.namespaces
    scope.namespaces = sorted({options.namespace_map.get(ns, ns) for ns in namespaces})
    scope.higress_namespace = options.namespace_map.get(scope.higress_namespace, scope.higress_namespace)
    return scope


def desired_form(obj: StoredObject, preserve_nodeports: bool) -> dict:
    obj.obj  # noqa: B018 (checks that the bytes decode to the object the manifest named)
    try:
        data = orjson.loads(obj.data)  # a private copy, a dozen times faster than copy.deepcopy
    except ValueError:  # integers beyond 64 bits
        data = copy.deepcopy(obj.obj)
    if obj.ref.kind == "Service" and obj.ref.group == "" and not preserve_nodeports:
        for port in (data.get("spec") or {}).get("ports") or []:
            port.pop("nodePort", None)
    return data


def content_sha(obj: dict) -> str:
    return sha256_hex(canonical_bytes(stored_form(obj)))


def prune_scope(live: list[StoredObject], options: RestoreOptions, only: frozenset[Ref] | None = None,
                coverage: Coverage | None = None,
                outside: list[tuple[StoredObject, str]] | None = None) -> list[StoredObject]:
    """The live objects a prune may consider: those the filters select; with -n or --namespace-map only the target
    namespaces' objects (never cluster-scoped ones); for a safety snapshot's undo only what its restore created;
    and only inside the snapshot's complete `coverage`: what it did not list completely is never pruned (those
    objects are added to `outside` with the reason)."""
    chosen = choose(live, RestoreOptions(kinds=options.kinds, names=options.names, selector=options.selector))
    targets = None
    if options.namespace_map:
        mapped = {options.namespace_map.get(ns, ns) for ns in options.namespaces} if options.namespaces else set()
        targets = mapped or set(options.namespace_map.values())
    elif options.namespaces:
        targets = set(options.namespaces)
    if targets is not None:
        chosen = [o for o in chosen if o.ref.namespace in targets]
    if only is not None:
        chosen = [o for o in chosen if o.ref in only]
    if coverage is None:
        return chosen
    source_ns = {new: old for old, new in options.namespace_map.items()}  # a mapped namespace: the snapshot's own
    covered = []
    for obj in chosen:
        namespace = source_ns.get(obj.ref.namespace, obj.ref.namespace)
        if coverage.covers(obj.kind.key, namespace):
            covered.append(obj)
        elif outside is not None:
            outside.append((obj, f"not pruned: the snapshot did not list {obj.kind.key}"
                                 f"{' in ' + namespace if namespace else ''} completely "
                                 f"({coverage.why_not(obj.kind.key, namespace)})"))
    return covered
