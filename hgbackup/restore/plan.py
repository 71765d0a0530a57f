"""Planning a restore: reads the target (discovery, one LIST per kind and namespace) and writes nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .. import catalogue, confine, selection
from ..errors import NotFound
from ..kube import Kube
from ..model import Ref, StoredObject, ref_of
from .choose import content_sha, desired_form
from .records import Existing, Intent, Plan, RestoreOptions, Step


def plan(kube: Kube, objects: list[StoredObject], options: RestoreOptions,
         prune_candidates: list[StoredObject] | None = None, higress_namespace: str = "higress-system",
         listed: dict[tuple[str, str | None], list[dict]] | None = None) -> Plan:
    """`listed`: what a capture of the target just listed (Capture.listed): those collections are not listed
    again."""
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
        step = _plan_object(obj, served, crds_in_snapshot, live, options)
        step.namespace_missing = obj.ref.namespace in missing
        steps.append(step)
    steps += namespace_steps
    if options.prune and prune_candidates is not None:
        steps += prune_steps(objects, prune_candidates, higress_namespace)
    return Plan(sorted(steps, key=lambda s: (s.tier, s.ref)))


def prune_steps(objects: list[StoredObject], candidates: list[StoredObject], higress_namespace: str) -> list[Step]:
    """Live objects in scope that the snapshot lacks. Never a CRD, nothing in kube-system and the other protected
    namespaces, and never a Secret that an object which remains (restored, or live and not pruned) references."""
    wanted = {o.ref for o in objects}
    doomed = [o for o in candidates if o.ref not in wanted and o.ref.kind != "CustomResourceDefinition"
              and o.ref.namespace not in confine.PROTECTED_NAMESPACES]
    doomed_refs = {o.ref for o in doomed}
    remaining = list(objects) + [o for o in candidates if o.ref not in doomed_refs]
    referenced: dict[tuple[str, str], str] = {}
    grants = selection.secret_grants([o.obj for o in remaining])
    for obj in remaining:
        for target in selection.secret_refs(obj.obj, higress_namespace, grants):
            referenced.setdefault(target, str(obj.ref))
    steps = []
    for obj in doomed:
        holder = referenced.get((obj.ref.namespace, obj.ref.name)) if obj.ref.kind == "Secret" else None
        if holder:
            steps.append(Step(obj.ref, obj.api_version, catalogue.PRUNE_TIER, Intent.UNCHANGED,
                              message=f"not pruned: still referenced by {holder}"))
        else:
            steps.append(Step(obj.ref, obj.api_version, catalogue.PRUNE_TIER, Intent.PRUNE,
                              message="not in the snapshot"))
    return steps


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
