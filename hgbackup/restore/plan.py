"""Planning a restore: reads the target (discovery, one LIST per kind and namespace) and writes nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..errors import HgbackupError, NotFound
from ..kube import catalogue, references
from ..kube.client import Kube
from ..kube.excluded import PROTECTED_NAMESPACES
from ..kube.model import Ref, StoredObject, ref_of
from ..kube.stored import stored_form
from .choose import content_sha, desired_form
from .closure import Closure, merge_rules
from .records import Existing, Intent, Plan, RestoreOptions, Step


def plan(kube: Kube, objects: list[StoredObject], options: RestoreOptions,
         prune_candidates: list[StoredObject] | None = None, higress_namespace: str = "higress-system",
         listed: dict[tuple[str, str | None], list[dict]] | None = None, closure: Closure | None = None) -> Plan:
    """`listed`: what a capture of the target just listed (Capture.listed): those collections are not listed
    again. `closure`: the dependencies a selective restore added (created only when missing) and the plugins
    whose rules it merges."""
    closure = closure or Closure()
    served = kube.served()
    crds_in_snapshot = {o.ref.name: o for o in objects if o.ref.kind == "CustomResourceDefinition"}
    steps: list[Step] = []
    for name, crd in sorted(crds_in_snapshot.items()):
        exists = kube.get(catalogue.CRDS, "v1", None, name) is not None
        steps.append(Step(crd.ref, crd.api_version, catalogue.CRDS.tier,
                          Intent.UNCHANGED if exists else Intent.CREATE_CRD, crd.obj,
                          message="exists; CRDs are never updated" if exists else "CRD missing in the target"))
    regular = [o for o in objects if o.ref.kind != "CustomResourceDefinition"]
    live = _live_index(kube, regular, served, listed or {})
    namespace_steps = _namespace_steps(kube, regular)
    missing = {s.ref.name for s in namespace_steps}
    for obj in regular:
        if obj.ref in closure.merges:
            step = _plan_merge(obj, served, live, closure.merges[obj.ref], higress_namespace)
        else:
            step = _plan_object(obj, served, crds_in_snapshot, live, options)
        if obj.ref in closure.needed_by:
            _only_when_missing(step, closure.needed_by[obj.ref])
        step.namespace_missing = obj.ref.namespace in missing
        steps.append(step)
    steps += namespace_steps
    if options.prune and prune_candidates is not None:
        needers, unlisted = live_needers(kube, served, prune_candidates, higress_namespace, listed or {})
        steps += prune_steps(objects, prune_candidates, higress_namespace, needers, unlisted)
    return Plan(sorted(steps, key=lambda s: (s.tier, s.ref)))


def prune_steps(objects: list[StoredObject], candidates: list[StoredObject], higress_namespace: str,
                live: list[dict] | None = None, unlisted: dict[tuple[str, str], str] | None = None) -> list[Step]:
    """Live objects in scope that the snapshot lacks. Never a CRD, nothing in kube-system and the other protected
    namespaces, and never an object that something which remains needs (the reference table): a restored object,
    any `live` object of the kinds that can need it (the whole cluster, whatever the filters), or a candidate kept.
    `unlisted`: kinds that could need a candidate but could not be listed, with why: such candidates are skipped,
    since nobody can say that nothing needs them."""
    wanted = {o.ref for o in objects}
    doomed = {o.ref: o for o in candidates if o.ref not in wanted and o.ref.kind != "CustomResourceDefinition"
              and o.ref.namespace not in PROTECTED_NAMESPACES}
    kept: dict[Ref, str] = {}
    while True:  # a kept object keeps what it needs in turn (a Gateway kept for a route keeps its certificate)
        remaining = [o.obj for o in objects] + [o for o in live or [] if ref_of(o) not in doomed or ref_of(o) in kept]
        remaining += [o.obj for o in candidates if o.ref not in doomed or o.ref in kept]
        found = references.needs(remaining, higress_namespace, {(r.group, r.kind) for r in doomed})
        more = {r: holder for r in doomed if r not in kept
                for holder in [references.needed_by(found, r.group, r.kind, r.namespace, r.name)] if holder}
        if not more:
            break
        kept.update(more)
    blind = unlisted or {}
    steps = []
    for ref, obj in doomed.items():
        unknown = [why for (group, kind), why in blind.items() if _can_need(group, kind, ref)]
        if ref in kept:
            steps.append(Step(ref, obj.api_version, catalogue.PRUNE_TIER, Intent.UNCHANGED,
                              message=f"not pruned: still referenced by {kept[ref]}"))
        elif unknown:
            steps.append(Step(ref, obj.api_version, catalogue.PRUNE_TIER, Intent.SKIP,
                              message=f"not pruned: {unknown[0]}, so whether a live object needs it is unknown"))
        else:
            steps.append(Step(ref, obj.api_version, catalogue.PRUNE_TIER, Intent.PRUNE,
                              message="not in the snapshot"))
    return steps


def _can_need(group: str, kind: str, target: Ref) -> bool:
    return (group, kind) in references.needing_kinds({(target.group, target.kind)})


def live_needers(kube: Kube, served, candidates: list[StoredObject], higress_namespace: str,
                 listed: dict[tuple[str, str | None], list[dict]]) -> tuple[list[dict], dict[tuple[str, str], str]]:
    """Every live object, in every namespace, of the kinds that can need a prune candidate: reused from what the
    safety capture listed where it listed a whole kind, else one LIST each. Also the kinds that could not be
    listed, with why."""
    kinds = references.needing_kinds({(o.ref.group, o.ref.kind) for o in candidates})
    found: list[dict] = []
    unlisted: dict[tuple[str, str], str] = {}
    for (group, kind_name), home_only in sorted(kinds.items()):
        kind = catalogue.BY_GROUP_KIND.get((group, kind_name))
        if kind is None or not served[kind.key].version:
            continue
        namespace = higress_namespace if home_only else None
        if (kind.key, None) in listed or (kind.key, namespace) in listed:
            found += listed.get((kind.key, None), listed.get((kind.key, namespace)))
            continue
        try:
            found += kube.list(kind, served[kind.key].version, namespace)
        except NotFound:
            continue
        except HgbackupError as exc:
            unlisted[(group, kind_name)] = f"cannot list {kind.key}{' in ' + namespace if namespace else ''} ({exc})"
    return found, unlisted


def _live_index(kube: Kube, objects: list[StoredObject], served,
                listed: dict[tuple[str, str | None], list[dict]]) -> dict[Ref, dict]:
    """Live objects for comparison: one LIST per (kind, namespace) the restore touches, unless a capture listed
    that collection (or all namespaces of that kind) already, before selecting from it."""
    wanted = sorted({(o.kind.key, o.ref.namespace if o.kind.namespaced else None) for o in objects
                     if served[o.kind.key].version})

    def fetch(item):
        key, namespace = item
        if (key, namespace) in listed:
            return listed[(key, namespace)]
        if (key, None) in listed:
            return [o for o in listed[(key, None)] if (o.get("metadata") or {}).get("namespace") == namespace]
        kind = catalogue.BY_KEY[key]
        try:
            return kube.list(kind, served[key].version, namespace)
        except NotFound:
            return []

    index: dict[Ref, dict] = {}
    with ThreadPoolExecutor(max_workers=6) as pool:
        for items in pool.map(fetch, wanted):
            for item in items:
                index[ref_of(item)] = item
    return index


def _plan_object(obj: StoredObject, served, crds_in_snapshot, live, options: RestoreOptions) -> Step:
    kind = obj.kind
    desired = desired_form(obj, options.preserve_nodeports)
    step = Step(obj.ref, obj.api_version, kind.tier, Intent.CREATE, desired)
    if not served[kind.key].version:
        if kind.key not in crds_in_snapshot:
            step.intent, step.message = Intent.SKIP, f"kind {kind.key} is not served and its CRD is not in the snapshot"
        else:
            step.message = "its CRD is created first"
        return step
    current = live.get(obj.ref)
    if current is None:
        return step
    step.live_sha = content_sha(current)
    if step.live_sha == content_sha(desired):
        step.intent, step.message = Intent.UNCHANGED, "live object equals the snapshot"
    elif options.existing == Existing.SKIP:
        step.intent, step.message = Intent.SKIP, "exists and differs (--existing skip)"
    elif options.existing == Existing.FAIL:
        step.intent, step.message = Intent.FAIL, "exists and differs (--existing fail)"
    else:
        step.intent = Intent.UPDATE
    return step


def _only_when_missing(step: Step, needed_by: str) -> None:
    """A dependency the user did not ask for: created when missing, else left as it is."""
    step.reason = f"needed by {needed_by}"
    if step.live_sha is not None and step.intent in (Intent.UPDATE, Intent.SKIP, Intent.FAIL):
        step.intent, step.desired = Intent.UNCHANGED, None
        step.message = f"exists; left as it is (needed by {needed_by}: a dependency is restored only when missing)"
    elif step.intent == Intent.UNCHANGED:
        step.message += f" ({step.reason})"


def _plan_merge(obj: StoredObject, served, live, rules: list[dict], higress_namespace: str) -> Step:
    """A WasmPlugin whose rules named restored routes: those rules merged into the live plugin."""
    names = ", ".join(n for rule in rules for n in rule["ingress"])
    step = Step(obj.ref, obj.api_version, obj.kind.tier, Intent.SKIP, reason=f"merges its rules naming {names}")
    current = live.get(obj.ref) if served[obj.kind.key].version else None
    if current is None:
        step.message = (f"not merged: it does not exist in the target, so its rules naming {names} were not "
                        f"restored (restore it whole with --kind WasmPlugin --name {obj.ref.name})")
        return step
    desired, added, kept = merge_rules(stored_form(current), rules, higress_namespace)
    step.live_sha = content_sha(current)
    if not added:
        step.intent = Intent.UNCHANGED
        step.message = f"the live plugin has its own rules naming {', '.join(kept)}; left as they are"
        return step
    step.intent, step.desired, step.api_version = Intent.UPDATE, desired, current.get("apiVersion", obj.api_version)
    if kept:
        step.reason += f" (the live plugin's own rules naming {', '.join(kept)} are kept)"
    return step


def _namespace_steps(kube: Kube, objects: list[StoredObject]) -> list[Step]:
    needed = sorted({o.ref.namespace for o in objects if o.ref.namespace})

    def missing(ns):
        try:
            kube.request("GET", f"/api/v1/namespaces/{ns}")
            return False
        except NotFound:
            return True

    with ThreadPoolExecutor(max_workers=6) as pool:
        absent = [ns for ns, gone in zip(needed, pool.map(missing, needed)) if gone]
    return [Step(Ref("", "Namespace", None, ns), "v1", catalogue.NAMESPACE_TIER, Intent.CREATE_NAMESPACE,
                 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, message="needed by objects")
            for ns in absent]
