"""Commands over snapshots: snapshot, list, show, verify, export."""

from __future__ import annotations

import click

from .. import logs
from ..capture import snapshot as snapshot_mod
from ..errors import InvalidInput
from ..kube.client import KubeSettings
from ..kube.scope import Scope
from ..output import ProgressLine, size, table
from ..restore.export import export_objects
from ..restore.verify import verify as verify_snapshots
from ..schedule import metrics
from ..store import StoreSettings, clusters
from ..store.manifest import Snapshot
from .base import (
    CLUSTER_OF_LATEST,
    CLUSTER_TO_WRITE,
    cli,
    cluster_option,
    emit,
    finish,
    key_option,
    kube_options,
    latest_options,
    names_output_option,
    open_repository,
    output_option,
    scope_options,
    store_options,
    warn,
)


# -- snapshot ------------------------------------------------------------------------------------------------------
@cli.command()
@scope_options
@store_options
@kube_options
@cluster_option(CLUSTER_TO_WRITE)
@key_option
@output_option
@click.option("--from-file", "from_files", multiple=True, metavar="PATH",
              help="Read manifests (file, folder or -) instead of the live cluster (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Tag the snapshot (repeatable).")
@click.option("--require-encryption", is_flag=True, help="Refuse to write Secrets without an encryption key.")
@click.option("--allow-empty", is_flag=True, help="Write a snapshot even when the scope matches no object.")
@click.option("--pushgateway", metavar="URL", envvar="HGBACKUP_PUSHGATEWAY",
              help=f"Push this run's metrics to a Prometheus Pushgateway (schedule label {metrics.MANUAL!r}; a "
                   "failed push is exit 3) [env HGBACKUP_PUSHGATEWAY].")
def snapshot(scope: Scope, store: StoreSettings, kube: KubeSettings, cluster, keyring, fmt, from_files, tags,
             require_encryption, allow_empty, pushgateway):
    """Snapshot the Higress configuration into the store; prints the snapshot id.

    Exit 3 when some kinds could not be read (the snapshot is kept and marked partial), or when the scope matched
    no object (nothing is written unless --allow-empty).

    Example: hgbackup snapshot --store s3://backups/higress --s3-endpoint http://minio:9000 --tag nightly
    """
    if from_files and kube.identity:
        raise InvalidInput("--cluster-identity names a live cluster; snapshots taken --from-file have none")
    progress = ProgressLine("listing")

    def work(_) -> snapshot_mod.SnapshotReport:
        try:
            return snapshot_mod.run(open_repository(store, keyring), scope, files=list(from_files),
                                    connect=kube.connect, cluster=cluster, tags=list(tags),
                                    require_encryption=require_encryption, allow_empty=allow_empty, progress=progress)
        finally:
            progress.close()

    attempt = metrics.Attempt(metrics.MANUAL, cluster)
    report = metrics.monitored(pushgateway, attempt, work)
    for line in [*report.notices, *report.snapshot.manifest.warnings]:
        warn(line)
    if report.metrics_error:
        warn(report.metrics_error, snapshot=report.snapshot.id)
    m = report.snapshot.manifest
    logs.info("snapshot written", snapshot=m.id, cluster=m.cluster.name, objects=len(m.objects), counts=m.counts,
              archive_bytes=m.archive.size, partial=m.partial, duration_seconds=round(attempt.duration, 3),
              exit_code=report.exit_code)
    emit(report.as_json(), fmt, report.snapshot.id)
    finish(report)


# -- list / show / verify / export ------------------------------------------------------------------------------------
@cli.command("list")
@store_options
@click.option("--cluster", help="Only snapshots of this cluster.")
@click.option("--tag", "tags", multiple=True, help="Only snapshots with this tag (repeatable: all of them).")
@key_option
@names_output_option
def list_(store: StoreSettings, cluster, tags, keyring, fmt):
    """List the snapshots in the store, newest first.

    AUTH is `verified` when the manifest's MAC was checked with the given key, `unverified` when it has one but no
    key was given, and `none` for snapshots written without a key: anyone who can write to the store could have
    made or edited those. With a key, snapshots that fail authentication are left out and named on stderr.

    Example: hgbackup list --store ./hgbackup-store -o json
    """
    progress = ProgressLine("reading")
    try:
        listing = open_repository(store, keyring).snapshots(cluster, progress)
    finally:
        progress.close()
    for problem in listing.problems:
        warn(f"{problem.key.cluster}/{problem.key.id}: {problem.error}")
    rows = listing_rows([s for s in listing.snapshots if set(tags) <= set(s.manifest.tags)], listing.labels)
    text = table(["ID", "CREATED", "CLUSTER", "OBJECTS", "SIZE", "TAGS", "ENCRYPTED", "AUTH", "PARTIAL"],
                 [[r["id"], r["created"], r["cluster"], r["objects"], size(r["size"]), ",".join(r["tags"]) or "-",
                   "yes" if r["encrypted"] else "no", r["auth"], "PARTIAL" if r["partial"] else "-"] for r in rows]
                 ) if rows else "no snapshots"
    if fmt == "name":
        click.echo("".join(f"{r['id']}\n" for r in rows), nl=False)
    else:
        emit(rows, fmt, text)
    finish(listing)


def listing_rows(snapshots: list[Snapshot], names: dict[str, str]) -> list[dict]:
    """`list` rows; the cluster column is the cluster's label (a shared name gets an identity suffix)."""
    return [{**s.summary(), "cluster": names[clusters.group_of(s)],
             "identity": s.manifest.cluster.identity} for s in snapshots]


def _auth_text(snap: Snapshot) -> str:
    if snap.verified:
        return f"verified (key {snap.manifest.auth.key_id})"
    if snap.manifest.auth:
        return f"unverified: signed with key {snap.manifest.auth.key_id}; give the key to check it"
    return "none: unauthenticated (written without a key; anyone with write access to the store could have made it)"


def _show_text(snap: Snapshot, with_objects: bool) -> str:
    m = snap.manifest
    lines = [
        f"id:        {m.id}",
        f"created:   {m.created_text}",
        f"cluster:   {snap.cluster} " + ("(taken from files: no cluster)" if m.cluster.from_files else
                                         f"(server {m.cluster.server_version or '-'}, identity "
                                         f"{m.cluster.identity or 'unknown'})"),
        f"tags:      {', '.join(m.tags) or '-'}",
        f"auth:      {_auth_text(snap)}",
        f"partial:   {'yes' if m.partial else 'no'}",
        f"archive:   {size(m.archive.size)}, sha256 {m.archive.sha256[:16]}..., "
        f"encryption {m.archive.encryption.alg if m.archive.encryption else 'none'}",
        f"objects:   {len(m.objects)}",
        "",
        table(["KIND", "COUNT"], [[k, n] for k, n in m.counts.items()]),
    ]
    if m.not_served:
        lines += ["", "not served: " + ", ".join(m.not_served)]
    if m.warnings:
        lines += ["", "warnings:"] + [f"  {w}" for w in m.warnings]
    if with_objects:
        lines += ["", table(["APIVERSION", "KIND", "NAMESPACE", "NAME", "SHA256"],
                            [[o.api_version, o.kind, o.namespace or "-", o.name, o.sha256[:12]] for o in m.objects])]
    return "\n".join(lines)


@cli.command()
@click.argument("snapshot_id", metavar="ID")
@store_options
@latest_options(CLUSTER_OF_LATEST)
@key_option
@click.option("--objects", "with_objects", is_flag=True, help="Verify the archive and list every object.")
@names_output_option
def show(snapshot_id, store: StoreSettings, cluster, keyring, with_objects, fmt):
    """Show a snapshot's manifest and counts per kind (ID may be latest or latest~N).

    Example: hgbackup show latest --objects
    """
    repo = open_repository(store, keyring)
    key = repo.resolve(snapshot_id, cluster)
    snap = repo.load(key)[0] if with_objects else repo.snapshot(key)
    if fmt == "name":  # kubectl's habit: kind/name, with the namespace for namespaced objects
        click.echo("".join(f"{o.kind}/{o.namespace + '/' if o.namespace else ''}{o.name}\n"
                           for o in snap.manifest.objects), nl=False)
        return
    emit(snap.manifest.as_json(), fmt, _show_text(snap, with_objects))


@cli.command()
@click.argument("snapshot_ids", metavar="[ID]...", nargs=-1)
@click.option("--all", "verify_all", is_flag=True, help="Verify every snapshot in the store (the default without IDs).")
@store_options
@latest_options("Only this cluster's snapshots (with --all or no ID); with IDs, which cluster's snapshots latest "
                "means. A name, a name@identity as list shows it, or an identity prefix.")
@key_option
@output_option
def verify(snapshot_ids, verify_all, store: StoreSettings, cluster, keyring, fmt):
    """Re-read archives and check every checksum; exit 4 when any snapshot fails. Without IDs: every snapshot.

    Example: hgbackup verify --all
    """
    repo = open_repository(store, keyring)
    if verify_all or not snapshot_ids:
        listing = repo.snapshots(cluster)
        keys = sorted([s.key for s in listing.snapshots] + [p.key for p in listing.problems],
                      key=lambda k: (k.id, k.cluster), reverse=True)
    else:
        keys = [repo.resolve(i, cluster) for i in snapshot_ids]
    progress = ProgressLine("verifying")
    try:
        report = verify_snapshots(repo, keys, progress)
    finally:
        progress.close()
    text = "\n".join(f"{r.key.id}  ok ({r.objects} objects)" if r.ok else f"{r.key.id}  FAILED: {r.error}"
                     for r in report.results) or "no snapshots"
    emit(report.as_json(), fmt, text)
    finish(report)


@cli.command()
@click.argument("snapshot_id", metavar="ID")
@click.argument("folder", metavar="DIR", type=click.Path())
@click.option("--overwrite", is_flag=True, help="Replace DIR's whole tree when it is not empty.")
@store_options
@latest_options(CLUSTER_OF_LATEST)
@key_option
@output_option
def export(snapshot_id, folder, overwrite, store: StoreSettings, cluster, keyring, fmt):
    """Write a snapshot as plain YAML, one file per object, for kubectl apply -R -f DIR.

    Namespaces come first and folders follow the restore order, so the tree applies on an empty cluster. DIR must
    be empty or new unless --overwrite; files are 0600, folders 0700, symlinks are never followed.

    Example: hgbackup export latest ./restore-me && kubectl apply -R -f ./restore-me
    """
    repo = open_repository(store, keyring)
    _, objects = repo.load(repo.resolve(snapshot_id, cluster))
    written = export_objects(objects, folder, overwrite=overwrite)
    namespaces = len(written) - len(objects)  # the Namespaces the objects need come first (00-namespaces/)
    emit({"files": written, "dir": folder, "objects": len(objects), "namespaces": namespaces}, fmt,
         f"wrote {len(objects)} object(s) and {namespaces} Namespace(s) they need ({len(written)} files) to {folder}")
