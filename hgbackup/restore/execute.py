"""Carrying a plan out tier by tier, with per-object results; stops starting tiers when the cluster is gone."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..errors import AccessDenied, HgbackupError, NotFound, Unreachable
from ..kube import catalogue
from ..kube.client import Conflict, Kube
from .choose import content_sha
from .records import Action, Execution, Intent, Plan, RestoreOptions, Result, Step

CONFLICT_RETRIES = 5  # a server-side apply that lost a race with another writer is tried again
STAND_IN = "default"  # where a dry run validates objects whose namespace it would create
NOT_SERVED, NO_NAMESPACE = "its CRD is created first", "its namespace is created first"  # why not validated


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
        if step.intent == Intent.UNCHANGED:  # a prune candidate kept: the text report names it, and why
            return Result(step.ref, step.api_version, Action.UNCHANGED, step.message,
                          shown=step.tier == catalogue.PRUNE_TIER)
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
        result = _apply(kube, step, options)
        if step.reason and result.action in (Action.CREATED, Action.UPDATED):
            result.message += f" ({step.reason})"
        return result
    except Unreachable as exc:
        stopped.append(exc)
        if isinstance(exc, AccessDenied) or options.dry_run:  # refused: nothing was written
            return Result(step.ref, step.api_version, Action.FAILED, str(exc))
        # the request was sent and no answer came: the server may have carried it out before it stopped
        return Result(step.ref, step.api_version, Action.UNKNOWN, f"unknown (may have been applied): {exc}")
    except HgbackupError as exc:
        return Result(step.ref, step.api_version, Action.FAILED, str(exc))


def _apply(kube: Kube, step: Step, options: RestoreOptions) -> Result:
    kind = catalogue.BY_GROUP_KIND[(step.ref.group, step.ref.kind)]
    served = kube.served()[kind.key]
    if not served.version:
        if options.dry_run:
            return Result(step.ref, step.api_version, Action.CREATED, "dry run: not validated (its CRD is created "
                          "first)", unvalidated=NOT_SERVED)
        return Result(step.ref, step.api_version, Action.SKIPPED, f"kind {kind.key} is not served")
    version = catalogue.version_of(step.api_version)
    body = step.desired
    message = ""
    if version not in served.versions:
        version = served.version
        body = dict(body, apiVersion=kind.api_version(version))
        message = f"applied as {body['apiVersion']} ({step.api_version} is not served); "
    if options.dry_run and step.namespace_missing:
        return _validate_in_stand_in(kube, kind, version, body, step, message)
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


def _validate_in_stand_in(kube: Kube, kind: catalogue.Kind, version: str, body: dict, step: Step,
                          message: str) -> Result:
    """A dry run cannot write into a namespace that does not exist yet: the object is validated (schema, CEL,
    admission) by a dry-run create in namespace `default` instead, under its own name. Where a namesake exists there,
    it is not validated, and the result says so."""
    stand_in = dict(body, metadata=dict(body["metadata"], namespace=STAND_IN))
    try:
        kube.create(kind, version, stand_in, dry_run=True)
    except (Conflict, NotFound):
        return Result(step.ref, body["apiVersion"], Action.CREATED, f"dry run: {message}not validated (its "
                      f"namespace is created first, and {STAND_IN} has no room for it)", unvalidated=NO_NAMESPACE)
    return Result(step.ref, body["apiVersion"], Action.CREATED, f"dry run: {message}validated in namespace "
                  f"{STAND_IN} (its own namespace is created first)")


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
