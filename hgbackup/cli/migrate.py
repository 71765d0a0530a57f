"""`hgbackup migrate nginx`: parse the options, run migrate.run.nginx, show its objects and report."""

from __future__ import annotations

import click

from ..diff.sources import Source
from ..errors import InvalidInput
from ..kube.client import KubeSettings
from ..migrate import CUTOVER, SIDE_BY_SIDE, MigrateOptions, Migration
from ..migrate import run as migrate_run
from ..migrate.gatewayapi import report as gwreport
from ..migrate.gatewayapi.convert import GatewayOptions
from ..migrate.gatewayapi.gateway import CHANNELS, STANDARD
from ..migrate.ingress.report import markdown, one_line
from ..output import ProgressLine, document, yaml_text
from ..restore.export import export_documents
from ..store import StoreSettings
from .base import cli, finish, key_option, kube_options, open_repository, store_options
from .restore import Target, notice, render_restore


@cli.group("migrate")
def migrate_group():
    """Migrate Ingresses from other controllers to Higress.

    Example: hgbackup migrate nginx manifests/ --report report.md > higress.yaml
    """


@migrate_group.command("nginx")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--from-cluster", is_flag=True, help="Read the Ingresses from the live cluster.")
@click.option("--snapshot", "snapshot_id", metavar="ID", help="Read the Ingresses from a snapshot.")
@click.option("--ingress-class", default=MigrateOptions.ingress_class, show_default=True,
              help="Class of the Ingresses to convert.")
@click.option("--include-unclassed", is_flag=True, help="Also convert Ingresses without a class.")
@click.option("--nginx-configmap", metavar="FILE|NAMESPACE/NAME",
              help="ingress-nginx's own ConfigMap, whose global settings are reported too [default with "
                   "--from-cluster: ingress-nginx/ingress-nginx-controller].")
@click.option("--to", "to", type=click.Choice(["ingress", "gateway-api"]), default="ingress", show_default=True,
              help="ingress: Ingresses Higress reads; gateway-api: Gateways, HTTPRoutes/GRPCRoutes and plugins.")
@click.option("--gateway", "gateway", metavar="NAMESPACE/NAME",
              help="With --to gateway-api: attach the routes to this existing Gateway instead of generating one.")
@click.option("--channel", type=click.Choice(CHANNELS), default=STANDARD, show_default=True,
              help="With --to gateway-api: the Gateway API CRD channel the cluster has (experimental adds the "
                   "CORS filter and retries).")
@click.option("--mode", type=click.Choice([SIDE_BY_SIDE, CUTOVER]), default=MigrateOptions.mode, show_default=True,
              help="side-by-side keeps ingress-nginx serving; cutover hands the Ingresses to Higress.")
@click.option("--target-class", default=MigrateOptions.target_class, show_default=True,
              help="ingressClassName set by cutover.")
@click.option("--higress-namespace", default=MigrateOptions.higress_namespace, show_default=True,
              help="Namespace of the generated WasmPlugins.")
@click.option("--plugin-registry", default=MigrateOptions.plugin_registry, show_default=True,
              help="OCI registry path of the Higress built-in plugins.")
@click.option("--plugin-version", default=MigrateOptions.plugin_version, show_default=True,
              help="Tag of the plugin images.")
@click.option("--redis-service", metavar="FQDN[:PORT]",
              help="Redis for the per-client-IP rate limits (cluster-key-rate-limit plugin), e.g. "
                   "redis.infra.svc.cluster.local:6379; without it limit-rps/limit-rpm are manual work.")
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Format of the converted objects.")
@click.option("--output-dir", type=click.Path(file_okay=False),
              help="Write one file per object into this new or empty folder instead, as export does.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the full report here (- for stdout, with --output-dir or --apply).")
@click.option("--report-format", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 when any annotation is manual, unsupported or invalid; "
                                             "with --apply, apply nothing then.")
@click.option("--apply", "do_apply", is_flag=True, help="Apply the output (ordered, safety snapshot first).")
@click.option("--dry-run", is_flag=True, help="With --apply: validate server-side, write nothing.")
@click.option("--yes", "-y", is_flag=True, help="With --apply: do not ask for confirmation.")
@store_options
@kube_options
@key_option
def nginx(paths, from_cluster, snapshot_id, ingress_class, include_unclassed, nginx_configmap, to, gateway, channel,
          mode, target_class, higress_namespace, plugin_registry, plugin_version, redis_service, fmt, output_dir,
          report_file, report_format, strict, do_apply, dry_run, yes, store: StoreSettings, kube: KubeSettings,
          keyring):
    """Convert ingress-nginx Ingresses for Higress and report every nginx annotation.

    Each annotation is reported once as native, converted, plugin, manual, unsupported or invalid. The objects go
    to stdout (or --output-dir), the report to --report, a one-line summary to stderr.

    With --to gateway-api the Ingresses become Gateways of class higress (--target-class), HTTPRoutes or
    GRPCRoutes, ReferenceGrants and WasmPlugins whose matchRules name the routes; the Ingresses are left as they
    are, so ingress-nginx keeps serving until you switch.

    Example: hgbackup migrate nginx ingresses.yaml --mode cutover --report report.md --strict > higress.yaml

    Example: hgbackup migrate nginx ingresses.yaml --to gateway-api --report report.md --output-dir routes/
    """
    options = MigrateOptions(mode=mode, ingress_class=ingress_class, include_unclassed=include_unclassed,
                             higress_namespace=higress_namespace, target_class=target_class,
                             plugin_registry=plugin_registry, plugin_version=plugin_version, **_redis(redis_service))
    if sum([bool(paths), from_cluster, bool(snapshot_id)]) != 1:
        raise InvalidInput("give exactly one source: PATH..., --from-cluster or --snapshot ID")
    if report_file == "-" and not (output_dir or do_apply):
        raise InvalidInput("--report - writes the report to stdout, where the objects go too: give --output-dir "
                           "for the objects (or --apply)")
    _check_target(to, gateway, mode)
    source = (Source("files", tuple(paths)) if paths else Source("live") if from_cluster
              else Source("snapshot", ref=snapshot_id))
    request = migrate_run.NginxRequest(
        source, options, GatewayOptions(options, channel, gateway) if to == "gateway-api" else None,
        configmap=nginx_configmap, strict=strict, apply=do_apply, dry_run=dry_run)
    target = Target(kube)
    progress = ProgressLine("applying")
    try:
        outcome = migrate_run.nginx(
            request, open_repository=lambda: open_repository(store, keyring), connect=target.connect,
            converted=lambda migration: _show(migration, request, fmt, output_dir, report_file, report_format),
            confirm=target.confirm("migrate nginx", yes), progress=progress, notify=notice)
    finally:
        progress.close()
    if outcome.applied is not None:
        render_restore(outcome.applied, "text")
    finish(outcome)


def _show(migration: Migration, request: migrate_run.NginxRequest, fmt: str, output_dir: str | None,
          report_file: str | None, report_format: str) -> None:
    """The objects (stdout or --output-dir; neither with --apply), the report, and the one-line summary."""
    if output_dir:
        export_documents(migration.objects, output_dir, fmt=fmt)
    elif not request.apply:
        if fmt == "json":
            click.echo(document({"apiVersion": "v1", "kind": "List", "items": migration.objects}, "json"))
        else:
            click.echo("---\n".join(yaml_text(o) for o in migration.objects), nl=False)
    gateway_api = request.gateway is not None
    if report_file:
        render = gwreport.markdown if gateway_api else markdown
        text = render(migration) if report_format == "md" else document(migration.as_json(), "json")
        if report_file == "-":
            click.echo(text)
        else:
            with open(report_file, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
    click.echo((gwreport.one_line if gateway_api else one_line)(migration), err=True)


def _check_target(to: str, gateway: str | None, mode: str) -> None:
    """Options of one target are refused with the other rather than ignored."""
    source = click.get_current_context().get_parameter_source
    if to == "ingress" and (gateway or source("channel") != click.core.ParameterSource.DEFAULT):
        raise InvalidInput("--gateway and --channel apply to --to gateway-api only")
    if to == "gateway-api" and source("mode") != click.core.ParameterSource.DEFAULT:
        raise InvalidInput("--mode applies to --to ingress: --to gateway-api leaves the Ingresses as they are")
    if gateway is not None:
        namespace, sep, name = gateway.partition("/")
        if not (sep and namespace and name):
            raise InvalidInput(f"--gateway {gateway!r}: give NAMESPACE/NAME of an existing Gateway")


def _redis(spec: str | None) -> dict:
    """--redis-service FQDN[:PORT] as MigrateOptions fields."""
    if not spec:
        return {}
    host, sep, port = spec.rpartition(":")
    if not sep:
        return {"redis_service": spec}
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"--redis-service {spec!r}: FQDN[:PORT], e.g. redis.infra.svc.cluster.local:6379")
    return {"redis_service": host, "redis_port": int(port)}
