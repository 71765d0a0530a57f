"""Restore a snapshot in dependency order: plan first, then apply tier by tier.

`plan()` reads the target (discovery, one LIST per kind and namespace) and decides, per object, what would happen;
it writes nothing. `execute()` carries the plan out: missing CRDs first (waiting until Established), missing
namespaces, then each tier's objects concurrently with server-side apply (field manager `hgbackup`). Every object
ends with one result; one failure never stops the rest.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import catalogue, selection
from .errors import HgbackupError, NotFound, Unreachable
from .kube import Conflict, Kube
from .model import Ref, StoredObject
from .sanitize import canonical_bytes, sha256_hex, stored_form

CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED, PRUNED = "created", "updated", "unchanged", "skipped", "failed", "pruned"
ACTIONS = (CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED, PRUNED)
EXISTING_POLICIES = ("update", "skip", "fail")
CONFLICT_RETRIES = 5
NAMESPACE_TIER = 1


@dataclass
class Options:
    existing: str = "update"
    dry_run: bool = False
    prune: bool = False
    concurrency: int = 8
    preserve_nodeports: bool = False
    kinds: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    selector: str | None = None
    namespace_map: dict[str, str] = field(default_factory=dict)
    crd_timeout: float = 60.0


@dataclass
class Step:
    """One planned operation. `intent` is what the plan expects; the result may differ (e.g. failed)."""

    ref: Ref
    api_version: str
    tier: int
    intent: str  # create | update | unchanged | skip | fail | prune | create-crd | create-namespace
    desired: dict | None = None
    live_sha: str | None = None
    message: str = ""
    namespace_missing: bool = False


@dataclass
class Result:
    ref: Ref
    api_version: str
    action: str
    message: str = ""

    def as_json(self) -> dict:
        return {"ref": self.ref.as_json(self.api_version), "action": self.action, "message": self.message}


@dataclass
class Plan:
    steps: list[Step]

    def tiers(self) -> list[list[Step]]:
        by_tier: dict[int, list[Step]] = {}
        for step in self.steps:
            by_tier.setdefault(step.tier, []).append(step)
        return [by_tier[t] for t in sorted(by_tier)]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.intent] = counts.get(step.intent, 0) + 1
        return counts


# -- choosing and mapping objects (pure) ------------------------------------------------------------------------
def choose(objects: list[StoredObject], options: Options) -> list[StoredObject]:
    """The snapshot objects a restore covers (filters), with --namespace-map applied."""
    kinds = {(k.group, k.kind) for name in options.kinds for k in catalogue.lookup(name)} if options.kinds else None
    selector = selection.parse_selector(options.selector) if options.selector else None
    chosen = []
    for obj in objects:
        ref = obj.ref
        if kinds is not None and (ref.group, ref.kind) not in kinds and ref.kind != "CustomResourceDefinition":
            continue
        if options.namespaces and ref.namespace is not None and ref.namespace not in options.namespaces:
            continue
        if options.names and ref.name not in options.names and ref.kind != "CustomResourceDefinition":
            continue
        if selector is not None and not selection.matches(selector, obj.obj["metadata"].get("labels") or {}):
            continue
        chosen.append(map_namespaces(obj, options.namespace_map) if options.namespace_map else obj)
    return chosen


def map_namespaces(obj: StoredObject, mapping: dict[str, str]) -> StoredObject:
    """Moves an object to its mapped namespace; `namespace` fields inside spec that name a mapped one follow."""
    if obj.ref.namespace is None or obj.ref.kind == "CustomResourceDefinition":
        return obj
    data = copy.deepcopy(obj.obj)
    data["metadata"]["namespace"] = mapping.get(obj.ref.namespace, obj.ref.namespace)

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "namespace" and isinstance(value, str) and value in mapping:
                    node[key] = mapping[value]
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data.get("spec"))
    return StoredObject.from_object(data)


def desired_form(obj: StoredObject, preserve_nodeports: bool) -> dict:
    data = copy.deepcopy(obj.obj)
    if obj.ref.kind == "Service" and obj.ref.group == "" and not preserve_nodeports:
        for port in (data.get("spec") or {}).get("ports") or []:
            port.pop("nodePort", None)
    return data


def content_sha(obj: dict) -> str:
    return sha256_hex(canonical_bytes(stored_form(obj)))


# -- planning (reads the target) ---------------------------------------------------------------------------------
def plan(kube: Kube, objects: list[StoredObject], options: Options,
         prune_candidates: list[StoredObject] | None = None) -> Plan:
    served = kube.served()
    crds_in_snapshot = {o.ref.name: o for o in objects if o.ref.kind == "CustomResourceDefinition"}
    steps: list[Step] = []
    for name, crd in sorted(crds_in_snapshot.items()):
        exists = kube.get(catalogue.CRDS, "v1", None, name) is not None
        steps.append(Step(crd.ref, crd.api_version, 0, "unchanged" if exists else "create-crd", crd.obj,
                          message="exists; CRDs are never updated" if exists else "CRD missing in the target"))
    regular = [o for o in objects if o.ref.kind != "CustomResourceDefinition"]
    live = _live_index(kube, regular, served)
    namespace_steps = _namespace_steps(kube, regular)
    missing = {s.ref.name for s in namespace_steps}
    for obj in regular:
        step = _plan_object(obj, served, crds_in_snapshot, live, options)
        step.namespace_missing = obj.ref.namespace in missing
        steps.append(step)
    steps += namespace_steps
    if options.prune and prune_candidates is not None:
        wanted = {o.ref for o in objects}
        steps += [Step(o.ref, o.api_version, 12, "prune", message="not in the snapshot")
                  for o in prune_candidates if o.ref not in wanted and o.ref.kind != "CustomResourceDefinition"]
    return Plan(sorted(steps, key=lambda s: (s.tier, s.ref)))


def _live_index(kube: Kube, objects: list[StoredObject], served) -> dict[Ref, dict]:
    """Live objects for comparison: one LIST per (kind, namespace) the restore touches."""
    wanted = sorted({(o.kind.key, o.ref.namespace) for o in objects if served[o.kind.key].version})

    def fetch(item):
        key, namespace = item
        kind = catalogue.BY_KEY[key]
        try:
            return kube.list(kind, served[key].version, namespace if kind.namespaced else None)
        except NotFound:
            return []

    index: dict[Ref, dict] = {}
    with ThreadPoolExecutor(max_workers=6) as pool:
        for items in pool.map(fetch, wanted):
            for item in items:
                index[StoredObject.from_object(item).ref] = item
    return index


def _plan_object(obj: StoredObject, served, crds_in_snapshot, live, options: Options) -> Step:
    kind = obj.kind
    desired = desired_form(obj, options.preserve_nodeports)
    step = Step(obj.ref, obj.api_version, kind.tier, "create", desired)
    if not served[kind.key].version:
        if kind.key not in crds_in_snapshot:
            step.intent, step.message = "skip", f"kind {kind.key} is not served and its CRD is not in the snapshot"
        else:
            step.message = "its CRD is created first"
        return step
    current = live.get(obj.ref)
    if current is None:
        return step
    step.live_sha = content_sha(current)
    if step.live_sha == content_sha(desired):
        step.intent, step.message = "unchanged", "live object equals the snapshot"
    elif options.existing == "skip":
        step.intent, step.message = "skip", "exists and differs (--existing skip)"
    elif options.existing == "fail":
        step.intent, step.message = "fail", "exists and differs (--existing fail)"
    else:
        step.intent = "update"
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
    return [Step(Ref("", "Namespace", None, ns), "v1", NAMESPACE_TIER, "create-namespace",
                 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, message="needed by objects")
            for ns in absent]


# -- execution -------------------------------------------------------------------------------------------------------
def execute(kube: Kube, the_plan: Plan, options: Options,
            progress: Callable[[int, int, str], None] | None = None) -> list[Result]:
    results: list[Result] = []
    total, done = len(the_plan.steps), 0
    for tier in the_plan.tiers():
        with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
            tier_results = list(pool.map(lambda s: _run_step(kube, s, options), tier))
        results += tier_results
        done += len(tier)
        if progress:
            progress(done, total, f"tier {tier[0].tier}")
        if tier[0].tier == 0 and any(r.action == CREATED for r in tier_results) and not options.dry_run:
            _wait_established(kube, [r for r in tier_results if r.action == CREATED], options.crd_timeout)
            kube.forget_discovery()
    return results


def _note(options: Options) -> str:
    return "dry run: " if options.dry_run else ""


def _run_step(kube: Kube, step: Step, options: Options) -> Result:
    note = _note(options)
    try:
        if step.intent == "unchanged":
            return Result(step.ref, step.api_version, UNCHANGED, step.message)
        if step.intent == "skip":
            return Result(step.ref, step.api_version, SKIPPED, step.message)
        if step.intent == "fail":
            return Result(step.ref, step.api_version, FAILED, step.message)
        if step.intent == "prune":
            kind = catalogue.BY_GROUP_KIND[(step.ref.group, step.ref.kind)]
            kube.delete(kind, kube.served()[kind.key].version, step.ref.namespace, step.ref.name,
                        dry_run=options.dry_run)
            return Result(step.ref, step.api_version, PRUNED, note + step.message)
        if step.intent == "create-namespace":
            if not options.dry_run:
                kube.request("POST", "/api/v1/namespaces", body=step.desired)
            return Result(step.ref, step.api_version, CREATED, note + "namespace created")
        if step.intent == "create-crd":
            kube.create(catalogue.CRDS, "v1", step.desired, dry_run=options.dry_run)
            return Result(step.ref, step.api_version, CREATED, note + step.message)
        return _apply(kube, step, options)
    except Unreachable:
        raise
    except HgbackupError as exc:
        return Result(step.ref, step.api_version, FAILED, str(exc))


def _apply(kube: Kube, step: Step, options: Options) -> Result:
    kind = catalogue.BY_GROUP_KIND[(step.ref.group, step.ref.kind)]
    served = kube.served()[kind.key]
    if not served.version:
        if options.dry_run:
            return Result(step.ref, step.api_version, CREATED, "dry run: not validated (its CRD is created first)")
        return Result(step.ref, step.api_version, SKIPPED, f"kind {kind.key} is not served")
    if options.dry_run and step.namespace_missing:
        return Result(step.ref, step.api_version, CREATED, "dry run: not validated (its namespace is created first)")
    version = catalogue.version_of(step.api_version)
    body = step.desired
    message = ""
    if version not in served.versions:
        version = served.version
        body = dict(body, apiVersion=kind.api_version(version))
        message = f"applied as {body['apiVersion']} ({step.api_version} is not served); "
    for attempt in range(CONFLICT_RETRIES):
        try:
            applied = kube.apply(kind, version, body, force=True, dry_run=options.dry_run)
            if step.live_sha is not None and content_sha(applied) != content_sha(body):
                # Server-side apply leaves fields that other managers own (an annotation added by hand, say);
                # a restore must give back the snapshot's object, so replace it whole.
                applied = kube.replace(kind, version, body, applied["metadata"]["resourceVersion"],
                                       dry_run=options.dry_run)
            break
        except Conflict:
            if attempt == CONFLICT_RETRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    prefix = _note(options)
    if step.live_sha is None:
        return Result(step.ref, body["apiVersion"], CREATED, prefix + message + "created")
    if content_sha(applied) == step.live_sha:
        return Result(step.ref, body["apiVersion"], UNCHANGED, prefix + message + "server-side equal")
    return Result(step.ref, body["apiVersion"], UPDATED, prefix + message + "updated")


def _wait_established(kube: Kube, created: list[Result], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {r.ref.name: r for r in created}
    while pending:
        for name in list(pending):
            crd = kube.get(catalogue.CRDS, "v1", None, name)
            status = (crd or {}).get("status") or {}
            conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
            if conditions.get("Established") == "True":
                pending.pop(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            for result in pending.values():
                result.action, result.message = FAILED, f"CRD not Established after {timeout:.0f}s"
            return
        time.sleep(0.2)


def summary(results: list[Result]) -> dict[str, int]:
    counts = dict.fromkeys(ACTIONS, 0)
    for result in results:
        counts[result.action] += 1
    return counts
