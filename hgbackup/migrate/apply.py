"""`migrate nginx --apply`: the converted objects go through the restore machinery (plan, safety snapshot, apply)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EXIT_DIFFERENT, EXIT_OK, EXIT_USAGE
from ..kube import catalogue
from ..kube.client import Kube
from ..kube.model import StoredObject
from ..kube.references import route_name
from ..kube.scope import Scope
from ..restore import RestoreOptions, RestoreReport, RestoreRequest
from .model import MigrateOptions, Migration


@dataclass
class MigrationOutcome:
    """A migration, whether --strict holds it back, and the restore report when it was applied."""

    migration: Migration
    strict: bool = False
    applied: RestoreReport | None = None

    @property
    def exit_code(self) -> int:
        """2 when an input file was invalid, 1 when --strict and manual work is left (nothing is applied in either
        case); else the apply's own code."""
        if self.migration.invalid:
            return EXIT_USAGE
        if self.strict and self.migration.needs_work:
            return EXIT_DIFFERENT
        return self.applied.exit_code if self.applied is not None else EXIT_OK


def merge_live_plugins(migration: Migration, kube: Kube, names: list[str] | None,
                       higress_namespace: str) -> None:
    """Keep the matchRules that live `migrated-*` plugins hold for routes outside this run: a migration of some
    Ingresses must not take the plugins away from the ones migrated before. Rules naming this run's routes are
    replaced by the new ones. `names`: the route names this run's plugins match (default: Higress's names of the
    converted Ingresses' routes; the Gateway API path passes those of the generated routes)."""
    kind = catalogue.BY_GROUP_KIND[(catalogue.HIGRESS_EXT, "WasmPlugin")]
    version = kube.served()[kind.key].version
    if not version:
        return
    converted = set(names) if names is not None else {
        route_name((i.get("metadata") or {}).get("namespace", "default"), i["metadata"].get("name"), higress_namespace)
        for i in migration.ingresses}
    for plugin in migration.plugins:
        meta = plugin["metadata"]
        live = kube.get(kind, version, meta["namespace"], meta["name"])
        if not live:
            continue
        kept = [rule for rule in (live.get("spec") or {}).get("matchRules") or []
                if not set(rule.get("ingress") or []) & converted]
        rules = plugin["spec"]["matchRules"] + kept
        plugin["spec"]["matchRules"] = sorted(rules, key=lambda r: r.get("ingress") or [])


def apply_request(migration: Migration, options: MigrateOptions, *, dry_run: bool) -> RestoreRequest:
    """A restore of the generated objects (Ingresses or Gateway API objects, and plugins); the safety snapshot
    covers their kinds in their namespaces."""
    stored = [StoredObject.from_object(o) for o in migration.objects]
    namespaces = sorted({o.ref.namespace for o in stored if o.ref.namespace})
    kinds = sorted({o.ref.kind for o in stored}) or ["Ingress", "WasmPlugin"]
    scope = Scope(higress_namespace=options.higress_namespace, namespaces=namespaces, include=kinds)
    return RestoreRequest(objects=stored, options=RestoreOptions(dry_run=dry_run), scope=scope,
                          safety_tag="pre-migrate")
