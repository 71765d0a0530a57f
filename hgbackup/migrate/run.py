"""`migrate nginx` from end to end, called once by the command line: read the source (files, a snapshot or the
live cluster), convert to Higress Ingresses or to Gateway API routes, read ingress-nginx's own ConfigMap, and with
`apply` check the target and hand the result to the restore machinery (plan, safety snapshot, apply)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .. import logs
from .. import restore as restore_mod
from ..diff import sources
from ..diff.sources import Source
from ..errors import EXIT_OK, IntegrityError, InvalidInput, NotFound
from ..kube import catalogue
from ..kube import yamlfiles as kubeyaml
from ..kube.client import Kube
from ..kube.scope import Scope
from ..restore.records import Level, Notice, Plan
from ..store.repository import Repository
from . import globals as globals_mod
from .apply import MigrationOutcome, apply_request, merge_live_plugins
from .gatewayapi.convert import GatewayOptions, migrate_gateway
from .ingress.convert import MigrateOptions, Migration, migrate

DEFAULT_CONFIGMAP = "ingress-nginx/ingress-nginx-controller"
CHANNEL_ANNOTATION = "gateway.networking.k8s.io/channel"  # on every CRD of the gateway-api module


@dataclass
class NginxRequest:
    """What `migrate nginx` was asked: the source, the conversion, ingress-nginx's ConfigMap, and whether to apply."""

    source: Source
    options: MigrateOptions
    gateway: GatewayOptions | None = None  # --to gateway-api; None: Higress Ingresses
    configmap: str | None = None  # a file or NAMESPACE/NAME; None: the default one with --from-cluster, else none
    strict: bool = False
    apply: bool = False
    dry_run: bool = False


def nginx(request: NginxRequest, *, open_repository: Callable[[], Repository], connect: Callable[[], Kube],
          converted: Callable[[Migration], None] | None = None, confirm: Callable[[Plan], None] | None = None,
          progress: Callable[[int, int, str], None] | None = None,
          notify: Callable[[Notice], None] | None = None) -> MigrationOutcome:
    """Convert, tell `converted` (the command shows the objects and the report before anything is applied), then
    with `apply` and nothing held back (no invalid input file; with `strict`, no manual work) apply through
    restore.run, whose `confirm`, `progress` and `notify` these are. `connect` is asked for the cluster each time
    one is needed (the source, the ConfigMap, the apply): one that connects once makes them one cluster."""
    migration = convert(request.source, request.options, request.gateway, open_repository, connect)
    default = DEFAULT_CONFIGMAP if request.source.kind == "live" else None
    migration.globals = read_nginx_configmap(request.configmap or default, connect,
                                             explicit=request.configmap is not None)
    if converted is not None:
        converted(migration)
    outcome = MigrationOutcome(migration, request.strict)
    if not request.apply:
        return outcome
    if outcome.exit_code != EXIT_OK:
        why = (f"{len(migration.invalid)} input file(s) invalid" if migration.invalid
               else "--strict: manual work is left")
        if notify is not None:
            notify(Notice(f"{why}, so nothing was applied", Level.WARNING))
        return outcome
    kube = connect()
    if request.gateway is not None:
        check_channel(kube, request.gateway.channel)
    merge_live_plugins(migration, kube, migration.route_names if request.gateway is not None else None,
                       request.options.higress_namespace)
    outcome.applied = restore_mod.run(kube, open_repository(),
                                      apply_request(migration, request.options, dry_run=request.dry_run),
                                      confirm=confirm, progress=progress, notify=notify)
    return outcome


def convert(source: Source, options: MigrateOptions, gateway: GatewayOptions | None,
            open_repository: Callable[[], Repository], connect: Callable[[], Kube]) -> Migration:
    """The migration of a source (to Gateway API with `gateway`); invalid input files are left out, each named on
    one line, and recorded."""
    invalid: list[tuple[str, str]] = []
    side = sources.load(source, scope=Scope(include=["Ingress"]), documents_only=True, invalid=invalid,
                        repo_factory=open_repository, kube_factory=connect)
    documents = side.documents or [o.obj for o in side.objects]
    if source.kind == "snapshot":  # files were checked as they were read; a snapshot comes from an untrusted store
        bad = next((f"{o.ref}: {p}" for o in side.objects if (p := kubeyaml.spec_problem(o.obj))), None)
        if bad:
            raise IntegrityError(f"snapshot {side.label} holds an object no API server accepts: {bad}")
    migration = migrate_gateway(documents, gateway) if gateway is not None else migrate(documents, options)
    migration.invalid = [{"file": path, "error": error} for path, error in invalid]
    for path, error in invalid:
        logs.error(f"invalid input, left out: {error}", file=path)
    return migration


def read_nginx_configmap(spec: str | None, connect: Callable[[], Kube], explicit: bool = True):
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
    configmap = connect().get(catalogue.CONFIGMAPS, "v1", namespace, name)
    if configmap is None and not explicit:
        return globals_mod.missing(spec)
    if configmap is None:
        raise NotFound(f"ConfigMap {spec} not found: give the ingress-nginx controller's ConfigMap with "
                       "--nginx-configmap NAMESPACE/NAME")
    return globals_mod.convert(configmap, f"the live ConfigMap {spec}")


def check_channel(kube: Kube, channel: str) -> None:
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
