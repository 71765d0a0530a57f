"""The restore verb: safety snapshot, plan, confirm, execute, report; and `hgbackup restore ID` on top of it."""

from __future__ import annotations

from collections.abc import Callable

from ..capture import confine, live
from ..capture import snapshot as snapshot_mod
from ..errors import InvalidInput
from ..kube import catalogue
from ..kube.client import Kube
from ..kube.excluded import left_out
from ..kube.scope import Scope
from ..memory import collector_paused
from ..store import clusters, coverage
from ..store.repository import Listing, Repository
from .choose import choose, prune_scope, safety_scope
from .closure import Closure
from .execute import execute
from .plan import plan
from .records import (
    DISASTER_RECOVERY,
    LIVE_CLUSTER,
    SAFETY_TAGS,
    SAME_CLUSTER,
    Intent,
    Level,
    Notice,
    Plan,
    RestoreOptions,
    RestoreReport,
    RestoreRequest,
    Step,
)


def run(kube: Kube, repo: Repository, request: RestoreRequest, *,
        confirm: Callable[[Plan], None] | None = None, progress: Callable[[int, int, str], None] | None = None,
        notify: Callable[[Notice], None] | None = None) -> RestoreReport:
    """Plan, confirm (the callback raises to abort), safety snapshot, execute; the report says what happened."""
    options = request.options
    refuse_left_out(request.objects, options.allow_crd_webhooks)
    report = RestoreReport([], options.dry_run, request.source, source=request.source_info,
                           target={"context": kube.context_name, "server": kube.host,
                                   "identity": kube.cluster_identity(), **request.target_info},
                           notes=list(request.notes))
    for note in report.notes:
        if notify:
            notify(Notice(note, Level.WARNING))
    safety = request.safety_tag is not None and not options.dry_run
    capture = None
    if options.prune or safety:
        capture = live.capture_live(kube, request.scope, keep_listed=True)
    prune_candidates = None
    outside: list = []
    if options.prune and capture is not None:
        prune_candidates = prune_scope(capture.objects, options, request.prune_only, request.coverage, outside)
    the_plan = plan(kube, request.objects, options, prune_candidates, request.scope.higress_namespace,
                    listed=capture.listed if capture is not None else None, closure=request.closure)
    the_plan.steps += _left_alone(outside, request.objects)
    if options.prune and request.prune_only is not None and capture is not None:
        the_plan.steps = _undo_steps(kube, the_plan.steps, request.prune_only, capture.objects)
    the_plan.header = report.header()
    if notify:
        notify(Notice(the_plan.header))
    if confirm is not None and not options.dry_run:
        confirm(the_plan)

    safety_id = None
    if safety and capture is not None:
        created = [s.ref for s in the_plan.steps if s.intent == Intent.CREATE]
        safety_id = snapshot_mod.write(repo, capture, request.scope, tags=[request.safety_tag],
                                       undo_prunes=created).id
        if notify:
            if repo.encryption_key is None and any(o.ref.kind == "Secret" for o in capture.objects):
                notify(Notice("the safety snapshot holds live Secrets unencrypted (no key given)", Level.WARNING))
            notify(Notice(f"safety snapshot {safety_id} (undo: hgbackup restore {safety_id} --prune --yes)"))
    with collector_paused(freeze=False):  # responses are acyclic; the plan's objects need no rescanning per tier
        execution = execute(kube, the_plan, options, progress)
    stopped = execution.stopped
    report.results, report.safety_snapshot = execution.results, safety_id
    report.stopped, report.stopped_code = (str(stopped), stopped.exit_code) if stopped else (None, None)
    return report


def refuse_left_out(objects, allow_crd_webhooks: bool) -> None:
    """The one scope for every caller of the restore machinery (a snapshot, a migration): what excluded.left_out
    refuses is never written (InvalidInput naming the first offenders, before anything is)."""
    found = [f"{o.ref} is {why}" for o in objects if (why := left_out(o.obj, allow_crd_webhooks))]
    if found:
        more = f" (and {len(found) - confine.SHOWN} more)" if len(found) > confine.SHOWN else ""
        raise InvalidInput("refusing to write what hgbackup never writes: " + "; ".join(found[:confine.SHOWN])
                           + more + "; nothing was written")


def _left_alone(outside: list, objects) -> list[Step]:
    """A skipped result for each live object a prune would delete but the snapshot's coverage does not reach."""
    wanted = {o.ref for o in objects}
    return [Step(obj.ref, obj.api_version, catalogue.PRUNE_TIER, Intent.SKIP, message=why)
            for obj, why in outside if obj.ref not in wanted and obj.ref.kind != "CustomResourceDefinition"]


def _undo_steps(kube: Kube, steps: list[Step], created: frozenset, live: list) -> list[Step]:
    """An undo prunes what its restore created; each of those it does not prune is a row that says why (skipped,
    exit 3): kept because something still needs it, outside what this undo listed, or (unchanged) already gone."""
    planned = {s.ref for s in steps if s.tier == catalogue.PRUNE_TIER}
    out = [Step(s.ref, s.api_version, s.tier, Intent.SKIP, message=s.message)
           if s.tier == catalogue.PRUNE_TIER and s.intent == Intent.UNCHANGED and s.ref in created else s
           for s in steps]
    live_refs = {o.ref: o for o in live}
    served = kube.served()
    for ref in sorted(created - planned):
        kind = catalogue.BY_GROUP_KIND.get((ref.group, ref.kind))
        if kind is None:
            continue
        version = served[kind.key].version or kind.versions[0]
        if ref in live_refs:
            why = "not pruned: the restore created it, but it is outside this run's filters"
        elif served[kind.key].version and kube.get(kind, version, ref.namespace, ref.name) is not None:
            why = ("not pruned: the restore created it, but this undo's scope does not select it, so whether a live "
                   "object still uses it is unknown; delete it by hand if nothing does")
        else:
            out.append(Step(ref, kind.api_version(version), catalogue.PRUNE_TIER, Intent.UNCHANGED,
                            message="not pruned: the restore created it, and it no longer exists"))
            continue
        out.append(Step(ref, kind.api_version(version), catalogue.PRUNE_TIER, Intent.SKIP, message=why))
    return out


def restore_snapshot(repo: Repository, ref: str, options: RestoreOptions, *, connect: Callable[[], Kube],
                     cluster: str | None = None, safety: bool = True,
                     confirm: Callable[[Plan], None] | None = None,
                     progress: Callable[[int, int, str], None] | None = None,
                     notify: Callable[[Notice], None] | None = None,
                     into_live_cluster: str | None = None) -> RestoreReport:
    """`hgbackup restore`: the snapshot is read and verified before anything is written. `latest` without
    `cluster` means the newest snapshot of the target cluster itself (one read of its identity first). A target of
    another identity with snapshots of its own in the store is a live cluster: it needs `into_live_cluster` (a
    prefix of its identity) for anything but a dry run."""
    target = None
    identity = None
    if ref.startswith("latest") and not cluster:
        target = connect()
        identity = target.cluster_identity()
    listing = repo.snapshots() if ref.startswith("latest") else None  # read once: `latest`, then the target case
    snap, objects = repo.load(repo.resolve(ref, cluster, identity=identity, listing=listing,
                                           target=f"the target cluster at {target.host}" if target else ""))
    confine.check(objects, snap.manifest.scope, snap.id, allow_crd_webhooks=options.allow_crd_webhooks)
    if not snap.verified and notify:
        notify(Notice(f"snapshot {snap.id} is not authenticated (no key): anyone who can write to the store could "
                      "have made or edited it; hgbackup still applies only what its recorded scope could hold",
                      Level.WARNING))
    safety_tags = set(SAFETY_TAGS) & set(snap.manifest.tags)
    if ref.startswith("latest") and safety_tags and notify:
        notify(Notice(f"{ref} is {snap.id}, the safety snapshot taken before a {sorted(safety_tags)[0][4:]} "
                      f"({snap.manifest.created_text}); to restore an earlier backup give its id (see hgbackup "
                      "list)", Level.WARNING))
    notes: list[str] = []
    closure = Closure()
    chosen = choose(objects, options, notes, closure, Scope.from_json(snap.manifest.scope).higress_namespace)
    request = RestoreRequest(objects=chosen, notes=notes, options=options, closure=closure,
                             scope=safety_scope(snap.manifest.scope, options, chosen),
                             safety_tag="pre-restore" if safety else None, source=snap.id,
                             source_info=source_info(snap),
                             prune_only=frozenset(snap.manifest.undo_prunes)
                             if snap.manifest.undo_prunes is not None else None,
                             coverage=coverage.of_manifest(snap.manifest))
    target = target or connect()
    request.target_info = target_case(repo, snap, target.cluster_identity(), into_live_cluster, options.dry_run,
                                      listing)
    return run(target, repo, request, confirm=confirm, progress=progress, notify=notify)


def target_case(repo: Repository, snap, identity: str, into_live: str | None, dry_run: bool,
                listing: Listing | None = None) -> dict:
    """Which target this is: the snapshot's own cluster, an empty disaster-recovery target (no snapshots of its own
    in the store) or a live, backed-up cluster, which needs `into_live` naming it (InvalidInput otherwise).
    `listing`: the store's snapshots, when already read."""
    if into_live is not None and (len(into_live) < clusters.MIN_PREFIX or not identity.startswith(into_live)):
        raise InvalidInput(f"--into-live-cluster {into_live!r} does not name the target cluster: its identity is "
                           f"{identity}; nothing was written")
    if clusters.of_cluster(snap, identity):
        return {"case": SAME_CLUSTER}
    listing = listing if listing is not None else repo.snapshots()
    own = [s for s in listing.snapshots
           if clusters.of_cluster(s, identity) and not set(SAFETY_TAGS) & set(s.manifest.tags)]
    if not own:
        return {"case": DISASTER_RECOVERY, "own_snapshots": 0}
    if into_live is None and not dry_run:
        raise InvalidInput(f"the target cluster (identity {identity}) has {len(own)} snapshot(s) of its own in this "
                           f"store (newest {own[0].id}): it is a live cluster, not an empty disaster-recovery "
                           f"target; restoring snapshot {snap.id} of {snap.manifest.cluster.name} over it needs "
                           f"--into-live-cluster {clusters.short(identity)}; nothing was written")
    return {"case": LIVE_CLUSTER, "own_snapshots": len(own), "confirmed": into_live}


def source_info(snap) -> dict:
    m = snap.manifest
    return {"snapshot": snap.id, "cluster": m.cluster.name, "identity": m.cluster.identity,
            "server_version": m.cluster.server_version, "created": m.created_text,
            "from_files": m.cluster.from_files}
