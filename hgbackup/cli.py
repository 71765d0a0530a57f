"""The command line: parse, call the library, render. The only module that knows Click."""

from __future__ import annotations

import os
import sys
import traceback

import click

from . import __version__, crypto
from . import snapshot as snapshot_mod
from .errors import EXIT_INTERNAL, HgbackupError, IntegrityError, InvalidInput
from .export import export_objects
from .render import ProgressLine, document, size, table
from .repository import Repository, default_store_url
from .selection import DEFAULT_SECRET_SELECTOR, Scope
from .store import open_store

EXIT_CODES_HELP = """\b
Exit codes: 0 ok; 1 differences found / manual migration work left (--strict);
2 usage or invalid input; 3 partial failure; 4 integrity failure (checksum,
decryption, unknown format); 5 not found; 6 cannot reach or not allowed
(cluster or store); 70 internal error."""


class HgGroup(click.Group):
    """Maps hgbackup's exceptions to one line on stderr and the documented exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HgbackupError as exc:
            click.echo(f"hgbackup: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("hgbackup: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - anything else is our bug: say so in one line, trace only on request
            if os.environ.get("HGBACKUP_DEBUG"):
                traceback.print_exc()
            click.echo(f"hgbackup: internal error: {exc.__class__.__name__}: {exc}", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=HgGroup, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="hgbackup")
def cli():
    """Back up, diff, restore and migrate the configuration of a Higress gateway.

    Example: hgbackup snapshot --store s3://backups/higress --s3-endpoint http://minio:9000
    """


# -- shared options ----------------------------------------------------------------------------------------------
def _compose(*decorators):
    def apply(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


store_options = _compose(
    click.option("--store", envvar="HGBACKUP_STORE", default=None, metavar="URL",
                 help="Folder, file://PATH or s3://bucket/prefix [env HGBACKUP_STORE; default ./hgbackup-store]."),
    click.option("--s3-endpoint", envvar="HGBACKUP_S3_ENDPOINT", metavar="URL",
                 help="S3-compatible endpoint, e.g. MinIO [env HGBACKUP_S3_ENDPOINT]."),
    click.option("--s3-sse", type=click.Choice(["AES256", "aws:kms"]), help="S3 server-side encryption."),
    click.option("--s3-kms-key-id", metavar="ID", help="KMS key for --s3-sse aws:kms."),
)
kube_options = _compose(
    click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default as kubectl)."),
    click.option("--context", help="Kubeconfig context to use."),
)
output_option = click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "yaml"]), default="text",
                             show_default=True, help="Output format.")
key_option = click.option("--encryption-key-file", type=click.Path(dir_okay=False),
                          help="AES-256 key (base64 of 32 bytes) [env HGBACKUP_ENCRYPTION_KEY].")
cluster_option = click.option("--cluster", help="Cluster name in the store (default: the kube context's cluster).")
scope_options = _compose(
    click.option("--higress-namespace", default="higress-system", show_default=True,
                 help="Namespace Higress runs in."),
    click.option("--secret-selector", multiple=True, metavar="SELECTOR",
                 help=f"Label selector for console Secrets (repeatable, OR) [default {DEFAULT_SECRET_SELECTOR}]."),
    click.option("--ingress-class", multiple=True, help="Only Ingresses of this class (repeatable)."),
    click.option("-n", "--namespace", "namespaces", multiple=True, help="Only these namespaces (repeatable)."),
    click.option("--with-services", is_flag=True, help="Also Services referenced by routes."),
    click.option("--with-cert-manager", is_flag=True, help="Also cert-manager Certificates and Issuers."),
    click.option("--with-ingress-classes", is_flag=True, help="Also IngressClasses."),
    click.option("--include", multiple=True, metavar="KIND", help="Only this Kind or plural.group (repeatable)."),
    click.option("--exclude", multiple=True, metavar="KIND", help="Leave out this Kind or plural.group."),
)


def scope_from(opts: dict) -> Scope:
    optins = {name for flag, name in (("with_services", "services"), ("with_cert_manager", "cert_manager"),
                                      ("with_ingress_classes", "ingress_classes")) if opts.pop(flag, False)}
    return Scope(
        higress_namespace=opts.pop("higress_namespace"),
        secret_selectors=list(opts.pop("secret_selector")) or [DEFAULT_SECRET_SELECTOR],
        ingress_classes=list(opts.pop("ingress_class")),
        namespaces=list(opts.pop("namespaces")),
        optins=optins,
        include=list(opts.pop("include")),
        exclude=list(opts.pop("exclude")),
    )


def repo_from(opts: dict) -> Repository:
    store = open_store(opts.pop("store", None) or default_store_url(), s3_endpoint=opts.pop("s3_endpoint", None),
                       s3_sse=opts.pop("s3_sse", None), s3_kms_key_id=opts.pop("s3_kms_key_id", None))
    return Repository(store)


def kube_from(opts: dict, **kwargs):
    from .kube import Kube

    return Kube(opts.pop("kubeconfig", None), opts.pop("context", None), **kwargs)


def emit(data, fmt: str, text: str | None = None) -> None:
    click.echo(text if fmt == "text" and text is not None else document(data, "yaml" if fmt == "yaml" else "json"))


def warn(message: str) -> None:
    click.echo(f"hgbackup: warning: {message}", err=True)


def _public(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if not k.startswith("_")}


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
    emit(_public(manifest), fmt, "\n".join(lines))


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


def main() -> None:
    cli(prog_name="hgbackup")
