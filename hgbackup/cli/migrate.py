"""`hgbackup migrate nginx`."""

from __future__ import annotations

import json
import os

import click

from .. import logs
from ..capture.selection import Scope
from ..diff import sources
from ..diff.sources import Source
from ..errors import EXIT_OK, InvalidInput, NotFound
from ..kube import catalogue
from ..kube import yamlfiles as kubeyaml
from ..kube.client import KubeSettings
from ..migrate import (
    CUTOVER,
    SIDE_BY_SIDE,
    MigrateOptions,
    MigrationOutcome,
    apply_request,
    merge_live_plugins,
    migrate,
)
from ..migrate import globals as globals_mod
from ..migrate.gatewayapi import report as gwreport
from ..migrate.gatewayapi.convert import GatewayOptions, migrate_gateway
from ..migrate.gatewayapi.gateway import CHANNELS, STANDARD
from ..migrate.ingress.report import markdown, one_line
from ..migrate.model import DEFAULT_REGISTRY
from ..output import document, yaml_text
from ..store import StoreSettings
from .base import cli, finish, key_option, kube_options, open_repository, store_options, warn
from .restore import render_restore, run_restore


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
@click.option("--mode", type=click.Choice([SIDE_BY_SIDE, CUTOVER]), default=SIDE_BY_SIDE, show_default=True,
              help="side-by-side keeps ingress-nginx serving; cutover hands the Ingresses to Higress.")
@click.option("--target-class", default="higress", show_default=True, help="ingressClassName set by cutover.")
@click.option("--higress-namespace", default="higress-system", show_default=True,
              help="Namespace of the generated WasmPlugins.")
@click.option("--plugin-registry", default=DEFAULT_REGISTRY, show_default=True,
              help="OCI registry path of the Higress built-in plugins.")
@click.option("--plugin-version", default="1.0.0", show_default=True, help="Tag of the plugin images.")
@click.option("--redis-service", metavar="FQDN[:PORT]",
              help="Redis for the per-client-IP rate limits (cluster-key-rate-limit plugin), e.g. "
                   "redis.infra.svc.cluster.local:6379; without it limit-rps/limit-rpm are manual work.")
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Format of the converted objects.")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Write one file per object here instead.")
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
          mode, target_class,
          higress_namespace,
          plugin_registry, plugin_version, redis_service, fmt, output_dir, report_file, report_format, strict, do_apply,
          dry_run,
          yes, store: StoreSettings, kube: KubeSettings, keyring):
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
                      plugin_registry=plugin_registry, plugin_version=plugin_version,
                      **_redis(redis_service))
    if sum([bool(paths), from_cluster, bool(snapshot_id)]) != 1:
        raise InvalidInput("give exactly one source: PATH..., --from-cluster or --snapshot ID")
    if report_file == "-" and not (output_dir or do_apply):
        raise InvalidInput("--report - writes the report to stdout, where the objects go too: give --output-dir "
                           "for the objects (or --apply)")
    source = (Source("files", tuple(paths)) if paths else Source("live") if from_cluster
              else Source("snapshot", ref=snapshot_id))
    _check_target(to, gateway, mode)
    gateway_api = to == "gateway-api"
    migration = _convert(source, options, store, kube, keyring,
                         GatewayOptions(options, channel, gateway) if gateway_api else None)
    migration.globals = read_nginx_configmap(nginx_configmap or (DEFAULT_CONFIGMAP if from_cluster else None), kube,
                                             explicit=bool(nginx_configmap))

    if output_dir:
        _write_dir(migration.objects, output_dir, fmt)
    elif not do_apply:
        if fmt == "json":
            click.echo(document({"apiVersion": "v1", "kind": "List", "items": migration.objects}, "json"))
        else:
            click.echo("---\n".join(yaml_text(o) for o in migration.objects), nl=False)
    if report_file:
        render = gwreport.markdown if gateway_api else markdown
        text = render(migration) if report_format == "md" else document(migration.as_json(), "json")
        if report_file == "-":
            click.echo(text)
        else:
            with open(report_file, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
    click.echo((gwreport.one_line if gateway_api else one_line)(migration), err=True)
    report = MigrationOutcome(migration, strict)
    if do_apply and report.exit_code == EXIT_OK:
        report.applied = _apply(migration, options, channel if gateway_api else None, dry_run, yes, store, kube,
                                keyring)
    elif do_apply and migration.invalid:
        warn(f"{len(migration.invalid)} input file(s) invalid, so nothing was applied")
    elif do_apply:
        warn("--strict: manual work is left, so nothing was applied")
    finish(report)


def _apply(migration, options: MigrateOptions, channel: str | None, dry_run: bool, yes: bool, store, kube, keyring):
    """The generated objects through the restore machinery; `channel` is the Gateway API one, checked first."""
    target = kube.connect()
    if channel is not None:
        check_channel(target, channel)
    merge_live_plugins(migration, target, migration.route_names if channel is not None else None)
    request = apply_request(migration, options, dry_run=dry_run)
    applied = run_restore(target, open_repository(store, keyring), request, yes=yes, what="migrate nginx")
    render_restore(applied, "text")
    return applied


DEFAULT_CONFIGMAP = "ingress-nginx/ingress-nginx-controller"
CHANNEL_ANNOTATION = "gateway.networking.k8s.io/channel"  # on every CRD of the gateway-api module


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


def check_channel(kube, channel: str) -> None:
    """Refuse to apply routes written for one Gateway API channel to a cluster with the other's CRDs: the standard
    CRDs refuse the CORS filter, and would drop an experimental field such as retry."""
    crd = kube.get(catalogue.CRDS, "v1", None, "httproutes.gateway.networking.k8s.io")
    if crd is None:
        raise NotFound("the cluster has no Gateway API CRDs (httproutes.gateway.networking.k8s.io): install the "
                       f"{channel} channel of sigs.k8s.io/gateway-api first")
    live = ((crd.get("metadata") or {}).get("annotations") or {}).get(CHANNEL_ANNOTATION)
    if live and live != channel:
        raise InvalidInput(f"the cluster's Gateway API CRDs are the {live} channel, not {channel}: convert with "
                           f"--channel {live}")


def _convert(source: Source, options: MigrateOptions, store, kube, keyring, gateway: GatewayOptions | None):
    """The migration of a source (to Gateway API with `gateway`); invalid input files are left out, each named on
    one line, and recorded."""
    invalid: list[tuple[str, str]] = []
    side = sources.load(source, scope=Scope(include=["Ingress"]), documents_only=True, invalid=invalid,
                        repo_factory=lambda: open_repository(store, keyring), kube_factory=kube.connect)
    documents = side.documents or [o.obj for o in side.objects]
    migration = migrate_gateway(documents, gateway) if gateway is not None else migrate(documents, options)
    migration.invalid = [{"file": path, "error": error} for path, error in invalid]
    for path, error in invalid:
        logs.error(f"invalid input, left out: {error}", file=path)
    return migration


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


def read_nginx_configmap(spec: str | None, kube: KubeSettings, explicit: bool = True):
    """The ConfigMap from a file (its first ConfigMap) or the live cluster (NAMESPACE/NAME); None when not asked.
    The default one of --from-cluster may be missing: that is reported as manual work, not an error."""
    if not spec:
        return None
    if os.path.exists(spec):
        found = [d for d in kubeyaml.load_paths([spec]) if d.get("kind") == "ConfigMap"]
        if not found:
            raise InvalidInput(f"{spec}: no ConfigMap in it")
        return globals_mod.convert(found[0], spec)
    namespace, sep, name = spec.partition("/")
    if not sep or not namespace or not name:
        raise InvalidInput(f"--nginx-configmap {spec!r}: a file, or NAMESPACE/NAME of the live ConfigMap")
    configmap = kube.connect().get(catalogue.CONFIGMAPS, "v1", namespace, name)
    if configmap is None and not explicit:
        return globals_mod.missing(spec)
    if configmap is None:
        raise NotFound(f"ConfigMap {spec} not found: give the ingress-nginx controller's ConfigMap with "
                       "--nginx-configmap NAMESPACE/NAME")
    return globals_mod.convert(configmap, f"the live ConfigMap {spec}")


def _write_dir(objects: list[dict], folder: str, fmt: str) -> None:
    os.makedirs(folder, exist_ok=True)
    for obj in objects:
        meta = obj["metadata"]
        base = meta.get("name") or meta["generateName"]
        name = f"{obj['kind'].lower()}-{meta.get('namespace', 'default')}-{base}.{fmt}"
        with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(obj, indent=2) + "\n" if fmt == "json" else yaml_text(obj))
