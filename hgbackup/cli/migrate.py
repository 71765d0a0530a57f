"""`hgbackup migrate nginx`."""

from __future__ import annotations

import json
import os
import sys

import click

from .. import catalogue, crypto, manifests, restore
from ..errors import InvalidInput
from ..migrate import CUTOVER, SIDE_BY_SIDE, Options, migrate
from ..migrate.convert import DEFAULT_REGISTRY
from ..migrate.report import markdown, one_line
from ..migrate.rules import NEEDS_WORK
from ..model import StoredObject
from ..render import document, yaml_text
from ..selection import Scope
from .base import cli, key_option, kube_from, kube_options, repo_from, store_options
from .restore import apply_with_safety


@cli.group("migrate")
def migrate_group():
    """Migrate Ingresses from other controllers to Higress.

    Example: hgbackup migrate nginx manifests/ --report report.md > higress.yaml
    """


@migrate_group.command("nginx")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--from-cluster", is_flag=True, help="Read the Ingresses from the live cluster.")
@click.option("--snapshot", "snapshot_id", metavar="ID", help="Read the Ingresses from a snapshot.")
@click.option("--ingress-class", default="nginx", show_default=True, help="Class of the Ingresses to convert.")
@click.option("--include-unclassed", is_flag=True, help="Also convert Ingresses without a class.")
@click.option("--mode", type=click.Choice([SIDE_BY_SIDE, CUTOVER]), default=SIDE_BY_SIDE, show_default=True,
              help="side-by-side keeps ingress-nginx serving; cutover hands the Ingresses to Higress.")
@click.option("--target-class", default="higress", show_default=True, help="ingressClassName set by cutover.")
@click.option("--higress-namespace", default="higress-system", show_default=True,
              help="Namespace of the generated WasmPlugins.")
@click.option("--plugin-registry", default=DEFAULT_REGISTRY, show_default=True,
              help="OCI registry path of the Higress built-in plugins.")
@click.option("--plugin-version", default="1.0.0", show_default=True, help="Tag of the plugin images.")
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Format of the converted objects.")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Write one file per object here instead.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), help="Write the full report here.")
@click.option("--report-format", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 when any annotation is manual, unsupported or invalid.")
@click.option("--apply", "do_apply", is_flag=True, help="Apply the output (ordered, safety snapshot first).")
@click.option("--dry-run", is_flag=True, help="With --apply: validate server-side, write nothing.")
@click.option("--yes", "-y", is_flag=True, help="With --apply: do not ask for confirmation.")
@store_options
@kube_options
@key_option
def nginx(paths, from_cluster, snapshot_id, fmt, output_dir, report_file, report_format, strict, do_apply, dry_run,
          yes, encryption_key_file, **opts):
    """Convert ingress-nginx Ingresses for Higress and report every nginx annotation.

    Each annotation is reported once as native, converted, plugin, manual, unsupported or invalid. The objects go
    to stdout (or --output-dir), the report to --report, a one-line summary to stderr.

    Example: hgbackup migrate nginx ingresses.yaml --mode cutover --report report.md --strict > higress.yaml
    """
    options = Options(mode=opts.pop("mode"), ingress_class=opts.pop("ingress_class"),
                      include_unclassed=opts.pop("include_unclassed"), higress_namespace=opts.pop("higress_namespace"),
                      target_class=opts.pop("target_class"), plugin_registry=opts.pop("plugin_registry"),
                      plugin_version=opts.pop("plugin_version"))
    sources = sum([bool(paths), from_cluster, bool(snapshot_id)])
    if sources != 1:
        raise InvalidInput("give exactly one source: PATH..., --from-cluster or --snapshot ID")
    key = crypto.load_key(encryption_key_file)
    objects = _load(paths, from_cluster, snapshot_id, opts, key)
    migration = migrate(objects, options)

    if output_dir:
        _write_dir(migration.objects, output_dir, fmt)
    elif not do_apply:
        if fmt == "json":
            click.echo(document({"apiVersion": "v1", "kind": "List", "items": migration.objects}, "json"))
        else:
            click.echo("---\n".join(yaml_text(o) for o in migration.objects), nl=False)
    if report_file:
        text = markdown(migration) if report_format == "md" else document(migration.as_json(), "json")
        with open(report_file, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    click.echo(one_line(migration), err=True)

    needs_work = any(migration.summary()[s] for s in NEEDS_WORK)
    if do_apply:
        _apply(migration, options, opts, key, dry_run=dry_run, yes=yes, exit_on_strict=strict and needs_work)
    if strict and needs_work:
        sys.exit(1)


def _load(paths, from_cluster, snapshot_id, opts, key: bytes | None) -> list[dict]:
    if paths:
        return manifests.load_paths(list(paths))
    if snapshot_id:
        repo = repo_from(dict(opts))
        _, stored = repo.load(repo.resolve(snapshot_id), key)
        return [o.obj for o in stored if o.ref.kind == "Ingress"]
    kube = kube_from(dict(opts))
    kind = catalogue.INGRESSES
    return kube.list(kind, kube.served()[kind.key].version or "v1")


def _write_dir(objects: list[dict], folder: str, fmt: str) -> None:
    os.makedirs(folder, exist_ok=True)
    for obj in objects:
        meta = obj["metadata"]
        name = f"{obj['kind'].lower()}-{meta.get('namespace', 'default')}-{meta['name']}.{fmt}"
        with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(obj, indent=2) + "\n" if fmt == "json" else yaml_text(obj))


def _apply(migration, options: Options, opts: dict, key: bytes | None, *, dry_run: bool, yes: bool,
           exit_on_strict: bool) -> None:
    stored = [StoredObject.from_object(o) for o in migration.objects]
    namespaces = sorted({o.ref.namespace for o in stored if o.ref.namespace})
    scope = Scope(higress_namespace=options.higress_namespace, namespaces=namespaces,
                  include=["Ingress", "WasmPlugin"])
    kube = kube_from(dict(opts))
    repo = repo_from(dict(opts))
    try:
        apply_with_safety(kube, repo, stored, restore.Options(dry_run=dry_run), scope, fmt="text", yes=yes,
                          safety=True, tag="pre-migrate", what="migrate nginx", encryption_key=key,
                          extra={})
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    if exit_on_strict:
        sys.exit(1)
