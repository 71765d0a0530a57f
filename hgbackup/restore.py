"""Restore a snapshot in dependency order: plan first, then apply tier by tier.

`run()` is the whole verb (used by `restore` and `migrate --apply`): capture what the restore may touch, plan,
confirm, take the safety snapshot, execute, and return a `RestoreReport` whatever happened on the way.
`plan()` reads the target (discovery, one LIST per kind and namespace) and decides, per object, what would happen;
it writes nothing. `execute()` carries the plan out: missing CRDs first (waiting until Established), missing
namespaces, then each tier's objects concurrently with server-side apply (field manager `hgbackup`). Every object
ends with one result; one failed object never stops the rest. When the cluster itself stops answering or refuses
us (a lost connection, a revoked identity), no further tier is started and every object not applied is reported
as failed.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

from . import catalogue, confine, selection
from . import snapshot as snapshot_mod
from .errors import EXIT_OK, EXIT_PARTIAL, EXIT_UNREACHABLE, HgbackupError, InvalidInput, NotFound, Unreachable
from .kube import Conflict, Kube
from .model import Ref, StoredObject
from .repository import Repository
from .sanitize import canonical_bytes, sha256_hex, stored_form
from .selection import Scope

CONFLICT_RETRIES = 5
SAFETY_TAGS = ("pre-restore", "pre-migrate")


class Intent(str, Enum):
    """What the plan expects to do with one object."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    FAIL = "fail"
    PRUNE = "prune"
    CREATE_CRD = "create-crd"
    CREATE_NAMESPACE = "create-namespace"


class Action(str, Enum):
    """What happened to one object."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"
    PRUNED = "pruned"


class Existing(str, Enum):
    """--existing: what to do with objects that exist and differ."""

    UPDATE = "update"
    SKIP = "skip"
    FAIL = "fail"


# Results that wrote to the cluster.
WRITTEN = (Action.CREATED, Action.UPDATED, Action.PRUNED)


@dataclass
class RestoreOptions:
    existing: Existing = Existing.UPDATE
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
    allow_crd_webhooks: bool = False


@dataclass
class Step:
    """One planned operation. `intent` is what the plan expects; the result may differ (e.g. failed)."""

    ref: Ref
    api_version: str
    tier: int
    intent: Intent
    desired: dict | None = None
    live_sha: str | None = None
    message: str = ""
    namespace_missing: bool = False


@dataclass
class Result:
    ref: Ref
    api_version: str
    action: Action
    message: str = ""

    def as_json(self) -> dict:
        return {"ref": self.ref.as_json(self.api_version), "action": self.action.value, "message": self.message}


@dataclass
class Plan:
    steps: list[Step]
    header: str = ""  # source and target, for the confirmation prompt

    def tiers(self) -> list[list[Step]]:
        by_tier: dict[int, list[Step]] = {}
        for step in self.steps:
            by_tier.setdefault(step.tier, []).append(step)
        return [by_tier[t] for t in sorted(by_tier)]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.intent.value] = counts.get(step.intent.value, 0) + 1
        return counts


@dataclass
class Execution:
    results: list[Result]
    stopped: HgbackupError | None = None  # why no further tier was started


@dataclass
class RestoreReport:
    """Everything a restore did, including when it stopped early: rendered by the CLI, exit code from here."""

    results: list[Result]
    dry_run: bool
    snapshot: str | None = None
    safety_snapshot: str | None = None
    stopped: str | None = None
    stopped_code: int | None = None
    source: dict = field(default_factory=dict)
    target: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def cross_cluster(self) -> bool:
        """Restoring into another cluster than the one the snapshot was taken of (disaster recovery)."""
        mine, theirs = self.source.get("identity"), self.target.get("identity")
        return bool(mine and theirs and mine != theirs)

    def header(self) -> str:
        s, t = self.source, self.target
        lines = []
        if s:
            lines.append(f"source: snapshot {s.get('snapshot')} of cluster {s.get('cluster')} (identity "
                         f"{s.get('identity') or '-'}, server {s.get('server_version') or '-'}, taken "
                         f"{s.get('created')})")
        lines.append(f"target: context {t.get('context')}, server {t.get('server')}, identity "
                     f"{t.get('identity') or '-'}")
        if self.cross_cluster:
            lines.append("restoring into another cluster than the snapshot's (disaster recovery)")
        return "\n".join(lines)

    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for result in self.results:
            counts[result.action.value] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 all done; 3 something failed or was skipped; 6 the cluster stopped us before anything was written."""
        if self.stopped and not any(r.action in WRITTEN for r in self.results):
            return self.stopped_code or EXIT_UNREACHABLE
        if any(r.action in (Action.FAILED, Action.SKIPPED) for r in self.results):
            return EXIT_PARTIAL
        return EXIT_OK

    def as_json(self) -> dict:
        doc = {"results": [r.as_json() for r in self.results], "summary": self.summary(),
               "safety_snapshot": self.safety_snapshot, "dry_run": self.dry_run, "stopped": self.stopped,
               "source": self.source or None, "target": self.target, "cross_cluster": self.cross_cluster,
               "notes": self.notes}
        if self.snapshot is not None:
            doc["snapshot"] = self.snapshot
        return doc


@dataclass
class RestoreRequest:
    """What to restore and how: the chosen objects, the live scope they may touch, and the safety snapshot."""

    objects: list[StoredObject]
    options: RestoreOptions
    scope: Scope  # the live objects the restore may touch: safety snapshot and prune candidates
    safety_tag: str | None = "pre-restore"  # None: no safety snapshot
    safety_cluster: str | None = None  # where the safety snapshot is filed (default: the target's cluster name)
    source: str | None = None  # the snapshot id restored, if any
    source_info: dict = field(default_factory=dict)  # the snapshot's cluster, identity, server and time
    prune_only: frozenset[Ref] | None = None  # restoring a safety snapshot: prune at most what its restore created
    notes: list[str] = field(default_factory=list)  # worth knowing before anything is applied


# -- choosing and mapping objects (pure) ------------------------------------------------------------------------
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
    data = copy.deepcopy(obj.obj)
    if obj.ref.kind == "Service" and obj.ref.group == "" and not preserve_nodeports:
        for port in (data.get("spec") or {}).get("ports") or []:
            port.pop("nodePort", None)
    return data


def content_sha(obj: dict) -> str:
    return sha256_hex(canonical_bytes(stored_form(obj)))


# -- the verb ------------------------------------------------------------------------------------------------------
def run(kube: Kube, repo: Repository, request: RestoreRequest, *,
        confirm: Callable[[Plan], None] | None = None, progress: Callable[[int, int, str], None] | None = None,
        notify: Callable[[str], None] | None = None) -> RestoreReport:
    """Plan, confirm (the callback raises to abort), safety snapshot, execute; the report says what happened."""
    options = request.options
    report = RestoreReport([], options.dry_run, request.source, source=request.source_info,
                           target={"context": kube.context_name, "server": kube.host,
                                   "identity": kube.cluster_identity()}, notes=list(request.notes))
    for note in report.notes:
        if notify:
            notify(f"warning: {note}")
    safety = request.safety_tag is not None and not options.dry_run
    capture = None
    if options.prune or safety:
        capture = snapshot_mod.capture_live(kube, request.scope)
    prune_candidates = None
    if options.prune and capture is not None:
        prune_candidates = prune_scope(capture.objects, options, request.prune_only)
    the_plan = plan(kube, request.objects, options, prune_candidates, request.scope.higress_namespace)
    the_plan.header = report.header()
    if notify:
        notify(the_plan.header)
    if confirm is not None and not options.dry_run:
        confirm(the_plan)

    safety_id = None
    if safety and capture is not None:
        created = [s.ref for s in the_plan.steps if s.intent == Intent.CREATE]
        safety_id = snapshot_mod.write(repo, capture, request.scope, tags=[request.safety_tag],
                                       cluster=request.safety_cluster, undo_prunes=created).id
        if notify:
            if repo.encryption_key is None and any(o.ref.kind == "Secret" for o in capture.objects):
                notify("warning: the safety snapshot holds live Secrets unencrypted (no key given)")
            notify(f"safety snapshot {safety_id} (undo: hgbackup restore {safety_id} --prune --yes)")
    execution = execute(kube, the_plan, options, progress)
    stopped = execution.stopped
    report.results, report.safety_snapshot = execution.results, safety_id
    report.stopped, report.stopped_code = (str(stopped), stopped.exit_code) if stopped else (None, None)
    return report


def prune_scope(live: list[StoredObject], options: RestoreOptions,
                only: frozenset[Ref] | None = None) -> list[StoredObject]:
    """The live objects a prune may consider: those the filters select; with -n or --namespace-map only the target
    namespaces' objects (never cluster-scoped ones); for a safety snapshot's undo only what its restore created."""
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
    return chosen


def restore_snapshot(repo: Repository, ref: str, options: RestoreOptions, *, connect: Callable[[], Kube],
                     cluster: str | None = None, safety: bool = True,
                     confirm: Callable[[Plan], None] | None = None,
                     progress: Callable[[int, int, str], None] | None = None,
                     notify: Callable[[str], None] | None = None) -> RestoreReport:
    """`hgbackup restore`: the snapshot is read and verified before anything is written. `latest` without
    `cluster` means the newest snapshot of the target cluster itself (one read of its identity first)."""
    target = None
    identity = None
    if ref.startswith("latest") and not cluster:
        target = connect()
        identity = target.cluster_identity()
    snap, objects = repo.load(repo.resolve(ref, cluster, identity=identity,
                                           target=f"the target cluster at {target.host}" if target else ""))
    confine.check(objects, snap.manifest.scope, snap.id, allow_crd_webhooks=options.allow_crd_webhooks)
    if not snap.verified and notify:
        notify(f"warning: snapshot {snap.id} is not authenticated (no key): anyone who can write to the store could "
               "have made or edited it; hgbackup still applies only what its recorded scope could hold")
    safety_tags = set(SAFETY_TAGS) & set(snap.manifest.tags)
    if ref.startswith("latest") and safety_tags and notify:
        notify(f"warning: {ref} is {snap.id}, the safety snapshot taken before a {sorted(safety_tags)[0][4:]} "
               f"({snap.manifest.created_text}); to restore an earlier backup give its id (see hgbackup list)")
    notes: list[str] = []
    request = RestoreRequest(objects=choose(objects, options, notes), notes=notes, options=options,
                             scope=safety_scope(snap.manifest.scope, options),
                             safety_tag="pre-restore" if safety else None, safety_cluster=cluster, source=snap.id,
                             source_info=source_info(snap),
                             prune_only=frozenset(snap.manifest.undo_prunes)
                             if snap.manifest.undo_prunes is not None else None)
    return run(target or connect(), repo, request, confirm=confirm, progress=progress, notify=notify)


def source_info(snap) -> dict:
    m = snap.manifest
    return {"snapshot": snap.id, "cluster": m.cluster.name, "identity": m.cluster.identity,
            "server_version": m.cluster.server_version, "created": m.created_text}


# -- planning (reads the target) ---------------------------------------------------------------------------------
def plan(kube: Kube, objects: list[StoredObject], options: RestoreOptions,
         prune_candidates: list[StoredObject] | None = None, higress_namespace: str = "higress-system") -> Plan:
    served = kube.served()
    crds_in_snapshot = {o.ref.name: o for o in objects if o.ref.kind == "CustomResourceDefinition"}
    steps: list[Step] = []
    for name, crd in sorted(crds_in_snapshot.items()):
        exists = kube.get(catalogue.CRDS, "v1", None, name) is not None
        steps.append(Step(crd.ref, crd.api_version, catalogue.CRDS.tier,
                          Intent.UNCHANGED if exists else Intent.CREATE_CRD, crd.obj,
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


# -- execution -------------------------------------------------------------------------------------------------------
def execute(kube: Kube, the_plan: Plan, options: RestoreOptions,
            progress: Callable[[int, int, str], None] | None = None) -> Execution:
    """Carry out a plan tier by tier. A failure of the cluster itself (unreachable, forbidden) ends the restore
    after the tier in flight: every object not applied gets a failed result naming why."""
    results: list[Result] = []
    total, done = len(the_plan.steps), 0
    stopped: list[HgbackupError] = []
    for tier in the_plan.tiers():
        if stopped:
            results += [Result(s.ref, s.api_version, Action.FAILED, f"not applied: the restore stopped ({stopped[0]})")
                        for s in tier]
            continue
        with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
            tier_results = list(pool.map(lambda s: _run_step(kube, s, options, stopped), tier))
        results += tier_results
        done += len(tier)
        if progress:
            progress(done, total, f"tier {tier[0].tier}")
        created_crds = [r for r in tier_results if r.action == Action.CREATED]
        if tier[0].tier == catalogue.CRDS.tier and created_crds and not options.dry_run and not stopped:
            try:
                _wait_established(kube, created_crds, options.crd_timeout)
            except Unreachable as exc:
                stopped.append(exc)
            kube.forget_discovery()
    return Execution(results, stopped[0] if stopped else None)


def _note(options: RestoreOptions) -> str:
    return "dry run: " if options.dry_run else ""


def _run_step(kube: Kube, step: Step, options: RestoreOptions, stopped: list[HgbackupError]) -> Result:
    note = _note(options)
    try:
        if step.intent == Intent.UNCHANGED:
            return Result(step.ref, step.api_version, Action.UNCHANGED, step.message)
        if step.intent == Intent.SKIP:
            return Result(step.ref, step.api_version, Action.SKIPPED, step.message)
        if step.intent == Intent.FAIL:
            return Result(step.ref, step.api_version, Action.FAILED, step.message)
        if stopped:  # another object of this tier found the cluster gone: do not start more writes
            return Result(step.ref, step.api_version, Action.FAILED, f"not applied: the restore stopped ({stopped[0]})")
        if step.intent == Intent.PRUNE:
            kind = catalogue.BY_GROUP_KIND[(step.ref.group, step.ref.kind)]
            kube.delete(kind, kube.served()[kind.key].version, step.ref.namespace, step.ref.name,
                        dry_run=options.dry_run)
            return Result(step.ref, step.api_version, Action.PRUNED, note + step.message)
        if step.intent == Intent.CREATE_NAMESPACE:
            if not options.dry_run:
                kube.request("POST", "/api/v1/namespaces", body=step.desired)
            return Result(step.ref, step.api_version, Action.CREATED, note + "namespace created")
        if step.intent == Intent.CREATE_CRD:
            kube.create(catalogue.CRDS, "v1", step.desired, dry_run=options.dry_run)
            return Result(step.ref, step.api_version, Action.CREATED, note + step.message)
        return _apply(kube, step, options)
    except Unreachable as exc:
        stopped.append(exc)
        return Result(step.ref, step.api_version, Action.FAILED, str(exc))
    except HgbackupError as exc:
        return Result(step.ref, step.api_version, Action.FAILED, str(exc))


def _apply(kube: Kube, step: Step, options: RestoreOptions) -> Result:
    kind = catalogue.BY_GROUP_KIND[(step.ref.group, step.ref.kind)]
    served = kube.served()[kind.key]
    if not served.version:
        if options.dry_run:
            return Result(step.ref, step.api_version, Action.CREATED,
                          "dry run: not validated (its CRD is created first)")
        return Result(step.ref, step.api_version, Action.SKIPPED, f"kind {kind.key} is not served")
    if options.dry_run and step.namespace_missing:
        return Result(step.ref, step.api_version, Action.CREATED,
                      "dry run: not validated (its namespace is created first)")
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
        return Result(step.ref, body["apiVersion"], Action.CREATED, prefix + message + "created")
    if content_sha(applied) == step.live_sha:
        return Result(step.ref, body["apiVersion"], Action.UNCHANGED, prefix + message + "server-side equal")
    return Result(step.ref, body["apiVersion"], Action.UPDATED, prefix + message + "updated")


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
                result.action, result.message = Action.FAILED, f"CRD not Established after {timeout:.0f}s"
            return
        time.sleep(0.2)
