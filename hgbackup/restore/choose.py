"""Which snapshot objects a restore covers and in what form: filters, namespace maps, prune scope (pure)."""

from __future__ import annotations

import copy

import orjson

from ..errors import InvalidInput
from ..kube import catalogue, labels, names, references
from ..kube.excluded import PROTECTED_NAMESPACES
from ..kube.model import StoredObject
from ..kube.scope import Scope
from ..kube.stored import canonical_bytes, sha256_hex, stored_form
from ..store.coverage import Coverage
from .closure import Closure, dependencies
from .records import Ref, RestoreOptions


def parse_namespace_map(pairs: list[str]) -> dict[str, str]:
    """`OLD:NEW` pairs; each namespace mapped at most once. A target goes through the same confinement as a
    snapshot's own namespaces: nothing is mapped into kube-system and the other protected namespaces."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition(":")
        if not sep or not old or not new or ":" in new:
            raise InvalidInput(f"--namespace-map takes OLD:NEW, got {pair!r}")
        names.require_namespace(new, f"--namespace-map {pair}")
        if old in mapping and mapping[old] != new:
            raise InvalidInput(f"--namespace-map maps {old!r} twice ({mapping[old]!r} and {new!r})")
        if new in PROTECTED_NAMESPACES:
            raise InvalidInput(f"--namespace-map {pair}: hgbackup never writes to {new}")
        mapping[old] = new
    return mapping


def restored_namespaces(options: RestoreOptions) -> list[str]:
    """The snapshot namespaces a restore covers: -n, else with --namespace-map only the mapped ones; empty = all."""
    return list(options.namespaces) or sorted(options.namespace_map)


def selective(options: RestoreOptions) -> bool:
    """Whether filters leave part of the snapshot behind (then its dependencies are brought)."""
    return bool(options.kinds or options.namespaces or options.names or options.selector or options.namespace_map)


def choose(objects: list[StoredObject], options: RestoreOptions, notes: list[str] | None = None,
           closure: Closure | None = None, higress_namespace: str = "higress-system") -> list[StoredObject]:
    """The snapshot objects a restore covers (filters), with --namespace-map applied. With -n (or a namespace map,
    which restores only its namespaces), cluster-scoped objects are left alone (CRDs excepted: a missing one is
    still created). Given `closure` (a selective restore), what the chosen objects need is added from `objects`
    and recorded there (unless --no-dependencies). References that an object of an unmapped namespace holds to a
    mapped one are described in `notes`, not rewritten."""
    kinds = catalogue.named(options.kinds)
    selector = labels.parse_selector(options.selector) if options.selector else None
    namespaces = set(restored_namespaces(options))
    chosen = []
    for obj in objects:
        ref = obj.ref
        if kinds is not None and (ref.group, ref.kind) not in kinds and ref.kind != "CustomResourceDefinition":
            continue
        if namespaces and ref.namespace not in namespaces and ref.kind != "CustomResourceDefinition":
            continue
        if options.names and ref.name not in options.names and ref.kind != "CustomResourceDefinition":
            continue
        if selector is not None and not labels.matches(selector, obj.obj["metadata"].get("labels") or {}):
            continue
        chosen.append(obj)
    if closure is not None and options.dependencies and selective(options):
        extra, found = dependencies(objects, chosen, higress_namespace, options.namespace_map)
        chosen += extra
        closure.needed_by, closure.merges = found.needed_by, found.merges
    if not options.namespace_map:
        return chosen
    mapped = [map_namespaces(o, options.namespace_map, notes, higress_namespace) for o in chosen]
    taken = {o.ref for o in chosen}
    for other in objects:  # not restored, but naming a mapped namespace: the mapped copies are not covered by it
        if other.ref not in taken and other.ref.namespace not in options.namespace_map:
            map_namespaces(other, options.namespace_map, notes, higress_namespace)
    if closure is not None:
        closure.rekey({o.ref: m.ref for o, m in zip(chosen, mapped)})
    return mapped


def map_namespaces(obj: StoredObject, mapping: dict[str, str], notes: list[str] | None = None,
                   higress_namespace: str = "higress-system") -> StoredObject:
    """Moves an object of a mapped namespace to its new one. Each reference it holds into a mapped namespace (the
    reference table: `namespace` fields, `ns/name` values, cluster-local hosts such as
    `search.shop.svc.cluster.local`, plugin route names) is rewritten, and so is any other `namespace` field of
    its spec naming a mapped namespace; one that cannot be rewritten is described in `notes`. An object of an
    unmapped namespace is left as it is: its references to a mapped namespace are described in `notes`
    (rewriting them would cut the live object that still uses them off, e.g. a ReferenceGrant of
    higress-system)."""
    if obj.ref.namespace is None or obj.ref.kind == "CustomResourceDefinition":
        return obj
    mapped = obj.ref.namespace in mapping
    data = copy.deepcopy(obj.obj) if mapped else obj.obj
    found: list[str] = []
    stuck: list[str] = []
    done: set[int] = set()
    target_higress = mapping.get(higress_namespace, higress_namespace)
    for ref in references.of(data, higress_namespace):
        if not ref.explicit or ref.namespace not in mapping:
            continue
        found.append(ref.where)
        if mapped:
            done.add(id(ref._container[ref._key]) if ref.row.form == "object" else id(ref._container))
            if not ref.rewrite(mapping[ref.namespace], target_higress):
                stuck.append(ref.where)
    _other_namespace_fields(data.get("spec"), "spec", mapping, mapped, done, found)
    if not mapped:
        if found and notes is not None:
            notes.append(f"{obj.ref} is not in a mapped namespace and keeps its references to mapped ones "
                         f"({', '.join(dict.fromkeys(found))}): not rewritten")
        return obj
    if stuck and notes is not None:
        notes.append(f"{obj.ref}: its references {', '.join(stuck)} name a mapped namespace in a form that cannot "
                     "be rewritten; they still point at the old namespace")
    data["metadata"]["namespace"] = mapping[obj.ref.namespace]
    return StoredObject.from_object(data)


def _other_namespace_fields(node, path: str, mapping: dict[str, str], mapped: bool, done: set[int],
                            found: list[str]) -> None:
    """`namespace` fields the reference table does not describe (a ReferenceGrant's `from`): rewritten alike."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if key == "namespace" and isinstance(value, str) and value in mapping and id(node) not in done:
                found.append(here)
                if mapped:
                    node[key] = mapping[value]
            else:
                _other_namespace_fields(value, here, mapping, mapped, done, found)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _other_namespace_fields(item, f"{path}[{i}]", mapping, mapped, done, found)


def safety_scope(scope_json: dict, options: RestoreOptions, objects: list[StoredObject] | None = None) -> Scope:
    """The live objects a restore may touch: the snapshot's scope, in the target namespaces, of the kinds
    restored (--kind); given the `objects` a restore writes (its dependencies and merged plugins included), their
    kinds and namespaces too, so the safety snapshot holds everything the restore may change."""
    scope = Scope.from_json(scope_json)
    if options.kinds:
        scope.include, scope.exclude = list(options.kinds), []
    namespaces = restored_namespaces(options) or scope.namespaces
    targets = {options.namespace_map.get(ns, ns) for ns in namespaces}
    if objects is not None and (options.kinds or namespaces):
        extra = [o for o in objects if o.ref.kind != "CustomResourceDefinition"]
        if options.kinds:
            scope.include = sorted(set(scope.include) | {o.kind.key for o in extra})
        if namespaces:
            targets |= {o.ref.namespace for o in extra if o.ref.namespace}
    scope.namespaces = sorted(targets)
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
