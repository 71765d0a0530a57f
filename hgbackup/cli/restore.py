"""`hgbackup restore ID`."""

from __future__ import annotations

import sys

import click

from .. import crypto, restore
from .. import snapshot as snapshot_mod
from ..errors import InvalidInput
from ..render import ProgressLine, table
from ..selection import Scope
from .base import (
    cli,
    cluster_option,
    emit,
    key_option,
    kube_from,
    kube_options,
    output_option,
    repo_from,
    store_options,
    warn,
)


def parse_namespace_map(pairs) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition(":")
        if not sep or not old or not new:
            raise InvalidInput(f"--namespace-map takes OLD:NEW, got {pair!r}")
        mapping[old] = new
    return mapping


def safety_scope(manifest: dict, options: restore.Options) -> Scope:
    """The live objects a restore may touch: the snapshot's scope, in the target namespaces."""
    scope = Scope.from_json(manifest.get("scope") or {})
    namespaces = options.namespaces or scope.namespaces
    scope.namespaces = sorted({options.namespace_map.get(ns, ns) for ns in namespaces})
    scope.higress_namespace = options.namespace_map.get(scope.higress_namespace, scope.higress_namespace)
    return scope


@cli.command("restore")
@click.argument("snapshot_id", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Plan against the live cluster and validate server-side; write nothing.")
@click.option("--existing", type=click.Choice(restore.EXISTING_POLICIES), default="update", show_default=True,
              help="What to do with objects that exist and differ.")
@click.option("--prune", is_flag=True, help="Also delete live objects in scope that the snapshot lacks (needs --yes).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Objects applied at once within a tier.")
@click.option("--preserve-nodeports", is_flag=True, help="Restore Service node ports too.")
@click.option("--kind", "kinds", multiple=True, help="Only this Kind or plural.group (repeatable).")
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Only objects of this namespace (repeatable).")
@click.option("--name", "names", multiple=True, help="Only objects with this name (repeatable).")
@click.option("-l", "--selector", help="Only objects whose labels match this selector.")
@click.option("--namespace-map", "namespace_map", multiple=True, metavar="OLD:NEW",
              help="Restore objects of namespace OLD into NEW (repeatable).")
@click.option("--no-safety-snapshot", is_flag=True, help="Do not snapshot the live objects before restoring.")
@click.option("--crd-timeout", type=float, default=60, show_default=True, help="Seconds to wait for a new CRD.")
@store_options
@kube_options
@cluster_option
@key_option
@output_option
def restore_cmd(snapshot_id, dry_run, yes, no_safety_snapshot, fmt, cluster, encryption_key_file, **opts):
    """Restore a snapshot in dependency order (CRDs, namespaces, secrets ... ingresses, plugins).

    The archive is verified before the cluster is contacted. Before a real restore, the live objects in scope are
    saved as a snapshot tagged pre-restore, so `hgbackup restore <that id> --prune --yes` undoes it.
    Exit 0 when nothing failed or was skipped, else 3.

    Example: hgbackup restore latest --dry-run -n shop
    """
    options = restore.Options(
        existing=opts.pop("existing"), dry_run=dry_run, prune=opts.pop("prune"), concurrency=opts.pop("concurrency"),
        preserve_nodeports=opts.pop("preserve_nodeports"), kinds=list(opts.pop("kinds")),
        namespaces=list(opts.pop("namespaces")), names=list(opts.pop("names")), selector=opts.pop("selector"),
        namespace_map=parse_namespace_map(opts.pop("namespace_map")), crd_timeout=opts.pop("crd_timeout"),
    )
    if options.prune and not (yes or dry_run):
        raise InvalidInput("--prune deletes live objects: give --yes as well (or try --dry-run first)")
    repo = repo_from(opts)
    key = repo.resolve(snapshot_id, cluster)
    manifest, objects = repo.load(key, crypto.load_key(encryption_key_file))  # integrity before any cluster call
    safety_tags = {"pre-restore", "pre-migrate"} & set(manifest.get("tags") or ())
    if snapshot_id.startswith("latest") and safety_tags:
        warn(f"{snapshot_id} is {manifest['id']}, the safety snapshot taken before a {sorted(safety_tags)[0][4:]} "
             f"({manifest['created']}); to restore an earlier backup give its id (see hgbackup list)")
    chosen = restore.choose(objects, options)

    kube = kube_from(opts, pool_size=max(16, options.concurrency * 2))
    apply_with_safety(kube, repo, chosen, options, safety_scope(manifest, options), fmt=fmt, yes=yes,
                      safety=not no_safety_snapshot, tag="pre-restore", what=f"restore {manifest['id']}",
                      encryption_key=crypto.load_key(encryption_key_file), extra={"snapshot": manifest["id"]})


def apply_with_safety(kube, repo, objects, options: restore.Options, scope: Scope, *, fmt: str, yes: bool,
                      safety: bool, tag: str, what: str, encryption_key: bytes | None, extra: dict) -> None:
    """Plan, confirm, take the safety snapshot, execute, render, exit: shared by restore and migrate --apply."""
    dry_run = options.dry_run
    capture = None
    if options.prune or (safety and not dry_run):
        capture = snapshot_mod.capture_live(kube, scope)
    prune_candidates = None
    if options.prune and capture is not None:
        prune_filter = restore.Options(kinds=options.kinds, names=options.names, selector=options.selector,
                                       namespaces=scope.namespaces)
        prune_candidates = restore.choose(capture.objects, prune_filter)
    the_plan = restore.plan(kube, objects, options, prune_candidates)

    if not (yes or dry_run) and sys.stdin.isatty():
        counts = ", ".join(f"{n} {intent}" for intent, n in sorted(the_plan.summary().items()))
        click.echo(f"{what} into {kube.host}: {counts}", err=True)
        click.confirm("Proceed?", abort=True, err=True)

    safety_id = None
    if capture is not None and safety and not dry_run:
        safety_id = snapshot_mod.write(repo, capture, scope, tags=[tag], encryption_key=encryption_key)["id"]
        click.echo(f"safety snapshot {safety_id} (undo: hgbackup restore {safety_id} --prune --yes)", err=True)

    progress = ProgressLine("applying")
    try:
        results = restore.execute(kube, the_plan, options, progress)
    finally:
        progress.close()
    summary = restore.summary(results)
    doc = {"results": [r.as_json() for r in results], "summary": summary, "safety_snapshot": safety_id,
           "dry_run": dry_run, **extra}
    shown = [r for r in results if r.action != restore.UNCHANGED or fmt != "text"]
    text = table(["ACTION", "OBJECT", "MESSAGE"], [[r.action, str(r.ref), r.message] for r in shown]) if shown else ""
    text += ("\n" if text else "") + ("dry run: " if dry_run else "") + ", ".join(
        f"{n} {a}" for a, n in summary.items() if n)
    emit(doc, fmt, text)
    if summary[restore.FAILED] or summary[restore.SKIPPED]:
        if fmt == "text":
            warn(f"{summary[restore.FAILED]} failed, {summary[restore.SKIPPED]} skipped")
        sys.exit(3)
