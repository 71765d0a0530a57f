"""Commands over snapshots: snapshot, list, show, verify, export."""

from __future__ import annotations

import sys

import click

from .. import crypto
from .. import snapshot as snapshot_mod
from ..errors import IntegrityError, InvalidInput
from ..export import export_objects
from ..render import ProgressLine, size, table
from .base import (
    cli,
    cluster_option,
    emit,
    key_option,
    kube_from,
    kube_options,
    output_option,
    public_manifest,
    repo_from,
    scope_from,
    scope_options,
    store_options,
    warn,
)


# -- snapshot ------------------------------------------------------------------------------------------------------
@cli.command()
@scope_options
@store_options
@kube_options
@cluster_option
@key_option
@output_option
@click.option("--from-file", "from_files", multiple=True, metavar="PATH",
              help="Read manifests (file, folder or -) instead of the live cluster (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Tag the snapshot (repeatable).")
@click.option("--require-encryption", is_flag=True, help="Refuse to write Secrets without an encryption key.")
def snapshot(fmt, from_files, tags, cluster, encryption_key_file, require_encryption, **opts):
    """Snapshot the Higress configuration into the store; prints the snapshot id.

    Exit 3 when some kinds could not be read (the snapshot is kept and marked partial).

    Example: hgbackup snapshot --store s3://backups/higress --s3-endpoint http://minio:9000 --tag nightly
    """
    scope = scope_from(opts)
    key = crypto.load_key(encryption_key_file)
    repo = repo_from(opts)
    if from_files:
        capture = snapshot_mod.capture_files(list(from_files), scope, cluster)
    else:
        progress = ProgressLine("listing")
        try:
            capture = snapshot_mod.capture_live(kube_from(opts), scope, cluster, progress)
        finally:
            progress.close()
    secrets = sum(1 for o in capture.objects if o.ref.kind == "Secret" and o.ref.group == "")
    if secrets and key is None:
        message = f"snapshot holds {secrets} Secret(s) and no encryption key is set"
        if require_encryption:
            raise InvalidInput(message + " (--require-encryption); nothing was written")
        warn(message + ": set --encryption-key-file or HGBACKUP_ENCRYPTION_KEY to encrypt the archive")
    manifest = snapshot_mod.write(repo, capture, scope, tags=list(tags), encryption_key=key)
    for line in manifest["warnings"]:
        warn(line)
    result = {"id": manifest["id"], "cluster": manifest["cluster"]["name"], "objects": len(manifest["objects"]),
              "partial": manifest["partial"], "warnings": manifest["warnings"], "store": repo.store.url}
    emit(result, fmt, manifest["id"])
    if manifest["partial"]:
        sys.exit(3)


# -- list / show / verify / export ------------------------------------------------------------------------------------
def _summary(manifest: dict) -> dict:
    return {"id": manifest["id"], "created": manifest["created"], "cluster": manifest["_cluster_key"],
            "objects": len(manifest["objects"]), "size": manifest["archive"]["size"], "tags": manifest["tags"],
            "encrypted": bool(manifest["archive"].get("encryption")), "partial": bool(manifest.get("partial"))}


@cli.command("list")
@store_options
@click.option("--cluster", help="Only snapshots of this cluster.")
@output_option
def list_(fmt, cluster, **opts):
    """List the snapshots in the store, newest first.

    Example: hgbackup list --store ./hgbackup-store -o json
    """
    repo = repo_from(opts)
    manifests, warnings = repo.manifests(cluster)
    for line in warnings:
        warn(line)
    rows = [_summary(m) for m in manifests]
    text = table(["ID", "CREATED", "CLUSTER", "OBJECTS", "SIZE", "TAGS", "ENCRYPTED"],
                 [[r["id"], r["created"], r["cluster"], r["objects"], size(r["size"]), ",".join(r["tags"]) or "-",
                   "yes" if r["encrypted"] else "no"] for r in rows]) if rows else "no snapshots"
    emit(rows, fmt, text)


@cli.command()
@click.argument("snapshot_id", metavar="ID")
@store_options
@cluster_option
@key_option
@click.option("--objects", "with_objects", is_flag=True, help="Verify the archive and list every object.")
@output_option
def show(snapshot_id, with_objects, fmt, cluster, encryption_key_file, **opts):
    """Show a snapshot's manifest and counts per kind (ID may be latest or latest~N).

    Example: hgbackup show latest --objects
    """
    repo = repo_from(opts)
    key = repo.resolve(snapshot_id, cluster)
    if with_objects:
        manifest, _ = repo.load(key, crypto.load_key(encryption_key_file))
    else:
        manifest = repo.manifest(key)
    lines = [
        f"id:        {manifest['id']}",
        f"created:   {manifest['created']}",
        f"cluster:   {manifest['_cluster_key']} (server {manifest['cluster'].get('server_version') or '-'}, "
        f"identity {manifest['cluster'].get('identity') or '-'})",
        f"tags:      {', '.join(manifest['tags']) or '-'}",
        f"partial:   {'yes' if manifest.get('partial') else 'no'}",
        f"archive:   {size(manifest['archive']['size'])}, sha256 {manifest['archive']['sha256'][:16]}..., "
        f"encryption {(manifest['archive'].get('encryption') or {}).get('alg', 'none')}",
        f"objects:   {len(manifest['objects'])}",
        "",
        table(["KIND", "COUNT"], [[k, n] for k, n in manifest["counts"].items()]),
    ]
    if manifest.get("not_served"):
        lines += ["", "not served: " + ", ".join(manifest["not_served"])]
    if manifest.get("warnings"):
        lines += ["", "warnings:"] + [f"  {w}" for w in manifest["warnings"]]
    if with_objects:
        lines += ["", table(["APIVERSION", "KIND", "NAMESPACE", "NAME", "SHA256"],
                            [[o["apiVersion"], o["kind"], o["namespace"] or "-", o["name"], o["sha256"][:12]]
                             for o in manifest["objects"]])]
    emit(public_manifest(manifest), fmt, "\n".join(lines))


@cli.command()
@click.argument("snapshot_ids", metavar="[ID]...", nargs=-1)
@click.option("--all", "verify_all", is_flag=True, help="Verify every snapshot in the store.")
@store_options
@cluster_option
@key_option
@output_option
def verify(snapshot_ids, verify_all, fmt, cluster, encryption_key_file, **opts):
    """Re-read archives and check every checksum; exit 4 when any snapshot fails.

    Example: hgbackup verify --all
    """
    repo = repo_from(opts)
    if verify_all:
        keys = repo.snapshot_keys()
    elif snapshot_ids:
        keys = [repo.resolve(i, cluster) for i in snapshot_ids]
    else:
        raise InvalidInput("give snapshot ids or --all")
    enc_key = crypto.load_key(encryption_key_file)
    results = []
    for key in keys:
        try:
            _, objects = repo.load(key, enc_key)
            results.append({"id": key.id, "cluster": key.cluster, "ok": True, "objects": len(objects), "error": None})
        except IntegrityError as exc:
            results.append({"id": key.id, "cluster": key.cluster, "ok": False, "objects": None, "error": str(exc)})
    text = "\n".join(f"{r['id']}  ok ({r['objects']} objects)" if r["ok"] else f"{r['id']}  FAILED: {r['error']}"
                     for r in results) or "no snapshots"
    emit(results, fmt, text)
    if any(not r["ok"] for r in results):
        sys.exit(4)


@cli.command()
@click.argument("snapshot_id", metavar="ID")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False))
@store_options
@cluster_option
@key_option
@output_option
def export(snapshot_id, folder, fmt, cluster, encryption_key_file, **opts):
    """Write a snapshot as plain YAML, one file per object, for kubectl apply -R -f DIR.

    Example: hgbackup export latest ./restore-me && kubectl apply -R -f ./restore-me
    """
    repo = repo_from(opts)
    _, objects = repo.load(repo.resolve(snapshot_id, cluster), crypto.load_key(encryption_key_file))
    written = export_objects(objects, folder)
    emit({"files": written, "dir": folder}, fmt, f"wrote {len(written)} file(s) to {folder}")
