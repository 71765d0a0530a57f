"""`hgbackup restore ID`, and what it shares with `migrate nginx --apply`: the target and its confirmation prompt,
restore's notices and the rendering of a restore report."""

from __future__ import annotations

import sys

import click

from .. import logs, restore
from ..errors import InvalidInput
from ..kube.client import Kube, KubeSettings
from ..output import ProgressLine, table
from ..restore.records import Level, Notice
from ..store import StoreSettings
from .base import (
    CLUSTER_OF_LATEST_LIVE,
    cli,
    emit,
    finish,
    key_option,
    kube_options,
    latest_options,
    open_repository,
    output_option,
    store_options,
    warn,
)


@cli.command("restore")
@click.argument("snapshot_id", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Plan against the live cluster and validate server-side; write nothing.")
@click.option("--existing", type=click.Choice([e.value for e in restore.Existing]), default="update",
              show_default=True, help="What to do with objects that exist and differ.")
@click.option("--prune", is_flag=True, help="Also delete live objects in scope that the snapshot lacks (needs --yes).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=16, show_default=True,
              help="Objects applied at once within a tier.")
@click.option("--preserve-nodeports", is_flag=True, help="Restore Service node ports too.")
@click.option("--kind", "kinds", multiple=True, help="Only this Kind or plural.group (repeatable).")
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Only objects of this namespace (repeatable).")
@click.option("--name", "names", multiple=True, help="Only objects with this name (repeatable).")
@click.option("-l", "--selector", help="Only objects whose labels match this selector.")
@click.option("--namespace-map", "namespace_map", multiple=True, metavar="OLD:NEW",
              help="Restore objects of namespace OLD into NEW (repeatable).")
@click.option("--no-dependencies", is_flag=True,
              help="With filters or a namespace map: do not bring what the chosen objects need (their Secrets, "
                   "Gateways, ReferenceGrants ...; created only when missing) nor merge plugin rules naming them.")
@click.option("--no-safety-snapshot", is_flag=True, help="Do not snapshot the live objects before restoring.")
@click.option("--crd-timeout", type=float, default=60, show_default=True, help="Seconds to wait for a new CRD.")
@click.option("--allow-crd-webhooks", is_flag=True,
              help="Restore CRDs that have a conversion webhook or a caBundle (refused by default).")
@click.option("--into-live-cluster", metavar="IDENTITY-PREFIX",
              help="Confirm a restore into another cluster that has snapshots of its own in the store (a live "
                   "cluster, not an empty disaster-recovery target): the start of its identity (4+ characters).")
@store_options
@kube_options
@latest_options(CLUSTER_OF_LATEST_LIVE + ' The safety snapshot is filed under it too.')
@key_option
@output_option
def restore_cmd(snapshot_id, dry_run, existing, prune, yes, concurrency, preserve_nodeports, kinds, namespaces, names,
                selector, namespace_map, no_dependencies, no_safety_snapshot, crd_timeout, allow_crd_webhooks,
                into_live_cluster,
                store: StoreSettings, kube: KubeSettings, cluster, keyring, fmt):
    """Restore a snapshot in dependency order (CRDs, namespaces, secrets ... ingresses, plugins).

    The archive is verified before the cluster is contacted. Before a real restore, the live objects in scope are
    saved as a snapshot tagged pre-restore, so `hgbackup restore <that id> --prune --yes` undoes it.
    With --kind, -n, --name, -l or --namespace-map, what the chosen objects need is brought from the snapshot
    too (created only when missing, listed in the plan), and plugin rules naming a restored route are merged into
    the live plugin. A namespace map without -n restores only the mapped namespaces.
    Exit 0 when nothing failed or was skipped, 3 when something did, 6 when the cluster stopped the restore
    before anything was applied. A target of another identity that has snapshots of its own in the store is a
    live cluster, not a disaster-recovery target: restoring over it needs --into-live-cluster (exit 2 without).

    Example: hgbackup restore latest --dry-run -n shop
    """
    options = restore.RestoreOptions(
        existing=restore.Existing(existing), dry_run=dry_run, prune=prune, concurrency=concurrency,
        preserve_nodeports=preserve_nodeports, kinds=list(kinds), namespaces=list(namespaces), names=list(names),
        selector=selector, namespace_map=restore.parse_namespace_map(list(namespace_map)), crd_timeout=crd_timeout,
        allow_crd_webhooks=allow_crd_webhooks, dependencies=not no_dependencies,
    )
    if options.prune and not (yes or dry_run):
        raise InvalidInput("--prune deletes live objects: give --yes as well (or try --dry-run first)")
    target = Target(kube, pool_size=max(16, options.concurrency * 2))
    progress = ProgressLine("applying")
    try:
        report = restore.restore_snapshot(
            open_repository(store, keyring), snapshot_id, options, connect=target.connect, cluster=cluster,
            safety=not no_safety_snapshot, confirm=target.confirm(f"restore {snapshot_id}", yes),
            progress=progress, notify=notice, into_live_cluster=into_live_cluster)
    finally:
        progress.close()
    render_restore(report, fmt)
    finish(report)


def notice(note: Notice) -> None:
    """Restore's notices: warnings as warnings; the rest always shown to a person, info events in JSON logs."""
    if note.level is Level.WARNING:
        warn(note.text)
    elif logs.json_lines():
        logs.info(note.text)
    else:
        click.echo(note.text, err=True)


class Target:
    """The cluster a command writes to, connected once when first asked for; its confirmation prompt names it."""

    def __init__(self, kube: KubeSettings, pool_size: int = 16):
        self.settings, self.pool_size, self.kube = kube, pool_size, None

    def connect(self) -> Kube:
        if self.kube is None:
            self.kube = self.settings.connect(pool_size=self.pool_size)
        return self.kube

    def confirm(self, what: str, yes: bool):
        """The confirmation prompt before `what` writes into this cluster: only on a terminal and without --yes."""

        def confirm(the_plan: restore.Plan) -> None:
            if yes or not sys.stdin.isatty():
                return
            counts = ", ".join(f"{n} {intent}" for intent, n in sorted(the_plan.summary().items()))
            click.echo(f"{what} into {self.connect().host}: {counts}", err=True)
            click.confirm("Proceed?", abort=True, err=True)

        return confirm


def render_restore(report: restore.RestoreReport, fmt: str) -> None:
    summary = report.summary()
    shown = [r for r in report.results if r.action != restore.Action.UNCHANGED or r.shown or fmt != "text"]
    text = table(["ACTION", "OBJECT", "MESSAGE"],
                 [[r.action.value, str(r.ref), r.message] for r in shown]) if shown else ""
    text += ("\n" if text else "") + ("dry run: " if report.dry_run else "") + ", ".join(
        f"{n} {a}" for a, n in summary.items() if n)
    unvalidated = report.not_validated() if report.dry_run else {"count": 0}
    if unvalidated["count"]:
        text += f" ({unvalidated['count']} not validated: " + ", ".join(
            f"{n} because {why}" for why, n in unvalidated["reasons"].items()) + ")"
    emit(report.as_json(), fmt, text)
    if report.stopped:
        warn(f"the restore stopped early: {report.stopped}")
    if fmt == "text" and (summary["failed"] or summary["skipped"] or summary["unknown"]):
        warn(f"{summary['failed']} failed, {summary['skipped']} skipped"
             + (f", {summary['unknown']} unknown (may have been applied: check them)" if summary["unknown"] else ""))
